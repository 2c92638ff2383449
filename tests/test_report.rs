//! `rulecast test` reports: `-v` (a line per test), `-f json`, `-f junit` (parsed as XML, with
//! the right counts), the predicates that decided a failing test, and Panther tests whose event
//! makes `rule()` raise (failed, as Panther fails them). Fixtures: tests/fixtures/ruletest/.

mod common;

use common::root;
use common::run::{rulecast, text};

fn fixtures() -> String {
    root().join("tests/fixtures/ruletest").display().to_string()
}

/// The default report: a FAIL line per failing test with expected and actual results (and the
/// deciding predicate, or the raise), then the summary.
#[test]
fn failing_tests_show_expected_actual_and_why() {
    let o = rulecast(&["test", &fixtures()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].ends_with("raises.yml :: no userIdentity: expected false, but rule() raises an exception on this event (Panther fails such a test)"),
        "{out}"
    );
    assert!(
        lines[1].ends_with("user_deleted.tests.yml :: wrong expectation: expected true, evaluator false, jq false; decided by: eventName eq DeleteUser: false"),
        "{out}"
    );
    assert_eq!(
        lines[2],
        "2 passed, 2 failed, 1 skipped (0 rule files without tests)"
    );
}

/// `-v` lists every test with its outcome and the engines that ran it.
#[test]
fn verbose_lists_every_test() {
    let o = rulecast(&["test", "-v", &fixtures()]);
    let out = text(&o.stdout);
    let kinds: Vec<&str> = out
        .lines()
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        ["PASS", "FAIL", "SKIP", "PASS", "FAIL", "2"],
        "{out}"
    );
    assert!(
        out.contains("raises.yml :: root [evaluator, jq, raises]\n"),
        "{out}"
    );
    assert!(
        out.contains("user_deleted.tests.yml :: user deleted [evaluator, jq]\n"),
        "{out}"
    );
    assert!(out.contains("raises.yml :: mocked (Mocks)\n"), "{out}");
}

/// `-f json`: one record per test, with the outcome, engines, results and reasons.
#[test]
fn json_report() {
    let o = rulecast(&["test", "-f", "json", &fixtures()]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(
        (
            &doc["passed"],
            &doc["failed"],
            &doc["skipped"],
            &doc["not_run"]
        ),
        (&2.into(), &2.into(), &1.into(), &0.into())
    );
    let tests = doc["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 5);
    let raising = &tests[1];
    assert_eq!(raising["name"], "no userIdentity");
    assert_eq!(raising["outcome"], "fail");
    assert_eq!(raising["raises"], true);
    assert_eq!(raising["evaluator"], false);
    assert_eq!(
        raising["rule"],
        "Root activity (raises without userIdentity)"
    );
    let wrong = &tests[4];
    assert_eq!(wrong["outcome"], "fail");
    assert_eq!(wrong["expected"], true);
    assert_eq!(wrong["jq"], false);
    assert_eq!(
        wrong["decided_by"],
        serde_json::json!(["eventName eq DeleteUser: false"])
    );
    assert_eq!(wrong["engines"], serde_json::json!(["evaluator", "jq"]));
}

/// `-f junit` parses as XML: one testsuite per tests file, one testcase per test, and counts
/// that match the testcases.
#[test]
fn junit_report_parses_with_the_right_counts() {
    let o = rulecast(&["test", "-f", "junit", &fixtures()]);
    assert_eq!(o.status.code(), Some(1));
    let xml = text(&o.stdout);
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML parses");
    let top = doc.root_element();
    assert_eq!(top.tag_name().name(), "testsuites");
    assert_eq!(top.attribute("tests"), Some("5"));
    assert_eq!(top.attribute("failures"), Some("2"));
    assert_eq!(top.attribute("skipped"), Some("1"));
    assert_eq!(top.attribute("errors"), Some("0"));
    let suites: Vec<roxmltree::Node> = top.children().filter(|n| n.is_element()).collect();
    assert_eq!(suites.len(), 2);
    let mut cases = 0;
    for s in &suites {
        let tc: Vec<roxmltree::Node> = s
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let count = |tag: &str| {
            tc.iter()
                .filter(|c| c.children().any(|x| x.has_tag_name(tag)))
                .count()
                .to_string()
        };
        assert_eq!(s.attribute("tests"), Some(tc.len().to_string().as_str()));
        assert_eq!(s.attribute("failures"), Some(count("failure").as_str()));
        assert_eq!(s.attribute("skipped"), Some(count("skipped").as_str()));
        cases += tc.len();
    }
    assert_eq!(cases, 5);
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("wrong expectation"))
        .and_then(|n| n.children().find(|c| c.has_tag_name("failure")))
        .expect("a failure");
    assert_eq!(failure.attribute("type"), Some("mismatch"));
    let body = failure.text().unwrap_or_default();
    assert!(
        body.contains("expected true, evaluator false, jq false")
            && body.contains("decided by:\n  eventName eq DeleteUser: false"),
        "{body}"
    );
    let raised = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("no userIdentity"))
        .and_then(|n| n.children().find(|c| c.has_tag_name("failure")))
        .expect("a failure");
    assert_eq!(raised.attribute("type"), Some("raises"));
}

/// A rule file that does not convert is an `<error>` testcase in JUnit, and the XML stays
/// well-formed whatever the rule text holds.
#[test]
fn junit_reports_unconverted_rules_and_escapes_text() {
    let d = std::env::temp_dir().join(format!("rulecast-junit-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    std::fs::write(
        d.join("r.yml"),
        "title: \"<b>&\\\"\\e]0;x\"\nlogsource: {product: aws}\ndetection:\n  sel: {eventName: X}\n  condition: nope\n",
    )
    .expect("write");
    std::fs::write(
        d.join("r.tests.yml"),
        "Tests:\n  - Name: \"<t> & \\\"q\\\"\"\n    ExpectedResult: true\n    Log: {\"eventName\": \"X\"}\n",
    )
    .expect("write");
    std::fs::write(
        d.join("s.yml"),
        "title: \"<b>&\\\"\\e]0;x\"\nlogsource: {product: aws}\ndetection:\n  sel: {eventName: X}\n  condition: sel\n",
    )
    .expect("write");
    std::fs::write(
        d.join("s.tests.yml"),
        "Tests:\n  - Name: \"<t> & \\\"q\\\"\\e[2J\"\n    ExpectedResult: false\n    Log: {\"eventName\": \"X\"}\n",
    )
    .expect("write");
    let o = rulecast(&["test", "-f", "junit", &d.display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    let xml = text(&o.stdout);
    assert!(!xml.contains('\u{1b}'), "{xml}");
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML parses");
    let top = doc.root_element();
    assert_eq!(top.attribute("errors"), Some("1"));
    assert_eq!(top.attribute("failures"), Some("1"));
    let error = doc
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .expect("an error testcase");
    assert!(
        error
            .attribute("message")
            .is_some_and(|m| m.contains("E301")),
        "{xml}"
    );
    let names: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    assert!(names.contains(&"<t> & \"q\"\\u{1b}[2J"), "{names:?}");
    let _ = std::fs::remove_dir_all(&d);
}
