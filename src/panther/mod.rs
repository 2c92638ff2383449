//! The Panther front end: `AnalysisType: rule` YAML files, with the logic in a Python module
//! (`Filename:`, see [`python`]) or in a simple detection (`Detection:`, see [`detection`]), to
//! [`Rule`]s. Only rules over `AWS.CloudTrail` are in scope.
//!
//! Panther looks up an event's keys case-insensitively; CloudTrail records always spell their
//! top-level keys one way, so a rule's top-level key is rewritten to the record's spelling from
//! [`crate::cloudtrail::TOP_LEVEL_KEYS`] (`sourceIpAddress` reads `sourceIPAddress`). Nested keys are read as written.

pub mod detection;
pub mod python;

use std::path::{Path, PathBuf};

pub use crate::cloudtrail::canonical_key;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Count, Elements, Expr, FieldPath, Predicate, Quantifier, Subject, Test};
use crate::rule::{Detection, Format, Meta, Rule};
use crate::source::{SourceFile, Span};
use crate::yaml::{Document, Node};

/// The fields `aws_rule_context(event)` puts in an alert: a rule's output fields.
pub const AWS_RULE_CONTEXT_FIELDS: &[&str] = &[
    "eventName",
    "eventSource",
    "awsRegion",
    "recipientAccountId",
    "sourceIPAddress",
    "userAgent",
    "userIdentity",
];

/// Is this document a Panther analysis file?
pub fn is_panther(doc: &Document) -> bool {
    doc.node.get("AnalysisType").is_some()
}

/// Convert every Panther document of a file.
pub fn load(file: &SourceFile, docs: &[Document]) -> Vec<Result<Rule, Diagnostic>> {
    docs.iter().map(|d| load_rule(file, d)).collect()
}

fn key_span(doc: &Document, path: &[&str]) -> Span {
    doc.keys.key(path).unwrap_or(Span::at(doc.start))
}

/// One Panther rule document (`AnalysisType: rule` over `AWS.CloudTrail`) as a rule.
fn load_rule(file: &SourceFile, doc: &Document) -> Result<Rule, Diagnostic> {
    let at = |k: &str| key_span(doc, &[k]);
    let rule_id = check_rule_document(doc)?;
    let (mut meta, summary) = read_meta(doc, rule_id)?;
    let filters = match doc.node.get("InlineFilters") {
        Some(n) => Some(detection::lower_filters(doc, n)?),
        None => None,
    };
    let (body, mut fields, raises, notes) = lower_body(file, doc)?;
    add_summary_fields(summary, &mut fields);
    meta.fields = fields;
    meta.notes = notes;
    let detections = match &filters {
        Some(f) => vec![
            Detection {
                name: "InlineFilters".into(),
                expr: f.clone(),
            },
            Detection {
                name: "rule".into(),
                expr: body.clone(),
            },
        ],
        None => vec![],
    };
    let condition = crate::passes::lower(&Expr::and(filters.into_iter().chain([body]).collect()));
    Ok(Rule {
        format: Format::Panther,
        meta,
        detections,
        condition_text: vec![],
        condition,
        span: Span::at(doc.start),
        logsource_span: at("LogTypes"),
        raises,
        correlation: None,
    })
}

/// The document is a mapping, a rule (not another kind of analysis) over CloudTrail, with a
/// `RuleID`, which it returns.
fn check_rule_document(doc: &Document) -> Result<String, Diagnostic> {
    let at = |k: &str| key_span(doc, &[k]);
    let Node::Map(_) = &doc.node else {
        return Err(Diagnostic::new(
            Code::NotARule,
            format!(
                "not a Panther rule: expected a mapping, found {}",
                doc.node.kind()
            ),
        )
        .with_span(Span::at(doc.start)));
    };
    match doc.node.get("AnalysisType").and_then(Node::as_str) {
        Some("rule") => {}
        Some(other) => {
            return Err(Diagnostic::new(
                Code::Unsupported,
                format!(
                "Panther '{other}' analyses are not supported; rulecast reads 'AnalysisType: rule'"
            ),
            )
            .with_span(at("AnalysisType")))
        }
        None => {
            return Err(
                Diagnostic::new(Code::NotARule, "'AnalysisType' must be a string ('rule')")
                    .with_span(at("AnalysisType")),
            )
        }
    }
    let log_types: Vec<String> = match doc.node.get("LogTypes") {
        Some(Node::Seq(items)) => items.iter().filter_map(Node::scalar_text).collect(),
        Some(Node::Str(s)) => vec![s.clone()],
        _ => {
            return Err(Diagnostic::new(
                Code::NotARule,
                "not a Panther rule: 'LogTypes' must be a list of log types",
            )
            .with_span(Span::at(doc.start)))
        }
    };
    if !log_types.iter().any(|t| t == "AWS.CloudTrail") {
        return Err(Diagnostic::new(
            Code::Unsupported,
            format!(
                "unsupported log type: {}; rulecast reads Panther rules over AWS.CloudTrail",
                log_types.join(", ")
            ),
        )
        .with_span(at("LogTypes")));
    }
    let Some(rule_id) = doc.node.get("RuleID").and_then(Node::scalar_text) else {
        return Err(Diagnostic::new(
            Code::NotARule,
            "not a Panther rule: the required key 'RuleID' is missing",
        )
        .with_span(Span::at(doc.start)));
    };
    Ok(rule_id)
}

