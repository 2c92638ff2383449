//! `convert --bundle`: the bundled query of a rule set selects exactly the union of the rules'
//! single queries, each event once, labelled with exactly the rules whose single query selects
//! it (jaq and the system jq), on every rule's test events and the real records in ../shared.
//! Labels are rule input: a hostile id cannot break out of its string literal.

mod common;

use common::run::{rulecast, s, temp_dir, text, write};
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
