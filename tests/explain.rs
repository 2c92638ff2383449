//! `explain` and `catalog`: the seed rules' view checked field by field, snapshots over `rules/`,
//! and the CLI's exit codes and formats.

mod common;

use std::process::Command;

use common::*;
use rulecast::report::explain::{explain, Indicator};

fn ind(field: &str, kind: &str, values: &[&str]) -> Indicator {
    Indicator {
        field: field.into(),
        kind: kind.into(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
        negated: false,
    }
}

/// The Sigma seed (../shared/seeds/000_…): stages, exclusion and indicators as the catalog shows.
#[test]
fn sigma_seed_matches_the_catalog_page() {
    let path = root().join("rules/sigma/iam/iam_access_key_created.yml");
    let lf = load(&path);
    let rule = lf.rules[0].as_ref().expect("loads");
    let e = explain(rule, "seed");
    assert_eq!(e.title, "IAM Access Key Created");
    assert_eq!(e.level.as_deref(), Some("medium"));
    let names: Vec<&str> = e.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["condition", "selection", "not filter"]);
    assert_eq!(e.stages[0].text, ["selection and not filter"]);
    assert_eq!(
        e.stages[1].predicates,
        [
            ind("eventSource", "eq", &["iam.amazonaws.com"]),
            ind("eventName", "eq", &["CreateAccessKey"])
        ]
    );
    assert!(e.stages[2].negated);
    assert_eq!(
        e.stages[2].predicates,
        [ind("errorCode", "is_not_null", &[])]
    );
    assert_eq!(e.exclusions, [ind("errorCode", "is_not_null", &[])]);
    assert_eq!(
        e.indicators,
        [
            ind("eventName", "eq", &["CreateAccessKey"]),
            ind("eventSource", "eq", &["iam.amazonaws.com"])
        ]
    );
    assert_eq!(e.mitre, ["attack.persistence", "attack.t1098.001"]);
}

fn snap(dir: &str, name: &str, text: String) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots").join(dir));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.bind(|| insta::assert_snapshot!(name.to_owned(), text));
}

fn rulecast(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rulecast"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("runs")
}

