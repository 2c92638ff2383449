//! Sigma value modifiers (`field|contains|all`): parsed once into a [`Modifiers`] plan, checked for
//! conflicts, and applied to values so that only typed values reach the IR.

use base64::Engine as _;

/// Every value modifier rulecast reads, as messages list them.
const MODIFIERS: &str = "contains, startswith, endswith, all, re, i, m, s, cidr, exists, cased, neq, fieldref, gt, gte, lt, lte, base64, base64offset, wide, utf16le, utf16be, utf16, windash, expand";

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Anchor, CompareOp, Part, Pattern, RegexFlags};
use crate::source::Span;

/// What kind of test the modifiers make of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string match (the default).
    Text,
    /// `re`: a regular expression.
    Regex,
    /// `cidr`: a network.
    Cidr,
    /// `exists`: a presence test.
    Exists,
    /// `gt`/`gte`/`lt`/`lte`.
    Compare(CompareOp),
    /// `fieldref`: another field's value.
    FieldRef,
}

/// A value rewrite applied at compile time, in rule order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// `base64`.
    Base64,
    /// `base64offset`: the three encodings of the value at each byte offset.
    Base64Offset,
    /// `wide` / `utf16le`: UTF-16 little endian.
    Utf16Le,
    /// `utf16be`.
    Utf16Be,
    /// `utf16`: a little-endian byte-order mark, then UTF-16 little endian.
    Utf16,
    /// `windash`: every `-` or `/` that starts a word in each of its five spellings.
    Windash,
    /// `expand`: `%name%` placeholders replaced by user-supplied values.
    Expand,
}

/// The parsed modifier chain of one detection key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modifiers {
    pub kind: Kind,
    pub anchor: Anchor,
    pub all: bool,
    pub cased: bool,
    pub negate: bool,
    pub flags: RegexFlags,
    pub transforms: Vec<Transform>,
}

impl Modifiers {
    /// Parse the names after the field (`["contains", "all"]`).
    pub fn parse(names: &[&str]) -> Result<Modifiers, Diagnostic> {
        let mut m = Modifiers {
            kind: Kind::Text,
            anchor: Anchor::Whole,
            all: false,
            cased: false,
            negate: false,
            flags: RegexFlags::default(),
            transforms: Vec::new(),
        };
        let mut seen: Vec<&str> = Vec::new();
        let conflict = |msg: String| Err(Diagnostic::new(Code::ModifierConflict, msg));
        for (i, &name) in names.iter().enumerate() {
            let canonical = match name {
                "ignorecase" => "i",
                "multiline" => "m",
                "dotall" => "s",
                "wide" => "utf16le",
                other => other,
            };
            if seen.contains(&canonical) && canonical != "base64" {
                return conflict(format!("modifier '{name}' is given twice"));
            }
            seen.push(canonical);
            let typed = |kind: Kind, m: &mut Modifiers| -> Result<(), Diagnostic> {
                if i != 0 {
                    return Err(Diagnostic::new(
                        Code::ModifierConflict,
                        format!("modifier '{name}' must come first (it changes the value's type)"),
                    ));
                }
                m.kind = kind;
                Ok(())
            };
            match canonical {
                "contains" | "startswith" | "endswith" => {
                    if m.anchor != Anchor::Whole {
                        return conflict(format!(
                            "modifier '{name}' conflicts with an earlier contains/startswith/endswith"
                        ));
                    }
                    m.anchor = match canonical {
                        "contains" => Anchor::Substring,
                        "startswith" => Anchor::Prefix,
                        _ => Anchor::Suffix,
                    };
                }
                "all" => m.all = true,
                "cased" => m.cased = true,
                "neq" => m.negate = true,
                "re" => typed(Kind::Regex, &mut m)?,
                "i" | "m" | "s" => {
                    if m.kind != Kind::Regex {
                        return conflict(format!(
                            "modifier '{name}' is a regex flag and needs 're' before it"
                        ));
                    }
                    match canonical {
                        "i" => m.flags.ignore_case = true,
                        "m" => m.flags.multi_line = true,
                        _ => m.flags.dot_all = true,
                    }
                }
                "cidr" => typed(Kind::Cidr, &mut m)?,
                "exists" => typed(Kind::Exists, &mut m)?,
                "gt" => typed(Kind::Compare(CompareOp::Gt), &mut m)?,
                "gte" => typed(Kind::Compare(CompareOp::Gte), &mut m)?,
                "lt" => typed(Kind::Compare(CompareOp::Lt), &mut m)?,
                "lte" => typed(Kind::Compare(CompareOp::Lte), &mut m)?,
                "fieldref" => {
                    if m.kind != Kind::Text {
                        return conflict(format!(
                            "modifier '{name}' conflicts with an earlier type modifier"
                        ));
                    }
                    m.kind = Kind::FieldRef;
                }
                "base64" | "base64offset" | "utf16le" | "utf16be" | "utf16" | "windash"
                | "expand" => {
                    let t = match canonical {
                        "base64" => Transform::Base64,
                        "base64offset" => Transform::Base64Offset,
                        "utf16le" => Transform::Utf16Le,
                        "utf16be" => Transform::Utf16Be,
                        "utf16" => Transform::Utf16,
                        "windash" => Transform::Windash,
                        _ => Transform::Expand,
                    };
                    if m.anchor != Anchor::Whole
                        && t != Transform::Windash
                        && t != Transform::Expand
                    {
                        return conflict(format!(
                            "modifier '{name}' must come before contains/startswith/endswith (it cannot encode wildcards)"
                        ));
                    }
                    m.transforms.push(t);
                }
                "minute" | "hour" | "day" | "week" | "month" | "year" => {
                    return Err(Diagnostic::new(
                        Code::UnknownModifier,
                        format!("time-part modifier '{name}' is not supported"),
                    ))
                }
                _ => {
                    let known = MODIFIERS.split(", ").filter(|m| m.len() > 1);
                    let hint = match crate::suggest::closest(name, known) {
                        Some(near) => format!("did you mean '{near}'? Modifiers are {MODIFIERS}"),
                        None => format!("expected one of {MODIFIERS}"),
                    };
                    return Err(Diagnostic::new(
                        Code::UnknownModifier,
                        format!("unknown modifier '{name}'; {hint}"),
                    ));
                }
            }
        }
        m.check()?;
        Ok(m)
    }

