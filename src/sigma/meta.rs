//! The metadata keys every Sigma document shares (rules and correlations alike): title, id,
//! name, status, level, dates, lists of references, tags, fields and false positives, the
//! logsource and `related` entries, read once into [`Meta`] with errors at their key.

use crate::diagnostic::{Code, Diagnostic};
use crate::rule::Meta;
use crate::source::Span;
use crate::yaml::Node;

/// The `status` values the Sigma specification defines.
pub const STATUSES: [&str; 5] = [
    "stable",
    "test",
    "experimental",
    "deprecated",
    "unsupported",
];

/// The `level` values the Sigma specification defines.
pub const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

/// Read the top-level `key` of a Sigma document into `meta` when it is a metadata key; Ok(false)
/// when it is not (the caller's own keys, `detection` or `correlation`, and custom keys).
pub fn read_key(meta: &mut Meta, key: &str, value: &Node, span: Span) -> Result<bool, Diagnostic> {
    let err = |what: &str| {
        Err(Diagnostic::new(
            Code::NotARule,
            format!("'{key}' must be {what}, found {}", value.kind()),
        )
        .with_span(span))
    };
    match key {
        "title" => match value {
            Node::Str(s) if !s.trim().is_empty() => meta.title = s.clone(),
            _ => return err("a non-empty string"),
        },
        "id" | "name" | "description" | "author" | "date" | "modified" | "license" | "status"
        | "level" => {
            let Some(text) = value.scalar_text().filter(|_| *value != Node::Null) else {
                return err("a string");
            };
            for (k, allowed) in [("status", &STATUSES), ("level", &LEVELS)] {
                if key == k && !allowed.contains(&text.as_str()) {
                    return Err(Diagnostic::new(
                        Code::BadMetadata,
                        format!("{k} '{text}' is not one of {}", allowed.join(", ")),
                    )
                    .with_span(span));
                }
            }
            let slot = match key {
                "id" => &mut meta.id,
                "name" => &mut meta.name,
                "description" => &mut meta.description,
                "author" => &mut meta.author,
                "date" => &mut meta.date,
                "modified" => &mut meta.modified,
                "license" => &mut meta.license,
                "status" => &mut meta.status,
                _ => &mut meta.level,
            };
            *slot = Some(text);
        }
        "references" | "tags" | "fields" | "falsepositives" | "scope" => {
            let Some(list) = value.string_list() else {
                return err("a list of strings");
            };
            match key {
                "references" => meta.references = list,
                "tags" => meta.tags = list,
                "fields" => meta.fields = list,
                "falsepositives" => meta.falsepositives = list,
                _ => meta.scope = list,
            }
        }
        "logsource" => match value {
            Node::Map(m) if !m.is_empty() => {
                for (k, v) in m {
                    let Some(t) = v.scalar_text() else {
                        return err("a mapping of strings");
                    };
                    meta.logsource.push((k.clone(), t));
                }
            }
            _ => return err("a non-empty mapping (product, service, category)"),
        },
        "related" => {
            let Node::Seq(items) = value else {
                return err("a list of {id, type} mappings");
            };
            for item in items {
                let id = item.get("id").and_then(Node::scalar_text);
                let ty = item.get("type").and_then(Node::scalar_text);
                match (id, ty) {
                    (Some(id), Some(ty)) => meta.related.push((id, ty)),
                    _ => return err("a list of {id, type} mappings"),
                }
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}
