//! Backends: the seam between the IR and a query language.
//!
//! A backend is a small token table ([`Syntax`]) plus a predicate renderer and a comment escaper.
//! The shared code here walks the boolean tree, lays it out, and renders the query frame through
//! the backend's minijinja template. It never asks which target it is rendering for: what differs
//! is said by the backend's methods.

pub mod athena;
pub mod bundle;
pub mod cloudwatch;
pub mod jq;

use std::any::Any;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::{Arc, Mutex};

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use crate::correlation::Correlation;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Expr, FieldPath, Pattern, Predicate, Quantifier, Subject, Test};
use crate::rule::Rule;

/// Declares the targets, one line each: the enum variant, the name `-t` takes (also the
/// template and output directory name), the backend, and what the target says about itself as
/// data ([`TargetInfo`]: description, template, file extension, code-block language, Boolean
/// tokens). What a target can render is a method of its [`Backend`], so a new target is one line
/// here, one directory and one template.
macro_rules! targets {
    ($($(#[$doc:meta])* $variant:ident = $name:literal => $backend:expr, $info:expr;)+) => {
        /// The query languages rulecast renders to.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Target {
            $($(#[$doc])* $variant,)+
        }

        impl Target {
            /// Every target, in the order `-t all` renders them.
            pub const ALL: [Target; [$($name),+].len()] = [$(Target::$variant),+];

            /// The name `-t` takes.
            pub fn name(self) -> &'static str {
                match self {
                    $(Target::$variant => $name,)+
                }
            }

            /// The backend that renders this target.
            pub fn backend(self) -> &'static dyn Backend {
                match self {
                    $(Target::$variant => &$backend,)+
                }
            }

            /// What the target says about itself.
            pub fn info(self) -> &'static TargetInfo {
                match self {
                    $(Target::$variant => {
                        static INFO: TargetInfo = $info;
                        &INFO
                    })+
                }
            }
        }
    };
}

#[rustfmt::skip]
targets! {
    /// jq filters over CloudTrail files and JSON Lines.
    Jq = "jq" => jq::JqBackend, TargetInfo::new("jq filter over CloudTrail files ({\"Records\":[...]}) or JSON Lines", "jq/filter.jq.j2", "jq", "jq", &jq::SYNTAX);
    /// Athena (Trino) SQL.
    Athena = "athena" => athena::AthenaBackend, TargetInfo::new("Athena (Trino) SQL over the CloudTrail table or Security Lake", "athena/query.sql.j2", "sql", "sql", &athena::SYNTAX);
    /// CloudWatch Logs Insights.
    Cloudwatch = "cloudwatch" => cloudwatch::CloudwatchBackend, TargetInfo::new("CloudWatch Logs Insights (CWLI) query over CloudTrail in CloudWatch Logs", "cloudwatch/query.cwl.j2", "cwl", "", &cloudwatch::SYNTAX);
}

impl Target {
    /// One line for `rulecast targets`.
    pub fn description(self) -> &'static str {
        self.backend().description()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
                format!("unknown target '{s}'; expected one of {}", names.join(", "))
            })
    }
}

/// What a target says about itself: a row of data per backend ([`Backend::info`]).
#[derive(Debug)]
pub struct TargetInfo {
    /// One line for `rulecast targets`: what the query is and what it runs over.
    pub description: &'static str,
    /// The template (under `templates/`) that frames the condition.
    pub template: &'static str,
    /// The output file extension (`jq`, `sql`, `cwl`).
    pub extension: &'static str,
    /// The language tag of a fenced Markdown code block holding a query (`""` for none).
    pub code_language: &'static str,
    /// Its Boolean tokens and layout.
    pub syntax: &'static Syntax,
}

impl TargetInfo {
    /// A row of the target table, in field order.
    pub const fn new(
        description: &'static str,
        template: &'static str,
        extension: &'static str,
        code_language: &'static str,
        syntax: &'static Syntax,
    ) -> TargetInfo {
        TargetInfo {
            description,
            template,
            extension,
            code_language,
            syntax,
        }
    }
}

/// Boolean tokens and layout of a target language.
#[derive(Debug)]
pub struct Syntax {
    /// Infix conjunction, without spaces (`and`, `AND`).
    pub and: &'static str,
    /// Infix disjunction (`or`, `OR`).
    pub or: &'static str,
    /// Null-safe negation around an already grouped operand: `{}` is replaced by the operand.
    pub not: &'static str,
    pub true_: &'static str,
    pub false_: &'static str,
    /// Width beyond which an AND/OR group is broken over lines.
    pub max_width: usize,
}

/// What a rendered condition needs from the query frame (helper definitions, say).
#[derive(Debug, Default, Clone)]
pub struct Needs {
    /// Named helpers the template must define (jq `def`s, say).
    pub helpers: BTreeSet<&'static str>,
    /// Fields the condition reads, in first-use order (for selected columns or `fields`).
    pub fields: Vec<String>,
    /// Notes the template prints as comments (an approximation the target forced, say).
    pub notes: Vec<String>,
}

impl Needs {
    pub fn field(&mut self, name: String) {
        if !self.fields.contains(&name) {
            self.fields.push(name);
        }
    }

    pub fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }
}

