//! `rulecast check`: every rule that does not load and every lint finding of
//! [`crate::check`], as text, JSON or SARIF 2.1.0; and the warnings `convert` and `test` print
//! from the same lints ([`print_warnings`]).

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::project::{ConfigArgs, Project};
use super::{stderr_text, Status};
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
    /// YAML file with values for `expand` placeholders [default: the configuration's, else a
    /// placeholders.yml at or above the rule paths; a missing value reads as its `%name%` text].
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

/// Read the mapping `--mapping` (or the configuration) names; Err(()) (the diagnostic printed)
/// when it cannot be read.
fn read_mapping(
    path: Option<&std::path::Path>,
    err: &mut dyn Write,
) -> std::io::Result<Result<Vec<Mapping>, ()>> {
    match path {
        Some(p) => match Mapping::load(p) {
            Ok(m) => Ok(Ok(vec![m])),
            Err(d) => {
                writeln!(err, "{}", stderr_text(&d))?;
                Ok(Err(()))
            }
        },
        None => Ok(Ok(Vec::new())),
    }
}

/// `rulecast check`. Exit 1 when there is an error finding (or a warning, with
/// `--deny-warnings`), 2 for unreadable inputs, a mapping or placeholders that cannot be read.
pub(super) fn check(
    args: &CheckArgs,
    config: &ConfigArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let Some((project, mut opts)) =
        Project::open_with_options(config, &args.paths, args.placeholders.as_deref(), err)?
    else {
        return Ok(Status::Error);
    };
    opts.literal_placeholders = true;
    let mapping_path = args
        .mapping
        .clone()
        .or_else(|| project.config.as_ref().and_then(|c| c.mapping.clone()));
    let Ok(mappings) = read_mapping(mapping_path.as_deref(), err)? else {
        return Ok(Status::Error);
    };
    let mut io_errors = Vec::new();
    let inputs = project.load(&args.paths, "<stdin>", &opts, false, &mut io_errors, err)?;
    if let Some(s) = inputs.left_out.summary() {
        writeln!(err, "note: {s}")?;
    }
    let loaded = inputs.files;
    let mut findings = check::load_errors(&loaded);
    findings.extend(check::lint(
        &loaded,
        check::Options {
            mappings: &mappings,
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
/// `skip_logsource` the logsource lint is left out (`convert` refuses such a rule with E314
/// instead). The number printed.
pub(super) fn print_warnings(
    files: &[LoadedFile],
    mappings: &[Mapping],
    skip_logsource: bool,
    err: &mut dyn Write,
) -> std::io::Result<usize> {
    let findings: Vec<Finding> = check::lint(files, check::Options { mappings })
        .into_iter()
        .filter(|f| !(skip_logsource && f.lint() == Some(check::Lint::Logsource)))
        .map(Finding::as_warning)
        .collect();
    for f in &findings {
        writeln!(err, "{f} (fix: {})", crate::escape::visible(&f.fix))?;
    }
    Ok(findings.len())
}
