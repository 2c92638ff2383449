//! `rulecast convert`: rules to queries for the chosen targets, printed (text, JSON lines,
//! CloudWatch saved-query definitions, or the Markdown report of [`crate::report::markdown`]) or
//! written to `-o DIR` as `DIR/<target>/<rule file stem>.<ext>`. With `--check`, nothing is
//! written: what is in DIR is compared with what would be, a unified diff per difference.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use clap::ValueEnum;

use super::{load_inputs, load_options, stderr_text, Status};
use crate::backend::cloudwatch::MAX_ARRAY_MAX;
use crate::backend::{Backend, Prepared, RenderOptions, Target};
use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};
use crate::mapping::Mapping;
use crate::report;
use crate::rule::Rule;
use crate::{LoadOptions, LoadedFile};

// The arguments of `rulecast convert`. (A plain comment: clap would make a doc comment help text.)
#[derive(clap::Args, Debug)]
pub struct ConvertArgs {
    /// Rule files, directories (searched recursively for *.yml, *.yaml), or `-` for standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The query language(s) to produce: jq, athena, cloudwatch, a comma-separated list, or `all`.
    #[arg(short, long, default_value = "jq", value_parser = parse_targets)]
    pub target: Targets,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write `DIR/<target>/<rule file stem>.<ext>` instead of printing.
    #[arg(short, long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// With --output-dir: write nothing; show how DIR differs from what would be written, and exit
    /// 1 if it does.
    #[arg(long, requires = "output_dir")]
    pub check: bool,
    /// YAML file with values for `expand` placeholders: `placeholders: {name: value or list}`.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// The name standard input is shown under in headers and diagnostics.
    #[arg(long, default_value = "<stdin>")]
    pub stdin_filename: String,
    /// Row limit of the query (athena, cloudwatch); at least 1.
    #[arg(long, value_parser = parse_limit)]
    pub limit: Option<u64>,
    /// Table to query (athena; default `cloudtrail_logs`).
    #[arg(long)]
    pub table: Option<String>,
    /// Table schema (athena): `cloudtrail` or `security-lake`.
    #[arg(long)]
    pub schema: Option<String>,
    /// Start of the time window: RFC 3339 (`2026-11-01T00:00:00Z`) or relative (`24h`, `7d`).
    #[arg(long)]
    pub since: Option<String>,
    /// End of the time window: RFC 3339 or relative.
    #[arg(long)]
    pub until: Option<String>,
    /// Partition layout used to prune by time (athena): `projection` or `ymd`.
    #[arg(long)]
    pub partitions: Option<String>,
    /// Log group for CloudWatch saved queries (repeatable).
    #[arg(long = "log-group")]
    pub log_groups: Vec<String>,
    /// How many array elements an any-element predicate expands to (cloudwatch); 1 to 100.
    #[arg(long, value_parser = parse_array_max)]
    pub array_max: Option<usize>,
    /// The time relative windows count back from (RFC 3339), for reproducible output.
    #[arg(long, hide = true)]
    pub now: Option<String>,
    /// A directory of templates that override the built-in ones by relative name
    /// (`jq/filter.jq.j2`, `athena/query.sql.j2`, `cloudwatch/query.cwl.j2`).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// A field-mapping file: renamed fields per target, a condition added to every rule, tables
    /// per logsource (see docs/mappings/).
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
}

impl ConvertArgs {
    /// The render options the flags give, for a rule from `source_path`.
    fn render_options(&self, source_path: String) -> RenderOptions {
        RenderOptions {
            source_path,
            limit: self.limit,
            table: self.table.clone(),
            schema: self.schema.clone(),
            since: self.since.clone(),
            until: self.until.clone(),
            partitions: self.partitions.clone(),
            log_groups: self.log_groups.clone(),
            array_max: self.array_max,
            now: self.now.clone(),
            templates_dir: self.templates.clone(),
        }
    }
}

