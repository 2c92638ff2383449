//! The report `convert --format markdown` prints, one section per rule: title, level, id, source
//! file, MITRE ATT&CK tags, description and false positives, then the rule's query for every
//! built target in a fenced block (or why there is none). An analyst can read it and paste from it.
//! Rule text is escaped for Markdown (see [`super`]): a rule cannot add HTML or structure to the
//! report.

use std::io::{self, Write};

use super::{md_block, md_code, md_fenced, md_heading, md_inline, md_item};
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
    writeln!(out, "## {}\n", md_heading(&m.title))?;
    writeln!(
        out,
        "- level: {}",
        md_inline(m.level.as_deref().unwrap_or("-"))
    )?;
    if let Some(id) = &m.id {
        writeln!(out, "- id: {}", md_inline(id))?;
    }
    writeln!(out, "- source: {}", md_code(source, false))?;
    let mitre: Vec<String> = m
        .tags
        .iter()
        .filter(|t| t.starts_with("attack."))
        .map(|t| md_inline(t))
        .collect();
    if !mitre.is_empty() {
        writeln!(out, "- MITRE ATT&CK: {}", mitre.join(", "))?;
    }
    if let Some(d) = &m.description {
        writeln!(out, "\n{}", md_block(d))?;
    }
    if !m.falsepositives.is_empty() {
        writeln!(out, "\nFalse positives:\n")?;
        for f in &m.falsepositives {
            writeln!(out, "- {}", md_item(f))?;
        }
    }
    for (t, query) in queries {
        writeln!(out, "\n### {t}\n")?;
        match query {
            Ok(q) => write_fenced(out, *t, q)?,
            Err(d) => writeln!(out, "Not available: {}", md_inline(&d.message))?,
        }
    }
    Ok(())
}

/// A query in a fenced code block tagged with the target's language. The fence is longer than
/// any backtick run in the query, so nothing closes it early.
fn write_fenced(out: &mut dyn Write, target: Target, query: &str) -> io::Result<()> {
    let lang = target.backend().code_language();
    writeln!(out, "{}", md_fenced(query, lang))
}
