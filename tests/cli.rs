//! The command line as users and CI jobs run it: exit codes, stdout, stderr, files.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const GOOD: &str = "title: Good rule\nid: 11111111-2222-4333-8444-555555555555\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    eventName: CreateUser\n  condition: sel\nlevel: low\n";
const BAD: &str = "title: Bad rule\nlogsource: {product: aws}\ndetection:\n  sel:\n    eventName: X\n  condition: sel and nope\n";

fn rulecast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rulecast"))
        .args(args)
        .output()
        .expect("runs")
}

fn rulecast_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rulecast"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("writes");
    child.wait_with_output().expect("runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rulecast-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("dir");
    }
    std::fs::write(&p, content).expect("write");
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn targets_lists_all_three() {
    let o = rulecast(&["targets"]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    for t in ["jq", "athena", "cloudwatch"] {
        assert!(out.lines().any(|l| l.starts_with(t)), "{out}");
    }
}

#[test]
fn convert_prints_query_with_header_and_exits_0() {
    let d = temp_dir("good");
    let f = write(&d, "good.yml", GOOD);
    let o = rulecast(&["convert", "-t", "jq", s(&f)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.starts_with("# Good rule\n# id: 11111111-2222-4333-8444-555555555555\n"),
        "{out}"
    );
    assert!(out.contains(&format!("# source: {}", f.display())), "{out}");
    assert!(out.contains("createuser"), "{out}");
    assert!(o.stderr.is_empty());
}

#[test]
fn batch_converts_good_reports_bad_and_exits_1() {
    let d = temp_dir("batch");
    write(&d, "a_good.yml", GOOD);
    write(&d, "b_bad.yml", BAD);
    write(&d, "a_good.tests.yml", "Tests: []\n");
    let o = rulecast(&["convert", s(&d)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("# Good rule"));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "{}:6:22: error[E301]: unknown detection 'nope'",
            d.join("b_bad.yml").display()
        )),
        "{err}"
    );
}

#[test]
fn json_format_has_one_object_per_rule() {
    let d = temp_dir("json");
    write(&d, "a.yml", GOOD);
    write(&d, "b.yml", BAD);
    let o = rulecast(&["convert", "-f", "json", s(&d)]);
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["title"], "Good rule");
    assert_eq!(lines[0]["target"], "jq");
    assert_eq!(lines[0]["id"], "11111111-2222-4333-8444-555555555555");
    assert!(lines[0]["query"]
        .as_str()
        .is_some_and(|q| q.contains("select(")));
    assert_eq!(lines[1]["error"]["code"], "E301");
    assert_eq!(lines[1]["error"]["line"], 6);
    assert_eq!(lines[1]["error"]["column"], 22);
    assert!(lines[1].get("query").is_none());
}

