//! How values are written in CWLI QL text: field names (bare or backticked, never a reserved
//! word), string literals (no escapes exist), regex literals (escaped literals, case modes; a
//! rule's regex is rendered by `crate::portable_regex`) and number literals.

use crate::diagnostic::Diagnostic;
use crate::ir::{Number, Part, Pattern};

/// Words that are never written as bare field names (keywords and commands).
const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "like", "fields", "filter", "sort", "limit", "stats", "display",
    "parse", "dedup", "as", "by", "asc", "desc", "true", "false", "null",
];

/// A field name as Logs Insights reads it: bare when it is letters, digits, `@` and `.` (starting
/// with a letter or `@`), else backticked.
pub(super) fn field_name(name: &str) -> Result<String, Diagnostic> {
    if name.contains('`') || name.chars().any(unsafe_char) {
        return Err(Diagnostic::unsupported(
            "cloudwatch",
            format!(
                "the field name {name:?} (a backtick, control or invisible format character \
                 cannot be quoted)"
            ),
        ));
    }
    let bare = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '@' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '@')
        && !name.ends_with('.')
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name));
    Ok(if bare {
        name.to_owned()
    } else {
        format!("`{name}`")
    })
}

/// A CWLI string literal for `s`, if one exists (no escapes exist: a value with both quotes, a
/// backslash or a hidden character (see [`unsafe_char`]) has none; the callers fall back to a
/// regex, which can escape them).
pub(super) fn quote(s: &str) -> Option<String> {
    if s.contains('\\') || s.chars().any(unsafe_char) {
        return None;
    }
    if !s.contains('"') {
        Some(format!("\"{s}\""))
    } else if !s.contains('\'') {
        Some(format!("'{s}'"))
    } else {
        None
    }
}

/// Characters written as escapes in regexes and never put in strings, field names or comments:
/// controls, line separators, bidirectional and other invisible format characters
/// ([`crate::escape::is_hidden`]).
pub(super) fn unsafe_char(c: char) -> bool {
    crate::escape::is_hidden(c)
}

/// How a case-insensitive match is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Case {
    /// Exactly (cased, or nothing to fold).
    Exact,
    /// With `(?i)`.
    Fold,
    /// ASCII letters as `[aA]`, no `(?i)` (a non-ASCII letter must not fold).
    Classes,
}

/// How `lits` (the literal text of the patterns of one test) are matched: exactly when `fold` is
/// off or no literal has an ASCII letter, else with `(?i)`, or with `[aA]` classes when some
/// literal has a non-ASCII letter with case variants (which `(?i)` would fold too).
pub(super) fn case_for<'a>(lits: impl Iterator<Item = &'a str> + Clone, fold: bool) -> Case {
    if !fold
        || !lits
            .clone()
            .any(|s| s.chars().any(|c| c.is_ascii_alphabetic()))
    {
        return Case::Exact;
    }
    let cased_non_ascii = lits.flat_map(str::chars).any(|c| {
        !c.is_ascii()
            && (c.to_lowercase().ne(std::iter::once(c)) || c.to_uppercase().ne(std::iter::once(c)))
    });
    if cased_non_ascii {
        Case::Classes
    } else {
        Case::Fold
    }
}

/// The inline flag a regex in `case` mode starts with: `(?i)` for [`Case::Fold`], else none.
pub(super) fn fold_flag(case: Case) -> &'static str {
    if case == Case::Fold {
        "(?i)"
    } else {
        ""
    }
}

/// A literal as CWLI regex text: metacharacters and `/` backslash-escaped, quotes and control
/// characters as `\x..` escapes, ASCII letters as `[aA]` classes in [`Case::Classes`].
pub(super) fn regex_literal(s: &str, case: Case) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
            | '/' => {
                out.push('\\');
                out.push(c);
            }
            '"' => out.push_str(r"\x22"),
            '\'' => out.push_str(r"\x27"),
            c if c.is_ascii_alphabetic() && case == Case::Classes => {
                out.push('[');
                out.push(c.to_ascii_lowercase());
                out.push(c.to_ascii_uppercase());
                out.push(']');
            }
            c if unsafe_char(c) => out.push_str(&hex_escape(c)),
            c => out.push(c),
        }
    }
    out
}

/// `c` as a regex escape: `\xHH` below 0x80, else `\x{H..}`.
fn hex_escape(c: char) -> String {
    let v = u32::from(c);
    if v < 0x80 {
        format!("\\x{v:02X}")
    } else {
        format!("\\x{{{v:X}}}")
    }
}

/// A wildcard pattern as regex text, `*` and `?` spelled `any` and `one`.
pub(super) fn wildcard_regex(parts: &[Part], case: Case, any: &str, one: &str) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Lit(s) => regex_literal(s, case),
            Part::AnyRun => any.to_owned(),
            Part::OneChar => one.to_owned(),
        })
        .collect()
}

/// The literal parts of a wildcard pattern.
pub(super) fn pattern_literals(p: &Pattern) -> impl Iterator<Item = &str> + Clone {
    p.0.iter().filter_map(|x| match x {
        Part::Lit(s) => Some(s.as_str()),
        _ => None,
    })
}

/// `-?[1-9][0-9]{0,14}` or `0`: an integer a number field can equal exactly.
pub(super) fn canonical_int(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    s == "0"
        || (!digits.is_empty()
            && digits.len() <= 15
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// A number as a CWLI literal (no exponent form).
pub(super) fn number_text(n: &Number) -> String {
    let v = n.value;
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}
