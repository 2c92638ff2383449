//! Sigma-style predicates (the `Any` quantifier): "some value the path reaches passes the test",
//! rendered for each [`Test`] over the texts an [`Access`] yields. Equality tests on one subject
//! become an `IN` list; case-insensitive text folds the literal at compile time and the column
//! with `lower()` (or `translate()` for non-ASCII letters).

use super::access::{
    by_shape, events_column, json_any_texts, resolve, whole_texts, Access, Scope, ALL_VALUES,
};
use super::schema::Schema;
use super::settings::Settings;
use super::sql::{ascii_fold, like, lit};
use super::typed;
use crate::backend::{Needs, RenderCx};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{
    Anchor, Cidr, CompareOp, FieldPath, FieldRef, Number, Part, Pattern, Predicate, Quantifier,
    Shape, Subject, Test,
};
use crate::portable_regex::PortableRegex;

/// The start of the note naming the fields read inline by their documented shape.
const SHAPE_NOTE: &str =
    "read as one value, as CloudTrail documents them (--no-shapes also looks into lists there): ";

/// A condition on one SQL text expression, rendered with the renderer (for its lambda names).
pub(super) type TextTest<'t> =
    dyn FnMut(&mut PredicateRenderer, &str) -> Result<String, Diagnostic> + 't;

/// Renders one predicate.
pub(super) struct PredicateRenderer<'n> {
    pub(super) schema: &'static Schema,
    pub(super) scope: Scope,
    pub(super) needs: &'n mut Needs,
    /// How many per-element conditions enclose the predicate (its paths are relative to the
    /// innermost element when not 0).
    pub(super) depth: usize,
    /// The element of each enclosing per-element condition ([`RenderCx::element_notes`]).
    pub(super) elements: &'n mut Vec<Box<dyn std::any::Any + Send + Sync>>,
    /// Sigma-style paths the CloudTrail shape table calls scalars are read inline.
    pub(super) shapes: bool,
}

