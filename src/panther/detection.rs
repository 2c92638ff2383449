//! Panther simple detections (`Detection:` and `InlineFilters:` match expressions) to IR.
//!
//! Values are read as Python reads them on Panther's event (`deep_get`: through objects only, the
//! one value as it is), and each condition has its Python meaning: `Equals` is `==` (typed),
//! `StartsWith`/`EndsWith`/`Contains` need a string (`Contains` also looks into a list's
//! elements), the numeric conditions need a number, and the `DoesNot…`/`IsNot…` forms are the
//! negation, so they hold on a missing field.

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Cidr, CompareOp, Count, Expr, FieldPath, JsonType, Number, Pattern, Test};
use crate::source::Span;
use crate::yaml::{Document, Node};

use super::{canonical_key, elements, exact, fields_equal, is_global_ip, is_ip, is_private_ip};

/// Lowering state: the document, and how many list items at each key path were seen (to find the
/// n-th item's key position).
struct Cx<'a> {
    doc: &'a Document,
    seen: HashMap<Vec<String>, usize>,
    /// Top-level keys are case-insensitive (a `Detection` runs on Panther's event; inline
    /// filters run on the raw record and are not).
    fold_keys: bool,
}

const COMBINATORS: [&str; 4] = ["All", "Any", "OnlyOne", "None"];
const KEY_SPECS: [&str; 3] = ["Key", "DeepKey", "KeyPath"];

/// The rule's `Detection:` list (an implicit `All`).
pub fn lower_detection(doc: &Document, node: &Node) -> Result<Expr, Diagnostic> {
    let mut cx = Cx {
        doc,
        seen: HashMap::new(),
        fold_keys: true,
    };
    cx.list(node, &["Detection".to_owned()], &[], Combine::All)
}

/// The rule's `InlineFilters:` list, ANDed (an empty list is true).
pub fn lower_filters(doc: &Document, node: &Node) -> Result<Expr, Diagnostic> {
    let mut cx = Cx {
        doc,
        seen: HashMap::new(),
        fold_keys: false,
    };
    if *node == Node::Null {
        return Ok(Expr::Const(true));
    }
    cx.list(node, &["InlineFilters".to_owned()], &[], Combine::All)
}

#[derive(Clone, Copy)]
enum Combine {
    All,
    Any,
    OnlyOne,
    None,
}

fn bad(code: Code, msg: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::new(code, msg).with_span(span)
}

