//! pySigma processing pipelines (`-p pipeline.yml`, as sigma-cli users keep their field renames):
//! the subset that a rulecast [`Mapping`] already expresses, read into one. Every other
//! transformation, condition or option is refused by name at its line, never ignored.
//!
//! Read: `field_name_mapping` (one field to one field), `field_name_prefix_mapping`,
//! `add_condition` (`negated` too), `set_state` of the key `table` (the Athena table), each with
//! optional `rule_conditions` of type `logsource`. rulecast converts AWS CloudTrail rules, so a
//! logsource condition is decided against `product: aws, service: cloudtrail`: a
//! transformation for another log source never applies.

use std::path::Path;

use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};
use crate::mapping::Mapping;
use crate::source::{SourceFile, Span};
use crate::yaml::{self, Node};

/// The pipeline keys rulecast reads; `vars`, `allowed_backends` are accepted and unused.
const TOP_KEYS: [&str; 7] = [
    "name",
    "priority",
    "transformations",
    "vars",
    "allowed_backends",
    "postprocessing",
    "finalizers",
];

/// The transformation types rulecast reads.
const SUPPORTED: [&str; 4] = [
    "field_name_mapping",
    "field_name_prefix_mapping",
    "add_condition",
    "set_state",
];

/// The logsource every rule rulecast converts has.
const CLOUDTRAIL: [(&str, &str); 2] = [("product", "aws"), ("service", "cloudtrail")];

/// A pipeline read into a mapping, with its priority (pipelines apply lowest first).
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub priority: i64,
    pub mapping: Mapping,
}

impl Pipeline {
    /// Read and check a pipeline file.
    pub fn load(path: &Path) -> Result<Pipeline, FileDiagnostic> {
        let text = crate::read_text_limited(path).map_err(|e| {
            Diagnostic::new(Code::Io, format!("cannot read pipeline: {e}")).at_path(path)
        })?;
        let file = SourceFile::new(path, text);
        let docs = yaml::parse_documents(&file.text).map_err(|d| d.in_file(&file))?;
        let Some(doc) = docs.first() else {
            return Err(Diagnostic::new(Code::Empty, "the pipeline file is empty").in_file(&file));
        };
        Self::from_doc(&file.text, doc).map_err(|d| d.in_file(&file))
    }

    fn from_doc(text: &str, doc: &yaml::Document) -> Result<Pipeline, Diagnostic> {
        let at = |p: &[&str]| doc.keys.key(p).unwrap_or(Span::at(doc.start));
        let err = |m: String, span: Span| Diagnostic::new(Code::Config, m).with_span(span);
        let Node::Map(entries) = &doc.node else {
            return Err(err(
                "a pySigma pipeline is a mapping with 'transformations'".to_owned(),
                Span::at(doc.start),
            ));
        };
        for (k, v) in entries {
            if !TOP_KEYS.contains(&k.as_str()) {
                return Err(err(
                    format!(
                        "unknown pipeline key '{k}'{}",
                        crate::suggest::did_you_mean(k, TOP_KEYS)
                    ),
                    at(&[k]),
                ));
            }
            let empty = matches!(v, Node::Null) || matches!(v, Node::Seq(s) if s.is_empty());
            if (k == "postprocessing" || k == "finalizers") && !empty {
                return Err(err(
                    format!("pipeline '{k}' is not supported by rulecast (it shapes pySigma's output, which rulecast does not produce)"),
                    at(&[k]),
                ));
            }
        }
        let priority = match doc.node.get("priority") {
            None => 0,
            Some(n) => n
                .scalar_text()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| {
                    err(
                        "'priority' must be an integer".to_owned(),
                        at(&["priority"]),
                    )
                })?,
        };
        let mut mapping = Mapping::default();
        let items = match doc.node.get("transformations") {
            Some(Node::Seq(items)) => items.as_slice(),
            Some(Node::Null) | None => &[],
            Some(_) => {
                return Err(err(
                    "'transformations' must be a list".to_owned(),
                    at(&["transformations"]),
                ))
            }
        };
        let mut from = 0;
        for item in items {
            let ty = item.get("type").and_then(Node::as_str).unwrap_or_default();
            let span = item_span(text, ty, &mut from).unwrap_or(at(&["transformations"]));
            transformation(&mut mapping, doc, item, ty)
                .map_err(|m| Diagnostic::new(Code::Config, m).with_span(span))?;
        }
        Ok(Pipeline { priority, mapping })
    }
}

