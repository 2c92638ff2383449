//! Real CloudTrail records (the Stratus Red Team detonation logs in ../shared, when present): for
//! every shipped rule and every SigmaHQ CloudTrail rule, the jq filter run by jaq selects exactly
//! the records the reference evaluator selects.

mod common;

use common::*;
use rulecast::backend::jq::exec::JqProgram;
use rulecast::backend::Target;
use rulecast::eval::Evaluator;

fn records() -> Option<Vec<serde_json::Value>> {
    let dir = shared_corpus("stratus-detonation-logs")?;
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("the detonation logs directory reads")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let text = std::fs::read_to_string(&p).expect("a detonation log reads");
        let v: serde_json::Value = serde_json::from_str(&text).expect("a detonation log is JSON");
        out.extend(v.as_array().cloned().unwrap_or_default());
    }
    Some(out)
}

#[test]
fn jq_agrees_with_the_evaluator_on_real_records() {
    let Some(records) = records() else {
        return;
    };
    assert!(records.len() > 100);
    let mut files = rule_files();
    if let Some(corpus) = shared_corpus("sigmahq-cloudtrail") {
        files.extend(rulecast::discover::rule_files(&[corpus]).0);
    }
    let use_jq = system_jq();
    let mut failures = Vec::new();
    let mut matched = 0usize;
    let mut checked = 0usize;
    for path in &files {
        let lf = load(path);
        let filters = render_file(&lf, Target::Jq);
        for (rule, filter) in lf.rules.iter().zip(filters) {
            let (Ok(rule), Ok(filter)) = (rule, filter) else {
                failures.push(format!("{}: does not convert", rel(path)));
                continue;
            };
            if let Some(c) = rule.correlation.as_deref() {
                // A correlation over the whole file: jaq prints the evaluator's rows.
                let program = JqProgram::compile(&format!(
                    "{}{filter}",
                    rulecast::ruletest::run::INPUTS_PRELUDE
                ))
                .expect("compiles");
                let want = rulecast::correlation::eval::rows(rule, &records)
                    .map(|r| rulecast::correlation::eval::rows_json(c, &r))
                    .expect("evaluates");
                let got = program
                    .run(&serde_json::Value::Array(records.clone()))
                    .expect("runs");
                checked += 1;
                if !rulecast::ruletest::same_rows(&want, &got) {
                    failures.push(format!(
                        "{}: jaq rows {got:?}, evaluator {want:?}",
                        rel(path)
                    ));
                }
                continue;
            }
            let eval = Evaluator::new(&rule.condition).expect("compiles");
            let program = JqProgram::compile(&filter).expect("compiles");
            // One run over the whole file, as users run it: the selected records must be exactly
            // the evaluator's, in order.
            let file = serde_json::json!({ "Records": records });
            let by_jq = program.run(&file).expect("runs");
            let by_eval: Vec<serde_json::Value> = records
                .iter()
                .filter(|r| eval.matches(r))
                .cloned()
                .collect();
            checked += records.len();
            matched += by_eval.len();
            if by_jq != by_eval {
                failures.push(format!(
                    "{}: jaq selects {}, evaluator {}",
                    rel(path),
                    by_jq.len(),
                    by_eval.len()
                ));
            }
            if use_jq {
                // jq 1.6 may print numbers differently; compare the selected records' event ids.
                let ids = |v: &[serde_json::Value]| -> Vec<String> {
                    v.iter().map(|r| r["eventID"].to_string()).collect()
                };
                match run_system_jq(&filter, &file) {
                    Ok(out) if ids(&out) == ids(&by_eval) => {}
                    Ok(out) => failures.push(format!(
                        "{}: jq selects {}, evaluator {}",
                        rel(path),
                        out.len(),
                        by_eval.len()
                    )),
                    Err(e) => failures.push(format!("{}: jq fails: {e}", rel(path))),
                }
            }
        }
    }
    eprintln!("{checked} rule×record checks, {matched} matches");
    assert!(matched > 0, "some rule should match some detonation record");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
