//! What every command reads before the rules: the project configuration (`rulecast.toml`, see
//! [`crate::config`]), the placeholders file, and what a run leaves out (`exclude` globs, the
//! `[skip]` list, YAML files that are not rules). Reading the inputs themselves is here too.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{printable, stderr_text};
use crate::config::{Config, FILE_NAME};
use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};
use crate::source::SourceFile;
use crate::{discover, load_placeholders, load_source, source_from_bytes, LoadOptions, LoadedFile};

// `--config` and `--no-config`, global to every command. (Plain comment: clap would make a doc
// comment help text.)
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ConfigArgs {
    /// The project configuration to read, instead of the nearest rulecast.toml at or above the
    /// first rule path.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Read no rulecast.toml.
    #[arg(long, global = true, conflicts_with = "config")]
    pub no_config: bool,
    /// A file of Sigma meta filters to apply to the rules of the run (repeatable), besides the
    /// filter documents among the rule paths.
    #[arg(long = "filter", value_name = "FILE", global = true)]
    pub filters: Vec<PathBuf>,
}

/// The project a run works in: its configuration, when there is one.
#[derive(Debug, Default)]
pub struct Project {
    pub config: Option<Config>,
    /// The `--filter` files.
    pub filters: Vec<PathBuf>,
}

/// What a run read, and what it left out on purpose.
pub struct Inputs {
    pub files: Vec<LoadedFile>,
    pub left_out: LeftOut,
}

/// The rule files and rules a run leaves out, counted for its summary.
#[derive(Debug, Default)]
pub struct LeftOut {
    /// Files matched by `exclude`.
    pub excluded: usize,
    /// Files that are not rules, by what they are (`Panther global`).
    pub not_rules: BTreeMap<String, usize>,
    /// Rules listed in `[skip]`: the file, and the reason given.
    pub skipped: Vec<(PathBuf, String)>,
}

impl LeftOut {
    /// One line for the run's summary, or None when nothing was left out.
    pub fn summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.excluded > 0 {
            parts.push(format!("{} excluded by {FILE_NAME}", files(self.excluded)));
        }
        if !self.not_rules.is_empty() {
            let n: usize = self.not_rules.values().sum();
            let kinds: Vec<String> = self
                .not_rules
                .iter()
                .map(|(what, n)| format!("{n} {what}"))
                .collect();
            parts.push(format!(
                "{} that are not rules ({})",
                files(n),
                kinds.join(", ")
            ));
        }
        if !self.skipped.is_empty() {
            let n = self.skipped.len();
            parts.push(format!(
                "{n} rule{} listed in [skip]",
                if n == 1 { "" } else { "s" }
            ));
        }
        (!parts.is_empty()).then(|| format!("left out: {}", parts.join(", ")))
    }
}

/// "1 file", "3 files".
fn files(n: usize) -> String {
    format!("{n} file{}", if n == 1 { "" } else { "s" })
}

impl Project {
    /// The configuration `args` name, or the nearest one at or above the first rule path. None
    /// (the error printed) when it cannot be read.
    pub fn open(
        args: &ConfigArgs,
        paths: &[PathBuf],
        err: &mut dyn Write,
    ) -> std::io::Result<Option<Project>> {
        let filters = args.filters.clone();
        if args.no_config {
            return Ok(Some(Project {
                config: None,
                filters,
            }));
        }
        let path = match &args.config {
            Some(p) => Some(p.clone()),
            None => {
                let first = paths.iter().find(|p| p.as_os_str() != "-");
                crate::config::find(first.map(PathBuf::as_path))
            }
        };
        let Some(path) = path else {
            return Ok(Some(Project {
                config: None,
                filters,
            }));
        };
        match Config::load(&path) {
            Ok(c) => Ok(Some(Project {
                config: Some(c),
                filters,
            })),
            Err(d) => {
                writeln!(err, "{}", stderr_text(&d))?;
                Ok(None)
            }
        }
    }

    /// [`Project::open`] and [`Project::load_options`] in one: the project and the load options
    /// of a run; None (the error printed) when either cannot be read.
    pub fn open_with_options(
        config: &ConfigArgs,
        paths: &[PathBuf],
        placeholders: Option<&Path>,
        err: &mut dyn Write,
    ) -> std::io::Result<Option<(Project, LoadOptions)>> {
        let Some(project) = Project::open(config, paths, err)? else {
            return Ok(None);
        };
        let opts = project.load_options(placeholders, paths, err)?;
        Ok(opts.map(|o| (project, o)))
    }