/// Read one transformation into `m`; the message when it is refused.
fn transformation(
    m: &mut Mapping,
    doc: &yaml::Document,
    item: &Node,
    ty: &str,
) -> Result<(), String> {
    let Node::Map(keys) = item else {
        return Err("a transformation must be a mapping with a 'type'".to_owned());
    };
    if ty.is_empty() {
        return Err("a transformation without a 'type'".to_owned());
    }
    if !SUPPORTED.contains(&ty) {
        return Err(format!(
            "pipeline transformation '{ty}' is not supported by rulecast (it reads {}){}",
            SUPPORTED.join(", "),
            crate::suggest::did_you_mean(ty, SUPPORTED)
        ));
    }
    let allowed: &[&str] = match ty {
        "field_name_mapping" | "field_name_prefix_mapping" => &["mapping"],
        "add_condition" => &["conditions", "negated"],
        _ => &["key", "val"],
    };
    for (k, _) in keys {
        let common = ["id", "type", "rule_conditions", "rule_cond_op"];
        if !common.contains(&k.as_str()) && !allowed.contains(&k.as_str()) {
            return Err(format!(
                "'{k}' of a {ty} transformation is not supported by rulecast"
            ));
        }
    }
    if !applies(item)? {
        return Ok(());
    }
    match ty {
        "field_name_mapping" | "field_name_prefix_mapping" => {
            let Some(Node::Map(pairs)) = item.get("mapping") else {
                return Err(format!("{ty} needs 'mapping: {{field: new field}}'"));
            };
            for (from, to) in pairs {
                let to = match to {
                    Node::Str(t) => t.clone(),
                    Node::Seq(v) if v.len() == 1 => v[0].scalar_text().unwrap_or_default(),
                    _ => {
                        return Err(format!(
                            "{ty}: '{from}' maps to several fields; rulecast renames one field to one field"
                        ))
                    }
                };
                if ty == "field_name_mapping" {
                    m.add_rename(from, &to);
                } else {
                    // A prefix mapping renames `a.` to `b.`: rulecast renames by path prefix.
                    m.add_rename(from.trim_end_matches('.'), to.trim_end_matches('.'));
                }
            }
            Ok(())
        }
        "add_condition" => {
            let Some(conditions) = item.get("conditions") else {
                return Err("add_condition needs 'conditions: {field: value}'".to_owned());
            };
            let negated = matches!(item.get("negated"), Some(Node::Bool(true)));
            m.add_condition(doc, conditions, negated)
        }
        _ => {
            let key = item.get("key").and_then(Node::as_str).unwrap_or_default();
            match (key, item.get("val").and_then(Node::as_str)) {
                ("table", Some(t)) => {
                    m.set_table(t);
                    Ok(())
                }
                ("table", None) => Err("set_state of 'table' needs a string 'val'".to_owned()),
                (other, _) => Err(format!(
                    "set_state of '{other}' is not supported by rulecast (it reads the key 'table')"
                )),
            }
        }
    }
}

