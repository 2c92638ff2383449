//! The jq target: a filter over CloudTrail files (`{"Records":[...]}`), arrays of events, or JSON
//! Lines, that outputs the matching events.
//!
//! It stays inside what jq 1.6, jq 1.7+ and jaq all run the same way: every `if` has an `else`,
//! string operations only see strings, rule regexes are rendered flag-free by
//! [`crate::portable_regex`] (with an Oniguruma and a plain spelling where they must differ),
//! `contains` is never used (it is polymorphic). Every rule value enters the program as a JSON
//! string literal, which is always a valid jq literal and cannot start an interpolation; hidden
//! characters (controls, bidirectional controls) in it are `\uXXXX` escapes.
//!
//! `values.rs` says which values a predicate reads (calls to the template's `rc_` helpers),
//! `predicate.rs` renders each test over them, and `exec.rs` runs a rendered filter in-process.

mod correlation;
pub mod exec;
mod predicate;
mod values;

use crate::diagnostic::Diagnostic;
use crate::escape::{comment_text, is_hidden, json_u_escape};
use crate::ir::{Count, Elements, FieldPath, Pattern, Predicate, Quantifier, Subject, Test};

use super::{plain_quoted, Backend, RenderCx, Syntax, Target};
use predicate::{quantified, quantified_strict, text_test};
use values::{object_value, text_filter};

/// The jq backend (see the module documentation).
pub struct JqBackend;

/// jq's boolean tokens; `not` is a filter, so an operand is piped into it.
pub(super) static SYNTAX: Syntax = Syntax {
    and: "and",
    or: "or",
    not: "({} | not)",
    true_: "true",
    false_: "false",
    max_width: 100,
};

