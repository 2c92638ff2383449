//! Field mappings: a small YAML of our own (what pySigma calls a processing pipeline) that renames
//! or re-paths fields per target, adds a condition to every rule, and maps logsources to tables.
//!
//! ```yaml
//! fields:                       # a dotted path (or prefix) → its new path, for every target or per target
//!   sourceIPAddress: src_ip
//!   requestParameters:
//!     athena: request_parameters
//! condition:                    # ANDed to every rule; Sigma detection syntax (a mapping of fields)
//!   recipientAccountId: ['111122223333', '444455556666']
//! table: cloudtrail_prod        # the table (Athena) when --table is not given
//! schema: cloudtrail            # the table schema (Athena) when --schema is not given
//! logsources:                   # the first entry whose keys all match the rule's logsource wins
//!   - logsource: {product: aws, service: cloudtrail}
//!     table: cloudtrail_mgmt
//! ```
//!
//! A field can also be renamed to a column of the user's own Athena table, with its type:
//! `sourceIPAddress: {athena: {column: src_ip, type: string}}`.

use std::path::Path;

use crate::backend::{RenderOptions, Target};
use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};
use crate::ir::{Expr, FieldPath, Predicate, Subject, Test};
use crate::rule::Rule;
use crate::source::Span;
use crate::yaml::{self, Node};

const KEYS: [&str; 5] = ["fields", "condition", "table", "schema", "logsources"];

/// One field rename: the path (or path prefix) and its replacement, for one target or all.
#[derive(Debug, Clone)]
struct Rename {
    from: FieldPath,
    target: Option<Target>,
    to: FieldPath,
}

/// A loaded mapping file.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    renames: Vec<Rename>,
    condition: Option<Expr>,
    table: Option<String>,
    schema: Option<String>,
    logsources: Vec<(Vec<(String, String)>, String)>,
    /// Table columns the mapping names with their type (`{column: src_ip, type: string}`): the
    /// table has them besides the schema's.
    columns: Vec<(String, String)>,
}

impl Mapping {
    /// Read and check a mapping file; unknown keys and targets are errors with their line.
    pub fn load(path: &Path) -> Result<Mapping, FileDiagnostic> {
        let bytes = crate::read_limited(path).map_err(|e| {
            Diagnostic::new(Code::Io, format!("cannot read mapping: {e}")).at_path(path)
        })?;
        let file = crate::source_from_bytes(path, bytes)?;
        let docs = yaml::parse_documents(&file.text).map_err(|d| d.in_file(&file))?;
        let Some(doc) = docs.first() else {
            return Err(Diagnostic::new(Code::Empty, "the mapping file is empty").in_file(&file));
        };
        Self::from_doc(doc).map_err(|d| d.in_file(&file))
    }

