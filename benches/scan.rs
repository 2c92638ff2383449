//! `rulecast scan` throughput, whole process on every core, over a generated corpus of CloudTrail
//! files, next to what the same bytes cost to parse with serde_json alone (same cores), to one jq
//! pass of the jq bundle, and to the sum of the single-rule jq filters. Run with
//! `cargo bench --bench scan` (a benchmark, not a test: it needs ../shared and a system `jq`).
//!
//! The corpus (`target/bench-scan/`, `BENCH_MB` MB, default 110) is the Stratus detonation
//! records of ../shared repeated with fresh event ids into `{"Records": [...]}` files of 2,000
//! records. The rules are the shipped ones and the SigmaHQ CloudTrail corpus. jq is slow, so the
//! jq figures come from a `BENCH_JQ_MB` MB slice (default 4; 0 skips them) and are given per MB
//! and scaled, for the SigmaHQ rules alone and for all the rules: the bundle against each single
//! filter (the fastest, the median, their sum).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn env_mb(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Write the corpus (unless a corpus of that size is there); its files.
fn corpus(mb: u64) -> Vec<PathBuf> {
    let dir = root().join(format!("target/bench-scan/{mb}mb"));
    let done = dir.join(".complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        let src = root().join("../shared/corpus/stratus-detonation-logs");
        let (files, _) = rulecast::scan::log_files(&[src]);
        let mut records: Vec<Value> = Vec::new();
        for f in files {
            let v: Value = serde_json::from_slice(&std::fs::read(f).expect("reads")).expect("JSON");
            records.extend(v.as_array().cloned().unwrap_or_default());
        }
        assert!(!records.is_empty(), "no records in ../shared");
        let (mut written, mut n, mut file) = (0u64, 0usize, 0usize);
        while written < mb * 1_000_000 {
            let batch: Vec<Value> = (0..2000)
                .map(|_| {
                    let mut r = records[n % records.len()].clone();
                    r["eventID"] = Value::from(format!("bench-{n:012}"));
                    n += 1;
                    r
                })
                .collect();
            let text = serde_json::to_vec(&serde_json::json!({ "Records": batch })).expect("JSON");
            written += text.len() as u64;
            std::fs::write(dir.join(format!("{file:05}.json")), text).expect("writes");
            file += 1;
        }
        std::fs::write(&done, "").expect("writes");
    }
    rulecast::scan::log_files(&[dir]).0
}

fn size(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum()
}

/// Parse every file with serde_json alone, on `workers` threads; seconds.
fn parse_only(files: &[PathBuf], workers: usize) -> f64 {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(f) = files.get(i) else { break };
                let bytes = std::fs::read(f).expect("reads");
                let v: Value = serde_json::from_slice(&bytes).expect("JSON");
                std::hint::black_box(v);
            });
        }
    });
    t.elapsed().as_secs_f64()
}

fn run(cmd: &mut Command) -> (f64, Vec<u8>) {
    let t = Instant::now();
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (t.elapsed().as_secs_f64(), out.stdout)
}

fn jq(filter: &Path, files: &[PathBuf]) -> f64 {
    run(Command::new("jq")
        .arg("-c")
        .arg("-f")
        .arg(filter)
        .args(files))
    .0
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_rulecast");
    let rules = [
        root().join("rules"),
        root().join("../shared/corpus/sigmahq-cloudtrail"),
    ];
    let files = corpus(env_mb("BENCH_MB", 110));
    let bytes = size(&files);
    let mb = bytes as f64 / 1e6;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("corpus: {} files, {mb:.1} MB; {workers} cores", files.len());

    let parse = parse_only(&files, workers);
    println!(
        "serde_json parse alone ({workers} threads): {parse:.2} s, {:.0} MB/s",
        mb / parse
    );

    let mut scan = Command::new(bin);
    scan.arg("scan")
        .args(&rules)
        .arg("--logs")
        .arg(files[0].parent().expect("dir"));
    scan.arg("--summary");
    let (t_scan, table) = run(&mut scan);
    let summary = String::from_utf8_lossy(&table);
    let last = summary.lines().last().unwrap_or_default().to_owned();
    println!(
        "rulecast scan (whole process): {t_scan:.2} s, {:.0} MB/s, {:.2}x the parse ({last})",
        mb / t_scan,
        t_scan / parse
    );

    // jq on a slice.
    let slice_mb = env_mb("BENCH_JQ_MB", 4) as f64;
    if slice_mb == 0.0 {
        return; // BENCH_JQ_MB=0: the scan figures only
    }
    let mut slice = Vec::new();
    let mut slice_bytes = 0u64;
    for f in &files {
        if slice_bytes as f64 >= slice_mb * 1e6 {
            break;
        }
        slice_bytes += std::fs::metadata(f).map_or(0, |m| m.len());
        slice.push(f.clone());
    }
    let smb = slice_bytes as f64 / 1e6;
    let work = root().join("target/bench-scan/jq");
    std::fs::create_dir_all(&work).expect("dir");
    let sigmahq = [rules[1].clone()];
    for (name, set) in [
        ("the SigmaHQ rules", &sigmahq[..]),
        ("all the rules", &rules[..]),
    ] {
        jq_figures(bin, name, set, &slice, smb, mb, &work);
    }
}

/// One jq pass of the bundle of `rules` over the slice (the best of three), next to each of
/// their single filters over the same slice: their sum, the fastest and the median.
fn jq_figures(
    bin: &str,
    name: &str,
    rules: &[PathBuf],
    slice: &[PathBuf],
    smb: f64,
    mb: f64,
    work: &Path,
) {
    let mut convert = Command::new(bin);
    convert
        .args(["convert", "--bundle", "-t", "jq"])
        .args(rules);
    let (_, bundle) = run(&mut convert);
    let bundle_file = work.join("bundle.jq");
    std::fs::write(&bundle_file, bundle).expect("writes");
    let t_bundle = (0..3)
        .map(|_| jq(&bundle_file, slice))
        .fold(f64::MAX, f64::min);
    let mut convert = Command::new(bin);
    convert
        .args(["convert", "-t", "jq", "-f", "json"])
        .args(rules);
    let (_, lines) = run(&mut convert);
    let mut times = Vec::new();
    for line in String::from_utf8_lossy(&lines).lines() {
        let v: Value = serde_json::from_str(line).expect("JSON");
        let Some(q) = v["query"].as_str() else {
            continue;
        };
        if q.contains("\n# correlation: ") {
            continue;
        }
        let f = work.join(format!("rule{}.jq", times.len()));
        std::fs::write(&f, q).expect("writes");
        times.push(jq(&f, slice));
    }
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let sum: f64 = times.iter().sum();
    let (fastest, median) = (times[0], times[n / 2]);
    println!(
        "jq, {name}: the bundle of {n} rules, one pass over {smb:.1} MB: {t_bundle:.2} s, {:.2} MB/s (the whole corpus: ~{:.0} s)",
        smb / t_bundle,
        t_bundle * mb / smb
    );
    println!(
        "jq, {name}: the {n} single filters one after another: {sum:.1} s, {:.3} MB/s (the whole corpus: ~{:.0} s); one filter: fastest {fastest:.2} s, median {median:.2} s; the bundle is {:.1}x the median, {:.1}x the fastest, {:.1}x faster than the sum",
        smb / sum,
        sum * mb / smb,
        t_bundle / median,
        t_bundle / fastest,
        sum / t_bundle
    );
}
