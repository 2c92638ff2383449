//! Reading CloudTrail log files for `scan`: which files a path names, and the records of one file.
//!
//! A file is read whole (decompressed when it starts with the gzip magic bytes), then parsed as
//! one of the shapes CloudTrail records come in: the files CloudTrail writes to S3
//! (`{"Records": [...]}`), a JSON array of records, one record, or JSON Lines (one record per
//! line). Every problem is reported with the file and its line (JSON Lines, syntax errors) or
//! record number, and never stops the rest of the file or of the run.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};

/// The largest log file `scan` reads, after decompression: 1 GiB. CloudTrail writes files of a
/// few MB; the bound keeps a gzip bomb from exhausting memory.
pub const MAX_LOG_FILE: u64 = 1024 * 1024 * 1024;

/// Problems reported per file before the rest are only counted.
const MAX_PROBLEMS_PER_FILE: usize = 10;

/// Where a record sits in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based record number in the file.
    pub record: usize,
    /// 1-based line, for JSON Lines (the line the record is on).
    pub line: Option<usize>,
}

/// The records of one file, and what was wrong with it.
#[derive(Debug, Default)]
pub struct Records {
    pub events: Vec<(Position, Value)>,
    pub problems: Vec<FileDiagnostic>,
    /// Bytes read (after decompression).
    pub bytes: u64,
    /// True when the file holds no record at all (empty, or only whitespace).
    pub empty: bool,
}

/// The log files `paths` name, sorted: a file as it is (whatever its name), a directory walked
/// recursively for `.json`, `.jsonl`, `.ndjson` and their `.gz` forms. Symbolic links inside a
/// directory are not followed (a link could lead out of the tree). Unreadable paths are errors.
pub fn log_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<FileDiagnostic>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, &mut files, &mut errors),
            Ok(_) => files.push(p.clone()),
            Err(e) => errors
                .push(Diagnostic::new(Code::Io, format!("cannot read log path: {e}")).at_path(p)),
        }
    }
    files.sort();
    files.dedup();
    (files, errors)
}

fn is_log_name(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    [".json", ".jsonl", ".ndjson"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<FileDiagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(
                Diagnostic::new(Code::Io, format!("cannot read directory: {e}")).at_path(dir),
            );
            return;
        }
    };
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        let Ok(ty) = entry.file_type() else { continue };
        if ty.is_dir() {
            walk(&path, files, errors);
        } else if ty.is_file() && is_log_name(&path) {
            files.push(path);
        }
    }
}

/// Read and parse one log file. Never fails: what goes wrong is in [`Records::problems`].
pub fn read(path: &Path) -> Records {
    let mut out = Records::default();
    let problem = |d: Diagnostic| d.at_path(path);
    let bytes = match read_bytes(path) {
        Ok(b) => b,
        Err(msg) => {
            out.problems
                .push(problem(Diagnostic::new(Code::BadLog, msg)));
            return out;
        }
    };
    out.bytes = bytes.len() as u64;
    parse(&bytes, &mut out, &problem);
    out
}

/// The file's bytes, gunzipped when it is gzip (by its magic bytes, not its name).
fn read_bytes(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read log file: {e}"))?;
    let size = file.metadata().map_or(0, |m| m.len());
    let mut raw = Vec::with_capacity(size.min(MAX_LOG_FILE) as usize);
    file.take(MAX_LOG_FILE + 1)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot read log file: {e}"))?;
    let too_large = || {
        format!(
            "the log file is larger than {} MiB (after decompression), the limit per file",
            MAX_LOG_FILE / (1024 * 1024)
        )
    };
    if raw.len() as u64 > MAX_LOG_FILE {
        return Err(too_large());
    }
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut plain = Vec::with_capacity(raw.len().saturating_mul(8).min(MAX_LOG_FILE as usize));
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .take(MAX_LOG_FILE + 1)
        .read_to_end(&mut plain)
        .map_err(|e| {
            format!(
                "the gzip data is truncated or corrupt ({e}) after {} decompressed bytes; the file is skipped",
                plain.len()
            )
        })?;
    if plain.len() as u64 > MAX_LOG_FILE {
        return Err(too_large());
    }
    Ok(plain)
}