/// A jq string literal for `s`: JSON's escapes, and every hidden character (controls, DEL, line
/// separators, bidirectional and other invisible format characters: [`is_hidden`]) as a `\uXXXX`
/// escape, so none appears raw in the filter. The same text as JSON for everything else.
fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if is_hidden(c) => json_u_escape(c, &mut out),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON value as a jq literal, its strings (and keys) written with [`lit`].
fn json_lit(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::String(s) => lit(s),
        J::Array(xs) => format!(
            "[{}]",
            xs.iter().map(json_lit).collect::<Vec<_>>().join(",")
        ),
        J::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, x)| format!("{}:{}", lit(k), json_lit(x)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

impl Backend for JqBackend {
    fn target(&self) -> Target {
        Target::Jq
    }

    /// `any(X; . == "a") or any(X; . == "b")` is `any(X; . == "a" or . == "b")`: one pass over
    /// the values for a set of string equalities on one source.
    fn merge_disjuncts(&self, parts: Vec<String>) -> Vec<String> {
        super::merge_equalities(parts, equality, |source, values| {
            let tests: Vec<String> = values.iter().map(|v| format!(". == {v}")).collect();
            format!("any({source}; {})", tests.join(" or "))
        })
    }

    /// `not any(X; . == "a" or . == "b")` is `all(X; . != "a" and . != "b")`, and
    /// `not any(X; . != null and . != "v")` is `all(X; . == null or . == "v")`.
    fn negate_text(&self, inner: &str) -> Option<String> {
        let (source, body) = inner
            .strip_prefix("any(")?
            .strip_suffix(')')?
            .split_once("; ")?;
        if source.contains(';') {
            return None;
        }
        let negated = if let Some(v) = body.strip_prefix(". != null and . != ") {
            plain_quoted(v).then(|| format!(". == null or . == {v}"))?
        } else if body == ". != null" {
            ". == null".to_owned()
        } else {
            let values: Option<Vec<&str>> = body
                .split(" or ")
                .map(|t| t.strip_prefix(". == ").filter(|v| plain_quoted(v)))
                .collect();
            values?
                .iter()
                .map(|v| format!(". != {v}"))
                .collect::<Vec<_>>()
                .join(" and ")
        };
        Some(format!("all({source}; {negated})"))
    }

    /// `any(X; . != null) and all(X; . != "v")` is `any(X; . != null and . != "v")`
    /// for a source `X` of at most one value (a chain of `.k?`).
    fn merge_conjuncts(&self, parts: Vec<String>) -> Vec<String> {
        super::merge_presence(
            parts,
            |p| {
                p.strip_prefix("any(")
                    .and_then(|p| p.strip_suffix("; . != null)"))
                    .filter(|x| one_value_source(x))
                    .map(str::to_owned)
            },
            |p, x| {
                p.strip_prefix(&format!("all({x}; . != "))
                    .and_then(|v| v.strip_suffix(')'))
                    .filter(|v| plain_quoted(v))
                    .map(str::to_owned)
            },
            |x, v| format!("any({x}; . != null and . != {v})"),
        )
    }

    /// One predicate (see `predicate::render`).
    fn predicate(&self, p: &Predicate, cx: &mut RenderCx) -> Result<String, Diagnostic> {
        predicate::render(p, &mut cx.needs)
    }

    /// `any(...)`/`all(...)`/a count of one over the array the one value at the path holds.
    fn elements(
        &self,
        el: &Elements,
        cx: &mut RenderCx,
    ) -> Result<Option<(String, String)>, Diagnostic> {
        let src = object_value(&el.path, &mut cx.needs);
        Ok(Some(match el.count {
            Count::Some => (
                format!("any({src} | select(type == \"array\") | .[]; "),
                ")".to_owned(),
            ),
            Count::Every => (
                format!("any({src}; type == \"array\" and all(.[]; "),
                "))".to_owned(),
            ),
            Count::One => (
                format!("any({src}; type == \"array\" and ([.[] | select("),
                ")] | length == 1))".to_owned(),
            ),
        }))
    }

    /// `any(X; type == "string" and (ascii_downcase | startswith("a") or endswith("b")))`: the
    /// value read, checked and folded once.
    fn one_of_strings(
        &self,
        path: &FieldPath,
        fold: bool,
        patterns: &[&Pattern],
        cx: &mut RenderCx,
    ) -> Option<Result<String, Diagnostic>> {
        let tests: Vec<String> = patterns.iter().map(|p| text_test(p, fold)).collect();
        let fold_text = if fold { "ascii_downcase | " } else { "" };
        let cond = format!("type == \"string\" and ({fold_text}{})", tests.join(" or "));
        let subject = Subject::Field(path.clone());
        Some(Ok(quantified_strict(
            Quantifier::Exact,
            &subject,
            &cond,
            &mut cx.needs,
        )))
    }

    /// Text tests of one case mode on one subject as one pass over its values.
    fn any_of(
        &self,
        subject: &Subject,
        tests: &[&Test],
        cx: &mut RenderCx,
    ) -> Option<Result<String, Diagnostic>> {
        // One pass over the values for a list of string tests of the same case mode.
        let mut cased = None;
        let mut conds = Vec::with_capacity(tests.len());
        for t in tests {
            match t {
                Test::Text { pattern, cased: c } if cased.is_none_or(|x| x == *c) => {
                    cased = Some(*c);
                    conds.push(text_test(pattern, !c));
                }
                _ => return None,
            }
        }
        let fold = !cased?;
        let needs = &mut cx.needs;
        let t = text_filter(fold, needs);
        let cond = conds
            .iter()
            .map(|c| format!("({c})"))
            .collect::<Vec<_>>()
            .join(" or ");
        Some(Ok(quantified(
            Quantifier::Any,
            subject,
            Some(t),
            &cond,
            needs,
        )))
    }

    /// A program for `jq -n` over every input (see `correlation.rs`).
    fn correlation(
        &self,
        _rule: &crate::rule::Rule,
        corr: &crate::correlation::Correlation,
        cx: &mut RenderCx,
    ) -> Result<Vec<(&'static str, minijinja::Value)>, Diagnostic> {
        correlation::render(self, corr, cx)
    }

    fn bundle_template(&self) -> Option<&'static str> {
        Some("jq/bundle.jq.j2")
    }

    fn string_literal(&self, s: &str) -> Option<String> {
        Some(lit(s))
    }

    /// Text safe inside a `#` comment: backslashes doubled, line breaks, controls, bidirectional
    /// and other invisible format characters as spaces.
    fn comment(&self, text: &str) -> String {
        // jq 1.7.1+ continues a comment past a line break preceded by a backslash; doubling
        // backslashes and replacing line breaks keeps every comment on its one line in all versions.
        comment_text(text).replace('\\', "\\\\")
    }
}

/// `(source, "value")` of a rendered `any(source; . == "value")` whose value is a plain string
/// literal; None for anything else (a source holding `;`, a value with a quote or an escape).
fn equality(part: &str) -> Option<(String, String)> {
    let inner = part.strip_prefix("any(")?.strip_suffix(')')?;
    let (source, value) = inner.split_once("; . == ")?;
    (plain_quoted(value) && !source.contains(';')).then(|| (source.to_owned(), value.to_owned()))
}

