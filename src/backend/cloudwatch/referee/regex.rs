//! The regular-expression subset rulecast writes into Logs Insights queries, and how the referee
//! runs it.
//!
//! Logs Insights documents its engine loosely (Hyperscan for `filter`, RE2 syntax for
//! `regexReplace`, and a small metric-filter subset on the `parse` page), so rulecast accepts only
//! what all of them read the same way: literals (escaped punctuation, `\xHH`, `\x{H..}`, `\t \n \r
//! \f \v`), `.`, `^`, `$`, bracketed classes of literals and ranges, `\d \w \s` (and their negations
//! outside brackets), groups `(...)` and `(?:...)`, alternation, the repetitions `? * + {n} {n,}
//! {n,m}` (greedy or lazy, counts up to 1000), and the flags `i`, `m`, `s`. Everything else (look-around
//! and back-references, which no parser here accepts anyway, named groups, `\b`, `\A`, `\z`, `\pL`,
//! `[[:alpha:]]`, nested classes and class set operations, the `x`/`U`/`u`/`R` flags, flag negation)
//! is rejected.
//!
//! `\d`, `\w` and `\s` are ASCII-only in RE2 and Hyperscan; the referee runs them that way (RE2's
//! `\s`, without `\x0B`). Rule regexes never reach it with them: `crate::portable_regex` spells
//! them out as classes, in the evaluator's ASCII meaning (whose `\s` has `\x0B`).

use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassPerlKind, ClassSet, ClassSetItem, Flag, FlagsItemKind,
    GroupKind, HexLiteralKind, LiteralKind, RepetitionKind, RepetitionRange, SpecialLiteralKind,
};

/// RE2's bound on a counted repetition.
const MAX_REPEAT: u32 = 1000;

/// What a portable regex uses that a backend may need to state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Portable {
    /// `\d`, `\w` or `\s` (ASCII-only in Logs Insights).
    pub perl_classes: bool,
}

/// Check that `re` (the text between the slashes of a regex literal, or a rule's regex) is in the
/// portable subset.
pub fn check(re: &str) -> Result<Portable, String> {
    let ast = ast::parse::Parser::new()
        .parse(re)
        .map_err(|e| format!("not a regular expression: {}", e.kind()))?;
    let mut out = Portable::default();
    check_ast(&ast, &mut out, &mut Vec::new())?;
    Ok(out)
}

/// Compile a portable regex the way Logs Insights is taken to run it: Unicode-aware `(?i)` and `.`,
/// ASCII-only `\d \w \s`.
pub fn compile(re: &str) -> Result<regex::Regex, String> {
    check(re)?;
    let ast = ast::parse::Parser::new()
        .parse(re)
        .map_err(|e| format!("not a regular expression: {}", e.kind()))?;
    let mut edits = Vec::new();
    check_ast(&ast, &mut Portable::default(), &mut edits)?;
    let mut text = String::with_capacity(re.len() + 16);
    let mut at = 0;
    for (start, end, with) in edits {
        text.push_str(&re[at..start]);
        text.push_str(with);
        at = end;
    }
    text.push_str(&re[at..]);
    regex::Regex::new(&text).map_err(|e| e.to_string())
}

/// ASCII spellings of the Perl classes, outside and inside brackets.
fn perl_ascii(kind: &ClassPerlKind, negated: bool, in_brackets: bool) -> &'static str {
    match (kind, negated, in_brackets) {
        (ClassPerlKind::Digit, false, false) => "[0-9]",
        (ClassPerlKind::Digit, true, false) => "[^0-9]",
        (ClassPerlKind::Digit, _, true) => "0-9",
        (ClassPerlKind::Word, false, false) => "[0-9A-Za-z_]",
        (ClassPerlKind::Word, true, false) => "[^0-9A-Za-z_]",
        (ClassPerlKind::Word, _, true) => "0-9A-Za-z_",
        (ClassPerlKind::Space, false, false) => r"[\t\n\x0C\r ]",
        (ClassPerlKind::Space, true, false) => r"[^\t\n\x0C\r ]",
        (ClassPerlKind::Space, _, true) => r"\t\n\x0C\r ",
    }
}

