//! Unit tests of the translation's cost: rules whose size used to make the translation (or the
//! simplifier after it) take exponential time or memory translate, and agree with the expected
//! verdicts; what cannot be made small is refused with its limit; rules nested too deeply are
//! refused before anything recurses over them. None is timed: each is sized so that a
//! regression would hang, exhaust memory or overflow the stack.

use super::limits::Size;
use super::tests::jq_program;
use super::*;
use serde_json::json;

/// Translate a whole module (simplified as the Panther front end does) in a thread with the
/// stack test threads get by default, so a stack overflow shows as a failure here.
fn translated(src: String) -> Result<Expr, Diagnostic> {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            translate(Path::new("t.py"), &src, Span::default())
                .map(|t| crate::passes::simplify(&t.condition))
        })
        .expect("thread")
        .join()
        .expect("no panic or overflow")
}

/// Check a module's verdicts with the evaluator and with the jq query it renders to (run by
/// jaq), in a thread with a 2 MiB stack, like the translation.
fn check_module(src: String, cases: &[(serde_json::Value, bool)]) {
    let cond = translated(src.clone()).unwrap_or_else(|d| panic!("{d:?}\n{src}"));
    let cases = cases.to_vec();
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for (e, want) in &cases {
                let got = crate::eval::matches(&cond, e).expect("evaluates");
                assert_eq!(got, *want, "evaluator on {e}");
            }
            let (_, program) = jq_program(cond);
            for (e, want) in &cases {
                let by_jq = !program.run(e).expect("runs").is_empty();
                assert_eq!(by_jq, *want, "jq on {e}");
            }
        })
        .expect("thread")
        .join()
        .expect("no panic or overflow");
}

/// A module whose `rule()` has these body lines (after `before`, at module level).
fn module(before: &str, body: &[String]) -> String {
    let mut s = format!("{before}\ndef rule(event):\n");
    for l in body {
        s.push_str("    ");
        s.push_str(l);
        s.push('\n');
    }
    s
}

fn refused(src: String, needle: &str) -> Diagnostic {
    let d = translated(src).expect_err("refused");
    assert_eq!(d.code, Code::NotTranslatable, "{}", d.message);
    assert!(d.message.contains(needle), "{}", d.message);
    d
}

#[test]
fn long_or_chains_of_comparisons() {
    for n in [12, 30] {
        let terms: Vec<String> = (0..n)
            .map(|i| format!("event.get('eventName') == 'E{i}'"))
            .collect();
        let src = module("", &[format!("return {}", terms.join(" or "))]);
        check_module(
            src,
            &[
                (json!({"eventName": "E0"}), true),
                (json!({"eventName": format!("E{}", n - 1)}), true),
                (json!({"eventName": format!("E{n}")}), false),
                (json!({"eventName": "e0"}), false),
                (json!({}), false),
            ],
        );
    }
}

#[test]
fn long_and_chains_of_comparisons() {
    for n in [16, 40] {
        let terms: Vec<String> = (0..n)
            .map(|i| format!("event.get('f{i}') == 'v{i}'"))
            .collect();
        let src = module("", &[format!("return {}", terms.join(" and "))]);
        let all: serde_json::Map<String, serde_json::Value> = (0..n)
            .map(|i| (format!("f{i}"), json!(format!("v{i}"))))
            .collect();
        let mut one_missing = all.clone();
        one_missing.remove(&format!("f{}", n - 1));
        let mut one_wrong = all.clone();
        one_wrong.insert("f0".into(), json!("x"));
        check_module(
            src,
            &[
                (serde_json::Value::Object(all), true),
                (serde_json::Value::Object(one_missing), false),
                (serde_json::Value::Object(one_wrong), false),
                (json!({}), false),
            ],
        );
    }
}

/// `or`/`and` returning an operand (not a bool) still reads the first truthy (falsy) one.
#[test]
fn operand_returning_chains() {
    let terms: Vec<String> = (0..12).map(|i| format!("event.get('k{i}')")).collect();
    let src = module(
        "",
        &[
            format!("x = {} or 'none'", terms.join(" or ")),
            "return x == 'hit'".into(),
        ],
    );
    check_module(
        src,
        &[
            (json!({"k11": "hit"}), true),
            (json!({"k0": "", "k5": 0, "k11": "hit"}), true),
            (json!({"k3": "other", "k11": "hit"}), false),
            (json!({}), false),
        ],
    );
}