    fn check(&self) -> Result<(), Diagnostic> {
        let conflict = |msg: &str| Err(Diagnostic::new(Code::ModifierConflict, msg.to_owned()));
        let stringy = self.anchor != Anchor::Whole || self.cased || !self.transforms.is_empty();
        match self.kind {
            Kind::Text
                if self.transforms.contains(&Transform::Base64Offset)
                    && self.anchor != Anchor::Substring =>
            {
                return conflict("'base64offset' only makes sense followed by 'contains'");
            }
            Kind::Regex if stringy => {
                return conflict("'re' cannot be combined with string modifiers (contains, startswith, endswith, cased, encodings)")
            }
            Kind::Cidr | Kind::Exists | Kind::Compare(_) if stringy || self.all => {
                return conflict("'cidr', 'exists' and comparison modifiers stand alone (only 'neq' may join them)")
            }
            Kind::Exists if self.negate => {
                return conflict("'exists' with 'neq': write 'exists: false' instead")
            }
            Kind::FieldRef if !self.transforms.is_empty() => {
                return conflict("'fieldref' cannot be combined with encoding modifiers")
            }
            _ => {}
        }
        Ok(())
    }
}

/// A value on its way through the transforms: text (with wildcards) or encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    Text(Pattern),
    Bytes(Vec<u8>),
}

/// The most alternatives one value may expand to through `windash`, `expand` and
/// `base64offset` together: each multiplies the spellings of the others (windash alone allows
/// 5^4 = 625, and 3 base64 shifts of those fit).
pub const MAX_ALTERNATIVES: usize = 4096;

fn too_many_alternatives(at: &dyn Fn() -> Span) -> Diagnostic {
    Diagnostic::new(
        Code::BadValue,
        format!(
            "the value expands to more than {MAX_ALTERNATIVES} alternatives (windash, expand and base64offset multiply each other's spellings)"
        ),
    )
    .with_span(at())
}

