//! Sigma correlation rules (spec v2.1 `correlation:` documents): what they say, how their rule
//! references are resolved across the files of a run, and (in [`eval`]) what they mean.
//!
//! [`parse`] reads a document into a [`Correlation`] whose references are still text; [`resolve`]
//! finds the rules they name (by id, then name, then title with a note) in the same file or in
//! other files of the run, follows chains (a correlation of correlations) with a depth limit and
//! cycle detection, and works out where each base rule's group-by and value fields come from
//! (`aliases`). A correlation whose references cannot all be resolved is an error at the
//! reference's line. The meaning is stated in `docs/semantics.md` and defined by [`eval`].

pub mod eval;
pub mod parse;

use std::collections::HashMap;

use serde::Serialize;

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Expr, FieldPath};
use crate::rule::Rule;
use crate::source::Span;
use crate::LoadedFile;

/// How deep correlations may reference correlations.
pub const MAX_CHAIN_DEPTH: usize = 8;
/// How many base rules (counted through every chain) one correlation may use.
pub const MAX_BASES: usize = 256;
/// The longest timespan: ten years, in seconds.
pub const MAX_TIMESPAN: u64 = 3650 * 86_400;

/// The correlation types rulecast converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Events in the window.
    EventCount,
    /// Distinct values (or tuples) of `field` in the window.
    ValueCount,
    /// Distinct referenced rules seen in the window.
    Temporal,
    /// Referenced rules seen in their order in the window.
    TemporalOrdered,
    /// Sum of the JSON numbers of `field` in the window.
    ValueSum,
    /// Mean of the JSON numbers of `field` in the window.
    ValueAvg,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::EventCount => "event_count",
            Kind::ValueCount => "value_count",
            Kind::Temporal => "temporal",
            Kind::TemporalOrdered => "temporal_ordered",
            Kind::ValueSum => "value_sum",
            Kind::ValueAvg => "value_avg",
        }
    }

    /// Does the type aggregate a `field`?
    pub fn needs_field(self) -> bool {
        matches!(self, Kind::ValueCount | Kind::ValueSum | Kind::ValueAvg)
    }
}

/// A comparison of the window's value with a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Eq => "eq",
            Op::Neq => "neq",
        }
    }

    /// The operator as a symbol (`>=`); the same in jq and SQL apart from `!=`/`<>`.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Lt => "<",
            Op::Lte => "<=",
            Op::Eq => "==",
            Op::Neq => "!=",
        }
    }

    pub fn holds(self, x: f64, n: f64) -> bool {
        match self {
            Op::Gt => x > n,
            Op::Gte => x >= n,
            Op::Lt => x < n,
            Op::Lte => x <= n,
            Op::Eq => x == n,
            Op::Neq => x != n,
        }
    }
}

/// One comparison of a condition (a range has two, ANDed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bound {
    pub op: Op,
    pub value: f64,
}

/// Text as the rule wrote it, with where it was written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Named {
    pub text: String,
    #[serde(skip)]
    pub span: Span,
}

/// An `aliases` entry: a group-by name read from a different field per rule name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alias {
    pub name: String,
    /// Rule name → field, in the order written.
    pub fields: Vec<(String, String)>,
    #[serde(skip)]
    pub span: Span,
}

/// Where a base rule's group-by or value field comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A field of the event, read through objects only.
    Path(FieldPath),
    /// The inner correlation's group-by value at this index (a chain).
    Inner(usize),
}

/// What a base rule is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseKind {
    /// A plain rule: its condition over events.
    Rule(Expr),
    /// A correlation: its alert points are the events.
    Correlation(Box<Rule>),
}

/// A resolved entry of `rules`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Base {
    /// The reference as written.
    pub reference: String,
    /// The referenced rule's title.
    pub title: String,
    pub kind: BaseKind,
    /// Where each group-by value comes from, in `group-by` order.
    pub group: Vec<Source>,
    /// Where each value field comes from, in `field` order (value_* and value_count).
    pub values: Vec<Source>,
}