/// The rule's metadata (title, description, references, level, tags, custom keys) and its
/// `SummaryAttributes`.
fn read_meta(doc: &Document, rule_id: String) -> Result<(Meta, Vec<String>), Diagnostic> {
    let at = |k: &str| key_span(doc, &[k]);
    let Node::Map(entries) = &doc.node else {
        return Ok((Meta::default(), Vec::new()));
    };
    let mut meta = Meta {
        id: Some(rule_id.clone()),
        logsource: vec![
            ("product".into(), "aws".into()),
            ("service".into(), "cloudtrail".into()),
        ],
        ..Default::default()
    };
    let mut summary = Vec::new();
    let mut tags = Vec::new();
    for (key, value) in entries {
        let err = |what: &str| {
            Err(Diagnostic::new(
                Code::NotARule,
                format!("'{key}' must be {what}, found {}", value.kind()),
            )
            .with_span(at(key)))
        };
        match key.as_str() {
            "AnalysisType" | "RuleID" | "Detection" | "Tests" => {}
            "DisplayName" => match value.scalar_text() {
                Some(t) if *value != Node::Null => meta.title = t,
                _ => return err("a string"),
            },
            "Description" => {
                meta.description = value.scalar_text().filter(|_| *value != Node::Null)
            }
            "Reference" => {
                if let Some(r) = value.scalar_text().filter(|_| *value != Node::Null) {
                    meta.references.push(r.trim().to_owned());
                }
            }
            "Severity" => {
                let Some(s) = value.as_str() else {
                    return err("a severity (Info, Low, Medium, High, Critical)");
                };
                meta.level = Some(severity_level(s).map_err(|d| d.with_span(at(key)))?.into());
            }
            "Tags" => match value.string_list() {
                Some(l) => tags = l,
                None => return err("a list of strings"),
            },
            "Reports" => {
                let Node::Map(frameworks) = value else {
                    return err("a mapping of frameworks to lists of ids");
                };
                add_attack_tags(frameworks, &mut meta.tags);
                meta.custom.push((key.clone(), value.to_json()));
            }
            "SummaryAttributes" => match value.string_list() {
                Some(l) => summary = l,
                None => return err("a list of field names"),
            },
            _ => meta.custom.push((key.clone(), value.to_json())),
        }
    }
    meta.tags.extend(tags);
    if meta.title.is_empty() {
        meta.title = rule_id;
    }
    Ok((meta, summary))
}

/// Sigma's level for a Panther `Severity`.
fn severity_level(s: &str) -> Result<&'static str, Diagnostic> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "info" => "informational",
        "low" => "low",
        "medium" => "medium",
        "high" => "high",
        "critical" => "critical",
        _ => {
            return Err(Diagnostic::new(
                Code::BadMetadata,
                format!("Severity '{s}' is not one of Info, Low, Medium, High, Critical"),
            ))
        }
    })
}

/// The ATT&CK ids of `Reports: {MITRE ATT&CK: ["TA0001:T1078"]}` as Sigma tags
/// (`attack.ta0001`, `attack.t1078`), each once.
fn add_attack_tags(frameworks: &[(String, Node)], tags: &mut Vec<String>) {
    for (fw, ids) in frameworks {
        if !fw.to_ascii_uppercase().starts_with("MITRE") {
            continue;
        }
        for id in ids.string_list().unwrap_or_default() {
            for part in id.split(':') {
                let t = format!("attack.{}", part.trim().to_ascii_lowercase());
                if part.trim().is_empty() || tags.contains(&t) {
                    continue;
                }
                tags.push(t);
            }
        }
    }
}

/// What [`lower_body`] gives: the condition, output fields, raising condition and notes.
type LoweredBody = (Expr, Vec<String>, Option<Expr>, Vec<String>);