    /// The load options of a run: the placeholders file from `flag`, else from the
    /// configuration, else a `placeholders.yml` in the rules tree (see [`find_placeholders`]).
    /// None (the diagnostic printed) when it cannot be read.
    pub fn load_options(
        &self,
        flag: Option<&Path>,
        paths: &[PathBuf],
        err: &mut dyn Write,
    ) -> std::io::Result<Option<LoadOptions>> {
        let configured = self.config.as_ref().and_then(|c| c.placeholders.clone());
        let file = match flag.map(Path::to_path_buf).or(configured) {
            Some(p) => Some(p),
            None => {
                let stop = self.config.as_ref().map(|c| c.dir.as_path());
                match find_placeholders(paths, stop) {
                    Ok(found) => found,
                    Err(msg) => {
                        writeln!(err, "error: {msg}")?;
                        return Ok(None);
                    }
                }
            }
        };
        let mut opts = LoadOptions::default();
        if let Some(p) = file {
            match load_placeholders(&p) {
                Ok(ph) => opts.placeholders = ph,
                Err(d) => {
                    writeln!(err, "{}", stderr_text(&d))?;
                    return Ok(None);
                }
            }
        }
        Ok(Some(opts))
    }

    /// Read every input (files, directories, `-`), leaving out excluded files, files that are not
    /// rules and the rules listed in `[skip]` (with `whole_files`, a file with a skipped rule is
    /// left out whole: its tests are the file's). Unreadable inputs go to `io_errors`; entries
    /// skipped by the directory search, and each skipped rule, are noted on `err`.
    pub fn load(
        &self,
        paths: &[PathBuf],
        stdin_name: &str,
        opts: &LoadOptions,
        whole_files: bool,
        io_errors: &mut Vec<FileDiagnostic>,
        err: &mut dyn Write,
    ) -> std::io::Result<Inputs> {
        let mut left_out = LeftOut::default();
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
        let mut loaded = Vec::new();
        if !stdin.is_empty() {
            let mut bytes = Vec::new();
            match crate::read_to_end_limited(std::io::stdin(), &mut bytes) {
                Ok(_) => loaded.push(load_bytes(Path::new(stdin_name), bytes, opts)),
                Err(e) => io_errors.push(
                    Diagnostic::new(Code::Io, format!("cannot read standard input: {e}"))
                        .at_path(stdin_name),
                ),
            }
        }
        let mut read = Vec::new();
        for f in walk.files {
            // A file named on the command line is read even when a pattern matches it.
            if !rest.contains(&f) && self.config.as_ref().is_some_and(|c| c.exclude.matches(&f)) {
                left_out.excluded += 1;
                continue;
            }
            match crate::read_limited(&f) {
                Ok(bytes) => read.push((f, bytes)),
                Err(e) => io_errors
                    .push(Diagnostic::new(Code::Io, format!("cannot read file: {e}")).at_path(&f)),
            }
        }
        loaded.extend(load_all(read, opts));
        for path in &self.filters {
            if loaded.iter().any(|lf| lf.file.path == *path) {
                continue;
            }
            match crate::read_limited(path) {
                Ok(bytes) => loaded.push(filter_file(load_bytes(path, bytes, opts))),
                Err(e) => io_errors.push(
                    Diagnostic::new(Code::Io, format!("cannot read filter file: {e}"))
                        .at_path(path),
                ),
            }
        }
        // Meta filters first, so that correlations count the events of filtered rules; then
        // correlations find the rules they name in the other files of the run.
        crate::sigma::filter::apply(&mut loaded);
        crate::correlation::finish(&mut loaded);
        let mut files = Vec::new();
        for mut lf in loaded {
            if let Some(what) = lf.not_a_rule.take() {
                *left_out.not_rules.entry(what).or_default() += 1;
                continue;
            }
            if !rest.contains(&lf.file.path) && crate::is_other_yaml(&lf) {
                *left_out
                    .not_rules
                    .entry("YAML without rule keys".to_owned())
                    .or_default() += 1;
                continue;
            }
            if let Some(reason) = self.skip_reason(&mut lf, whole_files) {
                writeln!(
                    err,
                    "{}: note: skipped ({FILE_NAME} [skip]): {}",
                    printable(&lf.file.path.display().to_string()),
                    printable(&reason)
                )?;
                left_out.skipped.push((lf.file.path.clone(), reason));
                if lf.rules.is_empty() {
                    continue;
                }
            }
            files.push(lf);
        }
        self.note_unused_skips(&left_out, err)?;
        Ok(Inputs { files, left_out })
    }

