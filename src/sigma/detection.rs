//! Lowering Sigma detections (maps, lists, keywords, modified values) to IR expressions.

use std::cell::Cell;

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Anchor, Cidr, Expr, FieldPath, Number, Pattern, Predicate, Subject, Test};
use crate::source::Span;
use crate::yaml::{float_text, Document, Node};

use super::modifier::{apply_transforms, Kind, Modifiers};

/// The most IR nodes the rules of one file may amount to: every predicate a value lowers to
/// (its windash/expand/base64offset alternatives included) and, in a condition, every detection
/// each time it is used (`1 of them` copies them all). Real rules use a few hundred.
pub const MAX_IR_NODES: usize = 1_000_000;

/// What lowering needs besides the detection itself.
pub struct Context<'a> {
    pub doc: &'a Document,
    pub placeholders: &'a dyn Fn(&str) -> Option<Vec<String>>,
    /// The keys above the detections in the document (`["detection"]` in a Sigma rule).
    pub root: &'a [&'a str],
    /// IR nodes the file may still build (starts at [`MAX_IR_NODES`]; shared by its rules).
    pub budget: &'a Cell<usize>,
}

impl Context<'_> {
    fn span(&self, path: &[&str]) -> Span {
        let full: Vec<&str> = self.root.iter().chain(path).copied().collect();
        self.doc.keys.key(&full).unwrap_or(Span::at(self.doc.start))
    }

    /// Where the value at `path` (its `n`-th list item, if a list) starts, when the key index
    /// knows; else `fallback`.
    fn value_span(&self, path: &[&str], item: Option<usize>, fallback: Span) -> Span {
        let full: Vec<&str> = self.root.iter().chain(path).copied().collect();
        let keys = &self.doc.keys;
        item.and_then(|n| keys.item_offset(&full, n))
            .or_else(|| keys.value_offset(&full))
            .map_or(fallback, Span::at)
    }

    /// Spend `n` IR nodes of the file's budget; `at()` is where to report running out.
    fn charge(&self, n: usize, at: &dyn Fn() -> Span) -> Result<(), Diagnostic> {
        charge(self.budget, n).map_err(|()| {
            Diagnostic::new(
                Code::BadValue,
                format!("the file's detections expand to more than {MAX_IR_NODES} predicates (the limit per file)"),
            )
            .with_span(at())
        })
    }
}

/// Take `n` from `budget`, or fail (taking nothing) when there is not that much left.
pub(crate) fn charge(budget: &Cell<usize>, n: usize) -> Result<(), ()> {
    let left = budget.get().checked_sub(n).ok_or(())?;
    budget.set(left);
    Ok(())
}

/// Lower one named detection (`selection: ...`).
pub fn lower_detection(cx: &Context, name: &str, node: &Node) -> Result<Expr, Diagnostic> {
    let span = cx.span(&[name]);
    match node {
        Node::Map(entries) => lower_map(cx, name, entries, span),
        Node::Seq(items) => {
            if items.is_empty() {
                return Err(Diagnostic::new(
                    Code::BadDetection,
                    format!("detection '{name}' is an empty list"),
                )
                .with_span(span));
            }
            let mut alts = Vec::with_capacity(items.len());
            for item in items {
                alts.push(match item {
                    Node::Map(entries) => lower_map(cx, name, entries, span)?,
                    Node::Seq(_) => {
                        return Err(Diagnostic::new(
                            Code::BadDetection,
                            format!(
                            "detection '{name}' holds a nested list; expected values or mappings"
                        ),
                        )
                        .with_span(span))
                    }
                    scalar => keyword(cx, scalar, span)?,
                });
            }
            Ok(Expr::or(alts))
        }
        Node::Null => Err(Diagnostic::new(
            Code::BadDetection,
            format!(
                "detection '{name}' is empty; expected a mapping of fields or a list of keywords"
            ),
        )
        .with_span(span)),
        scalar => keyword(cx, scalar, span),
    }
}