/// A correlation rule's `correlation:` section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correlation {
    #[serde(rename = "type")]
    pub kind: Kind,
    pub rules: Vec<Named>,
    pub group_by: Vec<Named>,
    /// The window in seconds.
    pub timespan: u64,
    pub timespan_text: String,
    /// One bound, or two ANDed (a range).
    pub condition: Vec<Bound>,
    pub fields: Vec<Named>,
    pub aliases: Vec<Alias>,
    pub generate: bool,
    /// The resolved `rules`, in order (empty until [`resolve`] found them all).
    pub bases: Vec<Base>,
    /// Remarks every target prints with the query (a reference found by title).
    pub notes: Vec<String>,
    /// The first reference that could not be resolved, once [`resolve`] has tried.
    #[serde(skip)]
    pub unresolved: Option<Diagnostic>,
}

impl Correlation {
    /// Does the window's value meet the condition?
    pub fn meets(&self, value: f64) -> bool {
        self.condition.iter().all(|b| b.op.holds(value, b.value))
    }

    /// The condition as text: `gte 10`, `gt 100 and lte 200`.
    pub fn condition_text(&self) -> String {
        self.condition
            .iter()
            .map(|b| format!("{} {}", b.op.name(), eval::number(b.value)))
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// The error to report when the correlation is used before every reference resolved.
    pub fn check_resolved(&self) -> Result<(), Diagnostic> {
        match &self.unresolved {
            Some(d) => Err(d.clone()),
            None if self.bases.len() != self.rules.len() => Err(Diagnostic::new(
                Code::UnknownRule,
                "the correlation's rule references were not resolved",
            )
            .with_span(self.rules.first().map_or(Span::at(0), |r| r.span))),
            None => Ok(()),
        }
    }

    /// Every plain base rule's condition, through chains, in order.
    pub fn base_conditions(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        for b in &self.bases {
            match &b.kind {
                BaseKind::Rule(e) => out.push(e),
                BaseKind::Correlation(r) => {
                    if let Some(c) = &r.correlation {
                        out.extend(c.base_conditions());
                    }
                }
            }
        }
        out
    }
}

/// Where a rule is in the run: file index and rule index.
pub type At = (usize, usize);

/// Resolve the references of every correlation in `files` (one file, or every file of a run).
/// With `last` a reference still unknown makes its correlation an error (E312); without it such
/// a correlation stays as it is, for a later run-wide pass to resolve.
pub fn resolve(files: &mut [LoadedFile], last: bool) {
    let mut index: HashMap<&str, Vec<(u8, At)>> = HashMap::new();
    let mut pending = Vec::new();
    // Keys: 0 id, 1 name, 2 title (a fallback).
    let keyed: Vec<(At, [Option<String>; 3], bool)> = files
        .iter()
        .enumerate()
        .flat_map(|(fi, lf)| {
            lf.rules.iter().enumerate().filter_map(move |(ri, r)| {
                let r = r.as_ref().ok()?;
                Some((
                    (fi, ri),
                    [
                        r.meta.id.clone(),
                        r.meta.name.clone(),
                        Some(r.meta.title.clone()),
                    ],
                    r.correlation
                        .as_ref()
                        .is_some_and(|c| c.bases.len() != c.rules.len()),
                ))
            })
        })
        .collect();
    for (at, keys, unresolved) in &keyed {
        for (k, key) in keys.iter().enumerate() {
            if let Some(key) = key {
                index.entry(key.as_str()).or_default().push((k as u8, *at));
            }
        }
        if *unresolved {
            pending.push(*at);
        }
    }
    let mut resolver = Resolver {
        files: &*files,
        index,
        done: HashMap::new(),
        last,
    };
    for at in pending {
        let _ = resolver.resolve_at(at, &mut Vec::new());
    }
    let Resolver { done, .. } = resolver;
    let mut done: Vec<(At, Result<Option<Rule>, Diagnostic>)> = done.into_iter().collect();
    done.sort_by_key(|(at, _)| *at);
    for ((fi, ri), result) in done {
        match result {
            Ok(Some(rule)) => files[fi].rules[ri] = Ok(rule),
            Ok(None) => {}
            Err(d) => files[fi].rules[ri] = Err(d),
        }
    }
}

struct Resolver<'a> {
    files: &'a [LoadedFile],
    index: HashMap<&'a str, Vec<(u8, At)>>,
    /// Each correlation resolved so far: the rule with its bases, None when it must wait for a
    /// run-wide pass, or its error.
    done: HashMap<At, Result<Option<Rule>, Diagnostic>>,
    last: bool,
}