// The output formats of `convert`. (A plain comment: clap would make a doc comment help text.)
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Each query with a comment header.
    Text,
    /// One JSON object per rule and line.
    Json,
    /// A report per rule (title, level, description, MITRE tags, false positives) with its query
    /// for every built target in fenced blocks.
    Markdown,
    /// CloudWatch saved queries: per rule, one line of the JSON `aws logs put-query-definition
    /// --cli-input-json` takes (name from the title, queryString, logGroupNames from --log-group).
    QueryDefinition,
}

/// One or more targets, as `-t` gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets(pub Vec<Target>);

/// Parse `-t`: `all` (every target), or one or more comma-separated target names,
/// duplicates dropped.
fn parse_targets(s: &str) -> Result<Targets, String> {
    if s == "all" {
        return Ok(Targets(Target::ALL.to_vec()));
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        let t: Target = part.trim().parse()?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(Targets(out))
}

/// Parse `--limit`: a row count, at least 1 (a query that returns nothing has no use).
fn parse_limit(s: &str) -> Result<u64, String> {
    match s.parse::<u64>().map_err(|e| e.to_string())? {
        0 => Err("must be at least 1".to_owned()),
        n => Ok(n),
    }
}

/// Parse `--array-max`: 1 to [`MAX_ARRAY_MAX`] (each list is expanded element by element, so
/// the query grows with it).
fn parse_array_max(s: &str) -> Result<usize, String> {
    let n = s.parse::<usize>().map_err(|e| e.to_string())?;
    if (1..=MAX_ARRAY_MAX).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be between 1 and {MAX_ARRAY_MAX}"))
    }
}

/// A file `-o` writes: its text, and the rule file it comes from.
#[derive(Debug, Clone)]
struct OutputFile {
    text: String,
    rule_file: PathBuf,
}

/// The files `-o` writes, by name relative to the output directory (`<target>/<stem>.<ext>`).
type OutputFiles = BTreeMap<PathBuf, OutputFile>;

/// Every file the rules would write, by name: more than one is a clash ([`resolve_clashes`]).
type Candidates = BTreeMap<PathBuf, Vec<OutputFile>>;

/// What `convert` works with once its arguments are checked.
struct Setup {
    backends: Vec<&'static dyn Backend>,
    load_options: LoadOptions,
    mapping: Option<Mapping>,
}

/// `rulecast convert`. Exit status 1 when a rule does not convert (or `--check` finds a
/// difference), 2 for bad arguments and I/O errors.
pub(super) fn convert(
    args: &ConvertArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let Some(setup) = check_args(args, err)? else {
        return Ok(Status::Error);
    };
    let mut io_errors = Vec::new();
    let loaded = load_inputs(
        &args.paths,
        &args.stdin_filename,
        &setup.load_options,
        &mut io_errors,
        err,
    )?;
    let converter = Converter {
        args,
        mapping: setup.mapping.as_ref(),
        prepared: RefCell::default(),
        hidden: crate::correlation::not_generated(&loaded),
    };
    if args.format == Format::Markdown {
        return markdown_report(&converter, &loaded, io_errors, out, err);
    }
    let mut failures: Vec<FileDiagnostic> = Vec::new();
    let mut candidates = Candidates::new();
    for &backend in &setup.backends {
        for (fi, lf) in loaded.iter().enumerate() {
            converter.convert_file(backend, fi, lf, &mut candidates, &mut failures, out)?;
        }
    }
    let files = resolve_clashes(candidates, &mut failures);
    let mut status = Status::Success;
    if let Some(dir) = &args.output_dir {
        if write_output_dir(args, &setup.backends, dir, &files, &mut io_errors, out)? {
            status = Status::Failure;
        }
    }
    failures.sort();
    for d in io_errors.iter().chain(&failures) {
        writeln!(err, "{}", stderr_text(d))?;
    }
    if !failures.is_empty() {
        status = status.max(Status::Failure);
    }
    if !io_errors.is_empty() {
        status = Status::Error;
    }
    Ok(status)
}

