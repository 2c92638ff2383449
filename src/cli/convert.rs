//! `rulecast convert`: rules to queries for the chosen targets, printed (text, JSON lines,
//! CloudWatch saved-query definitions, or the Markdown report of [`crate::report::markdown`]) or
//! written to `-o DIR` as `DIR/<target>/<rule file stem>.<ext>`. With `--check`, nothing is
//! written: what is in DIR is compared with what would be, a unified diff per difference.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;

use clap::ValueEnum;

use super::outdir::{self, Counts, Mode, OutputFile, OutputFiles, TargetPlan};
use super::project::{ConfigArgs, Project};
use super::{stderr_text, Status};
use crate::backend::cloudwatch::MAX_ARRAY_MAX;
use crate::backend::{Backend, Prepared, RenderOptions, Target};
use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};
use crate::mapping::Mapping;
use crate::pipeline::Pipeline;
use crate::report;
use crate::rule::Rule;
use crate::{LoadOptions, LoadedFile};

// The arguments of `rulecast convert`. (A plain comment: clap would make a doc comment help text.)
#[derive(clap::Args, Debug)]
pub struct ConvertArgs {
    /// Rule files, directories (searched recursively for *.yml, *.yaml), or `-` for standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The query language(s) to produce: jq, athena, cloudwatch, a comma-separated list, or `all`
    /// [default: the configuration's `targets`, else jq; all targets for `-f markdown`].
    #[arg(short, long, value_parser = parse_targets)]
    pub target: Option<Targets>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write `DIR/<target>/<rule file stem>.<ext>` instead of printing (unchanged files are left
    /// alone; a summary line goes to stderr) [default: the configuration's `output-dir`].
    #[arg(short, long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// With --output-dir: write nothing; show how DIR differs from what would be written, and exit
    /// 1 if it does.
    #[arg(long)]
    pub check: bool,
    /// With --output-dir: remove the files of DIR/<target>/ that no rule produces any more (with
    /// --check: show them as what would be removed).
    #[arg(long)]
    pub prune: bool,
    /// YAML file with values for `expand` placeholders: `placeholders: {name: value or list}`
    /// [default: the configuration's, else a placeholders.yml at or above the rule paths].
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// The name standard input is shown under in headers and diagnostics.
    #[arg(long, default_value = "<stdin>")]
    pub stdin_filename: String,
    /// Row limit of the query (athena, cloudwatch); at least 1.
    #[arg(long, value_parser = parse_limit)]
    pub limit: Option<u64>,
    /// Table to query (athena) [default: the schema's, `cloudtrail_logs`].
    #[arg(long)]
    pub table: Option<String>,
    /// Table schema (athena): `cloudtrail` (default), `security-lake`, or a `.ddl` file of your
    /// own (`rulecast schema` prints the built-in ones).
    #[arg(long)]
    pub schema: Option<String>,
    /// Start of the time window (athena): RFC 3339 (`2026-11-01T00:00:00Z`), a date, or relative
    /// to when the query runs (`90m`, `24h`, `7d`, `2w`).
    #[arg(long)]
    pub since: Option<String>,
    /// End of the time window (athena): RFC 3339, a date, or relative.
    #[arg(long)]
    pub until: Option<String>,
    /// Partition layout used to prune by time (athena): `projection` (default for cloudtrail),
    /// `ymd` (year/month/day columns) or `none`; security-lake: `eventday` or `none`.
    #[arg(long)]
    pub partitions: Option<String>,
    /// Log group for CloudWatch queries (in the usage line and saved queries; repeatable).
    #[arg(long = "log-group")]
    pub log_groups: Vec<String>,
    /// How many array elements an any-element predicate expands to (cloudwatch); 1 to 100
    /// [default: 5, fewer when the query would pass the 10,000-character limit].
    #[arg(long, value_parser = parse_array_max)]
    pub array_max: Option<usize>,
    /// Read fields inside the JSON-string columns without the CloudTrail shape table (athena):
    /// a path documented as a scalar (`additionalEventData.MFAUsed`) is read as any other path,
    /// any element of a list there matching, for data that does not follow the documentation.
    #[arg(long)]
    pub no_shapes: bool,
    /// The time relative windows count back from (RFC 3339), for reproducible output.
    #[arg(long, hide = true)]
    pub now: Option<String>,
    /// A directory of templates that override the built-in ones by relative name
    /// (`jq/filter.jq.j2`, `athena/query.sql.j2`, `cloudwatch/query.cwl.j2`).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// A field-mapping file: renamed fields per target (or to a typed column of your table), a
    /// condition added to every rule, tables per logsource (see docs/mappings/). Applied after
    /// the pipelines.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// A pySigma processing pipeline (repeatable; applied by priority): field_name_mapping,
    /// field_name_prefix_mapping, add_condition and set_state of `table` are read, anything else
    /// is refused.
    #[arg(short = 'p', long = "pipeline", value_name = "FILE")]
    pub pipelines: Vec<PathBuf>,
    /// Exit 1 when `rulecast check` would warn about a rule (its findings are printed on stderr
    /// as warnings either way).
    #[arg(long)]
    pub deny_warnings: bool,
    /// Every rule of the run in one query per target (as few as the target's length limit
    /// allows), each matching event labelled with the ids of the rules it matched (jq: prints
    /// {"rules": [...], "event": {...}}). Printed on standard output, text format only.
    #[arg(long, conflicts_with_all = ["output_dir", "check", "prune"])]
    pub bundle: bool,
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

/// Every file the rules would write, by name: more than one is a clash ([`resolve_clashes`]).
type Candidates = BTreeMap<PathBuf, Vec<OutputFile>>;

/// What `convert` works with once its arguments and the configuration are checked: every value
/// here is valid, so no rule can fail for a bad option.
struct Setup {
    backends: Vec<&'static dyn Backend>,
    load_options: LoadOptions,
    /// The pipelines (by priority), then the mapping file: applied to each rule in this order.
    mappings: Vec<Mapping>,
    /// The options every rule is rendered with (flags over the configuration).
    base: RenderOptions,
    output_dir: Option<PathBuf>,
}

/// `rulecast convert`. Exit status 1 when a rule does not convert (or `--check` finds a
/// difference), 2 for bad arguments and I/O errors.
pub(super) fn convert(
    args: &ConvertArgs,
    config: &ConfigArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let Some(project) = Project::open(config, &args.paths, err)? else {
        return Ok(Status::Error);
    };
    let setup = match setup(args, &project) {
        Ok(s) => s,
        Err(Usage(msg)) => {
            writeln!(err, "{msg}")?;
            return Ok(Status::Error);
        }
    };
    let Some(load_options) =
        project.load_options(args.placeholders.as_deref(), &args.paths, err)?
    else {
        return Ok(Status::Error);
    };
    let setup = Setup {
        load_options,
        ..setup
    };
    let mut io_errors = Vec::new();
    let inputs = project.load(
        &args.paths,
        &args.stdin_filename,
        &setup.load_options,
        false,
        &mut io_errors,
        err,
    )?;
    let loaded = inputs.files;
    if let Some(s) = inputs.left_out.summary() {
        writeln!(err, "note: {s}")?;
    }
    let warnings = super::check::print_warnings(&loaded, &setup.mappings, true, err)?;
    let warned = if args.deny_warnings && warnings > 0 {
        Status::Failure
    } else {
        Status::Success
    };
    if args.bundle {
        if args.format != Format::Text {
            writeln!(
                err,
                "error: --bundle prints text only (no -f {:?})",
                args.format
            )?;
            return Ok(Status::Error);
        }
        let mut failures = Vec::new();
        for lf in &loaded {
            report_load_errors(args, &setup, lf, &mut failures, out)?;
        }
        for d in &io_errors {
            writeln!(err, "{}", stderr_text(d))?;
        }
        let status = super::bundle::bundle(
            &setup.backends,
            &setup.mappings,
            &setup.base,
            &loaded,
            failures,
            out,
            err,
        )?;
        let status = if io_errors.is_empty() {
            status
        } else {
            Status::Error
        };
        return Ok(status.max(warned));
    }
    let converter = Converter {
        args,
        base: &setup.base,
        writes_files: setup.output_dir.is_some(),
        mappings: &setup.mappings,
        prepared: RefCell::default(),
        hidden: crate::correlation::not_generated(&loaded),
        project: &project,
        target_skips: RefCell::default(),
    };
    if args.format == Format::Markdown {
        return markdown_report(&converter, &setup.backends, &loaded, io_errors, out, err)
            .map(|s| s.max(warned));
    }
    let mut failures: Vec<FileDiagnostic> = Vec::new();
    let mut candidates = Candidates::new();
    let mut failed_outputs = BTreeSet::new();
    for (i, &backend) in setup.backends.iter().enumerate() {
        for (fi, lf) in loaded.iter().enumerate() {
            // A rule that does not load fails the same way for every target: reported once.
            if i == 0 {
                report_load_errors(args, &setup, lf, &mut failures, out)?;
            }
            let name = output_name(args, backend, lf);
            if converter.convert_file(backend, fi, lf, &mut candidates, &mut failures, out)? {
                failed_outputs.insert(name);
            }
        }
    }
    let files = resolve_clashes(candidates, &mut failures);
    let mut status = warned;
    let mut counts = Counts::default();
    sync_output_dir(
        args,
        &setup,
        &files,
        &failed_outputs,
        &mut counts,
        &mut io_errors,
        out,
    )?;
    if counts.differ > 0 {
        status = Status::Failure;
    }
    let mut notes = converter.target_skips.take();
    notes.dedup();
    for note in &notes {
        writeln!(err, "{note}")?;
    }
    failures.sort();
    failures.dedup();
    for d in io_errors.iter().chain(&failures) {
        writeln!(err, "{}", stderr_text(d))?;
    }
    if !failures.is_empty() {
        status = status.max(Status::Failure);
    }
    if !io_errors.is_empty() {
        status = Status::Error;
    }
    if let Some(dir) = &setup.output_dir {
        let rules_failed = failures.len();
        let summary = summary_line(dir, args.check, &counts, rules_failed);
        writeln!(err, "{summary}")?;
        if args.format == Format::Json {
            writeln!(
                out,
                "{}",
                summary_json(dir, args.check, &counts, rules_failed)
            )?;
        }
    }
    Ok(status)
}

/// Bring each target's directory under `-o DIR` in line with the queries converted (or, with
/// `--check`, report how it differs), counting what changed; nothing without `-o`.
fn sync_output_dir(
    args: &ConvertArgs,
    setup: &Setup,
    files: &OutputFiles,
    failed_outputs: &BTreeSet<PathBuf>,
    counts: &mut Counts,
    io_errors: &mut Vec<FileDiagnostic>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let Some(dir) = &setup.output_dir else {
        return Ok(());
    };
    let mode = Mode {
        check: args.check,
        prune: args.prune,
    };
    for &backend in &setup.backends {
        let name = backend.target().name();
        let mine: OutputFiles = files
            .iter()
            .filter(|(k, _)| k.starts_with(name))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let plan = TargetPlan {
            name,
            ext: extension(args, backend),
            files: &mine,
            failed: failed_outputs,
        };
        outdir::sync_target(dir, &plan, mode, counts, io_errors, out)?;
    }
    Ok(())
}

/// The name `-o` gives the output of rule file `lf` for `backend`: `<target>/<stem>.<ext>`.
fn output_name(args: &ConvertArgs, backend: &dyn Backend, lf: &LoadedFile) -> PathBuf {
    let stem = lf
        .file
        .path
        .file_stem()
        .map_or_else(|| "stdin".into(), |s| s.to_string_lossy().into_owned());
    PathBuf::from(backend.target().name()).join(format!("{stem}.{}", extension(args, backend)))
}

/// The rules of `lf` that did not load, reported once whatever the number of targets (a JSON
/// line without a target with `-f json`).
fn report_load_errors(
    args: &ConvertArgs,
    setup: &Setup,
    lf: &LoadedFile,
    failures: &mut Vec<FileDiagnostic>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for d in lf.rules.iter().filter_map(|r| r.as_ref().err()) {
        let fd = d.clone().in_file(&lf.file);
        if args.format == Format::Json && setup.output_dir.is_none() {
            writeln!(out, "{}", error_json(&fd, None))?;
        }
        failures.push(fd);
    }
    Ok(())
}

/// The JSON line of a rule that failed: `{"path","target"?,"error":{...}}`.
fn error_json(fd: &FileDiagnostic, target: Option<Target>) -> serde_json::Value {
    let mut obj = serde_json::json!({
        "path": fd.path.display().to_string(),
        "error": {"code": fd.code.as_str(), "message": fd.message, "line": fd.line, "column": fd.column},
    });
    if let (Some(t), Some(map)) = (target, obj.as_object_mut()) {
        map.insert("target".to_owned(), t.name().into());
    }
    obj
}

/// What a run with `-o` came to, in words: `queries differ`, `rules failed`, both, or `ok`.
fn outcome(counts: &Counts, rules_failed: usize) -> &'static str {
    match (counts.differ > 0, rules_failed > 0) {
        (false, false) => "ok",
        (true, false) => "queries differ",
        (false, true) => "rules failed",
        (true, true) => "queries differ and rules failed",
    }
}

/// The one-line summary on stderr after `convert -o`.
fn summary_line(dir: &std::path::Path, check: bool, c: &Counts, rules_failed: usize) -> String {
    let dir = crate::escape::visible(&dir.display().to_string()).into_owned();
    let mut parts = Vec::new();
    if check {
        parts.push(format!("{} up to date", c.unchanged));
        parts.push(format!("{} differ", c.differ));
    } else {
        parts.push(format!("{} written", c.written));
        parts.push(format!("{} unchanged", c.unchanged));
        if c.pruned > 0 {
            parts.push(format!("{} pruned", c.pruned));
        }
        if c.extra > 0 {
            parts.push(format!(
                "{} no rule produces (--prune removes them)",
                c.extra
            ));
        }
    }
    parts.push(format!("{rules_failed} rules failed"));
    format!("{dir}: {} ({})", parts.join(", "), outcome(c, rules_failed))
}

/// The summary as the last JSON line of `convert -o DIR -f json`.
fn summary_json(
    dir: &std::path::Path,
    check: bool,
    c: &Counts,
    rules_failed: usize,
) -> serde_json::Value {
    serde_json::json!({
        "summary": {
            "output_dir": dir.display().to_string(),
            "check": check,
            "written": c.written,
            "unchanged": c.unchanged,
            "pruned": c.pruned,
            "extra": c.extra,
            "differ": c.differ,
            "rules_failed": rules_failed,
            "outcome": outcome(c, rules_failed),
        }
    })
}

/// A bad command line or configuration: the message, printed once; exit status 2.
struct Usage(String);

/// Check the arguments against each other, merge them over the configuration, and check every
/// option with each selected target ([`Backend::prepare`]) before any rule is read.
fn setup(args: &ConvertArgs, project: &Project) -> Result<Setup, Usage> {
    let usage = |m: String| Usage(format!("error: {m}"));
    let cfg = project.config.as_ref();
    let conv = cfg.map(|c| c.convert.clone()).unwrap_or_default();
    let targets: Vec<Target> = match (&args.target, conv.targets) {
        (Some(t), _) => t.0.clone(),
        (None, Some(t)) => t,
        (None, None) if args.format == Format::Markdown => Target::ALL.to_vec(),
        (None, None) => vec![Target::Jq],
    };
    let backends: Vec<&'static dyn Backend> = targets.iter().map(|t| t.backend()).collect();
    let flags = RenderOptions {
        limit: args.limit,
        table: args.table.clone(),
        schema: args.schema.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
        partitions: args.partitions.clone(),
        log_groups: args.log_groups.clone(),
        array_max: args.array_max,
        no_shapes: args.no_shapes,
        ..RenderOptions::default()
    };
    // An option given on the command line that no selected target reads would be silently
    // ignored: refuse it. (One from the configuration may be meant for another run's targets.)
    for opt in flags.given() {
        if backends.iter().any(|b| b.options().contains(&opt)) {
            continue;
        }
        let readers: Vec<&str> = Target::ALL
            .iter()
            .filter(|t| t.backend().options().contains(&opt))
            .map(|t| t.name())
            .collect();
        let names: Vec<&str> = targets.iter().map(|t| t.name()).collect();
        let notes: Vec<&str> = backends.iter().filter_map(|b| b.option_note(opt)).collect();
        let note = notes.first().map(|n| format!(" ({n})")).unwrap_or_default();
        return Err(usage(format!(
            "{} applies to -t {}, not to -t {}{note}",
            opt.flag(),
            readers.join(" or -t "),
            names.join(",")
        )));
    }
    let output_dir = args.output_dir.clone().or(conv.output_dir.clone());
    match &output_dir {
        Some(dir) => outdir::check_output_arg(dir).map_err(usage)?,
        None if args.check || args.prune => {
            let flag = if args.check { "--check" } else { "--prune" };
            return Err(usage(format!(
                "{flag} works on an output directory: give -o DIR (or output-dir in rulecast.toml)"
            )));
        }
        None => {}
    }
    if args.format == Format::Markdown && args.output_dir.is_some() {
        return Err(usage(
            "--format markdown prints one report; redirect it instead of using --output-dir"
                .to_owned(),
        ));
    }
    let output_dir = output_dir.filter(|_| args.format != Format::Markdown);
    if args.format == Format::QueryDefinition {
        if let Some(b) = backends.iter().find(|b| b.saved_query().is_none()) {
            let with: Vec<&str> = Target::ALL
                .iter()
                .filter(|t| t.backend().saved_query().is_some())
                .map(|t| t.name())
                .collect();
            return Err(usage(format!(
                "--format query-definition makes saved queries; it needs -t {}, not {}",
                with.join(" or -t "),
                b.target()
            )));
        }
    }
    let base = RenderOptions {
        now: args.now.clone(),
        templates_dir: args
            .templates
            .clone()
            .or_else(|| cfg.and_then(|c| c.templates.clone())),
        ..flags
    }
    .or(&conv.options);
    if let Some(t) = &base.templates_dir {
        if !t.is_dir() {
            return Err(usage(format!(
                "--templates {}: not a directory",
                crate::escape::visible(&t.display().to_string())
            )));
        }
    }
    // Every option, checked once for every selected target: a bad value is one usage error,
    // not one error per rule.
    for &b in &backends {
        let mut opts = base.clone();
        if !b.options().contains(&crate::backend::RenderOption::Since) {
            (opts.since, opts.until) = (None, None);
        }
        if let Err(d) = b.prepare(&opts) {
            return Err(usage(d.message));
        }
    }
    let mapping_path = args
        .mapping
        .clone()
        .or_else(|| cfg.and_then(|c| c.mapping.clone()));
    let pipeline_paths = if args.pipelines.is_empty() {
        cfg.map(|c| c.pipelines.clone()).unwrap_or_default()
    } else {
        args.pipelines.clone()
    };
    let mut pipelines = Vec::new();
    for p in &pipeline_paths {
        pipelines.push(Pipeline::load(p).map_err(|d| Usage(d.to_string()))?);
    }
    // pySigma applies pipelines lowest priority first; equal ones in the order given.
    pipelines.sort_by_key(|p| p.priority);
    let mut mappings: Vec<Mapping> = pipelines.into_iter().map(|p| p.mapping).collect();
    if let Some(p) = mapping_path {
        mappings.push(Mapping::load(&p).map_err(|d| Usage(d.to_string()))?);
    }
    Ok(Setup {
        backends,
        load_options: LoadOptions::default(),
        mappings,
        base,
        output_dir,
    })
}

/// The arguments and the mapping every rule is converted with.
struct Converter<'a> {
    args: &'a ConvertArgs,
    /// The options every rule is rendered with, apart from its path.
    base: &'a RenderOptions,
    /// Whether queries go to files (`-o`) rather than to standard output.
    writes_files: bool,
    /// The project: its `[skip-target.*]` lists.
    project: &'a Project,
    /// The notes of rules a target left out, printed at the end.
    target_skips: RefCell<Vec<String>>,
    mappings: &'a [Mapping],
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
        // A correlation has no logsource of its own: its base rules have theirs.
        if rule.correlation.is_none()
            && !crate::check::logsource_ok(&rule.meta.logsource, self.mappings)
        {
            return Err(Diagnostic::new(
                Code::NotCloudTrail,
                format!(
                    "logsource {} is not AWS CloudTrail; map it to a table with --mapping (`logsources:`) to convert it",
                    crate::check::logsource_text(&rule.meta.logsource)
                ),
            )
            .with_span(rule.logsource_span));
        }
        let mut opts = RenderOptions {
            source_path: path.to_owned(),
            ..self.base.clone()
        };
        if self.mappings.is_empty() {
            return self.prepared(b, &opts).render(rule, &opts);
        }
        let mut mapped = rule.clone();
        for m in self.mappings {
            m.options(&mapped, &mut opts);
            mapped = m.apply(&mapped, b.target());
        }
        self.prepared(b, &opts).render(&mapped, &opts)
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
    /// to write; each rule that does not render goes to `failures` (rules that did not load are
    /// reported once, by [`report_load_errors`]). Whether some rule of the file failed.
    fn convert_file(
        &self,
        backend: &'static dyn Backend,
        fi: usize,
        lf: &LoadedFile,
        files: &mut Candidates,
        failures: &mut Vec<FileDiagnostic>,
        out: &mut dyn Write,
    ) -> std::io::Result<bool> {
        let args = self.args;
        let (queries, failed) = self.render_rules(backend, fi, lf, failures, out)?;
        if queries.is_empty() {
            return Ok(failed);
        }
        let text = queries.join("\n");
        if self.writes_files {
            files
                .entry(output_name(args, backend, lf))
                .or_default()
                .push(OutputFile {
                    text,
                    rule_file: lf.file.path.clone(),
                });
        } else if matches!(args.format, Format::Text | Format::QueryDefinition) {
            writeln!(out, "{text}")?;
        }
        Ok(failed)
    }

