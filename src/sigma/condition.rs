//! The Sigma condition language: a pest grammar (`grammar/condition.pest`) and the AST it yields.
//!
//! Spans are byte offsets into the condition string; the Sigma front end shifts them to file
//! offsets when the condition's position in the file is known.

use pest::iterators::Pair;
use pest::Parser as _;
use pest_derive::Parser;

use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;

#[derive(Parser)]
#[grammar = "../grammar/condition.pest"]
struct ConditionParser;

/// How deeply parentheses may nest before the condition is rejected (bounds recursion).
pub const MAX_DEPTH: usize = 64;

/// The longest condition (each entry of a condition list) in bytes; real ones are under 1 KiB.
pub const MAX_LEN: usize = 65_536;

/// Conditions up to this length are memoised (longer ones are rare and would crowd the memo).
const MEMO_MAX_LEN: usize = 4096;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// `a or b`.
    Or(Vec<Cond>),
    /// `a and b`.
    And(Vec<Cond>),
    /// `not a`.
    Not(Box<Cond>),
    /// A detection name (`selection`).
    Ident(String, Span),
    /// `1 of sel_*`, `any of them`, `all of filter_*`.
    Selector {
        quantifier: Quantifier,
        /// `None` for `them`.
        pattern: Option<String>,
        span: Span,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// `1 of` / `any of`.
    One,
    /// `all of`.
    All,
}

/// Parse a condition string.
///
/// Results are memoised per thread: rule sets repeat a handful of conditions (`selection`,
/// `selection and not filter`) thousands of times, and the grammar is the costliest step of
/// reading a small rule.
pub fn parse(text: &str) -> Result<Cond, Diagnostic> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    const MEMO_SIZE: usize = 512;
    thread_local! {
        static MEMO: RefCell<HashMap<String, Result<Cond, Diagnostic>>> = RefCell::new(HashMap::new());
    }
    if text.len() > MAX_LEN {
        return Err(Diagnostic::new(
            Code::ConditionDepth,
            format!("the condition is longer than {MAX_LEN} bytes (the limit for a condition)"),
        )
        .with_span(Span::at(MAX_LEN)));
    }
    if text.len() > MEMO_MAX_LEN {
        return parse_uncached(text);
    }
    if let Some(hit) = MEMO.with(|m| m.borrow().get(text).cloned()) {
        return hit;
    }
    let result = parse_uncached(text);
    MEMO.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MEMO_SIZE {
            m.clear();
        }
        m.insert(text.to_owned(), result.clone());
    });
    result
}

/// Parse a condition: the depth check, then the grammar, then the AST.
fn parse_uncached(text: &str) -> Result<Cond, Diagnostic> {
    check_depth(text)?;
    let mut pairs = ConditionParser::parse(Rule::condition, text).map_err(|e| syntax_error(&e))?;
    let Some(top) = pairs.next() else {
        return Err(Diagnostic::new(Code::ConditionSyntax, "empty condition"));
    };
    let mut expr = None;
    for p in top.into_inner() {
        match p.as_rule() {
            Rule::expr => expr = Some(build(p)),
            Rule::pipe => {
                let span = Span::new(p.as_span().start(), p.as_span().end());
                return Err(Diagnostic::new(
                    Code::LegacyAggregation,
                    "the pipe syntax (`| count() ...`) is obsolete; use a Sigma correlation rule instead",
                )
                .with_span(span));
            }
            _ => {}
        }
    }
    expr.ok_or_else(|| Diagnostic::new(Code::ConditionSyntax, "empty condition"))
}

