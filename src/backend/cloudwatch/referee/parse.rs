//! From query text to [`Query`], through `grammar/cwli.pest`.

use pest::iterators::Pair;
use pest::Parser as _;
use pest_derive::Parser;

use super::{Aggregate, CmpOp, Command, Error, Expr, Operand, Query, MAX_LIMIT, MAX_QUERY_CHARS};

#[derive(Parser)]
#[grammar = "../grammar/cwli.pest"]
struct CwliParser;

/// How deeply parentheses and `not`s may nest (bounds the parser's recursion).
const MAX_DEPTH: usize = 100;

/// Parse and check a query.
pub fn parse(text: &str) -> Result<Query, Error> {
    let chars = text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(Error {
            message: format!(
                "the query is {chars} characters; Logs Insights accepts at most {MAX_QUERY_CHARS}"
            ),
            line: 1,
            column: 1,
        });
    }
    check_depth(text)?;
    let mut pairs = CwliParser::parse(Rule::query, text).map_err(|e| syntax_error(&e))?;
    let top = pairs
        .next()
        .ok_or_else(|| error_at(text, 0, "empty query"))?;
    let mut commands = Vec::new();
    for p in top.into_inner() {
        let cmd = match p.as_rule() {
            Rule::fields_cmd => Command::Fields(
                p.into_inner()
                    .filter(|x| x.as_rule() == Rule::field)
                    .map(|f| field_name(&f))
                    .collect(),
            ),
            Rule::filter_cmd => {
                let e = p
                    .into_inner()
                    .find(|x| x.as_rule() == Rule::bool_expr)
                    .ok_or_else(|| error_at(text, 0, "filter without a condition"))?;
                Command::Filter(bool_expr(text, e)?)
            }
            Rule::stats_cmd => stats(text, p)?,
            Rule::sort_cmd => {
                let mut field = String::new();
                let mut descending = false;
                for x in p.into_inner() {
                    match x.as_rule() {
                        Rule::field => field = field_name(&x),
                        Rule::order => descending = x.as_str().eq_ignore_ascii_case("desc"),
                        _ => {}
                    }
                }
                Command::Sort { field, descending }
            }
            Rule::limit_cmd => {
                let n = p
                    .into_inner()
                    .find(|x| x.as_rule() == Rule::integer)
                    .ok_or_else(|| error_at(text, 0, "limit without a number"))?;
                let start = n.as_span().start();
                let v: u64 = n.as_str().parse().unwrap_or(0);
                if v == 0 || v > MAX_LIMIT {
                    return Err(error_at(
                        text,
                        start,
                        &format!("limit must be 1..={MAX_LIMIT}"),
                    ));
                }
                Command::Limit(v)
            }
            _ => continue,
        };
        commands.push(cmd);
    }
    Ok(Query { commands })
}

/// `stats <aggregate> as <name>, ... by bin(<period>) as <name>, <field>, ...`.
fn stats(text: &str, p: Pair<Rule>) -> Result<Command, Error> {
    let start = p.as_span().start();
    let mut aggregates = Vec::new();
    let mut bin = None;
    let mut names = Vec::new();
    for x in p.into_inner() {
        match x.as_rule() {
            Rule::aggregate => {
                let mut inner = x.into_inner();
                let agg = inner
                    .next()
                    .ok_or_else(|| error_at(text, start, "an aggregate without a function"))?;
                let arg = agg
                    .clone()
                    .into_inner()
                    .find(|y| y.as_rule() == Rule::field)
                    .map(|f| field_name(&f));
                let a = match (agg.as_rule(), arg) {
                    (Rule::count_all, _) => Aggregate::Count,
                    (Rule::count_distinct, Some(f)) => Aggregate::CountDistinct(f),
                    (Rule::sum_of, Some(f)) => Aggregate::Sum(f),
                    (Rule::avg_of, Some(f)) => Aggregate::Avg(f),
                    _ => return Err(error_at(text, start, "an unknown aggregate")),
                };
                let name = inner
                    .find(|y| y.as_rule() == Rule::field)
                    .map(|f| field_name(&f))
                    .ok_or_else(|| error_at(text, start, "an aggregate without `as <name>`"))?;
                aggregates.push((a, name));
            }
            Rule::bin_call => {
                let period = x
                    .into_inner()
                    .find(|y| y.as_rule() == Rule::period)
                    .map(|y| y.as_str().to_owned())
                    .unwrap_or_default();
                let (digits, unit) = period.split_at(period.len().saturating_sub(1));
                let n: u64 = digits.parse().unwrap_or(0);
                let scale = match unit {
                    "s" => 1,
                    "m" => 60,
                    "h" => 3600,
                    _ => 86_400,
                };
                match n.checked_mul(scale) {
                    Some(s) if s > 0 => bin = Some(s),
                    _ => return Err(error_at(text, start, "bin() needs a period of at least 1s")),
                }
            }
            Rule::field => names.push(field_name(&x)),
            _ => {}
        }
    }
    let bin = bin.ok_or_else(|| error_at(text, start, "stats without bin()"))?;
    if names.is_empty() {
        return Err(error_at(text, start, "bin() without `as <name>`"));
    }
    let bin_name = names.remove(0);
    Ok(Command::Stats {
        aggregates,
        bin,
        bin_name,
        by: names,
    })
}