impl<'n> PredicateRenderer<'n> {
    /// A renderer for one predicate, reading the schema the options name.
    pub(super) fn new(cx: &'n mut RenderCx) -> Result<PredicateRenderer<'n>, Diagnostic> {
        let s = cx.settings::<Settings>()?;
        Ok(PredicateRenderer {
            schema: s.schema,
            shapes: s.shapes,
            scope: Scope::default(),
            needs: &mut cx.needs,
            depth: cx.depth,
            elements: &mut cx.element_notes,
        })
    }

    /// Look a rule field up in the schema, recording it as a field the condition reads.
    pub(super) fn resolve(&mut self, field: &FieldPath) -> Result<Access, Diagnostic> {
        self.needs.field(field.to_string());
        resolve(self.schema, field, &mut self.scope)
    }

    /// Where a Sigma-style (any value) test reads a field: a documented scalar inside a
    /// JSON-string column inline (see [`by_shape`]), unless `--no-shapes`.
    pub(super) fn any_value_access(&mut self, field: &FieldPath) -> Result<Access, Diagnostic> {
        let acc = self.resolve(field)?;
        if !self.shapes {
            return Ok(acc);
        }
        let json = matches!(acc, Access::Json { .. });
        let acc = by_shape(acc, field);
        if json && matches!(acc, Access::Scalar { .. }) {
            self.shape_note(field);
        }
        Ok(acc)
    }

    /// The header note listing the fields read by their documented shape, in first-use order.
    fn shape_note(&mut self, field: &FieldPath) {
        let name = field.to_string();
        let notes = &mut self.needs.notes;
        match notes.iter_mut().find(|n| n.starts_with(SHAPE_NOTE)) {
            Some(n) => {
                if !n[SHAPE_NOTE.len()..].split(", ").any(|f| f == name) {
                    n.push_str(", ");
                    n.push_str(&name);
                }
            }
            None => notes.push(format!("{SHAPE_NOTE}{name}")),
        }
    }

    /// Where a Sigma-style predicate's subject is: a field, or for a keyword every value of the
    /// row.
    pub(super) fn subject_access(&mut self, s: &Subject) -> Result<Access, Diagnostic> {
        match s {
            Subject::Field(p) => self.any_value_access(p),
            Subject::Anywhere => Ok(Access::Json {
                doc: String::new(),
                keys: Vec::new(),
                field: ALL_VALUES.to_owned(),
                top: true,
            }),
        }
    }

    /// "Some value's text passes `test`" (a value that is an array also counts as its elements).
    pub(super) fn any_text(
        &mut self,
        acc: &Access,
        test: &mut TextTest,
    ) -> Result<String, Diagnostic> {
        match acc {
            Access::Scalar { text, .. } => test(self, text),
            Access::Whole { expr, ty } => {
                let (texts, list) = whole_texts(expr, ty, &mut self.scope, self.needs);
                if list {
                    let v = self.scope.var("v");
                    Ok(format!("any_match({texts}, {v} -> {})", test(self, &v)?))
                } else {
                    test(self, &texts)
                }
            }
            Access::Each { array, var, inner } => Ok(format!(
                "any_match({array}, {var} -> {})",
                self.any_text(inner, test)?
            )),
            Access::Json {
                doc,
                keys,
                field,
                top,
            } => {
                let (list, v) = self.json_texts(doc, keys, field, *top);
                Ok(format!("any_match({list}, {v} -> {})", test(self, &v)?))
            }
        }
    }

    /// The texts of every value a JSON path reaches (the `events` block's column for a top-level
    /// field), and a fresh lambda variable to range over them.
    fn json_texts(
        &mut self,
        doc: &str,
        keys: &[String],
        field: &str,
        top: bool,
    ) -> (String, String) {
        let list = if top {
            events_column(field)
        } else {
            json_any_texts(doc, keys)
        };
        (list, self.scope.var("v"))
    }

    /// "Some value is present and not null".
    fn exists(&mut self, acc: &Access) -> String {
        match acc {
            Access::Scalar { expr, .. } | Access::Whole { expr, .. } => {
                format!("{expr} IS NOT NULL")
            }
            Access::Each { array, var, inner } => {
                format!("any_match({array}, {var} -> {})", self.exists(inner))
            }
            Access::Json {
                doc,
                keys,
                field,
                top,
            } => {
                let (list, v) = self.json_texts(doc, keys, field, *top);
                format!("any_match({list}, {v} -> {v} IS NOT NULL)")
            }
        }
    }

    /// Render one predicate: Sigma-style tests here; other quantifiers and typed tests in
    /// [`super::typed`].
    pub(super) fn predicate(&mut self, p: &Predicate) -> Result<String, Diagnostic> {
        if p.quantifier != Quantifier::Any {
            return self.one_value_predicate(p);
        }
        if self.depth > 0 {
            return Err(typed::any_value_in_element_unsupported());
        }
        if p.test.reads_json_type() {
            return self.typed_any(p);
        }
        let acc = self.subject_access(&p.subject)?;
        match &p.test {
            Test::Exists => Ok(self.exists(&acc)),
            Test::Null => Ok(match &acc {
                Access::Scalar { expr, .. } | Access::Whole { expr, .. } => {
                    format!("{expr} IS NULL")
                }
                _ => format!("NOT COALESCE({}, FALSE)", self.exists(&acc)),
            }),
            _ => {
                let test = p.test.clone();
                self.any_text(&acc, &mut |r, t| {
                    r.value_tests(t, std::slice::from_ref(&test))
                })
            }
        }
    }

    /// "The text `t` passes one of `tests`": equality tests with the same folding become one
    /// `IN` list.
    pub(super) fn value_tests(&mut self, t: &str, tests: &[Test]) -> Result<String, Diagnostic> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        let mut others: Vec<String> = Vec::new();
        for test in tests {
            if let Test::Text { pattern, cased } = test {
                let (lhs, pattern) = fold_for_match(t, pattern, *cased);
                if let Shape::Exact(s) = pattern.shape() {
                    match groups.iter_mut().find(|(l, _)| *l == lhs) {
                        Some((_, lits)) => lits.push(lit(s)),
                        None => groups.push((lhs, vec![lit(s)])),
                    }
                    continue;
                }
            }
            others.push(self.value_test(t, test)?);
        }
        let mut parts: Vec<String> = groups
            .into_iter()
            .map(|(lhs, lits)| match lits.as_slice() {
                [one] => format!("{lhs} = {one}"),
                _ => format!("{lhs} IN ({})", lits.join(", ")),
            })
            .collect();
        parts.extend(others);
        Ok(match parts.len() {
            1 => parts.remove(0),
            _ => format!("({})", parts.join(" OR ")),
        })
    }

