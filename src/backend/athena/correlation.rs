//! Correlation rules in Athena: one query of common table expressions per correlation of a chain.
//!
//! - `raw_K`: the scan. The base rules' conditions and the time window (partition predicate
//!   and event-time bound, as for a plain rule) in the `WHERE`; which rules each row matched
//!   (`rc_mJ`), and each rule's group-by and value fields.
//! - `base_K`: the base events: epoch seconds (`rc_t`) of an `eventTime` in the strict
//!   `YYYY-MM-DDTHH:MM:SSZ` form, the group values read through the first rule the row matched,
//!   plus (for a chain) the inner correlation's alert points; rows without every group value
//!   take no part.
//! - `win_K`: each base event's window value. Window functions over `RANGE BETWEEN <timespan>
//!   PRECEDING AND CURRENT ROW` (peers of the same second are in) for event_count, value_sum,
//!   value_avg and temporal; a self-join for value_count (Trino has no `COUNT(DISTINCT) OVER`),
//!   and one join per rule for temporal_ordered (the earliest time each rule can be seen at, in
//!   order, as the evaluator's greedy walk).
//! - `alerts_K`: the events whose window meets the condition.
//! - The last `SELECT`: one row per group, first and last alert point and the value at the first.

use minijinja::Value;

use super::access::{json_path, resolve, Access, Scope};
use super::schema::TimeKind;
use super::settings::Settings;
use super::sql::{lit, quoted_ident};
use super::AthenaBackend;
use crate::backend::{render_condition, RenderCx};
use crate::correlation::{BaseKind, Correlation, Kind, Op, Source};
use crate::diagnostic::Diagnostic;
use crate::ir::FieldPath;
use crate::rule::Rule;

/// A number as an SQL literal.
fn num(x: f64) -> String {
    crate::correlation::eval::number(x).to_string()
}

fn unsupported(what: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::unsupported("athena", what)
}

/// The template variables of a correlation query: the plain frame's (table, block, warnings,
/// limit) plus `ctes` and `select`.
pub(super) fn render(
    b: &AthenaBackend,
    rule: &Rule,
    corr: &Correlation,
    cx: &mut RenderCx,
) -> Result<Vec<(&'static str, Value)>, Diagnostic> {
    let s = cx.settings::<Settings>()?;
    if s.schema.def.time_kind != TimeKind::IsoText {
        return Err(unsupported(format!(
            "a correlation rule on the {} table (correlations read eventTime as ISO 8601 text)",
            s.schema.def.name
        )));
    }
    let time_col = match resolve(
        s.schema,
        &FieldPath::parse(s.schema.def.time_field),
        &mut Scope::default(),
    )? {
        Access::Scalar { expr, .. } => expr,
        _ => return Err(unsupported("a time field that is not a column")),
    };
    // The rules' conditions first: they say which JSON fields the `events` block holds.
    let mut w = Writer {
        ctes: Vec::new(),
        counter: 0,
        time_col,
        window: Vec::new(),
        source: String::new(),
    };
    let mut conds = Vec::new();
    collect_conditions(b, corr, cx, &mut conds)?;
    let frame = super::frame::frame(rule, cx)?;
    let get = |name: &str| {
        frame
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    };
    if let Some(win) = get("window") {
        if let Ok(items) = win.try_iter() {
            w.window = items.map(|v| v.to_string()).collect();
        }
    }
    let has_block = get("block").is_some_and(|v| v.len().unwrap_or(0) > 0);
    w.source = get(if has_block { "block_name" } else { "table" })
        .map(|v| v.to_string())
        .unwrap_or_default();
    let mut conds = conds.into_iter();
    let top = w.walk(corr, &mut conds, s)?;
    if let Some(g) = corr
        .group_by
        .iter()
        .find(|g| g.text.chars().any(crate::escape::is_hidden))
    {
        return Err(unsupported(format!(
            "the group-by name {:?} (a control or invisible format character cannot be written in a column name)",
            g.text
        )));
    }
    let select = final_select(corr, top, cx.opts.limit);
    let mut vars = frame;
    vars.retain(|(n, _)| matches!(*n, "table" | "schema" | "block" | "block_name" | "warnings"));
    vars.push((
        "ctes",
        Value::from(
            w.ctes
                .into_iter()
                .map(Value::from_safe_string)
                .collect::<Vec<_>>(),
        ),
    ));
    vars.push(("select", Value::from_safe_string(select)));
    Ok(vars)
}

