//! Tests that ship with rules, in Panther's `Tests:` shape: `Name`, `ExpectedResult`, `Log`
//! (and `Mocks`, which mark a test that needs Python mocking and is skipped).
//!
//! This module reads test cases and knows nothing of rule formats; [`run`] finds a rule file's
//! tests (a sidecar `x.tests.yml`, or a Panther rule's inline `Tests:`) and runs them.

pub mod report;
pub mod run;
pub mod why;

use std::path::Path;

use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};
use crate::yaml::Node;

/// One test event with its expected outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    pub name: String,
    pub expected: bool,
    pub log: serde_json::Value,
    /// The test mocks Python functions: it cannot run outside Panther.
    pub mocked: bool,
}

/// Read test cases from a YAML node: a list of tests, or a mapping with a `Tests` list.
pub fn cases_from_node(node: &Node) -> Result<Vec<TestCase>, Diagnostic> {
    let list = match node {
        Node::Seq(items) => items,
        Node::Map(_) => match node.get("Tests") {
            Some(Node::Seq(items)) => items,
            Some(Node::Null) | None => return Ok(vec![]),
            Some(other) => {
                return Err(Diagnostic::new(
                    Code::NotARule,
                    format!("'Tests' must be a list, found {}", other.kind()),
                ))
            }
        },
        other => {
            return Err(Diagnostic::new(
                Code::NotARule,
                format!("expected a list of tests, found {}", other.kind()),
            ))
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, t) in list.iter().enumerate() {
        let name = t
            .get("Name")
            .and_then(Node::scalar_text)
            .unwrap_or_else(|| format!("test #{}", i + 1));
        let expected = match t.get("ExpectedResult") {
            Some(Node::Bool(b)) => *b,
            _ => {
                return Err(Diagnostic::new(
                    Code::BadValue,
                    format!("test '{name}': 'ExpectedResult' must be true or false"),
                ))
            }
        };
        let log = match t.get("Log") {
            Some(Node::Map(_)) => t.get("Log").map(Node::to_json).unwrap_or_default(),
            Some(Node::Str(s)) => serde_json::from_str(s).map_err(|e| {
                Diagnostic::new(
                    Code::BadValue,
                    format!("test '{name}': 'Log' is not JSON: {e}"),
                )
            })?,
            _ => {
                return Err(Diagnostic::new(
                    Code::BadValue,
                    format!("test '{name}': 'Log' must be an event mapping"),
                ))
            }
        };
        out.push(TestCase {
            name,
            expected,
            log,
            mocked: t.get("Mocks").is_some_and(|m| *m != Node::Null),
        });
    }
    Ok(out)
}

/// Read a sidecar tests file (`x.tests.yml`).
pub fn load_sidecar(path: &Path) -> Result<Vec<TestCase>, FileDiagnostic> {
    let bytes = crate::read_limited(path)
        .map_err(|e| Diagnostic::new(Code::Io, format!("cannot read tests: {e}")).at_path(path))?;
    let file = crate::source_from_bytes(path, bytes)?;
    let node = crate::yaml::parse_one(&file.text).map_err(|d| d.in_file(&file))?;
    cases_from_node(&node).map_err(|d| d.in_file(&file))
}
