//! Every shipped rule's test events: the reference evaluator gives the expected result (in both
//! its readings: shape-free, and by CloudTrail's documented shapes, which Athena reads by default
//! and `scripts/check-athena` runs against the same expected results), and each
//! target's oracle (jaq in-process, the system `jq` binary, the Logs Insights referee; see
//! `tests/common/oracle.rs`) selects exactly the events the shape-free evaluator selects. Finding the tests and running them through
//! the evaluator and jaq is the library's test runner ([`rulecast::ruletest::run`]), the one
//! `rulecast test` uses.

mod common;

use common::oracle;
use common::*;
use rulecast::backend::jq::exec::JqProgram;
use rulecast::backend::Target;
use rulecast::ruletest::run::Runner;

/// Every shipped rule's test events: the evaluator gives each test's expected result, and every
/// target's oracle ([`common::oracle`]) selects exactly what the evaluator selects (mocked cases
/// too: the evaluator and the queries must agree even where Panther mocks). A rule a target
/// cannot express is skipped for that target only when it is a known, listed refusal.
#[test]
fn every_oracle_agrees_with_the_evaluator_on_every_test_event() {
    let oracles = oracle::oracles();
    let mut failures = Vec::new();
    let mut checked = vec![0usize; oracles.len()];
    let mut files_with_tests = 0;
    for path in rule_files() {
        let Some(cases) = cases(&path) else { continue };
        assert!(!cases.is_empty(), "{}: empty tests file", path.display());
        // Tests with a list of events are a correlation's (tests/correlation.rs runs them).
        let cases: Vec<_> = cases.into_iter().filter(|c| c.logs.is_none()).collect();
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
        let by_eval: Vec<bool> = cases.iter().map(|c| runner.run(&c.log).evaluator).collect();
        for (case, got) in cases.iter().zip(&by_eval) {
            if *got != case.expected {
                failures.push(format!(
                    "{} :: {}: evaluator says {got}",
                    rel(&path),
                    case.name
                ));
            }
            // Test events follow CloudTrail's documentation: both readings give the same answer.
            let shaped = runner.run_with_shapes(&case.log);
            if shaped != case.expected {
                failures.push(format!(
                    "{} :: {}: evaluator with documented shapes says {shaped}",
                    rel(&path),
                    case.name
                ));
            }
        }
        for (o, count) in oracles.iter().zip(&mut checked) {
            // Correlation queries read every input at once: not per-event filters.
            let queries: Vec<_> = render_file(&lf, o.target())
                .into_iter()
                .zip(&lf.rules)
                .filter(|(_, r)| r.as_ref().map_or(true, |r| r.correlation.is_none()))
                .map(|(q, _)| q)
                .collect();
            // A file is checked whole (the evaluator answers for all its rules), so one known
            // refusal leaves the file out for this target.
            if queries
                .iter()
                .any(|q| q.as_ref().is_err_and(|e| known_unsupported(&path, e)))
            {
                continue;
            }
            let mut compiled = Vec::new();
            for query in queries {
                match query.and_then(|q| o.compile(&q).map_err(|e| format!("{e}\n{q}"))) {
                    Ok(c) => compiled.push(c),
                    Err(e) => failures.push(format!("{}: {}: {e}", rel(&path), o.name())),
                }
            }
            for (case, want) in cases.iter().zip(&by_eval) {
                *count += 1;
                let mut got = false;
                for c in &compiled {
                    match c.matches(&case.log) {
                        Ok(m) => got |= m,
                        Err(e) => failures.push(format!(
                            "{} :: {}: {} error {e}",
                            rel(&path),
                            case.name,
                            o.name()
                        )),
                    }
                }
                if got != *want {
                    failures.push(format!(
                        "{} :: {}: {} says {got}, evaluator {want}",
                        rel(&path),
                        case.name,
                        o.name()
                    ));
                }
            }
        }
    }
    for (o, n) in oracles.iter().zip(&checked) {
        eprintln!("{}: {n} events checked", o.name());
        assert!(*n > 0, "{}: no event checked", o.name());
    }
    assert!(files_with_tests > 0, "no rule tests found");
    assert!(
        failures.is_empty(),
        "{} checks failed:\n{}",
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
