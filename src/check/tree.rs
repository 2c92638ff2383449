//! Lints across the files checked together: an `id` or `name` that two rules share (Sigma `id`
//! and `name`, Panther `RuleID`), `related` ids that name no rule of the tree (a warning: they
//! may point outside it), and correlation `rules:` that name no rule (an error: the correlation
//! cannot work without them).

use std::collections::{BTreeMap, BTreeSet};

use super::{Finding, Lint};
use crate::source::{SourceFile, Span};
use crate::yaml::{Document, Node};

/// One place a rule declares an identifier.
struct Decl<'a> {
    file: &'a SourceFile,
    span: Span,
}

/// Every cross-file lint.
pub fn lint_tree(files: &[(&SourceFile, &[Document])], out: &mut Vec<Finding>) {
    // (key kind, value) → declarations, in file order.
    let mut decls: BTreeMap<(&'static str, String), Vec<Decl<'_>>> = BTreeMap::new();
    for (file, docs) in files {
        // Legacy `action:` documents are merged into others; they declare nothing themselves.
        for doc in docs.iter().filter(|d| d.node.get("action").is_none()) {
            let at = |k: &str| doc.keys.key(&[k]).unwrap_or(Span::at(doc.start));
            for (key, kind) in [("id", "id"), ("name", "name"), ("RuleID", "id")] {
                if let Some(v) = doc.node.get(key).and_then(Node::scalar_text) {
                    decls.entry((kind, v)).or_default().push(Decl {
                        file,
                        span: at(key),
                    });
                }
            }
        }
    }
    for ((kind, value), ds) in &decls {
        let Some(first) = ds.first() else { continue };
        let first_at = first.file.line_col(first.span.start);
        for d in &ds[1..] {
            // The same file named twice on the command line is not a second rule.
            if d.file.path == first.file.path && d.span == first.span {
                continue;
            }
            out.push(Finding::new(
                Lint::DuplicateId,
                d.file,
                d.span,
                format!(
                    "{kind} '{value}' is also the {kind} of the rule at {}:{}",
                    crate::escape::visible(&first.file.path.display().to_string()),
                    first_at.line
                ),
                format!("give this rule a new {kind} (ids are UUIDs: a fresh one per rule)"),
            ));
        }
    }
    let known: BTreeSet<&str> = decls.keys().map(|(_, v)| v.as_str()).collect();
    let titles: BTreeSet<String> = files
        .iter()
        .flat_map(|(_, docs)| docs.iter())
        .filter_map(|d| d.node.get("title").and_then(Node::scalar_text))
        .collect();
    for (file, docs) in files {
        for doc in *docs {
            references(file, doc, &known, &titles, out);
        }
    }
}

/// `related` ids that name no rule of the tree, and correlation `rules:` that name a rule by its
/// title (one that names none is the loader's E312 already).
fn references(
    file: &SourceFile,
    doc: &Document,
    known: &BTreeSet<&str>,
    titles: &BTreeSet<String>,
    out: &mut Vec<Finding>,
) {
    if let Some(Node::Seq(items)) = doc.node.get("related") {
        for item in items {
            let Some(id) = item.get("id").and_then(Node::scalar_text) else {
                continue;
            };
            if known.contains(id.as_str()) {
                continue;
            }
            out.push(Finding::new(
                Lint::UnresolvedRelated,
                file,
                doc.keys
                    .key(&["related", "id"])
                    .or_else(|| doc.keys.key(&["related"]))
                    .unwrap_or(Span::at(doc.start)),
                format!("related id '{id}' is the id of no rule checked"),
                "check the id, or check the tree that holds the related rule too",
            ));
        }
    }
    let Some(rules) = doc.node.get("correlation").and_then(|c| c.get("rules")) else {
        return;
    };
    let names: Vec<String> = match rules {
        Node::Seq(items) => items.iter().filter_map(Node::scalar_text).collect(),
        other => other.scalar_text().into_iter().collect(),
    };
    let span = doc
        .keys
        .key(&["correlation", "rules"])
        .unwrap_or(Span::at(doc.start));
    for n in names {
        if !known.contains(n.as_str()) && titles.contains(&n) {
            out.push(Finding::new(
                Lint::CorrelationByTitle,
                file,
                span,
                format!("correlation rule '{n}' is a rule's title, not its id or name"),
                "name the rule by its id or its name: titles change and need not be unique",
            ));
        }
    }
}
