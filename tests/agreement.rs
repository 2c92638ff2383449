//! Every shipped rule's test events: the reference evaluator gives the expected result, and the
//! jq filter agrees with it when executed by jaq (in-process) and by the system `jq` binary
//! (when one is on PATH; CI installs Debian's jq 1.6). Finding the tests and running them through
//! the evaluator and jaq is the library's test runner ([`rulecast::ruletest::run`]), the one
//! `rulecast test` uses.

mod common;

use common::*;
use rulecast::backend::jq::exec::JqProgram;
use rulecast::backend::Target;
use rulecast::ruletest::run::Runner;

#[test]
fn evaluator_and_jq_agree_on_every_test_event() {
    let use_jq = system_jq();
    if !use_jq {
        eprintln!("note: no system jq on PATH; checking jaq only");
    }
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut files_with_tests = 0;
    for path in rule_files() {
        let Some(cases) = cases(&path) else { continue };
        files_with_tests += 1;
        let lf = load(&path);
        let runner = Runner::new(&lf).unwrap_or_else(|problems| {
            let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
            panic!(
                "{}: a rule did not convert:\n{}",
                path.display(),
                problems.join("\n")
            )
        });
        assert!(!cases.is_empty(), "{}: empty tests file", path.display());
        // Every case, mocked or not: the evaluator and jq must agree even where Panther mocks.
        for case in &cases {
            checked += 1;
            let verdicts = runner.run(&case.log);
            let by_eval = verdicts.evaluator;
            if by_eval != case.expected {
                failures.push(format!(
                    "{} :: {}: evaluator says {by_eval}",
                    rel(&path),
                    case.name
                ));
            }
            let mut by_jaq = false;
            for run in &verdicts.jq_runs {
                match run {
                    Ok(out) => {
                        if !out.is_empty() {
                            assert_eq!(out, &vec![case.log.clone()], "jq outputs the event itself");
                            by_jaq = true;
                        }
                    }
                    Err(e) => {
                        failures.push(format!("{} :: {}: jaq error {e}", rel(&path), case.name))
                    }
                }
            }
            if by_jaq != by_eval {
                failures.push(format!(
                    "{} :: {}: jaq says {by_jaq}, evaluator {by_eval}",
                    rel(&path),
                    case.name
                ));
            }
            if use_jq {
                let mut by_jq = false;
                for f in runner.filters() {
                    match run_system_jq(f, &case.log) {
                        Ok(out) => by_jq |= !out.is_empty(),
                        Err(e) => {
                            failures.push(format!("{} :: {}: jq error {e}", rel(&path), case.name))
                        }
                    }
                }
                if by_jq != by_eval {
                    failures.push(format!(
                        "{} :: {}: jq says {by_jq}, evaluator {by_eval}",
                        rel(&path),
                        case.name
                    ));
                }
            }
        }
    }
    assert!(files_with_tests > 0 && checked > 0, "no rule tests found");
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A whole CloudTrail file (`{"Records": [...]}`) goes through the filter in one run, and the
/// wrapper itself is never emitted, not even for an empty `Records`.
#[test]
fn jq_reads_records_files_and_json_lines() {
    let path = root().join("rules/sigma/iam/iam_access_key_created.yml");
    let lf = load(&path);
    let filter = render_file(&lf, Target::Jq).remove(0).expect("renders");
    let program = JqProgram::compile(&filter).expect("compiles");
    let hit =
        serde_json::json!({"eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey"});
    let miss = serde_json::json!({"eventSource": "iam.amazonaws.com", "eventName": "CreateUser"});
    let file = serde_json::json!({"Records": [miss.clone(), hit.clone(), hit.clone()]});
    assert_eq!(
        program.run(&file).expect("runs"),
        vec![hit.clone(), hit.clone()]
    );
    assert!(program
        .run(&serde_json::json!({"Records": []}))
        .expect("runs")
        .is_empty());
    assert_eq!(
        program
            .run(&serde_json::json!([hit.clone(), miss.clone()]))
            .expect("runs"),
        vec![hit.clone()]
    );
    assert_eq!(program.run(&hit).expect("runs"), vec![hit.clone()]);
    assert!(program.run(&miss).expect("runs").is_empty());
    if system_jq() {
        assert_eq!(
            run_system_jq(&filter, &file).expect("jq runs"),
            vec![hit.clone(), hit]
        );
    }
}
