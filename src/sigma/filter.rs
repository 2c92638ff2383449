//! Sigma meta filters (spec v2.1 `filter:` documents): reading them, and applying them to the
//! rules of a run.
//!
//! A filter names the rules it tunes (`rules:` ids or names, or `any`), a logsource, and its own
//! detections and condition. As pySigma does, every rule it names whose logsource it covers (the
//! filter's logsource keys are a subset of the rule's) becomes `(rule) and (filter condition)`:
//! the filter's condition states what must still hold, so filters are written
//! `condition: not selection`, and that NOT is the IR's null-safe one like every other. Filters
//! apply to Sigma rules only (never Panther rules); a reference that names no rule of the run is
//! an error at its line.

use std::cell::Cell;
use std::path::PathBuf;

use super::detection::MAX_IR_NODES;
use super::lower_section;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Expr;
use crate::rule::{Detection, Format, Rule};
use crate::source::{SourceFile, Span};
use crate::yaml::{Document, Node};
use crate::LoadedFile;

/// Is the document a meta filter (a `filter:` and no `detection:`)?
pub fn is_filter(node: &Node) -> bool {
    node.get("filter").is_some() && node.get("detection").is_none()
}

/// Which rules a filter names.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// `rules: any` (or an empty list): every rule whose logsource the filter covers.
    Any,
    /// Rule ids or names, each with where it is written.
    Rules(Vec<(String, Span)>),
}

/// One meta filter, lowered.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub title: String,
    pub id: Option<String>,
    pub logsource: Vec<(String, String)>,
    pub targets: Targets,
    /// The condition as written.
    pub condition_text: String,
    /// What must still hold for a rule it applies to.
    pub condition: Expr,
    /// Where the document starts.
    pub span: Span,
}

impl Filter {
    /// How `explain` and notes name it: its id, else its title.
    pub fn label(&self) -> String {
        format!("meta filter {}", self.id.as_deref().unwrap_or(&self.title))
    }

    /// Does the filter's logsource cover `rule`'s (each of its keys has the same value there)?
    pub fn covers(&self, rule: &Rule) -> bool {
        self.logsource.iter().all(|(k, v)| {
            rule.meta
                .logsource
                .iter()
                .any(|(rk, rv)| rk == k && rv == v)
        })
    }

    /// Does the filter name `rule` (by id or name, or `any`)?
    pub fn names(&self, rule: &Rule) -> bool {
        match &self.targets {
            Targets::Any => true,
            Targets::Rules(refs) => refs.iter().any(|(r, _)| is_named(rule, r)),
        }
    }
}

fn is_named(rule: &Rule, reference: &str) -> bool {
    rule.meta.id.as_deref() == Some(reference) || rule.meta.name.as_deref() == Some(reference)
}

/// Read every filter document of a file.
pub fn load(
    file: &SourceFile,
    docs: &[Document],
    placeholders: &dyn Fn(&str) -> Option<Vec<String>>,
) -> Vec<Result<Filter, Diagnostic>> {
    let budget = Cell::new(MAX_IR_NODES);
    docs.iter()
        .filter(|d| is_filter(&d.node))
        .map(|d| load_filter(file, d, placeholders, &budget))
        .collect()
}

