//! The query frame around the condition: the `events` block (one column per JSON field the
//! condition tests, and every value of the row for keywords), the SELECT list, the time window
//! (partition predicate and event-time bound), and the other template variables.

use minijinja::Value;

use super::access::{
    by_shape, events_column, json_any_texts, json_path, json_values, resolve, Access, Scope,
    ALL_VALUES,
};
use super::schema::{Schema, TimeKind, Ty};
use super::settings::{option_error, Settings};
use super::sql::{ident, lit, quoted_ident};
use super::window;
use crate::backend::RenderCx;
use crate::diagnostic::Diagnostic;
use crate::ir::{FieldPath, Quantifier, Subject, Test};
use crate::rule::Rule;

/// The template variables of the query frame: `table`, `schema`, `block` (the `events` block's
/// columns), `block_name`, `columns`, `window`, `warnings`, `order_by` and `limit`.
pub(super) fn frame(rule: &Rule, cx: &RenderCx) -> Result<Vec<(&'static str, Value)>, Diagnostic> {
    let s = cx.settings::<Settings>()?;
    let schema = s.schema;
    let def = schema.def;
    let mut scope = Scope::default();
    let block = events_block(rule, schema, s.shapes, &mut scope)?;
    let mut warnings = Vec::new();
    let columns = selected_columns(rule, schema, s.shapes, &cx.needs.fields, &mut warnings);
    let (time_expr, window) = time_window(s, &mut scope, &mut warnings)?;
    if cx.opts.table.is_none() {
        warnings.extend(def.default_table_warning.map(str::to_owned));
    }
    let source = if s.table.rsplit('.').next() == Some("events") {
        "rulecast_events"
    } else {
        "events"
    };
    Ok(vec![
        ("table", Value::from_safe_string(s.table.clone())),
        ("schema", Value::from(def.name)),
        ("block", Value::from(block)),
        ("block_name", Value::from_safe_string(source.to_owned())),
        ("columns", Value::from(columns)),
        (
            "window",
            Value::from(
                window
                    .into_iter()
                    .map(Value::from_safe_string)
                    .collect::<Vec<_>>(),
            ),
        ),
        ("warnings", Value::from(warnings)),
        (
            "order_by",
            Value::from_safe_string(format!("{time_expr} DESC")),
        ),
        (
            "limit",
            cx.opts
                .limit
                .map_or(Value::from(()), |n| Value::from_safe_string(n.to_string())),
        ),
    ])
}

/// The `events` block: one column per JSON field the condition tests (but those read inline by
/// their documented shape when `shapes`), and the row's every value when it has keywords. Two
/// fields whose names differ only in case cannot both be columns.
fn events_block(
    rule: &Rule,
    schema: &'static Schema,
    shapes: bool,
    scope: &mut Scope,
) -> Result<Vec<Value>, Diagnostic> {
    let mut derived: Vec<(String, String)> = Vec::new();
    let mut keywords = false;
    for p in rule.condition.predicates() {
        // Python-style and typed tests read their values inline.
        if p.quantifier != Quantifier::Any || p.test.reads_json_type() {
            continue;
        }
        let mut fields = Vec::new();
        match &p.subject {
            Subject::Anywhere => keywords = true,
            Subject::Field(f) => fields.push(f),
        }
        if let Test::FieldRef(r) = &p.test {
            fields.push(&r.other);
        }
        for field in fields {
            let acc = resolve(schema, field, scope)?;
            let acc = if shapes { by_shape(acc, field) } else { acc };
            if let Access::Json {
                doc,
                keys,
                field: name,
                top: true,
            } = acc
            {
                if derived.iter().any(|(n, _)| *n == name) {
                    continue;
                }
                if let Some((n, _)) = derived.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                    return Err(Diagnostic::unsupported(
                        "athena",
                        format!(
                            "testing both '{n}' and '{name}' (Athena column names ignore case)"
                        ),
                    ));
                }
                derived.push((name, json_any_texts(&doc, &keys)));
            }
        }
    }
    let mut block: Vec<Value> = derived
        .iter()
        .map(|(name, e)| Value::from_safe_string(format!("{e} AS {}", events_column(name))))
        .collect();
    if keywords {
        block.push(Value::from_safe_string(format!(
            "{} AS {}",
            all_values(schema),
            quoted_ident(ALL_VALUES)
        )));
    }
    Ok(block)
}

