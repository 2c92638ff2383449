//! `rulecast scan`: the evaluator over log files. It selects what each rule's jq filter selects
//! on the real records in ../shared, the rule index changes no result, the output is the same
//! bytes whatever the number of workers, and broken files are reported while the run goes on.

mod common;

use std::io::Write;
use std::path::PathBuf;

use common::run::{rulecast, s, temp_dir, text, write};
use common::*;
use rulecast::backend::jq::exec::JqProgram;
use rulecast::backend::Target;
use rulecast::rule::Rule;
use rulecast::scan::{self, ScanRule, Scanner};
use serde_json::Value;

/// Every shipped rule and every SigmaHQ CloudTrail rule that loads, with its path.
fn all_rules() -> Vec<(PathBuf, Rule)> {
    let mut files = rule_files();
    if let Some(corpus) = shared_corpus("sigmahq-cloudtrail") {
        files.extend(rulecast::discover::rule_files(&[corpus]).0);
    }
    let mut out = Vec::new();
    for path in files {
        // Correlations count events over windows: they are not scanned.
        for rule in load(&path).rules.into_iter().flatten() {
            if rule.correlation.is_none() {
                out.push((path.clone(), rule));
            }
        }
    }
    out
}

fn scanner(rules: &[(PathBuf, Rule)], indexed: bool) -> Scanner<'_> {
    let scan_rules = rules
        .iter()
        .map(|(p, r)| ScanRule {
            rule: r,
            path: rel(p),
        })
        .collect();
    Scanner::new(scan_rules, indexed).expect("every rule compiles")
}

fn stratus_files() -> Option<Vec<PathBuf>> {
    let dir = shared_corpus("stratus-detonation-logs")?;
    let (files, errors) = scan::log_files(&[dir]);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(files.len() > 10);
    Some(files)
}

