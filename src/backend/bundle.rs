//! Bundles: many rules in one query per target, each matching event labelled with the rules it
//! matched (`convert --bundle`).
//!
//! Each rule's condition is rendered on its own, exactly as for its single query, then the
//! target's bundle template ([`Backend::bundle_template`]) frames them all. Rules are packed in
//! order into as few queries as fit the target's length limit ([`Backend::max_query_len`]); a
//! rule too long for a bundle query even alone is given as its own single query. This code never asks which target it
//! renders: labels and values come through [`Backend::string_literal`], and what the template
//! does with them (a label array, or an OR with no labels) is the target's.

use std::collections::BTreeSet;

use minijinja::Value;

use super::{
    environment, inexact_equality, render_condition, template_error, Backend, Needs, RenderCx,
    RenderOptions,
};
use crate::diagnostic::Diagnostic;
use crate::rule::Rule;
use crate::scan::index::{required, requirement, Key};

/// The queries of a bundle, and the rules left out of it.
#[derive(Debug, Default)]
pub struct Bundle {
    /// Each query with the indices (into the rules given) of the rules it holds.
    pub queries: Vec<(String, Vec<usize>)>,
    /// Rules that could not be bundled, by index, with why.
    pub errors: Vec<(usize, Diagnostic)>,
}

/// One rule's part of a bundle.
struct Entry {
    index: usize,
    condition: String,
    needs: Needs,
    label: Option<String>,
    /// The rule's level, lowercased.
    level: Option<String>,
    /// The lowercased `eventName` (else `eventSource`) values the rule requires, as target
    /// literals, and which field they are of (`name`, `source`); empty when it requires none.
    key: &'static str,
    values: Vec<String>,
    /// For a rule with no such values: another field it requires (its path, each key a target
    /// literal) and the lowercased values one of which it must equal, as target literals with
    /// their length in characters.
    guard_path: Vec<String>,
    guard_values: Vec<(String, usize)>,
    title: String,
    id: Option<String>,
    /// The rule's query frame ([`Backend::frame`]), merged over the bundle's rules.
    frame: Vec<(&'static str, Value)>,
}

/// Sigma's levels, lowest first.
const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

/// A level's rank: informational 0 up to critical 4 (none: 0).
fn level_rank(level: Option<&str>) -> usize {
    LEVELS.iter().position(|l| Some(*l) == level).unwrap_or(0)
}

/// Render `rules` as few bundle queries for `backend` (the rules in the order given; each label
/// is the rule's id, else its title).
pub fn render_bundle(
    backend: &dyn Backend,
    rules: &[&Rule],
    opts: &RenderOptions,
) -> Result<Bundle, Diagnostic> {
    render_bundle_within(backend, rules, opts, backend.max_query_len())
}

/// [`render_bundle`] with queries of at most `max` characters (None: no limit) instead of the
/// target's own limit: how a test splits a bundle that would fit in one query.
pub fn render_bundle_within(
    backend: &dyn Backend,
    rules: &[&Rule],
    opts: &RenderOptions,
    max: Option<usize>,
) -> Result<Bundle, Diagnostic> {
    let Some(template) = backend.bundle_template() else {
        return Err(Diagnostic::unsupported(
            backend.target().name(),
            "a bundle of rules",
        ));
    };
    let settings = backend.prepare(opts)?;
    let mut bundle = Bundle::default();
    let mut entries = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        match entry(backend, index, rule, opts, &settings) {
            Ok(e) => entries.push(e),
            Err(d) => bundle.errors.push((index, d)),
        }
    }
    let templates = environment(backend, opts.templates_dir.as_deref())?;
    let origin = templates
        .origins
        .get(template)
        .cloned()
        .unwrap_or_else(|| format!("templates/{template}"));
    let tmpl = templates
        .env
        .get_template(template)
        .map_err(|e| template_error(&e, &origin))?;
    let render = |chunk: &[&Entry], part: usize| -> Result<String, Diagnostic> {
        tmpl.render(context(backend, chunk, part))
            .map_err(|e| template_error(&e, &origin))
    };
    // Rules whose query frames differ in more than their lists (another table, say) cannot share
    // a query: each such group is packed on its own, in the order its first rule came.
    let mut groups: Vec<(String, Vec<&Entry>)> = Vec::new();
    for e in &entries {
        let key = frame_key(&e.frame);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(e),
            None => groups.push((key, vec![e])),
        }
    }
    for (_, group) in &groups {
        pack(backend, rules, opts, max, group, &render, &mut bundle)?;
    }
    Ok(bundle)
}

