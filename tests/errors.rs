//! Bad input: every fixture in `tests/fixtures/invalid/` yields a diagnostic with the expected code
//! at the expected line and column, and never a query. Messages are pinned in `snapshots/errors/`.

mod common;

use std::path::Path;

use common::*;
use rulecast::backend::Target;
use rulecast::diagnostic::FileDiagnostic;

/// (fixture, code, line, column)
const EXPECTED: &[(&str, &str, usize, usize)] = &[
    ("base64_after_contains.yml", "E304", 6, 9),
    ("bad_cidr.yml", "E307", 6, 9),
    ("bad_level.yml", "E105", 4, 1),
    ("bad_regex.yml", "E306", 6, 9),
    ("binary.yml", "E101", 2, 10),
    ("comment_only.yml", "E104", 1, 1),
    ("condition_pipe.yml", "E203", 7, 20),
    ("condition_syntax.yml", "E201", 7, 24),
    ("condition_unbalanced.yml", "E201", 7, 27),
    ("condition_uppercase.yml", "E201", 9, 20),
    ("correlation_bad_timespan.yml", "E311", 6, 5),
    ("correlation_cycle.yml", "E313", 6, 11),
    ("correlation_missing_field.yml", "E311", 9, 5),
    ("correlation_percentile.yml", "E401", 3, 5),
    ("correlation_unknown_rule.yml", "E312", 5, 11),
    ("correlation_unknown_type.yml", "E311", 3, 5),
    ("deep_nesting.yml", "E202", 7, 80),
    ("duplicate_key.yml", "E102", 7, 9),
    ("empty.yml", "E104", 1, 1),
    ("empty_detection.yml", "E309", 5, 5),
    ("empty_selector.yml", "E302", 7, 34),
    ("exists_string.yml", "E305", 6, 9),
    ("gt_string.yml", "E305", 6, 9),
    ("missing_condition.yml", "E103", 4, 1),
    ("missing_detection.yml", "E103", 1, 1),
    ("missing_placeholder.yml", "E308", 6, 9),
    ("modifier_conflict.yml", "E304", 6, 9),
    ("modifier_misplaced.yml", "E304", 6, 9),
    ("nested_list.yml", "E305", 6, 9),
    ("not_a_rule_list.yml", "E103", 1, 1),
    ("not_utf8.yml", "E101", 1, 1),
    ("unknown_identifier.yml", "E301", 7, 16),
    ("unknown_modifier.yml", "E303", 7, 9),
    ("yaml_syntax.yml", "E102", 3, 10),
];

fn diagnostics(path: &Path) -> Vec<FileDiagnostic> {
    let lf = match rulecast::load_path(path, &Default::default()) {
        Ok(lf) => lf,
        Err(d) => return vec![d],
    };
    let mut out = Vec::new();
    for r in &lf.rules {
        match r {
            Ok(rule) => {
                let q = rulecast::backend::render(Target::Jq.backend(), rule, &Default::default());
                panic!("{} converted to a query: {q:?}", path.display());
            }
            Err(d) => out.push(d.clone().in_file(&lf.file)),
        }
    }
    out
}

#[test]
fn every_fixture_fails_where_expected() {
    let dir = root().join("tests/fixtures/invalid");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut listed: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    listed.sort_unstable();
    assert_eq!(
        names, listed,
        "every fixture has an expectation and vice versa"
    );
    let mut report = String::new();
    let mut wrong = Vec::new();
    for (name, code, line, col) in EXPECTED {
        let ds = diagnostics(&dir.join(name));
        assert_eq!(ds.len(), 1, "{name}: {ds:?}");
        let d = &ds[0];
        if (d.code.as_str(), d.line, d.column) != (*code, *line, *col) {
            wrong.push(format!(
                "{name}: got {} at {}:{}, expected {code} at {line}:{col}",
                d.code, d.line, d.column
            ));
        }
        let shown = FileDiagnostic {
            path: Path::new("tests/fixtures/invalid").join(name),
            ..d.clone()
        };
        assert_eq!(
            shown.render(false).lines().next(),
            Some(shown.to_string().as_str())
        );
        report.push_str(&format!("{shown}\n"));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots/errors"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.bind(|| insta::assert_snapshot!("invalid_fixtures", report));
}

/// A batch keeps going: in a file with a good and a bad document, the good one converts.
#[test]
fn one_bad_document_does_not_stop_the_others() {
    let text = "title: good\nlogsource: {product: aws}\ndetection:\n  s: {eventName: X}\n  condition: s\n---\ntitle: bad\nlogsource: {product: aws}\ndetection:\n  s: {eventName: X}\n  condition: t\n";
    let lf = rulecast::load_source(
        rulecast::source::SourceFile::new("m.yml", text),
        &Default::default(),
    );
    assert_eq!(lf.rules.len(), 2);
    assert!(lf.rules[0].is_ok());
    let d = lf.rules[1]
        .as_ref()
        .expect_err("bad")
        .clone()
        .in_file(&lf.file);
    assert_eq!((d.code.as_str(), d.line, d.column), ("E301", 11, 14), "{d}");
}

/// Garbage never panics: arbitrary bytes give a diagnostic or a rule, nothing else.
#[test]
fn arbitrary_bytes_never_panic() {
    use proptest::prelude::*;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 500,
        ..Default::default()
    });
    let strat = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        "(title|logsource|detection|condition|sel|[:{}\\[\\]|'\" \n-]|not|and|of|1|\\*){0,60}"
            .prop_map(String::into_bytes),
    ];
    runner
        .run(&strat, |bytes| {
            if let Ok(f) = rulecast::source_from_bytes("g.yml", bytes) {
                let lf = rulecast::load_source(f, &Default::default());
                for r in lf.rules.iter().flatten() {
                    let _ = rulecast::backend::render(Target::Jq.backend(), r, &Default::default());
                }
            }
            Ok(())
        })
        .expect("no panics");
}

/// Every diagnostic code is documented in docs/errors.md.
#[test]
fn every_code_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/errors.md")).expect("docs/errors.md");
    for code in rulecast::diagnostic::Code::ALL {
        assert!(
            doc.contains(&format!("| {} |", code.as_str())),
            "{code} is not in docs/errors.md"
        );
    }
}