/// The SELECT list: the rule's `fields`; one the table has no column for changes what is shown,
/// not what matches, so it is left out with a warning in the header. Without `fields` (or when
/// none of them has a column): the schema's default set plus `tested`, the fields the rule tests.
fn selected_columns(
    rule: &Rule,
    schema: &'static Schema,
    shapes: bool,
    tested: &[String],
    warnings: &mut Vec<String>,
) -> Vec<Value> {
    let def = schema.def;
    let mut columns = Vec::new();
    for name in unique_names(&rule.meta.fields) {
        match select_item(schema, shapes, name) {
            Some(c) => columns.push(c),
            None => warnings.push(format!(
                "output field '{name}' has no column in the {} table; left out of the SELECT",
                def.name
            )),
        }
    }
    if columns.is_empty() {
        let defaults: Vec<String> = def
            .default_columns
            .iter()
            .map(|s| (*s).to_owned())
            .chain(tested.iter().cloned())
            .collect();
        columns = unique_names(&defaults)
            .into_iter()
            .filter_map(|name| select_item(schema, shapes, name))
            .collect();
    }
    columns
}

/// The event-time column and the time conditions: the partition predicate first (it prunes),
/// then the precise bounds; without a window, a warning that every partition is read.
fn time_window(
    s: &Settings,
    scope: &mut Scope,
    warnings: &mut Vec<String>,
) -> Result<(String, Vec<String>), Diagnostic> {
    let schema = s.schema;
    let def = schema.def;
    let time = resolve(schema, &FieldPath::parse(def.time_field), scope)?;
    let time_expr = match &time {
        Access::Scalar { expr, .. } => expr.clone(),
        _ => {
            return Err(option_error(format!(
                "the time field {} is not a scalar column",
                def.time_field
            )))
        }
    };
    let mut window = Vec::new();
    match &s.window {
        Some(w) => {
            if let Some(p) = window::partition_predicate(s.layout, w, def.partition_lag_days)
                .map_err(option_error)?
            {
                window.push(p);
            }
            // A fixed bound compares the column with a literal; one relative to the run time
            // compares instants (ISO text is parsed first).
            let bound = |b: window::Bound, op: &str| match (b, def.time_kind) {
                (window::Bound::At(secs), TimeKind::IsoText) => {
                    format!("{time_expr} {op} {}", lit(&window::iso(secs)))
                }
                (window::Bound::At(secs), TimeKind::Timestamp) => format!(
                    "{time_expr} {op} from_iso8601_timestamp({})",
                    lit(&window::iso(secs))
                ),
                (window::Bound::Ago(span), TimeKind::IsoText) => format!(
                    "from_iso8601_timestamp({time_expr}) {op} {}",
                    window::ago(span, 0)
                ),
                (window::Bound::Ago(span), TimeKind::Timestamp) => {
                    format!("{time_expr} {op} {}", window::ago(span, 0))
                }
            };
            if let Some(a) = w.since {
                window.push(bound(a, ">="));
            }
            if let Some(b) = w.until {
                window.push(bound(b, "<"));
            }
        }
        None => warnings.push(
            "no time window (--since/--until): Athena reads every partition of the table"
                .to_owned(),
        ),
    }
    Ok((time_expr, window))
}

/// The SELECT item showing a field (`useridentity.arn AS "userIdentity.arn"`), or None when the
/// table has no column for it; with `shapes`, a documented scalar inside a JSON-string column as
/// its `json_extract_scalar`.
fn select_item(schema: &Schema, shapes: bool, name: &str) -> Option<Value> {
    let field = FieldPath::parse(name);
    let acc = resolve(schema, &field, &mut Scope::default()).ok()?;
    let acc = if shapes { by_shape(acc, &field) } else { acc };
    let e = shown_expr(&acc);
    Some(Value::from_safe_string(if e == ident(name) {
        e
    } else {
        format!("{e} AS {}", quoted_ident(name))
    }))
}