/// One rule's part of a bundle, or why it cannot be in one.
fn entry(
    backend: &dyn Backend,
    index: usize,
    rule: &Rule,
    opts: &RenderOptions,
    settings: &super::Settings,
) -> Result<Entry, Diagnostic> {
    if rule.correlation.is_some() {
        return Err(Diagnostic::unsupported(
            backend.target().name(),
            "a correlation rule in a bundle (it is one query of its own)",
        ));
    }
    if let Some(p) = inexact_equality(&rule.condition) {
        return Err(Diagnostic::unsupported(
            backend.target().name(),
            "'==' with a number of magnitude 2^53 or more",
        )
        .or_span(p.span));
    }
    let mut cx = RenderCx::new(opts, settings.as_ref());
    let condition = render_condition(backend, &rule.condition, &mut cx)?;
    let frame = backend.frame(rule, &cx)?;
    let label = rule
        .meta
        .id
        .clone()
        .unwrap_or_else(|| rule.meta.title.clone());
    let (key, values) = match (
        required(&rule.condition, Key::EventName),
        required(&rule.condition, Key::EventSource),
    ) {
        (Some(v), _) => ("name", v),
        (None, Some(v)) => ("source", v),
        (None, None) => ("", BTreeSet::new()),
    };
    let lit = |s: &str| backend.string_literal(s);
    let values: Option<Vec<String>> = values.iter().map(|v| lit(v)).collect();
    // A target without literals gets no labels (its template says it cannot label).
    let values = values.unwrap_or_default();
    let (guard_path, guard_values) = match requirement(&rule.condition) {
        Some((path, vals)) if values.is_empty() => {
            let path: Option<Vec<String>> = path.iter().map(|k| lit(k)).collect();
            let vals: Option<Vec<(String, usize)>> = vals
                .iter()
                .map(|v| Some((lit(v)?, v.chars().count())))
                .collect();
            match (path, vals) {
                (Some(p), Some(v)) if !v.is_empty() => (p, v),
                _ => (Vec::new(), Vec::new()),
            }
        }
        _ => (Vec::new(), Vec::new()),
    };
    let level = rule.meta.level.as_deref().map(str::to_ascii_lowercase);
    Ok(Entry {
        index,
        condition,
        needs: cx.needs,
        label: lit(&label),
        frame,
        level,
        key: if values.is_empty() { "" } else { key },
        values,
        guard_path,
        guard_values,
        title: rule.meta.title.clone(),
        id: rule.meta.id.clone(),
    })
}

/// Renders some entries as the bundle query numbered by the `usize`.
type RenderChunk<'a> = dyn Fn(&[&Entry], usize) -> Result<String, Diagnostic> + 'a;

/// Pack a group of entries, in order, into as few queries of at most `max` characters as fit.
fn pack(
    backend: &dyn Backend,
    rules: &[&Rule],
    opts: &RenderOptions,
    max: Option<usize>,
    group: &[&Entry],
    render: &RenderChunk,
    bundle: &mut Bundle,
) -> Result<(), Diagnostic> {
    let mut chunk: Vec<&Entry> = Vec::new();
    for &e in group {
        chunk.push(e);
        let Some(max) = max else { continue };
        if render(&chunk, bundle.queries.len() + 1)?.chars().count() <= max {
            continue;
        }
        chunk.pop();
        if !chunk.is_empty() {
            let q = render(&chunk, bundle.queries.len() + 1)?;
            bundle
                .queries
                .push((q, chunk.iter().map(|e| e.index).collect()));
            chunk.clear();
        }
        chunk.push(e);
        if render(&chunk, bundle.queries.len() + 1)?.chars().count() > max {
            // Too long even alone in a bundle: the rule's own query, which may shrink to fit
            // ([`Backend::shrink`]), is a query of the bundle.
            chunk.clear();
            match super::Prepared::new(backend, opts).render(rules[e.index], opts) {
                Ok(q) => bundle.queries.push((q, vec![e.index])),
                Err(d) => bundle.errors.push((e.index, d)),
            }
        }
    }
    if !chunk.is_empty() {
        let q = render(&chunk, bundle.queries.len() + 1)?;
        bundle
            .queries
            .push((q, chunk.iter().map(|e| e.index).collect()));
    }
    Ok(())
}

