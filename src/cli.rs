//! The command line: `convert`, `test`, `targets`. The only module that prints.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::backend::{self, RenderOptions, Target};
use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};
use crate::ruletest::{
    self,
    run::{CaseResult, FileOutcome, SetupError},
};
use crate::{discover, load_placeholders, load_source, source_from_bytes, LoadOptions, LoadedFile};

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

#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// Rule files or directories.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(short, long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// YAML file with values for `expand` placeholders.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct CatalogArgs {
    /// Rule directories (or files).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(short, long, value_enum, default_value_t = CatalogFormat::Markdown)]
    pub format: CatalogFormat,
    /// Write the catalog to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// YAML file with values for `expand` placeholders.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogFormat {
    Markdown,
    Json,
}

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
    /// Row limit of the query (athena, cloudwatch).
    #[arg(long)]
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
    /// How many array elements an any-element predicate expands to (cloudwatch).
    #[arg(long)]
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

/// Render one rule for one target, with the mapping (if any) applied first.
fn render_mapped(
    b: &'static dyn backend::Backend,
    rule: &crate::rule::Rule,
    args: &ConvertArgs,
    mapping: Option<&crate::mapping::Mapping>,
    path: &str,
) -> Result<String, Diagnostic> {
    let mut opts = args.render_options(path.to_owned());
    match mapping {
        Some(m) => {
            m.options(rule, &mut opts);
            backend::render(b, &m.apply(rule, b.target()), &opts)
        }
        None => backend::render(b, rule, &opts),
    }
}

