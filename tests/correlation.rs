//! Sigma correlation rules: the front end (references across files, chains, aliases, errors at
//! their line), the shipped correlations' tests through the evaluator, jaq and the system jq
//! (as JSON Lines and as one CloudTrail file), and random event streams on which the evaluator,
//! jaq and the system jq give the same rows.

mod common;

use common::*;
use proptest::prelude::*;
use rulecast::backend::jq::exec::JqProgram;
use rulecast::backend::{self, RenderOptions, Target};
use rulecast::correlation::eval::{rows, rows_json};
use rulecast::correlation::Kind;
use rulecast::ruletest::run::{Runner, INPUTS_PRELUDE};
use rulecast::ruletest::same_rows;
use rulecast::source::SourceFile;
use rulecast::LoadedFile;
use serde_json::{json, Value};

fn load_text(name: &str, text: &str) -> LoadedFile {
    rulecast::load_source(SourceFile::new(name, text), &Default::default())
}

fn loaded_one(name: &str, text: &str) -> LoadedFile {
    let mut lf = [load_text(name, text)];
    rulecast::correlation::finish(&mut lf);
    let [lf] = lf;
    lf
}

fn first_error(lf: &LoadedFile) -> (String, usize, usize, String) {
    let d = lf
        .rules
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("an error")
        .clone()
        .in_file(&lf.file);
    (d.code.as_str().to_owned(), d.line, d.column, d.message)
}

fn jq(rule: &rulecast::rule::Rule) -> String {
    backend::render(Target::Jq.backend(), rule, &RenderOptions::default()).expect("renders")
}

/// The rows jaq prints for a correlation program over `events`.
fn jaq_rows(program: &JqProgram, events: &[Value]) -> Vec<Value> {
    program
        .run(&Value::Array(events.to_vec()))
        .expect("jaq runs")
}

const BASE: &str = "title: Denied\nname: denied\nlogsource: {product: aws}\ndetection:\n  s: {errorCode: AccessDenied}\n  condition: s\n";

#[test]
fn every_shipped_correlation_test_agrees_on_every_engine() {
    let sys = system_jq();
    let mut files = 0;
    let mut kinds = std::collections::BTreeSet::new();
    let (mut ranges, mut chains, mut aliases) = (0, 0, 0);
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in rule_files() {
        let lf = load(&path);
        let corrs: Vec<_> = lf
            .rules
            .iter()
            .flatten()
            .filter_map(|r| r.correlation.as_deref())
            .collect();
        if corrs.is_empty() {
            continue;
        }
        files += 1;
        for c in &corrs {
            kinds.insert(c.kind.name());
            ranges += usize::from(c.condition.len() == 2);
            aliases += usize::from(!c.aliases.is_empty());
            chains += usize::from(
                c.bases
                    .iter()
                    .any(|b| matches!(b.kind, rulecast::correlation::BaseKind::Correlation(_))),
            );
        }
        let cases = cases(&path).unwrap_or_else(|| panic!("{}: no tests", rel(&path)));
        let runner = Runner::new(&lf).unwrap_or_else(|p| panic!("{}: {p:?}", rel(&path)));
        let list_cases: Vec<_> = cases.iter().filter(|c| c.logs.is_some()).collect();
        assert!(
            list_cases.len() >= 4,
            "{}: a correlation needs tests of its window edges",
            rel(&path)
        );
        for case in list_cases {
            let (events, want) = case.logs.as_ref().expect("list");
            let got = runner.run_logs(events);
            if !got.agree_with(want) {
                failures.push(format!("{} :: {}: {got:?}", rel(&path), case.name));
            }
            checked += 1;
            if !sys {
                continue;
            }
            let Ok(expected) = &got.evaluator else {
                continue;
            };
            let filters = runner.correlation_filters();
            let lines: String = events.iter().map(|e| format!("{e}\n")).collect();
            let records = json!({ "Records": events }).to_string();
            for input in [lines, records] {
                let mut all = Vec::new();
                for f in &filters {
                    match run_system_jq_n(f, &input) {
                        Ok(rows) => all.extend(rows),
                        Err(e) => {
                            failures.push(format!("{} :: {}: jq: {e}", rel(&path), case.name))
                        }
                    }
                }
                if !same_rows(expected, &all) {
                    failures.push(format!(
                        "{} :: {}: system jq {all:?}, evaluator {expected:?}",
                        rel(&path),
                        case.name
                    ));
                }
            }
        }
    }
    assert!(files >= 12, "{files} correlation rule files");
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [
            "event_count",
            "temporal",
            "temporal_ordered",
            "value_avg",
            "value_count",
            "value_sum"
        ]
    );
    assert!(ranges >= 2 && chains >= 1 && aliases >= 2);
    assert!(checked > 50);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn references_resolve_across_the_files_of_a_run() {
    let base = load_text("base.yml", BASE);
    let corr = load_text(
        "corr.yml",
        "title: Many denied\ncorrelation:\n  type: event_count\n  rules: denied\n  group-by: sourceIPAddress\n  timespan: 1m\n  condition: {gte: 2}\n",
    );
    // Alone, the reference is unknown, at its line.
    let mut alone = [corr.clone()];
    rulecast::correlation::finish(&mut alone);
    let (code, line, col, _) = first_error(&alone[0]);
    assert_eq!((code.as_str(), line, col), ("E312", 4, 10));
    // In a run with its base rule, it resolves; a scalar `rules` and `group-by` are lists of one.
    let mut run = [base, corr];
    rulecast::correlation::finish(&mut run);
    let rule = run[1].rules[0].as_ref().expect("resolves");
    let c = rule.correlation.as_deref().expect("correlation");
    assert_eq!(c.group_by.len(), 1);
    let ev = |t: &str| json!({"eventTime": t, "errorCode": "AccessDenied", "sourceIPAddress": "192.0.2.1"});
    let events = [ev("2026-01-01T00:00:00Z"), ev("2026-01-01T00:01:00Z")];
    let rows = rows_json(c, &rows(rule, &events).expect("evaluates"));
    assert_eq!(
        rows,
        vec![
            json!({"sourceIPAddress": "192.0.2.1", "first_seen": "2026-01-01T00:01:00Z", "last_seen": "2026-01-01T00:01:00Z", "value": 2})
        ]
    );
    let program = JqProgram::compile(&format!("{INPUTS_PRELUDE}{}", jq(rule))).expect("compiles");
    assert_eq!(jaq_rows(&program, &events), rows);
}

