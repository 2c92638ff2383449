//! Characters a rule can hold that must never reach a terminal, a log line or a query raw.
//!
//! Rules are untrusted input. A control character in a rule's text can drive the terminal that
//! shows a diagnostic (ESC and OSC sequences retitle it or clear the screen), a line break can
//! forge another diagnostic line, and a bidirectional control (the "Trojan Source" characters) or
//! another invisible format character can make a query or a message read differently from what it
//! is. [`is_hidden`] says which characters those are; every place that prints rule text outside a
//! query writes them with [`visible`], and every target's literal writer escapes them (see
//! `src/backend/`).

use std::borrow::Cow;
use std::fmt::Write;

/// A character that is not shown as itself but changes how the text around it is shown: the C0
/// and C1 controls and DEL, the line and paragraph separators, the bidirectional controls (LRM,
/// RLM, ALM, LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI) and the other invisible format
/// characters (zero-width space and joiners, word joiner, invisible operators, the byte order
/// mark, interlinear annotation marks). All are in the Basic Multilingual Plane.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// One hidden character as visible text: `\n`, `\r`, `\t`, else Rust's `\u{1b}` form.
pub fn visible_char(c: char) -> String {
    match c {
        '\n' => r"\n".to_owned(),
        '\r' => r"\r".to_owned(),
        '\t' => r"\t".to_owned(),
        c => format!("\\u{{{:x}}}", u32::from(c)),
    }
}

/// `s` with every [hidden](is_hidden) character written visibly (`\n`, `\u{1b}`, `\u{202e}`), so
/// it stays on one line and sends nothing to a terminal but printable text. Everything else,
/// backslashes included, is unchanged.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_hidden(c) {
            out.push_str(&visible_char(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` for a line comment in a query: every hidden character (line breaks, controls,
/// bidirectional and other invisible format characters) becomes a space.
pub fn comment_text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_hidden) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if is_hidden(c) { ' ' } else { c })
            .collect(),
    )
}

/// A `\uXXXX` escape (lowercase hex) for a character of the Basic Multilingual Plane, as JSON and
/// jq string literals write it; a surrogate pair above it.
pub fn json_u_escape(c: char, out: &mut String) {
    let mut units = [0u16; 2];
    for u in c.encode_utf16(&mut units) {
        let _ = write!(out, "\\u{u:04x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters() {
        for c in [
            '\0', '\t', '\n', '\r', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{200e}', '\u{200f}',
            '\u{2028}', '\u{2029}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{feff}',
        ] {
            assert!(is_hidden(c), "{c:?}");
        }
        for c in [' ', 'a', 'é', '🙂', '\u{a0}', '\\', '"'] {
            assert!(!is_hidden(c), "{c:?}");
        }
    }

    #[test]
    fn visible_is_one_line_of_printable_text() {
        assert_eq!(visible("plain \\ text"), "plain \\ text");
        assert!(matches!(visible("plain"), Cow::Borrowed(_)));
        assert_eq!(
            visible("a\u{1b}]0;x\u{7}\nb\u{202e}c\t"),
            r"a\u{1b}]0;x\u{7}\nb\u{202e}c\t"
        );
        assert_eq!(comment_text("a\nb\u{202e}c"), "a b c");
        let mut s = String::new();
        json_u_escape('\u{202e}', &mut s);
        json_u_escape('\u{1f642}', &mut s);
        assert_eq!(s, r"\u202e\ud83d\ude42");
    }
}
