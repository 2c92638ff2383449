//! Differential: a random IR condition and random events; the reference evaluator and the jq
//! filter the jq backend renders (run by jaq) must select the same events. A condition the jq
//! backend declines to render is skipped; a filter that does not compile, errors at run time,
//! prints something other than the event, or disagrees with the evaluator is a finding.
//!
//! The generator draws from small alphabets (fields `f`, `g`, `f.a`, `a`; short texts over
//! `aA1*?.\"/ `), so that values collide with patterns often.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use rulecast::backend::jq::exec::JqProgram;
use rulecast::backend::{self, RenderOptions, Target};
use rulecast::eval::Evaluator;
use rulecast::ir::{
    Anchor, Cidr, CompareOp, Count, Elements, Expr, FieldPath, FieldRef, JsonType, Number, Pattern,
    Predicate, Quantifier, RegexFlags, Subject, Test,
};
use rulecast::rule::{Format, Meta, Rule};
use rulecast::source::Span;
use serde_json::{json, Map, Value};

const CHARS: &[char] = &['a', 'A', '1', '*', '?', '.', '"', '\\', '/', ' ', 'é', '\n'];
const PATHS: &[&str] = &["f", "g", "f.a", "a", "f.b"];
const REL_PATHS: &[&str] = &["", "a", "b"];
const REGEX_PIECES: &[&str] = &[
    "a", "A", "1", ".", "^", "$", "a*", "[ab]", "[^a]", "\\d", "(a|1)", "\\.", "x?", "\\\\", "é",
    "\\s", ".+",
];

fn text(u: &mut Unstructured, max: usize) -> Result<String> {
    let n = u.int_in_range(0..=max)?;
    (0..n).map(|_| u.choose(CHARS).copied()).collect()
}

fn path(u: &mut Unstructured, paths: &[&str]) -> Result<FieldPath> {
    let p = *u.choose(paths)?;
    Ok(if p.is_empty() {
        FieldPath(vec![])
    } else {
        FieldPath::parse(p)
    })
}

fn number(u: &mut Unstructured) -> Result<Number> {
    let (value, text) = *u.choose(&[
        (0.0, "0"),
        (1.0, "1"),
        (-1.0, "-1"),
        (1.5, "1.5"),
        (10.0, "10"),
        (1e3, "1000"),
        (-0.5, "-0.5"),
    ])?;
    Ok(Number {
        value,
        text: text.to_owned(),
    })
}

fn leaf(u: &mut Unstructured) -> Result<Value> {
    Ok(match u.int_in_range(0..=8)? {
        0 => Value::Null,
        1 => json!(u.arbitrary::<bool>()?),
        2 => json!(u.int_in_range(-2i64..=11)?),
        3 => json!(*u.choose(&[0.5, 1.5, -1.0, 1000.0, 1e-3])?),
        4 => json!(*u.choose(&[
            "10.1.2.3",
            "10.0.0.0",
            "192.168.0.1",
            "::1",
            "2001:db8::1",
            "1.5",
            "-1",
            "1e3",
            " 1"
        ])?),
        _ => json!(text(u, 4)?),
    })
}

fn value(u: &mut Unstructured, depth: u32) -> Result<Value> {
    if depth == 0 {
        return leaf(u);
    }
    Ok(match u.int_in_range(0..=5)? {
        0 => {
            let n = u.int_in_range(0..=3)?;
            Value::Array((0..n).map(|_| value(u, depth - 1)).collect::<Result<_>>()?)
        }
        1 => object(u, depth - 1)?,
        _ => leaf(u)?,
    })
}

fn object(u: &mut Unstructured, depth: u32) -> Result<Value> {
    let n = u.int_in_range(0..=3)?;
    let mut m = Map::new();
    for _ in 0..n {
        let k = *u.choose(&["f", "g", "a", "b"])?;
        m.insert(k.to_owned(), value(u, depth)?);
    }
    Ok(Value::Object(m))
}

fn pattern(u: &mut Unstructured) -> Result<Pattern> {
    Ok(Pattern::parse_sigma(&text(u, 5)?))
}

/// Tests a Sigma rule can produce.
fn sigma_test(u: &mut Unstructured) -> Result<Test> {
    Ok(match u.int_in_range(0..=6)? {
        0 => {
            let n = u.int_in_range(1..=4)?;
            let regex: String = (0..n)
                .map(|_| u.choose(REGEX_PIECES).copied())
                .collect::<Result<_>>()?;
            Test::Regex {
                regex,
                flags: RegexFlags {
                    ignore_case: u.arbitrary()?,
                    multi_line: u.arbitrary()?,
                    dot_all: u.arbitrary()?,
                },
            }
        }
        1 => {
            let net = *u.choose(&[
                "10.0.0.0/8",
                "10.1.2.3/32",
                "0.0.0.0/0",
                "192.168.0.0/16",
                "::/0",
                "2001:db8::/32",
                "::1/128",
            ])?;
            Test::Cidr(Cidr::parse(net).expect("valid network"))
        }
        2 => Test::Compare {
            op: *u.choose(&[CompareOp::Gt, CompareOp::Gte, CompareOp::Lt, CompareOp::Lte])?,
            value: number(u)?,
        },
        3 => Test::Null,
        4 => Test::Exists,
        5 => Test::FieldRef(FieldRef::plain(
            path(u, &["g", "f.a", "a"])?,
            anchor(u)?,
            u.arbitrary()?,
        )),
        _ => Test::Text {
            pattern: pattern(u)?,
            cased: u.arbitrary()?,
        },
    })
}

