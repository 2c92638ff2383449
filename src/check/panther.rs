//! Lints on one Panther document against Panther's rule schema: required keys, unknown keys
//! (with the key it is probably a misspelling of), `Enabled` values, `Tests`
//! without `ExpectedResult` or `Log`, and the ATT&CK ids under `Reports`. A `Filename` that does
//! not exist, a bad `Severity` value and other errors the front end finds are load errors.

use super::{attack, did_you_mean, Finding, Lint};
use crate::source::{SourceFile, Span};
use crate::yaml::{Document, Node};

/// The keys Panther's rule schema defines (`panther_analysis_tool`'s schema for
/// `AnalysisType: rule`, and for scheduled and simple-detection rules).
pub const KNOWN_KEYS: [&str; 33] = [
    "AlertContext",
    "AlertTitle",
    "AnalysisType",
    "BaseDetection",
    "BaseVersion",
    "CreateAlert",
    "CreatedBy",
    "DedupPeriodMinutes",
    "Description",
    "Detection",
    "DisplayName",
    "DynamicSeverities",
    "Enabled",
    "Filename",
    "GroupBy",
    "InlineFilters",
    "LogTypes",
    "OnlyUseBaseRiskScore",
    "OutputIds",
    "Reference",
    "Reports",
    "RuleID",
    "Runbook",
    "ScheduledQueries",
    "Severity",
    "Status",
    "SummaryAttributes",
    "Suppressions",
    "Tags",
    "Tests",
    "Threshold",
    "Unique",
    "Version",
];

/// Every lint on one Panther document (only `AnalysisType: rule`).
pub fn lint_document(file: &SourceFile, doc: &Document, out: &mut Vec<Finding>) {
    let Node::Map(entries) = &doc.node else {
        return;
    };
    if doc.node.get("AnalysisType").and_then(Node::as_str) != Some("rule") {
        return;
    }
    let at = |k: &str| doc.keys.key(&[k]).unwrap_or(Span::at(doc.start));
    let start = Span::at(doc.start);
    for (key, _) in entries {
        if KNOWN_KEYS.contains(&key.as_str()) {
            continue;
        }
        let fix = match did_you_mean(key, &KNOWN_KEYS) {
            Some(k) => format!("did you mean `{k}`?"),
            None => "remove the key, or move it under a key Panther defines".to_owned(),
        };
        out.push(Finding::new(
            Lint::PantherUnknownKey,
            file,
            at(key),
            format!("'{key}' is not a key of Panther's rule schema; Panther refuses the rule and rulecast ignores it"),
            fix,
        ));
    }
    let has = |k: &str| doc.node.get(k).is_some();
    let mut missing: Vec<&str> = ["RuleID", "Severity", "Enabled", "LogTypes"]
        .into_iter()
        .filter(|k| !has(k))
        .collect();
    if !has("Filename") && !has("Detection") {
        missing.push("Filename or Detection");
    }
    for k in missing {
        let misspelt = entries
            .iter()
            .find(|(e, _)| !KNOWN_KEYS.contains(&e.as_str()) && did_you_mean(e, &[k]).is_some());
        let (span, fix) = match misspelt {
            Some((e, _)) => (at(e), format!("rename '{e}' to `{k}`")),
            None => (start, format!("add `{k}:`")),
        };
        out.push(Finding::new(
            Lint::PantherRequired,
            file,
            span,
            format!("the required key '{k}' is missing"),
            fix,
        ));
    }
    if let Some(v) = doc.node.get("Enabled") {
        if !matches!(v, Node::Bool(_)) {
            out.push(Finding::new(
                Lint::PantherValue,
                file,
                at("Enabled"),
                format!("'Enabled' must be true or false, found {}", v.kind()),
                "write `Enabled: true` or `Enabled: false`",
            ));
        }
    }
    tests(file, doc, out);
    reports(file, doc, out);
}

/// Each test needs `ExpectedResult` (a Boolean) and a `Log` (or `Mocks`-only tests still need a
/// `Log` to run).
fn tests(file: &SourceFile, doc: &Document, out: &mut Vec<Finding>) {
    let Some(Node::Seq(tests)) = doc.node.get("Tests") else {
        return;
    };
    let spans = doc.keys.keys_at(&["Tests", "Name"]);
    let fallback = doc.keys.key(&["Tests"]).unwrap_or(Span::at(doc.start));
    for (i, t) in tests.iter().enumerate() {
        let name = t
            .get("Name")
            .and_then(Node::scalar_text)
            .unwrap_or_else(|| format!("#{}", i + 1));
        // The n-th `Name:` key is the n-th test's when every test has one.
        let span = if spans.len() == tests.len() {
            spans[i]
        } else {
            fallback
        };
        if !matches!(t.get("ExpectedResult"), Some(Node::Bool(_))) {
            out.push(Finding::new(
                Lint::PantherTest,
                file,
                span,
                format!("test '{name}' has no ExpectedResult true or false"),
                "add `ExpectedResult: true` (the rule should match the Log) or `false`",
            ));
        }
        if t.get("Log").is_none() && t.get("RuleOutputs").is_none() {
            out.push(Finding::new(
                Lint::PantherTest,
                file,
                span,
                format!("test '{name}' has no Log"),
                "add the event under `Log:`",
            ));
        }
    }
}

/// The ATT&CK ids under `Reports: {MITRE ATT&CK: [TA0003:T1098]}`.
fn reports(file: &SourceFile, doc: &Document, out: &mut Vec<Finding>) {
    let Some(Node::Map(frameworks)) = doc.node.get("Reports") else {
        return;
    };
    let span = doc.keys.key(&["Reports"]).unwrap_or(Span::at(doc.start));
    for (fw, ids) in frameworks {
        if !fw.to_ascii_uppercase().starts_with("MITRE") {
            continue;
        }
        let ids: Vec<String> = match ids {
            Node::Seq(items) => items.iter().filter_map(Node::scalar_text).collect(),
            other => other.scalar_text().into_iter().collect(),
        };
        for id in ids {
            for part in id.split(':').map(str::trim).filter(|p| !p.is_empty()) {
                attack::lint_tag(
                    file,
                    span,
                    &format!("attack.{}", part.to_ascii_lowercase()),
                    out,
                );
            }
        }
    }
}
