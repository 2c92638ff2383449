//! `rulecast check`: every finding from its fixture under tests/fixtures/check/ (code, line,
//! severity, exit status), the text and SARIF forms (SARIF validated against the SARIF 2.1.0
//! JSON schema, vendored in tests/fixtures/), the shipped rules and the SigmaHQ corpus, and the
//! warnings `convert` and `test` print.

mod common;

use std::path::Path;

use serde_json::Value;

use common::root;
use common::run::{rulecast, text};

fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures/check")
        .join(name)
        .display()
        .to_string()
}

/// A finding as (code, line, severity).
type Found = (String, u64, String);

/// `check -f json` of the paths: the exit code, the findings, and the whole document.
fn findings(paths: &[&str]) -> (Option<i32>, Vec<Found>, Value) {
    let mut args = vec!["check", "-f", "json"];
    args.extend(paths);
    let o = rulecast(&args);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr));
    });
    let list = doc["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or_default().to_owned(),
                f["line"].as_u64().unwrap_or_default(),
                f["severity"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (o.status.code(), list, doc)
}

fn f(code: &str, line: u64, severity: &str) -> Found {
    (code.to_owned(), line, severity.to_owned())
}

/// Each fixture gives exactly its findings, at their lines, with the exit status they make.
#[test]
fn every_finding_from_its_fixture() {
    let cases: Vec<(&str, i32, Vec<Found>)> = vec![
        ("dangling_detection.yml", 1, vec![f("C101", 10, "error")]),
        ("empty_selector.yml", 1, vec![f("E302", 8, "error")]),
        (
            "logsource_windows.yml",
            1,
            vec![f("C102", 2, "error"), f("C113", 7, "warning")],
        ),
        (
            "duplicate_id",
            1,
            vec![f("C103", 2, "error"), f("C103", 3, "error")],
        ),
        ("related_unresolved.yml", 0, vec![f("C104", 4, "warning")]),
        (
            "correlation_by_title.yml",
            0,
            // A reference by title loads (with a note) and is a warning; one naming no rule
            // at all is the loader's E312 (correlation_unknown_rule.yml in tests/errors.rs).
            vec![f("C105", 15, "warning")],
        ),
        ("related_type.yml", 1, vec![f("C106", 3, "error")]),
        (
            "dates.yml",
            1,
            vec![f("C107", 2, "error"), f("C108", 3, "warning")],
        ),
        ("bad_status.yml", 1, vec![f("E105", 2, "error")]),
        (
            "tags.yml",
            1,
            vec![
                f("C109", 3, "error"),
                f("C109", 4, "error"),
                f("C110", 5, "warning"),
                f("C111", 9, "error"),
                f("C111", 10, "error"),
                f("C111", 11, "error"),
                f("C112", 12, "warning"),
                f("C112", 13, "warning"),
            ],
        ),
        (
            "unknown_field.yml",
            0,
            vec![f("C113", 7, "warning"), f("C113", 8, "warning")],
        ),
        ("constant_condition.yml", 1, vec![f("C114", 8, "error")]),
        (
            "panther_misspelt_severity.yml",
            1,
            vec![f("C201", 7, "error"), f("C202", 7, "warning")],
        ),
        (
            "panther_bad_values.yml",
            1,
            vec![f("C203", 3, "error"), f("E105", 6, "error")],
        ),
        (
            "panther_enabled.yml",
            1,
            vec![f("C203", 3, "error"), f("C109", 7, "error")],
        ),
        ("panther_tests.yml", 1, vec![f("C204", 15, "error")]),
        (
            "panther_missing_filename.yml",
            1,
            vec![f("E001", 7, "error")],
        ),
        ("panther_constant.yml", 1, vec![f("C114", 7, "error")]),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (name, status, want) in cases {
        let (code, got, _) = findings(&[&fixture(name)]);
        assert_eq!(got, want, "{name}");
        assert_eq!(code, Some(status), "{name}");
        seen.extend(got.into_iter().map(|(c, _, _)| c));
    }
    // Every lint has a fixture.
    for lint in rulecast::check::Lint::ALL {
        assert!(seen.contains(lint.code()), "{} has no fixture", lint.code());
    }
}

/// The first example: moving `eventName` out of its selection widens the rule; the
/// text output names the detection, its place and the fix.
#[test]
fn text_output_has_place_code_and_fix() {
    let o = rulecast(&["check", &fixture("dangling_detection.yml")]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].ends_with(
            "dangling_detection.yml:10:5: error[C101]: detection 'eventName' is not used by the condition, so it does not restrict what the rule matches"
        ),
        "{out}"
    );
    assert!(
        lines[1].starts_with("  fix: indent 'eventName' under"),
        "{out}"
    );
    assert_eq!(lines[2], "1 error, 0 warnings (1 rule files checked)");
    // Misspelt Severity: the required key is missing, and the unknown key is named with the
    // key it probably means.
    let o = rulecast(&["check", &fixture("panther_misspelt_severity.yml")]);
    let out = text(&o.stdout);
    assert!(out.contains("error[C201]: the required key 'Severity' is missing\n  fix: rename 'Sevrity' to `Severity`"), "{out}");
    assert!(
        out.contains("warning[C202]: 'Sevrity' is not a key")
            && out.contains("fix: did you mean `Severity`?"),
        "{out}"
    );
    // Constant conditions say why.
    let (_, _, doc) = findings(&[&fixture("constant_condition.yml")]);
    assert!(
        doc["findings"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("always false") && m.contains("contradict")),
        "{doc}"
    );
}

/// Warnings alone exit 0; `--deny-warnings` makes them fail.
#[test]
fn warnings_exit_zero_unless_denied() {
    let p = fixture("unknown_field.yml");
    assert_eq!(rulecast(&["check", &p]).status.code(), Some(0));
    assert_eq!(
        rulecast(&["check", "--deny-warnings", &p]).status.code(),
        Some(1)
    );
    assert_eq!(
        rulecast(&["check", "/no/such/rules.yml"]).status.code(),
        Some(2)
    );
    assert_eq!(
        rulecast(&["check", "-f", "nope", &p]).status.code(),
        Some(2)
    );
    // One file named twice is one rule, not two with the same id.
    let a = fixture("duplicate_id/a.yml");
    let (code, got, _) = findings(&[&a, &a]);
    assert_eq!((code, got), (Some(0), vec![]));
}

/// A logsource the mapping maps is not a finding, and convert takes it.
#[test]
fn mapped_logsource_is_accepted() {
    let p = fixture("logsource_windows.yml");
    let mapping = root()
        .join("tests/fixtures/check_windows_mapping.yml")
        .display()
        .to_string();
    let (code, got, _) = findings(&["--mapping", &mapping, &p]);
    assert_eq!(got, vec![f("C113", 7, "warning")]);
    assert_eq!(code, Some(0));
    // convert refuses it without the mapping (E314, nothing on stdout) and takes it with one.
    let o = rulecast(&["convert", "-t", "athena", &p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).is_empty(), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("logsource_windows.yml:2:1: error[E314]: logsource {product: windows, category: process_creation} is not AWS CloudTrail"),
        "{}",
        text(&o.stderr)
    );
    let o = rulecast(&["convert", "--mapping", &mapping, &p]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).starts_with("# Windows process creation"));
}

