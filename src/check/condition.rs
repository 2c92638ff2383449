//! Lints on a lowered rule, of either format: a condition that the simplifier folds to a
//! constant (the rule never matches, or matches every event), and fields that CloudTrail
//! records do not have (a test on them never holds).

use std::collections::BTreeSet;

use super::{did_you_mean, Finding, Lint};
use crate::cloudtrail::TOP_LEVEL_KEYS;
use crate::ir::{Expr, FieldPath, Subject};
use crate::passes::simplify;
use crate::rule::{Format, Rule};
use crate::source::{SourceFile, Span};

/// Every lint on one loaded rule; `at` is where its condition is written.
pub fn lint_rule(file: &SourceFile, rule: &Rule, at: Span, out: &mut Vec<Finding>) {
    constant(file, rule, at, out);
    fields(file, rule, out);
}

/// The rule's condition, simplified, is `true` or `false`; the reason names the detection that
/// is constant itself when there is one.
fn constant(file: &SourceFile, rule: &Rule, at: Span, out: &mut Vec<Finding>) {
    let Expr::Const(value) = simplify(&rule.condition) else {
        return;
    };
    let always = if value { "true" } else { "false" };
    let what = if value {
        "matches every event"
    } else {
        "never matches"
    };
    let constant_detection = rule
        .detections
        .iter()
        .find_map(|d| match simplify(&d.expr) {
            Expr::Const(b) => Some((d.name.as_str(), b)),
            _ => None,
        });
    let reason = match (rule.format, constant_detection) {
        (_, Some((name, b))) => format!("detection '{name}' is always {b}"),
        (Format::Sigma, None) if value => {
            "its detections cover every event together (like `sel or not sel`)".to_owned()
        }
        (Format::Sigma, None) => {
            "its detections contradict each other (like `sel and not sel`)".to_owned()
        }
        (Format::Panther, None) if value => {
            "rule() returns True whatever the event holds".to_owned()
        }
        (Format::Panther, None) => {
            "rule() returns True on no event (every path returns False or raises)".to_owned()
        }
    };
    let fix = if value {
        "add the tests that select the events the rule is about"
    } else {
        "remove the contradiction so that some event can match"
    };
    out.push(Finding::new(
        Lint::ConstantCondition,
        file,
        at,
        format!("the condition is always {always} once simplified, so the rule {what}: {reason}"),
        fix,
    ));
}

/// Fields whose first segment is not a top-level key of CloudTrail records (each field once
/// per rule, at its first use).
fn fields(file: &SourceFile, rule: &Rule, out: &mut Vec<Finding>) {
    let names: Vec<&str> = TOP_LEVEL_KEYS.iter().map(|k| k.name).collect();
    let mut seen = BTreeSet::new();
    let mut visit = |first: &str, full: String, span| {
        // Markers the Python translator puts in paths, and Panther's own `p_` fields.
        if first.starts_with(|c: char| c.is_control()) || first.is_empty() {
            return;
        }
        if names.contains(&first) || !seen.insert(full.clone()) {
            return;
        }
        let (message, fix) = match names.iter().find(|n| n.eq_ignore_ascii_case(first)) {
            Some(n) => (
                format!("field '{full}': CloudTrail spells '{first}' as '{n}', and field names are case-sensitive, so the test never holds"),
                format!("write `{n}`"),
            ),
            None if first.starts_with("p_") => (
                format!("field '{full}' is a Panther enrichment field, not in CloudTrail records, so the test never holds outside Panther"),
                "test the CloudTrail field it is derived from".to_owned(),
            ),
            None => (
                format!("field '{full}' is not in CloudTrail records, so the test on it never holds"),
                match did_you_mean(first, &names) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => "test a field CloudTrail records have (eventName, userIdentity.arn, requestParameters.…)".to_owned(),
                },
            ),
        };
        out.push(Finding::new(Lint::UnknownField, file, span, message, fix));
    };
    walk(&rule.condition, &mut |f, span| {
        if let Some(first) = f.segments().first() {
            visit(first, f.to_string(), span);
        }
    });
}

/// Every field path that starts at the event, with where it is used: predicates' fields, and
/// the arrays [`Expr::Elements`] iterate (not the element-relative paths in their bodies).
fn walk<'a>(e: &'a Expr, f: &mut impl FnMut(&'a FieldPath, Span)) {
    match e {
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| walk(x, f)),
        Expr::Not(x) => walk(x, f),
        Expr::Const(_) => {}
        Expr::Pred(p) => {
            if let Subject::Field(path) = &p.subject {
                f(path, p.span);
            }
        }
        Expr::Elements(el) => f(&el.path, el.span),
    }
}
