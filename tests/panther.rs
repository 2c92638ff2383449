//! Panther rules: refused constructs fail with the expected code at the expected file, line and
//! column (in the `.py` for Python constructs), the seed rule's view matches its catalog page,
//! and every shipped Panther rule carries tests that match and tests that do not.

mod common;

use common::*;
use rulecast::report::explain::{explain, Indicator};

/// (fixture, code, file the diagnostic points into, line, column)
const EXPECTED: &[(&str, &str, &str, usize, usize)] = &[
    ("cache.yml", "E310", "cache.py", 7, 48),
    ("enrichment.yml", "E310", "enrichment.py", 2, 12),
    ("log_type.yml", "E401", "log_type.yml", 5, 1),
    (
        "loop_mixed_returns.yml",
        "E310",
        "loop_mixed_returns.py",
        6,
        13,
    ),
    ("missing_py.yml", "E001", "missing_py.yml", 2, 11),
    ("policy.yml", "E310", "policy.py", 8, 12),
    ("regex.yml", "E306", "regex.py", 5, 12),
    ("sd_enrichment.yml", "E310", "sd_enrichment.yml", 12, 5),
    (
        "sd_unknown_condition.yml",
        "E309",
        "sd_unknown_condition.yml",
        12,
        5,
    ),
    ("syntax.yml", "E106", "syntax.py", 1, 16),
    ("try_except.yml", "E310", "try_except.py", 5, 5),
];

#[test]
fn refused_constructs_fail_where_expected() {
    let dir = root().join("tests/fixtures/panther");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    names.sort();
    let listed: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    assert_eq!(names, listed, "every fixture has an expectation");
    let mut report = String::new();
    for (name, code, file, line, col) in EXPECTED {
        let lf = rulecast::load_path(&dir.join(name), &Default::default()).expect("reads");
        assert_eq!(lf.rules.len(), 1, "{name}");
        let d = lf.rules[0]
            .as_ref()
            .expect_err("refused, never a partial query")
            .clone()
            .in_file(&lf.file);
        let got = (
            d.code.as_str(),
            d.path.file_name().and_then(|f| f.to_str()).unwrap_or(""),
            d.line,
            d.column,
        );
        assert_eq!(got, (*code, *file, *line, *col), "{name}: {d}");
        report.push_str(&format!("{name}: {}: {}\n", d.code, d.message));
    }
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots/errors"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.bind(|| insta::assert_snapshot!("panther_fixtures", report));
}

