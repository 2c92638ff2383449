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
use crate::scan::index::{required, Key};

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
    level: Option<String>,
    /// The lowercased `eventName` (else `eventSource`) values the rule requires, as target
    /// literals, and which field they are of (`name`, `source`); empty when it requires none.
    key: &'static str,
    values: Vec<String>,
    title: String,
    id: Option<String>,
    /// The rule's query frame ([`Backend::frame`]), merged over the bundle's rules.
    frame: Vec<(&'static str, Value)>,
}

/// A level's rank: informational 0 up to critical 4 (none: 0).
fn level_rank(level: Option<&str>) -> usize {
    ["informational", "low", "medium", "high", "critical"]
        .iter()
        .position(|l| Some(*l) == level)
        .unwrap_or(0)
}

/// Render `rules` as few bundle queries for `backend` (the rules in the order given; each label
/// is the rule's id, else its title).
pub fn render_bundle(
    backend: &dyn Backend,
    rules: &[&Rule],
    opts: &RenderOptions,
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
        if rule.correlation.is_some() {
            bundle.errors.push((
                index,
                Diagnostic::unsupported(
                    backend.target().name(),
                    "a correlation rule in a bundle (it is one query of its own)",
                ),
            ));
            continue;
        }
        if let Some(p) = inexact_equality(&rule.condition) {
            bundle.errors.push((
                index,
                Diagnostic::unsupported(
                    backend.target().name(),
                    "'==' with a number of magnitude 2^53 or more",
                )
                .or_span(p.span),
            ));
            continue;
        }
        let mut cx = RenderCx::new(opts, settings.as_ref());
        let condition = match render_condition(backend, &rule.condition, &mut cx) {
            Ok(c) => c,
            Err(d) => {
                bundle.errors.push((index, d));
                continue;
            }
        };
        let frame = match backend.frame(rule, &cx) {
            Ok(f) => f,
            Err(d) => {
                bundle.errors.push((index, d));
                continue;
            }
        };
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
        let label_lit = lit(&label);
        let values = values.unwrap_or_default();
        entries.push(Entry {
            index,
            condition,
            needs: cx.needs,
            label: label_lit,
            frame,
            level: rule.meta.level.clone(),
            key: if values.is_empty() { "" } else { key },
            values,
            title: rule.meta.title.clone(),
            id: rule.meta.id.clone(),
        });
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
            .map(|e| {
                minijinja::context! {
                    label => e.label.clone().map(Value::from_safe_string),
                    title => e.title,
                    id => e.id,
                    level => e.level,
                    rank => level_rank(e.level.as_deref()),
                    condition => Value::from_safe_string(e.condition.clone()),
                    key => e.key,
                    values => e.values.iter().map(|v| Value::from_safe_string(v.clone())).collect::<Vec<_>>(),
                }
            })
            .collect();
        let merged = Value::from(merge_frames(chunk.iter().map(|e| &e.frame)));
        let ctx = minijinja::context! {
            ..merged,
            ..minijinja::context! {
            rules => items,
            count => chunk.len(),
            part => part,
            helpers => helpers.into_iter().collect::<Vec<_>>(),
            notes => notes,
            condition_fields => fields,
            target => backend.target().name(),
            }
        };
        tmpl.render(ctx).map_err(|e| template_error(&e, &origin))
    };
    let mut chunk: Vec<&Entry> = Vec::new();
    let max = backend.max_query_len();
    for e in &entries {
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
    Ok(bundle)
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
