//! `rulecast test`: runs every rule file's tests through [`crate::ruletest::run`] and prints what
//! came of them: a `FAIL` line on stdout per test that does not pass (with `-v`, a line per
//! test), the reasons tests could not run on stderr, then a summary line; or, with `-f json` or
//! `-f junit`, the report of [`crate::ruletest::report`] on stdout.

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::project::{read_rules, ConfigArgs};
use super::{stderr_text, Status};
use crate::escape::visible;
use crate::ruletest::report::{self, Outcome, Record};
use crate::ruletest::run::{test_file, FileOutcome, SetupError};

// The arguments of `rulecast test`. (A plain comment: clap would make a doc comment help text.)
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Rule files or directories; rules without tests (a sidecar, or a Panther rule's `Tests:`)
    /// are skipped.
    #[arg(default_value = "rules")]
    pub paths: Vec<PathBuf>,
    /// YAML file with values for `expand` placeholders [default: the configuration's, else a
    /// placeholders.yml at or above the rule paths].
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// Exit 1 when `rulecast check` would warn about a rule (its findings are printed on stderr
    /// as warnings either way).
    #[arg(long)]
    pub deny_warnings: bool,
    /// List every test (rule file, test name, pass or fail, the engines that ran).
    #[arg(short, long)]
    pub verbose: bool,
    /// Output format: text, one JSON document, or JUnit XML (one testcase per test).
    #[arg(short, long, value_enum, default_value_t = TestFormat::Text)]
    pub format: TestFormat,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestFormat {
    Text,
    Json,
    Junit,
}

/// `rulecast test`: run every rule file's tests; a `FAIL` line on stdout for each test that does
/// not pass, then a summary line. Exit status 1 when a test fails or a rule file does not
/// convert (with tests or without: a YAML error can hide a Panther rule's `Tests:`), 2 for
/// unreadable inputs.
pub(super) fn test(
    args: &TestArgs,
    config: &ConfigArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let mut io_errors = Vec::new();
    let Some((_, inputs)) = read_rules(
        config,
        &args.paths,
        args.placeholders.as_deref(),
        true,
        &mut io_errors,
        err,
    )?
    else {
        return Ok(Status::Error);
    };
    let loaded = inputs.files;
    let warnings = super::check::print_warnings(&loaded, &[], false, err)?;
    let (mut passed, mut failed, mut skipped, mut untested) = (0usize, 0usize, 0usize, 0usize);
    // Tests of rules that did not convert (the error is on stderr): not run, apart from the
    // tests that ran and disagreed.
    let (mut not_run, mut unconverted, mut uncounted) = (0usize, 0usize, 0usize);
    let text = args.format == TestFormat::Text;
    let mut all: Vec<Record> = Vec::new();
    for lf in &loaded {
        let outcome = test_file(lf);
        match &outcome {
            FileOutcome::Untested => untested += 1,
            FileOutcome::Unreadable(d) => writeln!(err, "{}", stderr_text(d))?,
            FileOutcome::NotConverted { problems, cases } => {
                for problem in problems {
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
            FileOutcome::Ran { .. } => {}
        }
        let records = report::records(lf, &outcome);
        for r in &records {
            match r.outcome {
                Outcome::Pass => passed += 1,
                Outcome::Fail => failed += 1,
                Outcome::Skip => skipped += 1,
                Outcome::NotRun => {}
            }
            if text {
                print_record(r, args.verbose, out)?;
            }
        }
        all.extend(records);
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
    let left_out = inputs
        .left_out
        .summary()
        .map(|s| format!("; {s}"))
        .unwrap_or_default();
    match args.format {
        TestFormat::Text => writeln!(
            out,
            "{passed} passed, {failed} failed, {skipped} skipped{not_run_note} ({untested} rule files without tests{left_out})"
        )?,
        TestFormat::Json => writeln!(out, "{:#}", report::json(&all))?,
        TestFormat::Junit => write!(out, "{}", report::junit(&all))?,
    }
    Ok(if !io_errors.is_empty() {
        Status::Error
    } else if failed > 0 || unconverted > 0 || (args.deny_warnings && warnings > 0) {
        Status::Failure
    } else {
        Status::Success
    })
}

/// One record as text: a `FAIL` line (with the predicates that decided it) for a failure; with
/// `verbose`, a `PASS`/`SKIP`/`NOT RUN` line for the others too. Rule text is written visibly.
fn print_record(r: &Record, verbose: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let engines = if r.engines.is_empty() {
        String::new()
    } else {
        format!(" [{}]", r.engines.join(", "))
    };
    let line = match r.outcome {
        // A file whose tests could not be read: its diagnostic is on stderr already.
        Outcome::Fail if r.expected.is_none() && !verbose => return Ok(()),
        Outcome::Fail => {
            let mut line = format!(
                "FAIL {} :: {}: {}",
                r.tests_file,
                r.name,
                r.message.as_deref().unwrap_or_default()
            );
            if !r.decided_by.is_empty() {
                line.push_str(&format!("; decided by: {}", r.decided_by.join("; ")));
            }
            if verbose {
                line.push_str(&engines);
            }
            line
        }
        _ if !verbose => return Ok(()),
        Outcome::Pass => format!("PASS {} :: {}{engines}", r.tests_file, r.name),
        Outcome::Skip => format!("SKIP {} :: {} (Mocks)", r.tests_file, r.name),
        Outcome::NotRun => format!(
            "NOT RUN {}: {}",
            r.rule_file,
            r.message.as_deref().unwrap_or_default()
        ),
    };
    writeln!(out, "{}", visible(&line))
}