impl Resolver<'_> {
    fn rule(&self, at: At) -> Option<&Rule> {
        self.files.get(at.0)?.rules.get(at.1)?.as_ref().ok()
    }

    /// Find the rule a reference names: by id, then by name (both preferring the referencing
    /// file), then by title (with a note). Ambiguity is an error.
    fn lookup(&self, text: &str, from: usize) -> Result<Option<(At, bool)>, String> {
        let Some(hits) = self.index.get(text) else {
            return Ok(None);
        };
        for key in 0..3u8 {
            let mut found: Vec<At> = hits
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, at)| *at)
                .collect();
            if found.is_empty() {
                continue;
            }
            let local: Vec<At> = found.iter().copied().filter(|a| a.0 == from).collect();
            if !local.is_empty() {
                found = local;
            }
            if found.len() > 1 {
                let what = ["id", "name", "title"][usize::from(key)];
                return Err(format!(
                    "'{text}' is the {what} of {} rules; a reference must name one",
                    found.len()
                ));
            }
            return Ok(Some((found[0], key == 2)));
        }
        Ok(None)
    }

    /// Resolve the correlation at `at` (memoised); `stack` holds the correlations being resolved
    /// around it, so a reference back to one of them is a cycle.
    fn resolve_at(&mut self, at: At, stack: &mut Vec<At>) -> Result<Option<Rule>, Diagnostic> {
        if let Some(r) = self.done.get(&at) {
            return r.clone();
        }
        let Some(rule) = self.rule(at).cloned() else {
            return Ok(None);
        };
        let Some(corr) = rule.correlation.as_deref() else {
            return Ok(Some(rule));
        };
        if corr.bases.len() == corr.rules.len() && corr.unresolved.is_none() {
            return Ok(Some(rule));
        }
        let first = corr.rules.first().map_or(rule.span, |r| r.span);
        // A guard on the recursion itself; the chain's depth is checked once it is built.
        if stack.len() > MAX_CHAIN_DEPTH {
            return Err(Diagnostic::new(
                Code::CorrelationCycle,
                format!(
                    "correlations reference correlations more than {MAX_CHAIN_DEPTH} deep (the limit)"
                ),
            )
            .with_span(first));
        }
        stack.push(at);
        let result = self.build(&rule, at, stack);
        stack.pop();
        let result = match result {
            Ok(r) => Ok(r),
            Err(None) => Ok(None),
            Err(Some(d)) => Err(d),
        };
        self.done.insert(at, result.clone());
        result
    }

    /// The correlation with its bases; `Err(None)` when a reference is unknown in this pass and
    /// a later, run-wide one may find it.
    fn build(
        &mut self,
        rule: &Rule,
        at: At,
        stack: &mut Vec<At>,
    ) -> Result<Option<Rule>, Option<Diagnostic>> {
        let Some(corr) = rule.correlation.as_deref() else {
            return Ok(Some(rule.clone()));
        };
        let mut bases = Vec::new();
        let mut names = Vec::new();
        let mut notes = corr.notes.clone();
        for r in &corr.rules {
            let found = self
                .lookup(&r.text, at.0)
                .map_err(|m| Some(Diagnostic::new(Code::UnknownRule, m).with_span(r.span)))?;
            let Some((target, by_title)) = found else {
                if !self.last {
                    return Err(None);
                }
                return Err(Some(
                    Diagnostic::new(
                        Code::UnknownRule,
                        format!(
                            "no rule has the id, name or title '{}' (a correlation's rules must be \
                             in the same file or among the files of the run)",
                            r.text
                        ),
                    )
                    .with_span(r.span),
                ));
            };
            if target == at || stack.contains(&target) {
                return Err(Some(
                    Diagnostic::new(
                        Code::CorrelationCycle,
                        format!(
                            "'{}' leads back to this correlation: correlations cannot reference \
                             themselves, directly or through others",
                            r.text
                        ),
                    )
                    .with_span(r.span),
                ));
            }
            let target_rule = self.rule(target).cloned();
            let Some(target_rule) = target_rule else {
                return Err(None);
            };
            if by_title {
                notes.push(format!(
                    "the rule '{}' is referenced by its title; Sigma references name an id or a name",
                    r.text
                ));
            }
            let kind = if target_rule.correlation.is_some() {
                let inner = self.resolve_at(target, stack).map_err(|d| {
                    Some(
                        Diagnostic::new(
                            d.code,
                            format!("'{}' cannot be used: {}", r.text, d.message),
                        )
                        .with_span(r.span),
                    )
                })?;
                let Some(inner) = inner else {
                    return Err(None);
                };
                BaseKind::Correlation(Box::new(inner))
            } else {
                BaseKind::Rule(target_rule.condition.clone())
            };
            let base = base_sources(corr, r, &target_rule, kind).map_err(Some)?;
            names.extend(target_rule.meta.name.clone());
            bases.push(base);
        }
        for a in &corr.aliases {
            if let Some((rule_name, _)) = a.fields.iter().find(|(n, _)| !names.contains(n)) {
                return Err(Some(
                    Diagnostic::new(
                        Code::CorrelationShape,
                        format!(
                            "the alias '{}' names the rule '{rule_name}', but no rule in 'rules' has \
                             that name (aliases key rules by their 'name'; a rule without one \
                             cannot be aliased)",
                            a.name
                        ),
                    )
                    .with_span(a.span),
                ));
            }
        }
        let depth = 1 + bases.iter().map(base_depth).max().unwrap_or(0);
        if depth > MAX_CHAIN_DEPTH {
            return Err(Some(
                Diagnostic::new(
                    Code::CorrelationCycle,
                    format!(
                        "correlations reference correlations more than {MAX_CHAIN_DEPTH} deep (the limit)"
                    ),
                )
                .with_span(corr.rules.first().map_or(rule.span, |r| r.span)),
            ));
        }
        let size: usize = bases.iter().map(base_count).sum();
        if size > MAX_BASES {
            return Err(Some(
                Diagnostic::new(
                    Code::CorrelationCycle,
                    format!(
                        "the correlation uses more than {MAX_BASES} base rules through its chains (the limit)"
                    ),
                )
                .with_span(corr.rules.first().map_or(rule.span, |r| r.span)),
            ));
        }
        let mut out = rule.clone();
        let conds: Vec<Expr> = {
            let mut c = corr.clone();
            c.bases = bases.clone();
            c.base_conditions().into_iter().cloned().collect()
        };
        out.condition = Expr::or(conds);
        if let Some(c) = out.correlation.as_deref_mut() {
            c.bases = bases;
            c.notes = notes;
            c.unresolved = None;
        }
        Ok(Some(out))
    }
}

