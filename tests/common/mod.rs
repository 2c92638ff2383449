//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod oracle;

pub mod run;

use std::path::{Path, PathBuf};

use rulecast::backend::{self, RenderOptions, Target};
use rulecast::ruletest::TestCase;
use rulecast::{LoadOptions, LoadedFile};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every rule file under `rules/`, sorted.
pub fn rule_files() -> Vec<PathBuf> {
    let (files, errors) = rulecast::discover::rule_files(&[root().join("rules")]);
    assert!(errors.is_empty(), "{errors:?}");
    files
}

/// The shared placeholders the shipped rules use.
pub fn load_options() -> LoadOptions {
    let p = root().join("rules/placeholders.yml");
    let mut opts = LoadOptions::default();
    if p.exists() {
        opts.placeholders = rulecast::load_placeholders(&p).expect("rules/placeholders.yml reads");
    }
    opts
}

pub fn load(path: &Path) -> LoadedFile {
    rulecast::load_path(path, &load_options()).expect("rule file reads")
}

/// The path relative to the crate root, with `/` separators (stable across machines).
pub fn rel(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// A snapshot name for a rule file: its path under `rules/`, `/` → `__`, no extension.
pub fn snapshot_name(path: &Path) -> String {
    let rel = path.strip_prefix(root().join("rules")).unwrap_or(path);
    let s = rel
        .with_extension("")
        .to_string_lossy()
        .replace(['/', '\\'], "__");
    s
}

/// The targets that have a backend.
pub fn built_targets() -> Vec<Target> {
    Target::ALL.to_vec()
}

/// Everything `convert` would print for one file and target: each rule's query, or its error.
pub fn render_file(lf: &LoadedFile, target: Target) -> Vec<Result<String, String>> {
    let backend = target.backend();
    let opts = RenderOptions {
        source_path: rel(&lf.file.path),
        now: Some("2026-11-22T00:00:00Z".into()),
        ..Default::default()
    };
    // Errors name the file relative to the crate root, so snapshots do not depend on the checkout.
    let shown = |d: rulecast::diagnostic::Diagnostic| {
        let mut fd = d.in_file(&lf.file);
        fd.path = rel(&fd.path).into();
        fd.to_string()
    };
    lf.rules
        .iter()
        .map(|r| {
            r.as_ref()
                .map_err(|d| shown(d.clone()))
                .and_then(|rule| backend::render(backend, rule, &opts).map_err(shown))
        })
        .collect()
}

/// The test cases of a rule file: its sidecar, or a Panther rule's own `Tests:`.
pub fn cases(path: &Path) -> Option<Vec<TestCase>> {
    let bytes = std::fs::read(path).expect("rule file reads");
    let file = rulecast::source_from_bytes(path, bytes).expect("text");
    let found = rulecast::ruletest::run::find_tests(&file)?;
    Some(found.cases.unwrap_or_else(|d| panic!("{d}")))
}

/// A corpus under `../shared/corpus/` (beside the repository, as CI lays it). A missing corpus
/// fails the test, so a test never passes without checking anything; with `RULECAST_SKIP_CORPUS`
/// set (a checkout without `shared/`), the test says it was skipped and returns None.
pub fn shared_corpus(name: &str) -> Option<PathBuf> {
    let dir = root().join("../shared/corpus").join(name);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("RULECAST_SKIP_CORPUS").is_some(),
        "{} is missing: these tests need the shared corpus beside the repository \
         (set RULECAST_SKIP_CORPUS=1 to skip them)",
        dir.display()
    );
    eprintln!(
        "skipped (RULECAST_SKIP_CORPUS): {} not present",
        dir.display()
    );
    None
}

/// Is the system `jq` on PATH? Under CI (`CI` set), where `.ci/run` installs it, a missing jq
/// fails the test instead of quietly checking jaq alone, unless `RULECAST_SKIP_SYSTEM_JQ` is set.
pub fn system_jq() -> bool {
    let found = std::process::Command::new("jq")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found
            || std::env::var_os("CI").is_none()
            || std::env::var_os("RULECAST_SKIP_SYSTEM_JQ").is_some(),
        "no system jq on PATH under CI (set RULECAST_SKIP_SYSTEM_JQ=1 to check jaq alone)"
    );
    found
}

/// Run a correlation program with the system jq as `jq -n -c -f q.jq` over `input` (JSON lines or
/// a CloudTrail file) on standard input; the outputs.
pub fn run_system_jq_n(filter: &str, input: &str) -> Result<Vec<serde_json::Value>, String> {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("rulecast-jq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let f = dir.join(format!("n{}.jq", rand_suffix()));
    std::fs::write(&f, filter).map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new("jq")
        .args(["-n", "-c", "-f"])
        .arg(&f)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = writer.join();
    let _ = std::fs::remove_file(&f);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{e}: {l}")))
        .collect()
}

/// Run a filter with the system jq on one input; the outputs.
pub fn run_system_jq(
    filter: &str,
    input: &serde_json::Value,
) -> Result<Vec<serde_json::Value>, String> {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("rulecast-jq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let f = dir.join(format!("f{}.jq", rand_suffix()));
    std::fs::write(&f, filter).map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new("jq")
        .arg("-c")
        .arg("-f")
        .arg(&f)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(input.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&f);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| e.to_string()))
        .collect()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The shipped rules Logs Insights cannot take, each with its stated reason (none today: every
/// shipped rule converts; a rule added here must say why in its error).
pub const CLOUDWATCH_UNSUPPORTED: &[(&str, &str)] = &[
    (
        "rules/sigma/correlation/console_brute_force_then_success.yml",
        "a Sigma correlation rule is unsupported by cloudwatch",
    ),
    (
        "rules/sigma/correlation/defense_evasion_combo.yml",
        "a Sigma correlation rule is unsupported by cloudwatch",
    ),
    (
        "rules/sigma/correlation/kms_key_disabled_then_deleted.yml",
        "a Sigma correlation rule is unsupported by cloudwatch",
    ),
    (
        "rules/sigma/correlation/new_user_added_to_group.yml",
        "a Sigma correlation rule is unsupported by cloudwatch",
    ),
    (
        "rules/sigma/correlation/user_created_then_key.yml",
        "a Sigma correlation rule is unsupported by cloudwatch",
    ),
];

#[allow(dead_code)]
pub fn known_unsupported(path: &std::path::Path, err: &str) -> bool {
    CLOUDWATCH_UNSUPPORTED
        .iter()
        .any(|(p, why)| rel(path) == *p && err.contains("error[E401]") && err.contains(why))
}
