//! Inputs the fuzzers (`fuzz/`, see the README's "Fuzzing") found, kept as regression tests: each
//! file under `tests/fixtures/fuzz/<target>/` goes through the entry point its fuzz target drives
//! and must come back (rules or diagnostics) without panicking, in a few seconds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rulecast::backend::cloudwatch::referee;
use rulecast::backend::{self, RenderOptions, Target};
use rulecast::LoadOptions;

/// What `fuzz/fuzz_targets/panther.rs` puts between the YAML and the Python module.
const PY_SEP: &str = "\n#%PY%#\n";
const BUDGET: Duration = Duration::from_secs(5);

fn fixtures(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(target);
    // A target with no finding yet has no directory (git keeps no empty ones).
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return vec![];
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("directory entry").path())
        .collect();
    files.sort();
    files
}

fn timed<T>(path: &Path, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(
        start.elapsed() < BUDGET,
        "{} took {:?}",
        path.display(),
        start.elapsed()
    );
    out
}

/// Load a rule file the way the fuzz targets do, and render every rule for every target.
fn load_and_render(yaml_path: PathBuf, bytes: Vec<u8>) -> Vec<Result<(), String>> {
    let Ok(file) = rulecast::source_from_bytes(yaml_path, bytes) else {
        return vec![Err("not text".into())];
    };
    let loaded = rulecast::load_source(file, &LoadOptions::default());
    loaded
        .rules
        .into_iter()
        .map(|r| {
            let rule = r.map_err(|d| d.message)?;
            for t in [Target::Jq, Target::Athena, Target::Cloudwatch] {
                let _ = backend::render(t.backend(), &rule, &RenderOptions::default());
            }
            Ok(())
        })
        .collect()
}

#[test]
fn sigma_documents() {
    for path in fixtures("sigma_document") {
        let bytes = std::fs::read(&path).expect("fixture");
        timed(&path, || load_and_render("<fuzz>/rule.yml".into(), bytes));
    }
}

#[test]
fn conditions() {
    for path in fixtures("condition") {
        let bytes = std::fs::read(&path).expect("fixture");
        let text = String::from_utf8_lossy(&bytes);
        timed(&path, || rulecast::sigma::condition::parse(&text).err());
    }
}

#[test]
fn cwli_queries() {
    for path in fixtures("cwli_referee") {
        let bytes = std::fs::read(&path).expect("fixture");
        let text = String::from_utf8_lossy(&bytes);
        timed(&path, || {
            if let Ok(q) = referee::parse(&text) {
                q.matches(&serde_json::json!({"eventName": "x"}));
            }
        });
    }
}

/// Panther inputs: the YAML, then optionally the module (written to `x.py` beside it).
#[test]
fn panther_rules() {
    let dir = std::env::temp_dir().join(format!("rulecast-fuzz-regress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    for path in fixtures("panther") {
        let text = std::fs::read_to_string(&path).expect("fixture");
        let (yaml, py) = text.split_once(PY_SEP).unwrap_or((&text, ""));
        std::fs::write(dir.join("x.py"), py).expect("write x.py");
        let results = timed(&path, || {
            load_and_render(dir.join("rule.yml"), yaml.as_bytes().to_vec())
        });
        assert!(!results.is_empty(), "{}", path.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `Filename` naming a device or a directory is a diagnostic, not an endless read.
#[test]
fn panther_module_must_be_a_regular_file() {
    for name in ["filename-dev-zero.yml", "filename-directory.yml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fuzz/panther")
            .join(name);
        let bytes = std::fs::read(&path).expect("fixture");
        let results = timed(&path, || load_and_render(path.clone(), bytes));
        match results.as_slice() {
            [Err(msg)] => assert!(
                msg.contains("not a regular file") || msg.contains("is an absolute path"),
                "{name}: {msg}"
            ),
            other => panic!("{name}: expected one diagnostic, got {other:?}"),
        }
    }
}