impl Cx<'_> {
    fn span_of(&self, path: &[String]) -> Span {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        self.doc.keys.key(&p).unwrap_or(Span::at(self.doc.start))
    }

    /// The position of the key `first` of the next list item under `path`.
    fn item_span(&mut self, path: &[String], first: &str) -> Span {
        let mut full = path.to_vec();
        full.push(first.to_owned());
        let n = self.seen.entry(full.clone()).or_insert(0);
        let p: Vec<&str> = full.iter().map(String::as_str).collect();
        let spans = self.doc.keys.keys_at(&p);
        let s = spans.get(*n).copied();
        *n += 1;
        s.unwrap_or_else(|| self.span_of(path))
    }

    /// A list of match expressions at `path`, combined. `elem` is the element path prefix inside a
    /// list comprehension (relative paths, no key folding), empty at the top.
    fn list(
        &mut self,
        node: &Node,
        path: &[String],
        elem: &[()],
        how: Combine,
    ) -> Result<Expr, Diagnostic> {
        let span = self.span_of(path);
        let Node::Seq(items) = node else {
            return Err(bad(
                Code::BadDetection,
                format!(
                    "expected a list of match expressions, found {}",
                    node.kind()
                ),
                span,
            ));
        };
        let mut exprs = Vec::with_capacity(items.len());
        for item in items {
            exprs.push(self.item(item, path, elem)?);
        }
        Ok(match how {
            Combine::All => Expr::and(exprs),
            Combine::Any => Expr::or(exprs),
            Combine::None => Expr::not(Expr::or(exprs)),
            Combine::OnlyOne => Expr::or(
                (0..exprs.len())
                    .map(|i| {
                        Expr::and(
                            exprs
                                .iter()
                                .enumerate()
                                .map(|(j, e)| {
                                    if i == j {
                                        e.clone()
                                    } else {
                                        Expr::not(e.clone())
                                    }
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            ),
        })
    }

    fn item(&mut self, node: &Node, path: &[String], elem: &[()]) -> Result<Expr, Diagnostic> {
        let Node::Map(entries) = node else {
            let span = self.span_of(path);
            return Err(bad(
                Code::BadDetection,
                format!(
                    "a match expression must be a mapping, found {}",
                    node.kind()
                ),
                span,
            ));
        };
        let Some((first, _)) = entries.first() else {
            let span = self.span_of(path);
            return Err(bad(Code::BadDetection, "an empty match expression", span));
        };
        let span = self.item_span(path, first);
        let mut sub = path.to_vec();
        if let Some(c) = COMBINATORS.iter().find(|c| node.get(c).is_some()) {
            if entries.len() != 1 {
                return Err(bad(
                    Code::BadDetection,
                    format!("'{c}' cannot be mixed with other keys in one match expression"),
                    span,
                ));
            }
            sub.push((*c).to_owned());
            let how = match *c {
                "All" => Combine::All,
                "Any" => Combine::Any,
                "OnlyOne" => Combine::OnlyOne,
                _ => Combine::None,
            };
            let list = node.get(c).unwrap_or(&Node::Null);
            if *list == Node::Null {
                return Ok(Expr::Const(matches!(how, Combine::All | Combine::None)));
            }
            return self.list(list, &sub, elem, how);
        }
        if node.get("Enrichment").is_some() {
            return Err(bad(
                Code::NotTranslatable,
                "not translatable: 'Enrichment' (a Panther lookup-table match that no CloudTrail query can see)",
                span,
            ));
        }
        let Some(cond) = node.get("Condition").and_then(Node::as_str) else {
            return Err(bad(
                Code::BadDetection,
                "a match expression needs a 'Condition' (or All/Any/OnlyOne/None)",
                span,
            ));
        };
        match cond {
            "AlwaysTrue" => return Ok(Expr::Const(true)),
            "AlwaysFalse" => return Ok(Expr::Const(false)),
            _ => {}
        }
        let key = self.key_spec(node, elem, span)?;
        if let Some(Node::Seq(vals)) = node.get("Values") {
            if vals.iter().all(|v| matches!(v, Node::Map(_))) && !vals.is_empty() {
                return self.multi_key(cond, key, vals, elem, span);
            }
        }
        let Some(path) = key else {
            return Err(bad(
                Code::BadDetection,
                format!("'{cond}' needs a key: Key, DeepKey or KeyPath"),
                span,
            ));
        };
        if matches!(
            cond,
            "AnyElement" | "AllElements" | "OnlyOneElement" | "NoElement"
        ) {
            let Some(list) = node.get("Expressions") else {
                return Err(bad(
                    Code::BadDetection,
                    format!("'{cond}' needs 'Expressions' (conditions on each element)"),
                    span,
                ));
            };
            sub.push("Expressions".to_owned());
            let body = self.list(list, &sub, &[()], Combine::All)?;
            return Ok(match cond {
                "AnyElement" => elements(&path, Count::Some, body, span),
                "AllElements" => elements(&path, Count::Every, body, span),
                "OnlyOneElement" => elements(&path, Count::One, body, span),
                _ => Expr::not(elements(&path, Count::Some, body, span)),
            });
        }
        condition(cond, &path, node, span)
    }

    /// The key of an expression: None when it has none (inside `Expressions`: the element itself).
    fn key_spec(
        &self,
        node: &Node,
        elem: &[()],
        span: Span,
    ) -> Result<Option<FieldPath>, Diagnostic> {
        let given: Vec<&str> = KEY_SPECS
            .iter()
            .copied()
            .filter(|k| node.get(k).is_some())
            .collect();
        if given.len() > 1 {
            return Err(bad(
                Code::BadDetection,
                format!("one key per expression; found {}", given.join(" and ")),
                span,
            ));
        }
        let mut segs: Vec<String> = match given.first() {
            None if elem.is_empty() => return Ok(None),
            None => return Ok(Some(FieldPath::new(vec![]))),
            Some(&"Key") => match node.get("Key").and_then(Node::scalar_text) {
                Some(k) => vec![k],
                None => return Err(bad(Code::BadValue, "'Key' must be a string", span)),
            },
            Some(&"DeepKey") => {
                let Some(Node::Seq(items)) = node.get("DeepKey") else {
                    return Err(bad(
                        Code::BadValue,
                        "'DeepKey' must be a list of keys",
                        span,
                    ));
                };
                let mut out = Vec::new();
                for i in items {
                    match i {
                        Node::Str(s) => out.push(s.clone()),
                        Node::Int(_) => {
                            return Err(bad(
                                Code::Unsupported,
                                "a list index in 'DeepKey' is not supported; use AnyElement/AllElements",
                                span,
                            ))
                        }
                        other => {
                            return Err(bad(
                                Code::BadValue,
                                format!("'DeepKey' items must be strings, found {}", other.kind()),
                                span,
                            ))
                        }
                    }
                }
                out
            }
            Some(_) => {
                let Some(p) = node.get("KeyPath").and_then(Node::as_str) else {
                    return Err(bad(Code::BadValue, "'KeyPath' must be a string", span));
                };
                if p.contains('[') || p.contains('"') {
                    return Err(bad(
                        Code::Unsupported,
                        format!("'KeyPath: {p}': list indexes and projections are not supported; use AnyElement/AllElements"),
                        span,
                    ));
                }
                p.split('.').map(str::to_owned).collect()
            }
        };
        if segs.is_empty() || segs.iter().any(String::is_empty) {
            return Err(bad(Code::BadValue, "an empty key", span));
        }
        if elem.is_empty() {
            if segs[0].starts_with("p_") {
                return Err(bad(
                    Code::NotTranslatable,
                    format!("not translatable: '{}' (a field Panther adds; CloudTrail records do not have it)", segs[0]),
                    span,
                ));
            }
            if self.fold_keys {
                segs[0] = canonical_key(&segs[0]);
            }
        }
        Ok(Some(FieldPath::new(segs)))
    }

    fn multi_key(
        &self,
        cond: &str,
        key: Option<FieldPath>,
        vals: &[Node],
        elem: &[()],
        span: Span,
    ) -> Result<Expr, Diagnostic> {
        if key.as_ref().is_some_and(|k| !k.segments().is_empty()) || vals.len() != 2 {
            return Err(bad(
                Code::BadDetection,
                "a multi-key comparison takes exactly two keys in 'Values' and no key of its own",
                span,
            ));
        }
        let mut keys = Vec::new();
        for v in vals {
            match self.key_spec(v, elem, span)? {
                Some(k) if !k.segments().is_empty() => keys.push(k),
                _ => {
                    return Err(bad(
                        Code::BadDetection,
                        "each item of a multi-key 'Values' is a Key, DeepKey or KeyPath",
                        span,
                    ))
                }
            }
        }
        let (a, b) = (&keys[0], &keys[1]);
        use crate::ir::Anchor;
        let field_ref = |anchor, cased| {
            Expr::and(vec![
                exact(a, Test::Type(JsonType::String), span),
                exact(b, Test::Type(JsonType::String), span),
                exact(
                    a,
                    Test::FieldRef(crate::ir::FieldRef {
                        other: b.clone(),
                        anchor,
                        cased,
                        before: String::new(),
                        after: String::new(),
                    }),
                    span,
                ),
            ])
        };
        Ok(match cond {
            "Equals" | "DoesNotEqual" => {
                let (v, ok) = fields_equal(a, b, span);
                let eq = Expr::and(vec![v, ok.clone()]);
                if cond == "Equals" {
                    eq
                } else {
                    Expr::and(vec![Expr::not(eq), ok])
                }
            }
            "IEquals" => field_ref(Anchor::Whole, false),
            "IDoesNotEqual" => Expr::not(field_ref(Anchor::Whole, false)),
            "StartsWith" => field_ref(Anchor::Prefix, true),
            "EndsWith" => field_ref(Anchor::Suffix, true),
            "Contains" => field_ref(Anchor::Substring, true),
            "DoesNotStartWith" => Expr::not(field_ref(Anchor::Prefix, true)),
            "DoesNotEndWith" => Expr::not(field_ref(Anchor::Suffix, true)),
            "DoesNotContain" => Expr::not(field_ref(Anchor::Substring, true)),
            other => {
                return Err(bad(
                    Code::Unsupported,
                    format!("'{other}' between two keys is not supported (only equality and string anchors)"),
                    span,
                ))
            }
        })
    }
}

/// A YAML scalar as the JSON value Python compares with.
fn scalar(node: &Node) -> Option<serde_json::Value> {
    match node {
        Node::Seq(_) | Node::Map(_) => None,
        n => Some(n.to_json()),
    }
}

fn text_value<'n>(cond: &str, node: &'n Node, span: Span) -> Result<&'n str, Diagnostic> {
    match node.get("Value") {
        Some(Node::Str(s)) => Ok(s),
        Some(other) => Err(bad(
            Code::BadValue,
            format!(
                "'{cond}' compares text: 'Value' must be a string, found {}",
                other.kind()
            ),
            span,
        )),
        None => Err(bad(
            Code::BadValue,
            format!("'{cond}' needs a 'Value'"),
            span,
        )),
    }
}

fn str_test(path: &FieldPath, pattern: Pattern, fold: bool, span: Span) -> Expr {
    let pattern = if fold {
        pattern.ascii_lowercase()
    } else {
        pattern
    };
    exact(path, Test::Str { pattern, fold }, span)
}

/// Python `==` with a literal (`Equals`), `.lower() ==` when `fold` and both are strings.
fn equals(path: &FieldPath, v: &serde_json::Value, fold: bool, span: Span) -> Expr {
    match v {
        serde_json::Value::Null => exact(path, Test::Null, span),
        serde_json::Value::String(s) if fold => str_test(path, Pattern::literal(s), true, span),
        other => exact(path, Test::Is(other.clone()), span),
    }
}

/// `Contains`: a substring of a string, or a list element equal to the value or (for text)
/// containing it.
fn contains(path: &FieldPath, node: &Node, fold: bool, span: Span) -> Result<Expr, Diagnostic> {
    let v = node
        .get("Value")
        .and_then(scalar)
        .ok_or_else(|| bad(Code::BadValue, "'Contains' needs a scalar 'Value'", span))?;
    Ok(match &v {
        serde_json::Value::String(s) => {
            let p = Pattern::literal(s.clone()).any_prefix().any_suffix();
            let p = if fold { p.ascii_lowercase() } else { p };
            Expr::or(vec![
                exact(
                    path,
                    Test::Str {
                        pattern: p.clone(),
                        fold,
                    },
                    span,
                ),
                super::any_element(path, Test::Str { pattern: p, fold }, span),
            ])
        }
        other => super::any_element(path, Test::Is(other.clone()), span),
    })
}

fn number(cond: &str, node: &Node, span: Span) -> Result<Number, Diagnostic> {
    match node.get("Value") {
        Some(Node::Int(i)) => Ok(Number {
            value: *i as f64,
            text: i.to_string(),
        }),
        Some(Node::BigInt(s)) => match s.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(Number {
                value,
                text: s.clone(),
            }),
            _ => Err(bad(
                Code::BadValue,
                format!("'{cond}' needs a finite number 'Value'"),
                span,
            )),
        },
        Some(Node::Float(f)) => Ok(Number {
            value: *f,
            text: crate::yaml::float_text(*f),
        }),
        _ => Err(bad(
            Code::BadValue,
            format!("'{cond}' needs a number 'Value'"),
            span,
        )),
    }
}

/// Python `field <op> n` where a number (or bool) is required: anything else raises (no match).
pub(crate) fn py_compare(path: &FieldPath, op: CompareOp, n: &Number, span: Span) -> Expr {
    let mut alts = vec![Expr::and(vec![
        exact(path, Test::Type(JsonType::Number), span),
        exact(
            path,
            Test::Compare {
                op,
                value: n.clone(),
            },
            span,
        ),
    ])];
    for (b, as_num) in [(true, 1.0), (false, 0.0)] {
        if op.holds(as_num, n.value) {
            alts.push(Expr::and(vec![
                exact(path, Test::Type(JsonType::Boolean), span),
                exact(path, Test::Is(serde_json::Value::Bool(b)), span),
            ]));
        }
    }
    Expr::or(alts)
}

fn cidr(cond: &str, node: &Node, span: Span) -> Result<Cidr, Diagnostic> {
    let t = text_value(cond, node, span)?;
    Cidr::parse(t).map_err(|e| bad(Code::BadCidr, format!("'{cond}': {e}"), span))
}

fn condition(cond: &str, path: &FieldPath, node: &Node, span: Span) -> Result<Expr, Diagnostic> {
    let not = Expr::not;
    let (base, negate) = match cond
        .strip_prefix("DoesNot")
        .or_else(|| cond.strip_prefix("IDoesNot"))
    {
        Some(rest) => {
            let positive = match rest {
                "Equal" => "Equals",
                "StartWith" => "StartsWith",
                "EndWith" => "EndsWith",
                "Contain" => "Contains",
                "Exist" => "Exists",
                "Have" => "Has",
                other => other,
            };
            let i = if cond.starts_with('I') { "I" } else { "" };
            (format!("{i}{positive}"), true)
        }
        None => match cond {
            "IsNotIn" => ("IsIn".to_owned(), true),
            "IsNotNull" => ("IsNull".to_owned(), true),
            "IsNotNullOrEmpty" => ("IsNullOrEmpty".to_owned(), true),
            "CIDRDoesNotContainIPAddresses" => ("CIDRContainsIPAddresses".to_owned(), true),
            other => (other.to_owned(), false),
        },
    };
    let positive = match base.as_str() {
        "Equals" | "IEquals" => {
            let v = node.get("Value").and_then(scalar).ok_or_else(|| {
                bad(
                    Code::BadValue,
                    format!("'{cond}' needs a scalar 'Value'"),
                    span,
                )
            })?;
            equals(path, &v, base == "IEquals", span)
        }
        "StartsWith" | "IStartsWith" => str_test(
            path,
            Pattern::literal(text_value(cond, node, span)?).any_suffix(),
            base.starts_with('I'),
            span,
        ),
        "EndsWith" | "IEndsWith" => str_test(
            path,
            Pattern::literal(text_value(cond, node, span)?).any_prefix(),
            base.starts_with('I'),
            span,
        ),
        "Contains" | "IContains" | "Has" => contains(path, node, base == "IContains", span)?,
        "IsGreaterThan" => py_compare(path, CompareOp::Gt, &number(cond, node, span)?, span),
        "IsGreaterThanOrEquals" | "IsGreaterThanOrEqual" => {
            py_compare(path, CompareOp::Gte, &number(cond, node, span)?, span)
        }
        "IsLessThan" => py_compare(path, CompareOp::Lt, &number(cond, node, span)?, span),
        "IsLessThanOrEquals" | "IsLessThanOrEqual" => {
            py_compare(path, CompareOp::Lte, &number(cond, node, span)?, span)
        }
        "IsIn" => {
            let Some(Node::Seq(vals)) = node.get("Values") else {
                return Err(bad(
                    Code::BadValue,
                    format!("'{cond}' needs a list 'Values'"),
                    span,
                ));
            };
            let mut alts = Vec::new();
            for v in vals {
                let v = scalar(v).ok_or_else(|| {
                    bad(
                        Code::BadValue,
                        format!("'{cond}' values must be scalars"),
                        span,
                    )
                })?;
                alts.push(equals(path, &v, false, span));
                if !v.is_null() {
                    alts.push(super::any_element(path, Test::Is(v), span));
                }
            }
            Expr::or(alts)
        }
        "IsIPAddressInCIDR" => exact(path, Test::Cidr(cidr(cond, node, span)?), span),
        "IsIPAddressNotInCIDR" => Expr::and(vec![
            is_ip(path, true, true, span),
            not(exact(path, Test::Cidr(cidr(cond, node, span)?), span)),
        ]),
        "CIDRContainsIPAddresses" => {
            super::any_element(path, Test::Cidr(cidr(cond, node, span)?), span)
        }
        "IsIPAddress" => is_ip(path, true, true, span),
        "IsIPv4Address" => is_ip(path, true, false, span),
        "IsIPv6Address" => is_ip(path, false, true, span),
        "IsIPAddressPrivate" => is_private_ip(path, span),
        "IsIPAddressPublic" => is_global_ip(path, span),
        "Exists" => exact(path, Test::Exists, span),
        "IsNull" => exact(path, Test::Null, span),
        "IsNullOrEmpty" => Expr::or(vec![
            exact(path, Test::Null, span),
            Expr::and(vec![
                not(exact(path, Test::Truthy, span)),
                Expr::or(vec![
                    exact(path, Test::Type(JsonType::String), span),
                    exact(path, Test::Type(JsonType::Array), span),
                    exact(path, Test::Type(JsonType::Object), span),
                ]),
            ]),
        ]),
        _ => {
            return Err(bad(
                Code::BadDetection,
                format!("unknown Condition '{cond}'"),
                span,
            ))
        }
    };
    Ok(if negate { not(positive) } else { positive })
}
