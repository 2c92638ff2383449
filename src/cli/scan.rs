//! `rulecast scan`: every rule over local CloudTrail files in one pass ([`crate::scan`]),
//! printing NDJSON alerts or a table of matches per rule.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use super::project::ConfigArgs;
use super::report::load_and_report_failures;
use super::{printable, stderr_text, Status};
use crate::diagnostic::{Code, Diagnostic};
use crate::escape::visible;
use crate::scan::{log_files, scan, ScanRule, Scanner};
use crate::LoadedFile;

// The arguments of `rulecast scan`. (A plain comment: clap would make a doc comment help text.)
#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Rule files or directories.
    #[arg(default_value = "rules")]
    pub paths: Vec<PathBuf>,
    /// CloudTrail log files or directories (walked for .json, .jsonl, .ndjson and their .gz):
    /// the files CloudTrail writes to S3 ({"Records": [...]}), JSON arrays or JSON Lines,
    /// gzipped or not.
    #[arg(long, required = true, num_args = 1.., value_name = "FILES")]
    pub logs: Vec<PathBuf>,
    /// Print a table of matches per rule instead of the alerts.
    #[arg(long)]
    pub summary: bool,
    /// YAML file with values for `expand` placeholders [default: the configuration's, else a
    /// placeholders.yml at or above the rule paths].
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// Worker threads [default: the number of cores].
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
}

/// `rulecast scan`: load the rules, scan the log files, print an NDJSON alert per (event, rule)
/// match in file, record and rule order (or, with `--summary`, a table). Exit 1 when a rule
/// does not load or a log file or record cannot be read (the rest is scanned), 2 when an input
/// path cannot be read.
pub(super) fn scan_logs(
    args: &ScanArgs,
    config: &ConfigArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let Some((loaded, mut status)) =
        load_and_report_failures(config, &args.paths, &args.placeholders, err)?
    else {
        return Ok(Status::Error);
    };
    let rules = scannable_rules(&loaded, &mut status, err)?;
    let scanner = match Scanner::new(rules, true) {
        Ok(s) => s,
        Err(e) => {
            writeln!(err, "error: {}", visible(&e))?;
            return Ok(Status::Error);
        }
    };
    let (files, io_errors) = log_files(&args.logs);
    for d in &io_errors {
        writeln!(err, "{}", stderr_text(d))?;
        status = Status::Error;
    }
    let workers = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let progress = std::io::stderr().is_terminal() && files.len() > 1;
    let mut counts = vec![0u64; scanner.rules().len()];
    let (mut records, mut bytes, mut done, mut bad) = (0u64, 0u64, 0usize, 0usize);
    let mut write_error = None;
    scan(&scanner, &files, workers, !args.summary, &mut |r| {
        done += 1;
        records += r.records;
        bytes += r.bytes;
        for (c, n) in counts.iter_mut().zip(&r.counts) {
            *c += n;
        }
        if progress {
            let _ = write!(err, "\r\x1b[K");
        }
        if r.empty {
            let _ = writeln!(
                err,
                "{}: note: the file is empty: no records",
                printable(&r.path.display().to_string())
            );
        }
        if !r.problems.is_empty() {
            bad += 1;
        }
        for d in &r.problems {
            let _ = writeln!(err, "{}", stderr_text(d));
        }
        if write_error.is_none() {
            if let Err(e) = out.write_all(&r.alerts) {
                write_error = Some(e);
            }
        }
        if progress {
            let _ = write!(
                err,
                "scanning: {done}/{} files, {records} records, {} MB",
                files.len(),
                bytes / 1_000_000
            );
            let _ = err.flush();
        }
    });
    if progress {
        write!(err, "\r\x1b[K")?;
    }
    if let Some(e) = write_error {
        return Err(e);
    }
    if bad > 0 {
        status = status.max(Status::Failure);
    }
    let alerts: u64 = counts.iter().sum();
    if args.summary {
        writeln!(
            out,
            "{:>8}  {:<13}  {:<36}  title",
            "matches", "level", "id"
        )?;
        for (r, n) in scanner.rules().iter().zip(&counts) {
            let meta = &r.rule.meta;
            writeln!(
                out,
                "{n:>8}  {:<13}  {:<36}  {}",
                visible(meta.level.as_deref().unwrap_or("-")),
                visible(meta.id.as_deref().unwrap_or("-")),
                visible(&meta.title)
            )?;
        }
        writeln!(
            out,
            "{alerts} matches of {} rules in {records} records of {} files",
            scanner.rules().len(),
            files.len()
        )?;
    } else {
        writeln!(
            err,
            "note: {alerts} alerts from {} rule(s) in {records} records of {} file(s) ({bad} with problems)",
            scanner.rules().len(),
            files.len()
        )?;
    }
    Ok(status)
}

/// The rules `scan` runs: every loaded rule but correlations (counted in a note; their queries
/// count events over windows) and the base rules they do not `generate`; a rule whose logsource
/// is not CloudTrail is reported (exit 1) and left out.
fn scannable_rules<'r>(
    loaded: &'r [LoadedFile],
    status: &mut Status,
    err: &mut dyn Write,
) -> std::io::Result<Vec<ScanRule<'r>>> {
    let mut rules = Vec::new();
    let hidden = crate::correlation::not_generated(loaded);
    let mut correlations = 0;
    for (fi, lf) in loaded.iter().enumerate() {
        let path = lf.file.path.display().to_string();
        for (ri, rule) in lf.rules.iter().enumerate() {
            let Ok(rule) = rule else {
                continue;
            };
            // Correlations count events over time windows: their jq or Athena query does that.
            // The base rules they do not `generate` are not alerts of their own, as in `convert`.
            if rule.correlation.is_some() {
                correlations += 1;
                continue;
            }
            if hidden.contains(&(fi, ri)) {
                continue;
            }
            if !crate::check::logsource_ok(&rule.meta.logsource, &[]) {
                let d = Diagnostic::new(
                    Code::NotCloudTrail,
                    format!(
                        "logsource {} is not AWS CloudTrail; the rule is not scanned",
                        crate::check::logsource_text(&rule.meta.logsource)
                    ),
                )
                .with_span(rule.logsource_span)
                .in_file(&lf.file);
                writeln!(err, "{}", stderr_text(&d))?;
                *status = (*status).max(Status::Failure);
                continue;
            }
            rules.push(ScanRule {
                rule,
                path: path.clone(),
            });
        }
    }
    if correlations > 0 {
        writeln!(
            err,
            "note: {correlations} correlation rules are not scanned; run their jq or Athena query"
        )?;
    }
    Ok(rules)
}