/// Apply the string transforms of `m` to one parsed value; the result is an OR-expansion. A
/// value that would expand to more than [`MAX_ALTERNATIVES`] is refused, at `at()` (the value;
/// found only when needed), before the alternatives are built.
pub fn apply_transforms(
    m: &Modifiers,
    value: Pattern,
    placeholders: &dyn Fn(&str) -> Option<Vec<String>>,
    at: &dyn Fn() -> Span,
) -> Result<Vec<Pattern>, Diagnostic> {
    let mut alts = vec![Stage::Text(value)];
    for t in &m.transforms {
        let mut next = Vec::new();
        for s in alts {
            // Each stage below adds at most MAX_ALTERNATIVES (expand checks as it goes, windash
            // makes at most 5^4), so this bounds what is ever held.
            if next.len() > MAX_ALTERNATIVES {
                return Err(too_many_alternatives(at));
            }
            match t {
                Transform::Base64 => next.push(Stage::Text(Pattern::literal(
                    base64::engine::general_purpose::STANDARD.encode(bytes_of(s, "base64")?),
                ))),
                Transform::Base64Offset => {
                    for v in base64_offsets(&bytes_of(s, "base64offset")?) {
                        next.push(Stage::Text(Pattern::literal(v)));
                    }
                }
                Transform::Utf16Le | Transform::Utf16Be | Transform::Utf16 => {
                    let text = literal_of(s, "utf16")?;
                    let mut out = Vec::new();
                    if *t == Transform::Utf16 {
                        out.extend([0xFF, 0xFE]);
                    }
                    for u in text.encode_utf16() {
                        let b = if *t == Transform::Utf16Be {
                            u.to_be_bytes()
                        } else {
                            u.to_le_bytes()
                        };
                        out.extend(b);
                    }
                    next.push(Stage::Bytes(out));
                }
                Transform::Windash => match s {
                    Stage::Text(p) => next.extend(windash(&p, at)?.into_iter().map(Stage::Text)),
                    Stage::Bytes(_) => return Err(bad("'windash' must come before encodings")),
                },
                Transform::Expand => match s {
                    Stage::Text(p) => {
                        next.extend(expand(&p, placeholders, at)?.into_iter().map(Stage::Text))
                    }
                    Stage::Bytes(_) => return Err(bad("'expand' must come before encodings")),
                },
            }
        }
        if next.len() > MAX_ALTERNATIVES {
            return Err(too_many_alternatives(at));
        }
        alts = next;
    }
    Ok(alts
        .into_iter()
        .map(|s| match s {
            Stage::Text(p) => p,
            // Raw UTF-16 bytes match as the characters U+0000..U+00FF, one per byte.
            Stage::Bytes(b) => {
                Pattern::literal(b.iter().map(|&c| char::from(c)).collect::<String>())
            }
        })
        .collect())
}

fn bad(msg: &str) -> Diagnostic {
    Diagnostic::new(Code::ModifierConflict, msg.to_owned())
}

fn literal_of(s: Stage, what: &str) -> Result<String, Diagnostic> {
    match s {
        Stage::Text(p) => p.as_literal().ok_or_else(|| {
            Diagnostic::new(
                Code::BadValue,
                format!("'{what}' cannot encode a value with wildcards; put contains/startswith/endswith after it"),
            )
        }),
        Stage::Bytes(_) => Err(bad("a value cannot be UTF-16 encoded twice")),
    }
}

fn bytes_of(s: Stage, what: &str) -> Result<Vec<u8>, Diagnostic> {
    match s {
        Stage::Bytes(b) => Ok(b),
        text => literal_of(text, what).map(String::into_bytes),
    }
}