/// Everything a backend sees while rendering one rule.
pub struct RenderCx<'a> {
    pub opts: &'a RenderOptions,
    /// What [`Backend::prepare`] made of `opts`: read it back with [`RenderCx::settings`].
    pub settings: &'a (dyn Any + Send + Sync),
    pub needs: Needs,
    /// How many per-element conditions ([`Expr::Elements`]) enclose what is being rendered; when
    /// not 0, a predicate's paths are relative to the innermost one's element.
    pub depth: usize,
    /// The elements being rendered, innermost last, for targets that repeat an
    /// [`Expr::Elements`] body once per element (see [`Backend::expand_elements`]).
    pub elements: Vec<ElementScope>,
    /// What the backend noted about each enclosing per-element condition when it framed it
    /// ([`Backend::elements`]), outermost first: slot `d` belongs to the condition whose body is
    /// rendered at depth `d + 1`. Only the backend that wrote a note reads it back.
    pub element_notes: Vec<Box<dyn Any + Send + Sync>>,
}

impl<'a> RenderCx<'a> {
    /// A context for one rule, with the run's options and what the backend prepared of them.
    pub fn new(opts: &'a RenderOptions, settings: &'a (dyn Any + Send + Sync)) -> RenderCx<'a> {
        RenderCx {
            opts,
            settings,
            needs: Needs::default(),
            depth: 0,
            elements: Vec::new(),
            element_notes: Vec::new(),
        }
    }

    /// The backend's own settings, as its [`Backend::prepare`] made them.
    pub fn settings<T: Any>(&self) -> Result<&'a T, Diagnostic> {
        self.settings.downcast_ref::<T>().ok_or_else(|| {
            Diagnostic::new(
                Code::Internal,
                "internal: a backend was handed settings another backend prepared",
            )
        })
    }
}

/// Builds a saved query from a rule's title, its query and the `--log-group`s
/// ([`Backend::saved_query`]).
pub type SavedQuery = fn(&str, &str, &[String]) -> serde_json::Value;

/// A backend's checked options ([`Backend::prepare`]), shared by every rule of a run.
pub type Settings = Arc<dyn Any + Send + Sync>;

/// One array element an [`Expr::Elements`] body is being rendered for.
#[derive(Debug, Clone)]
pub struct ElementScope {
    /// The array's path from the event root, without element indices.
    pub path: crate::ir::FieldPath,
    /// The target's name for the element (`resources.0`).
    pub name: String,
}

