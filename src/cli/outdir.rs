//! `convert -o DIR`: the files the rules produce, written as `DIR/<target>/<rule file
//! stem>.<ext>` (each replaced atomically, unchanged ones left alone), compared with what is there
//! (`--check`, a unified diff per difference) and the files no rule produces any more removed
//! (`--prune`). The outputs of rule files that failed to convert are neither extra files nor
//! pruned: the failure is reported as what it is.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};

/// A file `-o` writes: its text, and the rule file it comes from.
#[derive(Debug, Clone)]
pub(super) struct OutputFile {
    pub(super) text: String,
    pub(super) rule_file: PathBuf,
}

/// The files `-o` writes, by name relative to the output directory (`<target>/<stem>.<ext>`).
pub(super) type OutputFiles = BTreeMap<PathBuf, OutputFile>;

/// What the run would put in one `DIR/<target>` directory.
pub(super) struct TargetPlan<'a> {
    /// The target's name: the subdirectory.
    pub(super) name: &'static str,
    /// The extension of its files: others in the directory are not ours.
    pub(super) ext: &'static str,
    /// The files it writes.
    pub(super) files: &'a OutputFiles,
    /// The names (relative to DIR) of outputs whose rule file did not convert for this target:
    /// left as they are, never reported as extra.
    pub(super) failed: &'a BTreeSet<PathBuf>,
}

/// What `-o` did, or with `--check` found: the counts of the summary line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counts {
    pub(super) written: usize,
    pub(super) unchanged: usize,
    /// Files no rule produces: removed with `--prune`, else left (and counted).
    pub(super) pruned: usize,
    pub(super) extra: usize,
    /// With `--check`: generated files that differ from (or are missing in) DIR.
    pub(super) differ: usize,
    /// Outputs of rule files that did not convert, left untouched.
    pub(super) kept_failed: usize,
}

/// The modes of `-o`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mode {
    pub(super) check: bool,
    pub(super) prune: bool,
}

/// Extensions that make an `-o` argument look like a file name, not a directory.
const FILE_LIKE: [&str; 10] = [
    "sql", "jq", "cwl", "json", "jsonl", "txt", "md", "yml", "yaml", "csv",
];

/// Refuse an `-o` argument that is an existing file or looks like a file name
/// (`queries.sql`): `-o` makes a directory of files, one per rule and target.
pub(super) fn check_output_arg(dir: &Path) -> Result<(), String> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!(
            "--output-dir {}: not a directory (-o writes DIR/<target>/<rule>.<ext>; redirect \
             standard output to write one file)",
            shown_path(dir)
        )),
        Err(_) => match dir.extension().and_then(|e| e.to_str()) {
            Some(ext) if FILE_LIKE.contains(&ext.to_ascii_lowercase().as_str()) => Err(format!(
                "--output-dir {}: looks like a file name; -o takes a directory and writes \
                 DIR/<target>/<rule>.<ext> (redirect standard output to write one file)",
                shown_path(dir)
            )),
            _ => Ok(()),
        },
    }
}

/// Write (or with `--check` compare) one target's directory under `dir`. Diffs and notes go to
/// `out`; write errors to `io_errors`.
pub(super) fn sync_target(
    dir: &Path,
    plan: &TargetPlan,
    mode: Mode,
    counts: &mut Counts,
    io_errors: &mut Vec<FileDiagnostic>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let target_dir = dir.join(plan.name);
    if let Err(e) = output_subdir(dir, &target_dir) {
        io_errors.push(Diagnostic::new(Code::Io, e).at_path(&target_dir));
        return Ok(());
    }
    if !mode.check {
        let created =
            std::fs::create_dir_all(dir).and_then(|()| match std::fs::create_dir(&target_dir) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                r => r,
            });
        if let Err(e) = created {
            io_errors.push(
                Diagnostic::new(Code::Io, format!("cannot create directory: {e}"))
                    .at_path(&target_dir),
            );
            return Ok(());
        }
    }
    for (name, OutputFile { text: want, .. }) in plan.files {
        let p = dir.join(name);
        let found = existing(&p);
        if matches!(&found, Existing::Text(have) if have == want) {
            counts.unchanged += 1;
            continue;
        }
        if !mode.check {
            match write_replacing(&p, want) {
                Ok(()) => counts.written += 1,
                Err(e) => io_errors
                    .push(Diagnostic::new(Code::Io, format!("cannot write: {e}")).at_path(&p)),
            }
            continue;
        }
        counts.differ += 1;
        let (old_name, have) = match found {
            Existing::Text(have) => (shown_path(&p), have),
            Existing::Missing => ("/dev/null".to_owned(), String::new()),
            Existing::Other(what) => {
                writeln!(
                    out,
                    "{} is {what}: -o would replace it with the generated file",
                    shown_path(&p)
                )?;
                ("/dev/null".to_owned(), String::new())
            }
        };
        let diff = similar::TextDiff::from_lines(have.as_str(), want.as_str());
        write!(
            out,
            "{}",
            diff.unified_diff()
                .context_radius(3)
                .header(&old_name, &format!("{} (generated)", shown_path(&p)))
        )?;
    }
    leftovers(dir, &target_dir, plan, mode, counts, io_errors, out)
}