#[test]
fn a_title_reference_resolves_with_a_note() {
    let lf = loaded_one(
        "t.yml",
        &format!("{BASE}---\ntitle: By title\ncorrelation:\n  type: event_count\n  rules: [Denied]\n  timespan: 1h\n  condition: {{gte: 3}}\n"),
    );
    let rule = lf.rules[1].as_ref().expect("resolves by title");
    let q = jq(rule);
    assert!(
        q.contains("# note: the rule 'Denied' is referenced by its title"),
        "{q}"
    );
    // Without group-by, all base events are one group: the row has only the three columns.
    let ev = |t: &str| json!({"eventTime": t, "errorCode": "AccessDenied"});
    let events = [
        ev("2026-01-01T00:00:00Z"),
        ev("2026-01-01T00:10:00Z"),
        ev("2026-01-01T00:59:00Z"),
    ];
    let c = rule.correlation.as_deref().expect("correlation");
    assert_eq!(
        rows_json(c, &rows(rule, &events).expect("evaluates")),
        vec![
            json!({"first_seen": "2026-01-01T00:59:00Z", "last_seen": "2026-01-01T00:59:00Z", "value": 3})
        ]
    );
}

#[test]
fn errors_point_at_their_line() {
    // An alias naming a rule that has no name (it is referenced by id).
    let text = "title: Denied\nid: 11111111-1111-1111-1111-111111111111\nlogsource: {product: aws}\ndetection:\n  s: {errorCode: AccessDenied}\n  condition: s\n---\ntitle: Aliased\ncorrelation:\n  type: event_count\n  rules:\n    - 11111111-1111-1111-1111-111111111111\n  group-by: [who]\n  aliases:\n    who:\n      denied: userIdentity.arn\n  timespan: 1h\n  condition: {gte: 3}\n";
    let (code, line, col, msg) = first_error(&loaded_one("a.yml", text));
    assert_eq!((code.as_str(), line, col), ("E311", 15, 5), "{msg}");
    assert!(msg.contains("no rule in 'rules' has that name"), "{msg}");
    // A cycle through two correlations.
    let two = "title: A\nname: a\ncorrelation:\n  type: event_count\n  rules: [b]\n  timespan: 1h\n  condition: {gte: 1}\n---\ntitle: B\nname: b\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 1h\n  condition: {gte: 1}\n";
    let lf = loaded_one("c.yml", two);
    assert!(lf
        .rules
        .iter()
        .all(|r| r.as_ref().is_err_and(|d| d.code.as_str() == "E313")));
    for (bad, code, line) in [
        ("  condition: {gte: 1, lt: 5, neq: 3}\n", "E311", 7),
        ("  condition: {gte: '1'}\n", "E311", 7),
        ("  condition: {about: 1}\n", "E311", 7),
        ("  condition: {gte: 1}\n  group-by: [value]\n", "E311", 8),
    ] {
        let text = format!("{BASE}---\ntitle: X\ncorrelation:\n  type: event_count\n  rules: [denied]\n  timespan: 1h\n{bad}");
        let (c, l, _, msg) = first_error(&loaded_one("x.yml", &text));
        assert_eq!((c.as_str(), l), (code, line + 6), "{bad}: {msg}");
    }
    // `field` beside `condition` instead of under it: said so, at the misplaced key.
    let text = format!("{BASE}---\ntitle: X\ncorrelation:\n  type: value_count\n  rules: [denied]\n  timespan: 1h\n  condition: {{gte: 2}}\n  field: userIdentity.arn\n");
    let (c, l, _, msg) = first_error(&loaded_one("f.yml", &text));
    assert_eq!((c.as_str(), l), ("E311", 14), "{msg}");
    assert!(msg.contains("move it under 'condition'"), "{msg}");
    // A chained correlation grouped by a field its inner correlation does not group by.
    let chain = format!("{BASE}---\ntitle: Inner\nname: inner\ncorrelation:\n  type: event_count\n  rules: [denied]\n  group-by: [sourceIPAddress]\n  timespan: 1h\n  condition: {{gte: 1}}\n---\ntitle: Outer\ncorrelation:\n  type: event_count\n  rules: [inner]\n  group-by: [userIdentity.arn]\n  timespan: 1h\n  condition: {{gte: 1}}\n");
    let (c, l, _, msg) = first_error(&loaded_one("ch.yml", &chain));
    assert_eq!((c.as_str(), l), ("E311", 21), "{msg}");
    // Targets that cannot express a correlation say so per rule.
    let lf = loaded_one(
        "cw.yml",
        &format!("{BASE}---\ntitle: X\ncorrelation:\n  type: temporal\n  rules: [denied]\n  timespan: 1h\n"),
    );
    let rule = lf.rules[1].as_ref().expect("resolves");
    let err = backend::render(
        Target::Cloudwatch.backend(),
        rule,
        &RenderOptions::default(),
    )
    .expect_err("cloudwatch refuses");
    assert_eq!(err.code.as_str(), "E401", "{}", err.message);
}