    /// Every loaded rule's query for one target, in the output format (a saved-query definition
    /// for `--format query-definition`), and whether any rule of the file failed. With
    /// `--format json` and no -o, each rule's JSON line (its query or its error) is printed as
    /// it comes.
    fn render_rules(
        &self,
        backend: &'static dyn Backend,
        fi: usize,
        lf: &LoadedFile,
        failures: &mut Vec<FileDiagnostic>,
        out: &mut dyn Write,
    ) -> std::io::Result<(Vec<String>, bool)> {
        let args = self.args;
        let target = backend.target();
        let json_lines = args.format == Format::Json && !self.writes_files;
        let path_text = lf.file.path.display().to_string();
        let mut queries = Vec::new();
        let mut failed = lf.rules.iter().any(Result::is_err);
        for (ri, r) in lf.rules.iter().enumerate() {
            if self.hidden.contains(&(fi, ri)) {
                continue;
            }
            let Ok(rule) = r else {
                continue;
            };
            if let Some(why) = self.project.skipped_for(target, lf, rule) {
                self.target_skips.borrow_mut().push(format!(
                    "{}: note: skipped for {target} (rulecast.toml [skip-target.{target}]): {}",
                    crate::escape::visible(&path_text),
                    crate::escape::visible(why)
                ));
                continue;
            }
            match self.render(backend, rule, &path_text) {
                Ok(query) => {
                    let query = match backend.saved_query() {
                        Some(saved) if args.format == Format::QueryDefinition => {
                            saved(&rule.meta.title, &query, &self.base.log_groups).to_string()
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
                        writeln!(out, "{}", error_json(&fd, Some(target)))?;
                    }
                    failures.push(fd);
                    failed = true;
                }
            }
        }
        Ok((queries, failed))
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

/// The extension of files written with -o: the target's, or `json` for saved-query definitions.
fn extension(args: &ConvertArgs, backend: &dyn Backend) -> &'static str {
    if args.format == Format::QueryDefinition {
        "json"
    } else {
        backend.extension()
    }
}

/// `convert --format markdown`: every rule's section of the report (see
/// [`report::markdown`]), a blank line between rules; the rules and queries that did not
/// convert are reported on stderr after it.
fn markdown_report(
    converter: &Converter,
    backends: &[&'static dyn Backend],
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
            let queries: Vec<(Target, Result<String, FileDiagnostic>)> = backends
                .iter()
                .map(|&b| {
                    let query = converter.render(b, rule, &path);
                    (b.target(), query.map_err(|d| d.in_file(&lf.file)))
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