/// The rule's own condition, from its Python module (`Filename`) or its `Detection`, with the
/// fields the module reports, the condition under which it raises and the notes its query
/// carries.
fn lower_body(file: &SourceFile, doc: &Document) -> Result<LoweredBody, Diagnostic> {
    let at = |k: &str| key_span(doc, &[k]);
    Ok(
        match (doc.node.get("Filename"), doc.node.get("Detection")) {
            (Some(_), Some(_)) => {
                return Err(Diagnostic::new(
                    Code::NotARule,
                    "a Panther rule has either 'Filename' or 'Detection', not both",
                )
                .with_span(at("Detection")))
            }
            (Some(f), None) => {
                let Some(name) = f.as_str() else {
                    return Err(
                        Diagnostic::new(Code::NotARule, "'Filename' must be a string")
                            .with_span(at("Filename")),
                    );
                };
                let value_at = doc
                    .keys
                    .value_offset(&["Filename"])
                    .map_or_else(|| at("Filename"), Span::at);
                let (py, text) =
                    read_rule_module(&file.path, name).map_err(|d| d.with_span(value_at))?;
                let t = python::translate(&py, &text, at("Filename"))?;
                (t.condition, t.fields, t.raises, t.notes)
            }
            (None, Some(d)) => (detection::lower_detection(doc, d)?, vec![], None, vec![]),
            (None, None) => {
                return Err(Diagnostic::new(
                    Code::NotARule,
                    "not a Panther rule: it needs 'Filename' (a Python module) or 'Detection'",
                )
                .with_span(Span::at(doc.start)))
            }
        },
    )
}

/// `SummaryAttributes` as output fields after the module's own (Panther's `p_` fields left out).
fn add_summary_fields(summary: Vec<String>, fields: &mut Vec<String>) {
    for s in summary {
        let path: Vec<&str> = s.split([':', '.']).collect();
        if path.first().is_some_and(|p| p.starts_with("p_")) {
            continue;
        }
        let mut segs: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
        if let Some(first) = segs.first_mut() {
            *first = canonical_key(first);
        }
        let f = segs.join(".");
        if !fields.contains(&f) {
            fields.push(f);
        }
    }
}

/// The largest Python module rulecast reads (`Filename:`), in bytes.
pub const MAX_MODULE_BYTES: u64 = 10 * 1024 * 1024;

/// The directory a rule's `Filename:` is read from: the YAML file's own (stdin: the working
/// directory).
fn rule_dir(yaml: &Path) -> PathBuf {
    match yaml.parent() {
        Some(dir) if !yaml.starts_with("<") && !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Read the Python module a rule's `Filename:` names: the path (for diagnostics) and its text.
///
/// Rules come from untrusted pull requests, so `Filename:` may only name a regular file inside
/// the YAML file's directory tree: a relative path that stays inside it once `..` and symbolic
/// links are resolved, no larger than [`MAX_MODULE_BYTES`]. Anything else is refused before it
/// is opened, and no diagnostic quotes a byte of a file outside the tree.
fn read_rule_module(yaml: &Path, name: &str) -> Result<(PathBuf, String), Diagnostic> {
    use std::io::Read;
    use std::path::Component;
    let refuse = |why: &str| {
        Err(Diagnostic::new(
            Code::BadMetadata,
            format!(
                "'Filename: {name}' {why}; it must name a file in the rule's directory or below"
            ),
        ))
    };
    let too_large = || {
        Err(Diagnostic::new(
            Code::BadMetadata,
            format!(
                "'Filename: {name}' is larger than {} MiB, the most rulecast reads",
                MAX_MODULE_BYTES >> 20
            ),
        ))
    };
    let io_error = |e: &dyn std::fmt::Display| {
        Diagnostic::new(
            Code::Io,
            format!("cannot read the rule's Python module '{name}' (beside the YAML file): {e}"),
        )
    };
    let relative = Path::new(name);
    if name.is_empty() {
        return refuse("is empty");
    }
    if relative.has_root() || relative.is_absolute() {
        return refuse("is an absolute path");
    }
    // Lexically first, so a path that climbs out is refused without looking at the file system.
    let mut depth = 0usize;
    for c in relative.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return refuse("leaves the rule's directory");
            }
        }
    }
    let dir = rule_dir(yaml);
    let py = dir.join(relative);
    let base = dir.canonicalize().map_err(|e| io_error(&e))?;
    let real = py.canonicalize().map_err(|e| io_error(&e))?;
    if !real.starts_with(&base) {
        return refuse("leads outside the rule's directory (through a symbolic link)");
    }
    if !std::fs::metadata(&real)
        .map_err(|e| io_error(&e))?
        .is_file()
    {
        return refuse("is not a regular file");
    }
    let f = std::fs::File::open(&real).map_err(|e| io_error(&e))?;
    let meta = f.metadata().map_err(|e| io_error(&e))?;
    if !meta.is_file() {
        return refuse("is not a regular file");
    }
    if meta.len() > MAX_MODULE_BYTES {
        return too_large();
    }
    let mut bytes = Vec::new();
    f.take(MAX_MODULE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(&e))?;
    if bytes.len() as u64 > MAX_MODULE_BYTES {
        return too_large();
    }
    let text =
        String::from_utf8(bytes).map_err(|_| io_error(&"stream did not contain valid UTF-8"))?;
    Ok((py, text))
}