/// The template variables of one bundle query: its rules (`n` numbers them from 1 in the query),
/// `levels` (the levels its rules have, highest first, each with the numbers of its rules),
/// `name_branches`/`source_branches` (each `eventName`/`eventSource` value some rule requires,
/// with the numbers of those rules) and `named`/`sourced` (the numbers of all such rules), the
/// merged query frame, and the union of the rules' helpers, notes and fields.
fn context(backend: &dyn Backend, chunk: &[&Entry], part: usize) -> Value {
    let mut helpers = BTreeSet::new();
    let mut notes: Vec<String> = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    for e in chunk {
        helpers.extend(e.needs.helpers.iter().copied());
        for n in &e.needs.notes {
            if !notes.contains(n) {
                notes.push(n.clone());
            }
        }
        for f in &e.needs.fields {
            if !fields.contains(f) {
                fields.push(f.clone());
            }
        }
    }
    let items: Vec<Value> = chunk
        .iter()
        .enumerate()
        .map(|(i, e)| {
            minijinja::context! {
                n => i + 1,
                label => e.label.clone().map(Value::from_safe_string),
                title => e.title,
                id => e.id,
                level => e.level,
                rank => level_rank(e.level.as_deref()),
                condition => Value::from_safe_string(e.condition.clone()),
                key => e.key,
                values => safe(&e.values),
                guard_path => safe(&e.guard_path),
                guard_values => e.guard_values.iter().map(|(v, chars)| minijinja::context! {
                    value => Value::from_safe_string(v.clone()),
                    chars => chars,
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    // The rules by each value they require, for a template that dispatches on it.
    let branches = |key: &str| -> (Vec<Value>, Vec<usize>) {
        let mut by_value: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        let mut all = Vec::new();
        for (i, e) in chunk.iter().enumerate().filter(|(_, e)| e.key == key) {
            all.push(i + 1);
            for v in &e.values {
                by_value.entry(v).or_default().push(i + 1);
            }
        }
        let list = by_value
            .into_iter()
            .enumerate()
            .map(|(k, (v, members))| {
                minijinja::context! {
                    k => k,
                    value => Value::from_safe_string(v.to_owned()),
                    members => members,
                }
            })
            .collect();
        (list, all)
    };
    let (name_branches, named) = branches("name");
    let (source_branches, sourced) = branches("source");
    let levels: Vec<Value> = LEVELS
        .iter()
        .rev()
        .filter_map(|level| {
            let members: Vec<usize> = (0..chunk.len())
                .filter(|&i| chunk[i].level.as_deref() == Some(*level))
                .map(|i| i + 1)
                .collect();
            let literal = backend.string_literal(level)?;
            (!members.is_empty()).then(|| {
                minijinja::context! {
                    level => *level,
                    literal => Value::from_safe_string(literal),
                    members => members,
                }
            })
        })
        .collect();
    let merged = Value::from(merge_frames(chunk.iter().map(|e| &e.frame)));
    minijinja::context! {
        ..merged,
        ..minijinja::context! {
            rules => items,
            levels => levels,
            name_branches => name_branches,
            named => named,
            source_branches => source_branches,
            sourced => sourced,
            count => chunk.len(),
            part => part,
            helpers => helpers.into_iter().collect::<Vec<_>>(),
            notes => notes,
            condition_fields => fields,
            target => backend.target().name(),
        }
    }
}

/// Target text as template values that are not escaped again.
fn safe(texts: &[String]) -> Vec<Value> {
    texts
        .iter()
        .map(|t| Value::from_safe_string(t.clone()))
        .collect()
}

/// What of a rule's query frame must be equal for rules to share a query: every value but the
/// lists (which [`merge_frames`] unions), as text.
fn frame_key(frame: &[(&'static str, Value)]) -> String {
    let mut key = String::new();
    for (k, v) in frame {
        if v.kind() != minijinja::value::ValueKind::Seq {
            key.push_str(k);
            key.push('=');
            key.push_str(&v.to_string());
            key.push('\n');
        }
    }
    key
}

/// The frames of a bundle's rules as one: a list is the union of the rules' lists (first-seen
/// order, equal items once), anything else the first rule's value.
fn merge_frames<'f>(
    frames: impl Iterator<Item = &'f Vec<(&'static str, Value)>>,
) -> std::collections::BTreeMap<&'static str, Value> {
    let mut out: std::collections::BTreeMap<&'static str, Value> = Default::default();
    let mut lists: std::collections::BTreeMap<&'static str, Vec<Value>> = Default::default();
    for frame in frames {
        for (k, v) in frame {
            match v.try_iter() {
                Ok(items) if v.kind() == minijinja::value::ValueKind::Seq => {
                    let list = lists.entry(k).or_default();
                    for item in items {
                        if !list.iter().any(|x| x.to_string() == item.to_string()) {
                            list.push(item);
                        }
                    }
                }
                _ => {
                    out.entry(k).or_insert_with(|| v.clone());
                }
            }
        }
    }
    for (k, v) in lists {
        out.insert(k, Value::from(v));
    }
    out
}
