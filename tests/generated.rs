//! Generated inputs: hostile values never escape their literal, and the jq target agrees with the
//! reference evaluator on random patterns, texts, addresses and numbers.

mod common;

use proptest::prelude::*;
use rulecast::backend::jq::exec::JqProgram;
use rulecast::backend::{self, RenderOptions, Target};
use rulecast::eval::Evaluator;
use rulecast::ir::{
    Cidr, CompareOp, Count, Elements, Expr, FieldPath, JsonType, Number, Part, Pattern, Predicate,
    Quantifier, Subject, Test,
};
use rulecast::rule::{Format, Meta, Rule};
use rulecast::source::Span;
use serde_json::{json, Value};

fn rule_with(test: Test, title: &str) -> Rule {
    Rule {
        format: Format::Sigma,
        meta: Meta {
            title: title.to_owned(),
            ..Default::default()
        },
        detections: vec![],
        condition_text: vec![],
        condition: Expr::Pred(Predicate {
            subject: Subject::Field(FieldPath::parse("f")),
            quantifier: Quantifier::Any,
            test,
            span: Span::default(),
        }),
        span: Span::default(),
        logsource_span: Span::default(),
        raises: None,
        correlation: None,
    }
}

fn jq_for(rule: &Rule) -> String {
    let b = Target::Jq.backend();
    let q = backend::render(b, rule, &RenderOptions::default()).expect("renders");
    assert_eq!(raw_hidden(&q), None, "a hidden character in\n{q}");
    q
}

/// A control, bidirectional or other invisible character written raw in a query (its own line
/// breaks aside).
fn raw_hidden(q: &str) -> Option<char> {
    q.chars()
        .find(|&c| c != '\n' && rulecast::escape::is_hidden(c))
}

fn jq_matches(program: &JqProgram, event: &Value) -> bool {
    !program.run(event).expect("runs").is_empty()
}