/// One target language.
pub trait Backend: Sync {
    /// How this target stores a query for later use (CloudWatch: a saved query definition),
    /// built from the rule's title, the query and the `--log-group`s; None (the default) when
    /// the target has no saved queries.
    fn saved_query(&self) -> Option<SavedQuery> {
        None
    }
    fn target(&self) -> Target;
    /// What the target says about itself, as data (its row of the target table).
    fn info(&self) -> &'static TargetInfo {
        self.target().info()
    }
    /// One line for `rulecast targets`: what the query is and what it runs over.
    fn description(&self) -> &'static str {
        self.info().description
    }
    /// The language tag of a fenced Markdown code block holding a query (`""` for none).
    fn code_language(&self) -> &'static str {
        self.info().code_language
    }
    /// The template (under `templates/`) that frames the condition.
    fn template(&self) -> &'static str {
        self.info().template
    }
    /// The output file extension (`jq`, `sql`, `cwl`).
    fn extension(&self) -> &'static str {
        self.info().extension
    }
    fn syntax(&self) -> &'static Syntax {
        self.info().syntax
    }
    /// Render one predicate as a self-contained (grouped) expression.
    fn predicate(&self, p: &Predicate, cx: &mut RenderCx) -> Result<String, Diagnostic>;
    /// Extra template variables for the query frame (selected columns, time bounds, ...).
    fn frame(
        &self,
        _rule: &Rule,
        _cx: &RenderCx,
    ) -> Result<Vec<(&'static str, Value)>, Diagnostic> {
        Ok(Vec::new())
    }
    /// Render "the one value at `path` is a string matching one of `patterns`" (ASCII letters
    /// folded when `fold`: Python `x.lower().startswith(("a", "b"))`) as one expression, when the
    /// target has a shorter form than an OR of single matches (the value read and folded once).
    /// `None` (the default) falls back to one match each.
    fn one_of_strings(
        &self,
        _path: &FieldPath,
        _fold: bool,
        _patterns: &[&Pattern],
        _cx: &mut RenderCx,
    ) -> Option<Result<String, Diagnostic>> {
        None
    }
    /// Render "some value of `subject` passes one of `tests`" as one expression, when the target
    /// has a cheaper or clearer form than an OR of single predicates (a value list as `IN (...)`,
    /// one `any(...)` over the values). `None` falls back to one predicate per test.
    fn any_of(
        &self,
        _subject: &Subject,
        _tests: &[&Test],
        _cx: &mut RenderCx,
    ) -> Option<Result<String, Diagnostic>> {
        None
    }
    /// Options to render again with after `err`, when the query came out too long and a setting
    /// the user left at its default can shorten it (CloudWatch: fewer list elements). `original`
    /// is what the user asked for, `tried` what the last attempt used. None gives `err`.
    fn shrink(
        &self,
        _original: &RenderOptions,
        _tried: &RenderOptions,
        _err: &Diagnostic,
    ) -> Option<RenderOptions> {
        None
    }
    /// The text around a rendered [`Expr::Elements`] body: `(before, after)`, where the body is
    /// rendered as a condition on one element; `None` when the path can never hold an array (a
    /// scalar column), so the whole condition is false. Targets without per-element conditions
    /// keep this default and report them unsupported.
    fn elements(
        &self,
        _el: &crate::ir::Elements,
        _cx: &mut RenderCx,
    ) -> Result<Option<(String, String)>, Diagnostic> {
        Err(Diagnostic::unsupported(
            self.target().name(),
            "a condition on each element of an array",
        ))
    }
    /// Render a whole [`Expr::Elements`] when the target has no per-element condition and instead
    /// repeats the body once per element (pushing an [`ElementScope`] for each copy and rendering
    /// it with [`render_operand`]). `None` (the default) uses [`Backend::elements`].
    fn expand_elements(
        &self,
        _el: &crate::ir::Elements,
        _cx: &mut RenderCx,
        _indent: usize,
    ) -> Option<Result<String, Diagnostic>> {
        None
    }
    /// The template variables of a Sigma correlation rule's query (see [`crate::correlation`]),
    /// rendered through [`Backend::correlation_template`]. Targets that cannot express
    /// correlations keep this default: an E401 error for the rule.
    fn correlation(
        &self,
        _rule: &Rule,
        _corr: &Correlation,
        _cx: &mut RenderCx,
    ) -> Result<Vec<(&'static str, Value)>, Diagnostic> {
        Err(Diagnostic::unsupported(
            self.target().name(),
            "a Sigma correlation rule",
        ))
    }
    /// The template (under `templates/`) that frames a correlation query:
    /// `<target>/correlation.<extension>.j2`.
    fn correlation_template(&self) -> String {
        format!(
            "{}/correlation.{}.j2",
            self.target().name(),
            self.extension()
        )
    }
    /// Check the finished query (a length limit, say).
    fn finish(&self, query: String, _cx: &RenderCx) -> Result<String, Diagnostic> {
        Ok(query)
    }
    /// Make `text` safe inside a line comment of the target (no line breaks, no escapes that
    /// continue the comment).
    fn comment(&self, text: &str) -> String;
    /// Check the options that apply to this target and turn them into the backend's own
    /// settings, once per run; the renderer reads them back with [`RenderCx::settings`]. A bad
    /// option is the error of every rule rendered with it. Targets without options keep the
    /// default (no settings).
    fn prepare(&self, _opts: &RenderOptions) -> Result<Settings, Diagnostic> {
        Ok(Arc::new(()))
    }
    /// The command-line options this target reads. An option given on the command line that no
    /// selected target reads is a usage error, not silently ignored.
    fn options(&self) -> &'static [RenderOption] {
        &[]
    }
    /// NOT of a rendered operand when the target has an exact shorter form than its null-safe
    /// `not` token (`x IS NULL` for `NOT COALESCE(x IS NOT NULL, FALSE)`: an `IS NULL` test is
    /// never NULL). None keeps the token.
    fn negate_text(&self, _inner: &str) -> Option<String> {
        None
    }
    /// The operands of an OR, some of them merged when the target has a shorter exact form for
    /// them together (`x IN ('a', 'b')` for `x = 'a' OR x = 'b'`). The default keeps them.
    fn merge_disjuncts(&self, parts: Vec<String>) -> Vec<String> {
        parts
    }
    /// The operands of an AND, some of them merged when the target has a shorter exact form for
    /// them together (`x <> ''` for `x IS NOT NULL AND x IS DISTINCT FROM ''`). The default keeps
    /// them.
    fn merge_conjuncts(&self, parts: Vec<String>) -> Vec<String> {
        parts
    }
    /// The template (under `templates/`) that frames a bundle of rules (`convert --bundle`); None
    /// (the default) when the target has none.
    fn bundle_template(&self) -> Option<&'static str> {
        None
    }
    /// `s` as a string literal of the target, safe whatever it holds (a bundle's rule labels);
    /// None (the default) when the target has none to offer.
    fn string_literal(&self, _s: &str) -> Option<String> {
        None
    }
    /// The longest query the target runs, in characters; None (the default) for no limit.
    fn max_query_len(&self) -> Option<usize> {
        None
    }
    /// Why this target does not read `option`, when there is more to say than that it does not
    /// (where the target takes that setting instead).
    fn option_note(&self, _option: RenderOption) -> Option<&'static str> {
        None
    }
}

/// A command-line option that shapes a query; each backend lists the ones it reads
/// ([`Backend::options`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderOption {
    Limit,
    Table,
    Schema,
    Since,
    Until,
    Partitions,
    LogGroup,
    ArrayMax,
    NoShapes,
}

impl RenderOption {
    /// The flag as the command line spells it.
    pub fn flag(self) -> &'static str {
        match self {
            RenderOption::Limit => "--limit",
            RenderOption::Table => "--table",
            RenderOption::Schema => "--schema",
            RenderOption::Since => "--since",
            RenderOption::Until => "--until",
            RenderOption::Partitions => "--partitions",
            RenderOption::LogGroup => "--log-group",
            RenderOption::ArrayMax => "--array-max",
            RenderOption::NoShapes => "--no-shapes",
        }
    }
}

