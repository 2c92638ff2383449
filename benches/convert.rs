//! Conversion throughput on a generated corpus of 10,000 Sigma rules, next to the cost of parsing
//! the same YAML alone. Run with `cargo bench --bench convert` (single thread).
//!
//! Targets (issue #2): at least 10,000 rules/s to jq on one core, and a whole conversion costing at
//! most twice the YAML parsing alone.
//!
//! Then large Panther Python rules, one at a time (long `or`/`and` chains, an `elif` chain, a
//! variable toggled by branches, membership in a 20,000-element list, an early return in a loop
//! over constants): each should take milliseconds. `BENCH_PYTHON_ONLY=1` runs only those.

use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use rulecast::backend::{self, RenderOptions, Target};
use rulecast::source::SourceFile;

const DEFAULT_RULES: usize = 10_000;

/// A varied, realistic rule: selections with lists and modifiers, a filter, a compound condition.
fn rule(i: usize) -> String {
    let events = [
        "CreateAccessKey",
        "DeleteTrail",
        "PutBucketPolicy",
        "AuthorizeSecurityGroupIngress",
        "AssumeRole",
    ];
    let sources = ["iam", "cloudtrail", "s3", "ec2", "sts"];
    let e = events[i % events.len()];
    let s = sources[i % sources.len()];
    format!(
        r#"title: Generated rule {i}
id: 00000000-0000-4000-8000-{i:012}
status: experimental
description: |
    Generated rule number {i} for the benchmark. It looks for {e} calls
    that did not fail, made by users outside the admin roles.
references:
    - https://docs.aws.amazon.com/
author: rulecast bench
date: 2026-11-22
tags:
    - attack.persistence
    - attack.t1098
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventSource: '{s}.amazonaws.com'
        eventName:
            - '{e}'
            - '{e}V2'
            - 'Batch{e}'
    selection_agent:
        userAgent|contains:
            - 'aws-cli'
            - 'boto3'
            - 'python-requests/{i}'
    filter_admin:
        userIdentity.arn|endswith: ':role/Admin{i}'
    filter_failed:
        errorCode|exists: true
    filter_ip:
        sourceIPAddress|cidr: '10.{}.0.0/16'
    condition: {}
falsepositives:
    - Administrators
level: medium
"#,
        i % 256,
        // A few condition shapes, as real rule sets have.
        [
            "selection and 1 of selection_* and not 1 of filter_*",
            "selection and selection_agent and not (filter_admin or filter_failed)",
            "all of selection* and not 1 of filter_*",
            "selection and not filter_failed and not filter_ip",
        ][i % 4]
    )
}