/// Check the arguments and read the files they name (placeholders, mapping); None, with the
/// error printed, when they cannot be used.
fn check_args(args: &ConvertArgs, err: &mut dyn Write) -> std::io::Result<Option<Setup>> {
    let backends: Vec<&'static dyn Backend> = args.target.0.iter().map(|t| t.backend()).collect();
    let Some(load_options) = load_options(&args.placeholders, err)? else {
        return Ok(None);
    };
    let mapping = match &args.mapping {
        Some(p) => match Mapping::load(p) {
            Ok(m) => Some(m),
            Err(d) => {
                writeln!(err, "{}", stderr_text(&d))?;
                return Ok(None);
            }
        },
        None => None,
    };
    if args.format == Format::Markdown && args.output_dir.is_some() {
        writeln!(
            err,
            "error: --format markdown prints one report; redirect it instead of using --output-dir"
        )?;
        return Ok(None);
    }
    if args.format == Format::QueryDefinition {
        if let Some(b) = backends.iter().find(|b| b.saved_query().is_none()) {
            let with: Vec<&str> = Target::ALL
                .iter()
                .filter(|t| t.backend().saved_query().is_some())
                .map(|t| t.name())
                .collect();
            writeln!(
                err,
                "error: --format query-definition makes saved queries; it needs -t {}, not {}",
                with.join(" or -t "),
                b.target()
            )?;
            return Ok(None);
        }
    }
    Ok(Some(Setup {
        backends,
        load_options,
        mapping,
    }))
}

/// The arguments and the mapping every rule is converted with.
struct Converter<'a> {
    args: &'a ConvertArgs,
    mapping: Option<&'a Mapping>,
    /// Each target's options checked once ([`Backend::prepare`]), by the options they were
    /// checked with apart from the rule's path (a mapping can choose a table per logsource).
    prepared: RefCell<Vec<(RenderOptions, Rc<Prepared<'static>>)>>,
    /// Rules (file index, rule index) used by correlations that do not `generate` them: not
    /// output on their own.
    hidden: std::collections::HashSet<crate::correlation::At>,
}