impl ConvertArgs {
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

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Rule files or directories; rules without tests (a sidecar, or a Panther rule's `Tests:`)
    /// are skipped.
    #[arg(default_value = "rules")]
    pub paths: Vec<PathBuf>,
    /// YAML file with values for `expand` placeholders.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

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

fn parse_targets(s: &str) -> Result<Targets, String> {
    if s == "all" {
        // Every target that is built.
        return Ok(Targets(
            Target::ALL
                .into_iter()
                .filter(|t| t.backend().is_some())
                .collect(),
        ));
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

/// How a run ended, as ruff does it: 0 all good, 1 some rules failed, 2 usage or I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Success,
    Failure,
    Error,
}

impl From<Status> for ExitCode {
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
        Command::Convert(args) => convert(&args, out, err),
        Command::Test(args) => test(&args, out, err),
        Command::Explain(args) => explain_cmd(&args, out, err),
        Command::Catalog(args) => catalog_cmd(&args, out, err),
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
fn shown(d: &FileDiagnostic) -> String {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        d.render(color)
    } else {
        d.to_string()
    }
}

fn targets(out: &mut dyn Write) -> std::io::Result<Status> {
    for t in Target::ALL {
        writeln!(out, "{:<11} {}", t.name(), t.description())?;
    }
    Ok(Status::Success)
}

fn placeholders(
    path: &Option<PathBuf>,
    err: &mut dyn Write,
) -> std::io::Result<Option<LoadOptions>> {
    let mut opts = LoadOptions::default();
    if let Some(p) = path {
        match load_placeholders(p) {
            Ok(ph) => opts.placeholders = ph,
            Err(d) => {
                writeln!(err, "{}", shown(&d))?;
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
        match std::io::stdin().read_to_end(&mut bytes) {
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
        match std::fs::read(&f) {
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

fn convert(
    args: &ConvertArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let mut backends = Vec::new();
    for t in &args.target.0 {
        let Some(b) = t.backend() else {
            writeln!(
                err,
                "error: the '{t}' target is not built yet; available: {}",
                Target::ALL
                    .iter()
                    .filter(|t| t.backend().is_some())
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
            return Ok(Status::Error);
        };
        backends.push(b);
    }
    let Some(opts) = placeholders(&args.placeholders, err)? else {
        return Ok(Status::Error);
    };
    let mapping = match &args.mapping {
        Some(p) => match crate::mapping::Mapping::load(p) {
            Ok(m) => Some(m),
            Err(d) => {
                writeln!(err, "{}", shown(&d))?;
                return Ok(Status::Error);
            }
        },
        None => None,
    };
    if args.format == Format::Markdown && args.output_dir.is_some() {
        writeln!(
            err,
            "error: --format markdown prints one report; redirect it instead of using --output-dir"
        )?;
        return Ok(Status::Error);
    }
    if args.format == Format::QueryDefinition {
        if let Some(t) = args.target.0.iter().find(|t| **t != Target::Cloudwatch) {
            writeln!(
                err,
                "error: --format query-definition makes CloudWatch saved queries; it needs -t \
                 cloudwatch, not {t}"
            )?;
            return Ok(Status::Error);
        }
    }
    let mut io_errors = Vec::new();
    let loaded = load_inputs(&args.paths, &args.stdin_filename, &opts, &mut io_errors);
    if args.format == Format::Markdown {
        return markdown_report(args, &loaded, mapping.as_ref(), io_errors, out, err);
    }
    let mut failures: Vec<FileDiagnostic> = Vec::new();
    // Output file name (`<target>/<stem>.<ext>`) → content and rule file, for -o.
    let mut files: BTreeMap<PathBuf, (String, PathBuf)> = BTreeMap::new();
    for &backend in &backends {
        let target = backend.target();
        for lf in &loaded {
            let path_text = lf.file.path.display().to_string();
            let mut queries = Vec::new();
            for r in &lf.rules {
                let rendered = r.as_ref().map_err(Clone::clone).and_then(|rule| {
                    render_mapped(backend, rule, args, mapping.as_ref(), &path_text)
                        .map(|q| (rule, q))
                });
                match rendered {
                    Ok((rule, query)) => {
                        let query = if args.format == Format::QueryDefinition {
                            crate::backend::cloudwatch::query_definition(
                                &rule.meta.title,
                                &query,
                                &args.log_groups,
                            )
                            .to_string()
                        } else {
                            query
                        };
                        if args.format == Format::Json && args.output_dir.is_none() {
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
                        if args.format == Format::Json && args.output_dir.is_none() {
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
            if queries.is_empty() {
                continue;
            }
            let text = queries.join("\n");
            if args.output_dir.is_some() {
                let stem = lf
                    .file
                    .path
                    .file_stem()
                    .map_or_else(|| "stdin".into(), |s| s.to_string_lossy().into_owned());
                let name = PathBuf::from(target.name())
                    .join(format!("{stem}.{}", extension(args, backend)));
                if let Some((_, first)) = files.get(&name) {
                    failures.push(
                        Diagnostic::new(
                            Code::Io,
                            format!(
                                "output file {} would also be written for {}; rename one rule file",
                                name.display(),
                                first.display()
                            ),
                        )
                        .at_path(&lf.file.path),
                    );
                    continue;
                }
                files.insert(name, (text, lf.file.path.clone()));
            } else if matches!(args.format, Format::Text | Format::QueryDefinition) {
                writeln!(out, "{text}")?;
            }
        }
    }
    let mut status = Status::Success;
    if let Some(dir) = &args.output_dir {
        for &backend in &backends {
            let target_dir = dir.join(backend.target().name());
            let mine: BTreeMap<PathBuf, (String, PathBuf)> = files
                .iter()
                .filter(|(k, _)| k.starts_with(backend.target().name()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if args.check {
                if check_dir(&target_dir, dir, &mine, extension(args, backend), out)? {
                    status = Status::Failure;
                }
                continue;
            }
            if let Err(e) = std::fs::create_dir_all(&target_dir) {
                io_errors.push(
                    Diagnostic::new(Code::Io, format!("cannot create directory: {e}"))
                        .at_path(&target_dir),
                );
            }
            for (name, (text, _)) in &mine {
                let p = dir.join(name);
                if let Err(e) = std::fs::write(&p, text) {
                    io_errors
                        .push(Diagnostic::new(Code::Io, format!("cannot write: {e}")).at_path(&p));
                }
            }
        }
    }
    failures.sort();
    for d in io_errors.iter().chain(&failures) {
        writeln!(err, "{}", shown(d))?;
    }
    if !failures.is_empty() {
        status = status.max(Status::Failure);
    }
    if !io_errors.is_empty() {
        status = Status::Error;
    }
    Ok(status)
}

/// The extension of files written with -o: the target's, or `json` for saved-query definitions.
fn extension(args: &ConvertArgs, backend: &dyn crate::backend::Backend) -> &'static str {
    if args.format == Format::QueryDefinition {
        "json"
    } else {
        backend.extension()
    }
}

/// Compare `expected` (names relative to `root`) with the files in `target_dir`; print a unified
/// diff for each difference. Returns whether anything differs.
fn check_dir(
    target_dir: &Path,
    root: &Path,
    expected: &BTreeMap<PathBuf, (String, PathBuf)>,
    ext: &str,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let mut differs = false;
    for (name, (want, _)) in expected {
        let p = root.join(name);
        let have = std::fs::read_to_string(&p).ok();
        if have.as_deref() == Some(want.as_str()) {
            continue;
        }
        differs = true;
        let old_name = if have.is_some() {
            p.display().to_string()
        } else {
            "/dev/null".to_owned()
        };
        let diff = similar::TextDiff::from_lines(have.as_deref().unwrap_or(""), want.as_str());
        write!(
            out,
            "{}",
            diff.unified_diff()
                .context_radius(3)
                .header(&old_name, &format!("{} (generated)", p.display()))
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
            let have = std::fs::read_to_string(&p).unwrap_or_default();
            let diff = similar::TextDiff::from_lines(have.as_str(), "");
            write!(
                out,
                "{}",
                diff.unified_diff()
                    .header(&p.display().to_string(), "/dev/null")
            )?;
            writeln!(out, "extra file: {} (no rule produces it)", p.display())?;
        }
    }
    Ok(differs)
}

/// `rulecast test`: run every rule file's tests (see [`crate::ruletest::run`]); a `FAIL` line on
/// stdout for each test that does not pass, then a summary line.
fn test(args: &TestArgs, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<Status> {
    let Some(opts) = placeholders(&args.placeholders, err)? else {
        return Ok(Status::Error);
    };
    let mut io_errors = Vec::new();
    let loaded = load_inputs(&args.paths, "<stdin>", &opts, &mut io_errors);
    let (mut passed, mut failed, mut skipped, mut untested) = (0usize, 0usize, 0usize, 0usize);
    // Tests of rules that did not convert (the error is on stderr): not run, apart from the
    // tests that ran and disagreed.
    let (mut not_run, mut unconverted) = (0usize, 0usize);
    for lf in &loaded {
        match ruletest::run::test_file(lf) {
            FileOutcome::Untested => untested += 1,
            FileOutcome::Unreadable(d) => {
                writeln!(err, "{}", shown(&d))?;
                failed += 1;
            }
            FileOutcome::NotConverted { problems, cases } => {
                for problem in &problems {
                    match problem {
                        SetupError::Rule(d) => writeln!(err, "{}", shown(d))?,
                        other => writeln!(err, "{}: {other}", lf.file.path.display())?,
                    }
                }
                unconverted += 1;
                not_run += cases;
            }
            FileOutcome::Ran {
                tests_path,
                results,
            } => {
                for CaseResult { case, verdicts } in &results {
                    let Some(v) = verdicts else {
                        skipped += 1;
                        continue;
                    };
                    if v.agree_with(case.expected) {
                        passed += 1;
                        continue;
                    }
                    failed += 1;
                    writeln!(
                        out,
                        "FAIL {} :: {}: expected {}, evaluator {}, jq {}",
                        tests_path.display(),
                        case.name,
                        case.expected,
                        v.evaluator,
                        match v.jq() {
                            Ok(b) => b.to_string(),
                            Err(e) => format!("error ({e})"),
                        }
                    )?;
                }
            }
        }
    }
    for d in &io_errors {
        writeln!(err, "{}", shown(d))?;
    }
    let not_run_note = if unconverted > 0 {
        format!(", {not_run} not run ({unconverted} rule files did not convert)")
    } else {
        String::new()
    };
    writeln!(
        out,
        "{passed} passed, {failed} failed, {skipped} skipped{not_run_note} ({untested} rule files without tests)"
    )?;
    Ok(if !io_errors.is_empty() {
        Status::Error
    } else if failed > 0 || unconverted > 0 {
        Status::Failure
    } else {
        Status::Success
    })
}

/// Load every rule of the inputs; print each failure; the loaded rules with their display paths.
fn load_all(
    paths: &[PathBuf],
    placeholders_file: &Option<PathBuf>,
    err: &mut dyn Write,
) -> std::io::Result<Option<(Vec<LoadedFile>, Status)>> {
    let Some(opts) = placeholders(placeholders_file, err)? else {
        return Ok(None);
    };
    let mut io_errors = Vec::new();
    let loaded = load_inputs(paths, "<stdin>", &opts, &mut io_errors);
    let mut status = Status::Success;
    let mut failures: Vec<FileDiagnostic> = loaded
        .iter()
        .flat_map(|lf| {
            lf.rules
                .iter()
                .filter_map(|r| r.as_ref().err().map(|d| d.clone().in_file(&lf.file)))
        })
        .collect();
    failures.sort();
    for d in io_errors.iter().chain(&failures) {
        writeln!(err, "{}", shown(d))?;
    }
    if !failures.is_empty() {
        status = Status::Failure;
    }
    if !io_errors.is_empty() {
        status = Status::Error;
    }
    Ok(Some((loaded, status)))
}

fn explain_cmd(
    args: &ExplainArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let Some((loaded, status)) = load_all(&args.paths, &args.placeholders, err)? else {
        return Ok(Status::Error);
    };
    let mut first = true;
    for lf in &loaded {
        let path = lf.file.path.display().to_string();
        for rule in lf.rules.iter().flatten() {
            let e = crate::report::explain::explain(rule, &path);
            match args.format {
                ReportFormat::Json => {
                    writeln!(out, "{}", serde_json::to_string(&e).unwrap_or_default())?
                }
                ReportFormat::Text => {
                    if !first {
                        writeln!(out)?;
                    }
                    write!(out, "{}", crate::report::explain::render_text(&e))?;
                }
                ReportFormat::Markdown => {
                    if !first {
                        writeln!(out)?;
                    }
                    write!(out, "{}", crate::report::explain::render_markdown(&e))?;
                }
            }
            first = false;
        }
    }
    Ok(status)
}

fn catalog_cmd(
    args: &CatalogArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let Some((loaded, status)) = load_all(&args.paths, &args.placeholders, err)? else {
        return Ok(Status::Error);
    };
    let rules: Vec<(String, &crate::rule::Rule)> = loaded
        .iter()
        .flat_map(|lf| {
            let path = lf.file.path.display().to_string();
            lf.rules.iter().flatten().map(move |r| (path.clone(), r))
        })
        .collect();
    let catalog = crate::report::catalog::build(&rules);
    let text = match args.format {
        CatalogFormat::Markdown => crate::report::catalog::render_markdown(&catalog),
        CatalogFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&catalog).unwrap_or_default()
        ),
    };
    match &args.output {
        Some(p) => {
            if let Err(e) = std::fs::write(p, &text) {
                writeln!(
                    err,
                    "{}",
                    Diagnostic::new(Code::Io, format!("cannot write: {e}")).at_path(p)
                )?;
                return Ok(Status::Error);
            }
        }
        None => write!(out, "{text}")?,
    }
    Ok(status)
}

/// `convert --format markdown`: a report an analyst can read and paste from.
fn markdown_report(
    args: &ConvertArgs,
    loaded: &[LoadedFile],
    mapping: Option<&crate::mapping::Mapping>,
    io_errors: Vec<FileDiagnostic>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    use crate::report::md_cell;
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
            let m = &rule.meta;
            writeln!(out, "## {}\n", md_cell(&m.title))?;
            writeln!(out, "- level: {}", m.level.as_deref().unwrap_or("-"))?;
            if let Some(id) = &m.id {
                writeln!(out, "- id: {}", md_cell(id))?;
            }
            writeln!(out, "- source: `{}`", md_cell(&path))?;
            let mitre: Vec<&str> = m
                .tags
                .iter()
                .filter(|t| t.starts_with("attack."))
                .map(String::as_str)
                .collect();
            if !mitre.is_empty() {
                writeln!(out, "- MITRE ATT&CK: {}", mitre.join(", "))?;
            }
            if let Some(d) = &m.description {
                writeln!(out, "\n{}", d.trim())?;
            }
            if !m.falsepositives.is_empty() {
                writeln!(out, "\nFalse positives:\n")?;
                for f in &m.falsepositives {
                    writeln!(out, "- {}", md_cell(f))?;
                }
            }
            for t in Target::ALL {
                let Some(b) = t.backend() else { continue };
                writeln!(out, "\n### {t}\n")?;
                match render_mapped(b, rule, args, mapping, &path) {
                    Ok(q) => {
                        // A fence longer than any backtick run in the query, so nothing closes it early.
                        let longest = q.split(|c| c != '`').map(str::len).max().unwrap_or(0);
                        let fence = "`".repeat(longest.max(2) + 1);
                        let lang = match t {
                            Target::Athena => "sql",
                            Target::Jq => "jq",
                            Target::Cloudwatch => "",
                        };
                        writeln!(out, "{fence}{lang}\n{}\n{fence}", q.trim_end())?;
                    }
                    Err(d) => {
                        let fd = d.in_file(&lf.file);
                        writeln!(out, "Not available: {}", md_cell(&fd.message))?;
                        failures.push(fd);
                    }
                }
            }
        }
    }
    failures.sort();
    for d in io_errors.iter().chain(&failures) {
        writeln!(err, "{}", shown(d))?;
    }
    Ok(if !io_errors.is_empty() {
        Status::Error
    } else if !failures.is_empty() {
        Status::Failure
    } else {
        Status::Success
    })
}
