//! `convert --bundle`: the bundled query of a rule set selects exactly the union of the rules'
//! single queries, each event once, labelled with exactly the rules whose single query selects
//! it (jaq and the system jq), on every rule's test events and the real records in ../shared.
//! Labels are rule input: a hostile id cannot break out of its string literal.

mod common;

use common::run::{rulecast, rulecast_in, s, temp_dir, text, write};
use common::*;
use rulecast::backend::bundle::render_bundle;
use rulecast::backend::jq::exec::JqProgram;
use rulecast::backend::{RenderOptions, Target};
use rulecast::rule::Rule;
use serde_json::{json, Value};

fn all_rules() -> Vec<Rule> {
    let mut files = rule_files();
    if let Some(corpus) = shared_corpus("sigmahq-cloudtrail") {
        files.extend(rulecast::discover::rule_files(&[corpus]).0);
    }
    // Correlations are never bundled: they stay one query each.
    files
        .iter()
        .flat_map(|p| load(p).rules.into_iter().flatten())
        .filter(|r| r.correlation.is_none())
        .collect()
}

fn events() -> Vec<Value> {
    let mut events = Vec::new();
    for path in rule_files() {
        for case in cases(&path).unwrap_or_default() {
            events.push(case.log);
        }
    }
    if let Some(dir) = shared_corpus("stratus-detonation-logs") {
        let (files, _) = rulecast::scan::log_files(&[dir]);
        for f in files {
            let v: Value = serde_json::from_slice(&std::fs::read(f).expect("reads")).expect("JSON");
            events.extend(v.as_array().cloned().unwrap_or_default());
        }
    }
    // Names the index must not misfile.
    events.push(json!({"eventName": ["StopLogging"], "eventSource": "cloudtrail.amazonaws.com"}));
    events.push(json!({"eventName": "STOPLOGGING", "eventSource": "cloudtrail.amazonaws.com"}));
    events
}

fn label(r: &Rule) -> Value {
    Value::from(r.meta.id.clone().unwrap_or_else(|| r.meta.title.clone()))
}

#[test]
fn the_jq_bundle_is_the_union_of_the_single_filters_with_their_labels() {
    let rules = all_rules();
    let refs: Vec<&Rule> = rules.iter().collect();
    let opts = RenderOptions::default();
    let bundle = render_bundle(Target::Jq.backend(), &refs, &opts).expect("bundles");
    assert!(bundle.errors.is_empty(), "{:?}", bundle.errors);
    assert_eq!(bundle.queries.len(), 1, "jq has no length limit");
    let events = events();
    // What the single filters select, per event: the labels, in rule order.
    let file = json!({ "Records": events });
    let mut expected: Vec<Vec<Value>> = vec![Vec::new(); events.len()];
    for r in &rules {
        let filter = rulecast::backend::render(Target::Jq.backend(), r, &opts).expect("converts");
        let program = JqProgram::compile(&filter).expect("compiles");
        // One run over the whole file; the selected events come out in order.
        let mut at = 0;
        for selected in program.run(&file).expect("runs") {
            let i = (at..events.len())
                .find(|&i| events[i] == selected)
                .expect("a selected event is an input event");
            expected[i].push(label(r));
            at = i + 1;
        }
    }
    let want: Vec<Value> = events
        .iter()
        .zip(&expected)
        .filter(|(_, l)| !l.is_empty())
        .map(|(e, l)| json!({"rules": l, "event": e}))
        .collect();
    assert!(want.len() > 300, "{}", want.len());
    let query = &bundle.queries[0].0;
    let by_jaq = JqProgram::compile(query)
        .expect("the bundle compiles")
        .run(&file)
        .expect("runs");
    assert!(
        by_jaq == want,
        "jaq: the bundle differs from the single filters"
    );
    if system_jq() {
        let by_jq = run_system_jq(query, &file).expect("jq runs the bundle");
        let labels = |v: &[Value]| -> Vec<Value> { v.iter().map(|x| x["rules"].clone()).collect() };
        assert_eq!(by_jq.len(), want.len(), "system jq: events");
        assert!(labels(&by_jq) == labels(&want), "system jq: labels differ");
    }
}

