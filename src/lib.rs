//! rulecast: detection rules (Sigma, Panther) in, queries over AWS CloudTrail out.
//!
//! | stage | module | in → out |
//! |---|---|---|
//! | read | [`source`], [`yaml`] | bytes → [`source::SourceFile`] → YAML documents with key positions |
//! | front end | [`sigma`] (with [`sigma::condition`]), [`panther`] | documents → [`rule::Rule`] (metadata + IR) |
//! | meaning | [`ir`], [`eval`], [`portable_regex`] | the IR and its reference evaluator over JSON events; rule regexes rebuilt so every target's engine reads them alike |
//! | back end | [`backend`] | IR → query text through a minijinja template per target |
//!
//! | correlations | [`correlation`] | correlation documents → references resolved across the run → alert rows |
//!
//! Every stage reports through [`diagnostic::Diagnostic`], which carries a span from the start.
//!
//! Around the pipeline: [`discover`] finds rule files, [`escape`] keeps rule text from reaching a
//! terminal or a query raw, [`mapping`] renames fields per target,
//! [`ruletest`] runs the tests that ship with rules (reference evaluator and jq), [`scan`] runs
//! every rule over local CloudTrail files in one pass, [`check`]
//! finds the mistakes that change what a rule means, [`report`]
//! builds the explain, catalog and Markdown reports, and [`cli`] is the command line.

pub mod backend;
pub mod check;
pub mod cli;
pub mod cloudtrail;
pub mod config;
pub mod correlation;
pub mod diagnostic;
pub mod discover;
pub mod escape;
pub mod eval;
pub mod ir;
pub mod mapping;
pub mod panther;
pub mod passes;
pub mod pipeline;
pub mod portable_regex;
pub mod report;
pub mod rule;
pub mod ruletest;
pub mod scan;
pub mod sigma;
pub mod source;
pub mod suggest;
pub mod yaml;

use std::path::{Path, PathBuf};

use diagnostic::{Code, Diagnostic, FileDiagnostic};
use rule::Rule;
use source::SourceFile;

pub use sigma::Placeholders;

/// Options for reading rules.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub placeholders: Placeholders,
    /// A placeholder without a value stays the literal `%name%` instead of being an error
    /// (`check`, which needs no values to find a rule's mistakes).
    pub literal_placeholders: bool,
}

/// One rule file, read and converted to the IR: every document's rule or its diagnostic.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    pub file: SourceFile,
    pub rules: Vec<Result<Rule, Diagnostic>>,
    /// Why the file holds no rule and is no error: a YAML file of a rules repository that is not
    /// a rule (a Panther global helper, data model, pack or policy; a YAML with no rule key).
    pub not_a_rule: Option<String>,
    /// The Sigma meta filters of the file ([`sigma::filter`]); a filter that does not load is an
    /// error in `rules`.
    pub filters: Vec<sigma::filter::Filter>,
}

impl LoadedFile {
    /// A file whose reading failed as a whole: its one diagnostic.
    pub fn failed(file: SourceFile, d: Diagnostic) -> LoadedFile {
        LoadedFile {
            file,
            rules: vec![Err(d)],
            not_a_rule: None,
            filters: Vec::new(),
        }
    }
}

/// Panther analysis types that are not rules over log events: shared Python, data models, packs
/// of other analyses, lookup tables, saved and scheduled queries, cloud resource policies.
const PANTHER_NOT_RULES: [&str; 7] = [
    "global",
    "datamodel",
    "pack",
    "lookup_table",
    "saved_query",
    "scheduled_query",
    "policy",
];

/// The keys that make a YAML document a rule of some kind (Sigma rule, correlation or filter,
/// legacy collection action; Panther analysis).
const RULE_KEYS: [&str; 9] = [
    "title",
    "detection",
    "logsource",
    "correlation",
    "filter",
    "action",
    "id",
    "name",
    "AnalysisType",
];

/// Why `docs` are no rule and no error, if they are not: every document is a Panther analysis
/// of a non-rule type.
fn not_a_rule(docs: &[yaml::Document]) -> Option<String> {
    let panther_type = |d: &yaml::Document| {
        d.node
            .get("AnalysisType")
            .and_then(yaml::Node::as_str)
            .filter(|t| PANTHER_NOT_RULES.contains(t))
            .map(|t| format!("Panther {t}"))
    };
    let reasons: Vec<String> = docs.iter().map(panther_type).collect::<Option<_>>()?;
    reasons.into_iter().next()
}

/// Whether a file that did not load is YAML of another kind (CI configuration, a compose file):
/// every document a mapping without any key a rule has. A directory search counts such a file
/// instead of failing on it; a file named on the command line is still an error.
pub fn is_other_yaml(lf: &LoadedFile) -> bool {
    let failed = !lf.rules.is_empty()
        && lf
            .rules
            .iter()
            .all(|r| r.as_ref().is_err_and(|d| d.code == Code::NotARule));
    if !failed {
        return false;
    }
    let Ok(docs) = yaml::parse_documents(&lf.file.text) else {
        return false;
    };
    !docs.is_empty()
        && docs.iter().all(|d| match &d.node {
            yaml::Node::Map(entries) => {
                !entries.iter().any(|(k, _)| RULE_KEYS.contains(&k.as_str()))
            }
            _ => false,
        })
}

/// The largest rule file (or tests, mapping, placeholders or Python file) rulecast reads: 10 MiB,
/// a thousand times a large rule. Anything larger is refused without being read in full.
pub const MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

fn too_large_message() -> String {
    format!(
        "the file is larger than {} MiB ({MAX_FILE_SIZE} bytes), the limit for a rule file",
        MAX_FILE_SIZE / (1024 * 1024)
    )
}

