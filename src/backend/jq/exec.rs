//! Runs jq programs in-process with the jaq crates: `rulecast test` and the agreement tests use it
//! to execute the filters the jq backend renders.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{data, unwrap_valr, Compiler, Ctx, Vars};
use jaq_json::Val;

/// A compiled jq program.
pub struct JqProgram {
    filter: jaq_core::Filter<data::JustLut<Val>>,
}

impl JqProgram {
    /// Parse and compile `code`; I/O filters (`input`, `env`, ...) are not available.
    pub fn compile(code: &str) -> Result<JqProgram, String> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let banned = ["env", "input", "now"];
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs())
            .filter(|(name, _, _)| !banned.contains(name));
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let modules = loader
            .load(&arena, File { code, path: () })
            .map_err(|errs| {
                format!(
                    "jq program does not parse: {} error(s): {errs:?}",
                    errs.len()
                )
            })?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errs| format!("jq program does not compile: {errs:?}"))?;
        Ok(JqProgram { filter })
    }

    /// Run on one JSON input; every output value, or the first runtime error.
    pub fn run(&self, input: &serde_json::Value) -> Result<Vec<serde_json::Value>, String> {
        let text = input.to_string();
        let val = jaq_json::read::parse_single(text.as_bytes()).map_err(|e| e.to_string())?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let mut out = Vec::new();
        for r in self.filter.id.run((ctx, val)).map(unwrap_valr) {
            let v = r.map_err(|e| format!("jq runtime error: {e}"))?;
            let json: serde_json::Value = serde_json::from_str(&v.to_string())
                .map_err(|e| format!("jq output is not JSON: {e}"))?;
            out.push(json);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runs_filters() {
        let p = JqProgram::compile(".Records[] | select(.a == 1)").unwrap();
        let out = p.run(&json!({"Records": [{"a": 1}, {"a": 2}]})).unwrap();
        assert_eq!(out, vec![json!({"a": 1})]);
        assert!(JqProgram::compile("env").is_err());
        assert!(JqProgram::compile("(").is_err());
    }
}