#[test]
fn hostile_labels_stay_inside_their_literals() {
    let dir = temp_dir("bundle-hostile");
    let rule = |id: &str, title: &str| {
        format!(
            "title: '{title}'\nid: '{id}'\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  sel: {{eventName: StopLogging}}\n  condition: sel\n"
        )
    };
    write(
        &dir,
        "a.yml",
        &rule(r#"x") then "pwned" else empty end), ("#, "t\"\\n"),
    );
    write(&dir, "b.yml", &rule("\\(input)", "a\u{202e}b"));
    let o = rulecast(&["convert", "--bundle", "-t", "jq", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let query = text(&o.stdout);
    let out = JqProgram::compile(&query)
        .expect("compiles")
        .run(&json!({"eventName": "StopLogging"}))
        .expect("runs");
    assert_eq!(
        out,
        vec![
            json!({"rules": [r#"x") then "pwned" else empty end), ("#, "\\(input)"], "event": {"eventName": "StopLogging"}})
        ]
    );
    assert!(!query.contains('\u{202e}'), "hidden characters are escaped");

    // Athena: each label is one SQL string literal; titles stay inside their comments.
    write(
        &dir,
        "c.yml",
        "title: \"x\\nSELECT 1; --\"\nid: \"a'b\\\\c\"\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {eventName: StopLogging}\n  condition: sel\n",
    );
    let o = rulecast(&["convert", "--bundle", "-t", "athena", s(&dir)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let sql = text(&o.stdout);
    for (n, id) in [
        r#"x") then "pwned" else empty end), ("#,
        "\\(input)",
        "a'b\\c",
    ]
    .iter()
    .enumerate()
    {
        let literal = rulecast::backend::athena::lit(id);
        assert!(
            sql.contains(&format!("IF(rulecast_rule_{}, {literal})", n + 1)),
            "{literal} in\n{sql}"
        );
    }
    assert!(sql.contains("'a''b\\c'"), "{sql}");
    assert!(!sql.contains('\u{202e}'), "hidden characters are escaped");
    let header: Vec<&str> = sql.lines().take_while(|l| *l != "WITH").collect();
    assert!(header.iter().all(|l| l.starts_with("--")), "{sql}");
    assert!(!sql.lines().any(|l| l.starts_with("SELECT 1")), "{sql}");
}

/// Logs Insights cannot label matches: its bundle is as many queries as the 10,000-character
/// limit forces, each an OR of whole rules, and together they select exactly the events some
/// single query selects (the referee runs both).
#[test]
fn the_cloudwatch_bundle_selects_the_union_of_the_single_queries() {
    use common::oracle::{CwliReferee, Oracle};
    let rules = all_rules();
    let refs: Vec<&Rule> = rules.iter().collect();
    let opts = RenderOptions::default();
    let backend = Target::Cloudwatch.backend();
    let bundle = render_bundle(backend, &refs, &opts).expect("bundles");
    assert!(bundle.errors.is_empty(), "{:?}", bundle.errors);
    assert!(bundle.queries.len() > 1, "150 rules need several queries");
    let mut covered: Vec<usize> = bundle.queries.iter().flat_map(|(_, r)| r.clone()).collect();
    covered.sort_unstable();
    assert_eq!(
        covered,
        (0..rules.len()).collect::<Vec<_>>(),
        "each rule in one query"
    );
    let referee = CwliReferee;
    let queries: Vec<_> = bundle
        .queries
        .iter()
        .map(|(q, _)| {
            assert!(q.chars().count() <= 10_000, "over the limit");
            referee
                .compile(q)
                .expect("the referee parses the bundle query")
        })
        .collect();
    let singles: Vec<_> = rules
        .iter()
        .map(|r| {
            let q = rulecast::backend::render(backend, r, &opts).expect("converts");
            referee.compile(&q).expect("parses")
        })
        .collect();
    let mut selected = 0;
    for e in events() {
        let single: Vec<bool> = singles
            .iter()
            .map(|q| q.matches(&e).expect("runs"))
            .collect();
        // Each query selects exactly what its own rules' single queries select.
        for (q, (_, members)) in queries.iter().zip(&bundle.queries) {
            let want = members.iter().any(|&i| single[i]);
            assert_eq!(q.matches(&e).expect("runs"), want, "on {e}");
        }
        selected += usize::from(single.iter().any(|&b| b));
    }
    assert!(selected > 300, "{selected}");
}

/// The Athena bundles `scripts/check-athena` runs in DuckDB: for each variant (no window, a
/// window around every event under both partition layouts, and a bundle forced to split by a
/// small length limit), the bundle's queries with the rules each holds, and every rule's single
/// query, label and level; the first line holds the events. Written when
/// RULECAST_ATHENA_BUNDLE_CASES names a file; here the bundles are checked for their shape.
#[test]
fn athena_bundles_hold_every_rule_once_and_fit() {
    use rulecast::backend::bundle::render_bundle_within;
    let rules = all_rules();
    let refs: Vec<&Rule> = rules.iter().collect();
    let backend = Target::Athena.backend();
    let events = events();
    let times: Vec<&str> = events
        .iter()
        .filter_map(|e| e["eventTime"].as_str())
        .filter(|t| t.len() == 20)
        .collect();
    let since = times.iter().min().expect("events have times");
    let until = times.iter().max().expect("events have times");
    let shift = |t: &str, h: i64| -> String {
        let secs = rulecast::backend::athena::window::parse_rfc3339(t)
            .expect("an RFC 3339 time")
            .secs;
        rulecast::backend::athena::window::iso(secs + h * 3600)
    };
    let window = |layout: &str| RenderOptions {
        since: Some(shift(since, -1)),
        until: Some(shift(until, 1)),
        partitions: Some(layout.to_owned()),
        ..RenderOptions::default()
    };
    let variants = [
        ("no window", RenderOptions::default(), None),
        ("window/projection", window("projection"), None),
        ("window/ymd", window("ymd"), None),
        ("split", RenderOptions::default(), Some(40_000)),
    ];
    let mut dump = vec![json!({ "events": events }).to_string()];
    for (name, opts, max) in variants {
        let max = max.or(backend.max_query_len());
        let bundle = render_bundle_within(backend, &refs, &opts, max).expect("bundles");
        let singles: Vec<Option<String>> = rules
            .iter()
            .map(|r| rulecast::backend::render(backend, r, &opts).ok())
            .collect();
        // A rule is left out of the bundle exactly when its single query fails too.
        let mut left_out: Vec<usize> = bundle.errors.iter().map(|(i, _)| *i).collect();
        left_out.sort_unstable();
        let failing: Vec<usize> = (0..rules.len()).filter(|&i| singles[i].is_none()).collect();
        assert_eq!(left_out, failing, "{name}: {:?}", bundle.errors);
        let mut covered: Vec<usize> = bundle.queries.iter().flat_map(|(_, r)| r.clone()).collect();
        covered.extend(&left_out);
        covered.sort_unstable();
        assert_eq!(covered, (0..rules.len()).collect::<Vec<_>>(), "{name}");
        for (q, members) in &bundle.queries {
            assert!(q.chars().count() <= max.unwrap_or(usize::MAX), "{name}");
            if members.len() > 1 {
                assert!(q.contains("AS rules,"), "{name}: a labelled query");
            }
        }
        match name {
            "split" => assert!(bundle.queries.len() > 2, "{name}: {}", bundle.queries.len()),
            _ => assert_eq!(bundle.queries.len(), 1, "{name}: the rules fit one query"),
        }
        dump.push(
            json!({
                "name": name,
                "queries": bundle.queries.iter().map(|(q, m)| json!({"sql": q, "members": m})).collect::<Vec<_>>(),
                "singles": singles,
                "labels": rules.iter().map(label).collect::<Vec<_>>(),
                "levels": rules.iter().map(|r| r.meta.level.clone()).collect::<Vec<_>>(),
            })
            .to_string(),
        );
    }
    if let Some(path) = std::env::var_os("RULECAST_ATHENA_BUNDLE_CASES") {
        std::fs::write(&path, dump.join("\n") + "\n").expect("writes the cases file");
    }
}

/// A small bundle, as `convert --bundle` prints it, pinned for review: three shipped rules (one
/// with `fields`, two Sigma and one Panther) for Athena with a window, and for jq.
#[test]
fn a_small_bundle_snapshot() {
    let root = root();
    let rules = [
        "rules/sigma/cloudtrail/cloudtrail_logging_stopped_or_deleted.yml",
        "rules/sigma/ec2/ec2_ami_shared_externally.yml",
        "rules/panther/aws_cloudtrail_stopped.yml",
    ];
    let paths: Vec<String> = rules
        .iter()
        .map(|r| root.join(r).display().to_string())
        .collect();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root.join("snapshots").join("bundle"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    for (target, extra) in [
        (
            "athena",
            &[
                "--since",
                "2026-11-01T00:00:00Z",
                "--until",
                "2026-11-02T00:00:00Z",
            ][..],
        ),
        ("jq", &[][..]),
    ] {
        let mut args = vec!["convert", "--bundle", "-t", target];
        args.extend(paths.iter().map(String::as_str));
        args.extend(extra);
        let o = rulecast_in(&root, &args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        settings.bind(|| insta::assert_snapshot!(format!("small_{target}"), text(&o.stdout)));
    }
}

/// Rules a mapping sends to different tables are never merged: one Athena bundle per table, and
/// a note says so; jq, which has no tables, still bundles them together.
#[test]
fn rules_for_different_tables_are_different_athena_bundles() {
    let dir = temp_dir("bundle-tables");
    let rule = |id: &str, extra: &str, name: &str| {
        format!(
            "title: {id}\nid: {id}\nlogsource: {{product: aws, service: cloudtrail{extra}}}\ndetection:\n  sel: {{eventName: {name}}}\n  condition: sel\n"
        )
    };
    write(&dir, "a.yml", &rule("a", "", "StopLogging"));
    write(&dir, "b.yml", &rule("b", ", category: mgmt", "DeleteTrail"));
    write(&dir, "c.yml", &rule("c", "", "DeleteBucket"));
    let map = write(
        &dir,
        "map.yml",
        "logsources:\n  - logsource: {category: mgmt}\n    table: cloudtrail_mgmt\n",
    );
    let files = ["a.yml", "b.yml", "c.yml"].map(|f| dir.join(f));
    let mut args = vec!["convert", "--bundle", "-t", "athena", "--mapping", s(&map)];
    args.extend(files.iter().map(|f| s(f)));
    let o = rulecast(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let parts: Vec<&str> = out.split("-- rulecast bundle").skip(1).collect();
    assert_eq!(parts.len(), 2, "{out}");
    assert!(
        parts[0].contains("FROM cloudtrail_logs")
            && parts[0].contains("'a'")
            && parts[0].contains("'c'")
    );
    assert!(
        parts[1].contains("FROM cloudtrail_mgmt")
            && parts[1].contains("'b'")
            && !parts[1].contains("'a'")
    );
    assert!(
        text(&o.stderr).contains("2 different tables"),
        "{}",
        text(&o.stderr)
    );
    args[3] = "jq";
    let o = rulecast(&args);
    assert_eq!(text(&o.stdout).matches("# rulecast bundle").count(), 1);
}