/// Reject deep nesting before pest recurses into it.
fn check_depth(text: &str) -> Result<(), Error> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(error_at(text, i, "parentheses nest too deeply"));
                }
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// An error at byte `offset` of the query `text`, with its 1-based line and column.
fn error_at(text: &str, offset: usize, message: &str) -> Error {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Error {
        message: message.to_owned(),
        line,
        column,
    }
}

/// A pest error as an [`Error`]: its position, and the rules it expected named for people.
fn syntax_error(e: &pest::error::Error<Rule>) -> Error {
    let (line, column) = match e.line_col {
        pest::error::LineColLocation::Pos((l, c))
        | pest::error::LineColLocation::Span((l, c), _) => (l, c),
    };
    let message = match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<String> = positives.iter().map(|r| rule_name(*r)).collect();
            names.sort();
            names.dedup();
            if names.is_empty() {
                "syntax error".to_owned()
            } else {
                format!("syntax error: expected {}", names.join(", "))
            }
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    Error {
        message,
        line,
        column,
    }
}

/// A grammar rule as syntax errors name it.
fn rule_name(r: Rule) -> String {
    match r {
        Rule::EOI => "end of query".into(),
        Rule::kw_and | Rule::and_tail => "`and`".into(),
        Rule::kw_or | Rule::or_tail => "`or`".into(),
        Rule::kw_not | Rule::negation => "`not`".into(),
        Rule::cmp_op => "a comparison operator".into(),
        Rule::field | Rule::plain_name | Rule::backticked => "a field name".into(),
        Rule::string => "a string".into(),
        Rule::regex => "a regex literal".into(),
        Rule::number | Rule::integer => "a number".into(),
        Rule::operand => "a value".into(),
        Rule::bool_expr | Rule::group => "a condition".into(),
        Rule::list => "a list".into(),
        other => format!("{other:?}"),
    }
}

/// A field's name, without the backticks of a backticked one.
fn field_name(p: &Pair<Rule>) -> String {
    let s = p.as_str();
    s.strip_prefix('`')
        .and_then(|x| x.strip_suffix('`'))
        .unwrap_or(s)
        .to_owned()
}

