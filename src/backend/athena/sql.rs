//! SQL text pieces for Athena (Trino): identifiers (bare or double-quoted, reserved words
//! quoted), string literals (Unicode literals for hidden characters), `LIKE` patterns with their
//! escapes, and ASCII-only case folding.

use std::fmt::Write;

use crate::escape::is_hidden;
use crate::ir::{Part, Pattern};

/// Words Athena's SELECT grammar reserves (AWS "Reserved keywords"), plus words that are safer
/// quoted.
pub(super) const RESERVED: &[&str] = &[
    "all",
    "alter",
    "and",
    "any",
    "array",
    "as",
    "between",
    "by",
    "case",
    "cast",
    "constraint",
    "create",
    "cross",
    "cube",
    "current_date",
    "current_path",
    "current_time",
    "current_timestamp",
    "current_user",
    "date",
    "deallocate",
    "delete",
    "describe",
    "distinct",
    "drop",
    "else",
    "end",
    "escape",
    "except",
    "execute",
    "exists",
    "extract",
    "false",
    "first",
    "for",
    "from",
    "full",
    "group",
    "grouping",
    "having",
    "in",
    "inner",
    "insert",
    "intersect",
    "interval",
    "into",
    "is",
    "join",
    "json",
    "last",
    "left",
    "like",
    "localtime",
    "localtimestamp",
    "map",
    "natural",
    "normalize",
    "not",
    "null",
    "on",
    "or",
    "order",
    "outer",
    "prepare",
    "recursive",
    "right",
    "rollup",
    "row",
    "select",
    "table",
    "then",
    "time",
    "timestamp",
    "true",
    "uescape",
    "unescape",
    "union",
    "unnest",
    "user",
    "using",
    "values",
    "when",
    "where",
    "with",
];

/// An SQL identifier: bare when it is a plain lowercase word, else double-quoted.
pub fn ident(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let plain = lower
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && lower
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && !RESERVED.contains(&lower.as_str()) {
        lower
    } else {
        quoted_ident(&lower)
    }
}

