//! Rule regexes rendered so every engine rulecast targets reads them the same way.
//!
//! A rule's regex (Sigma `re`, a Panther `re.*` pattern) is written for the Rust `regex` crate,
//! which the reference evaluator runs. The targets run other engines: jq 1.6 and 1.7+/1.8
//! (Oniguruma), jaq (regex-bites, RE2-like), Athena (Joni, Oniguruma's Java port) and Logs
//! Insights (RE2 or Hyperscan). Passed through as written, the same text means different things
//! there: `$` also matches before a final newline in Oniguruma, `(?m)^` does not match after a
//! trailing newline, `\d \w \s \b` are Unicode in some and ASCII in others, `(?i)` is ASCII-only in
//! jaq and folds `ss` to `ß` in Oniguruma, `(?U)` and `(?P<n>...)` are errors in Oniguruma, and so
//! on (the research tables are summarised in `docs/semantics.md`).
//!
//! So a rule regex is never pasted into a query. It is parsed with `regex-syntax` under the rule's
//! flags, `\d \w \s \b \B` are given their ASCII meaning (`[0-9]`, `[0-9A-Za-z_]`,
//! `[\t\n\x0B\x0C\r ]`, ASCII word boundaries), and the translated HIR, where the flags are
//! already applied, is printed back with no flags at all:
//!
//! - case-insensitivity is folded into explicit classes (`(?i)k` is `[Kk\u{212A}]`, `(?i)ss`
//!   is `[Ssſ][Ssſ]`), `.` is `[^\x0A]` (or `[\s\S]` under `s`);
//! - `^`/`$` outside multi-line mode are `\A`/`\z`; multi-line `$` is `(?m:$)`; multi-line `^` is
//!   `(?m:^)` where a character must follow it, else `(?<![^\x0A])` for the engines with
//!   look-behind (Oniguruma's `(?m)^` misses the end of a text ending in a newline);
//! - ASCII `\b`/`\B` are `\b`/`\B` for the RE2-like engines and look-around for Oniguruma and Joni
//!   (whose `\b` is Unicode);
//! - literals escape the metacharacters, control characters are `\xHH`, every other character is
//!   itself; groups are `(?:...)` where they group; repetitions are greedy (a search's verdict
//!   never depends on it).
//!
//! The jq target runs on Oniguruma and on jaq/gojq alike, so where the two spellings differ it
//! carries both and picks one per run by whether the engine has look-behind ([`JqRegex`]).
//!
//! Refused (E306): `\<`, `\>`, `\b{start}`, `\b{end}`, `\b{start-half}`, `\b{end-half}` (every
//! other engine reads `\<` as a literal `<`), CRLF line anchors (`(?R)` with `m`), regexes too
//! large once their classes are spelled out ([`MAX_RENDERED`]), and, for jq only, a look-behind
//! spelling in a regex that can match the empty string and ends in `\z` (jq 1.6's Oniguruma
//! answers those wrongly).

use regex_syntax::ast::{self, AssertionKind, Ast, ClassPerlKind, ClassSet, ClassSetItem};
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look};

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::RegexFlags;

/// The longest rendering (in bytes) of a regex: Unicode classes are spelled out in full (`\p{L}`
/// is about 4.5 KB), and a few of them would make a query no engine should have to compile for
/// every value it tests.
pub const MAX_RENDERED: usize = 8192;

/// The ASCII word characters (`\w`), as the body of a class.
const WORD: &str = "0-9A-Za-z_";
/// `\d`, as the body of a class.
const DIGIT: &str = "0-9";
/// `\s` (Perl's, Python's and Rust's ASCII set: tab, LF, VT, FF, CR, space), as the body of a
/// class; the space is `\x20` so the text reads the same under `(?x)`.
const SPACE: &str = r"\t\n\x0B\x0C\r\x20";

/// A rule regex, parsed under its flags with the ASCII meaning of `\d \w \s \b`.
#[derive(Debug, Clone)]
pub struct PortableRegex {
    /// The rule's text with ASCII `\d \w \s \b \B` spelled out (what the evaluator compiles).
    ascii: String,
    flags: RegexFlags,
    hir: Hir,
}

