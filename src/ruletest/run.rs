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

/// The rules of one file, ready for test events: every rule's evaluator and jq filter, and the
/// file's outermost correlations (those no other correlation of the file uses) with their jq
/// programs.
pub struct Runner<'a> {
    evaluators: Vec<Evaluator<'a>>,
    /// The same rules' evaluators in the documented-shape reading (Athena's default).
    shaped: Vec<Evaluator<'a>>,
    filters: Vec<String>,
    programs: Vec<JqProgram>,
    /// Each rule's condition, to say which predicates decided a test.
    conditions: Vec<&'a Expr>,
    /// Evaluators of the conditions under which a Panther rule's `rule()` raises.
    raisers: Vec<Evaluator<'a>>,
    correlations: Vec<(&'a crate::rule::Rule, String, JqProgram)>,
}

/// What jq needs in front of a correlation program to run in-process on one array of events
/// (the real `jq -n` reads them with `inputs`).
pub const INPUTS_PRELUDE: &str = "def inputs: .[];\n";

/// The correlations of a file that no other correlation of the file uses.
fn outermost(lf: &LoadedFile) -> Vec<usize> {
    let rules: Vec<(usize, &crate::rule::Rule)> = lf
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().ok().map(|r| (i, r)))
        .collect();
    let used: Vec<&str> = rules
        .iter()
        .filter_map(|(_, r)| r.correlation.as_deref())
        .flat_map(|c| c.rules.iter().map(|n| n.text.as_str()))
        .collect();
    rules
        .iter()
        .filter(|(_, r)| r.correlation.is_some())
        .filter(|(_, r)| {
            let keys = [
                r.meta.id.as_deref(),
                r.meta.name.as_deref(),
                Some(r.meta.title.as_str()),
            ];
            !keys.into_iter().flatten().any(|k| used.contains(&k))
        })
        .map(|(i, _)| *i)
        .collect()
}

impl<'a> Runner<'a> {
    /// Build the evaluator and the jq program of every rule of the file; every problem, in rule
    /// order, when some rule does not convert.
    pub fn new(lf: &'a LoadedFile) -> Result<Runner<'a>, Vec<SetupError>> {
        let jq = Target::Jq.backend();
        let mut runner = Runner {
            evaluators: Vec::new(),
            shaped: Vec::new(),
            filters: Vec::new(),
            programs: Vec::new(),
            conditions: Vec::new(),
            raisers: Vec::new(),
            correlations: Vec::new(),
        };
        let mut problems = Vec::new();
        let outer = outermost(lf);
        for (i, r) in lf.rules.iter().enumerate() {
            let rule = match r {
                Ok(rule) => rule,
                Err(d) => {
                    problems.push(SetupError::Rule(d.clone().in_file(&lf.file)));
                    continue;
                }
            };
            if rule.correlation.is_some() {
                if !outer.contains(&i) {
                    continue;
                }
                let options = RenderOptions {
                    source_path: lf.file.path.display().to_string(),
                    ..Default::default()
                };
                let program = backend::render(jq, rule, &options)
                    .map_err(|d| d.in_file(&lf.file).to_string())
                    .and_then(|q| {
                        JqProgram::compile(&format!("{INPUTS_PRELUDE}{q}")).map(|p| (q, p))
                    });
                match program {
                    Ok((q, p)) => runner.correlations.push((rule, q, p)),
                    Err(e) => problems.push(SetupError::Jq(e)),
                }
                continue;
            }
            match Evaluator::new(&rule.condition) {
                Ok(e) => {
                    runner.shaped.push(e.clone().with_shapes(true));
                    runner.evaluators.push(e);
                }
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

    /// The jq programs of the file's outermost correlations (for `jq -n`).
    pub fn correlation_filters(&self) -> Vec<&str> {
        self.correlations
            .iter()
            .map(|(_, q, _)| q.as_str())
            .collect()
    }

    /// The alert rows of the file's outermost correlations over `events`, by the evaluator and
    /// by jq (in document order, one correlation's rows after another's).
    pub fn run_logs(&self, events: &[Value]) -> RowVerdicts {
        if self.correlations.is_empty() {
            let none =
                Err("the file has no correlation rule to run a list of events through".to_owned());
            return RowVerdicts {
                evaluator: none.clone(),
                jq: none,
            };
        }
        let mut evaluator = Ok(Vec::new());
        let mut jq = Ok(Vec::new());
        let input = Value::Array(events.to_vec());
        for (rule, _, program) in &self.correlations {
            let rows = crate::correlation::eval::rows(rule, events).map(|rows| {
                rule.correlation
                    .as_deref()
                    .map(|c| crate::correlation::eval::rows_json(c, &rows))
                    .unwrap_or_default()
            });
            match (&mut evaluator, rows) {
                (Ok(all), Ok(rows)) => all.extend(rows),
                (_, Err(e)) => evaluator = Err(e),
                _ => {}
            }
            match (&mut jq, program.run(&input)) {
                (Ok(all), Ok(rows)) => all.extend(rows),
                (_, Err(e)) => jq = Err(e),
                _ => {}
            }
        }
        RowVerdicts { evaluator, jq }
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

    /// Does some rule match `event` in the evaluator's documented-shape reading (the one Athena
    /// implements by default; see [`crate::eval`])?
    pub fn run_with_shapes(&self, event: &Value) -> bool {
        self.shaped.iter().any(|e| e.matches(event))
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

/// The alert rows the evaluator and jq gave for a correlation test's events.
#[derive(Debug, Clone, PartialEq)]
pub struct RowVerdicts {
    pub evaluator: Result<Vec<Value>, String>,
    pub jq: Result<Vec<Value>, String>,
}

impl RowVerdicts {
    /// The evaluator meets the expectation and jq gives the evaluator's rows.
    pub fn agree_with(&self, expected: &super::ExpectedRows) -> bool {
        match (&self.evaluator, &self.jq) {
            (Ok(e), Ok(j)) => expected.met_by(e) && super::same_rows(e, j),
            _ => false,
        }
    }
}

/// One test case and what became of it.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub case: TestCase,
    /// None for a test that mocks Python functions (skipped, it cannot run outside Panther) and
    /// for a correlation test.
    pub verdicts: Option<Verdicts>,
    /// For a test that fails: the predicates that decided the rule's answer.
    pub decided_by: Vec<String>,
    /// A correlation test's rows.
    pub rows: Option<RowVerdicts>,
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
            if let Some((events, _)) = &case.logs {
                let rows = Some(runner.run_logs(events));
                return CaseResult {
                    case,
                    verdicts: None,
                    decided_by: Vec::new(),
                    rows,
                };
            }
            let verdicts = (!case.mocked).then(|| runner.run(&case.log));
            let decided_by = match &verdicts {
                Some(v) if !v.passes(case.expected) && !v.raises => runner.decided_by(&case.log),
                _ => Vec::new(),
            };
            CaseResult {
                case,
                verdicts,
                decided_by,
                rows: None,
            }
        })
        .collect();
    FileOutcome::Ran {
        tests_path: found.path,
        results,
    }
}