/// `explain` over every shipped rule, and the catalog of the whole tree, pinned.
#[test]
fn explain_and_catalog_of_rules_are_pinned() {
    let o = rulecast(&[
        "explain",
        "rules",
        "--placeholders",
        "rules/placeholders.yml",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    snap(
        "explain",
        "rules",
        String::from_utf8_lossy(&o.stdout).into_owned(),
    );
    let o = rulecast(&[
        "catalog",
        "rules",
        "--placeholders",
        "rules/placeholders.yml",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let md = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        md.contains("| `iam.amazonaws.com:createaccesskey` |"),
        "actions table lists the seed's action"
    );
    snap("catalog", "rules", md);
}

#[test]
fn catalog_counts_shared_indicators_and_actions() {
    let dir = std::env::temp_dir().join(format!("rulecast-catalog-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let rule = |title: &str, name: &str, extra: &str| {
        format!("title: {title}\nlogsource: {{product: aws, service: cloudtrail}}\nlevel: high\ntags: [attack.persistence]\ndetection:\n  sel:\n    eventSource: iam.amazonaws.com\n    eventName: {name}\n{extra}  condition: sel\n")
    };
    std::fs::write(dir.join("a.yml"), rule("A", "CreateUser", "")).expect("w");
    std::fs::write(dir.join("b.yml"), rule("B", "createuser", "")).expect("w");
    std::fs::write(dir.join("c.yml"), "title: C\nlogsource: {product: aws}\ndetection:\n  sel:\n    userAgent|contains: curl\n  condition: sel\n").expect("w");
    let out = dir.join("catalog.json");
    let o = rulecast(&[
        "catalog",
        dir.to_str().expect("utf-8"),
        "-f",
        "json",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stdout.is_empty(), "-o writes the file, not stdout");
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("written")).expect("json");
    let action = &c["actions"]["iam.amazonaws.com:createuser"];
    assert_eq!(action.as_array().map(Vec::len), Some(2), "{c}");
    assert_eq!(c["without_action"].as_array().map(Vec::len), Some(1));
    assert_eq!(c["by_level"]["high"], 2);
    assert_eq!(c["by_level"]["unspecified"], 1);
    assert_eq!(c["by_tactic"]["Persistence"], 2);
    let a = &c["rules"][0];
    let name_ind = a["indicators"]
        .as_array()
        .expect("list")
        .iter()
        .find(|i| i["field"] == "eventName")
        .expect("eventName");
    assert_eq!(
        name_ind["corpus"], 2,
        "CreateUser and createuser count as one indicator"
    );
}

#[test]
fn explain_formats_and_exit_codes() {
    let o = rulecast(&[
        "explain",
        "rules/sigma/iam/iam_access_key_created.yml",
        "-f",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one json object");
    assert_eq!(v["exclusions"][0]["kind"], "is_not_null");
    let o = rulecast(&[
        "explain",
        "rules/sigma/iam/iam_access_key_created.yml",
        "-f",
        "markdown",
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("| errorCode | is_not_null |  |"));
    let o = rulecast(&["explain", "tests/fixtures/invalid/unknown_identifier.yml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("error[E301]"));
    let o = rulecast(&["explain", "/no/such/dir"]);
    assert_eq!(o.status.code(), Some(2));
    let empty = std::env::temp_dir().join(format!("rulecast-empty-{}", std::process::id()));
    std::fs::create_dir_all(&empty).expect("dir");
    let o = rulecast(&["catalog", empty.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2), "a directory without rules");
}

#[test]
fn markdown_report_has_every_built_target() {
    let o = rulecast(&[
        "convert",
        "-f",
        "markdown",
        "rules/sigma/iam/iam_access_key_created.yml",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.starts_with("## IAM Access Key Created\n"));
    assert!(md.contains("- MITRE ATT&CK: attack.persistence, attack.t1098.001"));
    assert!(md.contains("- Legitimate key rotation by administrators or automation"));
    for t in built_targets() {
        assert!(md.contains(&format!("### {}\n", t.name())), "{md}");
    }
    assert!(md.contains("```jq\n"));
    let o = rulecast(&["convert", "-f", "markdown", "-o", "/tmp/x", "rules"]);
    assert_eq!(o.status.code(), Some(2));
}

/// A small tree with both formats: a Sigma and a Panther rule detect the same call (the Panther
/// one without naming its eventSource), a rule with no action filter, and a Panther rule alone on
/// its call.
#[test]
fn catalog_of_a_mixed_tree_joins_formats_on_the_same_action() {
    let o = rulecast(&["catalog", "tests/fixtures/catalog-mixed", "-f", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let both = c["actions"]["iam.amazonaws.com:createaccesskey"]
        .as_array()
        .expect("the call has a group");
    assert_eq!(both.len(), 2, "{c}");
    assert!(both[0].as_str().is_some_and(|s| s.contains("sigma/")));
    assert!(both[1].as_str().is_some_and(|s| s.contains("panther/")));
    assert!(
        c["actions"].get("*:createaccesskey").is_none(),
        "the source-less Panther rule joins the Sigma rule's group: {c}"
    );
    assert!(
        c["actions"].get("*:consolelogin").is_some(),
        "a call no rule names a source for keeps its own group"
    );
    assert_eq!(c["without_action"].as_array().map(Vec::len), Some(1));
    let formats: Vec<&str> = c["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["format"].as_str())
        .collect();
    assert_eq!(formats, ["panther", "panther", "sigma", "sigma"]);
    let shared = c["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .flat_map(|r| r["indicators"].as_array().cloned().unwrap_or_default())
        .filter(|i| i["value"] == "CreateAccessKey")
        .map(|i| i["corpus"].as_u64())
        .collect::<Vec<_>>();
    assert_eq!(shared, [Some(2), Some(2)], "counted across formats");
    assert_eq!(c["by_tactic"]["Persistence"], 2);
    let o = rulecast(&["catalog", "tests/fixtures/catalog-mixed"]);
    assert_eq!(o.status.code(), Some(0));
    snap(
        "catalog",
        "mixed",
        String::from_utf8_lossy(&o.stdout).into_owned(),
    );
}