#[test]
fn scan_agrees_with_each_rules_jq_filter_on_real_records() {
    let Some(files) = stratus_files() else {
        return;
    };
    let rules = all_rules();
    let scanner = scanner(&rules, true);
    // What scan prints, per rule: the events in file and record order.
    let mut by_rule: Vec<Vec<Value>> = vec![Vec::new(); rules.len()];
    let mut records = Vec::new();
    scan::scan(&scanner, &files, 2, true, &mut |r| {
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        for line in text(&r.alerts).lines() {
            let alert: Value = serde_json::from_str(line).expect("an alert is JSON");
            let i = rules
                .iter()
                .position(|(p, rule)| {
                    alert["rule"]["path"] == rel(p).as_str()
                        && alert["rule"]["title"] == rule.meta.title.as_str()
                })
                .expect("the alert names a rule of the run");
            by_rule[i].push(alert["event"].clone());
        }
    });
    for f in &files {
        let v: Value = serde_json::from_slice(&std::fs::read(f).expect("reads")).expect("JSON");
        records.extend(v.as_array().cloned().unwrap_or_default());
    }
    let file = serde_json::json!({ "Records": records });
    let mut failures = Vec::new();
    let mut matched = 0;
    for ((path, rule), scanned) in rules.iter().zip(&by_rule) {
        let filter = rulecast::backend::render(
            Target::Jq.backend(),
            rule,
            &rulecast::backend::RenderOptions::default(),
        )
        .expect("converts");
        let by_jq = JqProgram::compile(&filter)
            .expect("compiles")
            .run(&file)
            .expect("runs");
        matched += scanned.len();
        if &by_jq != scanned {
            failures.push(format!(
                "{}: jq selects {}, scan {}",
                rel(path),
                by_jq.len(),
                scanned.len()
            ));
        }
    }
    assert!(
        matched > 100,
        "scan should find the detonations ({matched})"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_index_changes_no_result() {
    let rules = all_rules();
    let mut events: Vec<Value> = Vec::new();
    for path in rule_files() {
        for case in cases(&path).unwrap_or_default() {
            events.push(case.log);
        }
    }
    if let Some(files) = stratus_files() {
        for f in files {
            let v: Value = serde_json::from_slice(&std::fs::read(f).expect("reads")).expect("JSON");
            events.extend(v.as_array().cloned().unwrap_or_default());
        }
    }
    // Events the index must not misfile: names in another case, not a string, missing.
    events.push(
        serde_json::json!({"eventName": "stoplogging", "eventSource": "CLOUDTRAIL.amazonaws.com"}),
    );
    events.push(serde_json::json!({"eventName": ["StopLogging"], "eventSource": 1}));
    events.push(serde_json::json!({"eventSource": "iam.amazonaws.com"}));
    let indexed = scanner(&rules, true);
    let plain = scanner(&rules, false);
    assert!(
        indexed.indexed() * 2 > rules.len(),
        "most rules name an event: {} of {}",
        indexed.indexed(),
        rules.len()
    );
    assert_eq!(plain.indexed(), 0);
    let (mut scratch, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    let mut hits = 0;
    for e in &events {
        indexed.matches(e, &mut scratch, &mut a);
        plain.matches(e, &mut scratch, &mut b);
        assert_eq!(a, b, "on {e}");
        hits += a.len();
    }
    assert!(hits > 100, "{hits}");
}

/// A CloudTrail file holding one StopLogging event, which the shipped rules match.
fn stop_logging() -> String {
    r#"{"Records":[{"eventVersion":"1.08","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","eventTime":"2024-01-01T00:00:00Z","requestParameters":{"name":"t"},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a"}}]}"#.to_owned()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzips");
    enc.finish().expect("gzips")
}

#[test]
fn broken_files_are_reported_and_the_run_goes_on() {
    let dir = temp_dir("scan-broken");
    let logs = dir.join("logs");
    write(&logs, "a-good.json", &stop_logging());
    std::fs::write(logs.join("b-good.json.gz"), gzip(stop_logging().as_bytes())).expect("w");
    let full = gzip(stop_logging().as_bytes());
    std::fs::write(logs.join("c-truncated.json.gz"), &full[..full.len() / 2]).expect("w");
    let event = r#"{"eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging"}"#;
    write(
        &logs,
        "d-lines.jsonl",
        &format!("{event}\nnot json at all\n{event}\n"),
    );
    write(&logs, "e-empty.json", "");
    write(
        &logs,
        "f-other.json",
        r#"{"name": "package", "version": "1.0"}"#,
    );
    write(
        &logs,
        "g-pretty.json",
        "{\n  \"Records\": [\n    {\"eventName\": }\n  ]\n}\n",
    );
    write(
        &logs,
        "notes.txt",
        "not a log name: not read from a directory",
    );
    let rule = root().join("rules/sigma/cloudtrail/cloudtrail_logging_stopped_or_deleted.yml");
    let o = rulecast(&["scan", s(&rule), "--logs", s(&logs)]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let alerts: Vec<Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON"))
        .collect();
    // a-good, b-good and the two good lines of d-lines.
    assert_eq!(alerts.len(), 4, "{}", text(&o.stdout));
    assert_eq!(alerts[0]["rule"]["level"], "high");
    assert_eq!(alerts[0]["event"]["eventName"], "StopLogging");
    let at = |name: &str| format!("{}", logs.join(name).display());
    for expected in [
        format!(
            "{}:1:1: error[E601]: the gzip data is truncated",
            at("c-truncated.json.gz")
        ),
        format!(
            "{}:2:2: error[E601]: not a JSON record",
            at("d-lines.jsonl")
        ),
        format!("{}: note: the file is empty", at("e-empty.json")),
        format!(
            "{}:1:1: error[E601]: document 1: not a CloudTrail record",
            at("f-other.json")
        ),
        format!("{}:3:19: error[E601]: not valid JSON", at("g-pretty.json")),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in\n{err}");
    }
    assert!(!err.contains("notes.txt"), "{err}");
}

#[test]
fn output_is_the_same_bytes_on_any_number_of_workers() {
    let Some(dir) = shared_corpus("stratus-detonation-logs") else {
        return;
    };
    let rules = root().join("rules");
    let one = rulecast(&["scan", s(&rules), "--logs", s(&dir), "-j", "1"]);
    let two = rulecast(&["scan", s(&rules), "--logs", s(&dir), "-j", "2"]);
    assert_eq!(one.status.code(), Some(0), "{}", text(&one.stderr));
    assert!(!one.stdout.is_empty());
    assert!(one.stdout == two.stdout, "-j 1 and -j 2 differ");
    let summary = rulecast(&["scan", s(&rules), "--logs", s(&dir), "--summary"]);
    let table = text(&summary.stdout);
    assert!(table.starts_with(" matches  level"), "{table}");
    let alerts = text(&one.stdout).lines().count();
    assert!(
        table.contains(&format!("{alerts} matches of ")),
        "the summary counts the alerts ({alerts}):\n{table}"
    );
}
