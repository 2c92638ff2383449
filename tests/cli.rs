//! The command line as users and CI jobs run it: exit codes, stdout, stderr, files.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::run::{rulecast, rulecast_stdin, s, temp_dir, text, write};

const GOOD: &str = "title: Good rule\nid: 11111111-2222-4333-8444-555555555555\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    eventName: CreateUser\n  condition: sel\nlevel: low\n";
const BAD: &str = "title: Bad rule\nlogsource: {product: aws}\ndetection:\n  sel:\n    eventName: X\n  condition: sel and nope\n";

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

/// Run rulecast with stdin closed; a run that takes over a minute (a walk that loops, a FIFO
/// opened for reading) is killed and fails the test instead of hanging it.
fn rulecast_in_time(args: &[&str]) -> Output {
    use std::io::Read;
    use std::time::{Duration, Instant};
    let mut child = Command::new(env!("CARGO_BIN_EXE_rulecast"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("waits") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rulecast {args:?} did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// A rule like GOOD with another title.
fn titled(title: &str) -> String {
    GOOD.replace("Good rule", title)
}

/// The `path` of each JSON line of `convert -f json`.
fn json_paths(stdout: &[u8]) -> Vec<String> {
    text(stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            v["path"].as_str().expect("path").to_owned()
        })
        .collect()
}

/// Every regular file under `dir`, by path relative to it, with its bytes.
fn dir_contents(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("reads dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).expect("under base");
                out.insert(
                    rel.to_string_lossy().into_owned(),
                    std::fs::read(&p).expect("reads"),
                );
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo")
        .arg(p)
        .status()
        .expect("mkfifo runs")
        .success();
    assert!(ok, "mkfifo {}", p.display());
}

/// Two links to `.` used to make the walk loop until memory ran out, one link loop converted the
/// same rule dozens of times: every directory is now searched once, and a link back to an
/// enclosing directory is skipped with a note.
#[cfg(unix)]
#[test]
fn walk_skips_symlink_loops_and_converts_each_rule_once() {
    use std::os::unix::fs::symlink;
    let d = temp_dir("walk-loops");
    let rules = d.join("rules");
    write(&rules, "a.yml", GOOD);
    write(&rules, "sub/b.yml", &titled("B"));
    symlink(".", rules.join("self1")).expect("symlink");
    symlink(".", rules.join("self2")).expect("symlink");
    symlink("..", rules.join("sub/up")).expect("symlink");
    let o = rulecast_in_time(&["convert", "-f", "json", s(&rules)]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(
        json_paths(&o.stdout),
        [s(&rules.join("a.yml")), s(&rules.join("sub/b.yml"))]
    );
    for link in ["self1", "self2", "sub/up"] {
        assert!(
            err.contains(&format!(
                "{}: note: skipped: leads back to an enclosing directory",
                rules.join(link).display()
            )),
            "{link}: {err}"
        );
    }
    // The same directory given twice is searched once.
    let o = rulecast_in_time(&["convert", "-f", "json", s(&rules), s(&rules)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(json_paths(&o.stdout).len(), 2);
}

/// A symbolic link in a rule tree (to a directory or a rule file) is followed only when it stays
/// inside the directories given: a pull request cannot make rulecast read `/etc` or a
/// credentials file. A link to a directory searched anyway is not searched twice.
#[cfg(unix)]
#[test]
fn walk_follows_symlinks_only_inside_the_given_directories() {
    use std::os::unix::fs::symlink;
    let d = temp_dir("walk-outside");
    let rules = d.join("rules");
    let outside = d.join("outside");
    write(&rules, "a.yml", GOOD);
    write(&rules, ".shared/s.yml", &titled("Shared"));
    write(&outside, "secret.yml", &titled("Outside"));
    symlink(".shared", rules.join("shared")).expect("symlink");
    symlink("../outside", rules.join("ext")).expect("symlink");
    symlink("../outside/secret.yml", rules.join("leak.yml")).expect("symlink");
    symlink("/", rules.join("root")).expect("symlink");
    let o = rulecast_in_time(&["convert", "-f", "json", s(&rules)]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(
        json_paths(&o.stdout),
        [s(&rules.join("a.yml")), s(&rules.join("shared/s.yml"))]
    );
    assert!(!text(&o.stdout).contains("Outside"));
    for link in ["ext", "leak.yml", "root"] {
        let note = format!(
            "{}: note: skipped: symbolic link to ",
            rules.join(link).display()
        );
        assert!(
            err.lines()
                .any(|l| l.starts_with(&note) && l.ends_with("outside the directories given")),
            "{link}: {err}"
        );
    }
    // With `outside` given too, the linked file is inside; the linked directory is `outside`
    // itself, searched as given rather than a second time through the link.
    let o = rulecast_in_time(&["convert", "-f", "json", s(&rules), s(&outside)]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(
        json_paths(&o.stdout),
        [
            s(&rules.join("a.yml")),
            s(&rules.join("leak.yml")),
            s(&rules.join("shared/s.yml")),
            s(&outside.join("secret.yml")),
        ]
    );
    assert!(
        err.contains(&format!(
            "{}: note: skipped: a directory already searched",
            rules.join("ext").display()
        )),
        "{err}"
    );
}

/// A FIFO named like a rule used to hang the run: only regular files are opened. In a tree it
/// is skipped with a note; named on the command line it is an I/O error.
#[cfg(unix)]
#[test]
fn walk_never_opens_special_files() {
    let d = temp_dir("walk-fifo");
    mkfifo(&d.join("x.yml"));
    write(&d, "y.yml", GOOD);
    let o = rulecast_in_time(&["convert", "-f", "json", s(&d)]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(json_paths(&o.stdout), [s(&d.join("y.yml"))]);
    assert!(
        err.contains(&format!(
            "{}: note: skipped: not a regular file (a FIFO)",
            d.join("x.yml").display()
        )),
        "{err}"
    );
    let o = rulecast_in_time(&["convert", s(&d.join("x.yml"))]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error[E001]: not a regular file (a FIFO)"),
        "{err}"
    );
    // `rulecast test` walks the same way.
    let o = rulecast_in_time(&["test", s(&d)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// A directory that cannot be read used to end the walk, so later rules were skipped behind a
/// false "no rule files": it is now an I/O error for that directory (exit 2) and the walk goes
/// on. Two unreadable directories: one without permissions (which root ignores), one whose path
/// is longer than the system's path limit (which nobody can read by that path).
#[cfg(target_os = "linux")]
#[test]
fn unreadable_directory_is_reported_and_the_walk_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let d = temp_dir("walk-unreadable");
    write(&d, "a_locked/hidden_rule.yml", GOOD);
    write(&d, "c.yml", &titled("C"));
    let deep = d.join("b_deep");
    std::fs::create_dir_all(&deep).expect("dir");
    // GNU `mkdir -p` makes a path longer than PATH_MAX one directory at a time.
    let chain = format!("{}/", "n".repeat(200)).repeat(25);
    let made = Command::new("mkdir")
        .arg("-p")
        .arg(&chain)
        .current_dir(&deep)
        .status()
        .expect("mkdir runs")
        .success();
    assert!(made, "deep directories");
    let locked = d.join("a_locked");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let lock_holds = std::fs::read_dir(&locked).is_err();
    let o = rulecast_in_time(&["convert", "-f", "json", s(&d)]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let paths = json_paths(&o.stdout);
    assert!(paths.contains(&s(&d.join("c.yml")).to_owned()), "{paths:?}");
    assert!(!err.contains("no rule files"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with(s(&deep)) && l.contains("error[E001]: cannot read directory")),
        "{err}"
    );
    if lock_holds {
        assert!(
            err.contains(&format!(
                "{}:1:1: error[E001]: cannot read directory",
                locked.display()
            )),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// An output file that is a symbolic link used to be written through, overwriting the file it
/// points at: -o now writes a new file and renames it over the link.
#[cfg(unix)]
#[test]
fn output_dir_replaces_symlinks_instead_of_writing_through_them() {
    use std::os::unix::fs::symlink;
    let d = temp_dir("out-symlink");
    let rules = d.join("rules");
    let out = d.join("out");
    write(&rules, "good.yml", GOOD);
    let victim = write(&d, "victim.txt", "SECRET\n");
    std::fs::create_dir_all(out.join("jq")).expect("dir");
    symlink(&victim, out.join("jq/good.jq")).expect("symlink");
    // --check says the link would be replaced, without reading what it points at.
    let o = rulecast_in_time(&["convert", s(&rules), "-o", s(&out), "--check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let diff = text(&o.stdout);
    assert!(
        diff.contains("good.jq is a symbolic link: -o would replace it"),
        "{diff}"
    );
    assert!(!diff.contains("SECRET"), "{diff}");
    let o = rulecast_in_time(&["convert", s(&rules), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(&victim).expect("victim"),
        "SECRET\n"
    );
    let written = out.join("jq/good.jq");
    let m = std::fs::symlink_metadata(&written).expect("written");
    assert!(m.is_file(), "a regular file replaces the link");
    assert!(std::fs::read_to_string(&written)
        .expect("reads")
        .contains("# Good rule"));
    // No temporary file is left behind, and the tree now checks clean.
    let names: Vec<_> = std::fs::read_dir(out.join("jq"))
        .expect("reads")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["good.jq"]);
    let o = rulecast_in_time(&["convert", s(&rules), "-o", s(&out), "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
}

/// A target directory inside the output directory that links outside it is refused, for
/// writing and for --check (which would print the files it finds there).
#[cfg(unix)]
#[test]
fn output_dir_refuses_a_target_directory_linked_outside() {
    use std::os::unix::fs::symlink;
    let d = temp_dir("out-dirlink");
    let rules = d.join("rules");
    let out = d.join("out");
    let elsewhere = d.join("elsewhere");
    write(&rules, "good.yml", GOOD);
    write(&elsewhere, "good.jq", "SECRET\n");
    std::fs::create_dir_all(&out).expect("dir");
    symlink(&elsewhere, out.join("jq")).expect("symlink");
    for check in [false, true] {
        let mut args = vec!["convert", s(&rules), "-o", s(&out)];
        if check {
            args.push("--check");
        }
        let o = rulecast_in_time(&args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "{}:1:1: error[E001]: refusing to write through a symbolic link to ",
                out.join("jq").display()
            )),
            "{err}"
        );
        assert!(!text(&o.stdout).contains("SECRET"));
        assert_eq!(
            std::fs::read_to_string(elsewhere.join("good.jq")).expect("kept"),
            "SECRET\n"
        );
    }
    // A link to a directory inside the output directory is fine.
    std::fs::remove_file(out.join("jq")).expect("rm");
    std::fs::create_dir_all(out.join("jq-real")).expect("dir");
    symlink("jq-real", out.join("jq")).expect("symlink");
    let o = rulecast_in_time(&["convert", s(&rules), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(out.join("jq-real/good.jq").is_file());
}

/// --check reads only regular files: an extra file that is a link or a FIFO is reported by
/// name, never opened.
#[cfg(unix)]
#[test]
fn check_opens_no_link_or_special_file() {
    use std::os::unix::fs::symlink;
    let d = temp_dir("check-special");
    let rules = d.join("rules");
    let out = d.join("out");
    write(&rules, "good.yml", GOOD);
    let o = rulecast(&["convert", s(&rules), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let victim = write(&d, "victim.txt", "SECRET\n");
    symlink(&victim, out.join("jq/stale.jq")).expect("symlink");
    mkfifo(&out.join("jq/pipe.jq"));
    let o = rulecast_in_time(&["convert", s(&rules), "-o", s(&out), "--check"]);
    let diff = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{diff}{}", text(&o.stderr));
    assert!(!diff.contains("SECRET"), "{diff}");
    assert!(
        diff.contains("stale.jq (a symbolic link; no rule produces it)"),
        "{diff}"
    );
    assert!(
        diff.contains("pipe.jq (not a regular file; no rule produces it)"),
        "{diff}"
    );
}

/// Two rule files with the same name in different directories would write the same output file:
/// an error for one of them, and which one does not depend on the order they are given in.
#[test]
fn two_rules_for_one_output_file_is_an_error_whatever_the_order() {
    let d = temp_dir("clash");
    let a = write(&d, "a/r.yml", &titled("From a"));
    let b = write(&d, "b/r.yml", &titled("From b"));
    let mut written = Vec::new();
    for (i, args) in [[s(&a), s(&b)], [s(&b), s(&a)]].iter().enumerate() {
        let out = d.join(format!("out{i}"));
        let mut argv = vec!["convert", "-o", s(&out)];
        argv.extend(args);
        let o = rulecast(&argv);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        // The two copies share an id too: `check`'s warning, then the clash.
        let (warnings, errors): (Vec<&str>, Vec<&str>) = err
            .lines()
            .partition(|l| l.contains(": warning[C103]: id "));
        assert_eq!(warnings.len(), 1, "{err}");
        assert_eq!(
            errors[0],
            format!(
                "{}:1:1: error[E001]: output file jq/r.jq would also be written for {}; rename one rule file",
                b.display(),
                a.display()
            )
        );
        written.push(std::fs::read_to_string(out.join("jq/r.jq")).expect("written"));
    }
    assert!(written[0].contains("# From a"), "{}", written[0]);
    assert_eq!(written[0], written[1]);
}

/// Converting the same tree gives the same bytes: run after run, whatever order its files were
/// created in, and whatever order files are named on the command line.
#[test]
fn output_does_not_depend_on_run_creation_or_argument_order() {
    let d = temp_dir("determinism");
    let rules = d.join("rules");
    let files = [
        ("b.yml", "B"),
        ("a.yml", "A"),
        ("sub/c.yml", "C"),
        ("sub/a2.yml", "A2"),
        ("z/y.yml", "Y"),
        ("a b.yml", "Space"),
    ];
    let run = |out: &Path| {
        let o = rulecast(&["convert", "-t", "all", s(&rules)]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let w = rulecast(&["convert", "-t", "all", s(&rules), "-o", s(out)]);
        assert_eq!(w.status.code(), Some(0), "{}", text(&w.stderr));
        (o.stdout, dir_contents(out))
    };
    for (name, title) in files {
        write(&rules, name, &titled(title));
    }
    let first = run(&d.join("out1"));
    assert_eq!(first.1.len(), 3 * files.len());
    assert_eq!(run(&d.join("out2")), first, "a second run");
    std::fs::remove_dir_all(&rules).expect("rm");
    for (name, title) in files.iter().rev() {
        write(&rules, name, &titled(title));
    }
    assert_eq!(
        run(&d.join("out3")),
        first,
        "files created in reverse order"
    );
    // The order of the command line does not change the files -o writes.
    let (a, b) = (rules.join("a.yml"), rules.join("z/y.yml"));
    let o = rulecast(&["convert", "-t", "all", s(&b), s(&a), "-o", s(&d.join("ba"))]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = rulecast(&["convert", "-t", "all", s(&a), s(&b), "-o", s(&d.join("ab"))]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(dir_contents(&d.join("ab")), dir_contents(&d.join("ba")));
    assert_eq!(dir_contents(&d.join("ab")).len(), 6);
}

/// A write error on standard output (a full disk here; `completions` used to panic with exit
/// 101) is a clean error naming standard output, exit 2, for every command.
#[cfg(target_os = "linux")]
#[test]
fn write_errors_on_stdout_exit_2() {
    let d = temp_dir("dev-full");
    let rule = write(&d, "r.yml", GOOD);
    write(
        &d,
        "r.tests.yml",
        "Tests:\n  - Name: hit\n    ExpectedResult: true\n    Log: {\"eventName\": \"CreateUser\"}\n",
    );
    let r = s(&rule);
    let commands: [&[&str]; 9] = [
        &["completions", "bash"],
        &["targets"],
        &["convert", r],
        &["convert", "-f", "json", r],
        &["convert", "-f", "markdown", r],
        &["explain", r],
        &["catalog", r],
        &["test", r],
        &["convert", "-t", "cloudwatch", "-f", "query-definition", r],
    ];
    for args in commands {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full");
        let o = Command::new(env!("CARGO_BIN_EXE_rulecast"))
            .args(args)
            .stdout(full)
            .stderr(Stdio::piped())
            .output()
            .expect("runs");
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(
            err, "error: cannot write to standard output: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}

/// A reader that goes away is a write error too: the output is incomplete, so the run does not
/// claim success.
#[cfg(unix)]
#[test]
fn a_closed_stdout_pipe_exits_2() {
    let rules = common::root().join("rules");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rulecast"))
        .args(["convert", "-t", "all", s(&rules)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    // Far more than a pipe holds is printed; nobody reads it.
    drop(child.stdout.take());
    let o = child.wait_with_output().expect("runs");
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: cannot write to standard output: Broken pipe"),
        "{err}"
    );
}

/// `--limit 0` used to give Athena `LIMIT 0` (a query that never returns a row) and CloudWatch
/// one error per rule: it is a usage error for every target. A limit is otherwise printed as
/// given.
#[test]
fn limit_must_be_at_least_1_for_every_target() {
    let d = temp_dir("limit");
    let rule = write(&d, "r.yml", GOOD);
    // jq has no row limit: --limit with -t jq alone is refused rather than ignored.
    let o = rulecast(&["convert", "-t", "jq", "--limit", "1", s(&rule)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stderr),
        "error: --limit applies to -t athena or -t cloudwatch, not to -t jq\n"
    );
    for t in ["jq", "athena", "cloudwatch"] {
        let o = rulecast(&["convert", "-t", t, "--limit", "0", s(&rule)]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{t}: {err}");
        assert!(
            err.starts_with("error: invalid value '0' for '--limit <LIMIT>': must be at least 1"),
            "{t}: {err}"
        );
        assert!(o.stdout.is_empty());
        if t != "jq" {
            let o = rulecast(&["convert", "-t", t, "--limit", "1", s(&rule)]);
            assert_eq!(o.status.code(), Some(0), "{t}: {}", text(&o.stderr));
        }
    }
    let o = rulecast(&["convert", "-t", "athena", "--limit", "7", s(&rule)]);
    assert!(
        text(&o.stdout).contains("\nLIMIT 7\n"),
        "{}",
        text(&o.stdout)
    );
    let o = rulecast(&["convert", "-t", "cloudwatch", "--limit", "7", s(&rule)]);
    assert!(
        text(&o.stdout).contains("| limit 7\n"),
        "{}",
        text(&o.stdout)
    );
    // Past Trino's BIGINT: refused, not printed; a usage error, said once.
    let o = rulecast(&[
        "convert",
        "-t",
        "athena",
        "--limit",
        "18446744073709551615",
        s(&rule),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr).lines().count(), 1, "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("LIMIT takes 1 to 9223372036854775807"),
        "{}",
        text(&o.stderr)
    );
}

/// `--array-max 100000` used to run out of memory expanding lists: it is bounded, and the
/// usage error says by what.
#[test]
fn array_max_is_bounded() {
    let rule = common::root().join("rules/panther/aws_ec2_security_group_open_ingress.yml");
    for bad in ["0", "101", "100000"] {
        let o = rulecast(&["convert", "-t", "cloudwatch", "--array-max", bad, s(&rule)]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.starts_with(&format!(
                "error: invalid value '{bad}' for '--array-max <ARRAY_MAX>': must be between 1 and 100"
            )),
            "{err}"
        );
    }
    // The largest value runs (and is over the size limit of Logs Insights for this rule).
    let o = rulecast_in_time(&[
        "convert",
        "-t",
        "cloudwatch",
        "--array-max",
        "100",
        s(&rule),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("over the 10000-character limit"),
        "{}",
        text(&o.stderr)
    );
}

/// `convert` over many files (loaded on every core) prints exactly what converting each file on
/// its own prints, in file order.
#[test]
fn convert_over_many_files_keeps_order_and_bytes() {
    let files = common::rule_files();
    assert!(files.len() > 16, "enough files for several threads");
    let mut args = vec!["convert".to_owned(), "-t".to_owned(), "jq".to_owned()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let all = common::run::rulecast(&args);
    let mut one_by_one = Vec::new();
    for f in &files {
        let o = common::run::rulecast(&["convert", "-t", "jq", f.to_str().expect("utf-8")]);
        one_by_one.extend(o.stdout);
    }
    assert!(
        all.stdout == one_by_one,
        "convert over {} files differs from the files one by one",
        files.len()
    );
}
