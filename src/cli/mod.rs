//! The command line: `convert`, `scan`, `test`, `check`, `targets`, `explain`, `catalog`, `init`,
//! `schema`, `completions`. The only module that prints.
//!
//! This file holds the parsed command line ([`Cli`], [`Command`]), the dispatch ([`run`]), the
//! exit [`Status`] and what every command shares: reading the inputs and showing diagnostics.
//! Each command lives in its own file: `convert` (queries, `-o` and `--check`), `test` (the
//! rule tests' report), `check` (findings, and the warnings of `convert` and `test`), `report`
//! (`explain` and `catalog`).

mod bundle;
mod check;
mod convert;
mod init;
mod outdir;
mod project;
mod report;
mod scan;
mod test;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::backend::Target;
use crate::diagnostic::FileDiagnostic;

pub use check::{CheckArgs, CheckFormat};
pub use convert::{ConvertArgs, Format, Targets};
pub use init::{InitArgs, SchemaArgs};
pub use project::ConfigArgs;
pub use report::{CatalogArgs, CatalogFormat, ExplainArgs, ReportFormat};
pub use scan::ScanArgs;
pub use test::TestArgs;

#[derive(Parser, Debug)]
#[command(
    name = "rulecast",
    version,
    about = "Transpile Sigma and Panther detection rules into queries over AWS CloudTrail logs (jq, Athena SQL, CloudWatch Logs Insights)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Convert rules into queries for one or more targets (-t jq,athena,cloudwatch or all).
    Convert(Box<ConvertArgs>),
    /// Run every rule over local CloudTrail log files in one pass (the reference evaluator on
    /// every core): NDJSON alerts, or a table of matches per rule with --summary.
    Scan(ScanArgs),
    /// Run the tests that ship with rules (a Sigma rule's `x.tests.yml` sidecar, a Panther rule's
    /// `Tests:`) through the reference evaluator and the jq target.
    Test(TestArgs),
    /// Find the mistakes that change what a rule means: unused detections, a logsource that is
    /// not CloudTrail, duplicate ids, bad tags and dates, unknown fields and Panther keys, constant
    /// conditions; and every rule that does not load.
    Check(CheckArgs),
    /// List the targets.
    Targets,
    /// Show each rule as the catalog sees it: stages and predicates, exclusions, indicators,
    /// output fields, MITRE tags.
    Explain(ExplainArgs),
    /// Build a catalog over rule trees: indicators with corpus counts, rules per action, rules
    /// without an action filter, totals by level and tactic.
    Catalog(CatalogArgs),
    /// Write a commented starter rulecast.toml (the project configuration).
    Init(InitArgs),
    /// Print a built-in Athena table schema: its DDL column list (and field map), a starting
    /// point for `--schema my_table.ddl`.
    Schema(SchemaArgs),
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
        Command::Convert(args) => convert::convert(&args, &cli.config, &mut out, err),
        Command::Scan(args) => scan::scan_logs(&args, &cli.config, &mut out, err),
        Command::Test(args) => test::test(&args, &cli.config, &mut out, err),
        Command::Explain(args) => report::explain(&args, &cli.config, &mut out, err),
        Command::Catalog(args) => report::catalog(&args, &cli.config, &mut out, err),
        Command::Init(args) => init::init(&args, &mut out, err),
        Command::Schema(args) => init::schema(&args, &mut out, err),
        Command::Check(args) => check::check(&args, &cli.config, &mut out, err),
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
