//! The jq target: a filter over CloudTrail files (`{"Records":[...]}`), arrays of events, or JSON
//! Lines, that outputs the matching events.
//!
//! It stays inside what jq 1.6, jq 1.7+ and jaq all run the same way: every `if` has an `else`,
//! string operations only see strings, regex flags are inline `(?i)`-style, `contains` is never
//! used (it is polymorphic). Every rule value enters the program as a JSON string literal, which
//! is always a valid jq literal and cannot start an interpolation.

use std::net::IpAddr;

use crate::diagnostic::Diagnostic;
use crate::ir::{
    Anchor, Cidr, Count, Elements, FieldPath, Pattern, Predicate, Quantifier, Shape, Subject, Test,
};

use super::{Backend, Needs, RenderCx, Syntax, Target};

pub struct JqBackend;

static SYNTAX: Syntax = Syntax {
    and: "and",
    or: "or",
    not: "({} | not)",
    true_: "true",
    false_: "false",
    max_width: 100,
};

/// A jq string literal for `s`.
fn lit(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A path as a jq array literal: `["requestParameters","userName"]`.
fn segments(p: &FieldPath) -> String {
    format!(
        "[{}]",
        p.segments()
            .iter()
            .map(|s| lit(s))
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// The values a path reaches, arrays crossed element-wise (Sigma): `rc_at([...])`.
fn path(p: &FieldPath, needs: &mut Needs) -> String {
    needs.helpers.insert("get");
    needs.helpers.insert("at");
    format!("rc_at({})", segments(p))
}

/// The one value a path reaches through objects only (Python `deep_get`): `rc_one([...])`.
fn exact_path(p: &FieldPath, needs: &mut Needs) -> String {
    if p.segments().is_empty() {
        // An element itself (inside a per-element condition).
        return ".".to_owned();
    }
    needs.helpers.insert("key");
    needs.helpers.insert("one");
    format!("rc_one({})", segments(p))
}

/// The non-null values a subject reaches: for [`Quantifier::Any`] a path's values (arrays also as
/// their elements, `rc_vals`), for the Python-style quantifiers the one value through objects
/// only; every scalar for a keyword.
fn source(subject: &Subject, q: Quantifier, needs: &mut Needs) -> String {
    match subject {
        Subject::Field(p) if q == Quantifier::Any => {
            for h in ["get", "at", "leaves", "vals"] {
                needs.helpers.insert(h);
            }
            format!("rc_vals({})", segments(p))
        }
        Subject::Field(p) => exact_path(p, needs),
        Subject::Anywhere => {
            needs.helpers.insert("scalars");
            "rc_scalars".to_owned()
        }
    }
}

/// The raw values a path reaches (for null and presence tests).
fn values(subject: &Subject, q: Quantifier, needs: &mut Needs) -> String {
    match subject {
        Subject::Field(p) if q == Quantifier::Any => path(p, needs),
        Subject::Field(p) => exact_path(p, needs),
        Subject::Anywhere => {
            needs.helpers.insert("scalars");
            "rc_scalars".to_owned()
        }
    }
}

/// The text transform a string test sees: `rc_text`, ASCII-folded unless cased.
fn text_of(fold: bool, needs: &mut Needs) -> &'static str {
    needs.helpers.insert("text");
    if fold {
        needs.helpers.insert("lower");
        "rc_lower"
    } else {
        "rc_text"
    }
}

/// `cond` over the subject's non-null values, after `transform`, combined per quantifier.
fn quantified(
    q: Quantifier,
    subject: &Subject,
    transform: Option<&str>,
    cond: &str,
    needs: &mut Needs,
) -> String {
    let src = source(subject, q, needs);
    let t = transform.map(|t| format!(" | {t}")).unwrap_or_default();
    match q {
        Quantifier::Any => format!("any({src}{t}; {cond})"),
        Quantifier::Exact => format!("any({src} | select(. != null){t}; {cond})"),
        Quantifier::AnyElement => {
            format!("any({src} | select(type == \"array\") | .[] | select(. != null){t}; {cond})")
        }
        Quantifier::AllElements => {
            format!("any({src}; type == \"array\" and all(.[]; . != null and (.{t} | {cond})))")
        }
    }
}

/// Python `==` with a scalar literal, as a condition on a non-null `.`.
fn py_eq(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::Bool(b) => format!(
            "((type == \"boolean\" and . == {b}) or (type == \"number\" and . == {}))",
            u8::from(*b)
        ),
        J::Number(n) => format!(
            "((type == \"number\" and . == {n}) or (type == \"boolean\" and (if . then 1 else 0 end) == {n}))"
        ),
        other => format!(". == {other}"),
    }
}

/// A condition on `.` (a string) for a pattern shape.
fn text_test(pattern: &Pattern, fold: bool) -> String {
    let pattern = if fold {
        pattern.ascii_lowercase()
    } else {
        pattern.clone()
    };
    match pattern.shape() {
        Shape::Exact(s) => format!(". == {}", lit(s)),
        Shape::Prefix(s) => format!("startswith({})", lit(s)),
        Shape::Suffix(s) => format!("endswith({})", lit(s)),
        Shape::Contains(s) => format!("index({}) != null", lit(s)),
        Shape::Anything => "true".to_owned(),
        Shape::General => format!(
            "test({})",
            lit(&format!(r"\A{}\z", pattern.to_regex(r"[\s\S]*", r"[\s\S]")))
        ),
    }
}

fn ip_groups(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => u32::from(a).to_string(),
        IpAddr::V6(a) => format!(
            "[{}]",
            a.segments()
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

fn cidr_test(c: &Cidr, needs: &mut Needs) -> String {
    let helper = if c.addr.is_ipv4() { "ip4" } else { "ip6" };
    needs.helpers.insert(helper);
    if helper == "ip6" {
        needs.helpers.insert("ip4");
    }
    format!(
        "rc_{helper} as $a | $a != null and $a >= {} and $a <= {}",
        ip_groups(c.first()),
        ip_groups(c.last())
    )
}

impl Backend for JqBackend {
    fn target(&self) -> Target {
        Target::Jq
    }

    fn template(&self) -> &'static str {
        "jq/filter.jq.j2"
    }

    fn extension(&self) -> &'static str {
        "jq"
    }

    fn syntax(&self) -> &'static Syntax {
        &SYNTAX
    }

    fn predicate(&self, p: &Predicate, cx: &mut RenderCx) -> Result<String, Diagnostic> {
        let needs = &mut cx.needs;
        let q = p.quantifier;
        Ok(match &p.test {
            Test::Null | Test::Exists => {
                let (all, cmp) = if p.test == Test::Null {
                    ("all", "==")
                } else {
                    ("any", "!=")
                };
                let v = values(&p.subject, q, needs);
                match q {
                    Quantifier::Any | Quantifier::Exact => format!("{all}({v}; . {cmp} null)"),
                    Quantifier::AnyElement => {
                        format!("any({v} | select(type == \"array\") | .[]; . {cmp} null)")
                    }
                    Quantifier::AllElements => {
                        format!("any({v}; type == \"array\" and all(.[]; . {cmp} null))")
                    }
                }
            }
            Test::Is(v) => quantified(q, &p.subject, None, &py_eq(v), needs),
            Test::Str { pattern, fold } => {
                let fold_text = if *fold { "ascii_downcase | " } else { "" };
                let cond = format!(
                    "type == \"string\" and ({fold_text}{})",
                    text_test(pattern, *fold)
                );
                quantified(q, &p.subject, None, &cond, needs)
            }
            Test::Truthy => quantified(
                q,
                &p.subject,
                None,
                "(. != false and . != 0 and . != \"\" and . != [] and . != {})",
                needs,
            ),
            Test::Type(t) => quantified(
                q,
                &p.subject,
                None,
                &format!("type == \"{}\"", t.jq_name()),
                needs,
            ),
            Test::HasKey(k) => quantified(
                q,
                &p.subject,
                None,
                &format!("(type == \"object\" and has({}))", lit(k)),
                needs,
            ),
            Test::Text { pattern, cased } => {
                let t = text_of(!cased, needs);
                quantified(q, &p.subject, Some(t), &text_test(pattern, !cased), needs)
            }
            Test::Regex { regex, flags } => {
                let re = format!("{}{regex}", flags.inline_prefix());
                let t = text_of(false, needs);
                quantified(
                    q,
                    &p.subject,
                    Some(t),
                    &format!("test({})", lit(&re)),
                    needs,
                )
            }
            Test::Cidr(c) => {
                let cond = format!("type == \"string\" and ({})", cidr_test(c, needs));
                quantified(q, &p.subject, None, &cond, needs)
            }
            Test::Compare { op, value } => {
                needs.helpers.insert("num");
                let cond = format!(
                    "rc_num as $n | $n != null and $n {} {}",
                    op.symbol(),
                    value.text
                );
                quantified(q, &p.subject, None, &cond, needs)
            }
            Test::FieldRef {
                other,
                anchor,
                cased,
                before,
                after,
            } => {
                let t = text_of(!cased, needs);
                // Literal text around theirs, folded as their text is.
                let affix = |s: &str| {
                    lit(&if *cased {
                        s.to_owned()
                    } else {
                        s.to_ascii_lowercase()
                    })
                };
                let bind = if before.is_empty() && after.is_empty() {
                    ". as $b".to_owned()
                } else {
                    format!("({} + . + {}) as $b", affix(before), affix(after))
                };
                let their_q = if q == Quantifier::Any {
                    q
                } else {
                    Quantifier::Exact
                };
                let theirs = source(&Subject::Field(other.clone()), their_q, needs);
                let cmp = match anchor {
                    Anchor::Whole => "$a == $b",
                    Anchor::Prefix => "($a | startswith($b))",
                    Anchor::Suffix => "($a | endswith($b))",
                    Anchor::Substring => "($b == \"\" or ($a | index($b) != null))",
                };
                let cond = format!(
                    ". as $a | any($e | {theirs} | select(. != null) | {t}; {bind} | {cmp})"
                );
                format!(
                    "(. as $e | {})",
                    quantified(q, &p.subject, Some(t), &cond, needs)
                )
            }
        })
    }

    fn elements(&self, el: &Elements, cx: &mut RenderCx) -> Result<(String, String), Diagnostic> {
        let src = exact_path(&el.path, &mut cx.needs);
        Ok(match el.count {
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
        })
    }

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
        let t = text_of(fold, needs);
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

    fn comment(&self, text: &str) -> String {
        // jq 1.7.1+ continues a comment past a line break preceded by a backslash; doubling
        // backslashes and replacing line breaks keeps every comment on its one line in all versions.
        text.chars()
            .map(|c| match c {
                '\\' => "\\\\".to_owned(),
                c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => " ".to_owned(),
                c => c.to_string(),
            })
            .collect()
    }
}