impl Converter<'_> {
    /// Render one rule for one target, with the mapping (if any) applied first.
    fn render(
        &self,
        b: &'static dyn Backend,
        rule: &Rule,
        path: &str,
    ) -> Result<String, Diagnostic> {
        let mut opts = self.args.render_options(path.to_owned());
        match self.mapping {
            Some(m) => {
                m.options(rule, &mut opts);
                self.prepared(b, &opts)
                    .render(&m.apply(rule, b.target()), &opts)
            }
            None => self.prepared(b, &opts).render(rule, &opts),
        }
    }

    /// `b` with `opts` checked, once per target and distinct options.
    fn prepared(&self, b: &'static dyn Backend, opts: &RenderOptions) -> Rc<Prepared<'static>> {
        let key = RenderOptions {
            source_path: String::new(),
            ..opts.clone()
        };
        let mut cache = self.prepared.borrow_mut();
        let found = cache
            .iter()
            .find(|(k, p)| p.backend().target() == b.target() && *k == key);
        if let Some((_, p)) = found {
            return Rc::clone(p);
        }
        let p = Rc::new(Prepared::new(b, &key));
        cache.push((key, Rc::clone(&p)));
        p
    }

    /// Convert one rule file for one target: its queries printed, or (with -o) kept in `files`
    /// to write; each rule that does not convert goes to `failures`.
    fn convert_file(
        &self,
        backend: &'static dyn Backend,
        fi: usize,
        lf: &LoadedFile,
        files: &mut Candidates,
        failures: &mut Vec<FileDiagnostic>,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        let args = self.args;
        let queries = self.render_rules(backend, fi, lf, failures, out)?;
        if queries.is_empty() {
            return Ok(());
        }
        let text = queries.join("\n");
        if args.output_dir.is_some() {
            let stem = lf
                .file
                .path
                .file_stem()
                .map_or_else(|| "stdin".into(), |s| s.to_string_lossy().into_owned());
            let name = PathBuf::from(backend.target().name())
                .join(format!("{stem}.{}", extension(args, backend)));
            files.entry(name).or_default().push(OutputFile {
                text,
                rule_file: lf.file.path.clone(),
            });
        } else if matches!(args.format, Format::Text | Format::QueryDefinition) {
            writeln!(out, "{text}")?;
        }
        Ok(())
    }

    /// Every rule's query for one target, in the output format (a saved-query definition for
    /// `--format query-definition`). With `--format json` and no -o, each rule's JSON line (its
    /// query or its error) is printed as it comes.
    fn render_rules(
        &self,
        backend: &'static dyn Backend,
        fi: usize,
        lf: &LoadedFile,
        failures: &mut Vec<FileDiagnostic>,
        out: &mut dyn Write,
    ) -> std::io::Result<Vec<String>> {
        let args = self.args;
        let target = backend.target();
        let json_lines = args.format == Format::Json && args.output_dir.is_none();
        let path_text = lf.file.path.display().to_string();
        let mut queries = Vec::new();
        for (ri, r) in lf.rules.iter().enumerate() {
            if self.hidden.contains(&(fi, ri)) {
                continue;
            }
            let rendered = r
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|rule| self.render(backend, rule, &path_text).map(|q| (rule, q)));
            match rendered {
                Ok((rule, query)) => {
                    let query = match backend.saved_query() {
                        Some(saved) if args.format == Format::QueryDefinition => {
                            saved(&rule.meta.title, &query, &args.log_groups).to_string()
                        }
                        _ => query,
                    };
                    if json_lines {
                        let obj = serde_json::json!({
                            "path": path_text,
                            "id": rule.meta.id,
                            "title": rule.meta.title,
                            "target": target.name(),
                            "query": query,
                        });
                        writeln!(out, "{obj}")?;
                    }
                    queries.push(query);
                }
                Err(d) => {
                    let fd = d.in_file(&lf.file);
                    if json_lines {
                        let obj = serde_json::json!({
                            "path": path_text,
                            "target": target.name(),
                            "error": {"code": fd.code.as_str(), "message": fd.message, "line": fd.line, "column": fd.column},
                        });
                        writeln!(out, "{obj}")?;
                    }
                    failures.push(fd);
                }
            }
        }
        Ok(queries)
    }
}

/// Keep one file per output name: when several rule files would write the same file, the one
/// whose path sorts first does (so the outcome does not depend on the order of the command
/// line) and each of the others is an error.
fn resolve_clashes(candidates: Candidates, failures: &mut Vec<FileDiagnostic>) -> OutputFiles {
    let mut files = OutputFiles::new();
    for (name, mut all) in candidates {
        all.sort_by(|a, b| a.rule_file.cmp(&b.rule_file));
        let mut all = all.into_iter();
        let Some(first) = all.next() else {
            continue;
        };
        for other in all {
            failures.push(
                Diagnostic::new(
                    Code::Io,
                    format!(
                        "output file {} would also be written for {}; rename one rule file",
                        name.display(),
                        first.rule_file.display()
                    ),
                )
                .at_path(&other.rule_file),
            );
        }
        files.insert(name, first);
    }
    files
}