/// A condition (any rule of the condition grammar) as an [`Expr`].
fn bool_expr(text: &str, p: Pair<Rule>) -> Result<Expr, Error> {
    match p.as_rule() {
        Rule::bool_expr => {
            let mut inner = p.into_inner();
            let first = inner
                .next()
                .ok_or_else(|| error_at(text, 0, "empty condition"))?;
            let first = bool_expr(text, first)?;
            let Some(tail) = inner.next() else {
                return Ok(first);
            };
            let is_and = tail.as_rule() == Rule::and_tail;
            let mut items = vec![first];
            for x in tail.into_inner() {
                if !matches!(x.as_rule(), Rule::kw_and | Rule::kw_or) {
                    items.push(bool_expr(text, x)?);
                }
            }
            Ok(if is_and {
                Expr::And(items)
            } else {
                Expr::Or(items)
            })
        }
        Rule::not_expr => {
            let inner = p
                .into_inner()
                .find(|x| x.as_rule() != Rule::kw_not)
                .ok_or_else(|| error_at(text, 0, "`not` without an operand"))?;
            Ok(Expr::Not(Box::new(bool_expr(text, inner)?)))
        }
        Rule::group => {
            let inner = p
                .into_inner()
                .next()
                .ok_or_else(|| error_at(text, 0, "empty parentheses"))?;
            bool_expr(text, inner)
        }
        Rule::match_test | Rule::like_test => match_test(text, p),
        Rule::in_test => in_test(text, p),
        Rule::comparison => comparison(text, p),
        Rule::bool_call => {
            let inner = p
                .into_inner()
                .next()
                .ok_or_else(|| error_at(text, 0, "empty function call"))?;
            bool_expr(text, inner)
        }
        Rule::ispresent => {
            let f = p
                .into_inner()
                .find(|x| x.as_rule() == Rule::field)
                .ok_or_else(|| error_at(text, 0, "ispresent() needs a field"))?;
            Ok(Expr::IsPresent(field_name(&f)))
        }
        Rule::ip_in_subnet => ip_in_subnet(text, p),
        other => Err(error_at(
            text,
            p.as_span().start(),
            &format!("unexpected {other:?} in a condition"),
        )),
    }
}

/// A regex or substring match: `x =~ /re/`, `x like /re/`, `x like "s"`, `x not like ...`.
fn match_test(text: &str, p: Pair<Rule>) -> Result<Expr, Error> {
    let mut lhs = None;
    let mut negated = false;
    let mut out = None;
    for x in p.into_inner() {
        match x.as_rule() {
            Rule::operand => lhs = Some(operand(text, x)?),
            Rule::negation => negated = true,
            Rule::regex => {
                let start = x.as_span().start();
                let source = x
                    .into_inner()
                    .next()
                    .map(|b| b.as_str().to_owned())
                    .unwrap_or_default();
                let regex = super::regex::compile(&source).map_err(|e| {
                    error_at(
                        text,
                        start,
                        &format!("regex /{source}/ is not accepted: {e}"),
                    )
                })?;
                out = Some((Some((source, regex)), None));
            }
            Rule::string => out = Some((None, Some(string_body(&x)))),
            _ => {}
        }
    }
    let lhs = lhs.ok_or_else(|| error_at(text, 0, "a match without a value"))?;
    match out {
        Some((Some((source, regex)), _)) => Ok(Expr::Regex {
            lhs,
            source,
            regex,
            negated,
        }),
        Some((None, Some(needle))) => Ok(Expr::Like {
            lhs,
            needle,
            negated,
        }),
        _ => Err(error_at(text, 0, "a match without a pattern")),
    }
}

/// A list membership test: `x in [...]`, `x not in [...]`.
fn in_test(text: &str, p: Pair<Rule>) -> Result<Expr, Error> {
    let mut lhs = None;
    let mut negated = false;
    let mut list = Vec::new();
    for x in p.into_inner() {
        match x.as_rule() {
            Rule::operand => lhs = Some(operand(text, x)?),
            Rule::negation => negated = true,
            Rule::list => {
                for item in x.into_inner() {
                    list.push(list_item(&item));
                }
            }
            _ => {}
        }
    }
    let lhs = lhs.ok_or_else(|| error_at(text, 0, "`in` without a value"))?;
    Ok(Expr::In { lhs, list, negated })
}