/// Options for rendering. Each target reads the ones that apply to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RenderOptions {
    /// The rule's path as shown in the query header.
    pub source_path: String,
    /// Row limit (`LIMIT`, `limit`).
    pub limit: Option<u64>,
    /// Table name (Athena).
    pub table: Option<String>,
    /// Table schema name (Athena: `cloudtrail` or `security-lake`).
    pub schema: Option<String>,
    /// Start of the time window, as given (RFC 3339 or relative like `24h`).
    pub since: Option<String>,
    /// End of the time window, as given.
    pub until: Option<String>,
    /// Partition layout for time pruning (Athena: `projection` or `ymd`).
    pub partitions: Option<String>,
    /// Log groups for saved queries (CloudWatch).
    pub log_groups: Vec<String>,
    /// How many array elements an any-element predicate expands to (CloudWatch).
    pub array_max: Option<usize>,
    /// Read every field without the CloudTrail shape table (Athena): a path the table calls a
    /// scalar is read as every other path is, for data that does not follow the documentation.
    pub no_shapes: bool,
    /// "Now", fixed for reproducible relative time windows (RFC 3339); the clock when None.
    pub now: Option<String>,
    /// A directory whose files override built-in templates of the same relative name.
    pub templates_dir: Option<PathBuf>,
    /// Columns the table has besides its schema's (Athena), as a mapping names them: (name, DDL
    /// type).
    pub columns: Vec<(String, String)>,
}

impl RenderOptions {
    /// These options, each one left unset taken from `fallback` (flags over a configuration
    /// file). The rule's path, `now`, the templates and the columns are this one's.
    pub fn or(self, fallback: &RenderOptions) -> RenderOptions {
        let f = fallback.clone();
        RenderOptions {
            limit: self.limit.or(f.limit),
            table: self.table.or(f.table),
            schema: self.schema.or(f.schema),
            since: self.since.or(f.since),
            until: self.until.or(f.until),
            partitions: self.partitions.or(f.partitions),
            log_groups: if self.log_groups.is_empty() {
                f.log_groups
            } else {
                self.log_groups
            },
            array_max: self.array_max.or(f.array_max),
            no_shapes: self.no_shapes || f.no_shapes,
            ..self
        }
    }

    /// The options that are set, in flag order.
    pub fn given(&self) -> Vec<RenderOption> {
        let set = [
            (RenderOption::Limit, self.limit.is_some()),
            (RenderOption::Table, self.table.is_some()),
            (RenderOption::Schema, self.schema.is_some()),
            (RenderOption::Since, self.since.is_some()),
            (RenderOption::Until, self.until.is_some()),
            (RenderOption::Partitions, self.partitions.is_some()),
            (RenderOption::LogGroup, !self.log_groups.is_empty()),
            (RenderOption::ArrayMax, self.array_max.is_some()),
            (RenderOption::NoShapes, self.no_shapes),
        ];
        set.into_iter()
            .filter(|(_, on)| *on)
            .map(|(o, _)| o)
            .collect()
    }
}

/// Render a rule's whole query for `backend`, checking `opts` first (see [`Prepared`] to check
/// them once for many rules).
pub fn render(
    backend: &dyn Backend,
    rule: &Rule,
    opts: &RenderOptions,
) -> Result<String, Diagnostic> {
    Prepared::new(backend, opts).render(rule, opts)
}

/// A backend with the run's options checked once by [`Backend::prepare`], ready to render every
/// rule of the run.
pub struct Prepared<'b> {
    backend: &'b dyn Backend,
    settings: Result<Settings, Diagnostic>,
}

impl<'b> Prepared<'b> {
    /// Check `opts` for `backend`. A bad option is reported by every [`Prepared::render`].
    pub fn new(backend: &'b dyn Backend, opts: &RenderOptions) -> Prepared<'b> {
        Prepared {
            backend,
            settings: backend.prepare(opts),
        }
    }

    pub fn backend(&self) -> &'b dyn Backend {
        self.backend
    }

    /// Render `rule` with `opts`: the options [`Prepared::new`] checked, with this rule's
    /// `source_path`. When the query comes out too long and the backend says a setting left at
    /// its default can shorten it ([`Backend::shrink`]), it is rendered again with that setting.
    pub fn render(&self, rule: &Rule, opts: &RenderOptions) -> Result<String, Diagnostic> {
        let settings = self.settings.as_ref().map_err(Clone::clone)?;
        let mut result = render_with(self.backend, rule, opts, settings.as_ref());
        let mut tried = opts.clone();
        while let Err(err) = &result {
            let Some(next) = self.backend.shrink(opts, &tried, err) else {
                break;
            };
            let settings = self.backend.prepare(&next)?;
            result = render_with(self.backend, rule, &next, settings.as_ref());
            tried = next;
        }
        result
    }
}

