//! The README's layout section lists every source file, one line each, and nothing that is gone.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src reads")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let rel = p.strip_prefix(root).unwrap_or(&p);
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn readme_layout_lists_every_module_and_only_those() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README reads");
    let section = readme
        .split("\n## Layout\n")
        .nth(1)
        .expect("a Layout section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let listed: Vec<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split_once("`: "))
        .map(|(path, _)| path.to_owned())
        .collect();
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let missing: Vec<&String> = files.iter().filter(|f| !listed.contains(f)).collect();
    let gone: Vec<&String> = listed.iter().filter(|l| !files.contains(l)).collect();
    assert!(
        missing.is_empty() && gone.is_empty(),
        "README layout: not listed {missing:?}; listed but gone {gone:?}"
    );
}
