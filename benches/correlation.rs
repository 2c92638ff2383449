//! Correlation rules over many base events: the reference evaluator, the jq program (jaq
//! in-process, and the system `jq -n` when on PATH) and the Athena query (in DuckDB, through the
//! `target/athena-venv` that `scripts/check-athena` builds, when it exists), at 25k, 50k and 100k
//! base events, so the growth shows (linear or n log n per group for event_count and value_count).
//! Run with `cargo bench --bench correlation`; `BENCH_EVENTS=n` runs one size.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use rulecast::backend::jq::exec::JqProgram;
use rulecast::backend::{self, RenderOptions, Target};
use rulecast::correlation::eval::rows;
use rulecast::ruletest::run::INPUTS_PRELUDE;
use rulecast::source::SourceFile;
use serde_json::{json, Value};

const BASE: &str = "title: Denied call\nname: denied\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s: {errorCode: AccessDenied}\n  condition: s\n---\ntitle: Key created\nname: key\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s: {eventName: CreateAccessKey}\n  condition: s\n---\n";

/// The correlations measured: (label, correlation document).
fn rules() -> Vec<(&'static str, String)> {
    vec![
        ("event_count", "title: Burst\ncorrelation:\n  type: event_count\n  rules: [denied]\n  group-by: [userIdentity.accessKeyId]\n  timespan: 10m\n  condition: {gte: 25}\n".to_owned()),
        ("value_count", "title: Recon\ncorrelation:\n  type: value_count\n  rules: [denied]\n  group-by: [userIdentity.accessKeyId]\n  timespan: 10m\n  condition: {field: eventName, gte: 15}\n".to_owned()),
        ("temporal_ordered", "title: Denied then key\ncorrelation:\n  type: temporal_ordered\n  rules: [denied, key]\n  group-by: [userIdentity.accessKeyId]\n  timespan: 10m\n".to_owned()),
    ]
}

/// `n` CloudTrail-shaped events, one a second: 23 access keys (about 26 events per key in ten
/// minutes, whatever `n`), 20 API names, one in 10 a CreateAccessKey, 9 in 10 AccessDenied.
fn events(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let t = 1_795_000_000 + i as i64;
            let key = format!("AKIA{:016}", (i * 7) % 23);
            let name = if i % 10 == 0 {
                "CreateAccessKey".to_owned()
            } else {
                format!("List{}", (i * 31) % 20)
            };
            json!({
                "eventVersion": "1.09",
                "userIdentity": {"type": "IAMUser", "accessKeyId": key, "arn": format!("arn:aws:iam::123456789012:user/u{}", (i * 7) % 23)},
                "eventTime": rulecast::backend::athena::window::iso(t),
                "eventSource": "iam.amazonaws.com",
                "eventName": name,
                "errorCode": if i % 10 == 0 { Value::Null } else { json!("AccessDenied") },
                "awsRegion": "eu-west-1",
                "sourceIPAddress": "203.0.113.7",
                "eventID": format!("{i:08}"),
            })
        })
        .collect()
}

fn secs(t: Instant) -> String {
    format!("{:.2}s", t.elapsed().as_secs_f64())
}

