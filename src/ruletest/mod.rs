//! Tests that ship with rules, in Panther's `Tests:` shape: `Name`, `ExpectedResult`, `Log`
//! (and `Mocks`, which mark a test that needs Python mocking and is skipped). A correlation
//! rule's test has a list of events (`Log: [...]` or `Logs: [...]`) and expects alert rows:
//! `ExpectedResult` is then the rows (a list of mappings), their number, or true/false (some
//! row or none).
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
    /// A correlation test: its events (`log` is then null) and the rows it expects.
    pub logs: Option<(Vec<serde_json::Value>, ExpectedRows)>,
}

/// What a correlation test expects.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpectedRows {
    /// Some row (true) or none (false).
    Any(bool),
    /// This many rows.
    Count(usize),
    /// Exactly these rows, in order (numbers compared by value).
    Rows(Vec<serde_json::Value>),
}

impl ExpectedRows {
    /// Do `rows` meet the expectation?
    pub fn met_by(&self, rows: &[serde_json::Value]) -> bool {
        match self {
            ExpectedRows::Any(b) => rows.is_empty() != *b,
            ExpectedRows::Count(n) => rows.len() == *n,
            ExpectedRows::Rows(want) => same_rows(want, rows),
        }
    }
}

/// Rows equal as JSON, numbers compared by value (`3` and `3.0` alike).
pub fn same_rows(a: &[serde_json::Value], b: &[serde_json::Value]) -> bool {
    fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
        use serde_json::Value as J;
        match (a, b) {
            (J::Number(x), J::Number(y)) => match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
                _ => x == y,
            },
            (J::Object(x), J::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y)
                        .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
            }
            (J::Array(x), J::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
            }
            _ => a == b,
        }
    }
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
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
        let events = match (t.get("Logs"), t.get("Log")) {
            (Some(Node::Seq(items)), _) | (None, Some(Node::Seq(items))) => Some(
                items
                    .iter()
                    .map(|n| match n {
                        Node::Str(s) => serde_json::from_str(s).map_err(|e| {
                            Diagnostic::new(
                                Code::BadValue,
                                format!("test '{name}': an event of 'Logs' is not JSON: {e}"),
                            )
                        }),
                        other => Ok(other.to_json()),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            (Some(other), _) => {
                return Err(Diagnostic::new(
                    Code::BadValue,
                    format!(
                        "test '{name}': 'Logs' must be a list of events, found {}",
                        other.kind()
                    ),
                ))
            }
            _ => None,
        };
        if let Some(events) = events {
            let rows = match t.get("ExpectedResult") {
                Some(Node::Bool(b)) => ExpectedRows::Any(*b),
                Some(Node::Int(n)) if *n >= 0 => ExpectedRows::Count(*n as usize),
                Some(Node::Seq(rows)) => {
                    ExpectedRows::Rows(rows.iter().map(Node::to_json).collect())
                }
                _ => {
                    return Err(Diagnostic::new(
                        Code::BadValue,
                        format!(
                            "test '{name}': with a list of events, 'ExpectedResult' must be the \
                             alert rows, their number, or true/false"
                        ),
                    ))
                }
            };
            let expected = !rows.met_by(&[]);
            out.push(TestCase {
                name,
                expected,
                log: serde_json::Value::Null,
                mocked: false,
                logs: Some((events, rows)),
            });
            continue;
        }
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
            logs: None,
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
