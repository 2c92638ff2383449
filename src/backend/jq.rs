//! The jq target: a filter over CloudTrail files (`{"Records":[...]}`), arrays of events, or JSON
//! Lines, that outputs the matching events.
//!
//! It stays inside what jq 1.6, jq 1.7+ and jaq all run the same way: every `if` has an `else`,
//! string operations only see strings, regex flags are inline `(?i)`-style, `contains` is never
//! used (it is polymorphic). Every rule value enters the program as a JSON string literal, which
//! is always a valid jq literal and cannot start an interpolation.

use std::net::IpAddr;

use crate::diagnostic::Diagnostic;
use crate::ir::{Anchor, Cidr, FieldPath, Pattern, Predicate, Quantifier, Shape, Subject, Test};

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

/// The generator of values a path reaches: `rc_get("a") | rc_get("b")`.
fn path(p: &FieldPath) -> String {
    p.segments()
        .iter()
        .map(|s| format!("rc_get({})", lit(s)))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// A stream of the subject's non-null values, as text (ASCII-folded unless `cased`).
fn texts(subject: &Subject, fold: bool, needs: &mut Needs) -> String {
    let source = match subject {
        Subject::Field(p) => {
            needs.helpers.insert("get");
            format!("{} | select(. != null)", path(p))
        }
        Subject::Anywhere => {
            needs.helpers.insert("scalars");
            "rc_scalars".to_owned()
        }
    };
    needs.helpers.insert("text");
    if fold {
        format!("{source} | rc_text | ascii_downcase")
    } else {
        format!("{source} | rc_text")
    }
}

fn values(subject: &Subject, needs: &mut Needs) -> String {
    match subject {
        Subject::Field(p) => {
            needs.helpers.insert("get");
            path(p)
        }
        Subject::Anywhere => {
            needs.helpers.insert("scalars");
            "rc_scalars".to_owned()
        }
    }
}

/// `any(gen; cond)`, or for [`Quantifier::All`] "at least one, and all".
fn quantified(q: Quantifier, generator: &str, cond: &str) -> String {
    match q {
        Quantifier::Any => format!("any({generator}; {cond})"),
        Quantifier::All => format!("([{generator}] | length > 0 and all(.[]; {cond}))"),
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
        Ok(match &p.test {
            Test::Null => format!("all({}; . == null)", values(&p.subject, needs)),
            Test::Exists => format!("any({}; . != null)", values(&p.subject, needs)),
            Test::Text { pattern, cased } => quantified(
                p.quantifier,
                &texts(&p.subject, !cased, needs),
                &text_test(pattern, !cased),
            ),
            Test::Regex { regex, flags } => {
                let re = format!("{}{regex}", flags.inline_prefix());
                quantified(
                    p.quantifier,
                    &texts(&p.subject, false, needs),
                    &format!("test({})", lit(&re)),
                )
            }
            Test::Cidr(c) => {
                let v = format!("{} | select(type == \"string\")", values(&p.subject, needs));
                quantified(p.quantifier, &v, &cidr_test(c, needs))
            }
            Test::Compare { op, value } => {
                needs.helpers.insert("num");
                quantified(
                    p.quantifier,
                    &values(&p.subject, needs),
                    &format!(
                        "rc_num as $n | $n != null and $n {} {}",
                        op.symbol(),
                        value.text
                    ),
                )
            }
            Test::FieldRef {
                other,
                anchor,
                cased,
            } => {
                let mine = texts(&p.subject, !cased, needs);
                let theirs = texts(&Subject::Field(other.clone()), !cased, needs);
                let cmp = match anchor {
                    Anchor::Whole => "$a == $b",
                    Anchor::Prefix => "($a | startswith($b))",
                    Anchor::Suffix => "($a | endswith($b))",
                    Anchor::Substring => "($b == \"\" or ($a | index($b) != null))",
                };
                format!(
                    "(. as $e | {})",
                    quantified(
                        p.quantifier,
                        &mine,
                        &format!(". as $a | any($e | {theirs}; . as $b | {cmp})")
                    )
                )
            }
        })
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