fn render_with(
    backend: &dyn Backend,
    rule: &Rule,
    opts: &RenderOptions,
    settings: &(dyn Any + Send + Sync),
) -> Result<String, Diagnostic> {
    if let Some(p) = inexact_equality(&rule.condition) {
        return Err(Diagnostic::unsupported(
            backend.target().name(),
            "'==' with a number of magnitude 2^53 or more (Python compares integers exactly; \
             this target compares numbers as doubles)",
        )
        .or_span(p.span));
    }
    let mut cx = RenderCx::new(opts, settings);
    let (condition, extra, template) = match rule.correlation.as_deref() {
        Some(corr) => {
            corr.check_resolved()?;
            // A target's refusal points at the correlation's document.
            let mut extra = backend
                .correlation(rule, corr, &mut cx)
                .map_err(|d| d.or_span(rule.span))?;
            for n in &corr.notes {
                cx.needs.note(n.clone());
            }
            let texts = |xs: &[crate::correlation::Named]| -> Vec<String> {
                xs.iter().map(|x| x.text.clone()).collect()
            };
            extra.extend([
                ("correlation_type", Value::from(corr.kind.name())),
                ("correlation_rules", Value::from(texts(&corr.rules))),
                ("group_by", Value::from(texts(&corr.group_by))),
                ("timespan", Value::from(corr.timespan_text.clone())),
                ("timespan_seconds", Value::from(corr.timespan)),
                ("correlation_condition", Value::from(corr.condition_text())),
            ]);
            (String::new(), extra, backend.correlation_template())
        }
        None => {
            for n in &rule.meta.notes {
                cx.needs.note(n.clone());
            }
            let condition = render_condition(backend, &rule.condition, &mut cx)?;
            let extra = backend.frame(rule, &cx)?;
            (condition, extra, backend.template().to_owned())
        }
    };
    let templates = environment(backend, opts.templates_dir.as_deref())?;
    let origin = templates
        .origins
        .get(&template)
        .cloned()
        .unwrap_or_else(|| format!("templates/{template}"));
    let tmpl = templates
        .env
        .get_template(&template)
        .map_err(|e| template_error(&e, &origin))?;
    let base = minijinja::context! {
        title => rule.meta.title,
        id => rule.meta.id,
        level => rule.meta.level,
        status => rule.meta.status,
        description => rule.meta.description,
        tags => rule.meta.tags,
        fields => rule.meta.fields,
        author => rule.meta.author,
        path => opts.source_path,
        target => backend.target().name(),
        condition => Value::from_safe_string(condition),
        helpers => cx.needs.helpers.iter().copied().collect::<Vec<_>>(),
        notes => cx.needs.notes,
        condition_fields => cx.needs.fields,
    };
    let extra: std::collections::BTreeMap<&str, Value> = extra.into_iter().collect();
    let ctx = minijinja::context! { ..Value::from(extra), ..base };
    let query = tmpl.render(ctx).map_err(|e| {
        let d = template_error(&e, &origin);
        Diagnostic {
            message: format!("{} (while rendering {})", d.message, opts.source_path),
            ..d
        }
    })?;
    backend.finish(query, &cx)
}

/// A Python `==` ([`Test::Is`]) with a number no target compares exactly: every target reads
/// JSON numbers as doubles, which tell integers apart only below 2^53 (the event's
/// 9007199254740993 reads as 9007199254740992), where the reference evaluator compares exactly.
fn inexact_equality(e: &Expr) -> Option<&Predicate> {
    e.predicates().into_iter().find(|p| match &p.test {
        Test::Is(serde_json::Value::Number(n)) => {
            crate::eval::Num::of_json(&serde_json::Value::Number(n.clone()))
                .is_none_or(|x| x.to_f64().abs() >= 9_007_199_254_740_992.0)
        }
        _ => false,
    })
}

/// A template error naming the template file (`origin`) and line.
fn template_error(e: &minijinja::Error, origin: &str) -> Diagnostic {
    let mut msg = format!("template {origin}: {}", e.kind());
    if let Some(d) = e.detail() {
        msg.push_str(&format!(": {d}"));
    }
    Diagnostic::new(Code::Template, msg).in_other_file(origin, e.line().unwrap_or(1), 1)
}

/// Render the boolean tree. Every compound is parenthesised, so target precedence never matters.
/// A condition too wide for one line is laid out one operand per line; the template indents the
/// first line by two spaces, and the top-level group needs no parentheses of its own.
pub fn render_condition(
    backend: &dyn Backend,
    e: &Expr,
    cx: &mut RenderCx,
) -> Result<String, Diagnostic> {
    if let Some(f) = e
        .paths()
        .into_iter()
        .find(|f| f.root() != crate::ir::Root::Event)
    {
        return Err(Diagnostic::new(
            Code::Internal,
            format!("internal: the path {f} does not start from the event"),
        ));
    }
    render_expr(backend, e, cx, 1, true)
}

/// Render `e` as an operand of an enclosing expression at `indent`: grouped when compound.
pub fn render_operand(
    backend: &dyn Backend,
    e: &Expr,
    cx: &mut RenderCx,
    indent: usize,
) -> Result<String, Diagnostic> {
    render_expr(backend, e, cx, indent, false)
}

fn pad(level: usize) -> String {
    "  ".repeat(level)
}