/// A rendering for the jq target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JqRegex {
    /// One text for every engine.
    One(String),
    /// Two spellings: `onig` for Oniguruma (jq 1.6, 1.7, 1.8), which has look-behind, `plain`
    /// for the engines without it (jaq, gojq).
    ByEngine { onig: String, plain: String },
}

impl PortableRegex {
    /// Parse `regex` under `flags`, refusing what no rendering can make every engine agree on.
    pub fn parse(regex: &str, flags: RegexFlags) -> Result<PortableRegex, String> {
        let ascii = ascii_classes(regex)?;
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(flags.ignore_case)
            .multi_line(flags.multi_line)
            .dot_matches_new_line(flags.dot_all)
            .build()
            .parse(&ascii)
            .map_err(|e| last_line(&e.to_string()))?;
        let re = PortableRegex { ascii, flags, hir };
        // Everything but the target-specific choices is checked by printing once.
        re.print(Style::PLAIN)?;
        Ok(re)
    }

    /// The evaluator's regex: the Rust `regex` crate on the rule text with ASCII `\d \w \s \b`.
    pub fn compile(&self) -> Result<regex::Regex, String> {
        regex::RegexBuilder::new(&self.ascii)
            .case_insensitive(self.flags.ignore_case)
            .multi_line(self.flags.multi_line)
            .dot_matches_new_line(self.flags.dot_all)
            .build()
            .map_err(|e| last_line(&e.to_string()))
    }

    /// The rendering for jq: one text, or an Oniguruma and a plain spelling (see [`JqRegex`]).
    pub fn jq(&self) -> Result<JqRegex, String> {
        let onig = self.print(Style::ONIGURUMA)?;
        let plain = self.print(Style::PLAIN)?;
        if onig == plain {
            return Ok(JqRegex::One(plain));
        }
        let props = self.hir.properties();
        if props.minimum_len() == Some(0) && props.look_set().contains(Look::End) {
            return Err(
                "no rendering agrees on jq 1.6: a word boundary or a multi-line '^' that can \
                 match at the very end of the text, in a regex that can match the empty string \
                 and is anchored at the end (jq 1.6's look-behind gets it wrong); require a \
                 character there"
                    .to_owned(),
            );
        }
        Ok(JqRegex::ByEngine { onig, plain })
    }

    /// The rendering for Athena (Joni, with look-behind).
    pub fn athena(&self) -> Result<String, String> {
        self.print(Style::ONIGURUMA)
    }

    /// The rendering for Logs Insights (a regex literal's body): `^`/`$` for the text's ends, `/`
    /// escaped, quotes and control characters as `\x..`; word boundaries are refused.
    pub fn cloudwatch(&self) -> Result<String, String> {
        self.print(Style::CLOUDWATCH)
    }

    /// Does the regex anchor at the start or end of the text or of a line?
    pub fn anchored(&self) -> bool {
        let looks = self.hir.properties().look_set();
        [Look::Start, Look::End, Look::StartLF, Look::EndLF]
            .iter()
            .any(|l| looks.contains(*l))
    }

    fn print(&self, style: Style) -> Result<String, String> {
        let mut p = Printer {
            style,
            out: String::new(),
        };
        p.hir(&self.hir, 0)?;
        if p.out.len() > MAX_RENDERED {
            return Err(format!(
                "too large to render portably ({} bytes with its classes spelled out, at most \
                 {MAX_RENDERED}; a Unicode class such as \\p{{L}} alone takes 4.5 KB); use \
                 explicit classes",
                p.out.len()
            ));
        }
        Ok(p.out)
    }
}

/// Check a front end's regex: an E306 diagnostic for what cannot be rendered portably, or what
/// the evaluator cannot compile (the `regex` crate's size limits).
pub fn check(regex: &str, flags: RegexFlags) -> Result<PortableRegex, Diagnostic> {
    let checked = PortableRegex::parse(regex, flags).and_then(|r| {
        r.compile()?;
        Ok(r)
    });
    checked.map_err(|e| {
        Diagnostic::new(
            Code::BadRegex,
            format!("invalid or non-portable regular expression '{regex}': {e}"),
        )
    })
}

