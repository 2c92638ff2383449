//! `convert --bundle`: every rule of the run in as few queries per target as the target allows,
//! each matching event labelled with the rules it matched ([`crate::backend::bundle`]).

use std::io::Write;

use super::{stderr_text, Status};
use crate::backend::bundle::render_bundle;
use crate::backend::{Backend, RenderOptions};
use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};
use crate::mapping::Mapping;
use crate::rule::Rule;
use crate::LoadedFile;

/// The options of `opts` that `backend` reads: a table or schema only where the target has tables,
/// so rules are not split into bundles over an option their target ignores.
fn read_options(backend: &dyn Backend, mut opts: RenderOptions) -> RenderOptions {
    use crate::backend::RenderOption;
    let reads = backend.options();
    if !reads.contains(&RenderOption::Table) {
        opts.table = None;
    }
    if !reads.contains(&RenderOption::Schema) {
        opts.schema = None;
        opts.columns.clear();
    }
    opts
}

/// Print one bundle per target (its queries one after another, a blank line between them); rules
/// that do not load or cannot be bundled are reported on stderr (exit 1), and a bundle split in
/// several queries says so on stderr.
pub(super) fn bundle(
    backends: &[&'static dyn Backend],
    mappings: &[Mapping],
    base: &RenderOptions,
    loaded: &[LoadedFile],
    mut failures: Vec<FileDiagnostic>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let mut first = true;
    let correlations = loaded
        .iter()
        .flat_map(|lf| lf.rules.iter().flatten())
        .filter(|r| r.correlation.is_some())
        .count();
    if correlations > 0 {
        writeln!(
            err,
            "note: {correlations} correlation rules are not bundled; convert them on their own"
        )?;
    }
    let hidden = crate::correlation::not_generated(loaded);
    for &backend in backends {
        // The rules of the run, mapped for this target, with the file each came from.
        let mut rules: Vec<Rule> = Vec::new();
        let mut origin: Vec<&LoadedFile> = Vec::new();
        // The rules by the options they render with (a mapping can name a table per
        // logsource): rules that read different tables are different bundles.
        let mut groups: Vec<(RenderOptions, Vec<usize>)> = Vec::new();
        for (fi, lf) in loaded.iter().enumerate() {
            for (ri, rule) in lf.rules.iter().enumerate() {
                let Ok(rule) = rule else {
                    continue;
                };
                // A correlation is one query of its own (see the note above), and the base rules
                // it does not `generate` are not output on their own, as in `convert`.
                if rule.correlation.is_some() || hidden.contains(&(fi, ri)) {
                    continue;
                }
                if !crate::check::logsource_ok(&rule.meta.logsource, mappings) {
                    failures.push(
                        Diagnostic::new(
                            Code::NotCloudTrail,
                            format!(
                                "logsource {} is not AWS CloudTrail; the rule is left out of the bundle",
                                crate::check::logsource_text(&rule.meta.logsource)
                            ),
                        )
                        .with_span(rule.logsource_span)
                        .in_file(&lf.file),
                    );
                    continue;
                }
                let mut mapped = rule.clone();
                let mut opts = base.clone();
                for m in mappings {
                    m.options(&mapped, &mut opts);
                    mapped = m.apply(&mapped, backend.target());
                }
                rules.push(mapped);
                origin.push(lf);
                let opts = read_options(backend, opts);
                match groups.iter_mut().find(|(o, _)| *o == opts) {
                    Some((_, g)) => g.push(rules.len() - 1),
                    None => groups.push((opts, vec![rules.len() - 1])),
                }
            }
        }
        if groups.len() > 1 {
            let tables: Vec<String> = groups
                .iter()
                .map(|(o, _)| {
                    o.table
                        .clone()
                        .or_else(|| o.schema.clone())
                        .unwrap_or_else(|| "the default table".to_owned())
                })
                .collect();
            writeln!(
                err,
                "note: the {} rules read {} different tables ({}): one bundle each",
                backend.target().name(),
                groups.len(),
                crate::escape::visible(&tables.join(", "))
            )?;
        }
        for (opts, members) in &groups {
            let refs: Vec<&Rule> = members.iter().map(|&i| &rules[i]).collect();
            let b = match render_bundle(backend, &refs, opts) {
                Ok(b) => b,
                Err(d) => {
                    writeln!(
                        err,
                        "error[{}]: {}",
                        d.code,
                        crate::escape::visible(&d.message)
                    )?;
                    return Ok(Status::Error);
                }
            };
            for (i, d) in b.errors {
                failures.push(d.in_file(&origin[members[i]].file));
            }
            if b.queries.len() > 1 {
                writeln!(
                    err,
                    "note: the {} bundle of {} rules is split into {} queries (each complete on its own) to stay under the target's length limit",
                    backend.target().name(),
                    refs.len(),
                    b.queries.len()
                )?;
            }
            for (q, _) in &b.queries {
                if !first {
                    writeln!(out)?;
                }
                first = false;
                write!(out, "{q}")?;
            }
        }
    }
    failures.sort();
    failures.dedup();
    for d in &failures {
        writeln!(err, "{}", stderr_text(d))?;
    }
    Ok(if failures.is_empty() {
        Status::Success
    } else {
        Status::Failure
    })
}