/// `convert` and `test` show findings as warnings on stderr only (stdout is the same as without
/// them), and fail on them with `--deny-warnings`.
#[test]
fn convert_and_test_warn() {
    let p = fixture("dangling_detection.yml");
    let o = rulecast(&["convert", &p]);
    assert_eq!(o.status.code(), Some(0));
    let err = text(&o.stderr);
    assert!(
        err.contains(
            "dangling_detection.yml:10:5: warning[C101]: detection 'eventName' is not used"
        ) && err.contains("(fix: indent"),
        "{err}"
    );
    assert!(
        text(&o.stdout).starts_with("# IAM user deleted"),
        "{}",
        text(&o.stdout)
    );
    let denied = rulecast(&["convert", "--deny-warnings", &p]);
    assert_eq!(denied.status.code(), Some(1));
    assert_eq!(denied.stdout, o.stdout);
    let md = rulecast(&["convert", "-f", "markdown", "--deny-warnings", &p]);
    assert_eq!(md.status.code(), Some(1));
    assert!(text(&md.stdout).contains("IAM user deleted"));
    // A rule with the warning and a passing test.
    let d = std::env::temp_dir().join(format!("rulecast-check-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    std::fs::copy(&p, d.join("r.yml")).expect("copy");
    std::fs::write(
        d.join("r.tests.yml"),
        "Tests:\n  - Name: any IAM call\n    ExpectedResult: true\n    Log: {\"eventSource\": \"iam.amazonaws.com\", \"eventName\": \"GetUser\"}\n",
    )
    .expect("write");
    let dir = d.display().to_string();
    let o = rulecast(&["test", &dir]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("warning[C101]"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(
        text(&o.stdout),
        "1 passed, 0 failed, 0 skipped (0 rule files without tests)\n"
    );
    let denied = rulecast(&["test", "--deny-warnings", &dir]);
    assert_eq!(denied.status.code(), Some(1));
    assert_eq!(denied.stdout, o.stdout);
    let _ = std::fs::remove_dir_all(&d);
}

/// SARIF output is valid SARIF 2.1.0 (the OASIS schema, from tests/fixtures/) with one result
/// per finding, at its place, with its level.
#[test]
fn sarif_validates_against_the_schema() {
    let mut schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/sarif-schema-2.1.0.json"))
            .expect("schema"),
    )
    .expect("schema JSON");
    // The OASIS schema's `language` patterns (of `run` and `toolComponent`) have a stray `]`
    // (`...-[a-zA-Z]{2}]?$`), which ECMA-262 reads as a literal but the validator's regex
    // engine refuses, and the schema is checked against its meta-schema (formats included)
    // before use. Those two patterns get their intended form here, in memory; rulecast's logs
    // have no `language`.
    let fixed = fix_language_patterns(&mut schema);
    assert_eq!(fixed, 2);
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles");
    let dir = fixture("");
    let o = rulecast(&["check", "-f", "sarif", &dir]);
    assert_eq!(o.status.code(), Some(1));
    let log: Value = serde_json::from_slice(&o.stdout).expect("SARIF is JSON");
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let (_, all, _) = findings(&[&dir]);
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), all.len());
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    for (r, (code, line, severity)) in results.iter().zip(&all) {
        assert_eq!(r["ruleId"], code.as_str());
        assert_eq!(r["level"], severity.as_str());
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], *line);
        let index = r["ruleIndex"].as_u64().expect("index") as usize;
        assert_eq!(rules[index]["id"], code.as_str());
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("uri");
        assert!(uri.contains("tests/fixtures/check/"), "{uri}");
    }
    // A clean run is valid too, with no results.
    let o = rulecast(&["check", "-f", "sarif", "rules"]);
    let log: Value = serde_json::from_slice(&o.stdout).expect("SARIF is JSON");
    assert!(validator.is_valid(&log));
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
    // A broken log is caught: the validator is not vacuous.
    let mut bad = log.clone();
    bad["version"] = Value::from("2.0");
    assert!(!validator.is_valid(&bad));
}

