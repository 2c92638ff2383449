//! Why a rule matched an event or did not: the predicates that decided it, for the report of a
//! failing test. Walking the condition from the top, an `and` that failed is explained by its
//! failing parts, one that held by all of them; an `or` the other way round. Leaves are shown in
//! catalog terms (`eventName eq ConsoleLogin`) with what they gave on the event.

use serde_json::Value;

use crate::eval;
use crate::ir::Expr;
use crate::report::explain::indicator;

/// At most this many predicates are listed.
pub const MAX_REASONS: usize = 8;

/// The predicates that decided `condition` on `event`, each as `field kind values: true|false`
/// (` (under not)` after a predicate under a negation). Empty when nothing can be said (the condition
/// is a constant, or does not evaluate).
pub fn decided_by(condition: &Expr, event: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(condition, event, false, &mut out);
    out.truncate(MAX_REASONS);
    out
}

fn walk(e: &Expr, event: &Value, negated: bool, out: &mut Vec<String>) {
    if out.len() >= MAX_REASONS {
        return;
    }
    let Ok(value) = eval::matches(e, event) else {
        return;
    };
    match e {
        Expr::And(xs) | Expr::Or(xs) => {
            // The parts that gave the same answer as the whole decided it: the failing parts of
            // a failing `and`, every part of one that held (and the other way round for `or`).
            for x in xs {
                if out.len() >= MAX_REASONS {
                    break;
                }
                if eval::matches(x, event) == Ok(value) {
                    walk(x, event, negated, out);
                }
            }
        }
        Expr::Not(x) => walk(x, event, !negated, out),
        Expr::Const(_) => {}
        Expr::Pred(p) => {
            let i = indicator(p, false);
            let under = if negated { " (under not)" } else { "" };
            let values = if i.values.is_empty() {
                String::new()
            } else {
                format!(" {}", i.values.join(", "))
            };
            out.push(format!("{} {}{values}: {value}{under}", i.field, i.kind));
        }
        Expr::Elements(el) => {
            out.push(format!("elements of {}: {value}", el.path));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{FieldPath, Pattern, Predicate, Quantifier, Subject, Test};
    use crate::source::Span;

    fn eq(field: &str, v: &str) -> Expr {
        Expr::Pred(Predicate {
            subject: Subject::Field(FieldPath::parse(field)),
            quantifier: Quantifier::Any,
            test: Test::Text {
                pattern: Pattern::literal(v),
                cased: false,
            },
            span: Span::default(),
        })
    }

    #[test]
    fn failing_and_names_the_failing_part() {
        let c = Expr::and(vec![
            eq("eventSource", "iam.amazonaws.com"),
            eq("eventName", "DeleteUser"),
        ]);
        let e = serde_json::json!({"eventSource": "iam.amazonaws.com", "eventName": "GetUser"});
        assert_eq!(decided_by(&c, &e), ["eventName eq DeleteUser: false"]);
        let e = serde_json::json!({"eventSource": "iam.amazonaws.com", "eventName": "DeleteUser"});
        assert_eq!(
            decided_by(&c, &e),
            [
                "eventSource eq iam.amazonaws.com: true",
                "eventName eq DeleteUser: true"
            ]
        );
        let c = Expr::and(vec![eq("a", "x"), Expr::not(eq("b", "y"))]);
        let e = serde_json::json!({"a": "x", "b": "y"});
        assert_eq!(decided_by(&c, &e), ["b eq y: true (under not)"]);
    }
}