/// The files of `target_dir` with the target's extension that no rule of the run produces: with
/// `--prune` removed (or with `--check` shown as what would be removed), else counted as extra
/// (with `--check` a difference). Outputs of rules that failed are left alone.
fn leftovers(
    root: &Path,
    target_dir: &Path,
    plan: &TargetPlan,
    mode: Mode,
    counts: &mut Counts,
    io_errors: &mut Vec<FileDiagnostic>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut present: Vec<PathBuf> = std::fs::read_dir(target_dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    present.sort();
    for p in present {
        if p.extension().is_none_or(|e| e != plan.ext) {
            continue;
        }
        let rel = p
            .strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| p.clone());
        if plan.files.contains_key(&rel) {
            continue;
        }
        if plan.failed.contains(&rel) {
            counts.kept_failed += 1;
            if mode.check {
                writeln!(
                    out,
                    "not checked: {} (its rule file did not convert; see the errors)",
                    shown_path(&p)
                )?;
            }
            continue;
        }
        let found = existing(&p);
        if matches!(found, Existing::Missing) {
            continue;
        }
        if mode.prune && !mode.check {
            match std::fs::remove_file(&p) {
                Ok(()) => counts.pruned += 1,
                Err(e) => io_errors
                    .push(Diagnostic::new(Code::Io, format!("cannot remove: {e}")).at_path(&p)),
            }
            continue;
        }
        if !mode.check {
            counts.extra += 1;
            continue;
        }
        counts.differ += 1;
        let verb = if mode.prune {
            "would be pruned"
        } else {
            "extra file"
        };
        match found {
            Existing::Text(have) => {
                let diff = similar::TextDiff::from_lines(have.as_str(), "");
                write!(
                    out,
                    "{}",
                    diff.unified_diff().header(&shown_path(&p), "/dev/null")
                )?;
                writeln!(out, "{verb}: {} (no rule produces it)", shown_path(&p))?;
            }
            Existing::Other(what) => {
                writeln!(
                    out,
                    "{verb}: {} ({what}; no rule produces it)",
                    shown_path(&p)
                )?;
            }
            Existing::Missing => {}
        }
    }
    Ok(())
}

/// Check a directory `-o` writes into (`DIR/<target>`): missing (it is created), a directory, or
/// a symbolic link to a directory inside `root`. A link out of `root` is refused: writing
/// through it would replace files elsewhere, and `--check` would show them.
fn output_subdir(root: &Path, sub: &Path) -> Result<(), String> {
    let m = match std::fs::symlink_metadata(sub) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read: {e}")),
    };
    if m.is_dir() {
        return Ok(());
    }
    if !m.file_type().is_symlink() {
        return Err("not a directory".to_owned());
    }
    let refuse = |to: &str| {
        format!("refusing to write through a symbolic link to {to}, outside the output directory")
    };
    let target = std::fs::canonicalize(sub).map_err(|_| refuse("a missing directory"))?;
    let inside = std::fs::canonicalize(root).is_ok_and(|r| target.starts_with(r));
    if inside && target.is_dir() {
        Ok(())
    } else {
        Err(refuse(&target.display().to_string()))
    }
}

/// Write `text` to `path` the way `-o` does: into a new temporary file beside it, then renamed
/// over it. Whatever was at `path` (a symbolic link, a hard link) is replaced, never written
/// through, and a reader never sees half a file.
fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file path",
        ));
    };
    for attempt in 0..100 {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".rulecast-{}-{attempt}.tmp", std::process::id()));
        let tmp = dir.join(tmp_name);
        // create_new: fails on anything already there, a symbolic link included.
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp);
        let mut file = match file {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.flush())
            .and_then(|()| {
                drop(file);
                std::fs::rename(&tmp, path)
            });
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        return written;
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "no free name for a temporary file",
    ))
}

/// What `--check` finds at an output path: nothing, a regular file's text, or something it does
/// not read (a symbolic link, a FIFO, a directory, a file that is not UTF-8), described.
enum Existing {
    Missing,
    Text(String),
    Other(String),
}

/// Look at `p` without following a symbolic link or opening anything but a regular file.
fn existing(p: &Path) -> Existing {
    let m = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Existing::Missing,
        Err(e) => return Existing::Other(format!("cannot be read ({e})")),
    };
    let t = m.file_type();
    if !t.is_file() {
        let what = if t.is_symlink() {
            "a symbolic link"
        } else if t.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Existing::Other(what.to_owned());
    }
    match std::fs::read(p) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Existing::Text(text),
            Err(_) => Existing::Other("not UTF-8 text".to_owned()),
        },
        Err(e) => Existing::Other(format!("cannot be read ({e})")),
    }
}

/// A path as `--check` prints it: a file name from a rule file's name can hold any character, so
/// hidden ones are written visibly (see [`crate::escape`]).
fn shown_path(p: &Path) -> String {
    crate::escape::visible(&p.display().to_string()).into_owned()
}