/// Reject parentheses nested deeper than [`MAX_DEPTH`] before the (recursive) grammar sees them.
fn check_depth(text: &str) -> Result<(), Diagnostic> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Diagnostic::new(
                        Code::ConditionDepth,
                        format!("the condition nests parentheses deeper than {MAX_DEPTH} levels"),
                    )
                    .with_span(Span::at(i)));
                }
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A pest error as a diagnostic: what was expected (in grammar terms a rule author knows) and
/// what was found, with a hint for uppercase operators.
fn syntax_error(e: &pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match e.location {
        InputLocation::Pos(p) | InputLocation::Span((p, _)) => p,
    };
    let found = match e
        .line()
        .get(pos..)
        .and_then(|s| s.split_whitespace().next())
    {
        Some(tok) if !tok.is_empty() => format!("'{tok}'"),
        _ => "end of condition".to_owned(),
    };
    let expected = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().filter_map(|r| expected_name(*r)).collect();
            names.sort_unstable();
            names.dedup();
            match names.len() {
                0 => "a valid condition".to_owned(),
                1 => names[0].to_owned(),
                _ => {
                    let (last, init) = names.split_last().map_or(("", &[][..]), |(l, i)| (*l, i));
                    format!("{} or {last}", init.join(", "))
                }
            }
        }
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let hint = if found.chars().any(char::is_uppercase)
        && ["'AND'", "'OR'", "'NOT'"].contains(&found.as_str())
    {
        " (operators are lowercase)"
    } else {
        ""
    };
    Diagnostic::new(
        Code::ConditionSyntax,
        format!("invalid condition: expected {expected}, found {found}{hint}"),
    )
    .with_span(Span::at(pos))
}

/// How an error message names what a grammar rule expects; None for rules it does not name.
fn expected_name(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::expr | Rule::term | Rule::factor | Rule::primary => {
            "a detection name, `not`, `(`, or `1 of`/`all of`"
        }
        Rule::identifier => "a detection name",
        Rule::selector | Rule::quantifier => "`1 of`/`all of`",
        Rule::pattern | Rule::them => "a name pattern or `them`",
        Rule::or_op => "`or`",
        Rule::and_op => "`and`",
        Rule::not_op => "`not`",
        Rule::of_kw => "`of`",
        Rule::EOI => "end of condition",
        Rule::pipe => "`|`",
        _ => return None,
    })
}

/// The byte span of a parsed pair in the condition string.
fn span_of(p: &Pair<Rule>) -> Span {
    Span::new(p.as_span().start(), p.as_span().end())
}