#[test]
fn long_elif_chains() {
    for n in [25, 200] {
        let mut body = Vec::new();
        for i in 0..n {
            let kw = if i == 0 { "if" } else { "elif" };
            body.push(format!("{kw} event.get('eventName') == 'E{i}':"));
            body.push(format!(
                "    return {}",
                if i % 2 == 0 { "True" } else { "False" }
            ));
        }
        body.push("return False".into());
        check_module(
            module("", &body),
            &[
                (json!({"eventName": "E0"}), true),
                (json!({"eventName": "E1"}), false),
                (json!({"eventName": format!("E{}", n - 1)}), n % 2 == 1),
                (json!({"eventName": format!("E{}", n - 2)}), n % 2 == 0),
                (json!({"eventName": "E9999"}), false),
                (json!({}), false),
            ],
        );
    }
}

/// Branches returning `True` and `False` in runs of different lengths (joined a run at a time),
/// and a branch that raises in the middle.
#[test]
fn runs_of_constant_returns() {
    let returns = |i: usize| i % 5 < 3;
    let mut body = Vec::new();
    for i in 0..60 {
        body.push(format!("if event.get('eventName') == 'E{i}':"));
        body.push(format!(
            "    return {}",
            if returns(i) { "True" } else { "False" }
        ));
        if i == 30 {
            body.push("if event.get('boom'):".into());
            body.push("    return event['missing'] == 1".into());
        }
    }
    body.push("return event.get('fallback') == 1".into());
    let mut cases = vec![
        (json!({"eventName": "E31"}), returns(31)),
        (json!({"eventName": "E31", "boom": 1}), false),
        (json!({"eventName": "E31", "boom": 1, "missing": 1}), true),
        (json!({"eventName": "E30", "boom": 1}), returns(30)),
        (json!({"fallback": 1}), true),
        (json!({"fallback": 2}), false),
    ];
    for i in [0, 2, 3, 4, 5, 29, 59] {
        cases.push((
            json!({"eventName": format!("E{i}"), "fallback": 1}),
            returns(i),
        ));
    }
    check_module(module("", &body), &cases);
}

/// A loop over constants with an early return: the branches join without recursion.
#[test]
fn early_returns_in_a_loop_over_constants() {
    let names: Vec<String> = (0..400).map(|i| format!("'E{i}'")).collect();
    let src = module(
        &format!("NAMES = [{}]\n", names.join(", ")),
        &[
            "for n in NAMES:".into(),
            "    if event.get('eventName') == n:".into(),
            "        return True".into(),
            "return False".into(),
        ],
    );
    check_module(
        src,
        &[
            (json!({"eventName": "E0"}), true),
            (json!({"eventName": "E399"}), true),
            (json!({"eventName": "E400"}), false),
            (json!({}), false),
        ],
    );
}

/// `if c: r = not r` joins the two values of `r` instead of running the rest once per branch;
/// each toggle doubles the condition, so many of them stop at the size limit.
#[test]
fn toggles() {
    let body = |n: usize| {
        let mut b = vec!["r = False".to_owned()];
        for i in 0..n {
            b.push(format!("if event.get('k{i}'):"));
            b.push("    r = not r".into());
        }
        b.push("return r".into());
        b
    };
    check_module(
        module("", &body(8)),
        &[
            (json!({}), false),
            (json!({"k0": 1}), true),
            (json!({"k0": 1, "k7": "x"}), false),
            (json!({"k0": 1, "k3": true, "k7": "x"}), true),
            (json!({"k0": 1, "k3": false, "k7": "x"}), false),
        ],
    );
    refused(module("", &body(30)), "grows past 100000 tests");
}

/// A name bound on both branches, or changed on one only, holds the branch's value after the `if`.
#[test]
fn branches_that_only_bind_names_join() {
    let src = module(
        "",
        &[
            "kind = 'other'".into(),
            "if event.get('eventName') == 'CreateUser':".into(),
            "    kind = 'user'".into(),
            "    extra = event.get('a') == 1".into(),
            "elif event.get('eventName') == 'CreateRole':".into(),
            "    kind = 'role'".into(),
            "    extra = True".into(),
            "else:".into(),
            "    extra = False".into(),
            "if event.get('readOnly'):".into(),
            "    kind = 'read'".into(),
            "return kind in ('user', 'role') and extra".into(),
        ],
    );
    check_module(
        src,
        &[
            (json!({"eventName": "CreateUser", "a": 1}), true),
            (json!({"eventName": "CreateUser", "a": 2}), false),
            (json!({"eventName": "CreateRole"}), true),
            (json!({"eventName": "CreateRole", "readOnly": true}), false),
            (json!({"eventName": "DeleteRole"}), false),
        ],
    );
}