/// The Athena query in DuckDB over the events, through sqlglot: the seconds it took.
fn duckdb(dir: &Path, sql: &str, events: &[Value]) -> Option<String> {
    let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/athena-venv/bin/python");
    if !py.exists() {
        return None;
    }
    let rows = dir.join("table.jsonl");
    let mut f = std::fs::File::create(&rows).ok()?;
    for e in events {
        // The CloudTrail table's shape: lowercase columns, structs as structs.
        let r = json!({
            "eventtime": e["eventTime"], "eventsource": e["eventSource"], "eventname": e["eventName"],
            "errorcode": e["errorCode"], "awsregion": e["awsRegion"], "sourceipaddress": e["sourceIPAddress"],
            "useridentity": {"type": e["userIdentity"]["type"], "accesskeyid": e["userIdentity"]["accessKeyId"], "arn": e["userIdentity"]["arn"]},
        });
        writeln!(f, "{r}").ok()?;
    }
    std::fs::write(dir.join("q.sql"), sql).ok()?;
    let script = r#"
import sys, time, duckdb, sqlglot
d = sys.argv[1]
con = duckdb.connect()
con.execute(f"CREATE TABLE cloudtrail_logs AS SELECT * FROM read_json('{d}/table.jsonl', format='newline_delimited', columns={{'eventtime':'VARCHAR','eventsource':'VARCHAR','eventname':'VARCHAR','errorcode':'VARCHAR','awsregion':'VARCHAR','sourceipaddress':'VARCHAR','useridentity':'STRUCT(type VARCHAR, accesskeyid VARCHAR, arn VARCHAR)'}})")
q = sqlglot.parse_one(open(f"{d}/q.sql").read(), read="athena").sql("duckdb")
t = time.time()
n = len(con.execute(q).fetchall())
print(f"{time.time() - t:.2f}s ({n} rows)")
"#;
    let out = Command::new(py)
        .args(["-c", script])
        .arg(dir)
        .output()
        .ok()?;
    Some(if out.status.success() {
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    } else {
        format!("failed: {}", String::from_utf8_lossy(&out.stderr).trim())
    })
}

fn main() {
    let sizes: Vec<usize> = match std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(n) => vec![n],
        None => vec![25_000, 50_000, 100_000],
    };
    let dir = std::env::temp_dir().join(format!("rulecast-bench-corr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let system_jq = Command::new("jq")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    for &n in &sizes {
        let evs = events(n);
        let lines = dir.join("events.jsonl");
        let mut f = std::fs::File::create(&lines).expect("events file");
        for e in &evs {
            writeln!(f, "{e}").expect("write");
        }
        drop(f);
        for (label, doc) in rules() {
            let mut lf = [rulecast::load_source(
                SourceFile::new("bench.yml", format!("{BASE}{doc}")),
                &Default::default(),
            )];
            rulecast::correlation::finish(&mut lf);
            let rule = lf[0].rules[2].as_ref().expect("loads");
            let t = Instant::now();
            let by_eval = rows(rule, &evs).expect("evaluates");
            let eval_time = secs(t);
            let q = backend::render(Target::Jq.backend(), rule, &RenderOptions::default())
                .expect("renders");
            let program = JqProgram::compile(&format!("{INPUTS_PRELUDE}{q}")).expect("compiles");
            let input = Value::Array(evs.clone());
            let t = Instant::now();
            let by_jaq = program.run(&input).expect("runs");
            let jaq_time = secs(t);
            assert_eq!(
                by_jaq.len(),
                by_eval.len(),
                "{label}: jaq and the evaluator disagree"
            );
            let jq_time = if system_jq {
                std::fs::write(dir.join("q.jq"), &q).expect("write");
                let t = Instant::now();
                let out = Command::new("jq")
                    .args(["-n", "-c", "-f"])
                    .arg(dir.join("q.jq"))
                    .arg(&lines)
                    .output()
                    .expect("jq runs");
                let rows = String::from_utf8_lossy(&out.stdout).lines().count();
                assert_eq!(
                    rows,
                    by_eval.len(),
                    "{label}: jq and the evaluator disagree"
                );
                secs(t)
            } else {
                "-".to_owned()
            };
            let sql = backend::render(Target::Athena.backend(), rule, &RenderOptions::default())
                .expect("renders");
            let athena =
                duckdb(&dir, &sql, &evs).unwrap_or_else(|| "- (no target/athena-venv)".into());
            println!(
                "{n:>7} events {label:<17} rows {:>4}  evaluator {eval_time}  jaq {jaq_time}  jq {jq_time}  Athena in DuckDB {athena}",
                by_eval.len()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