/// Parse the decompressed bytes of a file into records.
fn parse(bytes: &[u8], out: &mut Records, problem: &dyn Fn(Diagnostic) -> FileDiagnostic) {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let body = &bytes[start..];
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    if body.iter().all(u8::is_ascii_whitespace) {
        out.empty = true;
        return;
    }
    let mut dropped = 0usize;
    let mut push_problem = |out: &mut Records, d: Diagnostic| {
        if out.problems.len() < MAX_PROBLEMS_PER_FILE {
            out.problems.push(problem(d));
        } else {
            dropped += 1;
        }
    };
    match serde_json::from_slice::<Value>(bytes) {
        Ok(doc) => {
            let (records, what) = match doc {
                Value::Object(mut m) if m.get("Records").is_some_and(Value::is_array) => {
                    match m.shift_remove("Records") {
                        Some(Value::Array(items)) => (items, "record"),
                        _ => (Vec::new(), "record"),
                    }
                }
                Value::Array(items) => (items, "array element"),
                other => (vec![other], "document"),
            };
            for (i, v) in records.into_iter().enumerate() {
                let pos = Position {
                    record: i + 1,
                    line: None,
                };
                match not_cloudtrail(&v) {
                    None => out.events.push((pos, v)),
                    Some(why) => push_problem(
                        out,
                        Diagnostic::new(Code::BadLog, format!("{what} {}: {why}; skipped", i + 1)),
                    ),
                }
            }
        }
        Err(whole) => {
            let first_line = body.split(|&b| b == b'\n').next().unwrap_or(body);
            if serde_json::from_slice::<Value>(first_line).is_err() {
                // One JSON document (not JSON Lines) that does not parse.
                push_problem(
                    out,
                    Diagnostic::new(
                        Code::BadLog,
                        format!("not valid JSON: {}", strip_at(&whole)),
                    )
                    .with_line_col(whole.line().max(1), whole.column().max(1)),
                );
            } else {
                json_lines(bytes, out, &mut push_problem);
            }
        }
    }
    if dropped > 0 {
        let d = Diagnostic::new(
            Code::BadLog,
            format!("{dropped} more problems in this file not shown"),
        );
        out.problems.push(problem(d));
    }
}

/// JSON Lines: one record per non-blank line, each problem at its line.
fn json_lines(
    bytes: &[u8],
    out: &mut Records,
    push_problem: &mut dyn FnMut(&mut Records, Diagnostic),
) {
    let mut record = 0usize;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        record += 1;
        let at = i + 1;
        match serde_json::from_slice::<Value>(line) {
            Ok(v) => match not_cloudtrail(&v) {
                None => out.events.push((
                    Position {
                        record,
                        line: Some(at),
                    },
                    v,
                )),
                Some(why) => push_problem(
                    out,
                    Diagnostic::new(Code::BadLog, format!("{why}; the line is skipped"))
                        .with_line_col(at, 1),
                ),
            },
            Err(e) => push_problem(
                out,
                Diagnostic::new(
                    Code::BadLog,
                    format!("not a JSON record: {}; the line is skipped", strip_at(&e)),
                )
                .with_line_col(at, e.column().max(1)),
            ),
        }
    }
}

/// serde_json's message without its own " at line L column C" (the diagnostic says where).
fn strip_at(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// Why a parsed value is no CloudTrail record, if it is not: a record is an object with an
/// `eventName` or an `eventSource`.
fn not_cloudtrail(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) if m.contains_key("eventName") || m.contains_key("eventSource") => None,
        Value::Object(_) => {
            Some("not a CloudTrail record (an object without eventName or eventSource)".to_owned())
        }
        other => Some(format!(
            "not a CloudTrail record (a JSON {}, not an object)",
            json_kind(other)
        )),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Records {
        let mut out = Records::default();
        let problem = |d: Diagnostic| d.at_path("x.json");
        parse(text.as_bytes(), &mut out, &problem);
        out
    }

    #[test]
    fn shapes() {
        let s3 = parsed(r#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#);
        assert_eq!(s3.events.len(), 2);
        assert_eq!(s3.events[1].0.record, 2);
        let lines = parsed("{\"eventName\":\"A\"}\n\n{\"eventName\":\"B\"}\n");
        assert_eq!(lines.events[1].0.line, Some(3));
        assert!(parsed(" \n").empty);
    }

    #[test]
    fn problems_carry_lines() {
        let r = parsed("{\"eventName\":\"A\"}\n{\"eventName\":\n{\"x\":1}\n");
        assert_eq!(r.events.len(), 1);
        let lines: Vec<usize> = r.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3]);
        let pretty = parsed("{\n \"Records\": [\n {\"eventName\": }\n]}");
        assert_eq!(pretty.problems[0].line, 3);
    }
}