    fn from_doc(doc: &yaml::Document) -> Result<Mapping, Diagnostic> {
        let at = |p: &[&str]| doc.keys.key(p).unwrap_or(Span::at(doc.start));
        let Node::Map(entries) = &doc.node else {
            return Err(Diagnostic::new(
                Code::NotARule,
                format!(
                    "a mapping file must be a YAML mapping, found {}",
                    doc.node.kind()
                ),
            ));
        };
        let mut m = Mapping::default();
        for (key, value) in entries {
            let span = at(&[key]);
            let bad = |what: &str| {
                Diagnostic::new(
                    Code::BadValue,
                    format!("'{key}' must be {what}, found {}", value.kind()),
                )
                .with_span(span)
            };
            match key.as_str() {
                "fields" => {
                    let Node::Map(fields) = value else {
                        return Err(bad("a mapping of field → new field"));
                    };
                    for (from, to) in fields {
                        let fspan = at(&["fields", from]);
                        match to {
                            Node::Str(t) => m.renames.push(Rename { from: FieldPath::parse(from), target: None, to: FieldPath::parse(t) }),
                            Node::Map(per) => {
                                for (tname, t) in per {
                                    let target: Target = tname.parse().map_err(|e: String| {
                                        Diagnostic::new(Code::BadValue, e).with_span(at(&["fields", from, tname]))
                                    })?;
                                    let t = match t {
                                        Node::Str(t) => t.clone(),
                                        Node::Map(_) => m.column(from, target, t).map_err(|d| d.or_span(at(&["fields", from, tname])))?,
                                        _ => return Err(Diagnostic::new(Code::BadValue, format!("the new name of '{from}' for {tname} must be a string or {{column, type}}")).with_span(fspan)),
                                    };
                                    m.renames.push(Rename { from: FieldPath::parse(from), target: Some(target), to: FieldPath::parse(&t) });
                                }
                            }
                            other => {
                                return Err(Diagnostic::new(Code::BadValue, format!("the new name of '{from}' must be a string or a per-target mapping, found {}", other.kind())).with_span(fspan))
                            }
                        }
                    }
                }
                "condition" => {
                    if !matches!(value, Node::Map(_)) {
                        return Err(bad("a mapping of fields (Sigma detection syntax)"));
                    }
                    m.condition =
                        Some(lower_fields(doc, "condition", value).map_err(|d| d.or_span(span))?);
                }
                "table" | "schema" => {
                    let Node::Str(s) = value else {
                        return Err(bad("a string"));
                    };
                    if key == "table" {
                        m.table = Some(s.clone());
                    } else {
                        m.schema = Some(s.clone());
                    }
                }
                "logsources" => {
                    let Node::Seq(items) = value else {
                        return Err(bad("a list of {logsource, table}"));
                    };
                    for item in items {
                        let (Some(Node::Map(ls)), Some(Node::Str(table))) =
                            (item.get("logsource"), item.get("table"))
                        else {
                            return Err(bad("a list of {logsource: {...}, table: name}"));
                        };
                        let ls = ls
                            .iter()
                            .map(|(k, v)| (k.clone(), v.scalar_text().unwrap_or_default()))
                            .collect();
                        m.logsources.push((ls, table.clone()));
                    }
                }
                other => {
                    return Err(Diagnostic::new(
                        Code::BadValue,
                        format!(
                            "unknown key '{other}' in mapping; expected one of {}{}",
                            KEYS.join(", "),
                            crate::suggest::did_you_mean(other, KEYS)
                        ),
                    )
                    .with_span(span));
                }
            }
        }
        Ok(m)
    }

    /// Rename `from` (a field or path prefix) to `to` for every target.
    pub fn add_rename(&mut self, from: &str, to: &str) {
        self.renames.push(Rename {
            from: FieldPath::parse(from),
            target: None,
            to: FieldPath::parse(to),
        });
    }

    /// AND `conditions` (Sigma detection syntax, a node of `doc`) to every rule, or its negation.
    pub fn add_condition(
        &mut self,
        doc: &yaml::Document,
        conditions: &Node,
        negated: bool,
    ) -> Result<(), String> {
        if !matches!(conditions, Node::Map(_)) {
            return Err(
                "'conditions' must be a mapping of fields (Sigma detection syntax)".to_owned(),
            );
        }
        let e = lower_fields(doc, "conditions", conditions).map_err(|d| d.message)?;
        let e = if negated { Expr::Not(Box::new(e)) } else { e };
        self.condition = Some(match self.condition.take() {
            Some(c) => Expr::and(vec![c, e]),
            None => e,
        });
        Ok(())
    }

    /// Query `table` (Athena) when neither the command line nor a logsource entry names one.
    pub fn set_table(&mut self, table: &str) {
        self.table = Some(table.to_owned());
    }

    /// Whether the mapping adds a condition to every rule.
    pub fn has_condition(&self) -> bool {
        self.condition.is_some()
    }

    /// How many renames it holds.
    pub fn rename_count(&self) -> usize {
        self.renames.len()
    }