fn time<F: FnMut()>(mut f: F) -> Duration {
    // Best of three runs, to damp noise on a shared machine.
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Large Panther Python rules: (name, body of `rule(event)`, module-level code before it).
fn python_rules() -> Vec<(&'static str, String, String)> {
    let names = |n: usize| {
        let items: Vec<String> = (0..n).map(|i| format!("'E{i}'")).collect();
        format!("NAMES = [{}]\n", items.join(", "))
    };
    let or30: Vec<String> = (0..30)
        .map(|i| format!("event.get('eventName') == 'E{i}'"))
        .collect();
    let and40: Vec<String> = (0..40)
        .map(|i| format!("event.get('f{i}') == 'v{i}'"))
        .collect();
    let mut elif = String::new();
    for i in 0..200 {
        let kw = if i == 0 { "if" } else { "elif" };
        let r = if i % 2 == 0 { "True" } else { "False" };
        elif.push_str(&format!(
            "{kw} event.get('eventName') == 'E{i}':\n    return {r}\n"
        ));
    }
    elif.push_str("return False\n");
    let mut toggles = String::from("r = False\n");
    for i in 0..8 {
        toggles.push_str(&format!("if event.get('k{i}'):\n    r = not r\n"));
    }
    toggles.push_str("return r\n");
    vec![
        ("or of 30 comparisons", format!("return {}\n", or30.join(" or ")), String::new()),
        ("and of 40 comparisons", format!("return {}\n", and40.join(" and ")), String::new()),
        ("200-branch elif", elif, String::new()),
        ("8 toggles of a bool", toggles, String::new()),
        (
            "in a 20,000-element list",
            "return event.get('eventName') in NAMES\n".into(),
            names(20_000),
        ),
        (
            "early return over 2,000 items",
            "for n in NAMES:\n    if event.get('eventName') == n:\n        return True\nreturn False\n"
                .into(),
            names(2_000),
        ),
    ]
}

/// Convert each of [`python_rules`] to jq, written to a temporary directory (a Panther rule's
/// Python sits beside its YAML).
fn bench_python() {
    let dir = std::env::temp_dir().join(format!("rulecast-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let jq = Target::Jq.backend();
    println!("large Panther Python rules (to jq, best of three):");
    for (i, (name, body, before)) in python_rules().into_iter().enumerate() {
        let indented: String = body.lines().map(|l| format!("    {l}\n")).collect();
        let py = format!("{before}\ndef rule(event):\n{indented}");
        std::fs::write(dir.join(format!("p{i}.py")), py).expect("writes");
        let yml = dir.join(format!("p{i}.yml"));
        std::fs::write(
            &yml,
            format!(
                "AnalysisType: rule\nFilename: p{i}.py\nRuleID: Bench.P{i}\nEnabled: true\n\
                 LogTypes:\n  - AWS.CloudTrail\nSeverity: Low\n"
            ),
        )
        .expect("writes");
        let mut out = 0;
        let d = time(|| {
            let lf = rulecast::load_path(&yml, &Default::default()).expect("reads");
            for r in &lf.rules {
                let rule = r.as_ref().expect("translates");
                out = backend::render(jq, rule, &RenderOptions::default())
                    .expect("renders")
                    .len();
            }
        });
        println!(
            "  {name:<32} {:>8.1} ms  ({out} bytes of jq)",
            d.as_secs_f64() * 1e3
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    if std::env::var_os("BENCH_PYTHON_ONLY").is_some() {
        bench_python();
        return;
    }
    // BENCH_RULES=n changes the corpus size; BENCH_PHASE=parse|convert runs one phase once (for
    // instruction counting under callgrind, which is steady where wall time on a shared machine is not).
    let rules_n: usize = std::env::var("BENCH_RULES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_RULES);
    let texts: Vec<String> = (0..rules_n).map(rule).collect();
    if let Ok(phase) = std::env::var("BENCH_PHASE") {
        let jq = Target::Jq.backend();
        for (i, t) in texts.iter().enumerate() {
            if phase == "parse" {
                let v: serde_yaml::Value = serde_yaml::from_str(t).expect("valid YAML");
                std::hint::black_box(v);
            } else {
                let lf = rulecast::load_source(
                    SourceFile::new(format!("r{i}.yml"), t.clone()),
                    &Default::default(),
                );
                for r in &lf.rules {
                    let q =
                        backend::render(jq, r.as_ref().expect("valid"), &RenderOptions::default())
                            .expect("renders");
                    std::hint::black_box(q);
                }
            }
        }
        return;
    }
    const RULES: usize = DEFAULT_RULES;
    let texts: Vec<String> = if rules_n == RULES {
        texts
    } else {
        (0..RULES).map(rule).collect()
    };
    let bytes: usize = texts.iter().map(String::len).sum();

    // The YAML parse alone: what any tool reading these rules pays.
    let parse = time(|| {
        for t in &texts {
            let v: serde_yaml::Value = serde_yaml::from_str(t).expect("valid YAML");
            std::hint::black_box(v);
        }
    });

    let jq = Target::Jq.backend();
    let opts = RenderOptions::default();
    let mut out_bytes = 0usize;
    let convert = time(|| {
        out_bytes = 0;
        for (i, t) in texts.iter().enumerate() {
            let lf = rulecast::load_source(
                SourceFile::new(format!("r{i}.yml"), t.clone()),
                &Default::default(),
            );
            for r in &lf.rules {
                let rule = r.as_ref().expect("generated rules are valid");
                let q = backend::render(jq, rule, &opts).expect("renders");
                out_bytes += q.len();
            }
        }
    });

    let load_only = time(|| {
        for (i, t) in texts.iter().enumerate() {
            let lf = rulecast::load_source(
                SourceFile::new(format!("r{i}.yml"), t.clone()),
                &Default::default(),
            );
            std::hint::black_box(lf);
        }
    });
    let node_only = time(|| {
        for t in &texts {
            std::hint::black_box(rulecast::yaml::parse_documents(t).expect("valid"));
        }
    });
    println!(
        "  (of which: yaml into nodes + key index {:.1} ms, whole front end {:.1} ms)",
        node_only.as_secs_f64() * 1e3,
        load_only.as_secs_f64() * 1e3
    );
    let rate = |d: Duration| RULES as f64 / d.as_secs_f64();
    println!(
        "corpus: {RULES} rules, {:.1} MiB of YAML",
        bytes as f64 / 1048576.0
    );
    println!(
        "yaml parse only : {:>8.1} ms  {:>9.0} rules/s",
        parse.as_secs_f64() * 1e3,
        rate(parse)
    );
    println!(
        "convert to jq   : {:>8.1} ms  {:>9.0} rules/s  ({:.1} MiB of jq)",
        convert.as_secs_f64() * 1e3,
        rate(convert),
        out_bytes as f64 / 1048576.0
    );
    let ratio = convert.as_secs_f64() / parse.as_secs_f64();
    println!("convert / parse : {ratio:.2}x   (target <= 2.00x)");
    println!(
        "rules/s target  : >= 10000   ({})",
        if rate(convert) >= 10_000.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    bench_python();
}
