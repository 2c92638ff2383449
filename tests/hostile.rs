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

/// A rule whose metadata and values try to add headings, list items, HTML, links and to close
/// code spans.
const MARKDOWN_RULE: &str = r#"title: "<script>alert(1)</script> T\n# Injected title heading #"
id: "x`y <b>"
description: "ok <img src=x onerror=alert(1)> & [link](http://evil/)\n# Injected description heading\n- injected item\n[ref]: http://evil/\n```\n<script>x</script>\n===\n\u202e"
tags:
  - "attack.persistence\n# Injected tag heading"
  - "attack.t1098 <img src=x onerror=alert(1)>"
falsepositives:
  - "fp\n## Injected fp heading"
  - "- nested <i>"
logsource: {product: aws, service: cloudtrail}
detection:
  sel:
    eventSource: "iam.amazonaws.com"
    eventName: "Create`Key` | x ```` y"
  condition: sel
fields: ["userName\n# Injected field heading"]
"#;

/// The lines of a Markdown text outside its fenced code blocks, each with whether it is in one;
/// fails when a fence in the text is not longer than the longest backtick run inside it.
fn outside_fences(md: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut fence: Option<(usize, Vec<&str>)> = None;
    for line in md.lines() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match &mut fence {
            Some((n, body)) => {
                if ticks >= *n && line.trim_start_matches('`').trim().is_empty() {
                    let longest = body
                        .iter()
                        .flat_map(|l| l.split(|c| c != '`'))
                        .map(str::len)
                        .max()
                        .unwrap_or(0);
                    assert!(*n > longest, "fence of {n} around a run of {longest}");
                    fence = None;
                } else {
                    body.push(line);
                }
            }
            None if ticks >= 3 => fence = Some((ticks, Vec::new())),
            None => out.push(line),
        }
    }
    assert!(fence.is_none(), "an unclosed fence in\n{md}");
    out
}

/// Checks every Markdown report of the hostile rule must pass: no HTML, no heading or list item
/// but ours, no link, no hidden character, code spans closed.
fn check_markdown(md: &str, headings: &[&str]) {
    assert_eq!(hidden_in(md), None, "{md:?}");
    let lines = outside_fences(md);
    let shown: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with('#'))
        .collect();
    assert_eq!(shown, headings, "{md}");
    for l in &lines {
        for bad in ["<script", "<img", "<b>", "<i>", "](http"] {
            assert!(!l.contains(bad), "{bad} in {l:?}\n{md}");
        }
        assert!(!l.starts_with("[ref]"), "{l}");
        assert!(!l.starts_with("- -") && !l.starts_with("- injected"), "{l}");
        assert!(!l.starts_with("==="), "{l}");
    }
}

#[test]
fn markdown_reports_escape_rule_text() {
    let d = temp_dir("md");
    let rule = write(&d, "r.yml", MARKDOWN_RULE);
    let title = r"## &lt;script&gt;alert(1)&lt;/script&gt; T \# Injected title heading \#";

    let o = rulecast(&["convert", "-f", "markdown", s(&rule)]);
    // CloudWatch cannot name the output field with a line break: its section says so, and the
    // diagnostic is one line.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    // One line for the error; the malformed tags are `check` warnings, one line each.
    let err = text(&o.stderr);
    let (errors, warnings): (Vec<&str>, Vec<&str>) =
        err.lines().partition(|l| l.contains(": error["));
    assert_eq!(errors.len(), 1, "{err}");
    assert_eq!(warnings.len(), 2, "{err}");
    assert!(
        warnings
            .iter()
            .all(|w| w.contains(": warning[C112]: tag 'attack.")),
        "{err}"
    );
    assert_eq!(hidden_in(&err), None, "{err:?}");
    let md = text(&o.stdout);
    assert!(
        md.contains("Not available: the field name \"userName\\\\n# Injected field heading\""),
        "{md}"
    );
    check_markdown(&md, &[title, "### jq", "### athena", "### cloudwatch"]);
    assert!(md.contains("- id: x\\`y &lt;b&gt;\n"), "{md}");
    assert!(
        md.contains("- MITRE ATT&CK: attack.persistence # Injected tag heading, attack.t1098 &lt;img src=x onerror=alert(1)&gt;\n"),
        "{md}"
    );
    assert!(
        md.contains("ok &lt;img src=x onerror=alert(1)&gt; &amp; [link]\\(http://evil/)\n\\# Injected description heading\n\\- injected item\n\\[ref]: http://evil/\n\\`\\`\\`\n&lt;script&gt;x&lt;/script&gt;\n\\===\n\\\\u{202e}\n"),
        "{md}"
    );
    assert!(
        md.contains("- fp ## Injected fp heading\n- \\- nested &lt;i&gt;\n"),
        "{md}"
    );
    assert!(
        md.contains("`````jq\n"),
        "the fence outlasts the value's ````: {md}"
    );

    let o = rulecast(&["explain", "-f", "markdown", s(&rule)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let md = text(&o.stdout);
    check_markdown(
        &md,
        &[
            title,
            "### Stages and predicates",
            "### Exclusions",
            "### Indicators",
            "### MITRE ATT&CK",
            "### Output fields",
        ],
    );
    assert!(md.contains("- userName # Injected field heading\n"), "{md}");
    assert!(
        md.contains("| eventName | eq | Create\\`Key\\` \\| x \\`\\`\\`\\` y |"),
        "{md}"
    );

    let o = rulecast(&["catalog", s(&d)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let md = text(&o.stdout);
    let catalog_title = title.replacen("##", "###", 1);
    check_markdown(
        &md,
        &[
            "# Detection catalog",
            "## Totals by level",
            "## Totals by MITRE ATT&CK tactic",
            "## Rules detecting the same action",
            "## Rules with no action filter",
            "## Rules",
            &catalog_title,
        ],
    );
    // The action (lowercased) in a code span whose fence outlasts its backtick runs, its `|`
    // escaped for the table: the row keeps its two cells.
    let row = md
        .lines()
        .find(|l| l.contains("iam.amazonaws.com:create"))
        .expect("the action's row");
    assert!(
        row.starts_with("| `````iam.amazonaws.com:create`key` \\| x ```` y````` | "),
        "{row}"
    );
    let cells = row
        .match_indices('|')
        .filter(|(i, _)| !row[..*i].ends_with('\\'));
    assert_eq!(cells.count(), 3, "{row}");
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