    /// A rename to a column of the user's table, `{column: name, type: DDL type}` (Athena): the
    /// column is added to the table's columns, so no DDL file has to be written by hand.
    fn column(&mut self, from: &str, target: Target, spec: &Node) -> Result<String, Diagnostic> {
        let bad = |m: String| Diagnostic::new(Code::BadValue, m);
        if target != Target::Athena {
            return Err(bad(format!(
                "'{from}': a column with a type is for the athena target; for {target} give the new field name"
            )));
        }
        let (Some(Node::Str(column)), Some(Node::Str(ty))) = (spec.get("column"), spec.get("type"))
        else {
            return Err(bad(format!(
                "'{from}': expected {{column: name, type: DDL type}} (type: string, bigint, boolean, ...)"
            )));
        };
        if let Node::Map(keys) = spec {
            if let Some((k, _)) = keys.iter().find(|(k, _)| k != "column" && k != "type") {
                return Err(bad(format!(
                    "unknown key '{k}' in a column; expected column, type"
                )));
            }
        }
        let name_ok = !column.is_empty()
            && column
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok {
            return Err(bad(format!(
                "'{from}': column '{}' must be a plain name (letters, digits, _)",
                crate::escape::visible(column)
            )));
        }
        self.columns.push((column.clone(), ty.clone()));
        Ok(column.clone())
    }

    /// The rule as `target` should see it: fields renamed, the extra condition ANDed in front.
    pub fn apply(&self, rule: &Rule, target: Target) -> Rule {
        let mut r = rule.clone();
        r.condition = self.rename_expr(&r.condition, target);
        if let Some(c) = &self.condition {
            r.condition = Expr::and(vec![self.rename_expr(c, target), r.condition]);
        }
        for d in &mut r.detections {
            d.expr = self.rename_expr(&d.expr, target);
        }
        r.meta.fields = r
            .meta
            .fields
            .iter()
            .map(|f| self.rename(&FieldPath::parse(f), target).to_string())
            .collect();
        if let Some(c) = r.correlation.as_deref_mut() {
            self.apply_correlation(c, target);
        }
        r
    }

    /// Some `logsources:` entry matches this logsource (every key of the entry is in it).
    pub fn maps_logsource(&self, logsource: &[(String, String)]) -> bool {
        self.logsources.iter().any(|(ls, _)| {
            ls.iter().all(|(k, v)| {
                logsource
                    .iter()
                    .any(|(rk, rv)| rk == k && rv.eq_ignore_ascii_case(v))
            })
        })
    }

    /// A correlation's base rules as `target` should see them (fields renamed, the extra
    /// condition ANDed in), and the fields they are grouped and counted by renamed; the output
    /// columns keep the group-by names the rule wrote.
    fn apply_correlation(&self, c: &mut crate::correlation::Correlation, target: Target) {
        use crate::correlation::{BaseKind, Source};
        for b in &mut c.bases {
            for s in b.group.iter_mut().chain(b.values.iter_mut()) {
                if let Source::Path(p) = s {
                    *p = self.rename(p, target);
                }
            }
            match &mut b.kind {
                BaseKind::Rule(e) => {
                    let mut x = self.rename_expr(e, target);
                    if let Some(extra) = &self.condition {
                        x = Expr::and(vec![self.rename_expr(extra, target), x]);
                    }
                    *e = x;
                }
                BaseKind::Correlation(inner) => **inner = self.apply(inner, target),
            }
        }
    }

    /// Fill the table and schema from the mapping where the command line left them open.
    pub fn options(&self, rule: &Rule, opts: &mut RenderOptions) {
        if opts.table.is_none() {
            let by_logsource = self.logsources.iter().find(|(ls, _)| {
                ls.iter().all(|(k, v)| {
                    rule.meta
                        .logsource
                        .iter()
                        .any(|(rk, rv)| rk == k && rv.eq_ignore_ascii_case(v))
                })
            });
            opts.table = by_logsource
                .map(|(_, t)| t.clone())
                .or_else(|| self.table.clone());
        }
        if opts.schema.is_none() {
            opts.schema.clone_from(&self.schema);
        }
        opts.columns.extend(self.columns.iter().cloned());
    }

