//! Running a rule file's tests: finding them ([`find_tests`]: the sidecar `x.tests.yml`, else a
//! Panther rule's inline `Tests:`), then each event through the reference evaluator and through
//! the jq filter, run in-process by jaq ([`Runner`]). Results are data: the `test` command and
//! the agreement test decide what to print or assert.
//!
//! Dependencies point one way: this module reads Panther files (through [`crate::panther`]);
//! neither the Panther front end nor the test-case reader in [`super`] knows about running tests.

use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

use super::{cases_from_node, load_sidecar, why, TestCase};
use crate::backend::jq::exec::JqProgram;
use crate::backend::{self, RenderOptions, Target};
use crate::diagnostic::{Diagnostic, FileDiagnostic};
use crate::eval::Evaluator;
use crate::ir::Expr;
use crate::source::SourceFile;
use crate::LoadedFile;

/// A rule file's tests and the file they are in.
#[derive(Debug, Clone)]
pub struct FoundTests {
    /// The sidecar, or the rule file itself for a Panther rule's inline `Tests:`.
    pub path: PathBuf,
    /// The test cases, or why they could not be read.
    pub cases: Result<Vec<TestCase>, FileDiagnostic>,
}

/// The tests of a rule file: its sidecar (`x.tests.yml`) if there is one, else a Panther rule's
/// own `Tests:`. None when the rule has no tests.
pub fn find_tests(file: &SourceFile) -> Option<FoundTests> {
    if let Some(sidecar) = crate::discover::tests_sidecar(&file.path) {
        let cases = load_sidecar(&sidecar);
        return Some(FoundTests {
            path: sidecar,
            cases,
        });
    }
    let cases = panther_inline_tests(file)?;
    Some(FoundTests {
        path: file.path.clone(),
        cases: cases.map_err(|d| d.in_file(file)),
    })
}

/// The `Tests:` of a Panther rule file, when the file is one: each `Log`'s top-level keys in
/// CloudTrail's spelling (Panther matches them case-insensitively). None for other files.
fn panther_inline_tests(file: &SourceFile) -> Option<Result<Vec<TestCase>, Diagnostic>> {
    let docs = crate::yaml::parse_documents(&file.text).ok()?;
    let doc = docs.iter().find(|d| crate::panther::is_panther(d))?;
    Some(cases_from_node(&doc.node).map(|cases| {
        cases
            .into_iter()
            .map(|mut c| {
                if let Value::Object(m) = &c.log {
                    c.log = Value::Object(
                        m.iter()
                            .map(|(k, v)| (crate::panther::canonical_key(k), v.clone()))
                            .collect(),
                    );
                }
                c
            })
            .collect()
    }))
}

/// Why a rule file's tests cannot run: one of its rules did not convert.
#[derive(Debug, Clone)]
pub enum SetupError {
    /// The rule did not load; its diagnostic in the rule file.
    Rule(FileDiagnostic),
    /// The reference evaluator rejected the rule (a regular expression that does not compile).
    Evaluator(String),
    /// The jq filter did not render, or jaq did not compile it.
    Jq(String),
}

impl fmt::Display for SetupError {
    /// The problem without the rule file's path (a rule's diagnostic carries its own).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Rule(d) => write!(f, "{d}"),
            SetupError::Evaluator(e) => write!(f, "evaluator: {e}"),
            SetupError::Jq(e) => write!(f, "jq: {e}"),
        }
    }
}

/// The rules of one file, ready for test events: every rule's evaluator and jq filter.
pub struct Runner<'a> {
    evaluators: Vec<Evaluator<'a>>,
    filters: Vec<String>,
    programs: Vec<JqProgram>,
    /// Each rule's condition, to say which predicates decided a test.
    conditions: Vec<&'a Expr>,
    /// Evaluators of the conditions under which a Panther rule's `rule()` raises.
    raisers: Vec<Evaluator<'a>>,
}