/// The last non-empty line of a `regex` error (the others draw the pattern and a caret).
fn last_line(detail: &str) -> String {
    detail
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// The rule text with `\d \w \s` (and negations) as ASCII classes and `\b \B` as ASCII word
/// boundaries; refuses the word-start/end assertions.
fn ascii_classes(re: &str) -> Result<String, String> {
    let ast = ast::parse::Parser::new()
        .parse(re)
        .map_err(|e| last_line(&e.to_string()))?;
    let mut edits = Vec::new();
    ascii_ast(&ast, &mut edits)?;
    edits.sort_by_key(|e| e.0);
    let mut out = String::with_capacity(re.len() + 16);
    let mut at = 0;
    for (start, end, with) in edits {
        out.push_str(re.get(at..start).ok_or("bad span")?);
        out.push_str(&with);
        at = end;
    }
    out.push_str(re.get(at..).ok_or("bad span")?);
    Ok(out)
}

type Edits = Vec<(usize, usize, String)>;

fn perl_body(kind: &ClassPerlKind) -> &'static str {
    match kind {
        ClassPerlKind::Digit => DIGIT,
        ClassPerlKind::Word => WORD,
        ClassPerlKind::Space => SPACE,
    }
}

fn ascii_ast(a: &Ast, edits: &mut Edits) -> Result<(), String> {
    match a {
        Ast::ClassPerl(c) => {
            let neg = if c.negated { "^" } else { "" };
            edits.push((
                c.span.start.offset,
                c.span.end.offset,
                format!("[{neg}{}]", perl_body(&c.kind)),
            ));
        }
        Ast::Assertion(x) => {
            let with = match x.kind {
                AssertionKind::WordBoundary => r"(?-u:\b)",
                AssertionKind::NotWordBoundary => r"(?-u:\B)",
                AssertionKind::StartLine
                | AssertionKind::EndLine
                | AssertionKind::StartText
                | AssertionKind::EndText => return Ok(()),
                _ => {
                    return Err("word-start and word-end assertions (\\<, \\>, \\b{start}, \\b{end}, \\b{start-half}, \\b{end-half}) have no portable meaning (other engines read '\\<' as a literal '<'); use \\b"
                        .to_owned())
                }
            };
            edits.push((x.span.start.offset, x.span.end.offset, with.to_owned()));
        }
        Ast::ClassBracketed(c) => ascii_set(&c.kind, edits),
        Ast::Repetition(r) => ascii_ast(&r.ast, edits)?,
        Ast::Group(g) => ascii_ast(&g.ast, edits)?,
        Ast::Alternation(x) => x.asts.iter().try_for_each(|a| ascii_ast(a, edits))?,
        Ast::Concat(x) => x.asts.iter().try_for_each(|a| ascii_ast(a, edits))?,
        Ast::Empty(_) | Ast::Flags(_) | Ast::Literal(_) | Ast::Dot(_) | Ast::ClassUnicode(_) => {}
    }
    Ok(())
}

fn ascii_set(s: &ClassSet, edits: &mut Edits) {
    match s {
        ClassSet::BinaryOp(op) => {
            ascii_set(&op.lhs, edits);
            ascii_set(&op.rhs, edits);
        }
        ClassSet::Item(i) => ascii_item(i, edits),
    }
}

fn ascii_item(i: &ClassSetItem, edits: &mut Edits) {
    match i {
        ClassSetItem::Perl(c) => {
            let body = perl_body(&c.kind);
            let with = if c.negated {
                format!("[^{body}]")
            } else {
                body.to_owned()
            };
            edits.push((c.span.start.offset, c.span.end.offset, with));
        }
        ClassSetItem::Bracketed(b) => ascii_set(&b.kind, edits),
        ClassSetItem::Union(u) => u.items.iter().for_each(|i| ascii_item(i, edits)),
        _ => {}
    }
}

/// How a target spells what the engines disagree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Style {
    /// Look-around is available (Oniguruma, Joni): Oniguruma-safe spellings of `\b` and `^`.
    look_behind: bool,
    /// Logs Insights: `^`/`$` for the text's ends (its documented subset has no `\A`/`\z`), `/`,
    /// quotes and line-breaking characters escaped, no word boundaries.
    cloudwatch: bool,
}