fn lower_map(
    cx: &Context,
    name: &str,
    entries: &[(String, Node)],
    span: Span,
) -> Result<Expr, Diagnostic> {
    if entries.is_empty() {
        return Err(Diagnostic::new(
            Code::BadDetection,
            format!("detection '{name}' is an empty mapping"),
        )
        .with_span(span));
    }
    let mut items = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let kspan = cx.span(&[name, key]);
        items.push(lower_item(cx, &[name, key], value, kspan).map_err(|d| d.or_span(kspan))?);
    }
    Ok(Expr::and(items))
}

/// A bare value in a detection list: a keyword searched anywhere in the event.
fn keyword(cx: &Context, node: &Node, span: Span) -> Result<Expr, Diagnostic> {
    cx.charge(1, &|| span)?;
    let text = scalar_text(node).ok_or_else(|| {
        Diagnostic::new(
            Code::BadValue,
            format!(
                "a keyword must be a string or number, found {}",
                node.kind()
            ),
        )
        .with_span(span)
    })?;
    Ok(Expr::Pred(Predicate {
        subject: Subject::Anywhere,
        quantifier: Default::default(),
        test: Test::Text {
            pattern: Pattern::parse_sigma(&text).any_prefix().any_suffix(),
            cased: false,
        },
        span,
    }))
}