    /// Take the rules of `lf` that `[skip]` lists (by the file's path or a rule's id, name or
    /// RuleID) out of it; the reason when any was. A rule that did not load has no id, so the
    /// file's documents are read for theirs.
    fn skip_reason(&self, lf: &mut LoadedFile, whole_files: bool) -> Option<String> {
        let config = self.config.as_ref()?;
        if config.skip.is_empty() {
            return None;
        }
        if let Some(reason) =
            relative_key(&config.dir, &lf.file.path).and_then(|k| config.skip.get(&k))
        {
            lf.rules.clear();
            return Some(reason.clone());
        }
        let listed = |id: &str| config.skip.get(id);
        // A rule that did not load has no id: the file's documents are read for theirs, only then.
        let raw_ids = if lf.rules.iter().any(Result::is_err) {
            document_ids(&lf.file)
        } else {
            Vec::new()
        };
        let mut reason = None;
        lf.rules.retain(|r| {
            let hit = match r {
                Ok(rule) => [&rule.meta.id, &rule.meta.name]
                    .into_iter()
                    .flatten()
                    .find_map(|id| listed(id)),
                Err(_) => raw_ids.iter().find_map(|id| listed(id)),
            };
            if let Some(why) = hit {
                reason.get_or_insert_with(|| why.clone());
            }
            hit.is_none()
        });
        if reason.is_some() && whole_files {
            lf.rules.clear();
        }
        reason
    }

    /// Why `target` leaves `rule` (of file `lf`) out, when `[skip-target.<target>]` lists it by
    /// the file's path or the rule's id or name.
    pub fn skipped_for(
        &self,
        target: crate::backend::Target,
        lf: &LoadedFile,
        rule: &crate::rule::Rule,
    ) -> Option<&str> {
        let config = self.config.as_ref()?;
        let listed = config.skip_target.get(&target)?;
        let by_path = relative_key(&config.dir, &lf.file.path).and_then(|k| listed.get(&k));
        by_path
            .or_else(|| {
                [&rule.meta.id, &rule.meta.name]
                    .into_iter()
                    .flatten()
                    .find_map(|id| listed.get(id))
            })
            .map(String::as_str)
    }

    /// A note for each `[skip]` entry that left nothing out: a stale entry hides nothing, but
    /// should go.
    fn note_unused_skips(&self, left_out: &LeftOut, err: &mut dyn Write) -> std::io::Result<()> {
        let Some(config) = &self.config else {
            return Ok(());
        };
        if config.skip.is_empty() || !left_out.skipped.is_empty() {
            return Ok(());
        }
        writeln!(
            err,
            "{}: note: no rule of this run is listed in [skip]",
            printable(&config.path.display().to_string())
        )
    }
}

/// Open the project, read its placeholders and every input: [`Project::open`],
/// [`Project::load_options`] and [`Project::load`] in one. None (the error printed) when the
/// configuration or the placeholders cannot be read.
pub fn read_rules(
    config: &ConfigArgs,
    paths: &[PathBuf],
    placeholders: Option<&Path>,
    whole_files: bool,
    io_errors: &mut Vec<FileDiagnostic>,
    err: &mut dyn Write,
) -> std::io::Result<Option<(Project, Inputs)>> {
    let Some((project, opts)) = Project::open_with_options(config, paths, placeholders, err)?
    else {
        return Ok(None);
    };
    let inputs = project.load(paths, "<stdin>", &opts, whole_files, io_errors, err)?;
    Ok(Some((project, inputs)))
}

/// A rule file's path and bytes, read and not yet loaded.
type ReadFile = (PathBuf, Vec<u8>);

/// Load the files read, in their order, spread over the cores: reading YAML is what a large
/// rule tree costs. The threads get a main thread's stack (8 MiB), as deep YAML recurses.
fn load_all(read: Vec<ReadFile>, opts: &LoadOptions) -> Vec<LoadedFile> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(read.len());
    if workers <= 1 || read.len() < 8 {
        return read
            .into_iter()
            .map(|(f, bytes)| load_bytes(&f, bytes, opts))
            .collect();
    }
    let per = read.len().div_ceil(workers);
    let mut chunks: Vec<Vec<ReadFile>> = Vec::new();
    let mut rest = read.into_iter();
    loop {
        let chunk: Vec<_> = rest.by_ref().take(per).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(chunk);
    }
    let load = |chunk: Vec<ReadFile>| -> Vec<LoadedFile> {
        chunk
            .into_iter()
            .map(|(f, bytes)| load_bytes(&f, bytes, opts))
            .collect()
    };
    // Each chunk is taken once (by a thread, or here when no thread could start); the results
    // go back to its slot, so the files keep their order.
    let chunks: Vec<Mutex<Option<Vec<ReadFile>>>> =
        chunks.into_iter().map(|c| Mutex::new(Some(c))).collect();
    let results: Vec<Mutex<Vec<LoadedFile>>> = chunks.iter().map(|_| Mutex::default()).collect();
    let take = |i: usize| {
        let chunk = chunks[i].lock().ok().and_then(|mut c| c.take());
        if let Some(chunk) = chunk {
            let files = load(chunk);
            if let Ok(mut slot) = results[i].lock() {
                *slot = files;
            }
        }
    };
    std::thread::scope(|s| {
        for i in 0..chunks.len() {
            let builder = std::thread::Builder::new().stack_size(crate::scan::WORKER_STACK);
            let _ = builder.spawn_scoped(s, move || take(i));
        }
    });
    // A chunk whose thread did not start.
    for i in 0..chunks.len() {
        take(i);
    }
    results
        .into_iter()
        .flat_map(|r| r.into_inner().unwrap_or_default())
        .collect()
}

