//! `rulecast check`: the mistakes that load without an error but change what a rule means (an
//! unused detection, a logsource that is not CloudTrail, a misspelled Panther key), found in
//! rule trees and reported as [`Finding`]s: a code, a severity, a place and a one-line fix.
//!
//! The lints ([`Lint`]) run over files that have been loaded: [`sigma`] and [`panther`] read each
//! document's YAML (with key positions), [`condition`] reads each lowered rule (constant
//! conditions, field names), [`tree`] looks across files (duplicate ids, references), and
//! [`attack`] knows the ATT&CK tactics and techniques. Rules that do not load are reported by
//! [`load_errors`] with their diagnostic's code. [`sarif`] writes findings as SARIF 2.1.0.
//! `convert` and `test` run [`lint`] too and show its findings as warnings.

pub mod attack;
pub mod condition;
pub mod panther;
pub mod sarif;
pub mod sigma;
pub mod tree;

use std::path::PathBuf;

use serde::Serialize;

use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};
use crate::mapping::Mapping;
use crate::source::{SourceFile, Span};
use crate::yaml::Document;
use crate::LoadedFile;

/// How bad a finding is: errors fail `rulecast check` (exit 1), warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! lints {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $sev:ident, $name:literal, $summary:literal;)*) => {
        /// A check `rulecast check` makes. Codes are stable; the table is in docs/errors.md.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Lint {
            $($(#[$doc])* $variant,)*
        }

        impl Lint {
            /// Every lint, in code order (docs and SARIF iterate this).
            pub const ALL: &'static [Lint] = &[$(Lint::$variant),*];

            /// The stable code (`C101`).
            pub fn code(self) -> &'static str {
                match self { $(Lint::$variant => $code,)* }
            }

            /// The severity of its findings.
            pub fn severity(self) -> Severity {
                match self { $(Lint::$variant => Severity::$sev,)* }
            }

            /// A short kebab-case name (SARIF `name`).
            pub fn name(self) -> &'static str {
                match self { $(Lint::$variant => $name,)* }
            }

            /// One sentence on what it finds.
            pub fn summary(self) -> &'static str {
                match self { $(Lint::$variant => $summary,)* }
            }
        }
    };
}

lints! {
    /// A Sigma detection that no condition uses.
    DanglingDetection = "C101", Error, "dangling-detection",
        "a detection no condition uses (often a mis-indented line that widens the rule)";
    /// A logsource other than AWS CloudTrail.
    Logsource = "C102", Error, "logsource-not-cloudtrail",
        "the rule's logsource is not AWS CloudTrail, so its query searches CloudTrail for fields it does not have";
    /// The same `id` or `name` in two rules.
    DuplicateId = "C103", Error, "duplicate-id",
        "two rules share an id or a name";
    /// A `related` reference not found in the tree.
    UnresolvedRelated = "C104", Warning, "unresolved-related",
        "a related id is not the id of any rule checked (it may be outside the tree)";
    /// A correlation's `rules:` entry that names a rule by its title (the loader resolves it, as
    /// public rule sets need, with a note; one that names no rule is its error E312).
    CorrelationByTitle = "C105", Warning, "correlation-rule-by-title",
        "a correlation rule names a rule by its title instead of its id or name";
    /// A `related` entry of an unknown type.
    RelatedType = "C106", Error, "related-type",
        "a related entry's type is not derived, obsolete, merged, renamed or similar";
    /// A date that is not `YYYY-MM-DD`.
    BadDate = "C107", Error, "date-format",
        "date or modified is not a calendar date written YYYY-MM-DD";
    /// A date in the legacy `YYYY/MM/DD` form.
    LegacyDate = "C108", Warning, "legacy-date-format",
        "date or modified is written YYYY/MM/DD, which Sigma v2 dropped";
    /// An `attack.` tag that names no ATT&CK tactic, technique, group or software.
    AttackTag = "C109", Error, "attack-tag",
        "an attack.* tag names no ATT&CK Enterprise tactic or technique";
    /// An `attack.` tag naming a revoked or deprecated technique.
    AttackDeprecated = "C110", Warning, "attack-tag-deprecated",
        "an attack.* tag names a revoked or deprecated technique";
    /// A `tlp.`, `cve.`, `car.` or `detection.` tag of the wrong form.
    NamespaceTag = "C111", Error, "namespace-tag",
        "a tlp, cve, car or detection tag is not of the form the Sigma tags specification gives";
    /// A tag in no namespace the Sigma tags specification defines, or badly formed.
    UnknownTag = "C112", Warning, "unknown-tag-namespace",
        "a tag is not namespace.value in a namespace the Sigma tags specification defines";
    /// A field that is not in CloudTrail records.
    UnknownField = "C113", Warning, "unknown-field",
        "a field that CloudTrail records do not have: the test on it can never hold";
    /// A condition that folds to a constant.
    ConstantCondition = "C114", Error, "constant-condition",
        "the condition is always false or always true once simplified";
    /// A Panther key the schema requires is missing.
    PantherRequired = "C201", Error, "panther-required-key",
        "a key Panther's schema requires is missing (RuleID, Severity, Enabled, LogTypes, Filename or Detection)";
    /// A Panther key the schema does not know.
    PantherUnknownKey = "C202", Warning, "panther-unknown-key",
        "a key Panther's rule schema does not define (often a misspelling)";
    /// A Panther value of the wrong kind.
    PantherValue = "C203", Error, "panther-value",
        "a Panther key has a value of the wrong kind (Severity, Enabled)";
    /// A Panther test without `ExpectedResult`.
    PantherTest = "C204", Error, "panther-test",
        "a Panther test has no ExpectedResult (true or false) or no Log";
}