/// The names in order, each once.
fn unique_names(names: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n.as_str()) {
            out.push(n);
        }
    }
    out
}

/// What a selected field shows.
fn shown_expr(acc: &Access) -> String {
    match acc {
        Access::Scalar { expr, .. } | Access::Whole { expr, .. } => expr.clone(),
        Access::Each { array, var, inner } => {
            format!("transform({array}, {var} -> {})", shown_expr(inner))
        }
        Access::Json { doc, keys, .. } if keys.len() == 1 => {
            let p = lit(&json_path(keys));
            format!(
                "COALESCE(json_extract_scalar({doc}, {p}), json_format(json_extract({doc}, {p})))"
            )
        }
        Access::Json { doc, keys, .. } => format!(
            "transform({}, j -> COALESCE(json_extract_scalar(j, '$'), json_format(j)))",
            json_values(doc, keys).array()
        ),
    }
}

/// The row's every scalar as text, for keywords: each scalar column and struct field, each
/// array element's, each map value, and every scalar inside the JSON documents.
fn all_values(schema: &Schema) -> String {
    /// Collect the scalar texts of a value of type `ty` into `out`, and the arrays of texts
    /// (JSON documents, maps, arrays) into `lists`; `depth` numbers the array lambdas.
    fn leaves(expr: &str, ty: &Ty, out: &mut Vec<String>, lists: &mut Vec<String>, depth: usize) {
        match ty {
            Ty::Varchar | Ty::TextOf(_) => out.push(expr.to_owned()),
            Ty::Scalar(_) => out.push(format!("CAST({expr} AS VARCHAR)")),
            Ty::Json => lists.push(format!(
                "COALESCE(transform(filter(regexp_extract_all({expr}, {}), t -> NOT t LIKE '%\":' ESCAPE '\\'), t -> json_extract_scalar(t, '$')), ARRAY[])",
                lit(r#""[^"\\]*(?:\\.[^"\\]*)*":?|[^",:{}\[\]\s]+"#)
            )),
            Ty::Struct(fields) => {
                for f in fields {
                    leaves(&format!("{expr}.{}", ident(&f.name)), &f.ty, out, lists, depth);
                }
            }
            Ty::Map(v) => match v.as_ref() {
                Ty::Varchar | Ty::TextOf(_) => {
                    lists.push(format!("COALESCE(map_values({expr}), ARRAY[])"))
                }
                Ty::Scalar(_) => lists.push(format!(
                    "COALESCE(transform(map_values({expr}), m -> CAST(m AS VARCHAR)), ARRAY[])"
                )),
                _ => lists.push(format!(
                    "COALESCE(transform(map_values({expr}), m -> json_format(CAST(m AS JSON))), ARRAY[])"
                )),
            },
            Ty::Array(elem) => {
                let var = format!("a{depth}");
                let mut inner = Vec::new();
                let mut inner_lists = Vec::new();
                leaves(&var, elem, &mut inner, &mut inner_lists, depth + 1);
                let mut parts = Vec::new();
                if !inner.is_empty() {
                    parts.push(format!("ARRAY[{}]", inner.join(", ")));
                }
                parts.extend(inner_lists);
                let body = if parts.len() == 1 {
                    parts.remove(0)
                } else {
                    format!("concat({})", parts.join(", "))
                };
                lists.push(format!(
                    "COALESCE(flatten(transform({expr}, {var} -> {body})), ARRAY[])"
                ));
            }
        }
    }
    let mut scalars = Vec::new();
    let mut lists = Vec::new();
    for c in &schema.columns {
        leaves(&ident(&c.name), &c.ty, &mut scalars, &mut lists, 1);
    }
    let mut parts = vec![format!("ARRAY[{}]", scalars.join(", "))];
    parts.extend(lists);
    format!("concat(\n      {}\n    )", parts.join(",\n      "))
}