/// The AST of a parsed pair: `or` over `and` over (possibly negated) factors; one-item lists
/// collapse to their item.
fn build(p: Pair<Rule>) -> Cond {
    match p.as_rule() {
        Rule::expr => {
            let mut items: Vec<Cond> = p
                .into_inner()
                .filter(|x| x.as_rule() == Rule::term)
                .map(build)
                .collect();
            if items.len() == 1 {
                items.remove(0)
            } else {
                Cond::Or(items)
            }
        }
        Rule::term => {
            let mut items: Vec<Cond> = p
                .into_inner()
                .filter(|x| x.as_rule() == Rule::factor)
                .map(build)
                .collect();
            if items.len() == 1 {
                items.remove(0)
            } else {
                Cond::And(items)
            }
        }
        Rule::factor => {
            let mut nots = 0;
            let mut inner = None;
            for x in p.into_inner() {
                match x.as_rule() {
                    Rule::not_op => nots += 1,
                    _ => inner = Some(build(x)),
                }
            }
            let c = inner.unwrap_or(Cond::And(vec![]));
            // Negation is two-valued, so an even run of `not`s cancels: this also keeps
            // `not not not ...` from building a deep tree.
            if nots % 2 == 1 {
                Cond::Not(Box::new(c))
            } else {
                c
            }
        }
        Rule::primary => match p.into_inner().next() {
            Some(x) => build(x),
            None => Cond::And(vec![]),
        },
        Rule::selector => {
            let span = span_of(&p);
            let mut quantifier = Quantifier::One;
            let mut pattern = None;
            for x in p.into_inner() {
                match x.as_rule() {
                    Rule::quantifier if x.as_str() == "all" => quantifier = Quantifier::All,
                    Rule::pattern => pattern = Some(x.as_str().to_owned()),
                    _ => {}
                }
            }
            Cond::Selector {
                quantifier,
                pattern,
                span,
            }
        }
        Rule::identifier => Cond::Ident(p.as_str().to_owned(), span_of(&p)),
        _ => Cond::And(vec![]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(c: &Cond) -> String {
        match c {
            Cond::Or(xs) => format!("({})", xs.iter().map(show).collect::<Vec<_>>().join(" | ")),
            Cond::And(xs) => format!("({})", xs.iter().map(show).collect::<Vec<_>>().join(" & ")),
            Cond::Not(x) => format!("!{}", show(x)),
            Cond::Ident(n, _) => n.clone(),
            Cond::Selector {
                quantifier,
                pattern,
                ..
            } => format!(
                "{}:{}",
                if *quantifier == Quantifier::All {
                    "all"
                } else {
                    "one"
                },
                pattern.as_deref().unwrap_or("them")
            ),
        }
    }

    #[test]
    fn precedence_not_and_or() {
        let c = parse("a or not b and c").unwrap();
        assert_eq!(show(&c), "(a | (!b & c))");
        let c = parse("not (a or b) and 1 of sel_* or all of them").unwrap();
        assert_eq!(show(&c), "((!(a | b) & one:sel_*) | all:them)");
        assert_eq!(show(&parse("any of x").unwrap()), "one:x");
        assert_eq!(show(&parse("not not a").unwrap()), "a");
        assert_eq!(show(&parse("not not not a").unwrap()), "!a");
    }

    #[test]
    fn keywords_are_whole_words() {
        assert_eq!(
            show(&parse("notepad and android or order").unwrap()),
            "((notepad & android) | order)"
        );
        assert_eq!(
            show(&parse("sel-1 and them_x").unwrap()),
            "(sel-1 & them_x)"
        );
    }

    #[test]
    fn errors_name_what_was_expected() {
        let e = parse("a AND b").unwrap_err();
        assert_eq!(e.code, Code::ConditionSyntax);
        assert!(e.message.contains("found 'AND'"), "{}", e.message);
        assert!(e.message.contains("lowercase"), "{}", e.message);
        assert_eq!(
            e.location,
            Some(crate::diagnostic::Location::Span(Span::at(2)))
        );
        let e = parse("(a and b").unwrap_err();
        assert!(
            e.message.contains("found end of condition"),
            "{}",
            e.message
        );
        assert!(parse("").is_err());
        assert!(parse("a and").is_err());
        assert!(parse("2 of x").is_err());
        // pySigma rejects `-` in patterns; identifiers may hold one, so rulecast accepts it.
        assert!(parse("1 of sel-*").is_ok());
    }

    #[test]
    fn pipes_and_depth_are_reported() {
        let e = parse("sel | count() > 5").unwrap_err();
        assert_eq!(e.code, Code::LegacyAggregation);
        let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(parse(&deep).unwrap_err().code, Code::ConditionDepth);
        let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let many_nots = format!("{}a", "not ".repeat(10_000));
        assert!(parse(&many_nots).is_ok());
        // 100,000 parentheses are over the length limit; 60,000 stop at the depth limit.
        assert_eq!(
            parse(&"(".repeat(100_000)).unwrap_err().code,
            Code::ConditionDepth
        );
        let e = parse(&format!("{}a{}", "(".repeat(30_000), ")".repeat(30_000))).unwrap_err();
        assert_eq!(e.code, Code::ConditionDepth);
        assert_eq!(
            e.location,
            Some(crate::diagnostic::Location::Span(Span::at(MAX_DEPTH)))
        );
    }

    #[test]
    fn long_conditions_are_refused_where_they_exceed_the_limit() {
        let long = vec!["sel"; 20_000].join(" or ");
        let e = parse(&long).unwrap_err();
        assert_eq!(e.code, Code::ConditionDepth);
        assert!(
            e.message.contains("longer than 65536 bytes"),
            "{}",
            e.message
        );
        assert_eq!(
            e.location,
            Some(crate::diagnostic::Location::Span(Span::at(MAX_LEN)))
        );
        let fits = vec!["sel"; 9_000].join(" or ");
        assert!(fits.len() <= MAX_LEN && parse(&fits).is_ok());
    }
}