impl<'a> Runner<'a> {
    /// Build the evaluator and the jq program of every rule of the file; every problem, in rule
    /// order, when some rule does not convert.
    pub fn new(lf: &'a LoadedFile) -> Result<Runner<'a>, Vec<SetupError>> {
        let jq = Target::Jq.backend();
        let mut runner = Runner {
            evaluators: Vec::new(),
            filters: Vec::new(),
            programs: Vec::new(),
            conditions: Vec::new(),
            raisers: Vec::new(),
        };
        let mut problems = Vec::new();
        for r in &lf.rules {
            let rule = match r {
                Ok(rule) => rule,
                Err(d) => {
                    problems.push(SetupError::Rule(d.clone().in_file(&lf.file)));
                    continue;
                }
            };
            match Evaluator::new(&rule.condition) {
                Ok(e) => runner.evaluators.push(e),
                Err(e) => problems.push(SetupError::Evaluator(e)),
            }
            runner.conditions.push(&rule.condition);
            if let Some(raises) = &rule.raises {
                match Evaluator::new(raises) {
                    Ok(e) => runner.raisers.push(e),
                    Err(e) => problems.push(SetupError::Evaluator(e)),
                }
            }
            let options = RenderOptions {
                source_path: lf.file.path.display().to_string(),
                ..Default::default()
            };
            let filter = backend::render(jq, rule, &options)
                .map_err(|d| d.in_file(&lf.file).to_string())
                .and_then(|q| JqProgram::compile(&q).map(|p| (q, p)));
            match filter {
                Ok((q, p)) => {
                    runner.filters.push(q);
                    runner.programs.push(p);
                }
                Err(e) => problems.push(SetupError::Jq(e)),
            }
        }
        if problems.is_empty() {
            Ok(runner)
        } else {
            Err(problems)
        }
    }

    /// The jq filters, one per rule (for running them elsewhere too, such as the system `jq`).
    pub fn filters(&self) -> &[String] {
        &self.filters
    }

    /// What the evaluator and every jq program say of one event.
    pub fn run(&self, event: &Value) -> Verdicts {
        Verdicts {
            evaluator: self.evaluators.iter().any(|e| e.matches(event)),
            jq_runs: self.programs.iter().map(|p| p.run(event)).collect(),
            raises: self.raisers.iter().any(|e| e.matches(event)),
            raise_checked: !self.raisers.is_empty(),
        }
    }

    /// The predicates that decided each rule's condition on `event` ([`why::decided_by`]).
    pub fn decided_by(&self, event: &Value) -> Vec<String> {
        self.conditions
            .iter()
            .flat_map(|c| why::decided_by(c, event))
            .take(why::MAX_REASONS)
            .collect()
    }
}

/// What the evaluator and the jq programs said of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdicts {
    /// Some rule's evaluator matches the event.
    pub evaluator: bool,
    /// Each rule's jq program: its outputs (the event when it matches), or its error.
    pub jq_runs: Vec<Result<Vec<Value>, String>>,
    /// A Panther rule's `rule()` raises an exception on the event (which Panther reports as a
    /// failed test, whatever the test expects).
    pub raises: bool,
    /// Whether raising was checked (the file holds a Panther Python rule).
    pub raise_checked: bool,
}

impl Verdicts {
    /// jq's verdict: some program output something; the last error when a program failed.
    pub fn jq(&self) -> Result<bool, String> {
        let mut verdict = Ok(false);
        for run in &self.jq_runs {
            match run {
                Ok(out) if !out.is_empty() => verdict = verdict.map(|_| true),
                Ok(_) => {}
                Err(e) => verdict = Err(e.clone()),
            }
        }
        verdict
    }

    /// Both the evaluator and jq give the expected result.
    pub fn agree_with(&self, expected: bool) -> bool {
        self.evaluator == expected && self.jq().is_ok_and(|j| j == expected)
    }

    /// The test passes as Panther runs it: the expected result, and `rule()` does not raise.
    pub fn passes(&self, expected: bool) -> bool {
        !self.raises && self.agree_with(expected)
    }
}

/// One test case and what became of it.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub case: TestCase,
    /// None for a test that mocks Python functions: skipped, it cannot run outside Panther.
    pub verdicts: Option<Verdicts>,
    /// For a test that fails: the predicates that decided the rule's answer.
    pub decided_by: Vec<String>,
}

/// What testing one rule file came to.
#[derive(Debug, Clone)]
pub enum FileOutcome {
    /// The rule file has no tests.
    Untested,
    /// Its tests could not be read.
    Unreadable(FileDiagnostic),
    /// Some rule did not convert, so none of its tests ran: `cases` of them, or None when the
    /// file is too broken for its tests to be found (a YAML error).
    NotConverted {
        problems: Vec<SetupError>,
        cases: Option<usize>,
    },
    /// The tests ran.
    Ran {
        /// The file the tests are in (see [`FoundTests::path`]).
        tests_path: PathBuf,
        results: Vec<CaseResult>,
    },
}

/// Find a rule file's tests and run each one that does not mock Python.
///
/// A rule file that does not load is never `Untested`: when its tests cannot be found (a YAML
/// error hides a Panther rule's `Tests:`) it is `NotConverted` with no tests counted, so a broken
/// file cannot make its tests vanish from a passing run.
pub fn test_file(lf: &LoadedFile) -> FileOutcome {
    let Some(found) = find_tests(&lf.file) else {
        let problems: Vec<SetupError> = lf
            .rules
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|d| SetupError::Rule(d.clone().in_file(&lf.file)))
            .collect();
        if problems.is_empty() {
            return FileOutcome::Untested;
        }
        return FileOutcome::NotConverted {
            problems,
            cases: None,
        };
    };
    let cases = match found.cases {
        Ok(c) => c,
        Err(d) => return FileOutcome::Unreadable(d),
    };
    let runner = match Runner::new(lf) {
        Ok(r) => r,
        Err(problems) => {
            return FileOutcome::NotConverted {
                problems,
                cases: Some(cases.len()),
            }
        }
    };
    let results = cases
        .into_iter()
        .map(|case| {
            let verdicts = (!case.mocked).then(|| runner.run(&case.log));
            let decided_by = match &verdicts {
                Some(v) if !v.passes(case.expected) && !v.raises => runner.decided_by(&case.log),
                _ => Vec::new(),
            };
            CaseResult {
                case,
                verdicts,
                decided_by,
            }
        })
        .collect();
    FileOutcome::Ran {
        tests_path: found.path,
        results,
    }
}
