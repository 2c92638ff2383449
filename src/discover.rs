//! Finding rule files: files as given, directories searched recursively for `*.yml`/`*.yaml`
//! (sorted, so every run sees the same order). Test sidecars (`*.tests.yml`), placeholder files
//! (`placeholders.yml`) and hidden entries are not rules and are skipped.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};

/// Is this file name a rule file (as opposed to a sidecar or a config file)?
pub fn is_rule_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    yaml && !name.starts_with('.')
        && !name.ends_with(".tests.yml")
        && !name.ends_with(".tests.yaml")
        && name != "placeholders.yml"
        && name != "placeholders.yaml"
}

/// Expand the given paths into rule files. A directory with no rule files is an error for that
/// directory, as is a path that does not exist.
pub fn rule_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<FileDiagnostic>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let before = files.len();
                if let Err(e) = collect_rule_files(p, &mut files) {
                    errors.push(
                        Diagnostic::new(Code::Io, format!("cannot read directory: {e}")).at_path(p),
                    );
                }
                if files.len() == before {
                    errors.push(
                        Diagnostic::new(
                            Code::Io,
                            "no rule files (*.yml, *.yaml) in this directory",
                        )
                        .at_path(p),
                    );
                }
            }
            Ok(_) => files.push(p.clone()),
            Err(e) => {
                errors.push(Diagnostic::new(Code::Io, format!("cannot read: {e}")).at_path(p))
            }
        }
    }
    (files, errors)
}

/// Add the rule files under `dir` to `out`, depth first in name order, skipping hidden entries.
fn collect_rule_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            collect_rule_files(&p, out)?;
        } else if is_rule_file(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// The sidecar test file of a rule file (`x.yml` → `x.tests.yml`), if it exists.
pub fn tests_sidecar(rule: &Path) -> Option<PathBuf> {
    let stem = rule.file_stem()?.to_str()?;
    let ext = rule.extension()?.to_str()?;
    let p = rule.with_file_name(format!("{stem}.tests.{ext}"));
    p.is_file().then_some(p)
}
