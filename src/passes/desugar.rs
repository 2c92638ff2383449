//! Desugaring: a front end may write a meaning the way its source language puts it; the core IR
//! spells each meaning one way, so the simplifier sees equal things as equal and every backend
//! renders one form. Each rewrite is a small function below with its own tests.
//!
//! What is not rewritten, and why: `Test::Str` (a string-only match) stays a test of its own,
//! because `Type(String) AND Text` would make every target read the value twice; `Test::Exists`
//! stays beside `NOT Test::Null` (the simplifier treats them as negations of each other), because
//! every target prints "is present" shorter than "not absent"; per-element tests are built as
//! [`Expr::Elements`] by the front ends directly (there is no element quantifier to lower).

use crate::ir::{Expr, Predicate, Shape, Test};

/// `e` in the core IR's spelling.
pub fn desugar(e: &Expr) -> Expr {
    match e {
        Expr::And(xs) => Expr::and(xs.iter().map(desugar).collect()),
        Expr::Or(xs) => Expr::or(xs.iter().map(desugar).collect()),
        Expr::Not(x) => Expr::not(desugar(x)),
        Expr::Const(_) => e.clone(),
        Expr::Pred(p) => Expr::Pred(Predicate {
            test: string_equality(&p.test).unwrap_or_else(|| p.test.clone()),
            ..p.clone()
        }),
        Expr::Elements(el) => {
            let mut el = el.clone();
            el.body = Box::new(desugar(&el.body));
            Expr::Elements(el)
        }
    }
}

/// A string-only match of one whole literal without case folding (Panther `fnmatch(x, "lit")`,
/// a `Contains`/`StartsWith` whose value is the whole text) is Python `==` with that string: both
/// hold exactly for a string value with that text. Folding does not matter when the literal has
/// no ASCII letter.
fn string_equality(t: &Test) -> Option<Test> {
    let Test::Str { pattern, fold } = t else {
        return None;
    };
    let Shape::Exact(text) = pattern.shape() else {
        return None;
    };
    if *fold && text.bytes().any(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    Some(Test::Is(serde_json::Value::String(text.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{FieldPath, Pattern, Quantifier, Subject};
    use crate::source::Span;
    use serde_json::json;

    fn pred(test: Test) -> Expr {
        Expr::Pred(Predicate {
            subject: Subject::Field(FieldPath::parse("a.b")),
            quantifier: Quantifier::Exact,
            test,
            span: Span::default(),
        })
    }

    fn str_test(pattern: &str, fold: bool) -> Test {
        Test::Str {
            pattern: Pattern::parse_sigma(pattern),
            fold,
        }
    }

    #[test]
    fn an_exact_string_match_is_equality() {
        assert_eq!(
            desugar(&pred(str_test("Admin", false))),
            pred(Test::Is(json!("Admin")))
        );
        // No letter: folding changes nothing.
        assert_eq!(
            desugar(&pred(str_test("10.0.0.1", true))),
            pred(Test::Is(json!("10.0.0.1")))
        );
    }

    #[test]
    fn folded_or_wildcard_matches_stay() {
        for t in [
            str_test("admin", true),
            str_test("adm*", false),
            str_test("*", false),
        ] {
            assert_eq!(desugar(&pred(t.clone())), pred(t));
        }
    }

    #[test]
    fn rewrites_reach_inside_every_node() {
        let e = Expr::not(Expr::or(vec![
            Expr::Const(false),
            Expr::and(vec![pred(str_test("x", false)), pred(Test::Truthy)]),
        ]));
        let want = Expr::not(Expr::and(vec![
            pred(Test::Is(json!("x"))),
            pred(Test::Truthy),
        ]));
        assert_eq!(desugar(&e), want);
    }
}
