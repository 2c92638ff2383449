//! Runs jq programs in-process with the jaq crates: `rulecast test` and the agreement tests use it
//! to execute the filters the jq backend renders.

use std::sync::mpsc;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{data, unwrap_valr, Compiler, Ctx, Vars};
use jaq_json::Val;

/// The stack jaq runs on. jaq parses, compiles and runs a program recursively, a few kilobytes
/// of stack per level of nesting, and `a or b or ...` nests one level per term: a condition
/// with thousands of tests would overflow an ordinary thread's stack. Only what is used is
/// allocated.
const JQ_STACK: usize = 256 << 20;

/// One input to run, and where its result goes.
type Job = (
    serde_json::Value,
    mpsc::Sender<Result<Vec<serde_json::Value>, String>>,
);

/// A compiled jq program, kept on a thread of its own with a [`JQ_STACK`] (jaq's programs stay
/// on the thread that compiles them).
pub struct JqProgram {
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl JqProgram {
    /// Parse and compile `code`; I/O filters (`input`, `env`, ...) are not available.
    pub fn compile(code: &str) -> Result<JqProgram, String> {
        let code = code.to_owned();
        let (ready_tx, ready) = mpsc::channel::<Result<(), String>>();
        let (jobs, inputs) = mpsc::channel::<Job>();
        let worker = std::thread::Builder::new()
            .name("rulecast-jq".into())
            .stack_size(JQ_STACK)
            .spawn(move || {
                let filter = match compile(&code) {
                    Ok(f) => f,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                for (input, reply) in inputs {
                    let _ = reply.send(run(&filter, &input));
                }
            })
            .map_err(|e| format!("cannot start a thread to run jq: {e}"))?;
        let program = JqProgram {
            jobs: Some(jobs),
            worker: Some(worker),
        };
        ready
            .recv()
            .map_err(|_| "jq stopped while compiling".to_owned())??;
        Ok(program)
    }

    /// Run on one JSON input; every output value, or the first runtime error.
    pub fn run(&self, input: &serde_json::Value) -> Result<Vec<serde_json::Value>, String> {
        let (reply, result) = mpsc::channel();
        self.jobs
            .as_ref()
            .ok_or("jq is not running")?
            .send((input.clone(), reply))
            .map_err(|_| "jq stopped".to_owned())?;
        result.recv().map_err(|_| "jq stopped".to_owned())?
    }
}

impl Drop for JqProgram {
    fn drop(&mut self) {
        // Closing the channel ends the worker's loop.
        self.jobs = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// Parse and compile `code` with the standard definitions, without I/O.
fn compile(code: &str) -> Result<jaq_core::Filter<data::JustLut<Val>>, String> {
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
    Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errs| format!("jq program does not compile: {errs:?}"))
}

/// Run `filter` on one JSON input.
fn run(
    filter: &jaq_core::Filter<data::JustLut<Val>>,
    input: &serde_json::Value,
) -> Result<Vec<serde_json::Value>, String> {
    let text = input.to_string();
    let val = jaq_json::read::parse_single(text.as_bytes()).map_err(|e| e.to_string())?;
    let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
    let mut out = Vec::new();
    for r in filter.id.run((ctx, val)).map(unwrap_valr) {
        let v = r.map_err(|e| format!("jq runtime error: {e}"))?;
        let json: serde_json::Value = serde_json::from_str(&v.to_string())
            .map_err(|e| format!("jq output is not JSON: {e}"))?;
        out.push(json);
    }
    Ok(out)
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
