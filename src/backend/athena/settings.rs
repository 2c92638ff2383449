//! The options that shape an Athena query (`--schema`, `--table`, `--partitions`,
//! `--since`/`--until`, `--no-shapes`), checked once per run ([`crate::backend::Backend::prepare`]); a bad one is reported against the
//! rule's first line.

use super::schema::{Schema, SCHEMAS};
use super::sql::ident;
use super::window::Window;
use crate::backend::RenderOptions;
use crate::diagnostic::{Code, Diagnostic};

/// The options that shape an Athena query, checked.
pub(super) struct Settings {
    pub(super) schema: &'static Schema,
    /// The table name as SQL (`db.table`, each part quoted as needed).
    pub(super) table: String,
    /// The `--partitions` layout.
    pub(super) layout: &'static str,
    /// The time window, when `--since` or `--until` is given.
    pub(super) window: Option<Window>,
    /// Read the paths the CloudTrail shape table calls scalars inline, as one value (unless
    /// `--no-shapes`).
    pub(super) shapes: bool,
}

/// A bad option: it belongs to the command line, not to a place in the rule, so it points at
/// the rule's first line.
pub(super) fn option_error(msg: String) -> Diagnostic {
    Diagnostic::new(Code::BadValue, format!("athena: {msg}")).with_line_col(1, 1)
}

impl Settings {
    /// Check the options that apply to Athena: the schema (built-in or a DDL file), the
    /// partition layout, the table name and the time window.
    pub(super) fn from_options(opts: &RenderOptions) -> Result<Settings, Diagnostic> {
        let name = opts.schema.as_deref().unwrap_or(SCHEMAS[0].name);
        let schema = if SCHEMAS.iter().any(|s| s.name == name) || !looks_like_path(name) {
            Schema::builtin(name)
        } else {
            Schema::from_file(std::path::Path::new(name))
        }
        .map_err(option_error)?;
        let schema = if opts.columns.is_empty() {
            schema
        } else {
            schema.with_columns(&opts.columns).map_err(option_error)?
        };
        let def = schema.def;
        let layout = match opts.partitions.as_deref() {
            None => def.partitions[0],
            Some(p) => def
                .partitions
                .iter()
                .copied()
                .find(|x| *x == p)
                .ok_or_else(|| {
                    option_error(format!(
                        "--partitions '{p}' does not fit the {} schema; expected one of {}",
                        def.name,
                        def.partitions.join(", ")
                    ))
                })?,
        };
        let table = table_name(opts.table.as_deref().unwrap_or(def.default_table))?;
        // Trino's LIMIT is a BIGINT; 0 would make a query that never returns a row.
        if let Some(n) = opts.limit {
            if n == 0 || n > i64::MAX as u64 {
                return Err(option_error(format!(
                    "--limit {n}: LIMIT takes 1 to {}",
                    i64::MAX
                )));
            }
        }
        let window = Window::from_options(
            opts.since.as_deref(),
            opts.until.as_deref(),
            opts.now.as_deref(),
        )
        .map_err(option_error)?;
        Ok(Settings {
            schema,
            table,
            layout,
            window,
            shapes: !opts.no_shapes,
        })
    }
}

/// A `--schema` value that names a file rather than a built-in schema.
fn looks_like_path(s: &str) -> bool {
    s.contains(['/', '\\']) || s.ends_with(".ddl") || s.ends_with(".sql")
}

/// `db.table` with every part quoted as needed.
fn table_name(s: &str) -> Result<String, Diagnostic> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.iter().any(|p| p.trim().is_empty()) || parts.len() > 3 {
        return Err(option_error(format!(
            "--table '{s}' is not a table name (expected [catalog.][database.]table)"
        )));
    }
    Ok(parts
        .iter()
        .map(|p| ident(p.trim()))
        .collect::<Vec<_>>()
        .join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row limit is 1 to Trino's largest BIGINT: 0 and the unsigned values past it are
    /// refused, never printed as a LIMIT.
    #[test]
    fn limit_is_a_positive_bigint() {
        let with = |limit| {
            Settings::from_options(&RenderOptions {
                limit,
                ..RenderOptions::default()
            })
            .err()
            .map(|d| d.message)
        };
        assert_eq!(with(None), None);
        assert_eq!(with(Some(1)), None);
        assert_eq!(with(Some(i64::MAX as u64)), None);
        for bad in [0, i64::MAX as u64 + 1, u64::MAX] {
            let msg = with(Some(bad)).unwrap_or_default();
            assert!(
                msg.contains("LIMIT takes 1 to 9223372036854775807"),
                "{msg}"
            );
        }
    }
}
