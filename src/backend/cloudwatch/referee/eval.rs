//! Flattening events the way Logs Insights discovers fields, and evaluating filters over them.

use indexmap::IndexMap;
use serde_json::Value;

use super::{Aggregate, CmpOp, Expr, Operand, MAX_FIELDS};

/// A field value as Logs Insights holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    /// A JSON number (its JSON text kept), or a boolean as 1/0.
    Num {
        value: f64,
        text: String,
    },
}

impl Val {
    /// The value's text: a string itself, a number's JSON text.
    pub fn text(&self) -> &str {
        match self {
            Val::Str(s) => s,
            Val::Num { text, .. } => text,
        }
    }

    /// The value as a number: a number, or a string that is exactly a JSON number literal.
    fn as_number(&self) -> Option<f64> {
        match self {
            Val::Num { value, .. } => Some(*value),
            Val::Str(s) if crate::eval::is_json_number(s) => s.parse().ok(),
            Val::Str(_) => None,
        }
    }

    /// A Boolean as Logs Insights holds it: the number 1 or 0.
    fn from_bool(b: bool) -> Val {
        Val::Num {
            value: if b { 1.0 } else { 0.0 },
            text: if b { "1" } else { "0" }.to_owned(),
        }
    }
}

/// One event as Logs Insights sees it: its discovered fields and `@message`.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub fields: IndexMap<String, Val>,
    pub message: String,
}

/// Flatten an event: scalar leaves by dotted path (array indices as segments), booleans as 1/0,
/// nulls, objects and arrays not fields, the first [`MAX_FIELDS`] leaves only.
pub fn flatten(event: &Value) -> Record {
    let mut fields = IndexMap::new();
    if let Value::Object(m) = event {
        for (k, v) in m {
            let name = if k.starts_with('@') {
                format!("@{k}")
            } else {
                k.clone()
            };
            flatten_into(v, name, &mut fields);
        }
    }
    Record {
        fields,
        message: serde_json::to_string(event).unwrap_or_default(),
    }
}

/// Add the scalar leaves of `v`, named `name` and its dotted extensions, to `out` (up to
/// [`MAX_FIELDS`]; the first value of a name wins).
fn flatten_into(v: &Value, name: String, out: &mut IndexMap<String, Val>) {
    if out.len() >= MAX_FIELDS {
        return;
    }
    let val = match v {
        Value::Null => return,
        Value::Bool(b) => Val::from_bool(*b),
        Value::Number(n) => Val::Num {
            value: n.as_f64().unwrap_or(f64::NAN),
            text: n.to_string(),
        },
        Value::String(s) => Val::Str(s.clone()),
        Value::Object(m) => {
            for (k, x) in m {
                flatten_into(x, format!("{name}.{k}"), out);
            }
            return;
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                flatten_into(x, format!("{name}.{i}"), out);
            }
            return;
        }
    };
    out.entry(name).or_insert(val);
}

impl Record {
    /// The value of a field (`@message` included), if the event has it.
    pub fn get(&self, name: &str) -> Option<Val> {
        if name == "@message" {
            return Some(Val::Str(self.message.clone()));
        }
        self.fields.get(name).cloned()
    }

    /// Does the filter condition `e` hold for this event?
    pub fn eval(&self, e: &Expr) -> bool {
        match e {
            Expr::And(xs) => xs.iter().all(|x| self.eval(x)),
            Expr::Or(xs) => xs.iter().any(|x| self.eval(x)),
            Expr::Not(x) => !self.eval(x),
            Expr::Compare { lhs, op, rhs } => {
                let (Some(a), Some(b)) = (self.operand(lhs), self.operand(rhs)) else {
                    return false;
                };
                match op {
                    CmpOp::Eq => equal(&a, &b),
                    CmpOp::Ne => !equal(&a, &b),
                    _ => match (a.as_number(), b.as_number()) {
                        (Some(x), Some(y)) => match op {
                            CmpOp::Lt => x < y,
                            CmpOp::Le => x <= y,
                            CmpOp::Gt => x > y,
                            _ => x >= y,
                        },
                        _ => false,
                    },
                }
            }
            Expr::Regex {
                lhs,
                regex,
                negated,
                ..
            } => self
                .operand(lhs)
                .is_some_and(|v| regex.is_match(v.text()) != *negated),
            Expr::Like {
                lhs,
                needle,
                negated,
            } => self
                .operand(lhs)
                .is_some_and(|v| v.text().contains(needle.as_str()) != *negated),
            Expr::In { lhs, list, negated } => self.operand(lhs).is_some_and(|v| {
                let found = list
                    .iter()
                    .filter_map(|x| self.operand(x))
                    .any(|x| equal(&v, &x));
                found != *negated
            }),
            Expr::IsPresent(name) => name == "@message" || self.fields.contains_key(name),
            Expr::IpInSubnet { operand, network } => match self.operand(operand) {
                Some(Val::Str(s)) => s
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| network.contains(ip)),
                _ => false,
            },
        }
    }

    /// The value of an operand; None when a field it reads is missing.
    fn operand(&self, o: &Operand) -> Option<Val> {
        Some(match o {
            Operand::Field(name) => return self.get(name),
            Operand::Str(s) => Val::Str(s.clone()),
            Operand::Num { value, text } => Val::Num {
                value: *value,
                text: text.clone(),
            },
            Operand::Lower(x) => Val::Str(self.operand(x)?.text().to_lowercase()),
            Operand::StrContains(a, b) => {
                let (a, b) = (self.operand(a)?, self.operand(b)?);
                Val::from_bool(a.text().contains(b.text()))
            }
            Operand::StartsWith(a, b) => {
                let (a, b) = (self.operand(a)?, self.operand(b)?);
                Val::from_bool(a.text().starts_with(b.text()))
            }
            Operand::Concat(parts) => {
                let mut out = String::new();
                for p in parts {
                    out.push_str(self.operand(p)?.text());
                }
                Val::Str(out)
            }
            Operand::EndsWith(a, b) => {
                let (a, b) = (self.operand(a)?, self.operand(b)?);
                Val::from_bool(a.text().ends_with(b.text()))
            }
        })
    }
}