/// A double-quoted identifier, exactly as given.
pub(super) fn quoted_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An SQL string literal: quotes doubled, nothing else changes (backslashes are not escapes).
///
/// A value holding a hidden character (a control such as NUL, DEL, a line separator, a
/// bidirectional or other invisible format character: [`is_hidden`]) is written as a Trino
/// Unicode literal instead, `U&'...'`, where that character is `\XXXX` (`\+XXXXXX` above the
/// Basic Multilingual Plane) and a backslash is `\\`; no such character appears raw in a query.
pub fn lit(s: &str) -> String {
    if !s.chars().any(is_hidden) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str("U&'");
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            c if is_hidden(c) => {
                let v = u32::from(c);
                if v <= 0xFFFF {
                    let _ = write!(out, "\\{v:04X}");
                } else {
                    let _ = write!(out, "\\+{v:06X}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// ASCII-only case folding of an SQL text expression.
pub(super) fn ascii_fold(t: &str) -> String {
    format!("translate({t}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')")
}

/// A LIKE pattern: `%` and `_` for wildcards, and `%`, `_`, `\` escaped with `\`.
pub(super) fn like_pattern(p: &Pattern) -> String {
    let mut out = String::new();
    for part in &p.0 {
        match part {
            Part::Lit(s) => {
                for c in s.chars() {
                    if matches!(c, '%' | '_' | '\\') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Part::AnyRun => out.push('%'),
            Part::OneChar => out.push('_'),
        }
    }
    out
}

/// NOT of a rendered condition in a shorter exact form, when there is one: an `IS [NOT] NULL`
/// test of one term flips (it is never NULL, so `NOT COALESCE(.., FALSE)` adds nothing), and a
/// null-safe negation of a null-safe negation is the inner value made null-safe.
pub(super) fn negate(inner: &str) -> Option<String> {
    if let Some(x) = inner
        .strip_suffix(" IS NOT NULL")
        .filter(|x| single_term(x))
    {
        return Some(format!("{x} IS NULL"));
    }
    if let Some(x) = inner.strip_suffix(" IS NULL").filter(|x| single_term(x)) {
        return Some(format!("{x} IS NOT NULL"));
    }
    // No text but the empty string: `COALESCE(x, '') = ''` (what is written for "no error").
    if let Some(x) = inner.strip_suffix(" <> ''").filter(|x| single_term(x)) {
        return Some(format!("COALESCE({x}, '') = ''"));
    }
    // `x = 'v'` is NULL when x is: its null-safe negation is `x IS DISTINCT FROM 'v'`.
    if let Some((x, v)) = equality(inner) {
        return Some(format!("{x} IS DISTINCT FROM {v}"));
    }
    let body = inner
        .strip_prefix("NOT COALESCE(")?
        .strip_suffix(", FALSE)")?;
    // The whole of `inner` must be the one wrapper: its `(` closes at the very end.
    (closing_paren(inner, "NOT COALESCE".len()) == Some(inner.len() - 1))
        .then(|| format!("COALESCE({body}, FALSE)"))
}

/// `t LIKE 'pattern'` for a wildcard pattern, with `ESCAPE '\'` only when the pattern escapes a
/// character (without it, no character of the pattern is an escape).
pub(super) fn like(t: &str, pattern: &Pattern) -> String {
    let p = like_pattern(pattern);
    like_with(t, &lit(&p), p.contains('\\'))
}

/// `t LIKE p` for the SQL pattern expression `p` (a literal, or a lambda variable over a list
/// of them), with `ESCAPE '\'` when `escapes`: when some pattern it stands for escapes a character.
pub(super) fn like_with(t: &str, p: &str, escapes: bool) -> String {
    if escapes {
        format!("{t} LIKE {p} ESCAPE '\\'")
    } else {
        format!("{t} LIKE {p}")
    }
}

/// `x IS NOT NULL` and `x IS DISTINCT FROM 'v'` among the operands of one AND, for one term
/// `x`, are the one operand `x <> 'v'`, in the place of the first. Exact inside the renderer's
/// conditions: the merged operand is NULL only where `x` is, where the pair is false, and every
/// NOT around it reads NULL as false (`NOT COALESCE(.., FALSE)`).
pub(super) fn merge_present_and_distinct(parts: Vec<String>) -> Vec<String> {
    crate::backend::merge_presence(
        parts,
        |p| {
            p.strip_suffix(" IS NOT NULL")
                .filter(|x| single_term(x))
                .map(str::to_owned)
        },
        |p, x| {
            p.strip_prefix(x)
                .and_then(|p| p.strip_prefix(" IS DISTINCT FROM "))
                .filter(|v| string_literal(v))
                .map(str::to_owned)
        },
        |x, v| format!("{x} <> {v}"),
    )
}

/// `x = 'v'` read as (x, 'v'), when `x` is one term and `'v'` one string literal.
pub(super) fn equality(part: &str) -> Option<(String, String)> {
    let (x, v) = part.split_once(" = ")?;
    (single_term(x) && string_literal(v)).then(|| (x.to_owned(), v.to_owned()))
}

/// Whether `v` is exactly one plain string literal (`'it''s'`).
fn string_literal(v: &str) -> bool {
    v.len() >= 2
        && v.starts_with('\'')
        && v.ends_with('\'')
        && v[1..v.len() - 1].replace("''", "").find('\'').is_none()
}

/// Whether `x` is one SQL term: a (possibly dotted, possibly quoted) name, or one function call
/// whose parenthesis closes at its end. String literals and quoted names are skipped over, so a
/// value can never make a longer expression look like one term.
fn single_term(x: &str) -> bool {
    if x.is_empty() {
        return false;
    }
    match x.find('(') {
        None => {
            x.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                || (x.starts_with('"')
                    && x.ends_with('"')
                    && x.len() > 1
                    && !x[1..x.len() - 1].contains('"'))
        }
        Some(open) => {
            x[..open]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && open > 0
                && closing_paren(x, open) == Some(x.len() - 1)
        }
    }
}

/// The byte index of the `)` that closes the `(` at `open`, skipping `'...'` literals and
/// `"..."` names (their doubled quotes included).
fn closing_paren(s: &str, open: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    if bytes.get(open) != Some(&b'(') {
        return None;
    }
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'(' => depth += 1,
                b')' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            },
        }
    }
    None
}

#[cfg(test)]
mod negate_tests {
    use super::negate;

    #[test]
    fn short_exact_negations() {
        assert_eq!(
            negate("errorcode IS NULL").as_deref(),
            Some("errorcode IS NOT NULL")
        );
        assert_eq!(
            negate("useridentity.invokedby IS NOT NULL").as_deref(),
            Some("useridentity.invokedby IS NULL")
        );
        assert_eq!(
            negate("json_extract(requestparameters, '$.a') IS NULL").as_deref(),
            Some("json_extract(requestparameters, '$.a') IS NOT NULL")
        );
        assert_eq!(
            negate("NOT COALESCE(any_match(x, v -> v IS NOT NULL), FALSE)").as_deref(),
            Some("COALESCE(any_match(x, v -> v IS NOT NULL), FALSE)")
        );
        assert_eq!(
            negate("useridentity.type = 'AssumedRole'").as_deref(),
            Some("useridentity.type IS DISTINCT FROM 'AssumedRole'")
        );
        assert_eq!(
            negate("json_extract_scalar(a, '$.b') = 'it''s'").as_deref(),
            Some("json_extract_scalar(a, '$.b') IS DISTINCT FROM 'it''s'")
        );
        assert_eq!(
            negate("lower(a) = ') IS NULL'").as_deref(),
            Some("lower(a) IS DISTINCT FROM ') IS NULL'")
        );
        // Not one term, or not one wrapper: the null-safe NOT stays.
        for keep in [
            "a = 'x' OR b IS NULL",
            "(a IS NULL) AND (b IS NULL)",
            "f(a) OR g(b) IS NULL",
            "NOT COALESCE(a, FALSE) AND NOT COALESCE(b, FALSE)",
            "\"a\" OR \"b\" IS NULL",
            "a = 'x' OR b = 'y'",
            "a = 'x' AND b = 'y'",
            "lower(a) = 'x' OR 'y' = 'y'",
        ] {
            assert_eq!(negate(keep), None, "{keep}");
        }
    }
}