/// Read a file, but at most [`MAX_FILE_SIZE`] + 1 bytes: enough for [`source_from_bytes`] to tell
/// it is too large, without holding a 50 MB file (or an endless device) in memory.
pub fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let size = file.metadata().map_or(0, |m| m.len());
    let mut bytes = Vec::with_capacity(size.min(MAX_FILE_SIZE + 1) as usize);
    file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Read `r` (standard input) to its end, but at most [`MAX_FILE_SIZE`] + 1 bytes.
pub fn read_to_end_limited(r: impl std::io::Read, bytes: &mut Vec<u8>) -> std::io::Result<usize> {
    use std::io::Read;
    r.take(MAX_FILE_SIZE + 1).read_to_end(bytes)
}

/// [`read_limited`] for a text file: too large or not UTF-8 is an `InvalidData` error.
pub fn read_text_limited(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind};
    let bytes = read_limited(path)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(Error::new(ErrorKind::InvalidData, too_large_message()));
    }
    String::from_utf8(bytes).map_err(|e| Error::new(ErrorKind::InvalidData, e))
}

/// Turn raw file bytes into a source file, rejecting what is not UTF-8 text and what is larger
/// than [`MAX_FILE_SIZE`] (give it at most that many bytes and one more: [`read_limited`]).
pub fn source_from_bytes(
    path: impl Into<PathBuf>,
    bytes: Vec<u8>,
) -> Result<SourceFile, FileDiagnostic> {
    let path = path.into();
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(Diagnostic::new(Code::NotText, too_large_message())
            .in_file(&SourceFile::new(&path, "")));
    }
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.replace_range(..3, "");
            }
            if let Some(i) = text.find('\0') {
                let f = SourceFile::new(&path, text.clone());
                return Err(Diagnostic::new(
                    Code::NotText,
                    "binary data (a NUL byte); expected a YAML rule",
                )
                .with_span(source::Span::at(i))
                .in_file(&f));
            }
            Ok(SourceFile::new(path, text))
        }
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let prefix = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            let f = SourceFile::new(&path, prefix);
            Err(Diagnostic::new(
                Code::NotText,
                "the file is not UTF-8 text; expected a YAML rule",
            )
            .with_span(source::Span::at(valid))
            .in_file(&f))
        }
    }
}

/// Read and convert one rule file from disk.
pub fn load_path(path: &Path, opts: &LoadOptions) -> Result<LoadedFile, FileDiagnostic> {
    let bytes = read_limited(path)
        .map_err(|e| Diagnostic::new(Code::Io, format!("cannot read file: {e}")).at_path(path))?;
    let file = source_from_bytes(path, bytes)?;
    let mut lf = [load_source(file, opts)];
    correlation::finish(&mut lf);
    let [lf] = lf;
    Ok(lf)
}

/// Convert the rules of one source file.
pub fn load_source(file: SourceFile, opts: &LoadOptions) -> LoadedFile {
    let mut filters = Vec::new();
    let rules = match yaml::parse_documents(&file.text) {
        Err(d) => vec![Err(d)],
        Ok(docs) if !docs.is_empty() && not_a_rule(&docs).is_some() => {
            let not_a_rule = not_a_rule(&docs);
            return LoadedFile {
                file,
                rules: Vec::new(),
                not_a_rule,
                filters: Vec::new(),
            };
        }
        Ok(docs) if docs.is_empty() => vec![Err(Diagnostic::new(
            Code::Empty,
            "the file holds no YAML document; expected a Sigma rule",
        ))],
        Ok(docs) => {
            if docs.iter().any(panther::is_panther) {
                panther::load(&file, &docs)
            } else {
                let lookup = |name: &str| {
                    opts.placeholders
                        .get(name)
                        .cloned()
                        .or_else(|| opts.literal_placeholders.then(|| vec![format!("%{name}%")]))
                };
                let mut rules = sigma::load(&file, &docs, &lookup);
                for f in sigma::filter::load(&file, &docs, &lookup) {
                    match f {
                        Ok(f) => filters.push(f),
                        Err(d) => rules.push(Err(d)),
                    }
                }
                rules
            }
        }
    };
    let mut lf = [LoadedFile {
        file,
        rules,
        not_a_rule: None,
        filters,
    }];
    // Correlations find their rules in the same file here; those naming rules of other files
    // wait for the run-wide pass ([`correlation::finish`]).
    correlation::resolve(&mut lf, false);
    let [lf] = lf;
    lf
}

/// Read a placeholders file: `placeholders: {name: value | [values]}` (or the mapping itself).
pub fn load_placeholders(path: &Path) -> Result<Placeholders, FileDiagnostic> {
    let bytes = read_limited(path).map_err(|e| {
        Diagnostic::new(Code::Io, format!("cannot read placeholders: {e}")).at_path(path)
    })?;
    let file = source_from_bytes(path, bytes)?;
    let node = yaml::parse_one(&file.text).map_err(|d| d.in_file(&file))?;
    let map = node.get("placeholders").unwrap_or(&node);
    let yaml::Node::Map(entries) = map else {
        return Err(Diagnostic::new(
            Code::NotARule,
            "expected a mapping 'placeholders: {name: value or list}'",
        )
        .in_file(&file));
    };
    let mut out = Placeholders::new();
    for (k, v) in entries {
        let values = match v {
            yaml::Node::Seq(items) => items.iter().filter_map(yaml::Node::scalar_text).collect(),
            other => other.scalar_text().into_iter().collect(),
        };
        out.insert(k.clone(), values);
    }
    Ok(out)
}
