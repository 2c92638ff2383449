//! The results of `rulecast test` as records, one per test (rule file, test name, outcome, the
//! engines that ran, expected and actual results, the predicates that decided a failure), and
//! those records as JSON or as JUnit XML (one `<testsuite>` per tests file, one `<testcase>` per
//! test) for CI test reporters.

use serde::Serialize;

use super::run::{CaseResult, FileOutcome, SetupError};
use crate::LoadedFile;

/// What became of one test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// The test mocks Python functions: it cannot run outside Panther.
    Skip,
    /// The rule did not convert (or its tests could not be read): the test did not run.
    NotRun,
}

/// One test's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// The rule file.
    pub rule_file: String,
    /// The file the test is in (a sidecar, or the rule file for a Panther rule's `Tests:`).
    pub tests_file: String,
    /// The rule's title (the titles of a multi-document file, joined with ` | `).
    pub rule: String,
    /// The test's `Name` (for a file whose tests did not run: a description).
    pub name: String,
    pub outcome: Outcome,
    /// Which engines ran the test: `evaluator`, `jq`, and `raises` for a Panther Python rule
    /// (whether `rule()` raises on the event).
    pub engines: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluator: Option<bool>,
    /// jq's answer, or its error as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jq: Option<serde_json::Value>,
    /// `rule()` raises on the event (a Panther Python rule).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub raises: bool,
    /// For a failure: the predicates that decided the rule's answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decided_by: Vec<String>,
    /// Why the test failed or did not run, in one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A correlation test's record: the rows the evaluator and jq printed against the expected rows
/// (or row count).
fn correlation_record(
    mut rec: Record,
    rows: &super::run::RowVerdicts,
    want: &super::ExpectedRows,
) -> Record {
    rec.engines = vec!["evaluator", "jq"];
    if rows.agree_with(want) {
        return rec;
    }
    let shown = |x: &Result<Vec<serde_json::Value>, String>| match x {
        Ok(rows) => serde_json::Value::Array(rows.clone()).to_string(),
        Err(e) => format!("error ({e})"),
    };
    let expected = match want {
        super::ExpectedRows::Any(b) => format!("some row: {b}"),
        super::ExpectedRows::Count(n) => format!("{n} rows"),
        super::ExpectedRows::Rows(r) => serde_json::Value::Array(r.clone()).to_string(),
    };
    rec.outcome = Outcome::Fail;
    rec.jq = Some(serde_json::Value::String(shown(&rows.jq)));
    rec.message = Some(format!(
        "expected {expected}, evaluator {}, jq {}",
        shown(&rows.evaluator),
        shown(&rows.jq)
    ));
    rec
}

/// The records of one rule file's outcome (none for a file without tests).
pub fn records(lf: &LoadedFile, outcome: &FileOutcome) -> Vec<Record> {
    let rule_file = lf.file.path.display().to_string();
    let rule: Vec<&str> = lf
        .rules
        .iter()
        .flatten()
        .map(|r| r.meta.title.as_str())
        .collect();
    let rule = rule.join(" | ");
    let base = |tests_file: String, name: String, outcome: Outcome| Record {
        rule_file: rule_file.clone(),
        tests_file,
        rule: rule.clone(),
        name,
        outcome,
        engines: vec![],
        expected: None,
        evaluator: None,
        jq: None,
        raises: false,
        decided_by: vec![],
        message: None,
    };
    match outcome {
        FileOutcome::Untested => vec![],
        FileOutcome::Unreadable(d) => vec![Record {
            message: Some(d.to_string()),
            ..base(
                d.path.display().to_string(),
                "(the tests could not be read)".into(),
                Outcome::Fail,
            )
        }],
        FileOutcome::NotConverted { problems, .. } => {
            let why: Vec<String> = problems
                .iter()
                .map(|p| match p {
                    SetupError::Rule(d) => d.to_string(),
                    other => format!("{rule_file}: {other}"),
                })
                .collect();
            vec![Record {
                message: Some(why.join("; ")),
                ..base(
                    rule_file.clone(),
                    "(the rule did not convert)".into(),
                    Outcome::NotRun,
                )
            }]
        }
        FileOutcome::Ran {
            tests_path,
            results,
        } => results
            .iter()
            .map(|r| {
                case_record(
                    base(
                        tests_path.display().to_string(),
                        r.case.name.clone(),
                        Outcome::Pass,
                    ),
                    r,
                )
            })
            .collect(),
    }
}