/// Spans of the regex text to replace (start, end, replacement): the ASCII spellings of `\d \w \s`.
type Edits = Vec<(usize, usize, &'static str)>;

/// Check that a parsed regex is in the portable subset, noting what it uses in `out` and the
/// ASCII rewrites of its Perl classes in `edits`.
fn check_ast(ast: &Ast, out: &mut Portable, edits: &mut Edits) -> Result<(), String> {
    match ast {
        Ast::Empty(_) | Ast::Dot(_) => Ok(()),
        Ast::Flags(f) => check_flags(&f.flags),
        Ast::Literal(l) => check_literal(l),
        Ast::Assertion(a) => match a.kind {
            AssertionKind::StartLine | AssertionKind::EndLine => Ok(()),
            AssertionKind::StartText | AssertionKind::EndText => {
                Err("\\A and \\z are not portable; use ^ and $".into())
            }
            _ => Err("word boundaries (\\b, \\B, \\<, \\>) are not portable".into()),
        },
        Ast::ClassUnicode(_) => Err("Unicode classes (\\p{..}, \\P{..}) are not portable".into()),
        Ast::ClassPerl(c) => {
            out.perl_classes = true;
            edits.push((
                c.span.start.offset,
                c.span.end.offset,
                perl_ascii(&c.kind, c.negated, false),
            ));
            Ok(())
        }
        Ast::ClassBracketed(c) => check_class_set(&c.kind, out, edits),
        Ast::Repetition(r) => {
            if let RepetitionKind::Range(range) = &r.op.kind {
                let (RepetitionRange::Exactly(n)
                | RepetitionRange::AtLeast(n)
                | RepetitionRange::Bounded(_, n)) = range;
                if *n > MAX_REPEAT {
                    return Err(format!(
                        "repetition counts above {MAX_REPEAT} are not portable"
                    ));
                }
            }
            check_ast(&r.ast, out, edits)
        }
        Ast::Group(g) => {
            match &g.kind {
                GroupKind::CaptureIndex(_) => {}
                GroupKind::CaptureName { .. } => {
                    return Err("named groups are not portable; use (...)".into())
                }
                GroupKind::NonCapturing(f) => check_flags(f)?,
            }
            check_ast(&g.ast, out, edits)
        }
        Ast::Alternation(a) => a.asts.iter().try_for_each(|x| check_ast(x, out, edits)),
        Ast::Concat(c) => c.asts.iter().try_for_each(|x| check_ast(x, out, edits)),
    }
}

/// Only the flags `i`, `m` and `s`, never negated.
fn check_flags(f: &ast::Flags) -> Result<(), String> {
    for item in &f.items {
        match item.kind {
            FlagsItemKind::Flag(
                Flag::CaseInsensitive | Flag::MultiLine | Flag::DotMatchesNewLine,
            ) => {}
            FlagsItemKind::Negation => return Err("negated flags (?-..) are not portable".into()),
            FlagsItemKind::Flag(_) => return Err("only the flags i, m and s are portable".into()),
        }
    }
    Ok(())
}

/// Literals: verbatim or escaped characters, `\xHH`, `\x{H..}` and `\t \n \r \f \v`.
fn check_literal(l: &ast::Literal) -> Result<(), String> {
    match &l.kind {
        LiteralKind::Verbatim | LiteralKind::Meta | LiteralKind::Superfluous => Ok(()),
        LiteralKind::HexFixed(HexLiteralKind::X) | LiteralKind::HexBrace(HexLiteralKind::X) => {
            Ok(())
        }
        LiteralKind::Special(
            SpecialLiteralKind::Tab
            | SpecialLiteralKind::LineFeed
            | SpecialLiteralKind::CarriageReturn
            | SpecialLiteralKind::FormFeed
            | SpecialLiteralKind::VerticalTab,
        ) => Ok(()),
        LiteralKind::Special(_) => Err(format!("the escape for {:?} is not portable", l.c)),
        LiteralKind::Octal => Err("octal escapes are not portable".into()),
        LiteralKind::HexFixed(_) | LiteralKind::HexBrace(_) => {
            Err("\\u and \\U escapes are not portable; use \\x{...}".into())
        }
    }
}

/// A bracketed class: no set operations.
fn check_class_set(set: &ClassSet, out: &mut Portable, edits: &mut Edits) -> Result<(), String> {
    match set {
        ClassSet::BinaryOp(_) => Err("class set operations (&&, --, ~~) are not portable".into()),
        ClassSet::Item(item) => check_class_item(item, out, edits),
    }
}

/// One item of a bracketed class: literals, ranges and the non-negated Perl classes.
fn check_class_item(
    item: &ClassSetItem,
    out: &mut Portable,
    edits: &mut Edits,
) -> Result<(), String> {
    match item {
        ClassSetItem::Empty(_) => Ok(()),
        ClassSetItem::Literal(l) => check_literal(l),
        ClassSetItem::Range(r) => {
            check_literal(&r.start)?;
            check_literal(&r.end)
        }
        ClassSetItem::Ascii(_) => Err("POSIX classes ([:alpha:]) are not portable".into()),
        ClassSetItem::Unicode(_) => Err("Unicode classes (\\p{..}) are not portable".into()),
        ClassSetItem::Perl(c) => {
            if c.negated {
                return Err(
                    "negated classes (\\D, \\W, \\S) inside brackets are not portable".into(),
                );
            }
            out.perl_classes = true;
            edits.push((
                c.span.start.offset,
                c.span.end.offset,
                perl_ascii(&c.kind, false, true),
            ));
            Ok(())
        }
        ClassSetItem::Bracketed(_) => Err("nested classes are not portable".into()),
        ClassSetItem::Union(u) => u
            .items
            .iter()
            .try_for_each(|i| check_class_item(i, out, edits)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_subset() {
        for ok in [
            "",
            "abc",
            r"^(?i)a\.b$",
            r"(?is)^a.*b$",
            r"[0-9]{12}",
            r"\d+\s*\w?",
            r"[\d\s_-]",
            r"\/\x22\x27\x{2028}",
            r"(a|b)(?:c|d)*?",
            r"[^\x22\\]",
            r"\t\n\r\f\v",
        ] {
            assert!(check(ok).is_ok(), "{ok}: {:?}", check(ok));
        }
    }

    #[test]
    fn rejects_the_rest() {
        for bad in [
            r"(?=a)",
            r"(?!a)",
            r"(a)\1",
            r"(?P<n>a)",
            r"\bword\b",
            r"\Aa\z",
            r"\pL",
            r"[[:alpha:]]",
            r"[a&&b]",
            r"[[a]]",
            r"(?x)a b",
            r"(?U)a*",
            r"(?-i)a",
            r"a{1001}",
            r"\u0041",
            r"[\D]",
            r"\a",
            "(",
        ] {
            assert!(check(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn referee_classes_are_ascii() {
        let re = compile(r"^\d$").unwrap();
        assert!(re.is_match("7"));
        assert!(
            !re.is_match("\u{0661}"),
            "Arabic-Indic one is not \\d in RE2"
        );
        let re = compile(r"^[\d]+\S$").unwrap();
        assert!(re.is_match("12x"));
        let re = compile(r"^\s$").unwrap();
        assert!(!re.is_match("\u{a0}"));
    }
}
