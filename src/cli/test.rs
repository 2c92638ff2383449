//! `rulecast test`: runs every rule file's tests through [`crate::ruletest::run`] and prints what
//! came of them: a `FAIL` line on stdout per test that does not pass, the reasons tests could not
//! run on stderr, then a summary line.

use std::io::Write;
use std::path::PathBuf;

use super::{load_inputs, load_options, stderr_text, Status};
use crate::escape::visible;
use crate::ruletest::run::{test_file, CaseResult, FileOutcome, SetupError};

// The arguments of `rulecast test`. (A plain comment: clap would make a doc comment help text.)
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Rule files or directories; rules without tests (a sidecar, or a Panther rule's `Tests:`)
    /// are skipped.
    #[arg(default_value = "rules")]
    pub paths: Vec<PathBuf>,
    /// YAML file with values for `expand` placeholders.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

/// `rulecast test`: run every rule file's tests; a `FAIL` line on stdout for each test that does
/// not pass, then a summary line. Exit status 1 when a test fails or a rule file does not
/// convert (with tests or without: a YAML error can hide a Panther rule's `Tests:`), 2 for
/// unreadable inputs.
pub(super) fn test(
    args: &TestArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let Some(opts) = load_options(&args.placeholders, err)? else {
        return Ok(Status::Error);
    };
    let mut io_errors = Vec::new();
    let loaded = load_inputs(&args.paths, "<stdin>", &opts, &mut io_errors, err)?;
    let (mut passed, mut failed, mut skipped, mut untested) = (0usize, 0usize, 0usize, 0usize);
    // Tests of rules that did not convert (the error is on stderr): not run, apart from the
    // tests that ran and disagreed.
    let (mut not_run, mut unconverted, mut uncounted) = (0usize, 0usize, 0usize);
    for lf in &loaded {
        match test_file(lf) {
            FileOutcome::Untested => untested += 1,
            FileOutcome::Unreadable(d) => {
                writeln!(err, "{}", stderr_text(&d))?;
                failed += 1;
            }
            FileOutcome::NotConverted { problems, cases } => {
                for problem in &problems {
                    match problem {
                        SetupError::Rule(d) => writeln!(err, "{}", stderr_text(d))?,
                        other => writeln!(
                            err,
                            "{}",
                            visible(&format!("{}: {other}", lf.file.path.display()))
                        )?,
                    }
                }
                unconverted += 1;
                match cases {
                    Some(n) => not_run += n,
                    None => uncounted += 1,
                }
            }
            FileOutcome::Ran {
                tests_path,
                results,
            } => {
                for CaseResult {
                    case,
                    verdicts,
                    rows,
                } in &results
                {
                    if let (Some(r), Some((_, want))) = (rows, &case.logs) {
                        if r.agree_with(want) {
                            passed += 1;
                            continue;
                        }
                        failed += 1;
                        let shown = |x: &Result<Vec<serde_json::Value>, String>| match x {
                            Ok(rows) => serde_json::Value::Array(rows.clone()).to_string(),
                            Err(e) => format!("error ({e})"),
                        };
                        let line = format!(
                            "FAIL {} :: {}: expected {}, evaluator {}, jq {}",
                            tests_path.display(),
                            case.name,
                            match want {
                                crate::ruletest::ExpectedRows::Any(b) => format!("some row: {b}"),
                                crate::ruletest::ExpectedRows::Count(n) => format!("{n} rows"),
                                crate::ruletest::ExpectedRows::Rows(r) =>
                                    serde_json::Value::Array(r.clone()).to_string(),
                            },
                            shown(&r.evaluator),
                            shown(&r.jq),
                        );
                        writeln!(out, "{}", visible(&line))?;
                        continue;
                    }
                    let Some(v) = verdicts else {
                        skipped += 1;
                        continue;
                    };
                    if v.agree_with(case.expected) {
                        passed += 1;
                        continue;
                    }
                    failed += 1;
                    // The path, the test's name and a jq error can hold rule text: one line,
                    // nothing hidden.
                    let line = format!(
                        "FAIL {} :: {}: expected {}, evaluator {}, jq {}",
                        tests_path.display(),
                        case.name,
                        case.expected,
                        v.evaluator,
                        match v.jq() {
                            Ok(b) => b.to_string(),
                            Err(e) => format!("error ({e})"),
                        }
                    );
                    writeln!(out, "{}", visible(&line))?;
                }
            }
        }
    }
    for d in &io_errors {
        writeln!(err, "{}", stderr_text(d))?;
    }
    let uncounted_note = if uncounted > 0 {
        format!("; the tests of {uncounted} could not be read")
    } else {
        String::new()
    };
    let not_run_note = if unconverted > 0 {
        format!(", {not_run} not run ({unconverted} rule files did not convert{uncounted_note})")
    } else {
        String::new()
    };
    writeln!(
        out,
        "{passed} passed, {failed} failed, {skipped} skipped{not_run_note} ({untested} rule files without tests)"
    )?;
    Ok(if !io_errors.is_empty() {
        Status::Error
    } else if failed > 0 || unconverted > 0 {
        Status::Failure
    } else {
        Status::Success
    })
}