/// One thing `rulecast check` found, at a file, line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    /// `C101` for a lint, `E301` for a rule that does not load.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    /// One line on how to fix it.
    pub fix: String,
}

impl Finding {
    /// A lint's finding at a span of `file`.
    pub fn new(
        lint: Lint,
        file: &SourceFile,
        span: Span,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        let at = file.line_col(span.start);
        Finding {
            path: file.path.clone(),
            line: at.line,
            column: at.column,
            code: lint.code(),
            severity: lint.severity(),
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// A rule that does not load, as a finding (always an error).
    pub fn from_diagnostic(d: &FileDiagnostic) -> Finding {
        Finding {
            path: d.path.clone(),
            line: d.line,
            column: d.column,
            code: d.code.as_str(),
            severity: Severity::Error,
            message: d.message.clone(),
            fix: fix_for(d.code).to_owned(),
        }
    }

    /// The lint this finding is from, if it is one.
    pub fn lint(&self) -> Option<Lint> {
        Lint::ALL.iter().copied().find(|l| l.code() == self.code)
    }

    /// This finding as a warning (what `convert` and `test` show).
    pub fn as_warning(mut self) -> Finding {
        self.severity = Severity::Warning;
        self
    }
}

/// The one-line form: `path:line:col: warning[C101]: message`; rule text in it is written
/// visibly ([`crate::escape::visible`]), so it is always one line.
impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::escape::visible;
        write!(
            f,
            "{}:{}:{}: {}[{}]: {}",
            visible(&self.path.display().to_string()),
            self.line,
            self.column,
            self.severity.as_str(),
            self.code,
            visible(&self.message)
        )
    }
}

/// A one-line fix for a rule that does not load, by its diagnostic's code.
pub fn fix_for(code: Code) -> &'static str {
    match code {
        Code::Io => "make the file readable, or remove it from the tree",
        Code::Config => "correct rulecast.toml or the pipeline as the message says",
        Code::NotText | Code::Empty => "save the rule as UTF-8 YAML text",
        Code::Yaml => "fix the YAML syntax at this place",
        Code::NotARule => "add the missing key or give it the expected type",
        Code::BadMetadata => "use one of the values the message lists",
        Code::PythonSyntax => "fix the Python syntax at this place",
        Code::ConditionSyntax | Code::ConditionDepth | Code::LegacyAggregation => {
            "rewrite the condition with detection names, and/or/not, parentheses and `x of` selectors"
        }
        Code::UnknownIdentifier => "name a detection that exists, or define it",
        Code::EmptySelector => "make the pattern match a detection name, or rename the detections",
        Code::UnknownModifier | Code::ModifierConflict => {
            "use the modifiers docs/semantics.md lists, in a valid order"
        }
        Code::BadValue | Code::BadRegex | Code::BadCidr | Code::BadDetection => {
            "correct the value as the message says"
        }
        Code::MissingPlaceholder => "give the placeholder a value with --placeholders",
        Code::NotTranslatable | Code::Unsupported => {
            "rewrite the construct in a form docs/errors.md lists as supported"
        }
        Code::NotCloudTrail => {
            "use `logsource: {product: aws, service: cloudtrail}`, or map the logsource with --mapping"
        }
        Code::CorrelationShape => "correct the correlation as the message says (docs/semantics.md)",
        Code::UnknownRule => "name a rule of the run by its id or name (or, in a filter, use 'rules: any')",
        Code::CorrelationCycle => "break the cycle, or shorten the chain of correlations",
        Code::BadLog => "repair or remove the log file, or skip the record",
        Code::Template | Code::Internal => "report this to the rulecast maintainers",
    }
}

/// What the lints need besides the files.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Mappings whose `logsources:` make other logsources acceptable.
    pub mappings: &'a [Mapping],
}

/// A loaded file with its YAML documents (None when the YAML does not parse).
struct Parsed<'a> {
    loaded: &'a LoadedFile,
    docs: Vec<Document>,
}