#[test]
fn stdin_is_read_with_its_display_name() {
    let o = rulecast_stdin(&["convert", "-", "--stdin-filename", "piped.yml"], GOOD);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("# source: piped.yml"));
    let o = rulecast_stdin(&["convert", "-"], BAD);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).starts_with("<stdin>:6:22: error[E301]"));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let o = rulecast(&["convert", "/no/such/rule.yml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("/no/such/rule.yml:1:1: error[E001]"),
        "{}",
        text(&o.stderr)
    );
    let o = rulecast(&["convert", "-t", "splunk", "x.yml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("unknown target 'splunk'"));
    let o = rulecast(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    let d = temp_dir("empty-dir");
    let o = rulecast(&["convert", s(&d)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no rule files"));
    let o = rulecast(&["convert", "--check", s(&d)]);
    assert_eq!(o.status.code(), Some(2), "--check needs -o");
}

#[test]
fn output_dir_then_check_detects_changes_missing_and_extra_files() {
    let d = temp_dir("outdir");
    let rules = d.join("rules");
    let out = d.join("out");
    write(&rules, "good.yml", GOOD);
    let o = rulecast(&["convert", s(&rules), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let written = std::fs::read_to_string(out.join("jq/good.jq")).expect("written");
    assert!(written.contains("# Good rule"));
    assert!(o.stdout.is_empty());

    // Same input: check passes, writes nothing.
    let o = rulecast(&["convert", s(&rules), "-o", s(&out), "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(o.stdout.is_empty());

    // A changed rule: a unified diff and exit 1, and the file is left alone.
    write(
        &rules,
        "good.yml",
        &GOOD.replace("CreateUser", "DeleteUser"),
    );
    let o = rulecast(&["convert", s(&rules), "-o", s(&out), "--check"]);
    assert_eq!(o.status.code(), Some(1));
    let diff = text(&o.stdout);
    assert!(diff.contains("-  any(rc_get(\"eventName\") | select(. != null) | rc_text | ascii_downcase; . == \"createuser\")") || diff.contains("createuser"), "{diff}");
    assert!(diff.contains("+") && diff.contains("deleteuser"), "{diff}");
    assert_eq!(
        std::fs::read_to_string(out.join("jq/good.jq")).expect("kept"),
        written
    );

    // A new rule: its file is missing.
    write(&rules, "good.yml", GOOD);
    write(&rules, "second.yml", &GOOD.replace("Good rule", "Second"));
    let o = rulecast(&["convert", s(&rules), "-o", s(&out), "--check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("/dev/null"), "{}", text(&o.stdout));

    // A removed rule: its file is extra.
    std::fs::remove_file(rules.join("second.yml")).expect("rm");
    write(&out, "jq/stale.jq", "old\n");
    let o = rulecast(&["convert", s(&rules), "-o", s(&out), "--check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stdout).contains("extra file:"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn output_is_byte_identical_across_runs() {
    let rules = common::root().join("rules");
    let a = rulecast(&[
        "convert",
        s(&rules),
        "--placeholders",
        s(&rules.join("placeholders.yml")),
    ]);
    let b = rulecast(&[
        "convert",
        s(&rules),
        "--placeholders",
        s(&rules.join("placeholders.yml")),
    ]);
    assert_eq!(a.status.code(), Some(0), "{}", text(&a.stderr));
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn test_subcommand_runs_sidecars() {
    let d = temp_dir("tests");
    write(&d, "r.yml", GOOD);
    write(
        &d,
        "r.tests.yml",
        "Tests:\n  - Name: hit\n    ExpectedResult: true\n    Log: {\"eventName\": \"createuser\"}\n  - Name: miss\n    ExpectedResult: false\n    Log: {\"eventName\": \"CreateUsers\"}\n  - Name: mocked\n    ExpectedResult: true\n    Mocks: [{objectName: x, returnValue: y}]\n    Log: {}\n",
    );
    let o = rulecast(&["test", s(&d)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains("2 passed, 0 failed, 1 skipped"),
        "{}",
        text(&o.stdout)
    );
    write(&d, "r.tests.yml", "Tests:\n  - Name: wrong\n    ExpectedResult: true\n    Log: {\"eventName\": \"DeleteUser\"}\n");
    let o = rulecast(&["test", s(&d)]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(
        out.contains("FAIL") && out.contains("wrong: expected true, evaluator false, jq false"),
        "{out}"
    );
    assert!(out.contains("0 passed, 1 failed"), "{out}");
    // A rule that does not convert: its tests are not run, apart from wrong answers, and the
    // run fails with the rule's error on stderr.
    write(&d, "r.yml", "title: t\nlogsource: {product: aws}\ndetection:\n  sel:\n    eventName: x\n  condition: nope\n");
    write(&d, "r.tests.yml", "Tests:\n  - Name: a\n    ExpectedResult: true\n    Log: {}\n  - Name: b\n    ExpectedResult: false\n    Log: {}\n");
    let o = rulecast(&["test", s(&d)]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(
        out.contains("0 passed, 0 failed, 0 skipped, 2 not run (1 rule files did not convert)"),
        "{out}"
    );
    assert!(
        text(&o.stderr).contains("error[E301]"),
        "{}",
        text(&o.stderr)
    );
}

/// A Panther rule file that does not load is reported by `rulecast test`, and fails the run:
/// one bad indent (a YAML error that hides the rule's `Tests:`, or a Python syntax error) must
/// not make its tests vanish from a run that passes.
#[test]
fn test_subcommand_reports_rule_files_that_do_not_load() {
    let d = temp_dir("broken-panther");
    let yml = "AnalysisType: rule\nFilename: r.py\nRuleID: \"T.Broken\"\nEnabled: true\nLogTypes:\n  - AWS.CloudTrail\nSeverity: Low\nTests:\n  - Name: hit\n    ExpectedResult: true\n    Log: {\"eventName\": \"CreateUser\"}\n  - Name: miss\n    ExpectedResult: false\n    Log: {\"eventName\": \"DeleteUser\"}\n";
    let py = "def rule(event):\n    return event.get('eventName') == 'CreateUser'\n";
    write(&d, "r.yml", yml);
    write(&d, "r.py", py);
    let o = rulecast(&["test", s(&d)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains("2 passed, 0 failed"),
        "{}",
        text(&o.stdout)
    );
    // A Python syntax error: the tests are found and counted as not run.
    write(
        &d,
        "r.py",
        "def rule(event):\n    x = 1\n      return True\n",
    );
    let o = rulecast(&["test", s(&d)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("error[E106]"),
        "{}",
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout)
            .contains("0 passed, 0 failed, 0 skipped, 2 not run (1 rule files did not convert)"),
        "{}",
        text(&o.stdout)
    );
    // A YAML error in the rule: its tests cannot be read, so none is counted, but the file is
    // reported with its diagnostic and the run fails.
    write(&d, "r.py", py);
    write(
        &d,
        "r.yml",
        &yml.replace("Enabled: true\n", "Enabled: true\n  Bad: x\n"),
    );
    let o = rulecast(&["test", s(&d)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("r.yml:5:6: error[E102]"),
        "{}",
        text(&o.stderr)
    );
    let out = text(&o.stdout);
    assert!(
        out.contains("0 passed, 0 failed, 0 skipped, 0 not run (1 rule files did not convert; the tests of 1 could not be read) (0 rule files without tests)"),
        "{out}"
    );
    // So is a rule without tests that does not load.
    write(&d, "r.yml", "AnalysisType: rule\nFilename: r.py\nRuleID: \"T.Broken\"\nEnabled: true\nLogTypes:\n  - Okta.SystemLog\nSeverity: Low\n");
    let o = rulecast(&["test", s(&d)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(
        text(&o.stderr).contains("error[E401]"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn placeholders_file_feeds_expand() {
    let d = temp_dir("expand");
    let rule = write(
        &d,
        "e.yml",
        "title: E\nlogsource: {product: aws}\ndetection:\n  sel:\n    recipientAccountId|expand: '%accts%'\n  condition: sel\n",
    );
    let o = rulecast(&["convert", s(&rule)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("error[E308]"));
    let ph = write(
        &d,
        "ph.yaml",
        "placeholders:\n  accts: ['111122223333', '444455556666']\n",
    );
    let o = rulecast(&["convert", s(&rule), "--placeholders", s(&ph)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("111122223333") && out.contains("444455556666"),
        "{out}"
    );
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let o = rulecast(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0));
        let out = text(&o.stdout);
        assert!(
            out.contains("rulecast") && out.contains("convert") && out.contains("explain"),
            "{shell}"
        );
    }
    assert_eq!(rulecast(&["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn several_targets_in_one_run() {
    let d = temp_dir("multi");
    let rules = d.join("rules");
    let out = d.join("out");
    write(&rules, "good.yml", GOOD);
    let o = rulecast(&["convert", s(&rules), "-t", "all", "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    for t in common::built_targets() {
        let ext = t.backend().extension();
        assert!(
            out.join(t.name()).join(format!("good.{ext}")).is_file(),
            "{t}"
        );
    }
    let o = rulecast(&["convert", s(&rules), "-t", "all", "-o", s(&out), "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let o = rulecast(&["convert", s(&rules), "-t", "jq,jq", "-f", "json"]);
    assert_eq!(
        text(&o.stdout).lines().count(),
        1,
        "a target named twice runs once"
    );
    let o = rulecast(&["convert", s(&rules), "-t", "jq,nope"]);
    assert_eq!(o.status.code(), Some(2));
}

/// Saved queries are a capability of a backend: a target without one is refused by name.
#[test]
fn query_definition_needs_a_target_with_saved_queries() {
    let o = rulecast(&[
        "convert",
        "-t",
        "jq",
        "-f",
        "query-definition",
        "rules/sigma",
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("it needs -t cloudwatch, not jq"),
        "unexpected: {err}"
    );
}