/// The text a scalar rule value compares with: `22` and `'22'` are the same.
fn scalar_text(node: &Node) -> Option<String> {
    match node {
        Node::Str(s) => Some(s.clone()),
        Node::Int(i) => Some(i.to_string()),
        Node::BigInt(s) => Some(s.clone()),
        Node::Float(f) => Some(float_text(*f)),
        Node::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Lower `field|modifiers: value(s)`.
fn lower_item(
    cx: &Context,
    path: &[&str; 2],
    value: &Node,
    span: Span,
) -> Result<Expr, Diagnostic> {
    let key = path[1];
    if key.is_empty() {
        // pySigma would read `'': x` as a keyword search; it is far more likely a field name
        // lost in editing, and a keyword search is written as a list under the detection.
        return Err(Diagnostic::new(
            Code::BadDetection,
            "empty field name; name the field, or list the values under the detection for a keyword search",
        ));
    }
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("");
    let names: Vec<&str> = parts.collect();
    let m = Modifiers::parse(&names)?;
    let subject = if field.is_empty() {
        if !matches!(m.kind, Kind::Text) {
            return Err(Diagnostic::new(
                Code::ModifierConflict,
                "a keyword (no field name) can only take string modifiers",
            ));
        }
        Subject::Anywhere
    } else {
        Subject::Field(FieldPath::parse(field))
    };
    let values: Vec<&Node> = match value {
        Node::Seq(items) => items.iter().collect(),
        other => vec![other],
    };
    if values.is_empty() {
        // pySigma reads an empty list as null.
        return finish(&m, vec![pred(&subject, Test::Null, span)]);
    }
    let listed = matches!(value, Node::Seq(_));
    let mut alts = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        if matches!(v, Node::Seq(_) | Node::Map(_)) {
            return Err(Diagnostic::new(
                Code::BadValue,
                format!("expected a scalar value for '{key}', found {}", v.kind()),
            ));
        }
        // Found only for an error: looking every value up would cost every rule.
        let at = || cx.value_span(path, listed.then_some(i), span);
        alts.push(lower_value(cx, &m, &subject, v, span, &at)?);
    }
    finish(&m, alts)
}

fn finish(m: &Modifiers, alts: Vec<Expr>) -> Result<Expr, Diagnostic> {
    let e = if m.all {
        Expr::and(alts)
    } else {
        Expr::or(alts)
    };
    Ok(if m.negate { Expr::not(e) } else { e })
}

fn pred(subject: &Subject, test: Test, span: Span) -> Expr {
    Expr::Pred(Predicate {
        subject: subject.clone(),
        quantifier: Default::default(),
        test,
        span,
    })
}

/// One value of an item; `span` is the item's key (where predicates point), `at()` the value
/// itself (where limits on what it expands to are reported).
fn lower_value(
    cx: &Context,
    m: &Modifiers,
    subject: &Subject,
    v: &Node,
    span: Span,
    at: &dyn Fn() -> Span,
) -> Result<Expr, Diagnostic> {
    if !matches!(m.kind, Kind::Text) || *v == Node::Null {
        cx.charge(1, at)?;
    }
    if *v == Node::Null {
        if m.kind != Kind::Text || m.anchor != Anchor::Whole || !m.transforms.is_empty() || m.cased
        {
            return Err(Diagnostic::new(
                Code::BadValue,
                "null cannot take modifiers other than 'neq'",
            ));
        }
        if *subject == Subject::Anywhere {
            return Err(Diagnostic::new(Code::BadValue, "a keyword cannot be null"));
        }
        return Ok(pred(subject, Test::Null, span));
    }
    match m.kind {
        Kind::Text => {
            let text = scalar_text(v)
                .ok_or_else(|| Diagnostic::new(Code::BadValue, "expected a string"))?;
            let base = Pattern::parse_sigma(&text);
            let expanded = apply_transforms(m, base, cx.placeholders, at)?;
            cx.charge(expanded.len(), at)?;
            let keyword = *subject == Subject::Anywhere;
            let tests = expanded
                .into_iter()
                .map(|p| {
                    let p = match (m.anchor, keyword) {
                        (_, true) | (Anchor::Substring, _) => p.any_prefix().any_suffix(),
                        (Anchor::Prefix, _) => p.any_suffix(),
                        (Anchor::Suffix, _) => p.any_prefix(),
                        (Anchor::Whole, _) => p,
                    };
                    pred(
                        subject,
                        Test::Text {
                            pattern: p,
                            cased: m.cased,
                        },
                        span,
                    )
                })
                .collect();
            Ok(Expr::or(tests))
        }
        Kind::Regex => {
            let Node::Str(re) = v else {
                return Err(Diagnostic::new(
                    Code::BadValue,
                    format!("'re' expects a string, found {}", v.kind()),
                ));
            };
            let re = &unname_groups(re);
            check_regex(re, m.flags)?;
            Ok(pred(
                subject,
                Test::Regex {
                    regex: re.clone(),
                    flags: m.flags,
                },
                span,
            ))
        }
        Kind::Cidr => {
            let Node::Str(s) = v else {
                return Err(Diagnostic::new(
                    Code::BadCidr,
                    format!("'cidr' expects a string, found {}", v.kind()),
                ));
            };
            let c = Cidr::parse(s)
                .map_err(|e| Diagnostic::new(Code::BadCidr, format!("invalid CIDR: {e}")))?;
            Ok(pred(subject, Test::Cidr(c), span))
        }
        Kind::Exists => match v {
            Node::Bool(true) => Ok(pred(subject, Test::Exists, span)),
            Node::Bool(false) => Ok(Expr::not(pred(subject, Test::Exists, span))),
            other => Err(Diagnostic::new(
                Code::BadValue,
                format!("'exists' expects true or false, found {}", other.kind()),
            )),
        },
        Kind::Compare(op) => Ok(pred(subject, compare(op, v)?, span)),
        Kind::FieldRef => {
            let Node::Str(other) = v else {
                return Err(Diagnostic::new(
                    Code::BadValue,
                    format!("'fieldref' expects a field name, found {}", v.kind()),
                ));
            };
            if other.is_empty() || other.contains(['*', '?', '|']) {
                return Err(Diagnostic::new(
                    Code::BadValue,
                    format!("'fieldref' expects a plain field name, found '{other}'"),
                ));
            }
            Ok(pred(
                subject,
                Test::FieldRef(crate::ir::FieldRef {
                    other: FieldPath::parse(other),
                    anchor: m.anchor,
                    cased: m.cased,
                    before: String::new(),
                    after: String::new(),
                }),
                span,
            ))
        }
    }
}

/// A numeric comparison (`gt`, `gte`, `lt`, `lte`) with the rule's number, kept as written.
fn compare(op: crate::ir::CompareOp, v: &Node) -> Result<Test, Diagnostic> {
    let (value, text) = match v {
        Node::Int(i) => (*i as f64, i.to_string()),
        // At most 39 digits: always a finite double.
        Node::BigInt(s) => (s.parse::<f64>().unwrap_or(f64::NAN), s.clone()),
        Node::Float(f) if f.is_finite() => (*f, float_text(*f)),
        Node::Float(f) => {
            let yaml = if f.is_nan() {
                ".nan"
            } else if *f > 0.0 {
                ".inf"
            } else {
                "-.inf"
            };
            return Err(Diagnostic::new(
                Code::BadValue,
                format!("'{}' expects a finite number, found {yaml}", op_name(op)),
            ));
        }
        other => {
            return Err(Diagnostic::new(
                Code::BadValue,
                format!("'{}' expects a number, found {}", op_name(op), other.kind()),
            ))
        }
    };
    Ok(Test::Compare {
        op,
        value: Number { value, text },
    })
}

fn op_name(op: crate::ir::CompareOp) -> &'static str {
    match op {
        crate::ir::CompareOp::Gt => "gt",
        crate::ir::CompareOp::Gte => "gte",
        crate::ir::CompareOp::Lt => "lt",
        crate::ir::CompareOp::Lte => "lte",
    }
}

