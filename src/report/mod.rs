//! Reports for people rather than machines: [`explain`] (one rule as the catalog sees it),
//! [`catalog`] (every rule of a tree, with counts) and [`markdown`] (`convert --format markdown`:
//! each rule's metadata with its queries).
//!
//! Rule text is untrusted, and Markdown renders HTML and turns line starts into structure. Every
//! value from a rule goes through one of the writers below: [`md_inline`] (a table cell, or text
//! after a label), [`md_item`] (a list item or a paragraph line), [`md_heading`], [`md_code`] (an
//! inline code span) and [`md_block`] (a multi-line paragraph). They HTML-escape `<`, `>` and `&`,
//! backslash-escape what would start structure (`|`, backticks, a leading `#`, `-`, `1.`, an
//! inline link's `](`), put single-line contexts on one line, and write hidden characters (see
//! [`crate::escape`]) visibly. Queries go in fenced blocks whose fence is longer than any run of
//! backticks in them.

pub mod catalog;
pub mod explain;
pub mod markdown;

use crate::escape::{is_hidden, visible_char};

/// A line break, as Markdown or a reader sees one.
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// `s` on one line: each run of line breaks (and each tab) becomes one space; other hidden
/// characters are written visibly (`\u{202e}`).
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_break = false;
    for c in s.chars() {
        if is_line_break(c) {
            if !in_break {
                out.push(' ');
            }
            in_break = true;
            continue;
        }
        in_break = false;
        match c {
            '\t' => out.push(' '),
            c if is_hidden(c) => out.push_str(&visible_char(c)),
            c => out.push(c),
        }
    }
    out
}

/// Rule text inside one line of Markdown (a table cell, text after a label): on one line, `<`,
/// `>` and `&` as HTML entities, `\`, `|` and backticks backslash-escaped, and the `(` of an
/// inline link or image (`](`) escaped, so the text shows as written and starts nothing.
pub fn md_inline(s: &str) -> String {
    let line = one_line(s);
    let mut out = String::with_capacity(line.len() + 8);
    let mut prev = None;
    for c in line.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '|' | '`' => {
                out.push('\\');
                out.push(c);
            }
            '(' if prev == Some(']') => out.push_str("\\("),
            c => out.push(c),
        }
        prev = Some(c);
    }
    out
}

/// Escape a table cell for Markdown (see [`md_inline`]).
pub fn md_cell(s: &str) -> String {
    md_inline(s)
}

/// Rule text that starts a list item's text or a paragraph line: [`md_inline`], leading blanks
/// dropped, and a first character that would open a block (a heading's `#`, a list marker `-`,
/// `+`, `*` or `1.`, a `~~~` fence, a thematic break or setext underline, a link reference
/// definition's `[`) escaped.
pub fn md_item(s: &str) -> String {
    let text = md_inline(s.trim_start_matches([' ', '\t']));
    let text = text.trim_start_matches(' ');
    let mut out = String::with_capacity(text.len() + 1);
    match text.chars().next() {
        // `<`, `>`, `|` and backticks are escaped already.
        Some('#' | '-' | '+' | '*' | '=' | '_' | '~' | '[') => {
            out.push('\\');
            out.push_str(text);
        }
        Some(c) if c.is_ascii_digit() => {
            // An ordered list marker: up to nine digits, then `.` or `)`.
            let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let (num, rest) = text.split_at(digits);
            out.push_str(num);
            if rest.starts_with(['.', ')']) {
                out.push('\\');
            }
            out.push_str(rest);
        }
        _ => out.push_str(text),
    }
    out
}

/// Rule text as a heading's text: [`md_inline`] with every `#` escaped (a trailing run would be
/// read as the closing sequence).
pub fn md_heading(s: &str) -> String {
    md_inline(s).replace('#', "\\#")
}

/// Rule text as a multi-line paragraph (a description): each line as [`md_item`], blank lines
/// kept as paragraph breaks (one at most in a row).
pub fn md_block(s: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in s.trim().replace("\r\n", "\n").split(is_line_break) {
        let item = md_item(line.trim());
        if item.is_empty() && lines.last().is_none_or(String::is_empty) {
            continue;
        }
        lines.push(item);
    }
    lines.join("\n")
}

/// Rule text as an inline code span, on one line, between backtick fences longer than any run of
/// backticks in it (padded with a space where it starts or ends with one). `in_table`: the span is
/// in a table cell, where `|` must be escaped even in code; a value holding `\|` cannot be written
/// as code there and is written as [`md_inline`] text instead.
pub fn md_code(s: &str, in_table: bool) -> String {
    let mut text = one_line(s);
    if in_table {
        if text.contains("\\|") {
            return md_inline(s);
        }
        text = text.replace('|', "\\|");
    }
    if text.is_empty() {
        return "` `".to_owned();
    }
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = text.starts_with('`')
        || text.ends_with('`')
        || (text.starts_with(' ') && text.ends_with(' ') && !text.trim().is_empty());
    let sp = if pad { " " } else { "" };
    format!("{fence}{sp}{text}{sp}{fence}")
}

/// A fenced code block for `text` (a query): the fence is longer than any run of backticks in it,
/// so nothing in the text closes it early.
pub fn md_fenced(text: &str, lang: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{lang}\n{}\n{fence}", text.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_text_is_one_line_without_html_or_structure() {
        assert_eq!(
            md_inline("plain text_with *stars*"),
            "plain text_with *stars*"
        );
        assert_eq!(
            md_inline("a\r\n# b | `c` <img src=x onerror=alert(1)> & [x](y) \\"),
            "a # b \\| \\`c\\` &lt;img src=x onerror=alert(1)&gt; &amp; [x]\\(y) \\\\"
        );
        assert_eq!(md_inline("x\u{202e}y\u{1b}"), r"x\\u{202e}y\\u{1b}");
    }

    #[test]
    fn items_and_headings_start_nothing() {
        assert_eq!(md_item("# h"), "\\# h");
        assert_eq!(md_item("  - x"), "\\- x");
        assert_eq!(md_item("12. x"), "12\\. x");
        assert_eq!(md_item("12 x"), "12 x");
        assert_eq!(md_item("[r]: http://x"), "\\[r]: http://x");
        assert_eq!(md_item("<b>"), "&lt;b&gt;");
        assert_eq!(md_item("ok"), "ok");
        assert_eq!(md_item("(none)"), "(none)");
        assert_eq!(md_heading("C# ##"), "C\\# \\#\\#");
        assert_eq!(
            md_block("line one\r\n# two\n\n\n===\n<script>x</script>"),
            "line one\n\\# two\n\n\\===\n&lt;script&gt;x&lt;/script&gt;"
        );
    }

    #[test]
    fn code_spans_outlast_every_backtick_run() {
        assert_eq!(md_code("a.yml", false), "`a.yml`");
        assert_eq!(md_code("a`b", false), "``a`b``");
        assert_eq!(md_code("``x", false), "``` ``x ```");
        assert_eq!(md_code("a|b", true), "`a\\|b`");
        assert_eq!(md_code("a\\|b", true), "a\\\\\\|b");
        assert_eq!(md_code("a\nb", false), "`a b`");
        assert_eq!(md_code("", false), "` `");
        assert_eq!(md_fenced("x ```` y", "jq"), "`````jq\nx ```` y\n`````");
    }
}