/// Strings with the characters that break naive escaping.
fn hostile() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("'".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("\\(".to_owned()),
            Just("\n".to_owned()),
            Just("\r".to_owned()),
            Just("\t".to_owned()),
            Just("%".to_owned()),
            Just("_".to_owned()),
            Just("*/".to_owned()),
            Just("$".to_owned()),
            Just("#".to_owned()),
            Just("é".to_owned()),
            Just("\u{2028}".to_owned()),
            Just("\u{0}".to_owned()),
            // Trojan Source: bidirectional controls and invisible format characters; DEL, C1 and
            // terminal escapes.
            Just("\u{202e}".to_owned()),
            Just("\u{2066}".to_owned()),
            Just("\u{200f}".to_owned()),
            Just("\u{200b}".to_owned()),
            Just("\u{feff}".to_owned()),
            Just("\u{7f}".to_owned()),
            Just("\u{85}".to_owned()),
            Just("\u{9b}".to_owned()),
            Just("\u{1b}[2J".to_owned()),
            Just("🙂".to_owned()),
            "[a-zA-Z0-9 .:/-]{1,3}",
            any::<char>().prop_map(|c| c.to_string()),
        ],
        0..12,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// A literal value, however hostile, matches exactly itself (and, uncased, its ASCII case
    /// variants), and the rule's title cannot break the program either.
    #[test]
    fn literal_values_match_exactly_themselves(s in hostile(), title in hostile()) {
        let cased = rule_with(Test::Text { pattern: Pattern::literal(s.clone()), cased: true }, &title);
        let program = JqProgram::compile(&jq_for(&cased)).expect("compiles");
        let exact = json!({"f": s});
        let longer = json!({"f": format!("{s}x")});
        let elsewhere = json!({"g": s});
        prop_assert!(jq_matches(&program, &exact), "exact");
        prop_assert!(!jq_matches(&program, &longer), "longer");
        prop_assert!(!jq_matches(&program, &elsewhere), "other field");
        let upper = s.to_ascii_uppercase();
        prop_assert_eq!(jq_matches(&program, &json!({"f": upper})), upper == s);

        let uncased = rule_with(Test::Text { pattern: Pattern::literal(s.clone()), cased: false }, &title);
        let program = JqProgram::compile(&jq_for(&uncased)).expect("compiles");
        let up = json!({"f": s.to_ascii_uppercase()});
        let low = json!({"f": s.to_ascii_lowercase()});
        prop_assert!(jq_matches(&program, &up), "upper");
        prop_assert!(jq_matches(&program, &low), "lower");
    }

    /// Random wildcard patterns against random texts: jq and the evaluator agree.
    #[test]
    fn wildcard_patterns_agree(
        parts in prop::collection::vec(prop_oneof![
            3 => "[aAb.%_'\"\\\\\n\u{202e}\u{0}]{1,3}".prop_map(Part::Lit),
            1 => Just(Part::AnyRun),
            1 => Just(Part::OneChar),
        ], 0..6),
        texts in prop::collection::vec("[aAbB.%_'\"\\\\\n\u{202e}\u{0}]{0,8}", 1..8),
        cased in any::<bool>(),
    ) {
        let mut pattern = Pattern::default();
        for p in parts { pattern.push(p); }
        let rule = rule_with(Test::Text { pattern, cased }, "t");
        let program = JqProgram::compile(&jq_for(&rule)).expect("compiles");
        let eval = Evaluator::new(&rule.condition).expect("compiles");
        for t in texts {
            let e = json!({"f": t});
            prop_assert_eq!(jq_matches(&program, &e), eval.matches(&e), "text {:?}", t);
        }
    }

    /// An OR of value tests on one field (rendered as one grouped test) agrees with the evaluator,
    /// also with array values and mixed case modes.
    #[test]
    fn value_lists_agree(
        pats in prop::collection::vec(("[aA*?]{0,3}", any::<bool>()), 2..5),
        texts in prop::collection::vec(prop_oneof![
            "[aAb]{0,3}".prop_map(|t| json!(t)),
            prop::collection::vec("[aAb]{0,2}", 0..3).prop_map(|v| json!(v)),
            Just(json!(null)),
            Just(json!(7)),
        ], 1..6),
    ) {
        let alts = pats
            .iter()
            .map(|(p, cased)| {
                Expr::Pred(Predicate {
                    subject: Subject::Field(FieldPath::parse("f")),
                    quantifier: Quantifier::Any,
                    test: Test::Text { pattern: Pattern::parse_sigma(p), cased: *cased },
                    span: Span::default(),
                })
            })
            .collect();
        let mut rule = rule_with(Test::Exists, "t");
        rule.condition = Expr::or(alts);
        let program = JqProgram::compile(&jq_for(&rule)).expect("compiles");
        let eval = Evaluator::new(&rule.condition).expect("ok");
        for t in texts {
            let e = json!({"f": t});
            prop_assert_eq!(jq_matches(&program, &e), eval.matches(&e), "{}", e);
        }
    }

    /// Regex-escaped literals are searched for literally, in jq as in the evaluator.
    #[test]
    fn escaped_regex_literals_agree(lit in "[a.*+?()|\\[\\]{}^$\\\\/]{1,6}", text in "[a.*+?()|\\[\\]{}^$\\\\/]{0,10}") {
        let regex = rulecast::ir::regex_escape(&lit);
        let rule = rule_with(Test::Regex { regex, flags: Default::default() }, "t");
        let program = JqProgram::compile(&jq_for(&rule)).expect("compiles");
        let e = json!({"f": text.clone()});
        prop_assert_eq!(jq_matches(&program, &e), text.contains(&lit));
        prop_assert_eq!(Evaluator::new(&rule.condition).expect("ok").matches(&e), text.contains(&lit));
    }

    /// IPv4 networks: random addresses (and near-misses) agree.
    #[test]
    fn ipv4_cidr_agrees(net in any::<u32>(), prefix in 0u8..=32, probes in prop::collection::vec(any::<u32>(), 1..6)) {
        let addr = std::net::Ipv4Addr::from(net);
        let masked = if prefix == 0 { 0 } else { net & (u32::MAX << (32 - u32::from(prefix))) };
        let c = Cidr::parse(&format!("{}/{prefix}", std::net::Ipv4Addr::from(masked))).expect("valid");
        let rule = rule_with(Test::Cidr(c), "t");
        let program = JqProgram::compile(&jq_for(&rule)).expect("compiles");
        let eval = Evaluator::new(&rule.condition).expect("ok");
        let mut texts: Vec<Value> = probes.iter().map(|p| json!(std::net::Ipv4Addr::from(*p).to_string())).collect();
        texts.push(json!(addr.to_string()));
        texts.push(json!(format!("{addr}.1")));
        texts.push(json!("ec2.amazonaws.com"));
        texts.push(json!(net));
        for t in texts {
            let e = json!({"f": t});
            prop_assert_eq!(jq_matches(&program, &e), eval.matches(&e), "{}", e);
        }
    }

    /// IPv6 networks: random addresses in several spellings agree.
    #[test]
    fn ipv6_cidr_agrees(net in any::<u128>(), prefix in 0u8..=128, probes in prop::collection::vec(any::<u128>(), 1..5), zeros in 0usize..8) {
        let masked = if prefix == 0 { 0 } else { net & (u128::MAX << (128 - u32::from(prefix))) };
        let c = Cidr::parse(&format!("{}/{prefix}", std::net::Ipv6Addr::from(masked))).expect("valid");
        let rule = rule_with(Test::Cidr(c), "t");
        let program = JqProgram::compile(&jq_for(&rule)).expect("compiles");
        let eval = Evaluator::new(&rule.condition).expect("ok");
        let mut texts = Vec::new();
        for p in probes.iter().chain([&net, &masked]) {
            // Keep some groups zero so `::` compression shows up.
            let p = *p & !(((1u128 << (16 * zeros as u32)) - 1) << 16);
            let a = std::net::Ipv6Addr::from(p);
            texts.push(a.to_string());
            texts.push(a.to_string().to_uppercase());
            let full: Vec<String> = a.segments().iter().map(|s| format!("{s:x}")).collect();
            texts.push(full.join(":"));
        }
        texts.push("::ffff:10.1.2.3".into());
        texts.push("1:2:3:4:5:6:7:8:9".into());
        texts.push(":::".into());
        texts.push("1::2::3".into());
        for t in texts {
            let e = json!({"f": t});
            prop_assert_eq!(jq_matches(&program, &e), eval.matches(&e), "{}", e);
        }
    }

    /// Numeric comparisons over numbers and numeric-looking strings agree.
    #[test]
    fn comparisons_agree(bound in -1000i64..1000, values in prop::collection::vec(prop_oneof![
        any::<i32>().prop_map(|i| json!(i)),
        (-2000.0f64..2000.0).prop_map(|f| json!(f)),
        "-?[0-9]{1,4}(\\.[0-9]{1,2})?".prop_map(|s| json!(s)),
        " ?[0-9x]{1,3} ?".prop_map(|s| json!(s)),
        Just(json!(true)),
        Just(json!(null)),
    ], 1..6)) {
        for op in [CompareOp::Gt, CompareOp::Gte, CompareOp::Lt, CompareOp::Lte] {
            let rule = rule_with(Test::Compare { op, value: Number { value: bound as f64, text: bound.to_string() } }, "t");
            let program = JqProgram::compile(&jq_for(&rule)).expect("compiles");
            let eval = Evaluator::new(&rule.condition).expect("ok");
            for v in &values {
                let e = json!({"f": v});
                prop_assert_eq!(jq_matches(&program, &e), eval.matches(&e), "{} {:?}", e, op);
            }
        }
    }
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        (-3i64..3).prop_map(|i| json!(i)),
        Just(json!(1.0)),
        Just(json!(0.0)),
        "[aA1 \u{202e}]{0,2}".prop_map(|s| json!(s)),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(("[ab]", inner), 0..3)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn python_test() -> impl Strategy<Value = Test> {
    prop_oneof![
        json_leaf()
            .prop_filter("not null", |v| !v.is_null())
            .prop_map(Test::Is),
        ("[aA1*? ]{0,3}", any::<bool>()).prop_map(|(p, fold)| Test::Str {
            pattern: Pattern::parse_sigma(&p),
            fold
        }),
        Just(Test::Truthy),
        Just(Test::Null),
        Just(Test::Exists),
        prop_oneof![
            Just(JsonType::String),
            Just(JsonType::Number),
            Just(JsonType::Boolean),
            Just(JsonType::Array),
            Just(JsonType::Object),
        ]
        .prop_map(Test::Type),
        "[ab\u{2066}]".prop_map(Test::HasKey),
        (-2i64..2).prop_map(|n| Test::Compare {
            op: CompareOp::Gte,
            value: Number {
                value: n as f64,
                text: n.to_string()
            }
        }),
        (
            prop_oneof![
                Just(rulecast::ir::Anchor::Whole),
                Just(rulecast::ir::Anchor::Prefix),
                Just(rulecast::ir::Anchor::Suffix),
                Just(rulecast::ir::Anchor::Substring),
            ],
            any::<bool>(),
            "[aA/\"]{0,2}",
            "[aA/\"]{0,2}",
        )
            .prop_map(|(anchor, cased, before, after)| Test::FieldRef(
                rulecast::ir::FieldRef {
                    other: FieldPath::parse("g"),
                    anchor,
                    cased,
                    before,
                    after,
                }
            )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Python-style predicates (exact paths, tests of each element, typed equality, truthiness,
    /// types, keys) agree between jq and the evaluator on arbitrary JSON.
    #[test]
    fn python_style_predicates_agree(
        test in python_test(),
        reading in prop_oneof![Just("exact"), Just("any element"), Just("every element"), Just("any")],
        nested in any::<bool>(),
        events in prop::collection::vec((json_value(), json_value()), 1..5),
    ) {
        let path = FieldPath::parse(if nested { "f.a" } else { "f" });
        let pred = |path: FieldPath, quantifier| Expr::Pred(Predicate {
            subject: Subject::Field(path),
            quantifier,
            test: test.clone(),
            span: Span::default(),
        });
        // A test of the value, or of its elements (a Python generator over the array).
        let each = |count| Expr::Elements(rulecast::ir::Elements {
            path: path.clone(),
            count,
            body: Box::new(pred(FieldPath::new(vec![]), Quantifier::Exact)),
            span: Span::default(),
        });
        let condition = match reading {
            "exact" => pred(path.clone(), Quantifier::Exact),
            "any" => pred(path.clone(), Quantifier::Any),
            "any element" => each(rulecast::ir::Count::Some),
            _ => each(rulecast::ir::Count::Every),
        };
        let rule = Rule { condition, ..rule_with(Test::Exists, "t") };
        let program = JqProgram::compile(&jq_for(&rule)).expect("compiles");
        let eval = Evaluator::new(&rule.condition).expect("ok");
        for (f, g) in events {
            let e = json!({"f": f, "g": g});
            prop_assert_eq!(jq_matches(&program, &e), eval.matches(&e), "{}\n{}", e, jq_for(&rule));
            let neg = Rule { condition: Expr::not(rule.condition.clone()), ..rule_with(Test::Exists, "t") };
            let np = JqProgram::compile(&jq_for(&neg)).expect("compiles");
            prop_assert_eq!(jq_matches(&np, &e), !eval.matches(&e), "not: {}", e);
        }
    }
}

/// Python-style paths are read directly (`.eventName?`, `.userIdentity?.arn?`, `.["x-y"]?`): the
/// same verdicts as the evaluator on odd records too (a string, number, Boolean or null record;
/// a string, list or null on the way; a jq keyword as a key), plain and negated, in jaq and the
/// system jq.
#[test]
fn direct_reads_match_the_evaluator_on_odd_records() {
    let records = [
        json!("eventName"),
        json!(7),
        json!(true),
        json!(null),
        json!({}),
        json!({"eventName": null}),
        json!({"eventName": "X"}),
        json!({"eventName": ["X"]}),
        json!({"eventName": false}),
        json!({"userIdentity": "s"}),
        json!({"userIdentity": ["s"]}),
        json!({"userIdentity": null}),
        json!({"userIdentity": {"arn": "X"}}),
        json!({"userIdentity": {"arn": null}}),
        json!({"userIdentity": {"arn": {"arn": "X"}}}),
        json!({"if": "X", "x-y": "X"}),
        json!({"userIdentity": {"x-y": "X"}}),
    ];
    let tests = [
        // (`== None` is the null test; the front end never makes an `is` of null.)
        Test::Is(json!("X")),
        Test::Is(json!(false)),
        Test::Null,
        Test::Exists,
        Test::Truthy,
        Test::Type(rulecast::ir::JsonType::String),
        Test::HasKey("arn".into()),
        Test::Str {
            pattern: Pattern::parse_sigma("x*"),
            fold: true,
        },
        Test::Text {
            pattern: Pattern::parse_sigma("null"),
            cased: false,
        },
    ];
    for path in [
        "eventName",
        "userIdentity.arn",
        "userIdentity",
        "if",
        "x-y",
        "userIdentity.x-y",
    ] {
        for test in &tests {
            let cond = Expr::Pred(Predicate {
                subject: Subject::Field(FieldPath::parse(path)),
                quantifier: Quantifier::Exact,
                test: test.clone(),
                span: Span::default(),
            });
            for c in [cond.clone(), Expr::not(cond)] {
                let rule = Rule {
                    condition: c,
                    ..rule_with(Test::Exists, "t")
                };
                let filter = jq_for(&rule);
                assert!(!filter.contains("rc_one("), "{filter}");
                let program = JqProgram::compile(&filter).expect("compiles");
                let eval = Evaluator::new(&rule.condition).expect("ok");
                for e in &records {
                    let want = eval.matches(e);
                    assert_eq!(jq_matches(&program, e), want, "jaq on {e}\n{filter}");
                }
                if common::system_jq() {
                    // One run over all the records (an array is read as its elements).
                    let want: Vec<Value> = records
                        .iter()
                        .filter(|e| eval.matches(e))
                        .cloned()
                        .collect();
                    let all = Value::Array(records.to_vec());
                    let out = common::run_system_jq(&filter, &all).expect("jq runs");
                    assert_eq!(out, want, "jq\n{filter}");
                }
            }
        }
    }
}

/// A sample of hostile literals also runs through the system jq (jq 1.6 on Debian), which parses
/// string literals and comments with its own lexer (hidden characters as `\uXXXX` escapes).
#[test]
fn hostile_literals_under_system_jq() {
    if !common::system_jq() {
        eprintln!("skipped: no system jq");
        return;
    }
    let values = [
        "it's",
        "say \"hi\"",
        "back\\slash",
        "\\(interp)",
        "line\nbreak",
        "100%_done",
        "*/ -- #",
        "é🙂",
        "\u{2028}x",
        "trailing\\",
        "rtl\u{202e}lrt\u{2066}\u{2069}",
        "nul\u{0}del\u{7f}c1\u{85}\u{9b}",
        "esc\u{1b}]0;t\u{7}\u{200b}\u{feff}",
    ];
    for v in values {
        for cased in [true, false] {
            let rule = rule_with(
                Test::Text {
                    pattern: Pattern::literal(v),
                    cased,
                },
                v,
            );
            let filter = jq_for(&rule);
            let out = common::run_system_jq(&filter, &json!({"f": v})).expect("jq runs");
            assert_eq!(out.len(), 1, "{v:?} must match itself\n{filter}");
            let out =
                common::run_system_jq(&filter, &json!({"f": format!("{v}!")})).expect("jq runs");
            assert!(out.is_empty(), "{v:?} must not match more");
        }
    }
}

fn element_body() -> impl Strategy<Value = Expr> {
    let pred = (python_test(), prop_oneof![Just(""), Just("a")]).prop_map(|(test, path)| {
        Expr::Pred(Predicate {
            subject: Subject::Field(FieldPath::new(if path.is_empty() {
                vec![]
            } else {
                vec![path.to_owned()]
            })),
            quantifier: Quantifier::Exact,
            test,
            span: Span::default(),
        })
    });
    prop::collection::vec((pred, any::<bool>()), 1..3).prop_map(|ps| {
        Expr::and(
            ps.into_iter()
                .map(|(p, neg)| if neg { Expr::not(p) } else { p })
                .collect(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Per-element conditions (some, every, exactly one element passes a body whose fields are
    /// relative to the element) agree between jq and the evaluator on arbitrary JSON.
    #[test]
    fn element_conditions_agree(
        body in element_body(),
        count in prop_oneof![Just(Count::Some), Just(Count::Every), Just(Count::One)],
        nested in any::<bool>(),
        events in prop::collection::vec((json_value(), json_value()), 1..5),
    ) {
        let path = if nested { "f.a" } else { "f" };
        let rule = Rule {
            condition: Expr::Elements(Elements {
                path: FieldPath::parse(path),
                count,
                body: Box::new(body),
                span: Span::default(),
            }),
            ..rule_with(Test::Exists, "t")
        };
        let program = JqProgram::compile(&jq_for(&rule)).expect("compiles");
        let eval = Evaluator::new(&rule.condition).expect("ok");
        for (f, g) in events {
            let e = json!({"f": f, "g": g});
            prop_assert_eq!(jq_matches(&program, &e), eval.matches(&e), "{}\n{}", e, jq_for(&rule));
            let neg = Rule { condition: Expr::not(rule.condition.clone()), ..rule_with(Test::Exists, "t") };
            let np = JqProgram::compile(&jq_for(&neg)).expect("compiles");
            prop_assert_eq!(jq_matches(&np, &e), !eval.matches(&e), "not: {}", e);
        }
    }
}

/// Hand-picked per-element cases: arrays of objects, scalars, empty arrays and non-arrays.
#[test]
fn element_conditions_examples() {
    let body = Expr::and(vec![
        Expr::Pred(Predicate {
            subject: Subject::Field(FieldPath::parse("userId")),
            quantifier: Quantifier::Exact,
            test: Test::Is(json!("1")),
            span: Span::default(),
        }),
        Expr::Pred(Predicate {
            subject: Subject::Field(FieldPath::parse("group")),
            quantifier: Quantifier::Exact,
            test: Test::Null,
            span: Span::default(),
        }),
    ]);
    let cases = [
        (
            json!({"f": [{"userId": "1"}, {"userId": "2"}]}),
            [true, false, true],
        ),
        (
            json!({"f": [{"userId": "1", "group": "all"}]}),
            [false, false, false],
        ),
        (
            json!({"f": [{"userId": "1"}, {"userId": "1"}]}),
            [true, true, false],
        ),
        (json!({"f": []}), [false, true, false]),
        (json!({"f": {"userId": "1"}}), [false, false, false]),
        (json!({"g": 1}), [false, false, false]),
        (json!({"f": ["1", null, 1]}), [false, false, false]),
    ];
    for (i, count) in [Count::Some, Count::Every, Count::One]
        .into_iter()
        .enumerate()
    {
        let rule = Rule {
            condition: Expr::Elements(Elements {
                path: FieldPath::parse("f"),
                count,
                body: Box::new(body.clone()),
                span: Span::default(),
            }),
            ..rule_with(Test::Exists, "t")
        };
        let program = JqProgram::compile(&jq_for(&rule)).expect("compiles");
        let eval = Evaluator::new(&rule.condition).expect("ok");
        for (e, want) in &cases {
            assert_eq!(eval.matches(e), want[i], "{count:?} {e}");
            assert_eq!(jq_matches(&program, e), want[i], "{count:?} {e}");
            if common::system_jq() {
                let out = common::run_system_jq(&jq_for(&rule), e).expect("jq runs");
                assert_eq!(!out.is_empty(), want[i], "system jq {count:?} {e}");
            }
        }
    }
}

/// A random condition over the fields `f`, `f.a` and `g`: predicates under both readings, and
/// AND, OR, NOT and per-element conditions over them, nested.
fn condition() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        9 => (
            prop_oneof![4 => Just("f"), 2 => Just("f.a"), 1 => Just("g")],
            prop_oneof![Just(Quantifier::Exact), Just(Quantifier::Any)],
            python_test(),
        )
            .prop_map(|(path, quantifier, test)| {
                Expr::Pred(Predicate {
                    subject: Subject::Field(FieldPath::parse(path)),
                    quantifier,
                    test,
                    span: Span::default(),
                })
            }),
        1 => any::<bool>().prop_map(Expr::Const),
        // String matches of one value in one case mode (Python `x.startswith(("a", "b"))`),
        // which targets may render as one test.
        2 => (
            prop_oneof![Just("f"), Just("f.a")],
            any::<bool>(),
            prop::collection::vec("[aA1*? ]{0,3}", 2..4),
        )
            .prop_map(|(path, fold, patterns)| {
                Expr::Or(
                    patterns
                        .iter()
                        .map(|p| {
                            Expr::Pred(Predicate {
                                subject: Subject::Field(FieldPath::parse(path)),
                                quantifier: Quantifier::Exact,
                                test: Test::Str {
                                    pattern: Pattern::parse_sigma(p),
                                    fold,
                                },
                                span: Span::default(),
                            })
                        })
                        .collect(),
                )
            }),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.clone().prop_map(|x| Expr::Not(Box::new(x))),
            (
                element_body(),
                prop_oneof![Just(Count::Some), Just(Count::Every)]
            )
                .prop_map(|(body, count)| Expr::Elements(Elements {
                    path: FieldPath::parse("f"),
                    count,
                    body: Box::new(body),
                    span: Span::default(),
                })),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// The passes every rule goes through (desugaring, then simplifying, with negations spread or
    /// kept) never change what a condition matches, by the evaluator's reading.
    #[test]
    fn passes_keep_the_meaning(
        e in condition(),
        events in prop::collection::vec((json_value(), json_value()), 1..8),
    ) {
        let before = Evaluator::new(&e).expect("compiles");
        let lowered = [
            ("desugar", rulecast::passes::desugar(&e)),
            ("lower", rulecast::passes::lower(&e)),
            ("keeping negations", rulecast::passes::lower_keeping_negations(&e)),
        ];
        for (name, after) in &lowered {
            let after_eval = Evaluator::new(after).expect("compiles");
            for (f, g) in &events {
                let event = json!({"f": f, "g": g});
                prop_assert_eq!(
                    before.matches(&event),
                    after_eval.matches(&event),
                    "{} changed the meaning on {}\nbefore: {:?}\nafter: {:?}",
                    name, event, e, after
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The jq target, in-process, agrees with the evaluator on random lowered conditions and
    /// events: what the shared renderer and jq merge (string matches of one value, presence and
    /// inequality, equalities) keeps the meaning.
    #[test]
    fn jq_agrees_on_random_conditions(
        e in condition(),
        events in prop::collection::vec((json_value(), json_value()), 1..6),
    ) {
        let mut rule = rule_with(Test::Null, "random");
        rule.condition = rulecast::passes::lower(&e);
        let q = jq_for(&rule);
        let program = JqProgram::compile(&q).expect("compiles");
        let eval = Evaluator::new(&rule.condition).expect("compiles");
        for (f, g) in &events {
            let event = json!({"f": f, "g": g});
            prop_assert_eq!(
                jq_matches(&program, &event),
                eval.matches(&event),
                "jq and the evaluator differ on {}\ncondition: {:?}\n{}",
                event, rule.condition, q
            );
        }
    }
}
