//! Correlation rules in Logs Insights, as a stated approximation: the base rules' filter, then
//! `stats <aggregate> as value by bin(<timespan>) as bucket, <group-by>` and a filter on
//! `value`. Logs Insights has only fixed `bin()` windows, so the query counts per bucket where the
//! rule slides its window: it finds a subset of the rule's alerts (an episode across a bucket
//! edge is missed), and its rows are per bucket and group. The `# note:` lines say so.
//!
//! What a fixed bucket cannot express is refused (E401): temporal and temporal_ordered (rule sets
//! and order per episode), chains, group-by or value fields that differ per rule (`aliases`), and
//! distinct tuples of several fields.

use minijinja::Value;

use super::quote::field_name;
use super::CloudwatchBackend;
use crate::backend::{render_condition, RenderCx};
use crate::correlation::{BaseKind, Correlation, Kind, Op, Source};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Expr, FieldPath};

fn refuse(why: &str) -> Diagnostic {
    Diagnostic::new(
        Code::Unsupported,
        format!(
            "a Sigma correlation rule is unsupported by cloudwatch here: {why}; convert it with -t jq or -t athena"
        ),
    )
}

/// The one field every base rule reads for position `i` of `sources`.
fn same_field(
    corr: &Correlation,
    pick: impl Fn(usize) -> Vec<Source>,
) -> Result<Vec<FieldPath>, Diagnostic> {
    let mut out: Option<Vec<FieldPath>> = None;
    for j in 0..corr.bases.len() {
        let paths = pick(j)
            .into_iter()
            .map(|s| match s {
                Source::Path(p) => Ok(p),
                Source::Inner(_) => Err(refuse("a chain of correlations")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        match &out {
            Some(o) if *o != paths => {
                return Err(refuse(
                    "its rules read the group-by or value fields from different fields (aliases), \
                     and one Logs Insights `stats ... by` groups by the same fields for every event",
                ))
            }
            Some(_) => {}
            None => out = Some(paths),
        }
    }
    Ok(out.unwrap_or_default())
}

/// A period `bin()` takes: the timespan in its largest whole unit.
fn period(secs: u64) -> String {
    for (unit, n) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs % n == 0 {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// The template variables of a correlation query (see the module documentation).
pub(super) fn render(
    b: &CloudwatchBackend,
    corr: &Correlation,
    cx: &mut RenderCx,
) -> Result<Vec<(&'static str, Value)>, Diagnostic> {
    let kind = corr.kind;
    if matches!(kind, Kind::Temporal | Kind::TemporalOrdered) {
        return Err(refuse(&format!(
            "a {} correlation needs the set (or order) of rules seen in one episode, which per-bucket \
             aggregates cannot tell",
            kind.name()
        )));
    }
    let mut exprs = Vec::new();
    for base in &corr.bases {
        match &base.kind {
            BaseKind::Rule(e) => exprs.push(e.clone()),
            BaseKind::Correlation(_) => return Err(refuse("a chain of correlations")),
        }
    }
    let groups = same_field(corr, |j| corr.bases[j].group.clone())?;
    let values = same_field(corr, |j| corr.bases[j].values.clone())?;
    if values.len() > 1 {
        return Err(refuse(
            "count_distinct() counts one field, not tuples of several",
        ));
    }
    let limit = super::checked_limit(cx)?;
    let condition = render_condition(b, &Expr::or(exprs), cx)?;
    let group_names = groups
        .iter()
        .map(|g| field_name(&g.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let value = values
        .first()
        .map(|v| field_name(&v.to_string()))
        .transpose()?;
    let aggregate = match (kind, &value) {
        (Kind::EventCount, _) => "count(*)".to_owned(),
        (Kind::ValueCount, Some(v)) => format!("count_distinct({v})"),
        (Kind::ValueSum, Some(v)) => format!("sum({v})"),
        (Kind::ValueAvg, Some(v)) => format!("avg({v})"),
        _ => return Err(refuse("a value correlation without its field")),
    };
    let having = corr
        .condition
        .iter()
        .map(|bd| {
            let op = match bd.op {
                Op::Gt => ">",
                Op::Gte => ">=",
                Op::Lt => "<",
                Op::Lte => "<=",
                Op::Eq => "=",
                Op::Neq => "!=",
            };
            format!("value {op} {}", crate::correlation::eval::number(bd.value))
        })
        .collect::<Vec<_>>()
        .join(" and ");
    let p = period(corr.timespan);
    cx.needs.note(format!(
        "Logs Insights has only fixed windows: this counts per bin({p}) bucket (aligned to the \
         epoch), where the rule slides a {} window back from each event, so an episode across a \
         bucket edge is missed; rows are per bucket and group (bucket, the group-by fields, \
         value), not first_seen/last_seen",
        corr.timespan_text
    ));
    match kind {
        Kind::ValueCount => cx.needs.note(
            "count_distinct() is an estimate when a group has very many distinct values".to_owned(),
        ),
        Kind::ValueSum | Kind::ValueAvg => cx.needs.note(
            "the rule adds JSON numbers only; Logs Insights may also read a numeric string as a number"
                .to_owned(),
        ),
        _ => {}
    }
    let present = group_names
        .iter()
        .map(|g| format!("ispresent({g})"))
        .collect::<Vec<_>>()
        .join(" and ");
    Ok(vec![
        ("filter_condition", Value::from_safe_string(condition)),
        ("present", Value::from_safe_string(present)),
        ("aggregate", Value::from_safe_string(aggregate)),
        ("period", Value::from_safe_string(p)),
        (
            "groups",
            Value::from(
                group_names
                    .into_iter()
                    .map(Value::from_safe_string)
                    .collect::<Vec<_>>(),
            ),
        ),
        ("having", Value::from_safe_string(having)),
        ("limit", Value::from(limit)),
        ("log_groups", Value::from(cx.opts.log_groups.clone())),
    ])
}