fn case_record(mut rec: Record, r: &CaseResult) -> Record {
    let CaseResult {
        case,
        verdicts,
        decided_by,
        rows,
    } = r;
    if let (Some(rows), Some((_, want))) = (rows, &case.logs) {
        return correlation_record(rec, rows, want);
    }
    rec.expected = Some(case.expected);
    let Some(v) = verdicts else {
        rec.outcome = Outcome::Skip;
        rec.message =
            Some("the test mocks Python functions (Mocks), which only Panther runs".into());
        return rec;
    };
    rec.engines = vec!["evaluator", "jq"];
    if v.raise_checked {
        rec.engines.push("raises");
    }
    rec.evaluator = Some(v.evaluator);
    rec.jq = Some(match v.jq() {
        Ok(b) => serde_json::Value::Bool(b),
        Err(e) => serde_json::Value::String(format!("error: {e}")),
    });
    rec.raises = v.raises;
    if v.passes(case.expected) {
        return rec;
    }
    rec.outcome = Outcome::Fail;
    rec.decided_by.clone_from(decided_by);
    rec.message = Some(if v.raises {
        format!(
            "expected {}, but rule() raises an exception on this event (Panther fails such a test)",
            case.expected
        )
    } else {
        format!(
            "expected {}, evaluator {}, jq {}",
            case.expected,
            v.evaluator,
            match v.jq() {
                Ok(b) => b.to_string(),
                Err(e) => format!("error ({e})"),
            }
        )
    });
    rec
}

/// Counts over records: passed, failed, skipped, not run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub not_run: usize,
}

impl Totals {
    pub fn of(records: &[Record]) -> Totals {
        let mut t = Totals::default();
        for r in records {
            match r.outcome {
                Outcome::Pass => t.passed += 1,
                Outcome::Fail => t.failed += 1,
                Outcome::Skip => t.skipped += 1,
                Outcome::NotRun => t.not_run += 1,
            }
        }
        t
    }
}

/// The records as one JSON document: `{"tests": [...], "passed", "failed", "skipped", "not_run"}`.
pub fn json(records: &[Record]) -> serde_json::Value {
    let t = Totals::of(records);
    serde_json::json!({
        "tests": records,
        "passed": t.passed,
        "failed": t.failed,
        "skipped": t.skipped,
        "not_run": t.not_run,
    })
}

/// The records as JUnit XML: a `<testsuite>` per tests file (in order), a `<testcase>` per test
/// with `classname` the rule file and `name` the test's name; a failure carries its message and
/// the deciding predicates, a skipped test `<skipped/>`, a test that did not run `<error>`.
pub fn junit(records: &[Record]) -> String {
    let t = Totals::of(records);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"rulecast test\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
        records.len(),
        t.failed,
        t.not_run,
        t.skipped
    ));
    let mut i = 0;
    while i < records.len() {
        let file = &records[i].tests_file;
        let n = records[i..]
            .iter()
            .take_while(|r| r.tests_file == *file)
            .count();
        let suite = &records[i..i + n];
        let st = Totals::of(suite);
        s.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
            xml(file),
            suite.len(),
            st.failed,
            st.not_run,
            st.skipped
        ));
        for r in suite {
            s.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(&r.rule_file),
                xml(&r.name)
            ));
            let message = r.message.as_deref().unwrap_or_default();
            match r.outcome {
                Outcome::Pass => s.push_str("/>\n"),
                Outcome::Skip => s.push_str(&format!(
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    xml(message)
                )),
                Outcome::Fail => {
                    let mut body = format!("rule: {}\n{message}", r.rule);
                    if !r.decided_by.is_empty() {
                        body.push_str("\ndecided by:");
                        for d in &r.decided_by {
                            body.push_str(&format!("\n  {d}"));
                        }
                    }
                    s.push_str(&format!(
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
                        xml(message),
                        if r.raises { "raises" } else { "mismatch" },
                        xml(&body)
                    ));
                }
                Outcome::NotRun => s.push_str(&format!(
                    ">\n      <error message=\"{}\" type=\"not-converted\"/>\n    </testcase>\n",
                    xml(message)
                )),
            }
        }
        s.push_str("  </testsuite>\n");
        i += n;
    }
    s.push_str("</testsuites>\n");
    s
}

/// Text for an XML attribute or element: the five special characters as entities, and the
/// characters XML 1.0 cannot hold at all (most C0 controls) written visibly (`\u{1b}`).
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c if crate::escape::is_hidden(c) => out.push_str(&crate::escape::visible_char(c)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes() {
        assert_eq!(
            xml("a<b & \"c\"\n\u{1b}"),
            "a&lt;b &amp; &quot;c&quot;&#10;\\u{1b}"
        );
    }
}
