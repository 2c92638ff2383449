//! One oracle per target: a way to run the target's query on an event without the cloud
//! service, so the agreement tests can compare every target with the reference evaluator. A new
//! target gets those tests by adding its oracle to [`oracles`].
//!
//! Athena has no in-process engine here: its queries run in DuckDB over the same test events in
//! `scripts/check-athena` (CI), and `tests/athena.rs` parses them with a SQL grammar.

use rulecast::backend::cloudwatch::referee;
use rulecast::backend::jq::exec::JqProgram;
use rulecast::backend::Target;
use serde_json::Value;

/// A query compiled by an oracle, ready to run on events.
pub trait Compiled {
    /// Does the query select the event? Err when running it fails, or when it prints something
    /// other than the event itself.
    fn matches(&self, event: &Value) -> Result<bool, String>;
}

/// One engine that runs one target's queries.
pub trait Oracle {
    /// Shown in failure messages (`jaq`, `system jq`, `Logs Insights referee`).
    fn name(&self) -> &'static str;
    /// The target whose queries it runs.
    fn target(&self) -> Target;
    /// Compile a rendered query; Err with the engine's message when it does not accept it.
    fn compile(&self, query: &str) -> Result<Box<dyn Compiled>, String>;
}

/// Every oracle available on this machine (the system jq only when it is on PATH; under CI its
/// absence fails, see [`super::system_jq`]).
pub fn oracles() -> Vec<Box<dyn Oracle>> {
    let mut out: Vec<Box<dyn Oracle>> = vec![Box::new(Jaq), Box::new(CwliReferee)];
    if super::system_jq() {
        out.push(Box::new(SystemJq));
    }
    out
}

/// A jq filter prints each selected event itself and nothing else.
fn selected(out: Vec<Value>, event: &Value) -> Result<bool, String> {
    match out.as_slice() {
        [] => Ok(false),
        [one] if one == event => Ok(true),
        _ => Err(format!("printed {} instead of the event", Value::from(out))),
    }
}

/// jq filters run in-process by the jaq crates.
pub struct Jaq;

impl Oracle for Jaq {
    fn name(&self) -> &'static str {
        "jaq"
    }
    fn target(&self) -> Target {
        Target::Jq
    }
    fn compile(&self, query: &str) -> Result<Box<dyn Compiled>, String> {
        Ok(Box::new(JqProgram::compile(query)?))
    }
}

impl Compiled for JqProgram {
    fn matches(&self, event: &Value) -> Result<bool, String> {
        selected(self.run(event)?, event)
    }
}

/// jq filters run by the `jq` binary on PATH (Debian's jq 1.6 in CI).
pub struct SystemJq;

struct SystemJqFilter(String);

impl Oracle for SystemJq {
    fn name(&self) -> &'static str {
        "system jq"
    }
    fn target(&self) -> Target {
        Target::Jq
    }
    fn compile(&self, query: &str) -> Result<Box<dyn Compiled>, String> {
        Ok(Box::new(SystemJqFilter(query.to_owned())))
    }
}

impl Compiled for SystemJqFilter {
    fn matches(&self, event: &Value) -> Result<bool, String> {
        selected(super::run_system_jq(&self.0, event)?, event)
    }
}

/// Logs Insights queries run by our referee (its grammar and evaluator for the subset we emit).
pub struct CwliReferee;

impl Oracle for CwliReferee {
    fn name(&self) -> &'static str {
        "Logs Insights referee"
    }
    fn target(&self) -> Target {
        Target::Cloudwatch
    }
    fn compile(&self, query: &str) -> Result<Box<dyn Compiled>, String> {
        Ok(Box::new(referee::parse(query).map_err(|e| e.to_string())?))
    }
}

impl Compiled for referee::Query {
    fn matches(&self, event: &Value) -> Result<bool, String> {
        Ok(referee::Query::matches(self, event))
    }
}