/// The three base64 encodings of `v` shifted by 0, 1 and 2 bytes, trimmed to the characters that
/// do not depend on the surrounding bytes.
pub fn base64_offsets(v: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut buf = vec![b' '; i];
            buf.extend_from_slice(v);
            let enc = base64::engine::general_purpose::STANDARD.encode(&buf);
            let trim = END_TRIM[(v.len() + i) % 3];
            let end = enc.len().saturating_sub(trim);
            enc.get(START[i]..end.max(START[i]))
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
const MAX_WINDASH: usize = 4;

/// Every spelling of `p` where each `-` or `/` that starts a word (not preceded by a word
/// character, followed by one) takes each of the five dash forms.
fn windash(p: &Pattern, at: &dyn Fn() -> Span) -> Result<Vec<Pattern>, Diagnostic> {
    let mut alts = vec![Pattern::default()];
    let mut count = 0;
    for part in &p.0 {
        match part {
            Part::Lit(s) => {
                let chars: Vec<char> = s.chars().collect();
                let mut run = String::new();
                for (i, &c) in chars.iter().enumerate() {
                    let prev_word = i > 0 && is_word(chars[i - 1]);
                    let next_word = chars.get(i + 1).is_some_and(|&n| is_word(n));
                    if (c == '-' || c == '/') && !prev_word && next_word {
                        count += 1;
                        if count > MAX_WINDASH {
                            return Err(Diagnostic::new(
                                Code::BadValue,
                                format!("'windash' value has more than {MAX_WINDASH} dashes (5^n spellings)"),
                            )
                            .with_span(at()));
                        }
                        let mut next = Vec::new();
                        for a in &alts {
                            for d in DASHES {
                                let mut a = a.clone();
                                a.push(Part::Lit(format!("{run}{d}")));
                                next.push(a);
                            }
                        }
                        alts = next;
                        run.clear();
                    } else {
                        run.push(c);
                    }
                }
                for a in &mut alts {
                    a.push(Part::Lit(run.clone()));
                }
            }
            other => alts.iter_mut().for_each(|a| a.push(other.clone())),
        }
    }
    Ok(alts)
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Replace `%name%` placeholders in literal parts; a placeholder with several values expands.
fn expand(
    p: &Pattern,
    placeholders: &dyn Fn(&str) -> Option<Vec<String>>,
    at: &dyn Fn() -> Span,
) -> Result<Vec<Pattern>, Diagnostic> {
    let mut alts = vec![Pattern::default()];
    for part in &p.0 {
        let Part::Lit(s) = part else {
            alts.iter_mut().for_each(|a| a.push(part.clone()));
            continue;
        };
        let mut rest = s.as_str();
        while let Some(open) = rest.find('%') {
            let Some(len) = rest[open + 1..].find('%') else {
                break;
            };
            let name = &rest[open + 1..open + 1 + len];
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                // Not a placeholder: keep the text up to and including the first '%'.
                alts.iter_mut()
                    .for_each(|a| a.push(Part::Lit(rest[..=open].to_owned())));
                rest = &rest[open + 1..];
                continue;
            }
            let values = placeholders(name).ok_or_else(|| {
                Diagnostic::new(
                    Code::MissingPlaceholder,
                    format!(
                        "placeholder '%{name}%' has no value; pass it in a --placeholders file"
                    ),
                )
            })?;
            // Refused before it is built: 30 two-valued placeholders are 2^30 spellings.
            if alts.len().saturating_mul(values.len()) > MAX_ALTERNATIVES {
                return Err(too_many_alternatives(at));
            }
            let prefix = Part::Lit(rest[..open].to_owned());
            let mut next = Vec::new();
            for a in &alts {
                for v in &values {
                    let mut a = a.clone();
                    a.push(prefix.clone());
                    for vp in Pattern::parse_sigma(v).0 {
                        a.push(vp);
                    }
                    next.push(a);
                }
            }
            alts = next;
            rest = &rest[open + len + 2..];
        }
        alts.iter_mut()
            .for_each(|a| a.push(Part::Lit(rest.to_owned())));
    }
    Ok(alts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Modifiers, Diagnostic> {
        Modifiers::parse(&s.split('|').collect::<Vec<_>>())
    }

    #[test]
    fn base64offset_matches_pysigma() {
        assert_eq!(base64_offsets(b"cmd"), vec!["Y21k", "NtZ", "jbW"]);
        assert_eq!(base64_offsets(b"curl"), vec!["Y3Vyb", "N1cm", "jdXJs"]);
    }

    #[test]
    fn conflicts_and_unknowns() {
        assert_eq!(
            parse("contains|re").unwrap_err().code,
            Code::ModifierConflict
        );
        assert_eq!(
            parse("contains|startswith").unwrap_err().code,
            Code::ModifierConflict
        );
        assert_eq!(parse("i").unwrap_err().code, Code::ModifierConflict);
        assert_eq!(
            parse("contains|base64").unwrap_err().code,
            Code::ModifierConflict
        );
        assert_eq!(
            parse("base64offset").unwrap_err().code,
            Code::ModifierConflict
        );
        assert_eq!(
            parse("cidr|contains").unwrap_err().code,
            Code::ModifierConflict
        );
        assert_eq!(
            parse("contains|contains").unwrap_err().code,
            Code::ModifierConflict
        );
        assert_eq!(parse("contans").unwrap_err().code, Code::UnknownModifier);
        let near = parse("endswit").unwrap_err().message;
        assert!(
            near.starts_with("unknown modifier 'endswit'; did you mean 'endswith'?"),
            "{near}"
        );
        let far = parse("zzzzzz").unwrap_err().message;
        assert!(
            far.contains("expected one of contains, startswith"),
            "{far}"
        );
        assert!(parse("re|i|m|s").is_ok());
        assert!(parse("base64offset|contains").is_ok());
        assert!(parse("wide|base64offset|contains").is_ok());
        assert!(parse("fieldref|startswith").is_ok());
        assert!(parse("contains|all|cased|neq").is_ok());
    }

    #[test]
    fn windash_spellings() {
        let m = parse("windash").unwrap();
        let out = apply_transforms(
            &m,
            Pattern::parse_sigma("net -u a/b"),
            &|_| None,
            &Span::default,
        )
        .unwrap();
        // '-u' starts a word; 'a/b' does not (preceded by a word character).
        assert_eq!(out.len(), 5);
        assert!(out.contains(&Pattern::literal("net /u a/b")));
        assert!(out.contains(&Pattern::literal("net \u{2014}u a/b")));
    }

    #[test]
    fn expand_placeholders() {
        let m = parse("expand").unwrap();
        let vals = |n: &str| (n == "acct").then(|| vec!["1".to_owned(), "2*".to_owned()]);
        let out = apply_transforms(
            &m,
            Pattern::parse_sigma("arn:%acct%:x"),
            &vals,
            &Span::default,
        )
        .unwrap();
        assert_eq!(
            out.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["arn:1:x", "arn:2*:x"]
        );
        let e = apply_transforms(&m, Pattern::parse_sigma("%nope%"), &vals, &Span::default)
            .unwrap_err();
        assert_eq!(e.code, Code::MissingPlaceholder);
        let out =
            apply_transforms(&m, Pattern::parse_sigma("100% sure"), &vals, &Span::default).unwrap();
        assert_eq!(out, vec![Pattern::literal("100% sure")]);
    }

    /// 30 two-valued placeholders were 2^30 spellings (all memory); the 13th is refused.
    #[test]
    fn expansions_are_capped_before_they_are_built() {
        let m = parse("expand").unwrap();
        let two = |_: &str| Some(vec!["a".to_owned(), "b".to_owned()]);
        let at = &|| Span::at(42);
        let e =
            apply_transforms(&m, Pattern::parse_sigma(&"%p%".repeat(30)), &two, at).unwrap_err();
        assert_eq!(e.code, Code::BadValue);
        assert_eq!(e.location, Some(crate::diagnostic::Location::Span(at())));
        assert!(
            e.message.contains("more than 4096 alternatives"),
            "{}",
            e.message
        );
        let out = apply_transforms(&m, Pattern::parse_sigma(&"%p%".repeat(12)), &two, at).unwrap();
        assert_eq!(out.len(), MAX_ALTERNATIVES);
        // Modifiers multiply: 625 windash spellings of each of 8 expansions.
        let m = parse("expand|windash").unwrap();
        let v = Pattern::parse_sigma("%p%%p%%p% -a -b -c -d");
        let e = apply_transforms(&m, v, &two, at).unwrap_err();
        assert!(
            e.message.contains("more than 4096 alternatives"),
            "{}",
            e.message
        );
        // windash alone keeps its own cap, now at the value too.
        let m = parse("windash").unwrap();
        let e = apply_transforms(&m, Pattern::parse_sigma("-a -b -c -d -e"), &two, at).unwrap_err();
        assert_eq!(e.location, Some(crate::diagnostic::Location::Span(at())));
        let m = parse("windash|base64offset|contains").unwrap();
        let out = apply_transforms(&m, Pattern::parse_sigma("-a -b -c -d"), &two, at).unwrap();
        assert_eq!(out.len(), 625 * 3);
    }

    #[test]
    fn utf16_then_base64() {
        let m = parse("utf16le|base64").unwrap();
        let out = apply_transforms(&m, Pattern::literal("ab"), &|_| None, &Span::default).unwrap();
        assert_eq!(out, vec![Pattern::literal("YQBiAA==")]);
        let m = parse("utf16|base64").unwrap();
        let out = apply_transforms(&m, Pattern::literal("a"), &|_| None, &Span::default).unwrap();
        assert_eq!(out, vec![Pattern::literal("//5hAA==")]);
    }
}