fn render_expr(
    backend: &dyn Backend,
    e: &Expr,
    cx: &mut RenderCx,
    indent: usize,
    top: bool,
) -> Result<String, Diagnostic> {
    let s = backend.syntax();
    Ok(match e {
        Expr::Const(true) => s.true_.to_owned(),
        Expr::Const(false) => s.false_.to_owned(),
        Expr::Pred(p) => backend.predicate(p, cx).map_err(|d| d.or_span(p.span))?,
        Expr::Not(inner) => {
            let inner = render_expr(backend, inner, cx, indent, false)?;
            backend
                .negate_text(&inner)
                .unwrap_or_else(|| negate(s, &inner))
        }
        Expr::Elements(el) => {
            if let Some(r) = backend.expand_elements(el, cx, indent) {
                return r.map_err(|d| d.or_span(el.span));
            }
            let frame = backend.elements(el, cx).map_err(|d| d.or_span(el.span))?;
            let Some((before, after)) = frame else {
                return Ok(s.false_.to_owned());
            };
            cx.depth += 1;
            let body = render_expr(backend, &el.body, cx, indent + 1, true);
            cx.depth -= 1;
            format!("{before}{}{after}", body?)
        }
        Expr::And(xs) | Expr::Or(xs) => {
            let item_indent = if top { indent } else { indent + 1 };
            let mut parts = Vec::with_capacity(xs.len());
            let mut done = vec![false; xs.len()];
            for (i, x) in xs.iter().enumerate() {
                if done[i] {
                    continue;
                }
                if let (Expr::Or(_), Some((subject, span))) = (e, groupable(x)) {
                    // Gather the other value tests on the same subject in this OR.
                    let members: Vec<usize> = (i..xs.len())
                        .filter(|&j| {
                            !done[j] && groupable(&xs[j]).is_some_and(|(s, _)| s == subject)
                        })
                        .collect();
                    if members.len() > 1 {
                        let tests: Vec<&Test> = members
                            .iter()
                            .filter_map(|&j| match &xs[j] {
                                Expr::Pred(p) => Some(&p.test),
                                _ => None,
                            })
                            .collect();
                        if let Some(r) = backend.any_of(subject, &tests, cx) {
                            parts.push(r.map_err(|d| d.or_span(span))?);
                            members.iter().for_each(|&j| done[j] = true);
                            continue;
                        }
                    }
                }
                if let (Expr::Or(_), Some((path, fold, span))) = (e, exact_string(x)) {
                    // Gather the other string matches of the same value and case mode.
                    let members: Vec<usize> = (i..xs.len())
                        .filter(|&j| {
                            !done[j]
                                && exact_string(&xs[j])
                                    .is_some_and(|(p, f, _)| p == path && f == fold)
                        })
                        .collect();
                    if members.len() > 1 {
                        let patterns: Vec<&Pattern> = members
                            .iter()
                            .filter_map(|&j| match &xs[j] {
                                Expr::Pred(Predicate {
                                    test: Test::Str { pattern, .. },
                                    ..
                                }) => Some(pattern),
                                _ => None,
                            })
                            .collect();
                        if let Some(r) = backend.one_of_strings(path, fold, &patterns, cx) {
                            parts.push(r.map_err(|d| d.or_span(span))?);
                            members.iter().for_each(|&j| done[j] = true);
                            continue;
                        }
                    }
                }
                parts.push(render_expr(backend, x, cx, item_indent, false)?);
            }
            parts = if matches!(e, Expr::Or(_)) {
                backend.merge_disjuncts(parts)
            } else {
                backend.merge_conjuncts(parts)
            };
            group(s, matches!(e, Expr::And(_)), parts, indent, top)
        }
    })
}

/// Whether `v` is one plain double-quoted string literal, with no quote or backslash inside (the
/// same text in jq and Logs Insights): what the text-level merges accept as a value.
pub fn plain_quoted(v: &str) -> bool {
    v.len() >= 2
        && v.starts_with('"')
        && v.ends_with('"')
        && !v[1..v.len() - 1].contains(['"', '\\'])
}

/// Merge an operand of an AND that says "`x` is present" with one that says "`x` is not `v`"
/// (the same term `x`) into the target's one form of both, in the place of the first: `present`
/// reads the term of a presence test, `unequal` the value of an inequality on a given term, and
/// `join` writes the term with the value. Other operands stay as they are and where they are.
pub fn merge_presence(
    mut parts: Vec<String>,
    present: impl Fn(&str) -> Option<String>,
    unequal: impl Fn(&str, &str) -> Option<String>,
    join: impl Fn(&str, &str) -> String,
) -> Vec<String> {
    let mut i = 0;
    while i < parts.len() {
        if let Some(x) = present(&parts[i]) {
            let found = parts
                .iter()
                .enumerate()
                .find_map(|(j, p)| unequal(p, &x).map(|v| (j, v)));
            if let Some((j, v)) = found {
                parts[i] = join(&x, &v);
                parts.remove(j);
                if j < i {
                    i -= 1;
                }
            }
        }
        i += 1;
    }
    parts
}