/// How many correlations deep a base reaches (0 for a plain rule).
fn base_depth(b: &Base) -> usize {
    match &b.kind {
        BaseKind::Rule(_) => 0,
        BaseKind::Correlation(r) => {
            1 + r
                .correlation
                .as_ref()
                .map_or(0, |c| c.bases.iter().map(base_depth).max().unwrap_or(0))
        }
    }
}

/// Base rules counted through chains.
fn base_count(b: &Base) -> usize {
    match &b.kind {
        BaseKind::Rule(_) => 1,
        BaseKind::Correlation(r) => {
            1 + r
                .correlation
                .as_ref()
                .map_or(0, |c| c.bases.iter().map(base_count).sum())
        }
    }
}

/// Where the base `target` (referenced as `r`) reads each group-by and value field: the alias's
/// field for the rule's name when there is one, else the name itself; through a chain, the inner
/// correlation's group-by of that name.
fn base_sources(
    corr: &Correlation,
    r: &Named,
    target: &Rule,
    kind: BaseKind,
) -> Result<Base, Diagnostic> {
    let field_for = |g: &str| -> String {
        corr.aliases
            .iter()
            .find(|a| a.name == g)
            .and_then(|a| {
                a.fields
                    .iter()
                    .find(|(rule_name, _)| target.meta.name.as_deref() == Some(rule_name.as_str()))
                    .map(|(_, f)| f.clone())
            })
            .unwrap_or_else(|| g.to_owned())
    };
    let source = |name: &str, span: Span| -> Result<Source, Diagnostic> {
        let field = field_for(name);
        match &kind {
            BaseKind::Rule(_) => Ok(Source::Path(FieldPath::parse(&field))),
            BaseKind::Correlation(inner) => {
                let groups = inner
                    .correlation
                    .as_ref()
                    .map(|c| c.group_by.as_slice())
                    .unwrap_or(&[]);
                match groups.iter().position(|g| g.text == field) {
                    Some(i) => Ok(Source::Inner(i)),
                    None => Err(Diagnostic::new(
                        Code::CorrelationShape,
                        format!(
                            "'{field}' is not a group-by field of the correlation '{}': a chained \
                             correlation's events carry only its group-by values",
                            r.text
                        ),
                    )
                    .with_span(span)),
                }
            }
        }
    };
    let group = corr
        .group_by
        .iter()
        .map(|g| source(&g.text, g.span))
        .collect::<Result<Vec<_>, _>>()?;
    let values = corr
        .fields
        .iter()
        .map(|f| source(&f.text, f.span))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Base {
        reference: r.text.clone(),
        title: target.meta.title.clone(),
        kind,
        group,
        values,
    })
}

