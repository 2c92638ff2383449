//! Unit tests: Python rule bodies translated, then checked with the evaluator and with jq on
//! events, and refusals checked for their message.

use super::*;
use serde_json::json;

fn tr(src: &str) -> Result<Expr, Diagnostic> {
    translate(Path::new("t.py"), src, Span::default())
        .map(|t| crate::passes::simplify(&t.condition))
}

/// `rule` body lines; each event with the expected verdict, checked with the evaluator and jq.
fn check(body: &str, cases: &[(serde_json::Value, bool)]) {
    let src = format!("import re\nfrom fnmatch import fnmatch\nfrom panther_base_helpers import deep_get, pattern_match, pattern_match_list\nfrom panther_aws_helpers import aws_cloudtrail_success\n\ndef rule(event):\n{}\n", body.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n"));
    let cond = tr(&src).unwrap_or_else(|d| panic!("{d:?}\n{src}"));
    let (jq, program) = jq_program(cond.clone());
    for (e, want) in cases {
        let got = crate::eval::matches(&cond, e).expect("evaluates");
        assert_eq!(got, *want, "evaluator on {e}\n{body}\n{cond:?}");
        let by_jq = !program.run(e).expect("runs").is_empty();
        assert_eq!(by_jq, *want, "jq on {e}\n{body}\n{jq}");
    }
}

fn fails(body: &str, needle: &str) -> Diagnostic {
    let src = format!(
        "import re\n\ndef rule(event):\n{}\n",
        body.lines()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let d = tr(&src).expect_err("refused");
    assert!(d.message.contains(needle), "{}", d.message);
    d
}

/// A whole module; each event with the expected verdict, checked with the evaluator and jq.
fn check_module(src: &str, cases: &[(serde_json::Value, bool)]) {
    let cond = tr(src).unwrap_or_else(|d| panic!("{d:?}\n{src}"));
    let (jq, program) = jq_program(cond.clone());
    for (e, want) in cases {
        let got = crate::eval::matches(&cond, e).expect("evaluates");
        assert_eq!(got, *want, "evaluator on {e}\n{src}\n{cond:?}");
        let by_jq = !program.run(e).expect("runs").is_empty();
        assert_eq!(by_jq, *want, "jq on {e}\n{src}\n{jq}");
    }
}

/// A whole module refused with E310 whose message contains `needle`, at `line`:`col` of the `.py`.
fn fails_module(src: &str, needle: &str, line: usize, col: usize) {
    let d = tr(src).expect_err("refused");
    let at = line_col(&d);
    assert_eq!(d.code, Code::NotTranslatable, "{d:?}\n{src}");
    assert!(d.message.contains(needle), "{}\n{src}", d.message);
    assert_eq!(at, (line, col), "{d:?}\n{src}");
}

/// The line and column of a diagnostic in the `.py`.
fn line_col(d: &Diagnostic) -> (usize, usize) {
    match &d.location {
        Some(crate::diagnostic::Location::LineCol(lc)) => (lc.line, lc.column),
        other => panic!("no line and column: {other:?}"),
    }
}

#[test]
fn equality_and_not_equal_on_missing() {
    check(
        "return event.get('eventName') == 'CreateUser'",
        &[
            (json!({"eventName": "CreateUser"}), true),
            (json!({"eventName": "createuser"}), false),
            (json!({}), false),
        ],
    );
    // `!=` is true on a missing field, as in Python.
    check(
        "return event.get('eventType') != 'AwsServiceEvent'",
        &[
            (json!({}), true),
            (json!({"eventType": null}), true),
            (json!({"eventType": "AwsServiceEvent"}), false),
            (json!({"eventType": "AwsApiCall"}), true),
        ],
    );
    // Typed: "1" is not 1, True == 1.
    check(
        "return event.get('n') == 1",
        &[
            (json!({"n": 1}), true),
            (json!({"n": "1"}), false),
            (json!({"n": true}), true),
            (json!({"n": 1.0}), true),
        ],
    );
}

#[test]
fn truthiness_of_empty_values() {
    let cases = [
        (json!({"x": ""}), false),
        (json!({"x": 0}), false),
        (json!({"x": []}), false),
        (json!({"x": {}}), false),
        (json!({"x": false}), false),
        (json!({"x": null}), false),
        (json!({}), false),
        (json!({"x": "a"}), true),
        (json!({"x": [0]}), true),
        (json!({"x": {"a": 1}}), true),
        (json!({"x": 0.5}), true),
    ];
    check("if event.get('x'):\n    return True\nreturn False", &cases);
    check("return bool(event.get('x'))", &cases);
    let negated: Vec<_> = cases.iter().map(|(e, b)| (e.clone(), !b)).collect();
    check("return not event.get('x')", &negated);
}

#[test]
fn exceptions_mean_no_match() {
    // None.startswith raises: no match, and `not` does not turn it into a match.
    check(
        "return event.get('ua').startswith('aws')",
        &[
            (json!({"ua": "aws-cli"}), true),
            (json!({}), false),
            (json!({"ua": 5}), false),
        ],
    );
    check(
        "return not event.get('ua').startswith('aws')",
        &[
            (json!({"ua": "boto"}), true),
            (json!({}), false),
            (json!({"ua": 5}), false),
        ],
    );
    // `and` short-circuits past the raising operand; `or` does not.
    check(
        "return event.get('a') == 'x' and event.get('ua').startswith('aws')",
        &[
            (json!({"a": "y"}), false),
            (json!({"a": "x", "ua": "aws"}), true),
            (json!({"a": "x"}), false),
        ],
    );
    check(
        "return not (event.get('a') == 'x' and event.get('ua').startswith('aws'))",
        &[
            (json!({"a": "y"}), true),
            (json!({"a": "x"}), false),
            (json!({"a": "x", "ua": "boto"}), true),
        ],
    );
    check(
        "return event.get('a') == 'x' or event.get('ua').endswith('s')",
        &[
            (json!({"a": "x"}), true),
            (json!({"ua": "ss"}), true),
            (json!({}), false),
        ],
    );
    check(
        "return not (event.get('a') == 'x' or event.get('ua').endswith('s'))",
        &[
            (json!({"a": "x"}), false),
            (json!({"ua": "sb"}), true),
            (json!({}), false),
        ],
    );
    // event["k"] raises KeyError when absent.
    check(
        "return event['k'] is None",
        &[
            (json!({"k": null}), true),
            (json!({}), false),
            (json!({"k": 1}), false),
        ],
    );
    // An exception in a helper or an if condition.
    check(
        "if event.get('n') > 5:\n    return True\nreturn False",
        &[
            (json!({"n": 6}), true),
            (json!({"n": 5}), false),
            (json!({"n": "6"}), false),
            (json!({}), false),
            (json!({"n": true}), false),
        ],
    );
    check(
        "if event.get('n') > 5:\n    return False\nreturn True",
        &[
            (json!({"n": 6}), false),
            (json!({"n": 1}), true),
            (json!({"n": "x"}), false),
            (json!({}), false),
        ],
    );
    check("raise ValueError('x')", &[(json!({}), false)]);
}

#[test]
fn get_defaults_and_deep_get() {
    check(
        "return event.get('a', 'd') == 'd'",
        &[
            (json!({}), true),
            (json!({"a": null}), false),
            (json!({"a": "d"}), true),
        ],
    );
    check(
        "return event.get('p', {}).get('u') == 'x'",
        &[
            (json!({"p": {"u": "x"}}), true),
            (json!({}), false),
            (json!({"p": null}), false),
        ],
    );
    check(
        "return not event.get('p', {}).get('u')",
        &[
            (json!({}), true),
            (json!({"p": null}), false),
            (json!({"p": "s"}), false),
            (json!({"p": {"u": ""}}), true),
        ],
    );
    check(
        "return deep_get(event, 'a', 'b', default='z') == 'z'",
        &[
            (json!({}), true),
            (json!({"a": {"b": null}}), true),
            (json!({"a": "s"}), true),
            (json!({"a": {"b": "y"}}), false),
        ],
    );
    check(
        "return event.deep_get('a', 'b') is None",
        &[
            (json!({}), true),
            (json!({"a": {"b": 1}}), false),
            (json!({"a": [{"b": 1}]}), true),
        ],
    );
    // Top-level keys in any case read CloudTrail's spelling.
    check(
        "return event.get('sourceIpAddress') == '1.2.3.4'",
        &[(json!({"sourceIPAddress": "1.2.3.4"}), true)],
    );
    check(
        "p = event.get('requestParameters') or {}\nreturn p.get('userName') == 'root'",
        &[
            (json!({"requestParameters": {"userName": "root"}}), true),
            (json!({"requestParameters": null}), false),
            (json!({}), false),
        ],
    );
}

#[test]
fn membership_and_strings() {
    check(
        "return event.get('e') in ('A', 'B')",
        &[
            (json!({"e": "A"}), true),
            (json!({"e": "C"}), false),
            (json!({}), false),
        ],
    );
    check(
        "return event.get('e') not in ['A', 'B']",
        &[
            (json!({"e": "C"}), true),
            (json!({}), true),
            (json!({"e": "B"}), false),
        ],
    );
    check(
        "return 'admin' in event.get('n', '')",
        &[
            (json!({"n": "xadminx"}), true),
            (json!({"n": ["admin"]}), true),
            (json!({"n": {"admin": 1}}), true),
            (json!({}), false),
            (json!({"n": 5}), false),
        ],
    );
    check(
        "return event.get('n', '').lower() == 'admin'",
        &[
            (json!({"n": "ADMIN"}), true),
            (json!({"n": "Admin2"}), false),
            (json!({}), false),
        ],
    );
    check(
        "return event.get('n', '').lower().startswith('adm')",
        &[(json!({"n": "ADMx"}), true), (json!({"n": "xadm"}), false)],
    );
    check(
        "return event.get('n', '').endswith(('.exe', '.sh'))",
        &[(json!({"n": "a.sh"}), true), (json!({"n": "a.py"}), false)],
    );
    check(
        "return event.get('a') == event.get('b')",
        &[
            (json!({"a": "x", "b": "x"}), true),
            (json!({}), true),
            (json!({"a": "x"}), false),
            (json!({"a": "x", "b": "y"}), false),
        ],
    );
    check(
        "return event.get('arn', '').endswith(event.get('user'))",
        &[
            (json!({"arn": "a/bob", "user": "bob"}), true),
            (json!({"arn": "a/bob", "user": "al"}), false),
            (json!({"arn": "a/bob"}), false),
        ],
    );
}

#[test]
fn constants_aliases_helpers_and_loops() {
    let src = "import re\nNAMES = {'A', 'B'}\nPREFIXES = ('Put', 'Delete')\nTABLE = {'s3.amazonaws.com': ['PutBucketPolicy'], 'iam.amazonaws.com': ['CreateUser']}\n\ndef is_write(name):\n    return any(name.startswith(p) for p in PREFIXES)\n\ndef rule(event):\n    name = event.get('eventName', '')\n    if name in NAMES:\n        return True\n    if name in TABLE.get(event.get('eventSource'), []):\n        return True\n    for p in ['Stop', 'Halt']:\n        if name.startswith(p):\n            return True\n    return is_write(name) and not name.endswith('Tag')\n";
    let cond = tr(src).expect("translates");
    for (e, want) in [
        (json!({"eventName": "A"}), true),
        (json!({"eventName": "PutX"}), true),
        (json!({"eventName": "PutTag"}), false),
        (json!({"eventName": "StopLogging"}), true),
        (
            json!({"eventName": "CreateUser", "eventSource": "iam.amazonaws.com"}),
            true,
        ),
        (
            json!({"eventName": "CreateUser", "eventSource": "s3.amazonaws.com"}),
            false,
        ),
        (json!({}), false),
    ] {
        assert_eq!(crate::eval::matches(&cond, &e).expect("ok"), want, "{e}");
    }
}

#[test]
fn globs_regexes_and_success() {
    check(
        "return fnmatch(event.get('n', ''), 'arn:*:role/Admin?')",
        &[
            (json!({"n": "arn:x:role/Admin1"}), true),
            (json!({"n": "arn:x:role/Admin"}), false),
        ],
    );
    check(
        "return pattern_match_list(event.get('n', ''), ['a*', '*[0-9]'])",
        &[
            (json!({"n": "abc"}), true),
            (json!({"n": "x9"}), true),
            (json!({"n": "x"}), false),
        ],
    );
    check(
        "return bool(re.match(r'^Create(User|Role)$', event.get('n', '')))",
        &[
            (json!({"n": "CreateUser"}), true),
            (json!({"n": "CreateUser\n"}), true),
            (json!({"n": "xCreateUser"}), false),
        ],
    );
    check(
        "return re.search('admin', event.get('n', ''), re.I) is not None",
        &[
            (json!({"n": "is-ADMIN"}), true),
            (json!({"n": "user"}), false),
        ],
    );
    check(
        "return aws_cloudtrail_success(event)",
        &[
            (json!({}), true),
            (json!({"errorCode": ""}), true),
            (json!({"errorCode": "AccessDenied"}), false),
            (json!({"errorMessage": "x"}), false),
        ],
    );
}

#[test]
fn generators_over_event_arrays() {
    let items = "deep_get(event, 'rp', 'items', default=[])";
    check(
        &format!("return any(i.get('userId') == 'all' for i in {items})"),
        &[
            (
                json!({"rp": {"items": [{"userId": "1"}, {"userId": "all"}]}}),
                true,
            ),
            (json!({"rp": {"items": [{"userId": "1"}]}}), false),
            (json!({}), false),
        ],
    );
    check(
        &format!("return all(i.get('userId', '').startswith('1') for i in {items})"),
        &[
            (
                json!({"rp": {"items": [{"userId": "1"}, {"userId": "12"}]}}),
                true,
            ),
            (json!({"rp": {"items": [{"userId": "2"}]}}), false),
            (json!({}), true),
        ],
    );
    check(
        &format!(
            "for i in {items}:\n    if i.get('group') == 'all':\n        return True\nreturn False"
        ),
        &[
            (json!({"rp": {"items": [{"group": "all"}]}}), true),
            (json!({"rp": {"items": []}}), false),
        ],
    );
    // A dict's keys cannot be searched by prefix: checked not to be a dict first, it translates
    // (a string's characters are never that long a prefix).
    check(
        "arns = event.get('arns', [])\nif isinstance(arns, Mapping):\n    return False\nreturn any(r.startswith('arn:aws:s3') for r in arns)",
        &[
            (json!({"arns": ["arn:aws:s3:::b"]}), true),
            (json!({"arns": ["x"]}), false),
            (json!({"arns": {"arn:aws:s3:::b": 1}}), false),
            (json!({"arns": "arn:aws:s3:::b"}), false),
        ],
    );
}

#[test]
fn refusals_point_at_the_construct() {
    let d = fails("return len(event.get('x', [])) > 1", "len()");
    assert_eq!(
        d.location,
        Some(crate::diagnostic::Location::LineCol(
            crate::source::LineCol {
                line: 4,
                column: 12
            }
        ))
    );
    assert_eq!(d.file.as_deref(), Some(Path::new("t.py")));
    fails(
        "from panther_detection_helpers.caching import get_string_set\nreturn get_string_set('k')",
        "cache",
    );
    fails(
        "return event.get('p_enrichment') is not None",
        "Panther adds",
    );
    fails(
        "try:\n    return True\nexcept Exception:\n    return False",
        "try/except",
    );
    fails("return re.match(r'(?=a)b', event.get('x', ''))", "");
    fails("return event.get('x')[0] == 1", "indexing");
    fails("while True:\n    return True", "while");
    let d = translate(
        Path::new("t.py"),
        "def rule(event)\n    return True\n",
        Span::default(),
    )
    .expect_err("syntax");
    assert_eq!(d.code, Code::PythonSyntax);
}

/// Module-level code that changes a constant after it is defined (CPython: `S.append('b')` makes
/// `event.get('x') in S` true for "b") is refused at the statement, never ignored.
#[test]
fn module_level_mutation_is_refused() {
    let rule = "def rule(event):\n    return event.get('x') in S\n";
    for (setup, what) in [
        ("S = ['a']\nS.append('b')", "side effects"),
        ("S = {'a'}\nS.add('b')", "side effects"),
        ("S = {'a': 1}\nS.update({'b': 2})", "side effects"),
        ("S = ['a']\nS.extend(['b'])", "side effects"),
        ("S = ['a', 'b']\nS.remove('a')", "side effects"),
        ("S = ['a']\nS += ['b']", "augmented assignment"),
        ("S = ['a', 'b']\ndel S[0]", "'del'"),
        (
            "S = {'a': 1}\nS['b'] = 2",
            "assignment to something other than a name",
        ),
        ("S = ['a']\nif True:\n    S = ['b']", "module-level 'if'"),
        ("S = ['a']\nfor x in ['b']:\n    S.append(x)", "loop"),
        (
            "S = ['a']\ntry:\n    S = ['b']\nexcept ImportError:\n    pass",
            "try/except",
        ),
        (
            "S = ['a']\nS, T = ['b'], ['c']",
            "assignment to something other than a name",
        ),
        ("S = ['a']\nfrom helpers import *", "import *"),
        // A value rulecast cannot compute, from a call that may change S.
        ("S = ['a', 'b']\nX = S.pop()", ".pop()"),
    ] {
        let src = format!("{setup}\n{rule}");
        let d = tr(&src).expect_err("refused");
        assert_eq!(d.code, Code::NotTranslatable, "{src}");
        assert!(d.message.contains(what), "{}\n{src}", d.message);
        assert_eq!(line_col(&d).0, 2, "{d:?}\n{src}");
    }
    fails_module(
        &format!("S = ['a']\nS.append('b')\n{rule}"),
        "not translatable: a module-level statement with side effects",
        2,
        1,
    );
    // What only binds names, or does nothing, still translates.
    check_module(
        &format!("\"\"\"Docstring.\"\"\"\nS: list = ['a']\nT: int\npass\nU = S\n{rule}"),
        &[(json!({"x": "a"}), true), (json!({"x": "b"}), false)],
    );
}

/// A decorator can change what a function does (CPython: `@invert` makes `rule` return the
/// opposite), so a decorated `rule()` or helper is refused at the decorator.
#[test]
fn decorators_are_refused() {
    let invert = "def invert(f):\n    return lambda e: not f(e)\n";
    fails_module(
        &format!("{invert}@invert\ndef rule(event):\n    return event.get('x') == 'a'\n"),
        "a decorator on rule()",
        3,
        2,
    );
    fails_module(
        &format!("{invert}@invert\ndef helper(event):\n    return event.get('x') == 'a'\ndef rule(event):\n    return helper(event)\n"),
        "a decorator on helper()",
        3,
        2,
    );
    // A decorated function rule() never calls does not matter.
    check_module(
        &format!("{invert}@invert\ndef title(event):\n    return 'x'\ndef rule(event):\n    return event.get('x') == 'a'\n"),
        &[(json!({"x": "a"}), true), (json!({"x": "b"}), false)],
    );
}

/// Names bound after their use is read: `rule` rebound after its `def` (CPython calls the
/// lambda), a function that rebinds a global, a default computed when the function is defined
/// (CPython: `want` stays 'a'), keywords the function cannot take (CPython: TypeError).
#[test]
fn late_bindings_follow_python() {
    fails_module(
        "def rule(event):\n    return True\nrule = lambda event: False\n",
        "'rule' bound to something other than a function",
        3,
        1,
    );
    fails_module(
        "X = ['a']\ndef setup():\n    global X\n    X = ['b']\n    return True\ndef rule(event):\n    return setup() and event.get('x') in X\n",
        "a global or nonlocal statement",
        3,
        5,
    );
    check_module(
        "X = 'a'\ndef check(e, want=X):\n    return e.get('x') == want\nX = 'b'\ndef rule(event):\n    return check(event)\n",
        &[(json!({"x": "a"}), true), (json!({"x": "b"}), false)],
    );
    fails_module(
        "def h(e, a='x'):\n    return e.get('k') == a\ndef rule(event):\n    return h(event, b='y')\n",
        "keyword argument 'b='",
        4,
        12,
    );
    fails_module(
        "def h(e, a='x'):\n    return e.get('k') == a\ndef rule(event):\n    return h(event, 'x', a='y')\n",
        "keyword argument 'a='",
        4,
        12,
    );
    fails_module(
        "def rule(event, *, strict):\n    return True\n",
        "exactly one parameter",
        1,
        1,
    );
}

/// Python iterates a string's characters and a dict's keys: `any()`, `all()` and `for` over a
/// value that is not a list agree with CPython (expectations from CPython 3.11) instead of
/// reading as an error.
#[test]
fn iteration_over_strings_and_dicts() {
    let values = || {
        vec![
            json!({"a": "abc"}),
            json!({"a": "xyz"}),
            json!({"a": {"b": 1}}),
            json!({"a": {"c": 1}}),
            json!({"a": ["b"]}),
            json!({"a": []}),
            json!({"a": ""}),
            json!({"a": {}}),
            json!({"a": 5}),
            json!({"a": null}),
            json!({}),
        ]
    };
    let with = |verdicts: [bool; 11]| -> Vec<(serde_json::Value, bool)> {
        values().into_iter().zip(verdicts).collect()
    };
    check(
        "return any(x == 'b' for x in event.get('a', []))",
        &with([
            true, false, true, false, true, false, false, false, false, false, false,
        ]),
    );
    check(
        "return all(x != 'b' for x in event.get('a', []))",
        &with([
            false, true, false, true, false, true, true, true, false, false, true,
        ]),
    );
    check(
        "for x in event.get('a', []):\n    if x == 'b':\n        return True\nreturn False",
        &with([
            true, false, true, false, true, false, false, false, false, false, false,
        ]),
    );
    // Items of a string or dict have no .get(): any() over a non-empty one raises, over an empty
    // one is False.
    check(
        "return not any(i.get('k') == 'v' for i in event.get('a', []))",
        &[
            (json!({"a": ""}), true),
            (json!({"a": "x"}), false),
            (json!({"a": {}}), true),
            (json!({"a": {"k": "v"}}), false),
            (json!({"a": [{"k": "v"}]}), false),
            (json!({"a": [{"k": "w"}]}), true),
            (json!({}), true),
        ],
    );
    // A character other than those the condition names.
    check(
        "a = event.get('a')\nif isinstance(a, Mapping):\n    return False\nreturn any(not c.startswith('!') for c in a)",
        &[
            (json!({"a": "!!"}), false),
            (json!({"a": "!x"}), true),
            (json!({"a": "-]\\^!"}), true),
            (json!({"a": ""}), false),
            (json!({"a": ["!a", "b"]}), true),
            (json!({"a": ["!a"]}), false),
        ],
    );
    // Characters a regex class must escape.
    check(
        "a = event.get('a')\nif not isinstance(a, str):\n    return False\nreturn any(c not in ('-', ']', '\\\\', '^', '[') for c in a)",
        &[
            (json!({"a": "-]\\^["}), false),
            (json!({"a": "-]x"}), true),
            (json!({"a": "\n"}), true),
            (json!({"a": ""}), false),
        ],
    );
    // A dict's keys cannot be searched by prefix: refused where the value can be a dict.
    fails(
        "return any(not c.startswith('!') for c in event.get('a'))",
        "iterating over a dict's keys",
    );
}

/// Python compares integers exactly (CPython: `9007199254740992 == 9007199254740993` is False):
/// the IR keeps the literal as an integer and the evaluator compares exactly; every target reads
/// numbers as doubles, so a `==` with a number of 2^53 or more is refused by each, with its
/// unsupported error (E401). Literals beyond what JSON integers hold exactly are refused.
#[test]
fn integers_compare_exactly() {
    let src = "def rule(event):\n    return event.get('n') == 9007199254740993\n";
    let cond = tr(src).expect("translates");
    let n = |t: &str| serde_json::from_str::<serde_json::Value>(&format!("{{\"n\": {t}}}"));
    for (event, want) in [
        ("9007199254740992", false),
        ("9007199254740993", true),
        ("9007199254740994", false),
        ("9007199254740992.0", false),
        ("\"9007199254740993\"", false),
    ] {
        let e = n(event).expect("json");
        assert_eq!(crate::eval::matches(&cond, &e), Ok(want), "{event}");
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
    for target in crate::backend::Target::ALL {
        let d = crate::backend::render(target.backend(), &rule, &Default::default())
            .expect_err("refused");
        assert_eq!(d.code, Code::Unsupported, "{target}: {d:?}");
        assert!(d.message.contains("2^53"), "{target}: {}", d.message);
    }
    // Below 2^53 every target is exact.
    check(
        "return event.get('n') == 9007199254740991",
        &[
            (json!({"n": 9007199254740991_u64}), true),
            (json!({"n": 9007199254740990_u64}), false),
        ],
    );
    check(
        "return event.get('n') in (-9007199254740991, 5)",
        &[
            (json!({"n": -9007199254740991_i64}), true),
            (json!({"n": 5.0}), true),
            (json!({"n": 6}), false),
        ],
    );
    // Orderings read as doubles too.
    fails(
        "return event.get('n') > 9007199254740993",
        "ordering a field against a number of 2^53 or more",
    );
    fails(
        "return event.get('n') == 9223372036854775808",
        "an integer of 2^63 or more",
    );
    // 1e400 is infinite: it once became `== None`, matching a null field.
    fails("return event.get('n') == 1e400", "infinite");
    // Constants compare exactly among themselves.
    check(
        "return 9007199254740993 > 9007199254740992.0 and 9007199254740993 != 9007199254740992",
        &[(json!({}), true)],
    );
}

/// The jq filter for a translated condition, and the filter compiled by jaq.
pub(super) fn jq_program(
    condition: crate::ir::Expr,
) -> (String, crate::backend::jq::exec::JqProgram) {
    let rule = crate::rule::Rule {
        format: crate::rule::Format::Panther,
        meta: Default::default(),
        detections: vec![],
        condition_text: vec![],
        condition,
        span: Span::default(),
        logsource_span: Span::default(),
        raises: None,
        correlation: None,
    };
    let jq = crate::backend::render(
        crate::backend::Target::Jq.backend(),
        &rule,
        &Default::default(),
    )
    .expect("renders");
    let program = crate::backend::jq::exec::JqProgram::compile(&jq).expect("compiles");
    (jq, program)
}

/// An f-string over a top-level key the CloudTrail shape table types as a string has no branches
/// for the Booleans a record never holds there; an undocumented key keeps Python's `True`.
#[test]
fn fstrings_of_documented_top_level_strings_have_no_boolean_branches() {
    let documented = "return f\"a:{event.get('recipientAccountId')}\" == event.get('x')";
    let cond = tr(&format!("def rule(event):\n    {documented}\n")).expect("translates");
    let text = format!("{cond:?}");
    assert!(
        !text.contains("a:True") && !text.contains("Boolean"),
        "{text}"
    );
    check(
        documented,
        &[
            (json!({"recipientAccountId": "1", "x": "a:1"}), true),
            (json!({"recipientAccountId": "1", "x": "a:2"}), false),
            (json!({"x": "a:None"}), true),
        ],
    );
    let undocumented = "return f\"a:{event.get('custom')}\" == event.get('x')";
    let cond = tr(&format!("def rule(event):\n    {undocumented}\n")).expect("translates");
    assert!(format!("{cond:?}").contains("a:True"), "{cond:?}");
    check(
        undocumented,
        &[
            (json!({"custom": true, "x": "a:True"}), true),
            (json!({"custom": "1", "x": "a:1"}), true),
        ],
    );
}