/// `rulecast convert` prints a correlation's base rules only with `generate: true`.
#[test]
fn base_rules_are_output_only_when_generated() {
    let dir = std::env::temp_dir().join(format!("rulecast-corr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let f = dir.join("g.yml");
    let corr = "---\ntitle: Many denied\ncorrelation:\n  type: event_count\n  rules: [denied]\n  timespan: 1h\n  condition: {gte: 3}\n";
    for (generate, titles) in [("", 1), ("  generate: true\n", 2)] {
        std::fs::write(&f, format!("{BASE}{corr}{generate}")).expect("write");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rulecast"))
            .args(["convert", "-t", "jq", "-f", "json"])
            .arg(&f)
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines = String::from_utf8_lossy(&out.stdout).lines().count();
        assert_eq!(lines, titles, "generate {generate:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Group-by names and aliases are rule text: in the jq program they are string literals only,
/// and the row keys are exactly the names.
#[test]
fn hostile_group_by_names_stay_literals() {
    // YAML: a"b\c, NUL, \(x)
    let name = r#""a\"b\\c\u0000\\(x)""#;
    let text = format!("{BASE}---\ntitle: X\ncorrelation:\n  type: event_count\n  rules: [denied]\n  group-by: [{name}]\n  timespan: 1h\n  condition: {{gte: 1}}\n");
    let lf = loaded_one("h.yml", &text);
    let rule = lf.rules[1].as_ref().expect("resolves");
    let q = jq(rule);
    let program = JqProgram::compile(&format!("{INPUTS_PRELUDE}{q}")).expect("compiles");
    let key = "a\"b\\c\u{0}\\(x)";
    let events =
        [json!({"eventTime": "2026-01-01T00:00:00Z", "errorCode": "AccessDenied", key: "v"})];
    let want = vec![
        json!({key: "v", "first_seen": "2026-01-01T00:00:00Z", "last_seen": "2026-01-01T00:00:00Z", "value": 1}),
    ];
    assert_eq!(jaq_rows(&program, &events), want);
    let c = rule.correlation.as_deref().expect("correlation");
    assert_eq!(rows_json(c, &rows(rule, &events).expect("evaluates")), want);
}

// ---------------------------------------------------------------------------------------------
// Random event streams.

const KINDS: [(&str, &str); 6] = [
    ("event_count", "  condition: {gte: 2}\n"),
    ("value_count", "  condition: {field: v, gte: 2}\n"),
    ("temporal", ""),
    ("temporal_ordered", ""),
    ("value_sum", "  condition: {field: v, gt: 1, lte: 7}\n"),
    ("value_avg", "  condition: {field: v, gte: 1.5}\n"),
];

/// Three base rules (`eventName` A, B, C) and a correlation of `kind` over A and B (value types)
/// or A, B, C (temporal types), grouped by `g`, with a 5 second window; with `chain`, an
/// event_count over that correlation's alert points.
fn stream_rule(kind: usize, chain: bool) -> String {
    let mut text = String::new();
    for n in ["A", "B", "C"] {
        text.push_str(&format!("title: Rule {n}\nname: r{n}\nlogsource: {{product: aws}}\ndetection:\n  s: {{eventName: {n}}}\n  condition: s\n---\n"));
    }
    let (k, cond) = KINDS[kind];
    let rules = if k.starts_with("temporal") {
        "[rA, rB, rC]"
    } else {
        "[rA, rB]"
    };
    text.push_str(&format!("title: Inner\nname: inner\ncorrelation:\n  type: {k}\n  rules: {rules}\n  group-by: [g]\n  timespan: 5s\n{cond}"));
    if chain {
        text.push_str("---\ntitle: Outer\ncorrelation:\n  type: event_count\n  rules: [inner]\n  group-by: [g]\n  timespan: 4s\n  condition: {gte: 2}\n");
    }
    text
}

fn arb_event() -> impl Strategy<Value = Value> {
    let name = prop_oneof![Just("A"), Just("B"), Just("C"), Just("D")];
    let group = prop_oneof![
        Just(json!("x")),
        Just(json!("y")),
        Just(json!(1)),
        Just(json!("1")),
        Just(json!(true)),
        Just(json!(null)),
        Just(json!(2.5)),
        Just(Value::Bool(false)),
    ];
    let value = prop_oneof![
        Just(json!(1)),
        Just(json!(2)),
        Just(json!(0.5)),
        Just(json!(-3)),
        Just(json!("2")),
        Just(json!("u")),
        Just(json!(null)),
        Just(json!([1])),
    ];
    (name, 0u32..20, group, value, any::<bool>(), any::<bool>()).prop_map(
        |(name, t, g, v, has_g, bad_time)| {
            let mut e = json!({
                "eventName": name,
                "eventTime": format!("2026-03-01T00:00:{:02}Z", t),
                "v": v,
            });
            if has_g {
                e["g"] = g;
            }
            if bad_time && t == 7 {
                e["eventTime"] = json!("2026-03-01T00:00:07.5Z");
            }
            e
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Evaluator and jaq give the same rows, for every type, with and without a chain.
    #[test]
    fn evaluator_and_jaq_agree_on_random_streams(
        kind in 0usize..6,
        chain in any::<bool>(),
        streams in proptest::collection::vec(proptest::collection::vec(arb_event(), 0..40), 4),
    ) {
        let lf = loaded_one("p.yml", &stream_rule(kind, chain));
        let rule = lf.rules.last().and_then(|r| r.as_ref().ok()).expect("loads");
        let c = rule.correlation.as_deref().expect("correlation");
        prop_assert_eq!(c.kind == Kind::EventCount, chain || kind == 0);
        let program = JqProgram::compile(&format!("{INPUTS_PRELUDE}{}", jq(rule))).expect("compiles");
        for events in &streams {
            let want = rows_json(c, &rows(rule, events).expect("evaluates"));
            let got = jaq_rows(&program, events);
            prop_assert!(same_rows(&want, &got), "evaluator {:?}\njaq {:?}\nevents {}", want, got, Value::Array(events.clone()));
        }
    }
}

/// The system jq (1.6 in CI) gives the evaluator's rows on random streams too.
#[test]
fn system_jq_agrees_on_random_streams() {
    if !system_jq() {
        return;
    }
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (
        0usize..6,
        any::<bool>(),
        proptest::collection::vec(arb_event(), 0..60),
    );
    runner
        .run(&strategy, |(kind, chain, events)| {
            let lf = loaded_one("p.yml", &stream_rule(kind, chain));
            let rule = lf
                .rules
                .last()
                .and_then(|r| r.as_ref().ok())
                .expect("loads");
            let c = rule.correlation.as_deref().expect("correlation");
            let want = rows_json(c, &rows(rule, &events).expect("evaluates"));
            let lines: String = events.iter().map(|e| format!("{e}\n")).collect();
            let got = run_system_jq_n(&jq(rule), &lines).map_err(TestCaseError::fail)?;
            prop_assert!(
                same_rows(&want, &got),
                "evaluator {:?}\njq {:?}\nevents {}",
                want,
                got,
                Value::Array(events.clone())
            );
            Ok(())
        })
        .expect("agrees");
}

/// Chains are bounded: nine correlations deep is refused at the outermost one's reference, and
/// resolving a long chain takes no time.
#[test]
fn chains_deeper_than_the_limit_are_refused() {
    let mut text = String::from(BASE);
    let mut previous = "denied".to_owned();
    for i in 0..10 {
        text.push_str(&format!("---\ntitle: Level {i}\nname: c{i}\ncorrelation:\n  type: event_count\n  rules: [{previous}]\n  timespan: 1h\n  condition: {{gte: 1}}\n"));
        previous = format!("c{i}");
    }
    let start = std::time::Instant::now();
    let lf = loaded_one("deep.yml", &text);
    assert!(start.elapsed().as_secs() < 2);
    // Levels 0..=7 resolve (a chain of 8); deeper ones are E313.
    assert!(lf.rules[1..9].iter().all(Result::is_ok));
    for r in &lf.rules[9..] {
        let d = r.as_ref().expect_err("too deep");
        assert_eq!(d.code.as_str(), "E313", "{}", d.message);
    }
}

/// `--mapping` renames the fields of a correlation's base rules and group-by, and ANDs its
/// condition into each base rule.
#[test]
fn a_mapping_applies_to_base_rules_and_group_by() {
    let dir = std::env::temp_dir().join(format!("rulecast-corr-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let map = dir.join("m.yml");
    std::fs::write(
        &map,
        "fields:\n  errorCode: error_code\n  sourceIPAddress: src\ncondition:\n  recipientAccountId: '111122223333'\n",
    )
    .expect("write");
    let mapping = rulecast::mapping::Mapping::load(&map).expect("mapping loads");
    let lf = loaded_one(
        "m.yml",
        &format!("{BASE}---\ntitle: X\ncorrelation:\n  type: event_count\n  rules: [denied]\n  group-by: [sourceIPAddress]\n  timespan: 1h\n  condition: {{gte: 2}}\n"),
    );
    let rule = mapping.apply(lf.rules[1].as_ref().expect("resolves"), Target::Jq);
    let q = jq(&rule);
    assert!(
        q.contains("\"error_code\"") && !q.contains("\"errorCode\""),
        "{q}"
    );
    assert!(
        q.contains("rc_one([\"src\"])") && q.contains("\"recipientAccountId\""),
        "{q}"
    );
    // The output column keeps the rule's name.
    assert!(q.contains("{\"sourceIPAddress\": .g[0]"), "{q}");
    let ev = |acct: &str| json!({"eventTime": "2026-01-01T00:00:00Z", "error_code": "AccessDenied", "src": "192.0.2.1", "recipientAccountId": acct});
    let program = JqProgram::compile(&format!("{INPUTS_PRELUDE}{q}")).expect("compiles");
    assert_eq!(
        jaq_rows(&program, &[ev("111122223333"), ev("111122223333")]).len(),
        1
    );
    assert!(jaq_rows(&program, &[ev("111122223333"), ev("999999999999")]).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the CloudWatch approximation should count: the base events (as the evaluator reads them)
/// per fixed bucket of `timespan` seconds from the epoch and group, aggregated, kept when the
/// aggregate meets the condition. Rows: (bucket start, group texts, value).
fn fixed_bins(rule: &rulecast::rule::Rule, events: &[Value]) -> Vec<(i64, Vec<String>, f64)> {
    use rulecast::correlation::eval::{event_time, value_text};
    use rulecast::correlation::{BaseKind, Source};
    let c = rule.correlation.as_deref().expect("correlation");
    let evals: Vec<_> = c
        .bases
        .iter()
        .map(|b| match &b.kind {
            BaseKind::Rule(e) => rulecast::eval::Evaluator::new(e).expect("compiles"),
            BaseKind::Correlation(_) => panic!("no chains on cloudwatch"),
        })
        .collect();
    let path = |s: &Source| match s {
        Source::Path(p) => p.clone(),
        Source::Inner(_) => panic!("no chains"),
    };
    let span = c.timespan as i64;
    let mut groups: std::collections::BTreeMap<(i64, Vec<String>), Vec<&Value>> =
        std::collections::BTreeMap::new();
    for e in events {
        let Some(t) = event_time(e) else { continue };
        let Some(j) = evals.iter().position(|x| x.matches(e)) else {
            continue;
        };
        let Some(g) = c.bases[j]
            .group
            .iter()
            .map(|s| rulecast::eval::resolve_exact(e, &path(s)).and_then(value_text))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        groups
            .entry((t.div_euclid(span) * span, g))
            .or_default()
            .push(e);
    }
    let field = |e: &Value| {
        c.bases[0]
            .values
            .first()
            .and_then(|s| rulecast::eval::resolve_exact(e, &path(s)).cloned())
    };
    let mut out = Vec::new();
    for ((start, g), evs) in groups {
        let nums: Vec<f64> = evs
            .iter()
            .filter_map(|e| field(e).and_then(|v| v.as_f64().filter(|_| v.is_number())))
            .collect();
        let value = match c.kind {
            Kind::EventCount => Some(evs.len() as f64),
            Kind::ValueCount => Some(
                evs.iter()
                    .filter_map(|e| field(e).and_then(|v| value_text(&v)))
                    .collect::<std::collections::BTreeSet<_>>()
                    .len() as f64,
            ),
            Kind::ValueSum => (!nums.is_empty()).then(|| nums.iter().sum()),
            Kind::ValueAvg => {
                (!nums.is_empty()).then(|| nums.iter().sum::<f64>() / nums.len() as f64)
            }
            _ => None,
        };
        if let Some(v) = value.filter(|v| c.meets(*v)) {
            out.push((start, g, v));
        }
    }
    out
}

/// Every shipped correlation CloudWatch can approximate renders a query the Logs Insights referee
/// parses, and on every test of the rule the referee's rows are exactly the fixed-bucket counts;
/// the others (temporal types, chains, aliases to different fields) are E401 with the reason.
#[test]
fn cloudwatch_counts_per_fixed_bucket_what_the_rule_counts() {
    use rulecast::backend::cloudwatch::referee;
    let (mut queries, mut rows_seen, mut refused) = (0, 0, 0);
    for path in rule_files() {
        let lf = load(&path);
        let Some(rule) = lf.rules.iter().flatten().rfind(|r| r.correlation.is_some()) else {
            continue;
        };
        let c = rule.correlation.as_deref().expect("correlation");
        let q = match backend::render(
            Target::Cloudwatch.backend(),
            rule,
            &RenderOptions::default(),
        ) {
            Ok(q) => q,
            Err(d) => {
                assert_eq!(d.code.as_str(), "E401", "{}: {}", rel(&path), d.message);
                assert!(
                    matches!(c.kind, Kind::Temporal | Kind::TemporalOrdered)
                        || c.bases.iter().any(|b| matches!(
                            b.kind,
                            rulecast::correlation::BaseKind::Correlation(_)
                        )),
                    "{}: {}",
                    rel(&path),
                    d.message
                );
                refused += 1;
                continue;
            }
        };
        assert!(
            q.contains("# note: Logs Insights has only fixed windows"),
            "{q}"
        );
        let query = referee::parse(&q).unwrap_or_else(|e| panic!("{}: {e}\n{q}", rel(&path)));
        queries += 1;
        for case in cases(&path).into_iter().flatten() {
            let Some((events, _)) = &case.logs else {
                continue;
            };
            let got: Vec<(String, Vec<String>, f64)> = query
                .rows(events)
                .iter()
                .map(|r| {
                    let text = |f: &str| r.get(f).map(|v| v.text().to_owned()).expect("field");
                    let groups = c.group_by.iter().map(|g| text(&g.text)).collect();
                    (
                        text("bucket"),
                        groups,
                        text("value").parse().expect("number"),
                    )
                })
                .collect();
            let want: Vec<(String, Vec<String>, f64)> = fixed_bins(rule, events)
                .into_iter()
                .map(|(t, g, v)| {
                    let iso = rulecast::backend::athena::window::iso(t);
                    (iso.replace('T', " ").replace('Z', ".000"), g, v)
                })
                .collect();
            rows_seen += want.len();
            assert_eq!(got, want, "{} :: {}\n{q}", rel(&path), case.name);
        }
    }
    assert!(
        queries >= 8 && refused >= 4,
        "{queries} queries, {refused} refused"
    );
    assert!(
        rows_seen > 10,
        "only {rows_seen} rows: the tests do not exercise the buckets"
    );
}

/// Random event streams for the Athena query, run by `scripts/check-athena` in DuckDB: when
/// `RULECAST_ATHENA_CORRELATION_CASES` names a file, each case (the query, its events, the
/// evaluator's rows) is written there as a JSON line. Fields are CloudTrail columns: grouped by
/// `sourceIPAddress`, values in `requestParameters.v` (numbers, numeric strings, other strings,
/// null, arrays), every type, with and without a chain. Without the variable the queries must
/// still render.
#[test]
fn athena_random_streams() {
    let out = std::env::var_os("RULECAST_ATHENA_CORRELATION_CASES");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut lines = Vec::new();
    for case in 0..72 {
        let kind = case % 6;
        let chain = case % 12 >= 6;
        let text = stream_rule(kind, chain)
            .replace("group-by: [g]", "group-by: [sourceIPAddress]")
            .replace("field: v,", "field: requestParameters.v,");
        let lf = loaded_one("a.yml", &text);
        let rule = lf
            .rules
            .last()
            .and_then(|r| r.as_ref().ok())
            .expect("loads");
        let c = rule.correlation.as_deref().expect("correlation");
        let sql = backend::render(Target::Athena.backend(), rule, &RenderOptions::default())
            .expect("renders");
        let n = 5 + next(35);
        let events: Vec<Value> = (0..n)
            .map(|_| {
                let name = ["A", "B", "C", "D"][next(4) as usize];
                let time = format!("2026-03-01T00:00:{:02}Z", next(20));
                let values = [
                    json!(1),
                    json!(2),
                    json!(-3),
                    json!("2"),
                    json!("u"),
                    json!(null),
                    json!([1]),
                    json!(4),
                ];
                let v = values[next(8) as usize].clone();
                let mut e = json!({
                    "eventVersion": "1.09",
                    "eventName": name,
                    "eventTime": time,
                    "requestParameters": {"v": v},
                });
                match next(5) {
                    0 => {}
                    1 => e["sourceIPAddress"] = json!(null),
                    n => {
                        e["sourceIPAddress"] =
                            json!(["192.0.2.1", "192.0.2.2", "203.0.113.9"][n as usize - 2])
                    }
                }
                e
            })
            .collect();
        let want = rows_json(c, &rows(rule, &events).expect("evaluates"));
        lines.push(json!({"name": format!("case {case} ({}, chain {chain})", c.kind.name()), "sql": sql, "events": events, "rows": want}).to_string());
    }
    if let Some(path) = out {
        std::fs::write(path, lines.join("\n") + "\n").expect("writes the cases");
    }
}