impl Style {
    const PLAIN: Style = Style {
        look_behind: false,
        cloudwatch: false,
    };
    const ONIGURUMA: Style = Style {
        look_behind: true,
        cloudwatch: false,
    };
    const CLOUDWATCH: Style = Style {
        look_behind: false,
        cloudwatch: true,
    };
}

/// ASCII word boundary and its negation with look-around, `W` = `[0-9A-Za-z_]`.
const WORD_BOUNDARY_LOOKAROUND: &str =
    "(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))";
const NOT_WORD_BOUNDARY_LOOKAROUND: &str =
    "(?:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))";

struct Printer {
    style: Style,
    out: String,
}

impl Printer {
    /// Print `h`; at least `follow` bytes must match after it.
    fn hir(&mut self, h: &Hir, follow: usize) -> Result<(), String> {
        match h.kind() {
            HirKind::Empty => self.out.push_str("(?:)"),
            HirKind::Literal(l) => {
                let s = std::str::from_utf8(&l.0)
                    .map_err(|_| "a literal that is not UTF-8 text".to_owned())?;
                for c in s.chars() {
                    self.lit(c, false);
                }
            }
            HirKind::Class(Class::Unicode(c)) => self.class(c)?,
            HirKind::Class(Class::Bytes(b)) => {
                if b.ranges().iter().any(|r| r.end() > 0x7F) {
                    return Err("a byte class ((?-u)) beyond ASCII".to_owned());
                }
                let c =
                    ClassUnicode::new(b.ranges().iter().map(|r| {
                        ClassUnicodeRange::new(char::from(r.start()), char::from(r.end()))
                    }));
                self.class(&c)?
            }
            HirKind::Look(l) => self.look(*l, follow)?,
            HirKind::Repetition(r) => {
                if r.max == Some(0) {
                    self.out.push_str("(?:)");
                    return Ok(());
                }
                if r.sub.properties().maximum_len() == Some(0) {
                    // A zero-width item: repeating it is the item once, or nothing.
                    if r.min == 0 {
                        self.out.push_str("(?:)");
                    } else {
                        self.hir(&r.sub, follow)?;
                    }
                    return Ok(());
                }
                let mut sub = &*r.sub;
                while let HirKind::Capture(c) = sub.kind() {
                    sub = &c.sub;
                }
                let single = match sub.kind() {
                    HirKind::Class(_) => true,
                    HirKind::Literal(l) => {
                        std::str::from_utf8(&l.0).is_ok_and(|s| s.chars().count() == 1)
                    }
                    _ => false,
                };
                if !single {
                    self.out.push_str("(?:");
                }
                self.hir(sub, follow)?;
                if !single {
                    self.out.push(')');
                }
                match (r.min, r.max) {
                    (0, None) => self.out.push('*'),
                    (1, None) => self.out.push('+'),
                    (0, Some(1)) => self.out.push('?'),
                    (n, None) => self.out.push_str(&format!("{{{n},}}")),
                    (n, Some(m)) if n == m => self.out.push_str(&format!("{{{n}}}")),
                    (n, Some(m)) => self.out.push_str(&format!("{{{n},{m}}}")),
                }
            }
            // A group only groups: a repetition or an alternation adds its own `(?:...)`.
            HirKind::Capture(c) => self.hir(&c.sub, follow)?,
            HirKind::Concat(items) => {
                // What must follow each item: the items after it, then what follows the concat.
                let mut after = vec![follow; items.len()];
                let mut acc = follow;
                for (i, x) in items.iter().enumerate().rev() {
                    after[i] = acc;
                    acc = acc.saturating_add(x.properties().minimum_len().unwrap_or(usize::MAX));
                }
                for (x, f) in items.iter().zip(after) {
                    self.hir(x, f)?;
                }
            }
            HirKind::Alternation(alts) => {
                self.out.push_str("(?:");
                for (i, x) in alts.iter().enumerate() {
                    if i > 0 {
                        self.out.push('|');
                    }
                    self.hir(x, follow)?;
                }
                self.out.push(')');
            }
        }
        Ok(())
    }

