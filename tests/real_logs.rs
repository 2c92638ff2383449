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

/// The CloudTrail shape table agrees with the recorded events: every path it calls a scalar holds
/// one of its JSON type (or is absent or null) in every record, no record crosses a list on the
/// way to one, and both readings of the evaluator agree on every shipped and SigmaHQ rule.
#[test]
fn the_shape_table_agrees_with_the_recorded_events() {
    use rulecast::cloudtrail::{scalar_at, NESTED_SCALARS, TOP_LEVEL_KEYS};
    use rulecast::ir::{FieldPath, JsonType};
    let Some(records) = records() else {
        return;
    };
    let mut paths: Vec<FieldPath> = NESTED_SCALARS
        .iter()
        .map(|s| FieldPath::parse(s.path))
        .collect();
    paths.extend(
        TOP_LEVEL_KEYS
            .iter()
            .filter(|k| k.always_scalar)
            .map(|k| FieldPath::parse(k.name)),
    );
    let mut seen = 0;
    let mut problems = Vec::new();
    for r in &records {
        for p in &paths {
            let all = rulecast::eval::resolve(r, p);
            let one = rulecast::eval::resolve_exact(r, p);
            if all.len() > 1 || (all.len() == 1 && one.is_none()) {
                problems.push(format!("{p}: a list on the way in {r}"));
            }
            let Some(v) = one.filter(|v| !v.is_null()) else {
                continue;
            };
            seen += 1;
            let ty = JsonType::of(v);
            match scalar_at(p.segments()) {
                Some(Some(want)) if ty != Some(want) => {
                    problems.push(format!("{p}: {v} is not a {want:?}"))
                }
                _ if matches!(ty, Some(JsonType::Array | JsonType::Object)) => {
                    problems.push(format!("{p}: {v} is not a scalar"))
                }
                _ => {}
            }
        }
    }
    assert!(seen > 5000, "only {seen} values checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Both readings of the evaluator select the same records for every rule.
    let mut files = rule_files();
    if let Some(corpus) = shared_corpus("sigmahq-cloudtrail") {
        files.extend(rulecast::discover::rule_files(&[corpus]).0);
    }
    for path in &files {
        let lf = load(path);
        for rule in lf.rules.iter().flatten() {
            if rule.correlation.is_some() {
                continue;
            }
            let free = Evaluator::new(&rule.condition).expect("compiles");
            let shaped = Evaluator::new(&rule.condition)
                .expect("compiles")
                .with_shapes(true);
            for r in &records {
                assert_eq!(
                    free.matches(r),
                    shaped.matches(r),
                    "{}: {} on {r}",
                    rel(path),
                    rule.meta.title
                );
            }
        }
    }
}