fn anchor(u: &mut Unstructured) -> Result<Anchor> {
    Ok(*u.choose(&[
        Anchor::Whole,
        Anchor::Prefix,
        Anchor::Suffix,
        Anchor::Substring,
    ])?)
}

/// Tests the Panther front end produces (Python and simple detections).
fn python_test(u: &mut Unstructured) -> Result<Test> {
    Ok(match u.int_in_range(0..=8)? {
        0 => {
            let v = leaf(u)?;
            if v.is_null() {
                Test::Null
            } else {
                Test::Is(v)
            }
        }
        1 => Test::Str {
            pattern: pattern(u)?,
            fold: u.arbitrary()?,
        },
        2 => Test::Truthy,
        3 => Test::Type(*u.choose(&[
            JsonType::String,
            JsonType::Number,
            JsonType::Boolean,
            JsonType::Array,
            JsonType::Object,
        ])?),
        4 => Test::HasKey((*u.choose(&["a", "b", "f"])?).to_owned()),
        5 => Test::FieldRef(FieldRef {
            other: path(u, &["g", "f.a"])?,
            anchor: anchor(u)?,
            cased: u.arbitrary()?,
            before: text(u, 2)?,
            after: text(u, 2)?,
        }),
        _ => sigma_test(u)?,
    })
}

fn predicate(u: &mut Unstructured, in_element: bool) -> Result<Expr> {
    if in_element {
        return Ok(Expr::Pred(Predicate {
            subject: Subject::Field(path(u, REL_PATHS)?),
            quantifier: Quantifier::Exact,
            test: python_test(u)?,
            span: Span::default(),
        }));
    }
    let python: bool = u.arbitrary()?;
    let (subject, quantifier, test) = if python {
        let q = *u.choose(&[
            Quantifier::Exact,
            Quantifier::AnyElement,
            Quantifier::AllElements,
        ])?;
        (Subject::Field(path(u, PATHS)?), q, python_test(u)?)
    } else if u.ratio(1, 8)? {
        // A Sigma keyword: text anywhere in the event.
        let test = match u.int_in_range(0..=1)? {
            0 => Test::Text {
                pattern: pattern(u)?,
                cased: u.arbitrary()?,
            },
            _ => sigma_test(u)?,
        };
        (Subject::Anywhere, Quantifier::Any, test)
    } else {
        (
            Subject::Field(path(u, PATHS)?),
            Quantifier::Any,
            sigma_test(u)?,
        )
    };
    Ok(Expr::Pred(Predicate {
        subject,
        quantifier,
        test,
        span: Span::default(),
    }))
}

fn expr(u: &mut Unstructured, depth: u32, in_element: bool) -> Result<Expr> {
    if depth == 0 {
        return predicate(u, in_element);
    }
    Ok(match u.int_in_range(0..=9)? {
        0 | 1 => {
            let n = u.int_in_range(0..=3)?;
            Expr::And(
                (0..n)
                    .map(|_| expr(u, depth - 1, in_element))
                    .collect::<Result<_>>()?,
            )
        }
        2 | 3 => {
            let n = u.int_in_range(0..=3)?;
            Expr::Or(
                (0..n)
                    .map(|_| expr(u, depth - 1, in_element))
                    .collect::<Result<_>>()?,
            )
        }
        4 => Expr::Not(Box::new(expr(u, depth - 1, in_element)?)),
        5 => Expr::Const(u.arbitrary()?),
        6 if !in_element => Expr::Elements(Elements {
            path: path(u, &["f", "g", "f.a"])?,
            count: *u.choose(&[Count::Some, Count::Every, Count::One])?,
            body: Box::new(expr(u, depth - 1, true)?),
            span: Span::default(),
        }),
        _ => predicate(u, in_element)?,
    })
}

fn rule(condition: Expr) -> Rule {
    Rule {
        format: Format::Sigma,
        meta: Meta {
            title: "fuzz".to_owned(),
            ..Default::default()
        },
        detections: vec![],
        condition_text: vec![],
        condition,
        span: Span::default(),
        logsource_span: Span::default(),
        raises: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(condition) = expr(&mut u, 3, false) else {
        return;
    };
    let mut events = Vec::new();
    for _ in 0..4 {
        match object(&mut u, 2) {
            Ok(e) => events.push(e),
            Err(_) => break,
        }
    }
    if events.is_empty() {
        return;
    }
    let r = rule(condition);
    let Ok(evaluator) = Evaluator::new(&r.condition) else {
        return;
    };
    let Ok(query) = backend::render(Target::Jq.backend(), &r, &RenderOptions::default()) else {
        return;
    };
    let program = match JqProgram::compile(&query) {
        Ok(p) => p,
        Err(e) => panic!("the rendered filter does not compile: {e}\n{query}"),
    };
    for event in &events {
        let want = evaluator.matches(event);
        let out = match program.run(event) {
            Ok(out) => out,
            Err(e) => panic!("jq error on {event}: {e}\n{query}\n{:#?}", r.condition),
        };
        let got = match out.as_slice() {
            [] => false,
            [one] if one == event => true,
            _ => panic!("printed {} for {event}\n{query}", Value::from(out)),
        };
        assert_eq!(
            got, want,
            "jq {got}, evaluator {want} on {event}\n{query}\n{:#?}",
            r.condition
        );
    }
});