    fn look(&mut self, l: Look, follow: usize) -> Result<(), String> {
        let cw = self.style.cloudwatch;
        let lb = self.style.look_behind;
        let text = match l {
            Look::Start if cw => "^",
            Look::Start => r"\A",
            Look::End if cw => "$",
            Look::End => r"\z",
            Look::EndLF => "(?m:$)",
            // Oniguruma's and Joni's multi-line `^` misses the very end of a text that ends in a
            // newline; where a character must follow, that position cannot match anyway.
            Look::StartLF if lb && follow == 0 => r"(?<![^\x0A])",
            Look::StartLF => "(?m:^)",
            Look::WordAscii | Look::WordAsciiNegate if cw => {
                return Err("word boundaries (\\b, \\B) are not in the portable subset".to_owned())
            }
            Look::WordAscii if lb => WORD_BOUNDARY_LOOKAROUND,
            Look::WordAscii => r"\b",
            Look::WordAsciiNegate if lb => NOT_WORD_BOUNDARY_LOOKAROUND,
            Look::WordAsciiNegate => r"\B",
            Look::StartCRLF | Look::EndCRLF => {
                return Err(
                    "CRLF-aware line anchors ((?R) with m) have no portable spelling".into(),
                )
            }
            other => return Err(format!("the assertion {other:?} has no portable spelling")),
        };
        self.out.push_str(text);
        Ok(())
    }

    fn class(&mut self, c: &ClassUnicode) -> Result<(), String> {
        let mut neg = c.clone();
        neg.negate();
        if c.ranges().is_empty() || neg.ranges().is_empty() {
            let full = !c.ranges().is_empty();
            self.out.push_str(match (full, self.style.cloudwatch) {
                (true, false) => r"[\s\S]",
                (false, false) => r"[^\s\S]",
                (true, true) => r"[\x00-\x{10FFFF}]",
                (false, true) => r"[^\x00-\x{10FFFF}]",
            });
            return Ok(());
        }
        let (open, ranges) = if neg.ranges().len() < c.ranges().len() {
            ("[^", neg.ranges())
        } else {
            ("[", c.ranges())
        };
        self.out.push_str(open);
        for r in ranges {
            self.lit(r.start(), true);
            if r.end() != r.start() {
                if u32::from(r.end()) > u32::from(r.start()) + 1 {
                    self.out.push('-');
                }
                self.lit(r.end(), true);
            }
        }
        self.out.push(']');
        Ok(())
    }

