//! Sigma meta filters: a filter among the rules or given with `--filter` tunes the rules it names
//! and covers in convert, scan and explain alike; its errors are at their line.

mod common;

use common::run::{rulecast, s, temp_dir, text, write};
use common::*;
use rulecast::backend::jq::exec::JqProgram;
use serde_json::{json, Value};

fn fixtures() -> std::path::PathBuf {
    root().join("tests/fixtures/filters")
}

/// A StopLogging event by `arn` (None: no userIdentity at all).
fn stop(arn: Option<&str>) -> Value {
    let mut e = json!({"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging"});
    if let Some(a) = arn {
        e["userIdentity"] = json!({ "arn": a });
    }
    e
}

fn events() -> Vec<Value> {
    vec![
        stop(Some("arn:aws:iam::1:user/trail-admin")),
        stop(Some("arn:aws:iam::1:user/TRAIL-ADMIN")),
        stop(Some("arn:aws:iam::1:user/mallory")),
        stop(None),
    ]
}

/// Which of [`events`] the rule selects: the admin's (in any case) are filtered out, an event
/// without the field is kept (the filter's NOT is null-safe).
const EXPECTED: [bool; 4] = [false, false, true, true];

#[test]
fn a_filter_among_the_rules_tunes_the_jq_query() {
    let o = rulecast(&["convert", "-t", "jq", "-f", "json", s(&fixtures())]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let lines: Vec<Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one rule; the filter file converts to nothing"
    );
    let program = JqProgram::compile(lines[0]["query"].as_str().expect("query")).expect("jq");
    let selected: Vec<bool> = events()
        .iter()
        .map(|e| !program.run(e).expect("runs").is_empty())
        .collect();
    assert_eq!(selected, EXPECTED);
}

#[test]
fn the_same_filter_with_dash_dash_filter_tunes_scan() {
    let dir = temp_dir("filter-scan");
    let lines: Vec<String> = events().iter().map(Value::to_string).collect();
    let logs = write(&dir, "logs.jsonl", &lines.join("\n"));
    let rule = fixtures().join("logging_stopped.yml");
    let filter = fixtures().join("tuning.yml");
    let o = rulecast(&["scan", s(&rule), "--filter", s(&filter), "--logs", s(&logs)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let alerted: Vec<Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON")["event"].clone())
        .collect();
    let expected: Vec<Value> = events()
        .into_iter()
        .zip(EXPECTED)
        .filter_map(|(e, keep)| keep.then_some(e))
        .collect();
    assert_eq!(alerted, expected);
    // Without the filter every event alerts.
    let o = rulecast(&["scan", s(&rule), "--logs", s(&logs)]);
    assert_eq!(text(&o.stdout).lines().count(), 4);
}

#[test]
fn explain_names_the_filters_a_rule_received() {
    let o = rulecast(&["explain", s(&fixtures())]);
    let out = text(&o.stdout);
    assert!(
        out.contains("meta filter 0e5c7f5a-1111-4c1e-9a7e-000000000001 (")
            && out.contains("tuning.yml): not admin"),
        "{out}"
    );
    // The filter for another logsource is not applied.
    assert!(!out.contains("not everything"), "{out}");
}

#[test]
fn filter_errors_are_at_their_line() {
    let dir = temp_dir("filter-errors");
    let rule = fixtures().join("logging_stopped.yml");
    let cases = [
        (
            "unknown.yml",
            "title: t\nlogsource: {product: aws}\nfilter:\n  rules:\n    - 56e0aa1d-41ad-47e6-91cc-4ac83e28c5b5\n    - no-such-rule\n  sel: {eventName: X}\n  condition: not sel\n",
            ":6:7: error[E312]: the meta filter 't' names rule 'no-such-rule'",
        ),
        (
            "norules.yml",
            "title: t\nlogsource: {product: aws}\nfilter:\n  sel: {eventName: X}\n  condition: not sel\n",
            ":3:1: error[E103]: the filter names no rules",
        ),
        (
            "listcond.yml",
            "title: t\nlogsource: {product: aws}\nfilter:\n  rules: any\n  sel: {eventName: X}\n  condition: [not sel]\n",
            ":6:3: error[E103]: a meta filter's 'condition' must be a string",
        ),
        (
            "badcond.yml",
            "title: t\nlogsource: {product: aws}\nfilter:\n  rules: any\n  sel: {eventName: X}\n  condition: not sle\n",
            ":6:18: error[E301]",
        ),
        (
            "modifier.yml",
            "title: t\nlogsource: {product: aws}\nfilter:\n  rules: any\n  sel:\n    eventName|contans: X\n  condition: not sel\n",
            ":6:5: error[E303]",
        ),
    ];
    for (name, body, expected) in cases {
        let f = write(&dir, name, body);
        let o = rulecast(&["convert", s(&rule), "--filter", s(&f)]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains(&format!("{}{expected}", f.display())),
            "{name}: expected {expected:?} in\n{err}"
        );
    }
}