#[test]
fn membership_in_large_constant_lists() {
    for n in [2_000, 20_000] {
        let names: Vec<String> = (0..n).map(|i| format!("'E{i}'")).collect();
        let src = module(
            &format!("NAMES = [{}]\n", names.join(", ")),
            &["return event.get('eventName') in NAMES".into()],
        );
        let cond = translated(src).expect("translates");
        for (e, want) in [
            (json!({"eventName": "E0"}), true),
            (json!({"eventName": format!("E{}", n - 1)}), true),
            (json!({"eventName": format!("E{n}")}), false),
            (json!({}), false),
        ] {
            assert_eq!(
                crate::eval::matches(&cond, &e).expect("evaluates"),
                want,
                "{e}"
            );
        }
    }
    // The jq query of the smaller one, too.
    let names: Vec<String> = (0..2_000).map(|i| format!("'E{i}'")).collect();
    check_module(
        module(
            &format!("NAMES = {{{}}}\n", names.join(", ")),
            &["return event.get('eventName') not in NAMES".into()],
        ),
        &[
            (json!({"eventName": "E1999"}), false),
            (json!({"eventName": "E2000"}), true),
            (json!({}), true),
        ],
    );
}

#[test]
fn deep_nesting_is_refused_before_it_recurses() {
    for n in [5_000, 10_000] {
        let src = module("", &[format!("return {}event.get('x')", "not ".repeat(n))]);
        refused(src, "nests deeper than 256 levels");
    }
    let mut body = Vec::new();
    for i in 0..3_000 {
        let kw = if i == 0 { "if" } else { "elif" };
        body.push(format!("{kw} event.get('eventName') == 'E{i}':"));
        body.push("    return True".into());
    }
    body.push("return False".into());
    let d = refused(module("", &body), "nests deeper than 256 levels");
    // At the first statement past the limit.
    assert!(
        matches!(d.location, Some(crate::diagnostic::Location::LineCol(lc)) if lc.line > 256),
        "{:?}",
        d.location
    );
    // Brackets, and a long left-nested sum (the parser keeps its own stack; the tree is not
    // walked or dropped recursively).
    for deep in [
        format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)),
        format!("1{}", " + 1".repeat(100_000)),
    ] {
        refused(
            module("", &[format!("x = {deep}"), "return True".into()]),
            "nests deeper than 256 levels",
        );
    }
    // Parentheses alone add no nesting.
    check_module(
        module(
            "",
            &[format!(
                "return {}event.get('x') == 1{}",
                "(".repeat(10_000),
                ")".repeat(10_000)
            )],
        ),
        &[(json!({"x": 1}), true), (json!({}), false)],
    );
}

/// Inlined helpers count toward the translator's depth: a rule within the nesting limit whose
/// helpers nest it further stops at the depth limit, with an error.
#[test]
fn inlined_helpers_count_toward_the_depth() {
    let mut before = String::from("def h0(x):\n    return x\n");
    for i in 1..16 {
        before.push_str(&format!(
            "def h{i}(x):\n    return {}h{}(x){}\n",
            "not (".repeat(40),
            i - 1,
            ")".repeat(40)
        ));
    }
    refused(
        module(&before, &["return h15(event.get('x'))".into()]),
        "nests deeper than 400 levels",
    );
}

/// The deepest conditions a rule can reach (alternating early returns, nested about as deep as
/// the limit allows) go through the simplifier, the evaluator and every backend on a 2 MiB
/// stack; deeper is refused.
#[test]
fn conditions_at_the_depth_limit_pass_every_stage() {
    let alternating = |n: usize| {
        let names: Vec<String> = (0..n).map(|i| format!("'E{i}'")).collect();
        module(
            &format!("NAMES = [{}]\n", names.join(", ")),
            &[
                "for n in NAMES:".into(),
                "    if event.get('eventName') == n:".into(),
                "        return True".into(),
                "    if event.get('errorCode') == n:".into(),
                "        return False".into(),
                "return False".into(),
            ],
        )
    };
    refused(alternating(400), "nests deeper than 400 levels");
    let cond = translated(alternating(195)).expect("translates");
    let depth = Size::of([&cond]).depth;
    assert!(depth > 350, "{depth}");
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for (e, want) in [
                (json!({"eventName": "E194"}), true),
                (json!({"eventName": "E194", "errorCode": "E3"}), false),
                (json!({"eventName": "E3", "errorCode": "E194"}), true),
                (json!({}), false),
            ] {
                assert_eq!(crate::eval::matches(&cond, &e).expect("evaluates"), want);
            }
            let rule = crate::rule::Rule {
                format: crate::rule::Format::Panther,
                meta: Default::default(),
                detections: vec![],
                condition_text: vec![],
                condition: cond,
                span: Span::default(),
                logsource_span: Span::default(),
                raises: None,
                correlation: None,
            };
            // A query may be refused (Logs Insights caps a query's length), never overflow.
            for target in crate::backend::Target::ALL {
                let _ = crate::backend::render(target.backend(), &rule, &Default::default());
            }
        })
        .expect("thread")
        .join()
        .expect("no overflow");
}
