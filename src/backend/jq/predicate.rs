//! Predicates: each IR test as a jq condition on `.`, combined over the values a subject reaches
//! per quantifier (`any(...)`, or `all(...)` over an array's elements).

use std::net::IpAddr;

use super::values::{direct_key, raw_values, tested_values, text_filter};
use super::{json_lit, lit};
use crate::backend::Needs;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{
    Anchor, Cidr, FieldRef, Pattern, Predicate, Quantifier, RegexFlags, Shape, Subject, Test,
};
use crate::portable_regex::{JqRegex, PortableRegex};

/// One predicate as a self-contained jq condition on an event (`.`).
pub(super) fn render(p: &Predicate, needs: &mut Needs) -> Result<String, Diagnostic> {
    let q = p.quantifier;
    Ok(match &p.test {
        Test::Null | Test::Exists => {
            let (all, cmp) = if p.test == Test::Null {
                ("all", "==")
            } else {
                ("any", "!=")
            };
            let v = raw_values(&p.subject, q, needs);
            if v == "." {
                format!("(. {cmp} null)")
            } else {
                format!("{all}({v}; . {cmp} null)")
            }
        }
        Test::Is(v) if !v.is_null() => quantified_strict(q, &p.subject, &python_eq(v), needs),
        Test::Is(v) => quantified(q, &p.subject, None, &python_eq(v), needs),
        Test::Str { pattern, fold } => {
            let fold_text = if *fold { "ascii_downcase | " } else { "" };
            let cond = format!(
                "type == \"string\" and ({fold_text}{})",
                text_test(pattern, *fold)
            );
            quantified_strict(q, &p.subject, &cond, needs)
        }
        Test::Truthy => quantified(
            q,
            &p.subject,
            None,
            "(. != false and . != 0 and . != \"\" and . != [] and . != {})",
            needs,
        ),
        Test::Type(t) => quantified_strict(
            q,
            &p.subject,
            &format!("type == \"{}\"", t.jq_name()),
            needs,
        ),
        Test::HasKey(k) => quantified_strict(
            q,
            &p.subject,
            &format!("(type == \"object\" and has({}))", lit(k)),
            needs,
        ),
        Test::Text { pattern, cased } => {
            let t = text_filter(!cased, needs);
            quantified(q, &p.subject, Some(t), &text_test(pattern, !cased), needs)
        }
        Test::Regex { regex, flags } => {
            let re = regex_text(regex, *flags, needs)?;
            let t = text_filter(false, needs);
            quantified(q, &p.subject, Some(t), &format!("test({re})"), needs)
        }
        Test::Cidr(c) => {
            let cond = format!("type == \"string\" and ({})", cidr_test(c, needs));
            quantified_strict(q, &p.subject, &cond, needs)
        }
        Test::Compare { op, value } => {
            needs.helpers.insert("num");
            let cond = format!(
                "rc_num as $n | $n != null and $n {} {}",
                op.symbol(),
                value.text
            );
            quantified_strict(q, &p.subject, &cond, needs)
        }
        Test::FieldRef(r) => fieldref(p, r, needs),
    })
}

/// A rule regex as the jq argument of `test`: its portable rendering, or, where Oniguruma (jq
/// 1.6-1.8) needs look-behind that jaq and gojq lack, both spellings chosen by `$rc_onig` (the
/// template binds it once: does the engine have look-behind?).
fn regex_text(regex: &str, flags: RegexFlags, needs: &mut Needs) -> Result<String, Diagnostic> {
    let rendered = PortableRegex::parse(regex, flags)
        .and_then(|r| r.jq())
        .map_err(|e| {
            Diagnostic::new(
                Code::BadRegex,
                format!("the regular expression '{regex}' has no portable jq rendering: {e}"),
            )
        })?;
    Ok(match rendered {
        JqRegex::One(re) => lit(&re),
        JqRegex::ByEngine { onig, plain } => {
            needs.helpers.insert("onig");
            format!("if $rc_onig then {} else {} end", lit(&onig), lit(&plain))
        }
    })
}