/// Merge the operands of an OR that compare one term with one value each into one operand per
/// term: `split` reads an operand as (term, value) when it has that form; `join` writes a term
/// with its values. Other operands, and terms with one value, stay as they are and where they
/// are; a merged term takes the place of its first comparison.
pub fn merge_equalities(
    parts: Vec<String>,
    split: impl Fn(&str) -> Option<(String, String)>,
    join: impl Fn(&str, &[String]) -> String,
) -> Vec<String> {
    let keys: Vec<Option<(String, String)>> = parts.iter().map(|p| split(p)).collect();
    let mut values: Vec<(String, Vec<String>)> = Vec::new();
    for (term, value) in keys.iter().flatten() {
        match values.iter_mut().find(|(t, _)| t == term) {
            Some((_, vs)) => vs.push(value.clone()),
            None => values.push((term.clone(), vec![value.clone()])),
        }
    }
    let mut out = Vec::with_capacity(parts.len());
    let mut placed: Vec<&str> = Vec::new();
    for (part, key) in parts.iter().zip(&keys) {
        let Some((term, _)) = key else {
            out.push(part.clone());
            continue;
        };
        let vs = values
            .iter()
            .find(|(t, _)| t == term)
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default();
        if vs.len() < 2 {
            out.push(part.clone());
        } else if !placed.contains(&term.as_str()) {
            placed.push(term);
            out.push(join(term, vs));
        }
    }
    out
}

/// NOT of a rendered operand, a constant folded.
pub fn negate(s: &Syntax, inner: &str) -> String {
    if inner == s.true_ {
        s.false_.to_owned()
    } else if inner == s.false_ {
        s.true_.to_owned()
    } else {
        s.not.replace("{}", inner)
    }
}

/// An AND (`and`) or OR of rendered operands at `indent`, grouped and laid out like any compound;
/// constant operands fold away.
pub fn join_group(s: &Syntax, and: bool, parts: Vec<String>, indent: usize) -> String {
    group(s, and, parts, indent, false)
}

fn group(s: &Syntax, and: bool, mut parts: Vec<String>, indent: usize, top: bool) -> String {
    // A predicate the target could decide alone (a constant) folds into the group.
    let (op, unit, zero) = if and {
        (s.and, s.true_, s.false_)
    } else {
        (s.or, s.false_, s.true_)
    };
    if parts.iter().any(|p| p == zero) {
        return zero.to_owned();
    }
    parts.retain(|p| p != unit);
    // `a AND a` is `a` (and `a OR a` is `a`) in every target's logic, three-valued SQL included:
    // an operand is printed once.
    let mut seen = std::collections::HashSet::new();
    parts.retain(|p| seen.insert(p.clone()));
    if parts.is_empty() {
        return unit.to_owned();
    }
    if parts.len() == 1 {
        return parts.pop().unwrap_or_default();
    }
    let item_indent = if top { indent } else { indent + 1 };
    let flat = format!("({})", parts.join(&format!(" {op} ")));
    if flat.len() + 2 * indent <= s.max_width && !flat.contains('\n') {
        // The whole condition needs no parentheses of its own (a template that puts it beside
        // more text groups it, as it must for the one-per-line form below).
        if top {
            flat[1..flat.len() - 1].to_owned()
        } else {
            flat
        }
    } else {
        let body = parts.join(&format!("\n{}{op} ", pad(item_indent)));
        if top {
            body
        } else {
            format!("(\n{}{body}\n{})", pad(item_indent), pad(indent))
        }
    }
}

/// A string-only match of the one value at a path (Python `x.startswith("a")`): its path, case
/// mode and span.
fn exact_string(e: &Expr) -> Option<(&FieldPath, bool, crate::source::Span)> {
    match e {
        Expr::Pred(Predicate {
            subject: Subject::Field(path),
            quantifier: Quantifier::Exact,
            test: Test::Str { fold, .. },
            span,
        }) => Some((path, *fold, *span)),
        _ => None,
    }
}

/// A predicate that can join an any-of group: a value test under the `Any` quantifier.
fn groupable(e: &Expr) -> Option<(&Subject, crate::source::Span)> {
    match e {
        Expr::Pred(p)
            if p.quantifier == Quantifier::Any && !matches!(p.test, Test::Null | Test::Exists) =>
        {
            Some((&p.subject, p.span))
        }
        _ => None,
    }
}

/// The built-in templates, embedded in the binary.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "jq/filter.jq.j2",
        include_str!("../../templates/jq/filter.jq.j2"),
    ),
    (
        "jq/correlation.jq.j2",
        include_str!("../../templates/jq/correlation.jq.j2"),
    ),
    (
        "jq/helpers.jq.j2",
        include_str!("../../templates/jq/helpers.jq.j2"),
    ),
    (
        "athena/correlation.sql.j2",
        include_str!("../../templates/athena/correlation.sql.j2"),
    ),
    (
        "cloudwatch/correlation.cwl.j2",
        include_str!("../../templates/cloudwatch/correlation.cwl.j2"),
    ),
    (
        "jq/bundle.jq.j2",
        include_str!("../../templates/jq/bundle.jq.j2"),
    ),
    (
        "athena/bundle.sql.j2",
        include_str!("../../templates/athena/bundle.sql.j2"),
    ),
    (
        "athena/query.sql.j2",
        include_str!("../../templates/athena/query.sql.j2"),
    ),
    (
        "cloudwatch/bundle.cwl.j2",
        include_str!("../../templates/cloudwatch/bundle.cwl.j2"),
    ),
    (
        "cloudwatch/query.cwl.j2",
        include_str!("../../templates/cloudwatch/query.cwl.j2"),
    ),
];

/// A template environment: its auto-escaper is the target's comment escaper, so a rule's metadata
/// cannot leave the comment it is printed in. `origins` says where each template came from.
struct Templates {
    env: Environment<'static>,
    origins: HashMap<String, String>,
}