fn ind(field: &str, kind: &str, values: &[&str]) -> Indicator {
    Indicator {
        field: field.into(),
        kind: kind.into(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
        negated: false,
    }
}

/// The Panther seed (../shared/seeds/004_…): the detection logic, MITRE tags and output fields
/// its catalog page shows.
#[test]
fn panther_seed_matches_the_catalog_page() {
    let path = root().join("rules/panther/aws_root_access_key_created.yml");
    let lf = load(&path);
    let rule = lf.rules[0].as_ref().expect("loads");
    let e = explain(rule, "seed");
    assert_eq!(e.title, "Root Account Access Key Created");
    assert_eq!(e.id.as_deref(), Some("AWS.CloudTrail.RootAccessKeyCreated"));
    assert_eq!(e.level.as_deref(), Some("critical"));
    assert_eq!(
        e.indicators,
        [
            ind("eventName", "eq", &["CreateAccessKey"]),
            ind("requestParameters", "is_null", &[]),
            ind("userIdentity.type", "eq", &["Root"]),
        ]
    );
    assert_eq!(e.mitre, ["attack.ta0003", "attack.t1098"]);
    assert_eq!(
        e.output_fields,
        [
            "eventName",
            "eventSource",
            "awsRegion",
            "recipientAccountId",
            "sourceIPAddress",
            "userAgent",
            "userIdentity"
        ]
    );
    let cases = cases(&path).expect("inline tests");
    assert_eq!(cases.len(), 2);
    assert!(cases[0].expected && !cases[1].expected);
}

/// Every Panther rule ships tests, at least one that matches and one that does not.
#[test]
fn every_panther_rule_has_matching_and_non_matching_tests() {
    let mut rules = 0;
    for path in rule_files() {
        if !rel(&path).starts_with("rules/panther/") {
            continue;
        }
        rules += 1;
        let cases = cases(&path).unwrap_or_else(|| panic!("{}: no Tests", path.display()));
        let run: Vec<_> = cases.iter().filter(|c| !c.mocked).collect();
        assert!(
            run.iter().any(|c| c.expected),
            "{}: no matching test",
            rel(&path)
        );
        assert!(
            run.iter().any(|c| !c.expected),
            "{}: no non-matching test",
            rel(&path)
        );
    }
    assert!(rules >= 26, "{rules} Panther rules");
}

/// Our own small rules under `tests/fixtures/panther/translated/`, one per Python construct the
/// front end reads: each translates, has matching and non-matching tests, and the evaluator and
/// the jq query give every test its `ExpectedResult`.
#[test]
fn translated_constructs_pass_their_tests() {
    let dir = root().join("tests/fixtures/panther/translated");
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty());
    for path in &paths {
        let name = rel(path);
        let lf = load(path);
        let rule = match &lf.rules[..] {
            [Ok(rule)] => rule,
            other => panic!("{name}: {other:?}"),
        };
        let cases = cases(path).unwrap_or_else(|| panic!("{name}: no Tests"));
        assert!(cases.iter().any(|c| c.expected), "{name}: no matching test");
        assert!(
            cases.iter().any(|c| !c.expected),
            "{name}: no non-matching test"
        );
        let evaluator = rulecast::eval::Evaluator::new(&rule.condition).expect("evaluator");
        let jq = match &render_file(&lf, rulecast::backend::Target::Jq)[..] {
            [Ok(q)] => q.clone(),
            other => panic!("{name}: {other:?}"),
        };
        let program = rulecast::backend::jq::exec::JqProgram::compile(&jq).expect("jq compiles");
        for c in &cases {
            let by_eval = evaluator.matches(&c.log);
            let by_jq = !program.run(&c.log).expect("jq runs").is_empty();
            assert_eq!(
                (by_eval, by_jq),
                (c.expected, c.expected),
                "{name} :: {}\n{jq}",
                c.name
            );
        }
    }
}

/// Output fields come from the event only: `alert_context` reading a local alias
/// (`params.get("bucketName")`) names no top-level field.
#[test]
fn alert_context_fields_are_read_from_the_event() {
    let path = root().join("tests/fixtures/panther/translated/membership_hashing.yml");
    let lf = load(&path);
    let rule = lf.rules[0].as_ref().expect("translates");
    assert_eq!(rule.meta.fields, ["requestParameters", "sourceIPAddress"]);
}

/// A chain of `and`s keeps one test per condition: the guards Python's value semantics repeat
/// at every step (and the conditions the chain already decides) fold away.
#[test]
fn and_chains_stay_small() {
    let path = root().join("tests/fixtures/panther/translated/and_chain.yml");
    let lf = load(&path);
    let rule = lf.rules[0].as_ref().expect("translates");
    let n = rule.condition.predicates().len();
    assert!(n <= 8, "{n} predicates: {:?}", rule.condition);
}

/// A fresh directory under the system's temporary directory.
fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rulecast-panther-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A Panther rule YAML whose `Filename:` is `name`.
fn rule_naming(name: &str) -> String {
    format!("AnalysisType: rule\nFilename: {name}\nRuleID: \"T.Filename\"\nEnabled: true\nLogTypes:\n  - AWS.CloudTrail\nSeverity: Low\n")
}

