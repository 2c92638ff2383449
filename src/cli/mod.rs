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

/// Run a parsed command line, writing to the given streams. A failed write to `out` (a full
/// disk, a reader that went away) ends the run with an error naming standard output, status 2.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Status {
    let mut out = Output {
        inner: out,
        failed: false,
    };
    let result = match cli.command {
        Command::Targets => targets(&mut out),
        Command::Convert(args) => convert::convert(&args, &mut out, err),
        Command::Test(args) => test::test(&args, &mut out, err),
        Command::Explain(args) => report::explain(&args, &mut out, err),
        Command::Catalog(args) => report::catalog(&args, &mut out, err),
        Command::Completions { shell } => completions(shell, &mut out),
    };
    // Whatever is still buffered must reach its reader too.
    let result = result.and_then(|status| out.flush().map(|()| status));
    result.unwrap_or_else(|e| {
        let _ = if out.failed {
            writeln!(err, "error: cannot write to standard output: {e}")
        } else {
            writeln!(err, "error: {e}")
        };
        Status::Error
    })
}

/// The output stream of a command, remembering whether a write to it failed (so the error is
/// reported as one of standard output rather than of some file).
struct Output<'a> {
    inner: &'a mut dyn Write,
    failed: bool,
}

impl Write for Output<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).inspect_err(|_| self.failed = true)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().inspect_err(|_| self.failed = true)
    }
}

/// `rulecast completions`: the script is generated in memory (clap_complete panics when it
/// cannot write), then written out.
fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> std::io::Result<Status> {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "rulecast", &mut script);
    out.write_all(&script)?;
    Ok(Status::Success)
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

/// Read every input (files, directories, `-`) into loaded files, reporting unreadable ones. The
/// entries of directories skipped on purpose (see [`discover`]) are noted on `err` as they are
/// found.
fn load_inputs(
    paths: &[PathBuf],
    stdin_name: &str,
    opts: &LoadOptions,
    io_errors: &mut Vec<FileDiagnostic>,
    err: &mut dyn Write,
) -> std::io::Result<Vec<LoadedFile>> {
    let mut loaded = Vec::new();
    let (stdin, rest): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| p.as_os_str() == "-");
    let rest: Vec<PathBuf> = rest.into_iter().cloned().collect();
    let walk = discover::walk(&rest);
    for s in &walk.skipped {
        writeln!(
            err,
            "{}: note: skipped: {}",
            printable(&s.path.display().to_string()),
            printable(&s.reason)
        )?;
    }
    io_errors.extend(walk.errors);
    let files = walk.files;
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
    crate::correlation::finish(&mut loaded);
    Ok(loaded)
}

/// `s` with control characters escaped (`\n`, `\u{1b}`): a file name cannot break a line of
/// stderr or reach the terminal as a control sequence.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