/// Whether `x` is a chain of `.k?` steps (plain keys or quoted ones without quotes or
/// backslashes inside), which yields at most one value.
fn one_value_source(x: &str) -> bool {
    let mut rest = x;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let Some(r) = rest.strip_prefix('.') else {
            return false;
        };
        let end = if let Some(q) = r.strip_prefix('"') {
            match q.find(['"', '\\']) {
                Some(k) if q.as_bytes()[k] == b'"' => k + 2,
                _ => return false,
            }
        } else {
            r.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(r.len())
        };
        if end == 0 {
            return false;
        }
        let Some(r) = r[end..].strip_prefix('?') else {
            return false;
        };
        rest = r;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_and_inequality_on_one_value_merge() {
        let merged = JqBackend.merge_conjuncts(vec![
            "any(.errorCode?; . != null)".to_owned(),
            r#"any(.eventName?; . == "A")"#.to_owned(),
            r#"all(.errorCode?; . != "")"#.to_owned(),
        ]);
        assert_eq!(
            merged,
            [
                r#"any(.errorCode?; . != null and . != "")"#,
                r#"any(.eventName?; . == "A")"#
            ]
        );
        // Another source, or one that may yield many values, stays apart.
        for parts in [
            ["any(.a?; . != null)", r#"all(.b?; . != "")"#],
            [
                r#"any(rc_vals(["a"]); . != null)"#,
                r#"all(rc_vals(["a"]); . != "")"#,
            ],
            ["any(.a?[]; . != null)", r#"all(.a?[]; . != "")"#],
        ] {
            let parts: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
            assert_eq!(JqBackend.merge_conjuncts(parts.clone()), parts);
        }
        assert!(one_value_source(r#".a?."b-c"?.d_1?"#));
        assert!(!one_value_source(r#".a?."b\"c"?"#));
        assert!(!one_value_source(".a"));
    }

    #[test]
    fn negated_value_sets_are_all_of_the_opposite() {
        let cases = [
            (r#"any(.a?; . == "x")"#, Some(r#"all(.a?; . != "x")"#)),
            (
                r#"any(.a?; . == "x" or . == "y")"#,
                Some(r#"all(.a?; . != "x" and . != "y")"#),
            ),
            (
                r#"any(.a?; . != null and . != "")"#,
                Some(r#"all(.a?; . == null or . == "")"#),
            ),
            ("any(.a?; . != null)", Some("all(.a?; . == null)")),
            // Anything else keeps the generic `(... | not)`.
            (r#"any(.a?; . == "x\"y")"#, None),
            (r#"any(.a?; . == 5)"#, None),
            (
                r#"any(.a?; type == "string" and (index("x") != null))"#,
                None,
            ),
            (r#"any(rc_vals(["a; . == b"]); . == "x")"#, None),
            (r#"any(.a?; . == "x") and any(.b?; . == "y")"#, None),
        ];
        for (inner, want) in cases {
            assert_eq!(JqBackend.negate_text(inner).as_deref(), want, "{inner}");
        }
    }

    #[test]
    fn only_plain_quoted_equalities_merge() {
        assert_eq!(
            equality(r#"any(.eventName?; . == "CreateUser")"#),
            Some((".eventName?".to_owned(), r#""CreateUser""#.to_owned()))
        );
        for part in [
            r#"any(.a?; . == "x\"y")"#,
            r#"any(.a?; . == 5)"#,
            r#"any(rc_vals(["a; . == b"]); . == "x")"#,
            r#"any(.a?; . == "x") or any(.b?; . == "y")"#,
            r#"(any(.a?; . == "x") | not)"#,
        ] {
            assert_eq!(equality(part), None, "{part}");
        }
        let merged = JqBackend.merge_disjuncts(vec![
            r#"any(.eventName?; . == "A")"#.to_owned(),
            r#"any(.eventSource?; . == "s")"#.to_owned(),
            r#"any(.eventName?; . == "B")"#.to_owned(),
        ]);
        assert_eq!(
            merged,
            vec![
                r#"any(.eventName?; . == "A" or . == "B")"#.to_owned(),
                r#"any(.eventSource?; . == "s")"#.to_owned(),
            ]
        );
    }
}
