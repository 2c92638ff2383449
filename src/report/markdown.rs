//! The report `convert --format markdown` prints, one section per rule: title, level, id, source
//! file, MITRE ATT&CK tags, description and false positives, then the rule's query for every
//! built target in a fenced block (or why there is none). An analyst can read it and paste from it.

use std::io::{self, Write};

use super::md_cell;
use crate::backend::Target;
use crate::diagnostic::FileDiagnostic;
use crate::rule::Rule;

/// Write one rule's section. `source` is the rule file as shown; `queries` holds, for each target
/// in the order shown, the rule's query or the diagnostic saying why there is none.
pub fn write_rule(
    out: &mut dyn Write,
    rule: &Rule,
    source: &str,
    queries: &[(Target, Result<String, FileDiagnostic>)],
) -> io::Result<()> {
    let m = &rule.meta;
    writeln!(out, "## {}\n", md_cell(&m.title))?;
    writeln!(out, "- level: {}", m.level.as_deref().unwrap_or("-"))?;
    if let Some(id) = &m.id {
        writeln!(out, "- id: {}", md_cell(id))?;
    }
    writeln!(out, "- source: `{}`", md_cell(source))?;
    let mitre: Vec<&str> = m
        .tags
        .iter()
        .filter(|t| t.starts_with("attack."))
        .map(String::as_str)
        .collect();
    if !mitre.is_empty() {
        writeln!(out, "- MITRE ATT&CK: {}", mitre.join(", "))?;
    }
    if let Some(d) = &m.description {
        writeln!(out, "\n{}", d.trim())?;
    }
    if !m.falsepositives.is_empty() {
        writeln!(out, "\nFalse positives:\n")?;
        for f in &m.falsepositives {
            writeln!(out, "- {}", md_cell(f))?;
        }
    }
    for (t, query) in queries {
        writeln!(out, "\n### {t}\n")?;
        match query {
            Ok(q) => write_fenced(out, *t, q)?,
            Err(d) => writeln!(out, "Not available: {}", md_cell(&d.message))?,
        }
    }
    Ok(())
}

/// A query in a fenced code block tagged with the target's language. The fence is longer than
/// any backtick run in the query, so nothing closes it early.
fn write_fenced(out: &mut dyn Write, target: Target, query: &str) -> io::Result<()> {
    let longest = query.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let lang = target.backend().code_language();
    writeln!(out, "{fence}{lang}\n{}\n{fence}", query.trim_end())
}