/// The rules (file index, rule index) that correlations with `generate: false` (the default)
/// use: they are not output as queries of their own.
pub fn not_generated(files: &[LoadedFile]) -> std::collections::HashSet<At> {
    let mut index: HashMap<&str, Vec<(u8, At)>> = HashMap::new();
    for (fi, lf) in files.iter().enumerate() {
        for (ri, r) in lf.rules.iter().enumerate() {
            let Ok(r) = r else { continue };
            let keys = [
                r.meta.id.as_deref(),
                r.meta.name.as_deref(),
                Some(r.meta.title.as_str()),
            ];
            for (k, key) in keys.into_iter().enumerate() {
                if let Some(key) = key {
                    index.entry(key).or_default().push((k as u8, (fi, ri)));
                }
            }
        }
    }
    let resolver = Resolver {
        files,
        index,
        done: HashMap::new(),
        last: true,
    };
    let mut out = std::collections::HashSet::new();
    for (fi, lf) in files.iter().enumerate() {
        for r in lf.rules.iter().flatten() {
            let Some(c) = r.correlation.as_deref() else {
                continue;
            };
            if c.generate {
                continue;
            }
            for reference in &c.rules {
                if let Ok(Some((at, _))) = resolver.lookup(&reference.text, fi) {
                    out.insert(at);
                }
            }
        }
    }
    out
}

/// After the last pass: every correlation still unresolved becomes its error.
pub fn finish(files: &mut [LoadedFile]) {
    resolve(files, true);
}
