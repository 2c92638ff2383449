//! `rulecast check`: every rule that does not load and every lint finding of
//! [`crate::check`], as text, JSON or SARIF 2.1.0; and the warnings `convert` and `test` print
//! from the same lints ([`print_warnings`]).

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::{load_inputs, load_options, stderr_text, Status};
use crate::check::{self, Finding, Severity};
use crate::mapping::Mapping;
use crate::LoadedFile;

// The arguments of `rulecast check`. (A plain comment: clap would make a doc comment help text.)
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Rule files or directories.
    #[arg(default_value = "rules")]
    pub paths: Vec<PathBuf>,
    /// Output format: one line per finding (text), one JSON document (json), or SARIF 2.1.0.
    #[arg(short, long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// A field-mapping file: a logsource its `logsources:` maps is not a finding.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// YAML file with values for `expand` placeholders.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckFormat {
    Text,
    Json,
    Sarif,
}

/// Read `--mapping` if given; Err(()) (the diagnostic printed) when it cannot be read.
pub(super) fn read_mapping(
    path: &Option<PathBuf>,
    err: &mut dyn Write,
) -> std::io::Result<Result<Option<Mapping>, ()>> {
    match path {
        Some(p) => match Mapping::load(p) {
            Ok(m) => Ok(Ok(Some(m))),
            Err(d) => {
                writeln!(err, "{}", stderr_text(&d))?;
                Ok(Err(()))
            }
        },
        None => Ok(Ok(None)),
    }
}

/// `rulecast check`. Exit 1 when there is an error finding (or a warning, with
/// `--deny-warnings`), 2 for unreadable inputs, a mapping or placeholders that cannot be read.
pub(super) fn check(
    args: &CheckArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let Some(mut opts) = load_options(&args.placeholders, err)? else {
        return Ok(Status::Error);
    };
    opts.literal_placeholders = true;
    let Ok(mapping) = read_mapping(&args.mapping, err)? else {
        return Ok(Status::Error);
    };
    let mut io_errors = Vec::new();
    let loaded = load_inputs(&args.paths, "<stdin>", &opts, &mut io_errors, err)?;
    let mut findings = check::load_errors(&loaded);
    findings.extend(check::lint(
        &loaded,
        check::Options {
            mapping: mapping.as_ref(),
        },
    ));
    findings.sort();
    for d in &io_errors {
        writeln!(err, "{}", stderr_text(d))?;
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    match args.format {
        CheckFormat::Text => {
            for f in &findings {
                writeln!(out, "{f}")?;
                writeln!(out, "  fix: {}", crate::escape::visible(&f.fix))?;
            }
            writeln!(
                out,
                "{errors} {}, {warnings} {} ({} rule files checked)",
                plural(errors, "error"),
                plural(warnings, "warning"),
                loaded.len()
            )?;
        }
        CheckFormat::Json => {
            let doc = serde_json::json!({
                "findings": findings,
                "errors": errors,
                "warnings": warnings,
                "files": loaded.len(),
            });
            writeln!(out, "{doc:#}")?;
        }
        CheckFormat::Sarif => writeln!(out, "{:#}", check::sarif::log(&findings))?,
    }
    Ok(if !io_errors.is_empty() {
        Status::Error
    } else if errors > 0 || (args.deny_warnings && warnings > 0) {
        Status::Failure
    } else {
        Status::Success
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

/// The lint findings of `files` as warnings on `err` (what `convert` and `test` show). With
/// `skip_logsource` the logsource lint is left out (`convert` refuses such a rule with E311
/// instead). The number printed.
pub(super) fn print_warnings(
    files: &[LoadedFile],
    mapping: Option<&Mapping>,
    skip_logsource: bool,
    err: &mut dyn Write,
) -> std::io::Result<usize> {
    let findings: Vec<Finding> = check::lint(files, check::Options { mapping })
        .into_iter()
        .filter(|f| !(skip_logsource && f.lint() == Some(check::Lint::Logsource)))
        .map(Finding::as_warning)
        .collect();
    for f in &findings {
        writeln!(err, "{f} (fix: {})", crate::escape::visible(&f.fix))?;
    }
    Ok(findings.len())
}