/// `=`: strings as strings, numbers as numbers, a string and a number by text.
fn equal(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Num { value: x, .. }, Val::Num { value: y, .. }) => x == y,
        _ => a.text() == b.text(),
    }
}

/// Group `records` (with their times) by time bin and `by` fields, one record per group holding
/// the bin (`YYYY-MM-DD HH:MM:SS.000`), the `by` values and the named aggregates; groups in bin
/// order, then by their `by` texts. See [`super::Query::rows`] for the model.
pub(super) fn stats(
    records: &[(Option<i64>, Record)],
    aggregates: &[(Aggregate, String)],
    bin: u64,
    bin_name: &str,
    by: &[String],
) -> Vec<(Option<i64>, Record)> {
    let bin = i64::try_from(bin).unwrap_or(i64::MAX);
    let mut groups: std::collections::BTreeMap<(i64, Vec<String>), Vec<&Record>> =
        std::collections::BTreeMap::new();
    for (t, r) in records {
        let Some(t) = t else { continue };
        let Some(keys) = by
            .iter()
            .map(|f| r.get(f).map(|v| v.text().to_owned()))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        groups
            .entry((t.div_euclid(bin) * bin, keys))
            .or_default()
            .push(r);
    }
    let number = |x: f64| Val::Num {
        value: x,
        text: crate::correlation::eval::number(x).to_string(),
    };
    groups
        .into_iter()
        .map(|((start, keys), rs)| {
            let mut fields = IndexMap::new();
            let shown = crate::backend::athena::window::iso(start)
                .replace('T', " ")
                .replace('Z', ".000");
            fields.insert(bin_name.to_owned(), Val::Str(shown));
            for (f, k) in by.iter().zip(&keys) {
                if let Some(v) = rs.first().and_then(|r| r.get(f)) {
                    fields.insert(f.clone(), v);
                } else {
                    fields.insert(f.clone(), Val::Str(k.clone()));
                }
            }
            for (a, name) in aggregates {
                let nums = |f: &str| -> Vec<f64> {
                    rs.iter()
                        .filter_map(|r| match r.get(f) {
                            Some(Val::Num { value, .. }) => Some(value),
                            _ => None,
                        })
                        .collect()
                };
                let v = match a {
                    Aggregate::Count => Some(number(rs.len() as f64)),
                    Aggregate::CountDistinct(f) => {
                        let distinct: std::collections::BTreeSet<String> = rs
                            .iter()
                            .filter_map(|r| r.get(f).map(|v| v.text().to_owned()))
                            .collect();
                        Some(number(distinct.len() as f64))
                    }
                    Aggregate::Sum(f) => {
                        let xs = nums(f);
                        (!xs.is_empty()).then(|| number(xs.iter().sum()))
                    }
                    Aggregate::Avg(f) => {
                        let xs = nums(f);
                        (!xs.is_empty()).then(|| number(xs.iter().sum::<f64>() / xs.len() as f64))
                    }
                };
                if let Some(v) = v {
                    fields.insert(name.clone(), v);
                }
            }
            (
                Some(start),
                Record {
                    fields,
                    message: String::new(),
                },
            )
        })
        .collect()
}

/// How `sort` orders two values: numbers by value, then texts; a missing value last.
pub(super) fn order(a: Option<&Val>, b: Option<&Val>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(Val::Num { value: x, .. }), Some(Val::Num { value: y, .. })) => {
            x.partial_cmp(y).unwrap_or(Ordering::Equal)
        }
        (Some(x), Some(y)) => x.text().cmp(y.text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_like_logs_insights() {
        let r = flatten(&json!({
            "a": {"b": [1, {"c": true}], "d": null, "e": {}},
            "s": "x",
            "@k": 2
        }));
        let names: Vec<&str> = r.fields.keys().map(String::as_str).collect();
        assert_eq!(names, ["a.b.0", "a.b.1.c", "s", "@@k"]);
        assert_eq!(
            r.get("a.b.1.c").map(|v| v.text().to_owned()),
            Some("1".into())
        );
        assert!(r.get("a.d").is_none() && r.get("a.e").is_none() && r.get("a.b").is_none());
        assert_eq!(
            r.message,
            r#"{"a":{"b":[1,{"c":true}],"d":null,"e":{}},"s":"x","@k":2}"#
        );
    }

    #[test]
    fn at_most_200_fields() {
        let mut m = serde_json::Map::new();
        for i in 0..250 {
            m.insert(format!("f{i}"), json!(i));
        }
        let r = flatten(&Value::Object(m));
        assert_eq!(r.fields.len(), MAX_FIELDS);
        assert!(r.get("f199").is_some() && r.get("f200").is_none());
        assert!(r.message.contains("\"f249\":249"));
    }
}