/// Every lint over every file, sorted by place (rules that do not load are not reported here:
/// see [`load_errors`]).
pub fn lint(files: &[LoadedFile], opts: Options<'_>) -> Vec<Finding> {
    let parsed: Vec<Parsed<'_>> = files
        .iter()
        .map(|lf| Parsed {
            loaded: lf,
            docs: crate::yaml::parse_documents(&lf.file.text).unwrap_or_default(),
        })
        .collect();
    let mut out = Vec::new();
    for p in &parsed {
        let file = &p.loaded.file;
        let is_panther = p.docs.iter().any(crate::panther::is_panther);
        for doc in &p.docs {
            if is_panther {
                panther::lint_document(file, doc, &mut out);
            } else {
                sigma::lint_document(file, doc, opts, &mut out);
            }
        }
        for rule in p.loaded.rules.iter().flatten() {
            // The condition's place: Sigma `detection.condition`, Panther `Detection` or
            // `Filename`, in the rule's own document (the one that starts where it does).
            let doc = p.docs.iter().find(|d| d.start == rule.span.start);
            let at = doc
                .and_then(|d| {
                    d.keys
                        .key(&["detection", "condition"])
                        .or_else(|| d.keys.key(&["Detection"]))
                        .or_else(|| d.keys.key(&["Filename"]))
                })
                .unwrap_or(rule.span);
            condition::lint_rule(file, rule, at, &mut out);
        }
    }
    let docs: Vec<(&SourceFile, &[Document])> = parsed
        .iter()
        .map(|p| (&p.loaded.file, p.docs.as_slice()))
        .collect();
    tree::lint_tree(&docs, &mut out);
    out.sort();
    out.dedup();
    out
}

/// The rules that do not load, each as an error finding with its diagnostic's code.
pub fn load_errors(files: &[LoadedFile]) -> Vec<Finding> {
    let mut out: Vec<Finding> = files
        .iter()
        .flat_map(|lf| {
            lf.rules
                .iter()
                .filter_map(|r| r.as_ref().err())
                .map(|d: &Diagnostic| Finding::from_diagnostic(&d.clone().in_file(&lf.file)))
        })
        .collect();
    out.sort();
    out
}

/// Is this logsource AWS CloudTrail? `product` is `aws` (or absent), `service` is `cloudtrail`
/// (or absent when the product is `aws`), and there is no `category` (Sigma's categories are
/// host and network log kinds). Values compare case-insensitively.
pub fn is_cloudtrail(logsource: &[(String, String)]) -> bool {
    let get = |k: &str| {
        logsource
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let product = get("product");
    let service = get("service");
    let product_ok = product.as_deref().is_none_or(|p| p == "aws");
    let service_ok = service.as_deref().is_none_or(|s| s == "cloudtrail");
    product_ok
        && service_ok
        && (product.is_some() || service.is_some())
        && get("category").is_none()
}

/// `logsource` is acceptable: CloudTrail, or mapped to a table by the mapping's `logsources:`.
pub fn logsource_ok(logsource: &[(String, String)], mappings: &[Mapping]) -> bool {
    is_cloudtrail(logsource) || mappings.iter().any(|m| m.maps_logsource(logsource))
}

/// `{product: windows, category: process_creation}`: a logsource as messages show it.
pub fn logsource_text(logsource: &[(String, String)]) -> String {
    let parts: Vec<String> = logsource.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", parts.join(", "))
}

/// The closest of `candidates` to `word` (see [`crate::suggest::closest`]).
pub fn did_you_mean<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    crate::suggest::closest(word, candidates.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panther_keys_near_misses() {
        assert_eq!(
            did_you_mean("Sevrity", &["Severity", "Status"]),
            Some("Severity")
        );
        assert_eq!(did_you_mean("logtypes", &["LogTypes"]), Some("LogTypes"));
        assert_eq!(did_you_mean("Foo", &["Severity"]), None);
    }

    #[test]
    fn cloudtrail_logsources() {
        let ls = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(is_cloudtrail(&ls(&[
            ("product", "aws"),
            ("service", "cloudtrail")
        ])));
        assert!(is_cloudtrail(&ls(&[("product", "AWS")])));
        assert!(is_cloudtrail(&ls(&[("service", "cloudtrail")])));
        assert!(!is_cloudtrail(&ls(&[
            ("product", "windows"),
            ("category", "process_creation")
        ])));
        assert!(!is_cloudtrail(&ls(&[
            ("product", "aws"),
            ("service", "s3")
        ])));
        assert!(!is_cloudtrail(&ls(&[("category", "proxy")])));
        let lints: std::collections::BTreeSet<&str> = Lint::ALL.iter().map(|l| l.code()).collect();
        assert_eq!(lints.len(), Lint::ALL.len());
    }
}
