//! Custom templates (`--templates DIR`) and field mappings (`--mapping FILE`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rulecast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rulecast"))
        .current_dir(common::root())
        .args(args)
        .output()
        .expect("runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rulecast-custom-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("dir");
    d
}

fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().expect("parent")).expect("dir");
    std::fs::write(p, text).expect("write");
}

const SEED: &str = "rules/sigma/iam/iam_access_key_created.yml";

#[test]
fn a_template_overrides_the_builtin_by_name() {
    let d = temp("tpl");
    write(
        &d.join("jq/filter.jq.j2"),
        "# team header: {{ title }} [{{ level }}]\n.Records[] | select({{ condition }})\n",
    );
    let o = rulecast(&["convert", SEED, "--templates", d.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.starts_with("# team header: IAM Access Key Created [medium]\n.Records[] | select("),
        "{out}"
    );
    // Another target keeps its built-in template.
    let o = rulecast(&[
        "convert",
        SEED,
        "-t",
        "athena",
        "--templates",
        d.to_str().expect("utf-8"),
    ]);
    assert!(text(&o.stdout).contains("SELECT"));
}

#[test]
fn template_errors_name_the_template_file_and_line() {
    let d = temp("tpl-bad");
    let t = d.join("jq/filter.jq.j2");
    write(&t, "# ok\n{{ condition }}\n{% if %}\n");
    let o = rulecast(&["convert", SEED, "--templates", d.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.starts_with(&format!("{}:3:1: error[E501]: template", t.display())),
        "{err}"
    );
    write(&t, "{{ no_such_variable }}\n");
    let o = rulecast(&["convert", SEED, "--templates", d.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("undefined value"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn template_metadata_is_escaped_for_the_target() {
    let d = temp("tpl-meta");
    let rule = d.join("r.yml");
    write(
        &rule,
        "title: \"evil\\n.Records[] | halt_error\\\\\"\nlogsource: {product: aws}\ndetection:\n  s: {eventName: X}\n  condition: s\n",
    );
    let o = rulecast(&["convert", rule.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let q = text(&o.stdout);
    let header = q.lines().next().expect("a line");
    assert!(
        header.starts_with("# evil .Records[] | halt_error\\\\"),
        "{header}"
    );
    let program =
        rulecast::backend::jq::exec::JqProgram::compile(&q).expect("still a valid program");
    assert_eq!(
        program
            .run(&serde_json::json!({"eventName": "x"}))
            .expect("runs")
            .len(),
        1
    );
}

#[test]
fn a_mapping_renames_fields_adds_a_condition_and_picks_the_table() {
    let d = temp("map");
    let m = d.join("m.yml");
    write(
        &m,
        "fields:\n  eventName:\n    jq: detail.eventName\ncondition:\n  awsRegion: eu-west-1\nlogsources:\n  - logsource: {product: aws}\n    table: prod_trail\n",
    );
    let o = rulecast(&["convert", SEED, "--mapping", m.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let q = text(&o.stdout);
    assert!(q.contains("rc_vals([\"detail\",\"eventName\"])"), "{q}");
    assert!(q.contains("rc_vals([\"awsRegion\"])"), "{q}");
    let program = rulecast::backend::jq::exec::JqProgram::compile(&q).expect("compiles");
    let hit = serde_json::json!({"eventSource": "iam.amazonaws.com", "detail": {"eventName": "CreateAccessKey"}, "awsRegion": "eu-west-1"});
    assert_eq!(program.run(&hit).expect("runs").len(), 1);
    let other_region = serde_json::json!({"eventSource": "iam.amazonaws.com", "detail": {"eventName": "CreateAccessKey"}, "awsRegion": "us-east-1"});
    assert!(program.run(&other_region).expect("runs").is_empty());
    let o = rulecast(&[
        "convert",
        SEED,
        "-t",
        "athena",
        "--mapping",
        m.to_str().expect("utf-8"),
    ]);
    assert!(
        text(&o.stdout).contains("FROM prod_trail"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn mapping_errors_name_the_mapping_file() {
    let d = temp("map-bad");
    let m = d.join("m.yml");
    write(&m, "table: t\nfeilds:\n  a: b\n");
    let o = rulecast(&["convert", SEED, "--mapping", m.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.starts_with(&format!(
            "{}:2:1: error[E305]: unknown key 'feilds'",
            m.display()
        )),
        "{err}"
    );
    write(&m, "condition:\n  eventName|contans: x\n");
    let o = rulecast(&["convert", SEED, "--mapping", m.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(":2:3: error[E303]"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn shipped_mapping_examples_load() {
    for f in [
        "docs/mappings/account-scope.yml",
        "docs/mappings/security-lake.yml",
    ] {
        let o = rulecast(&["convert", SEED, "-t", "athena", "--mapping", f]);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", text(&o.stderr));
    }
}