/// "Some value's text, compared at `anchor` with some value of `other` (with literal text
/// `before` and `after` it), matches": under `Any` their values are Sigma's too, else the one
/// value through objects.
fn fieldref(p: &Predicate, r: &FieldRef, needs: &mut Needs) -> String {
    let cased = r.cased;
    let q = p.quantifier;
    let t = text_filter(!cased, needs);
    // Literal text around theirs, folded as their text is.
    let affix = |s: &str| {
        lit(&if cased {
            s.to_owned()
        } else {
            s.to_ascii_lowercase()
        })
    };
    let bind = if !r.is_affixed() {
        ". as $b".to_owned()
    } else {
        format!("({} + . + {}) as $b", affix(&r.before), affix(&r.after))
    };
    let their_q = if q == Quantifier::Any {
        q
    } else {
        Quantifier::Exact
    };
    let theirs = tested_values(&Subject::Field(r.other.clone()), their_q, needs);
    let cmp = match r.anchor {
        Anchor::Whole => "$a == $b",
        Anchor::Prefix => "($a | startswith($b))",
        Anchor::Suffix => "($a | endswith($b))",
        Anchor::Substring => "($b == \"\" or ($a | index($b) != null))",
    };
    let cond = format!(". as $a | any($e | {theirs} | select(. != null) | {t}; {bind} | {cmp})");
    format!(
        "(. as $e | {})",
        quantified(q, &p.subject, Some(t), &cond, needs)
    )
}

/// `cond` over the subject's non-null values, after `transform`, combined per quantifier.
pub(super) fn quantified(
    q: Quantifier,
    subject: &Subject,
    transform: Option<&str>,
    cond: &str,
    needs: &mut Needs,
) -> String {
    let src = tested_values(subject, q, needs);
    let t = transform.map(|t| format!(" | {t}")).unwrap_or_default();
    match q {
        Quantifier::Any => format!("any({src}{t}; {cond})"),
        // An element itself, inside a per-element condition: one value, tested in place.
        Quantifier::Exact if src == "." && transform.is_none() => {
            format!("(. != null and ({cond}))")
        }
        Quantifier::Exact => format!("any({src} | select(. != null){t}; {cond})"),
    }
}

/// [`quantified`] for a condition that is false on null: a path read directly needs no
/// `select(. != null)` in front of it (`any(.eventName?; . == "CreateAccessKey")`).
pub(super) fn quantified_strict(
    q: Quantifier,
    subject: &Subject,
    cond: &str,
    needs: &mut Needs,
) -> String {
    match subject {
        Subject::Field(p) if q == Quantifier::Exact => match direct_key(p) {
            Some(src) => format!("any({src}; {cond})"),
            None => quantified(q, subject, None, cond, needs),
        },
        _ => quantified(q, subject, None, cond, needs),
    }
}

/// Python `==` with a scalar literal, as a condition on a non-null `.`.
fn python_eq(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::Bool(b) => format!(
            "((type == \"boolean\" and . == {b}) or (type == \"number\" and . == {}))",
            u8::from(*b)
        ),
        J::Number(n) => format!(
            "((type == \"number\" and . == {n}) or (type == \"boolean\" and (if . then 1 else 0 end) == {n}))"
        ),
        other => format!(". == {}", json_lit(other)),
    }
}

/// A condition on `.` (a string) for a pattern shape.
pub(super) fn text_test(pattern: &Pattern, fold: bool) -> String {
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

/// An address as `rc_ip4`/`rc_ip6` compute it: IPv4 as one number, IPv6 as an array of its
/// eight 16-bit groups (jq compares arrays element by element).
fn ip_key(ip: IpAddr) -> String {
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

/// The string `.` is an address inside the network (the helper for its family, `rc_ip6` also
/// needing `rc_ip4`).
fn cidr_test(c: &Cidr, needs: &mut Needs) -> String {
    let helper = if c.addr.is_ipv4() { "ip4" } else { "ip6" };
    needs.helpers.insert(helper);
    if helper == "ip6" {
        needs.helpers.insert("ip4");
    }
    format!(
        "rc_{helper} as $a | $a != null and $a >= {} and $a <= {}",
        ip_key(c.first()),
        ip_key(c.last())
    )
}