/// Write the files for -o under `dir`, one directory per target; with `--check`, write nothing
/// and print how `dir` differs instead. Returns whether `--check` found a difference; write
/// errors go to `io_errors`.
fn write_output_dir(
    args: &ConvertArgs,
    backends: &[&'static dyn Backend],
    dir: &Path,
    files: &OutputFiles,
    io_errors: &mut Vec<FileDiagnostic>,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let mut differs = false;
    for &backend in backends {
        let target_dir = dir.join(backend.target().name());
        let mine: OutputFiles = files
            .iter()
            .filter(|(k, _)| k.starts_with(backend.target().name()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Err(e) = output_subdir(dir, &target_dir) {
            io_errors.push(Diagnostic::new(Code::Io, e).at_path(&target_dir));
            continue;
        }
        if args.check {
            if check_dir(&target_dir, dir, &mine, extension(args, backend), out)? {
                differs = true;
            }
            continue;
        }
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
            continue;
        }
        for (name, OutputFile { text, .. }) in &mine {
            let p = dir.join(name);
            if let Err(e) = write_replacing(&p, text) {
                io_errors.push(Diagnostic::new(Code::Io, format!("cannot write: {e}")).at_path(&p));
            }
        }
    }
    Ok(differs)
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

/// The extension of files written with -o: the target's, or `json` for saved-query definitions.
fn extension(args: &ConvertArgs, backend: &dyn Backend) -> &'static str {
    if args.format == Format::QueryDefinition {
        "json"
    } else {
        backend.extension()
    }
}

/// A path as `--check` prints it: a file name from a rule file's name can hold any character, so
/// hidden ones are written visibly (see [`crate::escape`]).
fn shown_path(p: &Path) -> String {
    crate::escape::visible(&p.display().to_string()).into_owned()
}

/// Compare `expected` (names relative to `root`) with the files in `target_dir`; print a unified
/// diff for each difference. Returns whether anything differs.
fn check_dir(
    target_dir: &Path,
    root: &Path,
    expected: &OutputFiles,
    ext: &str,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let mut differs = false;
    for (name, OutputFile { text: want, .. }) in expected {
        let p = root.join(name);
        let (old_name, have) = match existing(&p) {
            Existing::Text(have) if have == *want => continue,
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
        differs = true;
        let diff = similar::TextDiff::from_lines(have.as_str(), want.as_str());
        write!(
            out,
            "{}",
            diff.unified_diff()
                .context_radius(3)
                .header(&old_name, &format!("{} (generated)", shown_path(&p)))
        )?;
    }
    let mut present: Vec<PathBuf> = std::fs::read_dir(target_dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    present.sort();
    for p in present {
        let is_ours = p.extension().is_some_and(|e| e == ext);
        let rel = p
            .strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| p.clone());
        if is_ours && !expected.contains_key(&rel) {
            differs = true;
            match existing(&p) {
                Existing::Text(have) => {
                    let diff = similar::TextDiff::from_lines(have.as_str(), "");
                    write!(
                        out,
                        "{}",
                        diff.unified_diff().header(&shown_path(&p), "/dev/null")
                    )?;
                    writeln!(out, "extra file: {} (no rule produces it)", shown_path(&p))?;
                }
                Existing::Other(what) => {
                    writeln!(
                        out,
                        "extra file: {} ({what}; no rule produces it)",
                        shown_path(&p)
                    )?;
                }
                Existing::Missing => {}
            }
        }
    }
    Ok(differs)
}

/// `convert --format markdown`: every rule's section of the report (see
/// [`report::markdown`]), a blank line between rules; the rules and queries that did not
/// convert are reported on stderr after it.
fn markdown_report(
    converter: &Converter,
    loaded: &[LoadedFile],
    io_errors: Vec<FileDiagnostic>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let mut failures = Vec::new();
    let mut first = true;
    for lf in loaded {
        let path = lf.file.path.display().to_string();
        for r in &lf.rules {
            let rule = match r {
                Ok(rule) => rule,
                Err(d) => {
                    failures.push(d.clone().in_file(&lf.file));
                    continue;
                }
            };
            if !first {
                writeln!(out)?;
            }
            first = false;
            let queries: Vec<(Target, Result<String, FileDiagnostic>)> = Target::ALL
                .into_iter()
                .map(|t| {
                    let query = converter.render(t.backend(), rule, &path);
                    (t, query.map_err(|d| d.in_file(&lf.file)))
                })
                .collect();
            report::markdown::write_rule(out, rule, &path, &queries)?;
            failures.extend(queries.into_iter().filter_map(|(_, q)| q.err()));
        }
    }
    failures.sort();
    for d in io_errors.iter().chain(&failures) {
        writeln!(err, "{}", stderr_text(d))?;
    }
    Ok(if !io_errors.is_empty() {
        Status::Error
    } else if !failures.is_empty() {
        Status::Failure
    } else {
        Status::Success
    })
}