/// A `--filter` file: its filters and its errors; a rule in it is an error (rules are given as
/// rule paths).
fn filter_file(mut lf: LoadedFile) -> LoadedFile {
    for r in &mut lf.rules {
        if let Ok(rule) = r {
            *r = Err(Diagnostic::new(
                Code::NotARule,
                "a --filter file holds meta filters only; give rules as rule paths",
            )
            .with_span(rule.span));
        }
    }
    if lf.filters.is_empty() && lf.rules.is_empty() {
        lf.rules.push(Err(Diagnostic::new(
            Code::NotARule,
            "the --filter file holds no Sigma meta filter (a document with 'filter:')",
        )));
    }
    lf
}

/// Read one input's bytes into a loaded file (a file that is not text is that file's error).
fn load_bytes(path: &Path, bytes: Vec<u8>, opts: &LoadOptions) -> LoadedFile {
    match source_from_bytes(path, bytes) {
        Ok(src) => load_source(src, opts),
        Err(d) => LoadedFile::failed(
            SourceFile::new(path, ""),
            Diagnostic::new(d.code, d.message).with_line_col(d.line, d.column),
        ),
    }
}

/// `path` relative to the configuration's directory, with `/` separators: a `[skip]` key.
fn relative_key(dir: &Path, path: &Path) -> Option<String> {
    let abs = std::path::absolute(path).ok()?;
    let base = std::path::absolute(dir).ok()?;
    let rel = abs.strip_prefix(base).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// The ids a file's documents give themselves (`id`, `name`, `RuleID`), read from its YAML.
fn document_ids(file: &SourceFile) -> Vec<String> {
    let Ok(docs) = crate::yaml::parse_documents(&file.text) else {
        return Vec::new();
    };
    docs.iter()
        .flat_map(|d| {
            ["id", "name", "RuleID"]
                .into_iter()
                .filter_map(|k| d.node.get(k).and_then(crate::yaml::Node::as_str))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `placeholders.yml` (or `.yaml`) of the rules tree: the nearest one at or above each rule
/// path, up to the project's directory (`stop`) or, for a relative path, the current directory;
/// an absolute path outside the project looks in its own directory only. Two rule paths that
/// find different files are an error (a run has one set of placeholders).
pub fn find_placeholders(
    paths: &[PathBuf],
    stop: Option<&Path>,
) -> Result<Option<PathBuf>, String> {
    let stop_abs = stop.and_then(|s| std::path::absolute(s).ok());
    let mut found: Vec<PathBuf> = Vec::new();
    for p in paths.iter().filter(|p| p.as_os_str() != "-") {
        let dir = if p.is_dir() {
            p.as_path()
        } else {
            p.parent().unwrap_or(Path::new(""))
        };
        let in_project = stop_abs
            .as_ref()
            .is_some_and(|s| std::path::absolute(dir).is_ok_and(|d| d.starts_with(s)));
        let mut hit = None;
        for a in dir.ancestors() {
            for name in ["placeholders.yml", "placeholders.yaml"] {
                let c = a.join(name);
                // A regular file only: a link could lead anywhere.
                if hit.is_none() && std::fs::symlink_metadata(&c).is_ok_and(|m| m.is_file()) {
                    hit = Some(c);
                }
            }
            let at_stop = stop_abs
                .as_ref()
                .is_some_and(|s| std::path::absolute(a).is_ok_and(|a| a == *s));
            if hit.is_some() || at_stop || (dir.is_absolute() && !in_project) {
                break;
            }
        }
        if let Some(h) = hit {
            if !found.contains(&h) {
                found.push(h);
            }
        }
    }
    match found.len() {
        0 | 1 => Ok(found.pop()),
        _ => Err(format!(
            "the rule paths find different placeholders files ({}); name one with --placeholders",
            found
                .iter()
                .map(|p| printable(&p.display().to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}
