//! Lints on one Sigma document, read from its YAML (so they see what the front end lowers
//! away): detections no condition uses, the logsource, `date`/`modified`, tags and `related`
//! types. Documents of legacy `action:` collections and documents the front end refuses are
//! left to the load errors.

use super::{attack, is_cloudtrail, logsource_ok, logsource_text, Finding, Lint, Options};
use crate::sigma::condition::{self, Cond};
use crate::sigma::selector_matches;
use crate::source::{SourceFile, Span};
use crate::yaml::{Document, Node};

/// The `related` types the Sigma specification defines.
pub const RELATED_TYPES: [&str; 5] = ["derived", "obsolete", "merged", "renamed", "similar"];

/// Every lint on one Sigma document.
pub fn lint_document(file: &SourceFile, doc: &Document, opts: Options<'_>, out: &mut Vec<Finding>) {
    let node = &doc.node;
    if !matches!(node, Node::Map(_)) || node.get("action").is_some() {
        return;
    }
    let at = |path: &[&str]| doc.keys.key(path).unwrap_or(Span::at(doc.start));
    if node.get("correlation").is_none() {
        dangling_detections(file, doc, out);
        logsource(file, doc, opts, out);
    }
    for key in ["date", "modified"] {
        if let Some(v) = node.get(key).and_then(Node::scalar_text) {
            date(file, at(&[key]), key, &v, out);
        }
    }
    if let Some(Node::Seq(tags)) = node.get("tags") {
        for (i, t) in tags.iter().enumerate() {
            let Some(tag) = t.scalar_text() else { continue };
            let span = doc
                .keys
                .item_offset(&["tags"], i)
                .map_or_else(|| at(&["tags"]), Span::at);
            attack::lint_tag(file, span, &tag, out);
        }
    }
    if let Some(Node::Seq(items)) = node.get("related") {
        for item in items {
            let Some(ty) = item.get("type").and_then(Node::scalar_text) else {
                continue;
            };
            if !RELATED_TYPES.contains(&ty.as_str()) {
                let fix = match ty.as_str() {
                    "obsoletes" => {
                        "write `type: obsolete` (Sigma v2 renamed `obsoletes`)".to_owned()
                    }
                    _ => format!("use one of {}", RELATED_TYPES.join(", ")),
                };
                out.push(Finding::new(
                    Lint::RelatedType,
                    file,
                    at(&["related"]),
                    format!(
                        "related type '{ty}' is not one of {}",
                        RELATED_TYPES.join(", ")
                    ),
                    fix,
                ));
            }
        }
    }
}

/// Detections that no condition names and no `x of` pattern selects: a stage that changes
/// nothing (usually a line indented one level too little, which widens the rule).
fn dangling_detections(file: &SourceFile, doc: &Document, out: &mut Vec<Finding>) {
    let Some(Node::Map(det)) = doc.node.get("detection") else {
        return;
    };
    let conditions: Vec<&str> = match det.iter().find(|(k, _)| k == "condition") {
        Some((_, Node::Str(s))) => vec![s.as_str()],
        Some((_, Node::Seq(items))) => items.iter().filter_map(Node::as_str).collect(),
        _ => return,
    };
    let mut parsed = Vec::new();
    for c in conditions {
        match condition::parse(c) {
            Ok(p) => parsed.push(p),
            // A condition that does not parse is a load error already.
            Err(_) => return,
        }
    }
    let names: Vec<&str> = det
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| *k != "condition" && *k != "timeframe")
        .collect();
    // A condition naming a detection that does not exist, or a pattern that selects none, is a
    // load error already; what it leaves unused says nothing more.
    if parsed.iter().any(|c| !resolves(c, &names)) {
        return;
    }
    for (name, _) in det {
        if name == "condition" || name == "timeframe" {
            continue;
        }
        if parsed.iter().any(|c| uses(c, name)) {
            continue;
        }
        let span = doc
            .keys
            .key(&["detection", name])
            .unwrap_or(Span::at(doc.start));
        out.push(Finding::new(
            Lint::DanglingDetection,
            file,
            span,
            format!("detection '{name}' is not used by the condition, so it does not restrict what the rule matches"),
            format!("indent '{name}' under the detection it belongs to, or use it in the condition (`... and {name}`), or delete it"),
        ));
    }
}

