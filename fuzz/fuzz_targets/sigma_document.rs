//! Whole rule files through `load_source` (the YAML reader, Sigma and Panther detection, the
//! Sigma front end), and every rule that loads rendered for every target: each file gives rules
//! or diagnostics, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rulecast::backend::{self, RenderOptions, Target};

fuzz_target!(|data: &[u8]| {
    let Ok(file) = rulecast::source_from_bytes("<fuzz>/rule.yml", data.to_vec()) else {
        return;
    };
    let loaded = rulecast::load_source(file, &rulecast::LoadOptions::default());
    for rule in loaded.rules.iter().flatten() {
        for t in [Target::Jq, Target::Athena, Target::Cloudwatch] {
            let _ = backend::render(t.backend(), rule, &RenderOptions::default());
        }
        if let Ok(ev) = rulecast::eval::Evaluator::new(&rule.condition) {
            let _ = ev.matches(&serde_json::json!({"eventName": "x", "a": [1, "b", {"c": null}]}));
        }
    }
});
