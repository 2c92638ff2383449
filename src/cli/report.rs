//! `rulecast explain` and `rulecast catalog`: their arguments, loading the rules, and where the
//! report goes. The reports themselves are built in [`crate::report`].

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;

use super::project::{read_rules, ConfigArgs};
use super::{stderr_text, Status};
use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};
use crate::report;
use crate::rule::Rule;
use crate::LoadedFile;

// The arguments of `rulecast explain` and `rulecast catalog`, and their output formats. (Plain
// comments: clap would make doc comments help text.)
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// Rule files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(short, long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// YAML file with values for `expand` placeholders [default: the configuration's, else a
    /// placeholders.yml at or above the rule paths].
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct CatalogArgs {
    /// Rule directories (or files).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(short, long, value_enum, default_value_t = CatalogFormat::Markdown)]
    pub format: CatalogFormat,
    /// Write the catalog to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// YAML file with values for `expand` placeholders [default: the configuration's, else a
    /// placeholders.yml at or above the rule paths].
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogFormat {
    Markdown,
    Json,
}

/// Load every rule of the inputs and print every failure (unreadable inputs, rules that do not
/// load); the loaded files and the status those failures give. None when the placeholders file
/// cannot be read (its diagnostic printed).
pub(super) fn load_and_report_failures(
    config: &ConfigArgs,
    paths: &[PathBuf],
    placeholders_file: &Option<PathBuf>,
    err: &mut dyn Write,
) -> std::io::Result<Option<(Vec<LoadedFile>, Status)>> {
    let mut io_errors = Vec::new();
    let Some((_, inputs)) = read_rules(
        config,
        paths,
        placeholders_file.as_deref(),
        false,
        &mut io_errors,
        err,
    )?
    else {
        return Ok(None);
    };
    if let Some(s) = inputs.left_out.summary() {
        writeln!(err, "note: {s}")?;
    }
    let loaded = inputs.files;
    let mut status = Status::Success;
    let mut failures: Vec<FileDiagnostic> = loaded
        .iter()
        .flat_map(|lf| {
            lf.rules
                .iter()
                .filter_map(|r| r.as_ref().err().map(|d| d.clone().in_file(&lf.file)))
        })
        .collect();
    failures.sort();
    for d in io_errors.iter().chain(&failures) {
        writeln!(err, "{}", stderr_text(d))?;
    }
    if !failures.is_empty() {
        status = Status::Failure;
    }
    if !io_errors.is_empty() {
        status = Status::Error;
    }
    Ok(Some((loaded, status)))
}

/// `rulecast explain`: every rule that loads, as text (blank line between rules), JSON lines or
/// Markdown.
pub(super) fn explain(
    args: &ExplainArgs,
    config: &ConfigArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let Some((loaded, status)) =
        load_and_report_failures(config, &args.paths, &args.placeholders, err)?
    else {
        return Ok(Status::Error);
    };
    let mut first = true;
    for lf in &loaded {
        let path = lf.file.path.display().to_string();
        for rule in lf.rules.iter().flatten() {
            let e = report::explain::explain(rule, &path);
            match args.format {
                ReportFormat::Json => {
                    writeln!(out, "{}", serde_json::to_string(&e).unwrap_or_default())?
                }
                ReportFormat::Text | ReportFormat::Markdown => {
                    if !first {
                        writeln!(out)?;
                    }
                    let render = if args.format == ReportFormat::Text {
                        report::explain::render_text
                    } else {
                        report::explain::render_markdown
                    };
                    write!(out, "{}", render(&e))?;
                }
            }
            first = false;
        }
    }
    Ok(status)
}

/// `rulecast catalog`: one catalog over every rule that loads, to stdout or `--output`.
pub(super) fn catalog(
    args: &CatalogArgs,
    config: &ConfigArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let Some((loaded, status)) =
        load_and_report_failures(config, &args.paths, &args.placeholders, err)?
    else {
        return Ok(Status::Error);
    };
    let rules: Vec<(String, &Rule)> = loaded
        .iter()
        .flat_map(|lf| {
            let path = lf.file.path.display().to_string();
            lf.rules.iter().flatten().map(move |r| (path.clone(), r))
        })
        .collect();
    let catalog = report::catalog::build(&rules);
    let text = match args.format {
        CatalogFormat::Markdown => report::catalog::render_markdown(&catalog),
        CatalogFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&catalog).unwrap_or_default()
        ),
    };
    match &args.output {
        Some(p) => {
            if let Err(e) = std::fs::write(p, &text) {
                writeln!(
                    err,
                    "{}",
                    Diagnostic::new(Code::Io, format!("cannot write: {e}")).at_path(p)
                )?;
                return Ok(Status::Error);
            }
        }
        None => write!(out, "{text}")?,
    }
    Ok(status)
}