/// The shipped rules are clean; the SigmaHQ CloudTrail corpus has exactly its two real
/// findings: a `status` field CloudTrail records do not have (the rule can never match), and a
/// `related` id of a rule outside the CloudTrail folder.
#[test]
fn shipped_rules_and_sigmahq_corpus() {
    let (code, got, _) = findings(&["rules"]);
    assert_eq!((code, got), (Some(0), vec![]));
    let corpus = root().join("../shared/corpus/sigmahq-cloudtrail");
    if !Path::new(&corpus).exists() {
        return;
    }
    let (code, got, doc) = findings(&[&corpus.display().to_string()]);
    assert_eq!(code, Some(0));
    assert_eq!(got, vec![f("C113", 26, "warning"), f("C104", 4, "warning")]);
    let paths: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(
        paths[0].ends_with("aws_delete_saml_provider.yml"),
        "{paths:?}"
    );
    assert!(paths[1].ends_with("aws_enum_buckets.yml"), "{paths:?}");
    assert_eq!(doc["files"], 57);
}

/// Replace the SARIF schema's malformed `language` pattern wherever it is; how many were.
fn fix_language_patterns(v: &mut Value) -> usize {
    match v {
        Value::String(s) if s == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" => {
            *s = "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$".to_owned();
            1
        }
        Value::Array(items) => items.iter_mut().map(fix_language_patterns).sum(),
        Value::Object(m) => m.values_mut().map(fix_language_patterns).sum(),
        _ => 0,
    }
}