/// Every plain base rule's condition as SQL, in the order [`Writer::walk`] uses them.
fn collect_conditions(
    b: &AthenaBackend,
    corr: &Correlation,
    cx: &mut RenderCx,
    out: &mut Vec<String>,
) -> Result<(), Diagnostic> {
    for base in &corr.bases {
        match &base.kind {
            BaseKind::Rule(e) => out.push(render_condition(b, e, cx)?),
            BaseKind::Correlation(r) => {
                if let Some(c) = r.correlation.as_deref() {
                    collect_conditions(b, c, cx, out)?;
                }
            }
        }
    }
    Ok(())
}

/// The common table expressions of one correlation query, written in order.
struct Writer {
    ctes: Vec<String>,
    counter: usize,
    time_col: String,
    window: Vec<String>,
    source: String,
}

/// `rc_g0, rc_g1` (with a prefix such as `e.`).
fn groups(n: usize, prefix: &str) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}rc_g{i}")).collect()
}

/// The text of a field as a group or distinct value: a column's text, or a JSON document's
/// scalar at the path (through objects).
fn text_expr(field: &FieldPath, s: &Settings) -> Result<String, Diagnostic> {
    match resolve(s.schema, field, &mut Scope::default())? {
        Access::Scalar { text, .. } => Ok(text),
        // Objects and arrays take no part (Trino's json_extract_scalar already gives NULL for
        // them; saying so keeps engines that return their text from counting them).
        Access::Json { doc, keys, .. } => {
            let p = lit(&json_path(&keys));
            Ok(format!(
                "IF(substr(json_format(json_extract({doc}, {p})), 1, 1) IN ('[', '{{'), NULL, json_extract_scalar({doc}, {p}))"
            ))
        }
        _ => Err(unsupported(format!(
            "grouping or counting by '{field}' (a field inside an array)"
        ))),
    }
}

/// A field as a number for value_sum/value_avg: only a JSON number (a numeric string is not one).
fn number_expr(field: &FieldPath, s: &Settings) -> Result<String, Diagnostic> {
    match resolve(s.schema, field, &mut Scope::default())? {
        Access::Json { doc, keys, .. } => {
            let p = lit(&json_path(&keys));
            Ok(format!(
                "IF(substr(json_format(json_extract({doc}, {p})), 1, 1) = '\"', NULL, TRY_CAST(json_extract_scalar({doc}, {p}) AS DOUBLE))"
            ))
        }
        Access::Scalar {
            expr,
            ty: super::schema::Ty::Scalar(_),
            ..
        } => {
            Ok(format!("TRY_CAST({expr} AS DOUBLE)"))
        }
        _ => Err(unsupported(format!(
            "summing '{field}' (the table keeps it as text, so a JSON number cannot be told from a string)"
        ))),
    }
}

/// SQL type of the values a correlation aggregates (distinct texts, or numbers).
fn value_type(corr: &Correlation) -> &'static str {
    if corr.kind == Kind::ValueCount {
        "VARCHAR"
    } else {
        "DOUBLE"
    }
}

/// The rows a chained correlation's alerts (`alerts_<ik>`) give base `j` of `corr`: its match
/// flag, and the group-by values the chain passes on (values of a value_count).
fn chained_rows(corr: &Correlation, j: usize, ik: usize) -> String {
    let nb = corr.bases.len();
    let vtype = value_type(corr);
    let base = &corr.bases[j];
    let from_inner = |src: &Source| match src {
        Source::Inner(i) => format!("rc_g{i}"),
        Source::Path(_) => "NULL".to_owned(),
    };
    let mut cols = vec!["rc_time".to_owned(), "rc_t".to_owned()];
    cols.extend((0..nb).map(|x| format!("{} AS rc_m{x}", u8::from(x == j))));
    cols.extend(
        base.group
            .iter()
            .enumerate()
            .map(|(i, src)| format!("{} AS rc_g{i}", from_inner(src))),
    );
    cols.extend(base.values.iter().enumerate().map(|(i, src)| {
        let v = if corr.kind == Kind::ValueCount {
            from_inner(src)
        } else {
            "NULL".to_owned()
        };
        format!("CAST({v} AS {vtype}) AS rc_v{i}")
    }));
    format!("SELECT\n  {}\nFROM alerts_{ik}", cols.join(",\n  "))
}