fn load_filter(
    file: &SourceFile,
    doc: &Document,
    placeholders: &dyn Fn(&str) -> Option<Vec<String>>,
    budget: &Cell<usize>,
) -> Result<Filter, Diagnostic> {
    let at = |path: &[&str]| doc.keys.key(path).unwrap_or(Span::at(doc.start));
    let shape =
        |msg: String, path: &[&str]| Err(Diagnostic::new(Code::NotARule, msg).with_span(at(path)));
    let title = match doc.node.get("title") {
        Some(Node::Str(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return shape(
                "a meta filter needs a 'title' (a non-empty string)".into(),
                &["title"],
            )
        }
    };
    let id = doc.node.get("id").and_then(Node::scalar_text);
    let logsource = match doc.node.get("logsource") {
        Some(Node::Map(m)) if !m.is_empty() => {
            let mut out = Vec::new();
            for (k, v) in m {
                let Some(t) = v.scalar_text() else {
                    return shape(
                        "'logsource' must be a mapping of strings".into(),
                        &["logsource"],
                    );
                };
                out.push((k.clone(), t));
            }
            out
        }
        _ => return shape(
            "a meta filter needs a 'logsource' (a non-empty mapping: product, service, category)"
                .into(),
            &["logsource"],
        ),
    };
    let Some(Node::Map(section)) = doc.node.get("filter") else {
        return shape(
            "'filter' must be a mapping: rules, detections and a condition".into(),
            &["filter"],
        );
    };
    let targets =
        match section.iter().find(|(k, _)| k == "rules").map(|(_, v)| v) {
            None => return shape(
                "the filter names no rules: add 'rules:' with rule ids or names, or 'rules: any'"
                    .into(),
                &["filter"],
            ),
            Some(Node::Str(s)) if s == "any" => Targets::Any,
            Some(Node::Seq(items)) if items.is_empty() => Targets::Any,
            Some(Node::Seq(items)) => {
                let mut refs = Vec::new();
                for item in items {
                    let Some(r) = item.scalar_text().filter(|_| *item != Node::Null) else {
                        return shape(
                            format!(
                                "'rules' items must be rule ids or names, found {}",
                                item.kind()
                            ),
                            &["filter", "rules"],
                        );
                    };
                    let span = reference_span(file, doc, &r);
                    refs.push((r, span));
                }
                Targets::Rules(refs)
            }
            Some(Node::Str(s)) => Targets::Rules(vec![(s.clone(), reference_span(file, doc, s))]),
            Some(other) => {
                return shape(
                    format!(
                        "'rules' must be a list of rule ids or names, or 'any', found {}",
                        other.kind()
                    ),
                    &["filter", "rules"],
                )
            }
        };
    if let Some((_, c)) = section.iter().find(|(k, _)| k == "condition") {
        if !matches!(c, Node::Str(_)) {
            return shape(
                format!(
                    "a meta filter's 'condition' must be a string, found {}",
                    c.kind()
                ),
                &["filter", "condition"],
            );
        }
    }
    let (_, conditions, condition) = lower_section(
        file,
        doc,
        section,
        "filter",
        &["rules"],
        placeholders,
        budget,
    )?;
    Ok(Filter {
        title,
        id,
        logsource,
        targets,
        condition_text: conditions.join(" or "),
        condition,
        span: Span::at(doc.start),
    })
}

/// Where a rule reference is written: its first occurrence after the `rules` key (the key
/// itself when it cannot be found).
fn reference_span(file: &SourceFile, doc: &Document, reference: &str) -> Span {
    let key = doc
        .keys
        .key(&["filter", "rules"])
        .unwrap_or(Span::at(doc.start));
    file.text
        .get(key.start..)
        .and_then(|rest| rest.find(reference))
        .map(|i| Span::new(key.start + i, key.start + i + reference.len()))
        .unwrap_or(key)
}

/// A filter that was applied to a rule: how the rule's detections list shows it.
fn applied_detection(f: &Filter, path: &str) -> Detection {
    Detection {
        name: format!("{} ({path}): {}", f.label(), f.condition_text),
        expr: f.condition.clone(),
    }
}

/// Apply every filter of `files` (and `extra`, from `--filter` files) to the Sigma rules of
/// `files` it names and covers. A reference to no rule of the run becomes an error of the
/// filter's file (pushed to its `rules`, where every command reports rule errors).
pub fn apply(files: &mut [LoadedFile]) {
    let filters: Vec<(usize, PathBuf, Filter)> = files
        .iter()
        .enumerate()
        .flat_map(|(i, lf)| {
            lf.filters
                .iter()
                .map(move |f| (i, lf.file.path.clone(), f.clone()))
        })
        .collect();
    if filters.is_empty() {
        return;
    }
    for lf in files.iter_mut() {
        for rule in lf.rules.iter_mut().flatten() {
            if rule.format != Format::Sigma {
                continue;
            }
            for (_, path, f) in &filters {
                if f.names(rule) && f.covers(rule) {
                    let cond = std::mem::replace(&mut rule.condition, Expr::Const(true));
                    rule.condition = Expr::and(vec![cond, f.condition.clone()]);
                    rule.detections
                        .push(applied_detection(f, &path.display().to_string()));
                }
            }
        }
    }
    for (i, _, f) in &filters {
        let Targets::Rules(refs) = &f.targets else {
            continue;
        };
        for (r, span) in refs {
            let known = files
                .iter()
                .flat_map(|lf| lf.rules.iter().flatten())
                .any(|rule| is_named(rule, r));
            if !known {
                files[*i].rules.push(Err(Diagnostic::new(
                    Code::UnknownRule,
                    format!(
                        "the meta filter '{}' names rule '{r}', which is not among the rules of this run (no rule has that id or name)",
                        f.title
                    ),
                )
                .with_span(*span)));
            }
        }
    }
}
