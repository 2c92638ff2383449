//! `scan`: the reference evaluator ([`crate::eval`]) run natively over local CloudTrail files,
//! every rule in one pass.
//!
//! [`read`] turns a file into records, [`index`] narrows the rules an event is tested against,
//! and [`scan`] spreads the files over the machine's cores (one file per worker at a time, so
//! memory is bounded by the largest file times the workers) and hands each file's result back in
//! file order: the alerts come out sorted by file, record and rule, the same bytes on every run.

pub mod index;
pub mod read;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use serde_json::Value;

use crate::diagnostic::FileDiagnostic;
use crate::eval::{Evaluator, EventCx};
use crate::rule::Rule;

pub use read::{log_files, Position, Records};

/// The stack of each worker thread: the 8 MiB a main thread gets.
pub const WORKER_STACK: usize = 8 * 1024 * 1024;

/// A rule of the run, with where it came from (for the alert's `path`).
pub struct ScanRule<'r> {
    pub rule: &'r Rule,
    pub path: String,
}

/// The rules of a run, compiled and indexed.
pub struct Scanner<'r> {
    rules: Vec<ScanRule<'r>>,
    evaluators: Vec<Evaluator<'r>>,
    index: index::Index,
}

impl<'r> Scanner<'r> {
    /// Compile every rule; with `indexed` false each event is tested against every rule. A rule
    /// whose regex does not compile (the front end should have refused it) is an error.
    pub fn new(rules: Vec<ScanRule<'r>>, indexed: bool) -> Result<Scanner<'r>, String> {
        let mut evaluators = Vec::with_capacity(rules.len());
        for r in &rules {
            if r.rule.correlation.is_some() {
                return Err(format!(
                    "{}: rule '{}' is a correlation: scan evaluates single-event rules",
                    r.path, r.rule.meta.title
                ));
            }
            evaluators.push(
                Evaluator::new(&r.rule.condition)
                    .map_err(|e| format!("{}: rule '{}': {e}", r.path, r.rule.meta.title))?,
            );
        }
        let index = index::Index::new(rules.iter().map(|r| &r.rule.condition), indexed);
        Ok(Scanner {
            rules,
            evaluators,
            index,
        })
    }

    pub fn rules(&self) -> &[ScanRule<'r>] {
        &self.rules
    }

    /// How many rules the index narrows to events of certain names or sources.
    pub fn indexed(&self) -> usize {
        self.index.indexed()
    }

    /// The rules (by number, in order) `event` matches, into `out`; `scratch` is reused between
    /// calls.
    pub fn matches(&self, event: &Value, scratch: &mut Vec<usize>, out: &mut Vec<usize>) {
        out.clear();
        self.index.candidates(event, scratch);
        // One context for every candidate rule: the keyword rules share one walk of the event.
        let cx = EventCx::new(event);
        out.extend(
            scratch
                .iter()
                .copied()
                .filter(|&i| self.evaluators[i].matches_in(&cx)),
        );
    }

    /// The alert line of `event` matching rule `i`:
    /// `{"rule": {"id", "title", "level", "path"}, "event": {...}}` and a newline.
    pub fn alert_line(&self, i: usize, event: &Value, buf: &mut Vec<u8>) {
        let r = &self.rules[i];
        let line = AlertLine {
            rule: AlertRule {
                id: r.rule.meta.id.as_deref(),
                title: &r.rule.meta.title,
                level: r.rule.meta.level.as_deref(),
                path: &r.path,
            },
            event,
        };
        // Serializing a Value into a Vec cannot fail.
        if serde_json::to_writer(&mut *buf, &line).is_ok() {
            buf.push(b'\n');
        }
    }
}

#[derive(serde::Serialize)]
struct AlertLine<'a> {
    rule: AlertRule<'a>,
    event: &'a Value,
}

#[derive(serde::Serialize)]
struct AlertRule<'a> {
    id: Option<&'a str>,
    title: &'a str,
    level: Option<&'a str>,
    path: &'a str,
}

/// What scanning one file gave.
#[derive(Debug, Default)]
pub struct FileResult {
    pub path: PathBuf,
    /// The alert lines, in record and rule order (empty when not asked for).
    pub alerts: Vec<u8>,
    /// Matches per rule.
    pub counts: Vec<u64>,
    pub records: u64,
    pub bytes: u64,
    pub empty: bool,
    pub problems: Vec<FileDiagnostic>,
}

/// Scan one file.
pub fn scan_file(scanner: &Scanner<'_>, path: &Path, alerts: bool) -> FileResult {
    let records = read::read(path);
    let mut result = FileResult {
        path: path.to_path_buf(),
        counts: vec![0; scanner.rules.len()],
        records: records.events.len() as u64,
        bytes: records.bytes,
        empty: records.empty,
        problems: records.problems,
        ..FileResult::default()
    };
    let (mut scratch, mut hits) = (Vec::new(), Vec::new());
    for (_, event) in &records.events {
        scanner.matches(event, &mut scratch, &mut hits);
        for &i in &hits {
            result.counts[i] += 1;
            if alerts {
                scanner.alert_line(i, event, &mut result.alerts);
            }
        }
    }
    result
}

/// Scan `files` on `workers` threads; `each` receives every file's result in file order (while
/// later files are still being scanned).
pub fn scan(
    scanner: &Scanner<'_>,
    files: &[PathBuf],
    workers: usize,
    alerts: bool,
    each: &mut dyn FnMut(FileResult),
) {
    let next = AtomicUsize::new(0);
    let workers = workers.clamp(1, files.len().max(1));
    std::thread::scope(|s| {
        // Results wait in `pending` until every earlier file's result is out: they hold alert
        // lines and counts, not the files' records.
        let (tx, rx) = mpsc::channel::<(usize, FileResult)>();
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            let work = move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                if tx.send((i, scan_file(scanner, path, alerts))).is_err() {
                    break;
                }
            };
            // The main thread's stack size: evaluating a deep rule recurses as on the main thread.
            let spawned = std::thread::Builder::new()
                .stack_size(WORKER_STACK)
                .spawn_scoped(s, work.clone());
            if spawned.is_err() {
                // No thread to be had: this thread scans what the others leave.
                work();
                break;
            }
        }
        drop(tx);
        // Results arrive in any order; hand them on in file order.
        let mut pending = std::collections::BTreeMap::new();
        let mut due = 0usize;
        for (i, r) in rx {
            pending.insert(i, r);
            while let Some(r) = pending.remove(&due) {
                each(r);
                due += 1;
            }
        }
    });
}