impl Writer {
    /// Write the expressions of `corr` (after those of the correlations it uses); its number.
    fn walk(
        &mut self,
        corr: &Correlation,
        conds: &mut impl Iterator<Item = String>,
        s: &Settings,
    ) -> Result<usize, Diagnostic> {
        let k = self.counter;
        self.counter += 1;
        let ng = corr.group_by.len();
        let nv = corr.fields.len();
        let mut raw_conds: Vec<(usize, String)> = Vec::new();
        let mut chained = Vec::new();
        for (j, base) in corr.bases.iter().enumerate() {
            match &base.kind {
                BaseKind::Rule(_) => raw_conds.push((j, conds.next().unwrap_or_default())),
                BaseKind::Correlation(r) => {
                    let inner = r
                        .correlation
                        .as_deref()
                        .ok_or_else(|| unsupported("an unresolved chain"))?;
                    let ik = self.walk(inner, conds, s)?;
                    chained.push((j, ik));
                }
            }
        }
        let mut parts = Vec::new();
        if !raw_conds.is_empty() {
            parts.push(self.scan(corr, k, &raw_conds, s)?);
        }
        for (j, ik) in chained {
            parts.push(chained_rows(corr, j, ik));
        }
        let mut keep = vec!["rc_t IS NOT NULL".to_owned()];
        keep.extend(
            groups(ng, "")
                .into_iter()
                .map(|g| format!("{g} IS NOT NULL")),
        );
        self.ctes.push(format!(
            "base_{k} AS (\nSELECT\n  *,\n  row_number() OVER () AS rc_id\nFROM (\n{}\n) AS b\nWHERE {}\n)",
            indent(&parts.join("\nUNION ALL\n"), 2),
            keep.join(" AND ")
        ));
        self.window_values(corr, k, ng, nv);
        let cond = corr
            .condition
            .iter()
            .map(|b| {
                let op = match b.op {
                    Op::Gt => ">",
                    Op::Gte => ">=",
                    Op::Lt => "<",
                    Op::Lte => "<=",
                    Op::Eq => "=",
                    Op::Neq => "<>",
                };
                format!("rc_value {op} {}", num(b.value))
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let mut cols = vec!["rc_time".to_owned(), "rc_t".to_owned()];
        cols.extend(groups(ng, ""));
        cols.push("rc_value".to_owned());
        self.ctes.push(format!(
            "alerts_{k} AS (\nSELECT {}\nFROM win_{k}\nWHERE {cond}\n)",
            cols.join(", ")
        ));
        Ok(k)
    }

    /// `raw_K` (the one scan of the table, each base rule's match as `rc_m<j>` with its group-by
    /// and value columns) and the rows it gives the base events: their time, matches, and the
    /// group-by and value columns of the rule each matched.
    fn scan(
        &mut self,
        corr: &Correlation,
        k: usize,
        raw_conds: &[(usize, String)],
        s: &Settings,
    ) -> Result<String, Diagnostic> {
        let nb = corr.bases.len();
        let ng = corr.group_by.len();
        let nv = corr.fields.len();
        let vtype = value_type(corr);
        // The scan.
        let mut items = vec![format!("{} AS rc_time", self.time_col)];
        for j in 0..nb {
            match raw_conds.iter().find(|(i, _)| *i == j) {
                Some((_, c)) => items.push(format!(
                    "CASE WHEN {} THEN 1 ELSE 0 END AS rc_m{j}",
                    indent_tail(c, 2)
                )),
                None => items.push(format!("0 AS rc_m{j}")),
            }
        }
        for &(j, _) in raw_conds {
            let base = &corr.bases[j];
            for (i, src) in base.group.iter().enumerate() {
                if let Source::Path(p) = src {
                    items.push(format!("{} AS rc_g{i}_{j}", text_expr(p, s)?));
                }
            }
            for (i, src) in base.values.iter().enumerate() {
                if let Source::Path(p) = src {
                    let e = if corr.kind == Kind::ValueCount {
                        text_expr(p, s)?
                    } else {
                        number_expr(p, s)?
                    };
                    items.push(format!("{e} AS rc_v{i}_{j}"));
                }
            }
        }
        let mut filter: Vec<String> = self.window.clone();
        let any = raw_conds
            .iter()
            .map(|(_, c)| format!("({})", indent_tail(c, 2)))
            .collect::<Vec<_>>()
            .join("\n  OR ");
        filter.push(format!("(\n  {any}\n)"));
        self.ctes.push(format!(
            "raw_{k} AS (\nSELECT\n  {}\nFROM {}\nWHERE {}\n)",
            items.join(",\n  "),
            self.source,
            filter.join("\n  AND ")
        ));
        let pick = |what: &str, i: usize, ty: &str| -> String {
            let arms: Vec<String> = raw_conds
                .iter()
                .map(|(j, _)| format!("WHEN rc_m{j} = 1 THEN rc_{what}{i}_{j}"))
                .collect();
            format!("CAST(CASE {} END AS {ty}) AS rc_{what}{i}", arms.join(" "))
        };
        let mut cols = vec![
            "rc_time".to_owned(),
            "CAST(to_unixtime(TRY(from_iso8601_timestamp(rc_time))) AS BIGINT) AS rc_t".to_owned(),
        ];
        cols.extend((0..nb).map(|j| format!("rc_m{j}")));
        cols.extend((0..ng).map(|i| pick("g", i, "VARCHAR")));
        cols.extend((0..nv).map(|i| pick("v", i, vtype)));
        Ok(format!(
            "SELECT\n  {}\nFROM raw_{k}\nWHERE regexp_like(rc_time, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}Z$')",
            cols.join(",\n  ")
        ))
    }

    /// `win_K`: each base event with its window's value (`rc_value`).
    fn window_values(&mut self, corr: &Correlation, k: usize, ng: usize, nv: usize) {
        let nb = corr.bases.len();
        let partition = if ng == 0 {
            String::new()
        } else {
            format!("PARTITION BY {} ", groups(ng, "").join(", "))
        };
        let over = format!(
            "OVER ({partition}ORDER BY rc_t RANGE BETWEEN {} PRECEDING AND CURRENT ROW)",
            corr.timespan
        );
        let mut keys = vec!["rc_id".to_owned(), "rc_time".to_owned(), "rc_t".to_owned()];
        keys.extend(groups(ng, ""));
        let prefixed =
            |p: &str| -> Vec<String> { keys.iter().map(|c| format!("{p}{c}")).collect() };
        let same_group = |a: &str, b: &str| -> String {
            let mut on: Vec<String> = (0..ng)
                .map(|i| format!("{b}.rc_g{i} = {a}.rc_g{i}"))
                .collect();
            on.push(String::new());
            on.join(" AND ")
        };
        let value = match corr.kind {
            Kind::EventCount => Some(format!("COUNT(*) {over}")),
            Kind::ValueSum => Some(format!("COALESCE(SUM(rc_v0) {over}, 0)")),
            Kind::ValueAvg => Some(format!("AVG(rc_v0) {over}")),
            Kind::Temporal => Some(
                (0..nb)
                    .map(|j| format!("MAX(rc_m{j}) {over}"))
                    .collect::<Vec<_>>()
                    .join("\n    + "),
            ),
            Kind::ValueCount | Kind::TemporalOrdered => None,
        };
        if let Some(v) = value {
            self.ctes.push(format!(
                "win_{k} AS (\nSELECT\n  {},\n  {v} AS rc_value\nFROM base_{k}\n)",
                keys.join(", ")
            ));
            return;
        }
        if corr.kind == Kind::ValueCount {
            let distinct = if nv == 1 {
                "b.rc_v0".to_owned()
            } else {
                let all: Vec<String> = (0..nv).map(|i| format!("b.rc_v{i} IS NOT NULL")).collect();
                let arr: Vec<String> = (0..nv).map(|i| format!("b.rc_v{i}")).collect();
                format!(
                    "CASE WHEN {} THEN ARRAY[{}] END",
                    all.join(" AND "),
                    arr.join(", ")
                )
            };
            self.ctes.push(format!(
                "win_{k} AS (\nSELECT\n  {},\n  COUNT(DISTINCT {distinct}) AS rc_value\nFROM base_{k} AS e\nJOIN base_{k} AS b\n  ON {}b.rc_t BETWEEN e.rc_t - {} AND e.rc_t\nGROUP BY {}\n)",
                prefixed("e.").join(", "),
                same_group("e", "b"),
                corr.timespan,
                prefixed("e.").join(", ")
            ));
            return;
        }
        // temporal_ordered: the earliest time rule 1 is seen in the window, then rule 2 at or
        // after it, ...; an event of the last rule whose chain is complete has the value n.
        let last = nb.saturating_sub(1);
        let mut step_keys = keys.clone();
        step_keys.push(format!("rc_m{last}"));
        if nb == 1 {
            self.ctes.push(format!(
                "win_{k} AS (\nSELECT\n  {},\n  CASE WHEN rc_m0 = 1 THEN 1 END AS rc_value\nFROM base_{k}\n)",
                keys.join(", ")
            ));
            return;
        }
        self.ctes.push(format!(
            "ord_{k}_0 AS (\nSELECT\n  {},\n  MIN(CASE WHEN rc_m0 = 1 THEN rc_t END) {over} AS rc_c\nFROM base_{k}\n)",
            step_keys.join(", ")
        ));
        for j in 1..last {
            let a: Vec<String> = step_keys.iter().map(|c| format!("a.{c}")).collect();
            self.ctes.push(format!(
                "ord_{k}_{j} AS (\nSELECT\n  {},\n  MIN(b.rc_t) AS rc_c\nFROM ord_{k}_{p} AS a\nJOIN base_{k} AS b\n  ON {}b.rc_m{j} = 1 AND b.rc_t BETWEEN a.rc_c AND a.rc_t\nGROUP BY {}\n)",
                a.join(", "),
                same_group("a", "b"),
                a.join(", "),
                p = j - 1
            ));
        }
        self.ctes.push(format!(
            "win_{k} AS (\nSELECT\n  {},\n  CASE WHEN rc_m{last} = 1 AND rc_c IS NOT NULL THEN {nb} END AS rc_value\nFROM ord_{k}_{}\n)",
            keys.join(", "),
            last - 1
        ));
    }
}

/// The output: one row per group with an alert point.
fn final_select(corr: &Correlation, top: usize, limit: Option<u64>) -> String {
    let mut cols: Vec<String> = corr
        .group_by
        .iter()
        .enumerate()
        .map(|(i, g)| format!("rc_g{i} AS {}", quoted_ident(&g.text)))
        .collect();
    cols.push("min_by(rc_time, rc_t) AS first_seen".to_owned());
    cols.push("max_by(rc_time, rc_t) AS last_seen".to_owned());
    cols.push("min_by(rc_value, rc_t) AS value".to_owned());
    let gs = groups(corr.group_by.len(), "");
    let group_by = if gs.is_empty() {
        String::new()
    } else {
        format!("\nGROUP BY {}", gs.join(", "))
    };
    let mut order = vec!["min(rc_t)".to_owned()];
    order.extend(gs);
    let limit = limit.map(|n| format!("\nLIMIT {n}")).unwrap_or_default();
    format!(
        "SELECT\n  {}\nFROM alerts_{top}{group_by}\nHAVING count(*) > 0\nORDER BY {}{limit}",
        cols.join(",\n  "),
        order.join(", ")
    )
}

fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `s` with every line after the first indented by `n`.
fn indent_tail(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.replace('\n', &format!("\n{pad}"))
}