    /// "The text `t` passes `test`".
    pub(super) fn value_test(&mut self, t: &str, test: &Test) -> Result<String, Diagnostic> {
        match test {
            Test::Text { pattern, cased } => Ok(text_test(t, pattern, *cased)),
            Test::Regex { regex, flags } => {
                // Flag-free, Joni-safe spelling (see `crate::portable_regex`).
                let re = PortableRegex::parse(regex, *flags)
                    .and_then(|r| r.athena())
                    .map_err(|e| {
                        Diagnostic::new(
                            Code::BadRegex,
                            format!("invalid or non-portable regular expression '{regex}': {e}"),
                        )
                    })?;
                Ok(format!("regexp_like({t}, {})", lit(&re)))
            }
            Test::Cidr(c) => Ok(cidr_test(t, c)),
            Test::Compare { op, value } => Ok(compare_test(t, *op, value)),
            Test::FieldRef(r) => {
                let theirs = self.any_value_access(&r.other)?;
                self.any_text(&theirs, &mut |_, b| {
                    Ok(fieldref_test(t, &affixed(b, r), r.anchor, r.cased))
                })
            }
            // Python-style tests come with Python-style quantifiers; under Sigma's any-value
            // reading the table's texts have lost the JSON types they need.
            other => Err(Diagnostic::unsupported(
                "athena",
                format!(
                    "{} on every value a Sigma-style path reaches",
                    other.describe()
                ),
            )),
        }
    }
}

/// Whether a literal needs case folding (it has a character with case), and whether ASCII
/// folding is all it needs.
fn case_folding(pattern: &Pattern) -> (bool, bool) {
    let mut any = false;
    let mut ascii = true;
    for p in &pattern.0 {
        if let Part::Lit(s) = p {
            for c in s.chars() {
                let cased = c.is_alphabetic()
                    || c.to_lowercase().ne(std::iter::once(c))
                    || c.to_uppercase().ne(std::iter::once(c));
                if cased {
                    any = true;
                    ascii &= c.is_ascii();
                }
            }
        }
    }
    (any, ascii)
}

/// The text `t` and the pattern, both folded as the match needs: not at all when cased or the
/// literal has no letter, `lower()` when its letters are ASCII, ASCII-only `translate()` else.
fn fold_for_match(t: &str, pattern: &Pattern, cased: bool) -> (String, Pattern) {
    let (needs_fold, ascii) = case_folding(pattern);
    if cased || !needs_fold {
        (t.to_owned(), pattern.clone())
    } else if ascii {
        (format!("lower({t})"), pattern.ascii_lowercase())
    } else {
        (ascii_fold(t), pattern.ascii_lowercase())
    }
}

/// Whole-text wildcard match of the SQL text `t`.
fn text_test(t: &str, pattern: &Pattern, cased: bool) -> String {
    let (t, pattern) = fold_for_match(t, pattern, cased);
    match pattern.shape() {
        Shape::Exact(s) => format!("{t} = {}", lit(s)),
        Shape::Anything => format!("{t} IS NOT NULL"),
        _ => like(&t, &pattern),
    }
}

/// The text is an IP address inside the network. Trino stores IPv4 as IPv4-mapped IPv6, so the
/// family is checked from the text (the evaluator never mixes families).
pub(super) fn cidr_test(t: &str, c: &Cidr) -> String {
    let family = if c.addr.is_ipv4() {
        format!("strpos({t}, ':') = 0")
    } else {
        format!("strpos({t}, ':') > 0")
    };
    format!(
        "({family} AND contains({}, TRY_CAST({t} AS IPADDRESS)))",
        lit(&c.to_string())
    )
}

/// The text is a JSON number literal, compared as a double.
pub(super) fn compare_test(t: &str, op: CompareOp, n: &Number) -> String {
    let num = if n.text.len() <= 18 && !n.text.contains(['e', 'E']) {
        n.text.clone()
    } else {
        format!("{:e}", n.value)
    };
    format!(
        "(regexp_like({t}, '\\A-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?\\z') AND TRY_CAST({t} AS DOUBLE) {} {num})",
        op.symbol()
    )
}

/// `b` with literal text before and after it (`concat('/', b)`), or `b` itself.
pub(super) fn affixed(b: &str, r: &FieldRef) -> String {
    if !r.is_affixed() {
        return b.to_owned();
    }
    let mut parts = Vec::new();
    if !r.before.is_empty() {
        parts.push(lit(&r.before));
    }
    parts.push(b.to_owned());
    if !r.after.is_empty() {
        parts.push(lit(&r.after));
    }
    format!("concat({})", parts.join(", "))
}

/// Compare the text `a` with another field's text `b` at `anchor`, folded with `lower()` unless
/// `cased`.
fn fieldref_test(a: &str, b: &str, anchor: Anchor, cased: bool) -> String {
    let (a, b) = if cased {
        (a.to_owned(), b.to_owned())
    } else {
        (format!("lower({a})"), format!("lower({b})"))
    };
    match anchor {
        Anchor::Whole => format!("{a} = {b}"),
        Anchor::Prefix => format!("starts_with({a}, {b})"),
        Anchor::Suffix => format!("starts_with(reverse({a}), reverse({b}))"),
        Anchor::Substring => format!("strpos({a}, {b}) > 0"),
    }
}
