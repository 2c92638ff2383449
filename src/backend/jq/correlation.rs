//! Correlation rules in jq: a program for `jq -n` that reads every input, keeps the base events
//! as small items (`{c, t, m, g, v}`: which correlation, time, rules matched, group values, value
//! fields), groups them, and sweeps each group's window as the reference evaluator does
//! ([`crate::correlation::eval`]). The generic definitions (`rc_window` and friends) are in
//! `templates/jq/correlation.jq.j2`; this file writes one `rc_item_K` and `rc_alerts_K` per
//! correlation of a chain and the main expression.

use minijinja::Value;

use super::values::object_value;
use super::{lit, JqBackend};
use crate::backend::{render_condition, RenderCx};
use crate::correlation::{BaseKind, Correlation, Kind, Source};
use crate::diagnostic::Diagnostic;

/// The kind number `rc_window` takes.
fn kind_number(k: Kind) -> u8 {
    match k {
        Kind::EventCount => 0,
        Kind::ValueCount => 1,
        Kind::Temporal => 2,
        Kind::TemporalOrdered => 3,
        Kind::ValueSum => 4,
        Kind::ValueAvg => 5,
    }
}

/// A number as a jq literal.
fn num(x: f64) -> String {
    crate::correlation::eval::number(x).to_string()
}

/// The template variables of a correlation query.
pub(super) fn render(
    b: &JqBackend,
    corr: &Correlation,
    cx: &mut RenderCx,
) -> Result<Vec<(&'static str, Value)>, Diagnostic> {
    let mut defs = Vec::new();
    let mut items = Vec::new();
    let mut counter = 0;
    let top = walk(b, corr, cx, &mut defs, &mut items, &mut counter)?;
    let item_calls = if items.is_empty() {
        "empty".to_owned()
    } else {
        items
            .iter()
            .map(|k| format!("rc_item_{k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut columns: Vec<String> = corr
        .group_by
        .iter()
        .enumerate()
        .map(|(i, g)| format!("{}: .g[{i}]", lit(&g.text)))
        .collect();
    columns.push("\"first_seen\": (.pts[0][0] | todate)".to_owned());
    columns.push("\"last_seen\": (.pts[-1][0] | todate)".to_owned());
    columns.push("\"value\": .pts[0][1]".to_owned());
    let main = format!(
        "[inputs | rc_records | select(type == \"object\") | {item_calls}] as $items\n\
         | rc_alerts_{top}($items)\n\
         | sort_by([.pts[0][0], .g])\n\
         | .[]\n\
         | {{{}}}",
        columns.join(", ")
    );
    Ok(vec![
        ("definitions", Value::from_safe_string(defs.join("\n"))),
        ("main", Value::from_safe_string(main)),
    ])
}

/// The value fields of an item read from an event: texts (value_count) or numbers.
fn value_exprs(kind: Kind, sources: &[Source], cx: &mut RenderCx) -> String {
    let parts: Vec<String> = sources
        .iter()
        .map(|s| match s {
            Source::Path(p) => {
                let v = object_value(p, &mut cx.needs);
                match kind {
                    Kind::ValueCount => format!("rc_gval({v})"),
                    Kind::ValueSum | Kind::ValueAvg => format!("rc_number({v})"),
                    _ => "null".to_owned(),
                }
            }
            Source::Inner(_) => "null".to_owned(),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Write the definitions of `corr` (after those of the correlations it uses) and return its
/// number.
fn walk(
    b: &JqBackend,
    corr: &Correlation,
    cx: &mut RenderCx,
    defs: &mut Vec<String>,
    items: &mut Vec<usize>,
    counter: &mut usize,
) -> Result<usize, Diagnostic> {
    let k = *counter;
    *counter += 1;
    let nb = corr.bases.len();
    let mut conds = Vec::with_capacity(nb);
    let mut chained = Vec::new();
    for (j, base) in corr.bases.iter().enumerate() {
        match &base.kind {
            BaseKind::Rule(e) => conds.push(format!("({})", render_condition(b, e, cx)?)),
            BaseKind::Correlation(r) => {
                let Some(inner) = r.correlation.as_deref() else {
                    conds.push("false".to_owned());
                    continue;
                };
                let ik = walk(b, inner, cx, defs, items, counter)?;
                conds.push("false".to_owned());
                chained.push((j, ik));
            }
        }
    }
    let raw: Vec<usize> = corr
        .bases
        .iter()
        .enumerate()
        .filter(|(_, b)| matches!(b.kind, BaseKind::Rule(_)))
        .map(|(j, _)| j)
        .collect();
    if !raw.is_empty() {
        let mut g_branches = Vec::new();
        let mut v_branches = Vec::new();
        for &j in &raw {
            let base = &corr.bases[j];
            let g: Vec<String> = base
                .group
                .iter()
                .map(|s| match s {
                    Source::Path(p) => format!("rc_gval({})", object_value(p, &mut cx.needs)),
                    Source::Inner(_) => "null".to_owned(),
                })
                .collect();
            g_branches.push(format!("if $m[{j}] then [{}]", g.join(", ")));
            v_branches.push(format!(
                "if $m[{j}] then {}",
                value_exprs(corr.kind, &base.values, cx)
            ));
        }
        let v = if corr.fields.is_empty() {
            "[]".to_owned()
        } else {
            format!("({} else [] end)", v_branches.join(" el"))
        };
        defs.push(format!(
            "def rc_item_{k}: [\n  {}\n] as $m\n| if any($m[]; .) then (.eventTime | rc_time) as $t | ({} else null end) as $g\n  | if $t != null and $g != null and all($g[]; . != null) then {{c: {k}, t: $t, m: $m, g: $g, v: {v}}} else empty end\n  else empty end;",
            conds.join(",\n  "),
            g_branches.join(" el"),
        ));
        items.push(k);
    }
    let mut sources = vec![format!("[$items[] | select(.c == {k})]")];
    for (j, ik) in chained {
        let base = &corr.bases[j];
        let m: Vec<&str> = (0..nb)
            .map(|i| if i == j { "true" } else { "false" })
            .collect();
        let pick = |s: &Source| match s {
            Source::Inner(i) => format!("$ig[{i}]"),
            Source::Path(_) => "null".to_owned(),
        };
        let g: Vec<String> = base.group.iter().map(pick).collect();
        let v: Vec<String> = base
            .values
            .iter()
            .map(|s| match corr.kind {
                Kind::ValueCount => pick(s),
                _ => "null".to_owned(),
            })
            .collect();
        sources.push(format!(
            "[rc_alerts_{ik}($items)[] | .g as $ig | .pts[] | {{c: {k}, t: .[0], m: [{}], g: [{}], v: [{}]}}]",
            m.join(", "),
            g.join(", "),
            v.join(", ")
        ));
    }
    let meets = corr
        .condition
        .iter()
        .map(|bd| format!(". {} {}", bd.op.symbol(), num(bd.value)))
        .collect::<Vec<_>>()
        .join(" and ");
    defs.push(format!(
        "def rc_alerts_{k}($items): ({})\n| group_by(.g)\n| map({{g: .[0].g, pts: (sort_by(.t) | rc_window({}; {}; {nb}; {meets}))}})\n| map(select(.pts | length > 0));",
        sources.join(" + "),
        corr.timespan,
        kind_number(corr.kind),
    ));
    Ok(k)
}