/// Accept only regexes every target can render to mean the same (see
/// [`crate::portable_regex`]): valid for the Rust `regex` crate (which rejects look-around and
/// back-references, like RE2, jaq and Logs Insights do), and none of the constructs no engine
/// agrees on (`\<`, `\b{start}`, huge Unicode classes).
pub fn check_regex(re: &str, flags: crate::ir::RegexFlags) -> Result<(), Diagnostic> {
    crate::portable_regex::check(re, flags).map(|_| ())
}

/// Named groups (`(?P<name>...)`, `(?<name>...)`) become plain groups: names never change what a
/// search matches, and the engines we target spell them differently.
pub fn unname_groups(re: &str) -> String {
    let chars: Vec<char> = re.chars().collect();
    let mut out = String::with_capacity(re.len());
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            out.push(c);
            if let Some(n) = chars.get(i + 1) {
                out.push(*n);
            }
            i += 2;
            continue;
        }
        if in_class {
            in_class = c != ']';
        } else if c == '[' {
            in_class = true;
        } else if c == '(' && chars.get(i + 1) == Some(&'?') {
            let name_start = match (chars.get(i + 2), chars.get(i + 3)) {
                (Some('P'), Some('<')) => Some(i + 4),
                (Some('<'), Some(n)) if n.is_alphabetic() || *n == '_' => Some(i + 3),
                _ => None,
            };
            if let Some(start) = name_start {
                let mut j = start;
                while chars
                    .get(j)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
                {
                    j += 1;
                }
                if j > start && chars.get(j) == Some(&'>') {
                    out.push('(');
                    i = j + 1;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values under the per-value cap still add up; the file's IR budget stops the sum at the
    /// first value over (here a budget of 10,000 nodes and 300 values of 40 alternatives).
    #[test]
    fn the_ir_budget_stops_at_the_first_value_over() {
        let values = "    - '%p%'\n".repeat(300);
        let text = format!("sel:\n  f|expand:\n{values}");
        let docs = crate::yaml::parse_documents(&text).unwrap();
        let names: Vec<String> = (0..40).map(|i| format!("n{i}")).collect();
        let budget = Cell::new(10_000);
        let cx = Context {
            doc: &docs[0],
            placeholders: &|_| Some(names.clone()),
            root: &[],
            budget: &budget,
        };
        let sel = docs[0].node.get("sel").unwrap();
        let e = lower_detection(&cx, "sel", sel).unwrap_err();
        assert_eq!(e.code, Code::BadValue);
        assert!(
            e.message.contains("more than 1000000 predicates"),
            "{}",
            e.message
        );
        // 250 values of 40 fit; the 251st is reported at its own line.
        let file = crate::source::SourceFile::new("t.yml", text.as_str());
        let fd = e.in_file(&file);
        assert_eq!((fd.line, fd.column), (2 + 251, 7));
        assert_eq!(budget.get(), 0);
    }

    #[test]
    fn named_groups_become_plain_groups() {
        assert_eq!(unname_groups("a(?P<x>b)(?<y_1>c)"), "a(b)(c)");
        assert_eq!(unname_groups(r"\(?P<x>[(?<z>]"), r"\(?P<x>[(?<z>]");
        assert_eq!(unname_groups("(?<=a)(?<!b)(?:c)"), "(?<=a)(?<!b)(?:c)");
    }
}
