//! The command line: `convert`, `test`, `targets`, `explain`, `catalog`, `completions`. The only
//! module that prints.
//!
//! This file holds the parsed command line ([`Cli`], [`Command`]), the dispatch ([`run`]), the
//! exit [`Status`] and what every command shares: reading the inputs and showing diagnostics.
//! Each command lives in its own file: `convert` (queries, `-o` and `--check`), `test` (the
//! rule tests' report), `report` (`explain` and `catalog`).

mod convert;
mod report;
mod test;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::backend::Target;
use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};
use crate::{discover, load_placeholders, load_source, source_from_bytes, LoadOptions, LoadedFile};

pub use convert::{ConvertArgs, Format, Targets};
pub use report::{CatalogArgs, CatalogFormat, ExplainArgs, ReportFormat};
pub use test::TestArgs;

#[derive(Parser, Debug)]
#[command(
    name = "rulecast",
    version,
    about = "Transpile Sigma detection rules into queries over AWS CloudTrail logs"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Convert rules into queries for one target.
    Convert(Box<ConvertArgs>),
    /// Run the tests that ship with rules (`x.tests.yml` beside `x.yml`) through the reference
    /// evaluator and the jq target.
    Test(TestArgs),
    /// List the targets.
    Targets,
    /// Show each rule as the catalog sees it: stages and predicates, exclusions, indicators,
    /// output fields, MITRE tags.
    Explain(ExplainArgs),
    /// Build a catalog over rule trees: indicators with corpus counts, rules per action, rules
    /// without an action filter, totals by level and tactic.
    Catalog(CatalogArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
}

/// How a run ended, as ruff does it: 0 all good, 1 some rules failed, 2 usage or I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Success,
    Failure,
    Error,
}

impl From<Status> for ExitCode {
    /// 0, 1 or 2.
    fn from(s: Status) -> ExitCode {
        ExitCode::from(match s {
            Status::Success => 0,
            Status::Failure => 1,
            Status::Error => 2,
        })
    }
}

/// Run a parsed command line, writing to the given streams.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Status {
    let result = match cli.command {
        Command::Targets => targets(out),
        Command::Convert(args) => convert::convert(&args, out, err),
        Command::Test(args) => test::test(&args, out, err),
        Command::Explain(args) => report::explain(&args, out, err),
        Command::Catalog(args) => report::catalog(&args, out, err),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "rulecast", out);
            Ok(Status::Success)
        }
    };
    result.unwrap_or_else(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            // The reader went away (`| head`): not an error of ours.
            return Status::Success;
        }
        let _ = writeln!(err, "error: {e}");
        Status::Error
    })
}

/// A diagnostic as stderr shows it: the first line only when stderr is not a terminal; on a
/// terminal a source snippet with a caret follows, colored unless `NO_COLOR` is set.
fn stderr_text(d: &FileDiagnostic) -> String {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        d.render(color)
    } else {
        d.to_string()
    }
}

/// `rulecast targets`: every target with its description, built or not.
fn targets(out: &mut dyn Write) -> std::io::Result<Status> {
    for t in Target::ALL {
        writeln!(out, "{:<11} {}", t.name(), t.description())?;
    }
    Ok(Status::Success)
}

/// The load options of a command: its `--placeholders` file read, if one is given. None (the
/// diagnostic printed) when that file cannot be read.
fn load_options(
    path: &Option<PathBuf>,
    err: &mut dyn Write,
) -> std::io::Result<Option<LoadOptions>> {
    let mut opts = LoadOptions::default();
    if let Some(p) = path {
        match load_placeholders(p) {
            Ok(ph) => opts.placeholders = ph,
            Err(d) => {
                writeln!(err, "{}", stderr_text(&d))?;
                return Ok(None);
            }
        }
    }
    Ok(Some(opts))
}

/// Read every input (files, directories, `-`) into loaded files, reporting unreadable ones.
fn load_inputs(
    paths: &[PathBuf],
    stdin_name: &str,
    opts: &LoadOptions,
    io_errors: &mut Vec<FileDiagnostic>,
) -> Vec<LoadedFile> {
    let mut loaded = Vec::new();
    let (stdin, rest): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| p.as_os_str() == "-");
    let rest: Vec<PathBuf> = rest.into_iter().cloned().collect();
    let (files, errors) = discover::rule_files(&rest);
    io_errors.extend(errors);
    if !stdin.is_empty() {
        let mut bytes = Vec::new();
        match crate::read_to_end_limited(std::io::stdin(), &mut bytes) {
            Ok(_) => match source_from_bytes(stdin_name, bytes) {
                Ok(f) => loaded.push(load_source(f, opts)),
                Err(d) => loaded.push(LoadedFile {
                    file: crate::source::SourceFile::new(stdin_name, ""),
                    rules: vec![Err(
                        Diagnostic::new(d.code, d.message).with_line_col(d.line, d.column)
                    )],
                }),
            },
            Err(e) => io_errors.push(
                Diagnostic::new(Code::Io, format!("cannot read standard input: {e}"))
                    .at_path(stdin_name),
            ),
        }
    }
    for f in files {
        match crate::read_limited(&f) {
            Ok(bytes) => match source_from_bytes(&f, bytes) {
                Ok(src) => loaded.push(load_source(src, opts)),
                Err(d) => loaded.push(LoadedFile {
                    file: crate::source::SourceFile::new(&f, ""),
                    rules: vec![Err(
                        Diagnostic::new(d.code, d.message).with_line_col(d.line, d.column)
                    )],
                }),
            },
            Err(e) => io_errors
                .push(Diagnostic::new(Code::Io, format!("cannot read file: {e}")).at_path(&f)),
        }
    }
    loaded
}
