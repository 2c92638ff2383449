//! The Panther front end: a rule YAML (`AnalysisType: rule`, with `Filename:` or `Detection:`)
//! and the Python module beside it. An input is the YAML, then optionally a line `#%PY%#` and the
//! module's text, which is written to `x.py` in a scratch directory beside the YAML before the
//! YAML is loaded from there. Each input gives rules or diagnostics, never a panic.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rulecast::backend::{self, RenderOptions, Target};

const SEP: &str = "\n#%PY%#\n";

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("rulecast-fuzz-panther-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch directory");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (yaml, py) = match text.split_once(SEP) {
        Some((y, p)) => (y, p),
        None => (text, ""),
    };
    let dir = scratch();
    std::fs::write(dir.join("x.py"), py).expect("write x.py");
    let Ok(file) = rulecast::source_from_bytes(dir.join("rule.yml"), yaml.as_bytes().to_vec())
    else {
        return;
    };
    let loaded = rulecast::load_source(file, &rulecast::LoadOptions::default());
    for rule in loaded.rules.iter().flatten() {
        for t in [Target::Jq, Target::Athena, Target::Cloudwatch] {
            let _ = backend::render(t.backend(), rule, &RenderOptions::default());
        }
    }
});