// ---- IR helpers shared by both Panther front ends ----

/// A test of some element of the array at `path` (Python `any(x == v for x in arr)`, Panther
/// `AnyElement`): an [`Expr::Elements`] whose body tests the element itself.
pub(crate) fn any_element(path: &FieldPath, test: Test, span: Span) -> Expr {
    let element = FieldPath::new(Vec::new());
    elements(path, Count::Some, exact(&element, test, span), span)
}

/// A predicate reading the one value at `path` (Python `deep_get`).
pub(crate) fn exact(path: &FieldPath, test: Test, span: Span) -> Expr {
    quantified(path, Quantifier::Exact, test, span)
}

pub(crate) fn quantified(path: &FieldPath, quantifier: Quantifier, test: Test, span: Span) -> Expr {
    Expr::Pred(Predicate {
        subject: Subject::Field(path.clone()),
        quantifier,
        test,
        span,
    })
}

/// A condition on the elements of the array at `path` (see [`Expr::Elements`]).
pub(crate) fn elements(path: &FieldPath, count: Count, body: Expr, span: Span) -> Expr {
    let is_array = exact(path, Test::Type(crate::ir::JsonType::Array), span);
    match (count, &body) {
        (Count::Some, Expr::Const(false)) | (Count::One, Expr::Const(false)) => Expr::Const(false),
        (Count::Every, Expr::Const(true)) => is_array,
        (Count::Some, Expr::Const(true)) => {
            Expr::and(vec![is_array, exact(path, Test::Truthy, span)])
        }
        _ => Expr::Elements(Elements {
            path: path.clone(),
            count,
            body: Box::new(body),
            span,
        }),
    }
}

/// Python `ipaddress`'s private networks (3.11 tables): `is_private`; `is_global` is a valid
/// address outside these and outside 100.64.0.0/10.
pub(crate) const PRIVATE_NETWORKS: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/29",
    "192.0.0.170/31",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "240.0.0.0/4",
    "255.255.255.255/32",
    "::1/128",
    "::/128",
    "::ffff:0:0/96",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2001:10::/28",
    "fc00::/7",
    "fe80::/10",
];

fn cidr_pred(path: &FieldPath, net: &str, span: Span) -> Expr {
    match crate::ir::Cidr::parse(net) {
        Ok(c) => exact(path, Test::Cidr(c), span),
        Err(_) => Expr::Const(false),
    }
}

/// The value is an IPv4 (`v4`) and/or IPv6 (`v6`) address.
pub(crate) fn is_ip(path: &FieldPath, v4: bool, v6: bool, span: Span) -> Expr {
    let mut alts = Vec::new();
    if v4 {
        alts.push(cidr_pred(path, "0.0.0.0/0", span));
    }
    if v6 {
        alts.push(cidr_pred(path, "::/0", span));
    }
    Expr::or(alts)
}

/// Python `ip_address(v).is_private` (false, not an error, for a non-address: callers guard).
pub(crate) fn is_private_ip(path: &FieldPath, span: Span) -> Expr {
    Expr::or(
        PRIVATE_NETWORKS
            .iter()
            .map(|n| cidr_pred(path, n, span))
            .collect(),
    )
}

/// Python `ip_address(v).is_global`, for a valid address.
pub(crate) fn is_global_ip(path: &FieldPath, span: Span) -> Expr {
    Expr::and(vec![
        is_ip(path, true, true, span),
        Expr::not(is_private_ip(path, span)),
        Expr::not(cidr_pred(path, "100.64.0.0/10", span)),
    ])
}

/// Python `a == b` between two fields: equal strings, or both None. Any other pair of types is
/// outside what the targets can compare and reads as an error (no match): see `ok`.
pub(crate) fn fields_equal(a: &FieldPath, b: &FieldPath, span: Span) -> (Expr, Expr) {
    use crate::ir::{Anchor, JsonType};
    let both_str = Expr::and(vec![
        exact(a, Test::Type(JsonType::String), span),
        exact(b, Test::Type(JsonType::String), span),
    ]);
    let both_none = Expr::and(vec![exact(a, Test::Null, span), exact(b, Test::Null, span)]);
    let value = Expr::or(vec![
        Expr::and(vec![
            both_str.clone(),
            exact(
                a,
                Test::FieldRef(crate::ir::FieldRef {
                    other: b.clone(),
                    anchor: Anchor::Whole,
                    cased: true,
                    before: String::new(),
                    after: String::new(),
                }),
                span,
            ),
        ]),
        both_none.clone(),
    ]);
    let one_none = Expr::or(vec![exact(a, Test::Null, span), exact(b, Test::Null, span)]);
    (value, Expr::or(vec![both_str, one_none]))
}
