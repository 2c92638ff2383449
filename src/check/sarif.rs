//! Findings as a SARIF 2.1.0 log (what code-scanning UIs show inline on pull requests): one run
//! whose tool lists every lint as a reporting descriptor, and one result per finding with its
//! level, message, fix and place. Paths are written as relative URI references.

use serde_json::{json, Value};

use super::{Finding, Lint};

/// The SARIF log of `findings`.
pub fn log(findings: &[Finding]) -> Value {
    // Lints first (in code order), then the codes of load errors that occur.
    let mut rules: Vec<Value> = Lint::ALL
        .iter()
        .map(|l| {
            json!({
                "id": l.code(),
                "name": l.name(),
                "shortDescription": {"text": l.summary()},
                "defaultConfiguration": {"level": l.severity().as_str()},
            })
        })
        .collect();
    let mut ids: Vec<&str> = Lint::ALL.iter().map(|l| l.code()).collect();
    let mut load_codes: Vec<&'static str> = findings
        .iter()
        .filter(|f| f.lint().is_none())
        .map(|f| f.code)
        .collect();
    load_codes.sort_unstable();
    load_codes.dedup();
    for code in load_codes {
        rules.push(json!({
            "id": code,
            "shortDescription": {"text": format!("a rule that does not load ({code}, docs/errors.md)")},
            "defaultConfiguration": {"level": "error"},
        }));
        ids.push(code);
    }
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let index = ids.iter().position(|c| *c == f.code).unwrap_or(0);
            json!({
                "ruleId": f.code,
                "ruleIndex": index,
                "level": f.severity.as_str(),
                "message": {"text": format!("{} (fix: {})", f.message, f.fix)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&f.path.display().to_string())},
                        "region": {"startLine": f.line.max(1), "startColumn": f.column.max(1)},
                    }
                }],
                "properties": {"fix": f.fix},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "rulecast",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// A path as a URI reference: `/` separators, and every byte outside the unreserved and path
/// characters percent-encoded (spaces, `%`, `#`, `?`, non-ASCII).
pub fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(uri("./rules/a b.yml"), "rules/a%20b.yml");
        assert_eq!(uri("r\\x#1.yml"), "r/x%231.yml");
        assert_eq!(uri("é.yml"), "%C3%A9.yml");
    }
}