    /// One character as regex text, inside a class or not.
    fn lit(&mut self, c: char, in_class: bool) {
        let out = &mut self.out;
        match c {
            '\\' | '[' | ']' | '^' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '.' | '+' | '*' | '?' | '(' | ')' | '|' | '{' | '}' | '$' if !in_class => {
                out.push('\\');
                out.push(c);
            }
            '/' if self.style.cloudwatch => out.push_str(r"\/"),
            '"' | '\'' if self.style.cloudwatch => {
                out.push_str(&format!(r"\x{:02X}", u32::from(c)))
            }
            c if u32::from(c) < 0x20 || c == '\u{7F}' => {
                out.push_str(&format!(r"\x{:02X}", u32::from(c)))
            }
            // Logs Insights strings have no escapes: every hidden character (controls, line
            // separators, bidirectional and invisible format characters) is a regex escape.
            c if self.style.cloudwatch && crate::escape::is_hidden(c) => {
                out.push_str(&format!(r"\x{{{:X}}}", u32::from(c)))
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(s: &str) -> RegexFlags {
        RegexFlags {
            ignore_case: s.contains('i'),
            multi_line: s.contains('m'),
            dot_all: s.contains('s'),
        }
    }

    fn one(p: &str, f: &str) -> String {
        let r = PortableRegex::parse(p, flags(f)).unwrap_or_else(|e| panic!("{p}: {e}"));
        match r.jq().unwrap_or_else(|e| panic!("{p}: {e}")) {
            JqRegex::One(s) => s,
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn renders_flag_free_text() {
        for (p, f, want) in [
            ("a$", "", r"a\z"),
            ("^$", "", r"\A\z"),
            ("^a$", "m", "(?m:^)a(?m:$)"),
            (r"^\s*x", "m", r"(?m:^)[\x09-\x0D ]*x"),
            ("a.b", "", r"a[^\x0A]b"),
            ("a.b", "s", r"a[\s\S]b"),
            (r"^\d+$", "", r"\A[0-9]+\z"),
            (r"^\w+$", "", r"\A[0-9A-Z_a-z]+\z"),
            (r"\s\S", "", r"[\x09-\x0D ][^\x09-\x0D ]"),
            (r"[\d.]\D", "", r"[.0-9][^0-9]"),
            (r"[^\W]", "", "[0-9A-Z_a-z]"),
            ("k", "i", "[Kk\u{212A}]"),
            ("ss", "i", "[Ssſ][Ssſ]"),
            ("ß", "i", "[ßẞ]"),
            ("ǅ", "i", "[Ǆ-ǆ]"),
            ("[^k]", "i", "[^Kk\u{212A}]"),
            (r"\w", "i", "[0-9A-Z_a-zſ\u{212A}]"),
            ("(?i)a(?-i)b", "", "[Aa]b"),
            ("(?U)a+?", "", "a+"),
            ("(?x)^[a b] c$", "", r"\A[ab]c\z"),
            ("^a*+$", "", r"\A(?:a*)+\z"),
            ("(?P<n>a)(?<m>b)+", "", "ab+"),
            ("(ab)+", "", "(?:ab)+"),
            ("a{2}b{3,}c{4,5}d{0}", "", "a{2}b{3,}c{4,5}"),
            ("^[[:alpha:]]$", "", r"\A[A-Za-z]\z"),
            (r"\x{e9}\u{41}\xe9\v", "", "éAé\\x0B"),
            ("[a&&[^b]]", "", "a"),
            (
                r"\.\*\+\?\(\)\[\]\{\}\\\^\$",
                "",
                r"\.\*\+\?\(\)\[\]\{\}\\\^\$",
            ),
            (r"[\-\]\[\^&~]", "", r"[\&\-\[\]\^\~]"),
            ("a|b|cd", "", "(?:a|b|cd)"),
            (
                "\t\u{1}\u{7f}\u{85}\u{2028}",
                "",
                "\\x09\\x01\\x7F\u{85}\u{2028}",
            ),
            ("#/ '\"", "", "#/ '\""),
            (r"[^\s\S]", "", r"[^\s\S]"),
            ("", "", "(?:)"),
            ("(?:)", "", "(?:)"),
            (r"𐐀", "i", "[𐐀𐐨]"),
        ] {
            assert_eq!(one(p, f), want, "{p} ({f})");
        }
    }

    #[test]
    fn word_boundaries_and_unsafe_line_starts_have_two_spellings() {
        let w = "[0-9A-Za-z_]";
        let b = format!("(?:(?<={w})(?!{w})|(?<!{w})(?={w}))");
        let nb = format!("(?:(?<={w})(?={w})|(?<!{w})(?!{w}))");
        for (p, f, onig, plain) in [
            (r"\bb", "", format!("{b}b"), r"\bb".to_owned()),
            (r"a\B", "", format!("a{nb}"), r"a\B".to_owned()),
            (
                r"\bword\b$",
                "",
                format!("{b}word{b}\\z"),
                r"\bword\b\z".to_owned(),
            ),
            (
                "(?m)^$",
                "",
                r"(?<![^\x0A])(?m:$)".to_owned(),
                "(?m:^)(?m:$)".to_owned(),
            ),
            (
                "^(?:b|)$",
                "m",
                r"(?<![^\x0A])(?:b|(?:))(?m:$)".to_owned(),
                "(?m:^)(?:b|(?:))(?m:$)".to_owned(),
            ),
        ] {
            let r = PortableRegex::parse(p, flags(f)).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(
                r.jq(),
                Ok(JqRegex::ByEngine {
                    onig: onig.clone(),
                    plain
                }),
                "{p}"
            );
            assert_eq!(r.athena(), Ok(onig), "{p}");
        }
        // A character that must follow `^` (here, or after the group) makes `(?m:^)` safe.
        assert_eq!(one("(?m)^a", ""), "(?m:^)a");
        assert_eq!(one("(?:^|,)x", "m"), "(?:(?m:^)|,)x");
        assert_eq!(one("(?:^a?)+b", "m"), "(?:(?m:^)a?)+b");
    }

    #[test]
    fn cloudwatch_spelling() {
        for (p, f, want) in [
            ("^a$", "", "^a$"),
            (r"\Aa\z", "m", "^a$"),
            ("^a$", "m", "(?m:^)a(?m:$)"),
            ("(?m)^$", "", "(?m:^)(?m:$)"),
            ("a.b", "s", r"a[\x00-\x{10FFFF}]b"),
            (r"[^\s\S]", "", r"[^\x00-\x{10FFFF}]"),
            ("a/\"'", "", r"a\/\x22\x27"),
            (
                "\u{85}\u{2028}\u{2029}\n",
                "",
                r"\x{85}\x{2028}\x{2029}\x0A",
            ),
        ] {
            let r = PortableRegex::parse(p, flags(f)).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(r.cloudwatch().as_deref(), Ok(want), "{p} ({f})");
        }
        for p in [r"\bx", r"x\B"] {
            let r = PortableRegex::parse(p, flags("")).expect("parses");
            assert!(r.cloudwatch().is_err(), "{p}");
        }
    }

    #[test]
    fn refuses_what_no_engine_pair_agrees_on() {
        for (p, f, why) in [
            (r"\<a", "", "word-start"),
            (r"a\>", "", "word-start"),
            (r"\b{start}a", "", "word-start"),
            (r"a\b{end}", "", "word-start"),
            (r"\b{start-half}a", "", "word-start"),
            (r"a\b{end-half}", "", "word-start"),
            (r"(?R)^a", "m", "CRLF"),
            (r"(?Rm)a$", "", "CRLF"),
            (r"\p{L}+\p{L}", "", "too large"),
            (r"(?=a)", "", "look-around"),
            (r"(a)\1", "", "backreferences"),
        ] {
            let e = PortableRegex::parse(p, flags(f)).expect_err(p);
            assert!(e.contains(why), "{p}: {e}");
        }
        // What the evaluator cannot compile is refused up front.
        let big = "(?:a{1000}){1000}";
        assert!(PortableRegex::parse(big, flags("")).is_ok());
        let d = check(big, flags("")).expect_err("over the regex crate's size limit");
        assert_eq!(d.code, Code::BadRegex);
        // Unicode classes that fit are spelled out.
        assert!(PortableRegex::parse(r"\p{L}", flags("")).is_ok());
        // jq 1.6 answers a look-behind right at `\z` wrongly when nothing is consumed.
        for p in [r"\b\z", r"x?\B\z", r"(?m)^\z"] {
            let r = PortableRegex::parse(p, flags("")).expect(p);
            let e = r.jq().expect_err(p);
            assert!(e.contains("jq 1.6"), "{p}: {e}");
            assert!(r.athena().expect(p).contains("(?<"), "{p}");
        }
        // Consuming a character before `\z` is fine.
        assert!(PortableRegex::parse(r"\bx\z", flags(""))
            .expect("ok")
            .jq()
            .is_ok());
    }

    #[test]
    fn the_evaluator_reads_perl_classes_as_ascii() {
        let m = |p: &str, f: &str, s: &str| {
            PortableRegex::parse(p, flags(f))
                .and_then(|r| r.compile())
                .expect(p)
                .is_match(s)
        };
        assert!(m(r"^\d$", "", "7"));
        assert!(!m(r"^\d$", "", "\u{663}"));
        assert!(m(r"^\D$", "", "\u{663}"));
        assert!(!m(r"^\w$", "", "é"));
        assert!(
            m(r"^\w$", "i", "\u{212A}"),
            "(?i) folds [A-Za-z] onto the Kelvin sign"
        );
        assert!(!m(r"^\s$", "", "\u{a0}"));
        assert!(!m(r"^\s$", "", "\u{2028}"));
        assert!(m(r"^\s$", "", "\u{b}"));
        assert!(m(r"^[\s]$", "", "\u{b}"));
        assert!(m(r"\bb", "", "éb"), "é is no ASCII word character");
        assert!(!m(r"\Bb", "", "éb"));
        assert!(!m("a$", "", "a\n"));
        assert!(m("(?m)^$", "", "a\n"));
        assert!(m(r"(?x) ^ \s $ ", "", " "));
    }
}