/// A comparison of two values: `=`, `!=`, `<`, `<=`, `>`, `>=`.
fn comparison(text: &str, p: Pair<Rule>) -> Result<Expr, Error> {
    let mut ops = Vec::new();
    let mut op = CmpOp::Eq;
    for x in p.into_inner() {
        match x.as_rule() {
            Rule::operand => ops.push(operand(text, x)?),
            Rule::cmp_op => {
                op = match x.as_str() {
                    "!=" => CmpOp::Ne,
                    "<=" => CmpOp::Le,
                    ">=" => CmpOp::Ge,
                    "<" => CmpOp::Lt,
                    ">" => CmpOp::Gt,
                    _ => CmpOp::Eq,
                }
            }
            _ => {}
        }
    }
    let rhs = ops.pop();
    let lhs = ops.pop();
    match (lhs, rhs) {
        (Some(lhs), Some(rhs)) => Ok(Expr::Compare { lhs, op, rhs }),
        _ => Err(error_at(text, 0, "a comparison needs two values")),
    }
}

/// `isIpInSubnet(x, "cidr")`, the network checked.
fn ip_in_subnet(text: &str, p: Pair<Rule>) -> Result<Expr, Error> {
    let mut value = None;
    let mut network = None;
    for x in p.into_inner() {
        match x.as_rule() {
            Rule::operand => value = Some(operand(text, x)?),
            Rule::string => {
                let start = x.as_span().start();
                let s = string_body(&x);
                network = Some(
                    crate::ir::Cidr::parse(&s)
                        .map_err(|e| error_at(text, start, &format!("isIpInSubnet: {e}")))?,
                );
            }
            _ => {}
        }
    }
    match (value, network) {
        (Some(operand), Some(network)) => Ok(Expr::IpInSubnet { operand, network }),
        _ => Err(error_at(
            text,
            0,
            "isIpInSubnet() needs a value and a network",
        )),
    }
}

/// The text between a string literal's quotes (strings have no escapes).
fn string_body(p: &Pair<Rule>) -> String {
    p.clone()
        .into_inner()
        .next()
        .map(|b| b.as_str().to_owned())
        .unwrap_or_default()
}

/// A literal of an `in` list: a string or a number.
fn list_item(p: &Pair<Rule>) -> Operand {
    match p.as_rule() {
        Rule::string => Operand::Str(string_body(p)),
        _ => number_operand(p.as_str()),
    }
}

/// A number literal, its text kept.
fn number_operand(s: &str) -> Operand {
    Operand::Num {
        value: s.parse().unwrap_or(f64::NAN),
        text: s.to_owned(),
    }
}

/// A value: a field, a literal, or a value function (`tolower`, `strcontains`, `startsWith`,
/// `endsWith`, `concat`).
fn operand(text: &str, p: Pair<Rule>) -> Result<Operand, Error> {
    let inner = p
        .into_inner()
        .next()
        .ok_or_else(|| error_at(text, 0, "empty value"))?;
    Ok(match inner.as_rule() {
        Rule::field => Operand::Field(field_name(&inner)),
        Rule::string => Operand::Str(string_body(&inner)),
        Rule::number => number_operand(inner.as_str()),
        Rule::value_call => {
            let call = inner
                .into_inner()
                .next()
                .ok_or_else(|| error_at(text, 0, "empty function call"))?;
            let rule = call.as_rule();
            if rule == Rule::concat {
                let parts = call
                    .into_inner()
                    .filter(|x| x.as_rule() == Rule::operand)
                    .map(|x| operand(text, x))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(Operand::Concat(parts));
            }
            let mut args = call
                .into_inner()
                .filter(|x| x.as_rule() == Rule::operand)
                .map(|x| operand(text, x))
                .collect::<Result<Vec<_>, _>>()?;
            let second = args.pop();
            let first = args.pop();
            match (rule, first, second) {
                (Rule::tolower, None, Some(a)) => Operand::Lower(Box::new(a)),
                (Rule::strcontains, Some(a), Some(b)) => {
                    Operand::StrContains(Box::new(a), Box::new(b))
                }
                (Rule::starts_with, Some(a), Some(b)) => {
                    Operand::StartsWith(Box::new(a), Box::new(b))
                }
                (Rule::ends_with, Some(a), Some(b)) => Operand::EndsWith(Box::new(a), Box::new(b)),
                _ => return Err(error_at(text, 0, "wrong number of function arguments")),
            }
        }
        other => {
            return Err(error_at(
                text,
                0,
                &format!("unexpected {other:?} as a value"),
            ))
        }
    })
}