    /// The longest matching prefix rename for this target (a target-specific one beats a general one).
    fn rename(&self, path: &FieldPath, target: Target) -> FieldPath {
        let segs = path.segments();
        let best = self
            .renames
            .iter()
            .filter(|r| r.target.is_none_or(|t| t == target))
            .filter(|r| segs.starts_with(r.from.segments()))
            .max_by_key(|r| (r.from.segments().len(), r.target.is_some()));
        match best {
            Some(r) => {
                let mut out = r.to.segments().to_vec();
                out.extend_from_slice(&segs[r.from.segments().len()..]);
                FieldPath::new(out)
            }
            None => path.clone(),
        }
    }

    fn rename_expr(&self, e: &Expr, target: Target) -> Expr {
        match e {
            Expr::And(xs) => Expr::And(xs.iter().map(|x| self.rename_expr(x, target)).collect()),
            Expr::Or(xs) => Expr::Or(xs.iter().map(|x| self.rename_expr(x, target)).collect()),
            Expr::Not(x) => Expr::Not(Box::new(self.rename_expr(x, target))),
            Expr::Const(b) => Expr::Const(*b),
            // The body's paths are relative to an element: only the array's path is renamed.
            Expr::Elements(el) => Expr::Elements(crate::ir::Elements {
                path: self.rename(&el.path, target),
                ..el.clone()
            }),
            Expr::Pred(p) => {
                let subject = match &p.subject {
                    Subject::Field(f) => Subject::Field(self.rename(f, target)),
                    Subject::Anywhere => Subject::Anywhere,
                };
                let test = match &p.test {
                    Test::FieldRef(r) => Test::FieldRef(crate::ir::FieldRef {
                        other: self.rename(&r.other, target),
                        ..r.clone()
                    }),
                    t => t.clone(),
                };
                Expr::Pred(Predicate {
                    subject,
                    test,
                    ..p.clone()
                })
            }
        }
    }
}

/// A mapping of fields in Sigma detection syntax (a node of `doc`, under `key`) as a condition:
/// no placeholders, the usual size budget.
fn lower_fields(doc: &yaml::Document, key: &str, node: &Node) -> Result<Expr, Diagnostic> {
    let no_placeholders = |_: &str| None;
    let cx = crate::sigma::detection::Context {
        doc,
        placeholders: &no_placeholders,
        root: &[],
        budget: &std::cell::Cell::new(crate::sigma::detection::MAX_IR_NODES),
    };
    crate::sigma::detection::lower_detection(&cx, key, node)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(text: &str) -> Result<Mapping, Diagnostic> {
        let docs = yaml::parse_documents(text).expect("yaml");
        Mapping::from_doc(&docs[0])
    }

    #[test]
    fn renames_by_longest_prefix_and_target() {
        let m = mapping("fields:\n  requestParameters: rp\n  requestParameters.userName:\n    athena: user_name\n").expect("valid");
        let p = FieldPath::parse("requestParameters.userName");
        assert_eq!(m.rename(&p, Target::Athena).to_string(), "user_name");
        assert_eq!(m.rename(&p, Target::Jq).to_string(), "rp.userName");
        assert_eq!(
            m.rename(&FieldPath::parse("eventName"), Target::Jq)
                .to_string(),
            "eventName"
        );
    }

    #[test]
    fn unknown_keys_and_targets_are_errors() {
        let e = mapping("feilds: {}\n").unwrap_err();
        assert!(e.message.contains("unknown key 'feilds'"), "{}", e.message);
        let e = mapping("fields:\n  a:\n    splunk: b\n").unwrap_err();
        assert!(
            e.message.contains("unknown target 'splunk'"),
            "{}",
            e.message
        );
        assert!(mapping("condition: [a]\n").is_err());
    }
}