/// Whether a transformation's `rule_conditions` hold for CloudTrail rules. Only `logsource`
/// conditions are read; `rule_cond_op: or` is honoured.
fn applies(item: &Node) -> Result<bool, String> {
    let conds = match item.get("rule_conditions") {
        None | Some(Node::Null) => return Ok(true),
        Some(Node::Seq(c)) => c,
        Some(_) => return Err("'rule_conditions' must be a list".to_owned()),
    };
    let mut results = Vec::new();
    for c in conds {
        let ty = c.get("type").and_then(Node::as_str).unwrap_or_default();
        if ty != "logsource" {
            return Err(format!(
                "rule condition '{ty}' is not supported by rulecast (it reads 'logsource')"
            ));
        }
        let Node::Map(keys) = c else {
            return Err("a rule condition must be a mapping".to_owned());
        };
        let holds = keys.iter().filter(|(k, _)| k != "type").all(|(k, v)| {
            let v = v.scalar_text().unwrap_or_default();
            CLOUDTRAIL
                .iter()
                .any(|(ck, cv)| *ck == k && cv.eq_ignore_ascii_case(&v))
        });
        results.push(holds);
    }
    let any = matches!(item.get("rule_cond_op").and_then(Node::as_str), Some("or"));
    Ok(if any {
        results.iter().any(|b| *b)
    } else {
        results.iter().all(|b| *b)
    })
}

/// The span of the next `type: <ty>` line at or after byte `from` (advanced past it): where a
/// transformation is written.
fn item_span(text: &str, ty: &str, from: &mut usize) -> Option<Span> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if start < *from {
            continue;
        }
        let t = line.trim_start().trim_start_matches('-').trim_start();
        let Some(v) = t.strip_prefix("type:") else {
            continue;
        };
        if v.trim().trim_matches(['"', '\'']) == ty {
            *from = offset;
            let col = line.len() - t.len();
            return Some(Span::new(start + col, start + col + 4));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Pipeline, Diagnostic> {
        let docs = yaml::parse_documents(text).expect("yaml");
        Pipeline::from_doc(text, &docs[0])
    }

    #[test]
    fn the_subset_rulecast_expresses_is_read() {
        let p = read(
            "name: t\npriority: 20\ntransformations:\n  - id: f\n    type: field_name_mapping\n    mapping:\n      SourceIp: sourceIPAddress\n    rule_conditions:\n      - type: logsource\n        product: aws\n  - type: add_condition\n    conditions:\n      recipientAccountId: '1'\n  - type: field_name_mapping\n    mapping: {a: b}\n    rule_conditions:\n      - type: logsource\n        product: windows\n",
        )
        .unwrap();
        assert_eq!(p.priority, 20);
        assert!(p.mapping.has_condition());
        assert_eq!(p.mapping.rename_count(), 1, "the windows one never applies");
    }

    #[test]
    fn everything_else_is_refused_by_name_at_its_line() {
        let text = "transformations:\n  - type: field_name_mapping\n    mapping: {a: b}\n  - type: drop_detection_item\n    field_name_conditions: []\n";
        let e = read(text).unwrap_err();
        assert!(
            e.message.contains("'drop_detection_item' is not supported"),
            "{}",
            e.message
        );
        let f = SourceFile::new("p.yml", text);
        assert_eq!(e.in_file(&f).line, 4);
        let e = read("transformations:\n  - type: field_name_maping\n    mapping: {a: b}\n")
            .unwrap_err();
        assert!(
            e.message.contains("did you mean 'field_name_mapping'"),
            "{}",
            e.message
        );
        let e = read("transformations:\n  - type: field_name_mapping\n    mapping: {a: [b, c]}\n")
            .unwrap_err();
        assert!(e.message.contains("several fields"), "{}", e.message);
        let e = read("postprocessing:\n  - type: template\n").unwrap_err();
        assert!(
            e.message.contains("'postprocessing' is not supported"),
            "{}",
            e.message
        );
        let e = read("transformations:\n  - type: add_condition\n    conditions: {a: b}\n    rule_conditions:\n      - type: contains_detection_item\n").unwrap_err();
        assert!(
            e.message
                .contains("rule condition 'contains_detection_item'"),
            "{}",
            e.message
        );
    }
}