/// Does every name in `c` name a detection, and every pattern select one?
fn resolves(c: &Cond, names: &[&str]) -> bool {
    match c {
        Cond::Or(xs) | Cond::And(xs) => xs.iter().all(|x| resolves(x, names)),
        Cond::Not(x) => resolves(x, names),
        Cond::Ident(n, _) => names.contains(&n.as_str()),
        Cond::Selector { pattern, .. } => names
            .iter()
            .any(|n| selector_matches(pattern.as_deref(), n)),
    }
}

/// Does condition `c` read detection `name`?
fn uses(c: &Cond, name: &str) -> bool {
    match c {
        Cond::Or(xs) | Cond::And(xs) => xs.iter().any(|x| uses(x, name)),
        Cond::Not(x) => uses(x, name),
        Cond::Ident(n, _) => n == name,
        Cond::Selector { pattern, .. } => selector_matches(pattern.as_deref(), name),
    }
}

/// A logsource other than AWS CloudTrail, unless the mapping maps it.
fn logsource(file: &SourceFile, doc: &Document, opts: Options<'_>, out: &mut Vec<Finding>) {
    let Some(Node::Map(m)) = doc.node.get("logsource") else {
        return;
    };
    let ls: Vec<(String, String)> = m
        .iter()
        .filter_map(|(k, v)| v.scalar_text().map(|t| (k.clone(), t)))
        .collect();
    if ls.is_empty() || logsource_ok(&ls, opts.mappings) {
        return;
    }
    debug_assert!(!is_cloudtrail(&ls));
    out.push(Finding::new(
        Lint::Logsource,
        file,
        doc.keys.key(&["logsource"]).unwrap_or(Span::at(doc.start)),
        format!(
            "logsource {} is not AWS CloudTrail: its query would search CloudTrail records for fields they do not have",
            logsource_text(&ls)
        ),
        "use `logsource: {product: aws, service: cloudtrail}` for a CloudTrail rule, or map this logsource to a table with --mapping (`logsources:`)",
    ));
}

/// `date`/`modified`: `YYYY-MM-DD` and a real calendar date; `YYYY/MM/DD` is the legacy form.
fn date(file: &SourceFile, span: Span, key: &str, text: &str, out: &mut Vec<Finding>) {
    let check = |sep: char| -> Option<(u32, u32, u32)> {
        let parts: Vec<&str> = text.split(sep).collect();
        let [y, m, d] = parts.as_slice() else {
            return None;
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        if ![y, m, d]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        let (y, m, d) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        valid_date(y, m, d).then_some((y, m, d))
    };
    if check('-').is_some() {
        return;
    }
    if let Some((y, m, d)) = check('/') {
        out.push(Finding::new(
            Lint::LegacyDate,
            file,
            span,
            format!("{key} '{text}' uses the YYYY/MM/DD form Sigma v2 dropped"),
            format!("write `{key}: {y:04}-{m:02}-{d:02}`"),
        ));
        return;
    }
    out.push(Finding::new(
        Lint::BadDate,
        file,
        span,
        format!("{key} '{text}' is not a calendar date written YYYY-MM-DD"),
        format!("write the {key} as YYYY-MM-DD, e.g. `{key}: 2026-01-31`"),
    ));
}

/// Is y-m-d a day of the Gregorian calendar?
fn valid_date(y: u32, m: u32, d: u32) -> bool {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(valid_date(2024, 2, 29));
        assert!(!valid_date(2023, 2, 29));
        assert!(!valid_date(2023, 13, 1));
        assert!(!valid_date(2023, 4, 31));
        let file = SourceFile::new("r.yml", "date: x\n");
        let mut out = Vec::new();
        date(&file, Span::at(0), "date", "2024-02-30", &mut out);
        date(&file, Span::at(0), "date", "2024/02/03", &mut out);
        date(&file, Span::at(0), "date", "2024-02-03", &mut out);
        date(&file, Span::at(0), "date", "24-2-3", &mut out);
        let codes: Vec<&str> = out.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["C107", "C108", "C107"]);
        assert_eq!(out[1].fix, "write `date: 2024-02-03`");
    }
}