type TemplateCache = Mutex<HashMap<(Target, Option<PathBuf>), Arc<Templates>>>;

/// The environment for a target, with the built-in templates, or with any of them overridden by a
/// file of the same relative name under `dir` (`--templates DIR`). Built once per target and
/// directory.
fn environment(backend: &dyn Backend, dir: Option<&Path>) -> Result<Arc<Templates>, Diagnostic> {
    static CACHE: OnceLock<TemplateCache> = OnceLock::new();
    let key = (backend.target(), dir.map(Path::to_path_buf));
    let cache = CACHE.get_or_init(Default::default);
    if let Some(t) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(t);
    }
    let target = backend.target();
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|_| AutoEscape::Custom("rulecast"));
    env.set_formatter(move |out, _state, value| {
        let b = target.backend();
        if value.is_safe() {
            write!(out, "{value}")?;
        } else if value.is_none() || value.is_undefined() {
            // Optional metadata prints as nothing.
        } else {
            write!(out, "{}", b.comment(&value.to_string()))?;
        }
        Ok(())
    });
    let mut origins = HashMap::new();
    for (name, builtin) in TEMPLATES {
        let custom = dir.map(|d| d.join(name)).filter(|p| p.is_file());
        let (source, origin) = match &custom {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    Diagnostic::new(
                        Code::Template,
                        format!("cannot read template {}: {e}", p.display()),
                    )
                })?;
                (text, p.display().to_string())
            }
            None => ((*builtin).to_owned(), format!("templates/{name}")),
        };
        env.add_template_owned(*name, source)
            .map_err(|e| template_error(&e, &origin))?;
        origins.insert((*name).to_owned(), origin);
    }
    let t = Arc::new(Templates { env, origins });
    if let Ok(mut c) = cache.lock() {
        c.insert(key, t.clone());
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Comparisons of one term merge into one operand in the first one's place; the rest keep
    /// their order.
    #[test]
    fn equalities_merge_per_term() {
        let split = |p: &str| p.split_once('=').map(|(a, b)| (a.to_owned(), b.to_owned()));
        let join = |t: &str, vs: &[String]| format!("{t} in {}", vs.join("|"));
        let parts = |xs: &[&str]| xs.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            merge_equalities(
                parts(&["a=1", "x", "b=2", "a=3", "b=4", "c=5"]),
                split,
                join
            ),
            parts(&["a in 1|3", "x", "b in 2|4", "c=5"])
        );
        assert_eq!(
            merge_equalities(parts(&["x", "y"]), split, join),
            parts(&["x", "y"])
        );
    }

    /// Presence and inequality of one term, in each target's spelling, become one operand in the
    /// place of the first; other terms, other values and other shapes stay.
    #[test]
    fn presence_and_inequality_merge_in_every_target() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let athena = Target::Athena.backend();
        assert_eq!(
            athena.merge_conjuncts(v(&[
                "errorcode IS NOT NULL",
                "eventname = 'A'",
                "errorcode IS DISTINCT FROM ''",
            ])),
            v(&["errorcode <> ''", "eventname = 'A'"])
        );
        // The inequality first: the merged operand takes the presence test's place.
        assert_eq!(
            athena.merge_conjuncts(v(&["x IS DISTINCT FROM 'v'", "y = 'w'", "x IS NOT NULL"])),
            v(&["y = 'w'", "x <> 'v'"])
        );
        let kept = v(&[
            "x IS NOT NULL",
            "y IS DISTINCT FROM 'v'",
            "x IS DISTINCT FROM y",
        ]);
        assert_eq!(athena.merge_conjuncts(kept.clone()), kept);
        let cw = Target::Cloudwatch.backend();
        assert_eq!(
            cw.merge_conjuncts(v(&["(ispresent(errorCode))", r#"not (errorCode = "")"#])),
            v(&[r#"(errorCode != "")"#])
        );
        let kept = v(&["(ispresent(a))", r#"not (b = "")"#, r#"(a = "x")"#]);
        assert_eq!(cw.merge_conjuncts(kept.clone()), kept);
    }

    /// The target table and each backend agree about who is who, and what a target says about
    /// itself comes from its backend: names parse back, templates live in the target's directory.
    #[test]
    fn target_table_and_backends_agree() {
        let mut extensions = BTreeSet::new();
        for t in Target::ALL {
            let b = t.backend();
            assert_eq!(b.target(), t);
            assert_eq!(t.name().parse::<Target>(), Ok(t));
            assert!(b.template().starts_with(&format!("{}/", t.name())));
            assert!(!b.description().is_empty());
            assert!(extensions.insert(b.extension()), "{t}: extension shared");
        }
        let err = "bogus".parse::<Target>().unwrap_err();
        assert!(
            err.ends_with("expected one of jq, athena, cloudwatch"),
            "{err}"
        );
    }

    /// Options are checked once: a bad one is the error of every rule rendered with it.
    #[test]
    fn a_bad_option_fails_every_render_of_the_prepared_target() {
        let opts = RenderOptions {
            array_max: Some(0),
            ..RenderOptions::default()
        };
        let prepared = Prepared::new(Target::Cloudwatch.backend(), &opts);
        assert!(prepared.settings.is_err());
        assert!(Prepared::new(Target::Jq.backend(), &opts).settings.is_ok());
    }
}
