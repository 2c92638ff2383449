//! The CloudWatch Logs Insights target against its offline referee
//! (`rulecast::backend::cloudwatch::referee`): every emitted query parses, selects exactly the
//! events the reference evaluator selects, and the referee keeps rejecting what Logs Insights
//! rejects.

mod common;

use common::*;
use proptest::prelude::*;
use rulecast::backend::cloudwatch::referee;
use rulecast::backend::{self, RenderOptions, Target};
use rulecast::eval::{wildcard_match, Evaluator};
use rulecast::ir::{
    Anchor, Expr, FieldPath, Part, Pattern, Predicate, Quantifier, RegexFlags, Subject, Test,
};
use rulecast::rule::{Format, Meta, Rule};
use rulecast::source::Span;
use serde_json::{json, Value};

fn cloudwatch() -> &'static dyn backend::Backend {
    Target::Cloudwatch.backend()
}

/// The rule files of the SigmaHQ corpus beside the repository, if it is there.
fn corpus_files() -> Option<Vec<std::path::PathBuf>> {
    let dir = shared_corpus("sigmahq-cloudtrail")?;
    let (files, errors) = rulecast::discover::rule_files(&[dir]);
    assert!(errors.is_empty(), "{errors:?}");
    Some(files)
}

/// A list inside a list can be over the size limit at the default --array-max (5): left at its
/// default, --array-max is lowered until the query fits, and the query says how many elements it
/// checks; set by the user, it is kept and the size is an error. The shipped rule fits at 5; a
/// copy that tests three fields of each inner element does not, and comes down to 4.
#[test]
fn the_nested_list_rule_fits_with_a_smaller_array_max() {
    let shipped = root().join("rules/panther/aws_ec2_security_group_open_ingress.yml");
    let o = rulecast_cli(&[
        "convert",
        "-t",
        "cloudwatch",
        shipped.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout)
        .contains("only its elements 0 to 4 are checked (--array-max 5)"));
    let dir = std::env::temp_dir().join(format!("rulecast-cw-shrink-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let yml = std::fs::read_to_string(&shipped).expect("reads");
    let py = std::fs::read_to_string(shipped.with_extension("py")).expect("reads");
    let wide = py.replace(
        "r.get(\"cidrIp\") in OPEN",
        "(r.get(\"cidrIp\") in OPEN or r.get(\"cidrIpv6\") in OPEN or r.get(\"description\") == \"open\" \
         or r.get(\"prefixListId\") == \"open\" or r.get(\"userId\") == \"open\")",
    );
    assert_ne!(wide, py, "the rule's OPEN tuple changed: update this test");
    std::fs::write(dir.join("aws_ec2_security_group_open_ingress.py"), wide).expect("writes");
    let path = dir.join("aws_ec2_security_group_open_ingress.yml");
    std::fs::write(&path, yml).expect("writes");
    let path_s = path.to_str().expect("utf-8 path");
    let o = rulecast_cli(&["convert", "-t", "cloudwatch", "--array-max", "5", path_s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("over the 10000-character limit"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = rulecast_cli(&["convert", "-t", "cloudwatch", path_s]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let q = String::from_utf8_lossy(&o.stdout);
    assert!(
        q.contains("# note: requestParameters.ipPermissions.items is a list: only its elements 0 to 3 are checked (--array-max 4)"),
        "{q}"
    );
    assert!(q.chars().count() <= 10_000);
    let query = referee::parse(&q).expect("parses");
    let open = json!({
        "eventName": "AuthorizeSecurityGroupIngress",
        "requestParameters": {"groupId": "sg-1", "ipPermissions": {"items": [
            {"ipProtocol": "tcp", "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}, {"cidrIp": "0.0.0.0/0"}]}}
        ]}}
    });
    let closed = json!({
        "eventName": "AuthorizeSecurityGroupIngress",
        "requestParameters": {"groupId": "sg-1", "ipPermissions": {"items": [
            {"ipProtocol": "tcp", "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}}
        ]}}
    });
    let lf = load(&path);
    let rule = lf.rules[0].as_ref().expect("rule");
    let eval = Evaluator::new(&rule.condition).expect("compiles");
    for e in [&open, &closed] {
        assert_eq!(query.matches(e), eval.matches(e), "{e}");
    }
    assert!(query.matches(&open) && !query.matches(&closed));
}

#[test]
fn every_shipped_rule_renders_a_query_the_referee_parses() {
    let mut failures = Vec::new();
    let mut queries = 0;
    for path in rule_files() {
        let lf = load(&path);
        for q in render_file(&lf, Target::Cloudwatch) {
            match q {
                Ok(q) => {
                    queries += 1;
                    if let Err(e) = referee::parse(&q) {
                        failures.push(format!("{}: {e}\n{q}", rel(&path)));
                    }
                }
                Err(e) if known_unsupported(&path, &e) => {}
                Err(e) => failures.push(e),
            }
        }
    }
    assert!(queries > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn all_sigmahq_corpus_rules_convert_and_parse() {
    let Some(files) = corpus_files() else { return };
    assert_eq!(files.len(), 57);
    let mut failures = Vec::new();
    for f in &files {
        let lf = rulecast::load_path(f, &Default::default()).expect("reads");
        for q in render_file(&lf, Target::Cloudwatch) {
            match q {
                Ok(q) => {
                    if let Err(e) = referee::parse(&q) {
                        failures.push(format!("{}: {e}\n{q}", f.display()));
                    }
                }
                Err(e) => failures.push(e),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// The referee says no to what Logs Insights does not accept.

/// Queries real Logs Insights rejects (research notes, part A) and forms outside the strict subset
/// the referee reads. Each must stay rejected, so the referee cannot drift into accepting anything.
#[test]
fn referee_rejects_what_logs_insights_rejects() {
    let long = format!(
        "filter eventName = \"{}\"",
        "x".repeat(referee::MAX_QUERY_CHARS)
    );
    let bad: &[(&str, &str)] = &[
        (
            "unbalanced double quote",
            r#"filter eventName = "CreateUser"#,
        ),
        ("unbalanced single quote", "filter eventName = 'CreateUser"),
        ("mismatched quotes", r#"filter eventName = "CreateUser'"#),
        ("quote escaped by backslash", r#"filter eventName = "a\"b""#),
        ("newline inside a string", "filter eventName = \"a\nb\""),
        (
            "regex with a trailing flag",
            "filter eventName =~ /createuser/i",
        ),
        (
            "like regex with a trailing flag",
            "filter eventName like /createuser/i",
        ),
        ("unterminated regex", "filter eventName =~ /abc"),
        ("unescaped slash ends the regex early", "filter f =~ /a/b/"),
        (
            "unbackticked hyphenated name",
            r#"filter requestParameters.x-amz-acl like "public""#,
        ),
        (
            "unbackticked hyphenated name (2)",
            r#"filter event-name = "x""#,
        ),
        ("unbackticked underscore", r#"filter error_code = "x""#),
        ("unclosed backtick", r#"filter `a-b = "x""#),
        ("if function", r#"filter if(eventName = "x", 1, 0) = 1"#),
        ("if/then/else", r#"filter if eventName = "x" then 1 else 0"#),
        (
            "case/when",
            r#"filter case when eventName = "x" then 1 else 0 end = 1"#,
        ),
        (
            "and/or without parentheses",
            r#"filter a = "1" and b = "2" or c = "3""#,
        ),
        ("not without parentheses", r#"filter not a = "1""#),
        (
            "1/0 function used as a Boolean",
            r#"filter strcontains(eventName, "x")"#,
        ),
        (
            "startsWith used as a Boolean",
            r#"filter startsWith(eventName, "x")"#,
        ),
        ("look-ahead", "filter f =~ /a(?=b)/"),
        ("look-behind", "filter f =~ /(?<=a)b/"),
        ("back-reference", r"filter f =~ /(a)\1/"),
        ("word boundary", r"filter f =~ /\bx\b/"),
        ("Unicode class", r"filter f =~ /\pL/"),
        ("named group", "filter f =~ /(?P<n>a)/"),
        ("verbose flag", "filter f =~ /(?x)a b/"),
        (
            "host bits in a network",
            r#"filter isIpInSubnet(ip, "10.0.0.1/8")"#,
        ),
        ("not a network", r#"filter isIpInSubnet(ip, "example.com")"#),
        ("unknown function", r#"filter isblank(f) = 1"#),
        ("where instead of filter", r#"where eventName = "x""#),
        ("empty filter", "filter"),
        ("dangling pipe", r#"filter a = "b" |"#),
        ("limit 0", "limit 0"),
        ("limit above 10000", "limit 10001"),
        ("arithmetic", "filter a + 1 = 2"),
        (
            "function name apart from its parenthesis",
            "filter ispresent (a)",
        ),
        ("over 10,000 characters", &long),
    ];
    let accepted: Vec<String> = bad
        .iter()
        .filter(|(_, q)| referee::parse(q).is_ok())
        .map(|(what, q)| format!("{what}: {q}"))
        .collect();
    assert!(
        accepted.is_empty(),
        "the referee accepted:\n{}",
        accepted.join("\n")
    );
}

/// Documented forms the referee reads, with their meaning.
#[test]
fn referee_reads_the_subset_as_documented() {
    let event = json!({
        "eventName": "CreateUser",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/a"},
        "requestParameters": {"x-amz-acl": ["public-read"], "port": 22, "on": true, "n": null,
                              "obj": {}},
        "resources": [{"ARN": "arn:1"}, {"ARN": "arn:2"}],
        "sourceIPAddress": "10.1.2.3"
    });
    let cases: &[(&str, bool)] = &[
        ("fields @timestamp, eventName\n| filter eventName = \"CreateUser\"\n| sort @timestamp desc\n| limit 20", true),
        ("FILTER eventName = 'CreateUser' AND userIdentity.type = \"IAMUser\"", true),
        ("filter eventName = \"createuser\"", false),
        ("filter eventName =~ /^(?i)createuser$/", true),
        ("filter eventName like \"eateUs\"", true),
        ("filter eventName like /^Create/", true),
        ("filter eventName not like /^Delete/", true),
        ("filter missing not like /x/", false),
        ("filter not (missing = \"x\")", true),
        ("filter missing != \"x\"", false),
        ("filter eventName in [\"A\", \"CreateUser\"]", true),
        ("filter eventName not in [\"A\"]", true),
        ("filter `requestParameters.x-amz-acl.0` = \"public-read\"", true),
        ("filter ispresent(`requestParameters.x-amz-acl`)", false),
        ("filter ispresent(requestParameters.obj) or ispresent(requestParameters.n)", false),
        ("filter requestParameters.port = 22 and requestParameters.port = \"22\"", true),
        ("filter requestParameters.port >= 22 and requestParameters.port < 23", true),
        ("filter requestParameters.on = 1", true),
        ("filter requestParameters.on = \"true\"", false),
        ("filter resources.1.ARN = \"arn:2\"", true),
        ("filter isIpInSubnet(sourceIPAddress, \"10.0.0.0/8\")", true),
        ("filter not isIpInSubnet(sourceIPAddress, \"10.0.0.0/16\")", true),
        ("filter tolower(eventName) = \"createuser\"", true),
        ("filter strcontains(userIdentity.arn, \"user/\") = 1", true),
        ("filter startsWith(userIdentity.arn, \"arn:\") = 1 and endsWith(eventName, \"User\") = 1", true),
        ("filter @message like '\"port\":22'", true),
        ("filter (1 = 1) # a comment\n| limit 1", true),
        ("filter (eventName = \"x\" or (eventName = \"CreateUser\" and not ispresent(errorCode)))", true),
        ("filter eventName =~ /a\\/b|User/", true),
    ];
    let mut wrong = Vec::new();
    for (q, want) in cases {
        match referee::parse(q) {
            Ok(query) => {
                if query.matches(&event) != *want {
                    wrong.push(format!("{q}: expected {want}"));
                }
            }
            Err(e) => wrong.push(format!("{q}: rejected: {e}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Logs Insights extracts at most 200 fields per event; the rest exist only in `@message`.
#[test]
fn referee_sees_only_the_first_200_fields() {
    let mut m = serde_json::Map::new();
    for i in 0..199 {
        m.insert(format!("f{i}"), json!("x"));
    }
    m.insert("requestParameters".into(), json!({"a": "1", "b": "2"}));
    let event = Value::Object(m);
    let q = |s: &str| referee::parse(s).expect("parses").matches(&event);
    assert!(q("filter requestParameters.a = \"1\""));
    assert!(!q("filter ispresent(requestParameters.b)"));
    assert!(q("filter @message like '\"b\":\"2\"'"));
}

// ---------------------------------------------------------------------------------------------
// Rendering details.

fn rule_with(subject: Subject, test: Test, title: &str) -> Rule {
    Rule {
        format: Format::Sigma,
        meta: Meta {
            title: title.to_owned(),
            ..Default::default()
        },
        detections: vec![],
        condition_text: vec![],
        condition: Expr::Pred(Predicate {
            subject,
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

fn field(path: &str) -> Subject {
    Subject::Field(FieldPath::parse(path))
}

fn query_for(rule: &Rule) -> String {
    let q = backend::render(cloudwatch(), rule, &RenderOptions::default())
        .unwrap_or_else(|d| panic!("{}", d.message));
    assert_eq!(raw_hidden(&q), None, "a hidden character in\n{q}");
    q
}

/// A control, bidirectional or other invisible character written raw in a query (its own line
/// breaks aside).
fn raw_hidden(q: &str) -> Option<char> {
    q.chars()
        .find(|&c| c != '\n' && rulecast::escape::is_hidden(c))
}

fn filter_of(q: &str) -> String {
    q.lines()
        .skip_while(|l| !l.starts_with("| filter"))
        .skip(1)
        .take_while(|l| !l.starts_with('|'))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn renders_the_forms_the_issue_asks_for() {
    let text = |p: &str, cased| Test::Text {
        pattern: Pattern::parse_sigma(p),
        cased,
    };
    let cases: Vec<(Subject, Test, &str)> = vec![
        (field("eventName"), text("CreateUser", false), "(eventName =~ /^(?i)CreateUser$/)"),
        (field("eventName"), text("CreateUser", true), "(eventName = \"CreateUser\")"),
        (field("recipientAccountId"), text("012345678901", false), "(recipientAccountId = \"012345678901\")"),
        (field("requestParameters.fromPort"), text("22", false), "(requestParameters.fromPort in [\"22\", 22])"),
        (field("userAgent"), text("*kali*", false), "(userAgent =~ /(?i)kali/)"),
        (field("userAgent"), text("*kali*", true), "(userAgent like \"kali\")"),
        (field("userAgent"), text("aws-cli/*", false), "(userAgent =~ /^(?i)aws-cli\\//)"),
        (field("a"), text("x*y?z", false), "(a =~ /^(?is)x.*y.z$/)"),
        (field("a"), text("say \"hi\"", true), "(a = 'say \"hi\"')"),
        (field("a"), text("it's \"x\"", true), "(a =~ /^it\\x27s \\x22x\\x22$/)"),
        (field("a"), text("C:\\temp", true), "(a =~ /^C:\\\\temp$/)"),
        (field("a"), text("café", false), "(a =~ /^[cC][aA][fF]é$/)"),
        (field("requestParameters.x-amz-acl"), text("*public-read*", false), "(`requestParameters.x-amz-acl.0` =~ /(?i)public-read/ or `requestParameters.x-amz-acl.1` =~ /(?i)public-read/ or `requestParameters.x-amz-acl.2` =~ /(?i)public-read/ or `requestParameters.x-amz-acl.3` =~ /(?i)public-read/ or `requestParameters.x-amz-acl.4` =~ /(?i)public-read/)"),
        (field("errorCode"), Test::Exists, "(ispresent(errorCode))"),
        (field("errorCode"), Test::Null, "(not ispresent(errorCode))"),
        (field("sourceIPAddress"), Test::Cidr(rulecast::ir::Cidr::parse("10.0.0.0/8").expect("cidr")), "(isIpInSubnet(sourceIPAddress, \"10.0.0.0/8\"))"),
        (field("a"), Test::FieldRef(rulecast::ir::FieldRef { other: FieldPath::parse("b"), anchor: Anchor::Substring, cased: false, before: String::new(), after: String::new() }), "(strcontains(tolower(a), tolower(b)) = 1)"),
        (field("a"), Test::FieldRef(rulecast::ir::FieldRef { other: FieldPath::parse("b"), anchor: Anchor::Suffix, cased: true, before: "user/".into(), after: String::new() }), "((ispresent(b) and endsWith(a, concat(\"user/\", b)) = 1))"),
        (field("a"), Test::FieldRef(rulecast::ir::FieldRef { other: FieldPath::parse("b"), anchor: Anchor::Whole, cased: false, before: "x\"".into(), after: "'y".into() }), "((ispresent(b) and tolower(a) = tolower(concat('x\"', b, \"'y\"))))"),
        (field("a"), Test::Regex { regex: "x/\"y\"".into(), flags: RegexFlags { ignore_case: true, ..Default::default() } }, "(a =~ /[Xx]\\/\\x22[Yy]\\x22/)"),
    ];
    let mut wrong = Vec::new();
    for (subject, test, want) in cases {
        let q = query_for(&rule_with(subject, test, "t"));
        referee::parse(&q).unwrap_or_else(|e| panic!("{e}\n{q}"));
        let got = filter_of(&q);
        if got != want {
            wrong.push(format!("want {want}\n got {got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Literal text around a field reference that no Logs Insights string can hold (both quotes, a
/// backslash, a control character) is refused, never spliced into the query.
#[test]
fn field_reference_affixes_without_a_string_literal_are_refused() {
    for before in ["it's \"x\"", "a\\b", "line\nbreak"] {
        let r = rule_with(
            field("a"),
            Test::FieldRef(rulecast::ir::FieldRef {
                other: FieldPath::parse("b"),
                anchor: Anchor::Suffix,
                cased: true,
                before: before.into(),
                after: String::new(),
            }),
            "t",
        );
        let e = backend::render(cloudwatch(), &r, &RenderOptions::default())
            .expect_err("no literal for it");
        assert!(
            e.message.contains("unsupported by cloudwatch"),
            "{}",
            e.message
        );
    }
}

#[test]
fn text_anchors_become_line_anchors_when_not_multi_line() {
    let r = rule_with(
        field("a"),
        Test::Regex {
            regex: r"\A(?:Create(?:User|Role)\n?\z)".into(),
            flags: RegexFlags::default(),
        },
        "t",
    );
    let q = query_for(&r);
    assert!(
        filter_of(&q).contains(r"a =~ /^Create(?:User|Role)\x0A?$/"),
        "{q}"
    );
    let parsed = referee::parse(&q).expect("parses");
    for (a, want) in [
        ("CreateUser", true),
        ("CreateUser\n", true),
        ("xCreateRole", false),
        ("CreateRole\nx", false),
    ] {
        assert_eq!(parsed.matches(&json!({ "a": a })), want, "{a:?}");
    }
    // A non-capturing group is no flag group, whatever letters the pattern holds.
    let r = rule_with(
        field("arn"),
        Test::Regex {
            regex: r":assumed-role/.+/i-[0-9a-f]+(?:\n?\z)".into(),
            flags: RegexFlags::default(),
        },
        "t",
    );
    let q = query_for(&r);
    let parsed = referee::parse(&q).expect("parses");
    assert!(
        parsed.matches(&json!({"arn": "arn:aws:sts::1:assumed-role/r/i-0abc"})),
        "{q}"
    );
    assert!(
        !parsed.matches(&json!({"arn": "arn:aws:sts::1:assumed-role/r/i-0abc/x"})),
        "{q}"
    );
}

#[test]
fn word_boundaries_are_errors() {
    for re in [r"\bx\b", r"x\B"] {
        let r = rule_with(
            field("a"),
            Test::Regex {
                regex: re.into(),
                flags: RegexFlags::default(),
            },
            "t",
        );
        let err = backend::render(cloudwatch(), &r, &RenderOptions::default())
            .expect_err("no portable word boundary in Logs Insights");
        assert!(
            err.message.contains("unsupported by cloudwatch"),
            "{}",
            err.message
        );
    }
}

/// What the rule text spells in engine-specific ways is rendered in the subset every engine
/// reads alike, so the referee (RE2-like) and the evaluator agree on it.
#[test]
fn rule_regexes_are_rendered_into_the_portable_subset() {
    let multi_line = RegexFlags {
        multi_line: true,
        ..RegexFlags::default()
    };
    let plain = RegexFlags::default();
    for (re, flags, want, subjects) in [
        (r"^\pL+$", plain, None, &["é", "a1", "ab", ""][..]),
        (r"(?P<n>a)b", plain, Some(r"ab"), &["ab", "a", "xab"][..]),
        (
            r"^[[:alpha:]]$",
            plain,
            Some(r"^[A-Za-z]$"),
            &["a", "é", "1"][..],
        ),
        (r"a\z", multi_line, Some(r"a$"), &["a", "a\n", "a\nb"][..]),
        (r"(?m)a\z", plain, Some(r"a$"), &["a", "a\n"][..]),
        (r"(?im:a)\z", plain, Some(r"[Aa]$"), &["A", "a\n"][..]),
        (
            r"^a$",
            multi_line,
            Some(r"(?m:^)a(?m:$)"),
            &["b\na\nc", "ba", "a\n"][..],
        ),
        (r"(?U)a+", plain, Some("a+"), &["aa", "b"][..]),
        (r"(?x)^[a b]$", plain, Some("^[ab]$"), &[" ", "a"][..]),
        (
            r"^\d\w\s$",
            plain,
            Some(r"^[0-9][0-9A-Z_a-z][\x09-\x0D ]$"),
            &["1a ", "١é\u{a0}", "1a\u{b}"][..],
        ),
        (
            r"(?i)k",
            plain,
            Some("[Kk\u{212a}]"),
            &["K", "\u{212a}", "x"][..],
        ),
        (r"a.b", plain, Some(r"a[^\x0A]b"), &["a\nb", "a\rb"][..]),
        (r"a$", plain, Some(r"a$"), &["a", "ba\n"][..]),
    ] {
        let r = rule_with(
            field("a"),
            Test::Regex {
                regex: re.into(),
                flags,
            },
            "t",
        );
        let q = query_for(&r);
        if let Some(want) = want {
            assert!(
                filter_of(&q).contains(&format!("a =~ /{want}/")),
                "{re}: {q}"
            );
        }
        let parsed = referee::parse(&q).unwrap_or_else(|e| panic!("{re}: {e}\n{q}"));
        let eval = Evaluator::new(&r.condition).expect("compiles");
        for s in subjects {
            let e = json!({ "a": s });
            assert_eq!(parsed.matches(&e), eval.matches(&e), "{re} on {s:?}: {q}");
        }
    }
}

#[test]
fn over_10000_characters_is_an_error_that_says_by_how_much() {
    let values: Vec<Expr> = (0..400)
        .map(|i| {
            Expr::Pred(Predicate {
                subject: field("requestParameters.bucketName"),
                quantifier: Quantifier::Any,
                test: Test::Regex {
                    regex: format!("^bucket-number-{i}-of-a-long-ioc-list$"),
                    flags: RegexFlags::default(),
                },
                span: Span::default(),
            })
        })
        .collect();
    let mut r = rule_with(field("a"), Test::Exists, "t");
    r.condition = Expr::And(vec![
        Expr::Pred(Predicate {
            subject: field("eventName"),
            quantifier: Quantifier::Any,
            test: Test::Exists,
            span: Span::default(),
        }),
        Expr::Or(values),
    ]);
    let err = backend::render(cloudwatch(), &r, &RenderOptions::default()).expect_err("too long");
    assert!(
        err.message.contains("over the 10000-character limit"),
        "{}",
        err.message
    );
}

#[test]
fn array_max_bounds_list_expansion_and_says_so() {
    let r = rule_with(
        field("resources.ARN"),
        Test::Text {
            pattern: Pattern::parse_sigma("arn:aws:s3:::canary"),
            cased: false,
        },
        "t",
    );
    let opts = RenderOptions {
        array_max: Some(2),
        ..Default::default()
    };
    let q = backend::render(cloudwatch(), &r, &opts).expect("renders");
    assert!(q.contains("resources.0.ARN") && q.contains("resources.1.ARN"));
    assert!(!q.contains("resources.2.ARN"));
    assert!(q.contains("# note: resources is a list: only its elements 0 to 1 are checked"));
    let query = referee::parse(&q).expect("parses");
    let ev = |i: usize| {
        let mut res = vec![json!({"ARN": "other"}); i];
        res.push(json!({"ARN": "ARN:AWS:S3:::CANARY"}));
        json!({ "resources": res })
    };
    assert!(query.matches(&ev(0)) && query.matches(&ev(1)));
    assert!(
        !query.matches(&ev(2)),
        "elements past --array-max are not checked"
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile values: whatever a value holds, the query parses and matches exactly that value.

fn hostile_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(vec![
            '"', '\'', '\\', '\n', '\r', '\t', '/', '*', '?', '.', '(', ')', '[', ']', '{', '}',
            '^', '$', '|', '+', '#', '`', ' ', ',', ':', '-', '_', '@', 'a', 'K', 's', 'é', 'É',
            'ß', '\u{2028}', '\u{0}', '\u{7f}', '\u{85}', '😀', '0', '1',
            // Trojan Source: bidirectional controls and invisible format characters; C1, ESC.
            '\u{202e}', '\u{2066}', '\u{2069}', '\u{200f}', '\u{200b}', '\u{feff}', '\u{9b}',
            '\u{1b}',
        ]),
        1 => any::<char>(),
    ]
}

fn hostile_string() -> impl Strategy<Value = String> {
    prop::collection::vec(hostile_char(), 0..12).prop_map(|v| v.into_iter().collect())
}

fn hostile_pattern() -> impl Strategy<Value = Pattern> {
    prop::collection::vec(
        prop_oneof![
            3 => hostile_string().prop_map(Part::Lit),
            1 => Just(Part::AnyRun),
            1 => Just(Part::OneChar),
        ],
        0..5,
    )
    .prop_map(|parts| {
        let mut p = Pattern::default();
        for x in parts {
            p.push(x);
        }
        p
    })
}

/// A text the pattern matches: wildcards filled with `fill`.
fn witness(p: &Pattern, fill: &str) -> String {
    p.0.iter()
        .map(|x| match x {
            Part::Lit(s) => s.clone(),
            Part::AnyRun => fill.to_owned(),
            Part::OneChar => fill.chars().next().unwrap_or('x').to_string(),
        })
        .collect()
}

/// `(?i)` in RE2-style engines folds the Kelvin sign and the long s onto k and s; the IR folds
/// ASCII only. That event-side difference is the one known approximation of case folding.
fn no_unicode_folds_onto_ascii(s: &str) -> bool {
    !s.contains(['\u{212A}', '\u{17F}'])
}

fn agree(rule: &Rule, events: &[Value]) -> Result<(), TestCaseError> {
    let q = query_for(rule);
    let query = referee::parse(&q).map_err(|e| TestCaseError::fail(format!("{e}\n{q}")))?;
    let eval = Evaluator::new(&rule.condition).map_err(TestCaseError::fail)?;
    for e in events {
        prop_assert_eq!(
            query.matches(e),
            eval.matches(e),
            "event {}\nquery:\n{}",
            e,
            q
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn literal_values_match_exactly_themselves(s in hostile_string(), t in hostile_string(), cased: bool) {
        prop_assume!(cased || no_unicode_folds_onto_ascii(&t));
        let rule = rule_with(
            field("requestParameters.userName"),
            Test::Text { pattern: Pattern::literal(s.clone()), cased },
            &s,
        );
        let q = query_for(&rule);
        let query = referee::parse(&q).map_err(|e| TestCaseError::fail(format!("{e}\n{q}")))?;
        let ev = |v: &str| json!({"requestParameters": {"userName": v}});
        prop_assert!(query.matches(&ev(&s)), "no match for its own value\n{}", q);
        let swapped: String = s.chars().map(|c| if c.is_ascii_lowercase() { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect();
        agree(&rule, &[ev(&t), ev(&swapped), ev(&format!("{s}{t}")), ev(&format!("{t}{s}")), json!({})])?;
    }

    #[test]
    fn wildcard_patterns_agree_with_the_evaluator(p in hostile_pattern(), t in hostile_string(), fill in hostile_string(), cased: bool) {
        prop_assume!(cased || no_unicode_folds_onto_ascii(&t) && no_unicode_folds_onto_ascii(&fill));
        let rule = rule_with(field("a.b"), Test::Text { pattern: p.clone(), cased }, "t");
        let w = witness(&p, &fill);
        let ev = |v: &str| json!({"a": {"b": v}});
        let q = query_for(&rule);
        let query = referee::parse(&q).map_err(|e| TestCaseError::fail(format!("{e}\n{q}")))?;
        prop_assert!(query.matches(&ev(&w)), "no match for {:?}\n{}", w, q);
        let mut events = vec![ev(&w), json!({"a": {"b": 22}}), json!({"a": null})];
        // Booleans are 1/0 in Logs Insights: a pattern that matches "1" or "0" also matches
        // true/false there, and one that matches "true"/"false" also matches 1/0 (approximations
        // the query states in a note).
        let fold = !cased;
        let bool_like = ["true", "false"].iter().any(|b| wildcard_match(&p.0, b, fold));
        if !(bool_like && (t == "0" || t == "1")) {
            events.push(ev(&t));
        }
        if !wildcard_match(&p.0, "1", fold) && !wildcard_match(&p.0, "0", fold) {
            events.push(json!({"a": {"b": true}}));
            events.push(json!({"a": {"b": false}}));
        }
        agree(&rule, &events)?;
    }

    #[test]
    fn escaped_regexes_match_exactly_their_literal(s in hostile_string(), t in hostile_string(), ignore_case: bool) {
        prop_assume!(!ignore_case || no_unicode_folds_onto_ascii(&t));
        let rule = rule_with(
            field("a"),
            Test::Regex {
                regex: format!("^{}$", rulecast::ir::regex_escape(&s)),
                flags: RegexFlags { ignore_case, ..Default::default() },
            },
            "t",
        );
        let q = query_for(&rule);
        let query = referee::parse(&q).map_err(|e| TestCaseError::fail(format!("{e}\n{q}")))?;
        prop_assert!(query.matches(&json!({"a": s})), "{}", q);
        agree(&rule, &[json!({"a": t}), json!({"a": format!("{s}\n")})])?;
    }

    #[test]
    fn keywords_match_values_not_keys(s in hostile_string(), t in hostile_string(), cased: bool) {
        prop_assume!(cased || no_unicode_folds_onto_ascii(&t));
        let rule = rule_with(
            Subject::Anywhere,
            Test::Text { pattern: Pattern::literal(s.clone()).any_prefix().any_suffix(), cased },
            "t",
        );
        let q = query_for(&rule);
        let query = referee::parse(&q).map_err(|e| TestCaseError::fail(format!("{e}\n{q}")))?;
        let hit = json!({"a": {"b": [t.clone(), format!("{t}{s}{t}")]}});
        prop_assert!(query.matches(&hit), "{}", q);
        let mut key_only = serde_json::Map::new();
        key_only.insert(s.clone(), Value::Null);
        key_only.insert(t.clone(), json!({s.clone(): 5}));
        agree(&rule, &[
            hit,
            Value::Object(key_only),
            json!({"a": t, "n": 15, "b": false, "c": null}),
        ])?;
    }

    #[test]
    fn value_lists_agree_with_the_evaluator(
        ps in prop::collection::vec(hostile_pattern(), 2..5),
        t in hostile_string(),
        fill in hostile_string(),
        cased: bool,
        keyword: bool,
    ) {
        prop_assume!(cased || no_unicode_folds_onto_ascii(&t) && no_unicode_folds_onto_ascii(&fill));
        let subject = if keyword { Subject::Anywhere } else { field("a") };
        let mut rule = rule_with(field("a"), Test::Exists, "t");
        rule.condition = Expr::Or(
            ps.iter()
                .map(|p| {
                    Expr::Pred(Predicate {
                        subject: subject.clone(),
                        quantifier: Quantifier::Any,
                        test: Test::Text { pattern: p.clone(), cased },
                        span: Span::default(),
                    })
                })
                .collect(),
        );
        let fold = !cased;
        let mut events: Vec<Value> = ps.iter().map(|p| json!({"a": witness(p, &fill)})).collect();
        let bool_like = ps.iter().any(|p| ["true", "false"].iter().any(|b| wildcard_match(&p.0, b, fold)));
        if !(bool_like && (t == "0" || t == "1")) {
            events.push(json!({"a": t}));
        }
        events.push(json!({"a": 22, "b": [t, -1.5]}));
        if !ps.iter().any(|p| wildcard_match(&p.0, "1", fold) || wildcard_match(&p.0, "0", fold)) {
            events.push(json!({"a": true, "b": false}));
        }
        agree(&rule, &events)?;
    }

    #[test]
    fn hostile_field_names_and_titles_stay_in_place(
        segs in prop::collection::vec("[A-Za-z0-9_@:$ -]{1,6}", 1..4),
        title in hostile_string(),
        v in "[a-z]{1,4}",
    ) {
        let path = segs.join(".");
        let rule = rule_with(field(&path), Test::Text { pattern: Pattern::literal(v.clone()), cased: true }, &title);
        let mut event = json!(v);
        for s in segs.iter().rev() {
            event = json!({ s.clone(): event });
        }
        let q = query_for(&rule);
        let query = referee::parse(&q).map_err(|e| TestCaseError::fail(format!("{e}\n{q}")))?;
        prop_assert!(query.matches(&event), "{}", q);
        prop_assert!(!query.matches(&json!({})), "{}", q);
    }
}

// ---------------------------------------------------------------------------------------------
// Saved queries: `--format query-definition`.

fn rulecast_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rulecast"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("rulecast runs")
}

#[test]
fn query_definition_is_the_json_put_query_definition_takes() {
    let rule = "rules/sigma/iam/iam_access_key_created.yml";
    let o = rulecast_cli(&[
        "convert",
        "-t",
        "cloudwatch",
        "--format",
        "query-definition",
        "--log-group",
        "aws-cloudtrail-logs",
        "--log-group",
        "org/trail",
        rule,
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object per rule: {stdout}");
    let def: Value = serde_json::from_str(lines[0]).expect("JSON");
    let keys: Vec<&String> = def.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["name", "queryString", "logGroupNames"]);
    assert_eq!(def["name"], "IAM Access Key Created");
    assert_eq!(
        def["logGroupNames"],
        json!(["aws-cloudtrail-logs", "org/trail"])
    );
    let q = def["queryString"].as_str().expect("string");
    assert!(q.chars().count() <= referee::MAX_QUERY_CHARS);
    referee::parse(q).expect("the saved query parses");
    let text = rulecast_cli(&[
        "convert",
        "-t",
        "cloudwatch",
        "--log-group",
        "aws-cloudtrail-logs",
        "--log-group",
        "org/trail",
        rule,
    ]);
    assert_eq!(
        String::from_utf8_lossy(&text.stdout).trim_end(),
        q.trim_end(),
        "the saved query is the query text output"
    );

    // Without --log-group there are no log groups; the name is cut to 255 characters.
    let def = backend::cloudwatch::query_definition(&"t".repeat(300), "filter (1 = 1)", &[]);
    assert_eq!(def["name"].as_str().map(str::len), Some(255));
    assert!(def.get("logGroupNames").is_none());
}

#[test]
fn query_definition_is_an_error_for_other_targets() {
    for t in ["jq", "athena", "jq,cloudwatch"] {
        let o = rulecast_cli(&[
            "convert",
            "-t",
            t,
            "--format",
            "query-definition",
            "rules/sigma/iam/iam_access_key_created.yml",
        ]);
        assert_eq!(o.status.code(), Some(2), "{t}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("--format query-definition") && err.contains("-t cloudwatch"),
            "{err}"
        );
        assert!(o.stdout.is_empty());
    }
}

/// Real recorded CloudTrail events (Stratus Red Team detonations, beside the repository): every
/// rule's query, shipped and SigmaHQ, selects exactly what the evaluator selects.
#[test]
fn referee_agrees_with_the_evaluator_on_recorded_events() {
    let Some(dir) = shared_corpus("stratus-detonation-logs") else {
        return;
    };
    let mut events = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("reads")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    for p in names {
        let v: Value = serde_json::from_slice(&std::fs::read(&p).expect("reads")).expect("JSON");
        events.extend(v.as_array().cloned().unwrap_or_default());
    }
    let mut files = rule_files();
    files.extend(corpus_files().unwrap_or_default());
    let (mut checks, mut hits) = (0usize, 0usize);
    let mut failures = Vec::new();
    for path in &files {
        let lf = rulecast::load_path(path, &load_options()).expect("reads");
        let queries = render_file(&lf, Target::Cloudwatch);
        for (r, q) in lf.rules.iter().zip(queries) {
            let (Ok(rule), Ok(q)) = (r, q) else { continue };
            let query = referee::parse(&q).expect("parses");
            if rule.correlation.is_some() {
                // Rows per bucket, not a per-event filter: tests/correlation.rs checks those.
                continue;
            }
            let eval = Evaluator::new(&rule.condition).expect("compiles");
            for e in &events {
                checks += 1;
                let want = eval.matches(e);
                hits += usize::from(want);
                if query.matches(e) != want {
                    failures.push(format!(
                        "{} :: eventID {}: evaluator {want}",
                        rel(path),
                        e["eventID"]
                    ));
                }
            }
        }
    }
    eprintln!(
        "cloudwatch on recorded events: {} rules x {} events = {checks} checks, {hits} matches",
        files.len(),
        events.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Python-style (Panther) predicates: Python's reading of typed values.

fn rule_of(condition: Expr) -> Rule {
    Rule {
        condition,
        ..rule_with(field("a"), Test::Exists, "python")
    }
}

fn exact(path: &str, test: Test) -> Expr {
    Expr::Pred(Predicate {
        subject: field(path),
        quantifier: Quantifier::Exact,
        test,
        span: Span::default(),
    })
}

/// An event holding `v` at `path` (None: the key is missing), beside an unrelated field.
fn event_at(path: &str, v: Option<&Value>) -> Value {
    let segs: Vec<&str> = path.split('.').collect();
    let mut inner = match v {
        Some(v) => json!({ segs[segs.len() - 1]: v, "other": "x" }),
        None => json!({ "other": "x" }),
    };
    for s in segs[..segs.len() - 1].iter().rev() {
        inner = json!({ *s: inner, "sibling": 1 });
    }
    inner["eventName"] = json!("E");
    inner
}

/// Every Python-style test, on a path at the top, under a top-level object and deeper, against
/// values of every JSON type (and a missing key), alone and under `not`: the referee selects what
/// the evaluator selects. The one documented exception: the string "0" reads as the number 0 in
/// a truthiness test.
#[test]
fn python_style_tests_agree_with_the_evaluator_on_typed_values() {
    let values = [
        json!("abc"),
        json!("ABC"),
        json!(""),
        json!("0"),
        json!("5"),
        json!("true"),
        json!(5),
        json!(0),
        json!(5.5),
        json!(-3),
        json!(true),
        json!(false),
        json!(null),
        json!([]),
        json!(["abc"]),
        json!({}),
        json!({"k": 1}),
        json!({"k": null}),
        json!({"j": "abc"}),
        json!("a\"b'c\\d"),
        json!("r\u{202e}l\u{0}"),
        json!("R\u{202e}L\u{0}"),
        json!(["r\u{202e}l\u{0}"]),
    ];
    let lit = |s: &str| Pattern::parse_sigma(s);
    let tests = [
        Test::Is(json!("abc")),
        Test::Is(json!("5")),
        Test::Is(json!("")),
        Test::Is(json!(5)),
        Test::Is(json!(0)),
        Test::Is(json!(true)),
        Test::Is(json!(false)),
        Test::Is(json!("a\"b'c\\d")),
        Test::Is(json!("r\u{202e}l\u{0}")),
        Test::Str {
            pattern: lit("*\u{202e}l?"),
            fold: true,
        },
        Test::Str {
            pattern: lit("ab*"),
            fold: false,
        },
        Test::Str {
            pattern: lit("*B*"),
            fold: true,
        },
        Test::Str {
            pattern: lit("*b*"),
            fold: true,
        },
        Test::Str {
            pattern: lit("5"),
            fold: false,
        },
        Test::Str {
            pattern: lit("*"),
            fold: false,
        },
        Test::Truthy,
        Test::Type(rulecast::ir::JsonType::String),
        Test::Type(rulecast::ir::JsonType::Number),
        Test::Type(rulecast::ir::JsonType::Boolean),
        Test::Type(rulecast::ir::JsonType::Object),
        Test::Type(rulecast::ir::JsonType::Array),
        Test::HasKey("k".into()),
        Test::Null,
        Test::Exists,
        Test::Text {
            pattern: lit("abc"),
            cased: false,
        },
        Test::Compare {
            op: rulecast::ir::CompareOp::Lt,
            value: rulecast::ir::Number {
                value: 10.0,
                text: "10".into(),
            },
        },
    ];
    let (mut checks, mut failures) = (0, Vec::new());
    // Paths CloudTrail does not list as objects or lists are taken to hold scalars (the shape
    // assumption, documented); known objects and lists are tested with those.
    let scalar = |v: &&Value| !v.is_array() && !v.is_object();
    type Fits<'a> = &'a dyn Fn(&&Value) -> bool;
    let paths: [(&str, Fits); 5] = [
        ("a", &scalar),
        ("requestParameters.x", &scalar),
        ("requestParameters.x.y", &scalar),
        ("requestParameters.bucketPolicy", &|v: &&Value| {
            v.is_object() || v.is_null()
        }),
        ("requestParameters.instanceIds", &|v: &&Value| {
            !v.is_object()
        }),
    ];
    for (path, fits) in paths {
        for test in &tests {
            for negate in [false, true] {
                let mut e = exact(path, test.clone());
                if negate {
                    e = Expr::Not(Box::new(e));
                }
                let rule = rule_of(e);
                let q = query_for(&rule);
                let query = referee::parse(&q).unwrap_or_else(|e| panic!("{e}\n{q}"));
                let eval = Evaluator::new(&rule.condition).expect("compiles");
                for v in values.iter().filter(fits).map(Some).chain([None]) {
                    let truthy_zero = *test == Test::Truthy && v == Some(&json!("0"));
                    let event = event_at(path, v);
                    checks += 1;
                    let (want, got) = (eval.matches(&event), query.matches(&event));
                    if truthy_zero {
                        assert_eq!(got, !want, "the documented \"0\" difference");
                    } else if want != got {
                        failures.push(format!(
                            "{}{path} {test:?} on {event}: evaluator {want}, referee {got}\n{}",
                            if negate { "not " } else { "" },
                            filter_of(&q)
                        ));
                    }
                }
            }
        }
    }
    assert!(checks > 2000);
    assert!(
        failures.is_empty(),
        "{} of {checks} disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Conditions on the elements of a list: some element, every element (an empty list passes, a
/// missing or non-list value fails), exactly one element, over a known list of objects and an
/// unknown list.
#[test]
fn per_element_conditions_agree_with_the_evaluator() {
    use rulecast::ir::{Count, Elements};
    let lists = [
        json!([]),
        json!([{"k": "v"}]),
        json!([{"k": "x"}]),
        json!([{"k": "v"}, {"k": "x"}]),
        json!([{"k": "v"}, {"k": "v"}, {"k": "V"}]),
        json!([{"j": 1}]),
        json!([{"k": "x"}, {"j": 1}]),
        json!("v"),
        json!({"k": "v"}),
        json!(null),
    ];
    let scalars = [
        json!([]),
        json!(["v"]),
        json!(["x", "v"]),
        json!(["v", "v"]),
        json!(["x"]),
        json!([1, "v"]),
        json!("v"),
        json!(null),
    ];
    let body_on_k = [
        exact("k", Test::Is(json!("v"))),
        Expr::Not(Box::new(exact("k", Test::Is(json!("x"))))),
        exact("k", Test::Truthy),
    ];
    let mut checks = 0;
    for (path, values, bodies) in [
        (
            "requestParameters.instancesSet.items",
            &lists[..],
            body_on_k.to_vec(),
        ),
        ("requestParameters.things", &lists[..], body_on_k.to_vec()),
        (
            "requestParameters.instanceIds",
            &scalars[..],
            vec![Expr::Pred(Predicate {
                subject: Subject::Field(FieldPath::new(Vec::new())),
                quantifier: Quantifier::Exact,
                test: Test::Is(json!("v")),
                span: Span::default(),
            })],
        ),
    ] {
        for body in &bodies {
            for count in [Count::Some, Count::Every, Count::One] {
                let rule = rule_of(Expr::Elements(Elements {
                    path: FieldPath::parse(path),
                    count,
                    body: Box::new(body.clone()),
                    span: Span::default(),
                }));
                let q = query_for(&rule);
                let query = referee::parse(&q).unwrap_or_else(|e| panic!("{e}\n{q}"));
                let eval = Evaluator::new(&rule.condition).expect("compiles");
                let fails_on_empty = !rulecast::eval::matches(body, &json!({})).expect("compiles");
                for v in values.iter().map(Some).chain([None]) {
                    let event = event_at(path, v);
                    checks += 1;
                    let (want, got) = (eval.matches(&event), query.matches(&event));
                    // Documented: for every element, an element without any field the body reads
                    // is taken to be past the list's end (elements are no fields).
                    let fieldless = v
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.iter().any(|x| x.get("k").is_none() && x.is_object()));
                    if count == Count::Every && fails_on_empty && fieldless {
                        // ... so the query may select more, never less,
                        assert!(got || !want, "{body:?} on {event}\n{q}");
                    } else if count == Count::Some && !fails_on_empty && fieldless {
                        // ... or, for some element, less, never more.
                        assert!(want || !got, "{body:?} on {event}\n{q}");
                    } else if count == Count::One && !fails_on_empty && fieldless {
                        // ... and for exactly one, such an element is not counted either way.
                    } else {
                        assert_eq!(got, want, "{count:?} {body:?} on {event}\n{q}");
                    }
                }
            }
        }
    }
    assert!(checks > 100);
}
