//! Snapshots of every shipped rule: its IR, and its query for every built target (an unsupported
//! result is snapshotted as its error). Snapshots live in the top-level `snapshots/` folder.

mod common;

use std::collections::BTreeSet;

use common::*;
use rulecast::backend::Target;

fn settings(dir: &str, input: &std::path::Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("snapshots").join(dir));
    s.set_prepend_module_to_snapshot(false);
    // glob! names snapshots after the input; ours are named by the rule path instead.
    s.remove_snapshot_suffix();
    s.set_input_file(input);
    s.set_omit_expression(true);
    s
}

/// Every rule file under `rules/` (insta's glob: failures are collected and reported together).
#[test]
fn snapshots_of_every_rule() {
    insta::glob!("../rules", "**/*.y*ml", |path| {
        if !rulecast::discover::is_rule_file(path) {
            return;
        }
        let lf = load(path);
        let name = snapshot_name(path);
        let ir: Vec<serde_json::Value> = lf
            .rules
            .iter()
            .map(|r| match r {
                Ok(rule) => serde_json::to_value(rule).unwrap_or_default(),
                Err(d) => serde_json::Value::String(d.clone().in_file(&lf.file).to_string()),
            })
            .collect();
        settings("ir", path).bind(|| insta::assert_yaml_snapshot!(name.clone(), ir));
        for target in built_targets() {
            let text: String = render_file(&lf, target)
                .into_iter()
                .map(|r| r.unwrap_or_else(|e| format!("error: {e}\n")))
                .collect::<Vec<_>>()
                .join("\n");
            settings(target.name(), path).bind(|| insta::assert_snapshot!(name.clone(), text));
        }
    });
}

/// Every `.snap` file belongs to a rule that exists and a target (or `ir`) that is built, so a
/// renamed or deleted rule cannot leave a stale snapshot behind.
#[test]
fn no_orphan_snapshots() {
    let names: BTreeSet<String> = rule_files().iter().map(|p| snapshot_name(p)).collect();
    let mut dirs: Vec<String> = built_targets()
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    dirs.push("ir".into());
    let snap_root = root().join("snapshots");
    let mut orphans = Vec::new();
    for entry in std::fs::read_dir(&snap_root)
        .into_iter()
        .flatten()
        .flatten()
    {
        let dir = entry.file_name().to_string_lossy().into_owned();
        if ["errors", "cli", "explain", "catalog", "bundle"].contains(&dir.as_str()) {
            continue;
        }
        for snap in std::fs::read_dir(entry.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let file = snap.file_name().to_string_lossy().into_owned();
            let Some(stem) = file.strip_suffix(".snap") else {
                continue;
            };
            if !dirs.contains(&dir) || !names.contains(stem) {
                orphans.push(format!("{dir}/{file}"));
            }
        }
    }
    assert!(
        orphans.is_empty(),
        "snapshots without a rule or target: {orphans:#?}"
    );
}

/// The shipped rules all convert to every built target, but for the few CloudWatch cannot take
/// (listed with their reasons in `CLOUDWATCH_UNSUPPORTED`), which their snapshots pin.
#[test]
fn shipped_rules_convert() {
    let mut failures = Vec::new();
    for path in rule_files() {
        let lf = load(&path);
        for target in built_targets() {
            for r in render_file(&lf, target) {
                match r {
                    Err(e) if target == Target::Cloudwatch && known_unsupported(&path, &e) => {}
                    Err(e) => failures.push(e),
                    Ok(_) => {}
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// All SigmaHQ CloudTrail rules convert to jq (when the corpus is beside the repo).
#[test]
fn sigmahq_corpus_converts_to_jq() {
    let Some(dir) = shared_corpus("sigmahq-cloudtrail") else {
        return;
    };
    let (files, errors) = rulecast::discover::rule_files(&[dir]);
    assert!(errors.is_empty());
    assert_eq!(files.len(), 57);
    let mut failures = Vec::new();
    for f in &files {
        let lf = rulecast::load_path(f, &Default::default()).expect("reads");
        for r in render_file(&lf, rulecast::backend::Target::Jq) {
            match r {
                Ok(q) => {
                    if let Err(e) = rulecast::backend::jq::exec::JqProgram::compile(&q) {
                        failures.push(format!("{}: {e}", f.display()));
                    }
                }
                Err(e) => failures.push(e),
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