/// `Filename:` comes from untrusted rules: it may only name a regular file inside the rule's own
/// directory tree, read up to a size cap. Absolute paths, `..` out of the tree, symbolic links
/// that lead out, directories and oversized files are refused at the value (line 2, column 11)
/// with E105, and no message quotes the file outside (whose text would be a Python syntax error
/// that echoes it).
#[test]
fn filename_stays_in_the_rule_directory() {
    let d = scratch("filename");
    let outside = d.join("outside");
    let rules = d.join("rules");
    std::fs::create_dir_all(&outside).expect("dir");
    std::fs::create_dir_all(rules.join("sub")).expect("dir");
    let secret = outside.join("secret.py");
    std::fs::write(&secret, "SECRET_TOKEN_1234 = (\n").expect("write");
    std::fs::write(
        rules.join("sub/ok.py"),
        "def rule(event):\n    return True\n",
    )
    .expect("write");
    let big = vec![b'#'; (rulecast::panther::MAX_MODULE_BYTES + 1) as usize];
    std::fs::write(rules.join("big.py"), big).expect("write");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&secret, rules.join("sub/link.py")).expect("symlink");
        std::os::unix::fs::symlink("ok.py", rules.join("sub/inside.py")).expect("symlink");
    }
    let absolute = secret.to_string_lossy().into_owned();
    let mut cases: Vec<(&str, Option<&str>)> = vec![
        (absolute.as_str(), Some("is an absolute path")),
        ("/etc/shadow", Some("is an absolute path")),
        ("/proc/self/environ", Some("is an absolute path")),
        ("/dev/zero", Some("is an absolute path")),
        ("../outside/secret.py", Some("leaves the rule's directory")),
        (
            "sub/../../outside/secret.py",
            Some("leaves the rule's directory"),
        ),
        ("sub", Some("is not a regular file")),
        ("big.py", Some("is larger than 10 MiB")),
        ("sub/ok.py", None),
        ("./sub/../sub/ok.py", None),
    ];
    if cfg!(unix) {
        cases.push((
            "sub/link.py",
            Some("leads outside the rule's directory (through a symbolic link)"),
        ));
        cases.push(("sub/inside.py", None));
    }
    for (name, refusal) in cases {
        let yml = rules.join("r.yml");
        std::fs::write(&yml, rule_naming(name)).expect("write");
        let lf = rulecast::load_path(&yml, &Default::default()).expect("reads");
        match (&lf.rules[..], refusal) {
            ([Ok(_)], None) => {}
            ([Err(d)], Some(why)) => {
                let d = d.clone().in_file(&lf.file);
                assert_eq!(
                    (d.code.as_str(), d.line, d.column),
                    ("E105", 2, 11),
                    "{name}: {d}"
                );
                assert!(d.message.contains(why), "{name}: {d}");
                assert!(!d.to_string().contains("SECRET"), "{name}: {d}");
            }
            (other, _) => panic!("{name}: {other:?}"),
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// A Python rule nested far deeper than the limit fails with E310 from the command line (on the
/// main thread's stack), never a stack overflow; so does one whose condition would only grow.
#[test]
fn deep_or_huge_python_rules_fail_cleanly_from_the_command_line() {
    let dir = std::env::temp_dir().join(format!("rulecast-deep-python-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut toggles = String::from("    r = False\n");
    for i in 0..30 {
        toggles.push_str(&format!("    if event.get('k{i}'):\n        r = not r\n"));
    }
    toggles.push_str("    return r\n");
    let mut elif = String::new();
    for i in 0..3_000 {
        let kw = if i == 0 { "if" } else { "elif" };
        elif.push_str(&format!(
            "    {kw} event.get('eventName') == 'E{i}':\n        return True\n"
        ));
    }
    let cases = [
        (
            "nots",
            format!("    return {}event.get('x')\n", "not ".repeat(10_000)),
            "nests deeper than 256 levels",
        ),
        (
            "sum",
            format!("    x = 1{}\n    return True\n", " + 1".repeat(100_000)),
            "nests deeper than 256 levels",
        ),
        ("elif", elif, "nests deeper than 256 levels"),
        ("toggles", toggles, "grows past 100000 tests"),
    ];
    for (name, body, needle) in cases {
        std::fs::write(
            dir.join(format!("{name}.py")),
            format!("def rule(event):\n{body}"),
        )
        .expect("writes");
        let yml = dir.join(format!("{name}.yml"));
        std::fs::write(
            &yml,
            format!(
                "AnalysisType: rule\nFilename: {name}.py\nRuleID: Deep.{name}\nEnabled: true\n\
                 LogTypes:\n  - AWS.CloudTrail\nSeverity: Low\n"
            ),
        )
        .expect("writes");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rulecast"))
            .args(["convert", "-t", "jq"])
            .arg(&yml)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains("error[E310]"), "{name}: {stderr}");
        assert!(stderr.contains(needle), "{name}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
