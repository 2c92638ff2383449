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
