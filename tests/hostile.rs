//! Hostile rule text outside queries: diagnostics and every other text the command line prints
//! cannot drive a terminal or forge a line, and the Markdown reports cannot gain HTML or
//! structure from a rule.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rulecast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rulecast"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rulecast-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write");
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A control, bidirectional or other invisible character other than the line break ending each
/// line.
fn hidden_in(out: &str) -> Option<char> {
    out.chars()
        .find(|&c| c != '\n' && rulecast::escape::is_hidden(c))
}

const FORGED: &str = "fake.yml:1:1: error[E000]: forged";

/// The rules of the issue: an ESC/OSC `level:` that would retitle the terminal, clear it and
/// forge a diagnostic; an unknown modifier doing the same; a file whose name holds a line break.
fn hostile_tree() -> PathBuf {
    let d = temp_dir("diag");
    write(
        &d,
        "level.yml",
        &format!(
            "title: t\nlevel: \"\\e]0;pwned\\a\\e[2J\\u202e\\n{FORGED}\"\nlogsource: {{product: aws}}\ndetection:\n  sel:\n    eventName: x\n  condition: sel\n"
        ),
    );
    write(
        &d,
        "modifier.yml",
        &format!(
            "title: t\nlogsource: {{product: aws}}\ndetection:\n  sel:\n    \"eventName|x\\e[2J\\r\\n{FORGED}\": x\n  condition: sel\n"
        ),
    );
    write(
        &d,
        &format!("name\n{FORGED}\u{1b}[2J.yml"),
        "title: t\nlogsource: {product: aws}\ndetection:\n  sel:\n    eventName: x\n  condition: nope\n",
    );
    d
}

#[test]
fn diagnostics_are_one_line_each_with_nothing_hidden() {
    let d = hostile_tree();
    for cmd in ["convert", "explain", "catalog"] {
        let o = rulecast(&[cmd, s(&d)]);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        let err = text(&o.stderr);
        assert_eq!(hidden_in(&err), None, "{cmd}: {err:?}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 3, "{cmd}: one line per diagnostic:\n{err}");
        for l in &lines {
            assert!(l.starts_with(s(&d)), "{cmd}: {l}");
            assert!(!l.starts_with(FORGED), "{cmd}: {l}");
            assert_eq!(l.matches(": error[").count(), 2, "{cmd}: {l}");
        }
        assert!(
            err.contains(r"\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}\nfake.yml"),
            "{cmd}: the level is shown escaped: {err}"
        );
        assert!(err.contains(r"name\nfake.yml"), "{cmd}: {err}");
    }
    // JSON lines were safe already and are unchanged: the message as it is, JSON-escaped.
    let o = rulecast(&["convert", "-f", "json", s(&d)]);
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.contains(r"\u001b]0;pwned\u0007\u001b[2J"), "{out}");
}

#[test]
fn test_and_explain_text_escape_rule_text() {
    let d = temp_dir("text");
    write(
        &d,
        "r.yml",
        "title: \"T\\e]0;pwned\\a\\nforged line\\u202e\"\nid: \"i\\e[2J\"\nlogsource: {product: aws}\ndetection:\n  sel:\n    \"eventName\\u202e\": \"v\\e[31m\\nx\"\n  condition: sel\nfields: [\"f\\r\\ng\"]\ntags: [\"attack.\\e[2J\"]\n",
    );
    write(
        &d,
        "r.tests.yml",
        "Tests:\n  - Name: \"wrong\\e]0;pwned\\a\\nFAIL forged :: x: expected true\\u202e\"\n    ExpectedResult: true\n    Log: {\"eventName\": \"other\"}\n",
    );
    let o = rulecast(&["test", s(&d)]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert_eq!(hidden_in(&out), None, "{out:?}");
    assert_eq!(out.lines().count(), 2, "a FAIL line and the summary: {out}");
    assert!(
        out.contains(
            r"wrong\u{1b}]0;pwned\u{7}\nFAIL forged :: x: expected true\u{202e}: expected true"
        ),
        "{out}"
    );

    let o = rulecast(&["explain", s(&d)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert_eq!(hidden_in(&out), None, "{out:?}");
    assert!(
        out.starts_with("T\\u{1b}]0;pwned\\u{7}\\nforged line\\u{202e}\n"),
        "{out}"
    );
    assert!(out.contains(r"id: i\u{1b}[2J"), "{out}");
    assert!(
        out.contains(r"eventName\u{202e}  eq  v\u{1b}[31m\nx"),
        "{out}"
    );
    assert!(out.contains(r"  f\r\ng"), "{out}");
    assert!(out.contains(r"  attack.\u{1b}[2J"), "{out}");
}

/// `convert -o DIR --check` names the files it would write after the rule files: a name holding a
/// line break or an escape sequence is shown escaped in the diff headers.
#[test]
fn check_output_escapes_file_names() {
    let d = temp_dir("check");
    let rules = d.join("rules");
    std::fs::create_dir_all(&rules).expect("dir");
    write(
        &rules,
        &format!("x\n+++ {FORGED}\u{1b}[2J.yml"),
        "title: t\nlogsource: {product: aws}\ndetection:\n  sel:\n    eventName: x\n  condition: sel\n",
    );
    let out_dir = d.join("out");
    let o = rulecast(&["convert", s(&rules), "-o", s(&out_dir), "--check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert_eq!(hidden_in(&out), None, "{out:?}");
    assert!(
        out.contains(r"x\n+++ fake.yml:1:1: error[E000]: forged\u{1b}[2J.jq (generated)"),
        "{out}"
    );
    assert!(!out.lines().any(|l| l.starts_with("+++ fake")), "{out}");
}
