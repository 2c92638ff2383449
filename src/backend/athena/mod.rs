//! The Athena target: one Trino SQL query over the CloudTrail table in S3 (or a Security Lake
//! OCSF table), with the reference evaluator's semantics.
//!
//! How each IR construct becomes SQL (see `docs/athena.md` for the reasons):
//! - A rule field is looked up in the table schema ([`schema`], data in `schemas/athena/`): struct
//!   fields by dot access, arrays with `any_match`, maps with `element_at`, JSON-string columns
//!   with `json_extract`. A field the table cannot hold is an error.
//! - Values inside JSON-string columns may be arrays anywhere on the path; each such field becomes
//!   a column of a `WITH events AS (...)` block holding the texts of every value the path reaches
//!   (arrays crossed, and a value that is an array also as its elements), so the `WHERE` clause
//!   reads `any_match("requestParameters.x", v -> ...)`.
//! - Case-insensitive text: the literal is folded at compile time and the column with `lower()`
//!   (only when the literal has a letter; `translate()` when it has a non-ASCII one).
//! - Wildcards: `LIKE ... ESCAPE '\'` with `%`, `_`, `\` escaped. Regexes: `regexp_like`.
//! - `NOT` is null-safe: `NOT COALESCE(x, FALSE)`. Every rule value stays inside a string literal
//!   whose quotes are doubled; a value with a control, bidirectional or other invisible
//!   character is a `U&'...'` Unicode literal with that character escaped.
//!
//! Where each part lives:
//! - `sql.rs`: identifiers, string literals, reserved words, `LIKE` escaping;
//! - `access.rs`: a rule field resolved to a column, a struct field, array elements or a path
//!   inside a JSON-string column, and the SQL that reads JSON values;
//! - `settings.rs`: the table, schema, partition layout and time window options;
//! - `predicate.rs`: Sigma-style (any value) predicates, one per IR test;
//! - `typed.rs`: the typed tests and the one-value quantifiers, from the JSON types the table
//!   keeps;
//! - `frame.rs`: the `events` block, the SELECT list and the time window around the condition;
//! - `schema.rs` and `ddl.rs`: the table schemas and their DDL column lists; `window.rs`: the
//!   `--since`/`--until` window and its partition predicate.

mod access;
mod correlation;
mod ddl;
mod frame;
mod predicate;
mod schema;
mod settings;
mod sql;
mod typed;
pub mod window;

/// The names `--schema` takes for the built-in table schemas, the default first.
pub fn schema_names() -> Vec<&'static str> {
    schema::SCHEMAS.iter().map(|s| s.name).collect()
}

/// The column list (Athena DDL) of the built-in schema `name`, followed by its field map when
/// the table renames CloudTrail's fields: what `rulecast schema` prints, and a starting point
/// for a `--schema my_table.ddl` of one's own.
pub fn schema_text(name: &str) -> Result<String, String> {
    let Some(def) = schema::SCHEMAS.iter().find(|s| s.name == name) else {
        return Err(format!(
            "unknown schema '{name}'; expected one of {}",
            schema_names().join(", ")
        ));
    };
    let mut text = format!(
        "-- rulecast schema {name}: the columns rulecast expects in the {name} table (default table \
         {}; partitions: {}).\n",
        def.default_table,
        def.partitions.join(", ")
    );
    if def.fields.is_none() {
        text.push_str(
            "-- Save it, add or rename columns, and pass it as --schema FILE.ddl (or rename single \
             fields in a mapping: {athena: {column: name, type: string}}).\n",
        );
    }
    text.push_str(def.ddl);
    if let Some(fields) = def.fields {
        text.push_str("\n-- Field map (CloudTrail field -> column path), longest prefix first:\n");
        for line in fields.lines() {
            text.push_str("-- ");
            text.push_str(line);
            text.push('\n');
        }
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

pub use ddl::parse_ddl;
pub use schema::{Column, Schema, SchemaDef, TimeKind, Ty, SCHEMAS};
pub use sql::{ident, lit};
pub use window::Window;

use minijinja::Value;

use crate::diagnostic::Diagnostic;
use crate::ir::{Predicate, Subject, Test};
use crate::rule::Rule;

use predicate::PredicateRenderer;
use settings::Settings;

use super::{Backend, RenderCx, RenderOptions, Syntax, Target};

/// The longest query Athena accepts, in characters (its service quota on the query string).
pub const MAX_QUERY_CHARS: usize = 262_144;

/// The Athena backend (see the module documentation).
pub struct AthenaBackend;

/// Trino's boolean tokens; `NOT` is null-safe.
pub(super) static SYNTAX: Syntax = Syntax {
    and: "AND",
    or: "OR",
    not: "NOT COALESCE({}, FALSE)",
    true_: "TRUE",
    false_: "FALSE",
    max_width: 100,
};

impl Backend for AthenaBackend {
    fn target(&self) -> Target {
        Target::Athena
    }

    /// One predicate, with the schema the options name.
    fn predicate(&self, p: &Predicate, cx: &mut RenderCx) -> Result<String, Diagnostic> {
        PredicateRenderer::new(cx)?.predicate(p)
    }

    /// Sigma-style tests on one subject as one `any_match` (equality tests as an `IN` list).
    fn any_of(
        &self,
        subject: &Subject,
        tests: &[&Test],
        cx: &mut RenderCx,
    ) -> Option<Result<String, Diagnostic>> {
        if tests.iter().any(|t| t.reads_json_type()) {
            // Typed tests read JSON values, not the texts an IN list compares: one each.
            return None;
        }
        let tests: Vec<Test> = tests.iter().map(|t| (*t).clone()).collect();
        let render = |cx: &mut RenderCx| -> Result<String, Diagnostic> {
            if cx.depth > 0 {
                return Err(typed::any_value_in_element_unsupported());
            }
            let mut r = PredicateRenderer::new(cx)?;
            let acc = r.subject_access(subject)?;
            r.any_text(&acc, &mut |r, t| r.value_tests(t, &tests))
        };
        Some(render(cx))
    }

    /// String matches of one value as one `any_match` over their LIKE patterns, the value read
    /// and folded once (see `typed.rs`).
    fn one_of_strings(
        &self,
        path: &crate::ir::FieldPath,
        fold: bool,
        patterns: &[&crate::ir::Pattern],
        cx: &mut RenderCx,
    ) -> Option<Result<String, Diagnostic>> {
        Some(PredicateRenderer::new(cx).and_then(|mut r| r.one_of_strings(path, fold, patterns)))
    }

    /// The `any_match`/`all_match`/`cardinality(filter(...)) = 1` around a per-element body.
    fn elements(
        &self,
        el: &crate::ir::Elements,
        cx: &mut RenderCx,
    ) -> Result<Option<(String, String)>, Diagnostic> {
        PredicateRenderer::new(cx)?.elements_frame(el)
    }

    /// The `events` block, SELECT list, time window and the other template variables.
    fn frame(&self, rule: &Rule, cx: &RenderCx) -> Result<Vec<(&'static str, Value)>, Diagnostic> {
        frame::frame(rule, cx)
    }

    /// One query of common table expressions (see `correlation.rs`).
    fn correlation(
        &self,
        rule: &Rule,
        corr: &crate::correlation::Correlation,
        cx: &mut RenderCx,
    ) -> Result<Vec<(&'static str, Value)>, Diagnostic> {
        correlation::render(self, rule, corr, cx)
    }

    /// The schema (built-in or a DDL file), partition layout, table name and time window.
    fn prepare(&self, opts: &RenderOptions) -> Result<super::Settings, Diagnostic> {
        Ok(std::sync::Arc::new(Settings::from_options(opts)?))
    }

    fn options(&self) -> &'static [super::RenderOption] {
        use super::RenderOption::*;
        &[Limit, Table, Schema, Since, Until, Partitions, NoShapes]
    }

    /// `x IS NULL` ↔ `x IS NOT NULL` (never NULL themselves, so no COALESCE is needed), and
    /// `NOT COALESCE(NOT COALESCE(y, FALSE), FALSE)` is `COALESCE(y, FALSE)`.
    fn negate_text(&self, inner: &str) -> Option<String> {
        sql::negate(inner)
    }

    /// `x = 'a' OR x = 'b'` is `x IN ('a', 'b')`, NULL included.
    fn merge_disjuncts(&self, parts: Vec<String>) -> Vec<String> {
        super::merge_equalities(parts, sql::equality, |term, values| {
            format!("{term} IN ({})", values.join(", "))
        })
    }

    /// `x IS NOT NULL AND x IS DISTINCT FROM 'v'` is `x <> 'v'` (NULL where x is, which every
    /// enclosing NOT already reads as false).
    fn merge_conjuncts(&self, parts: Vec<String>) -> Vec<String> {
        sql::merge_present_and_distinct(parts)
    }

    /// One query over the table for many rules (see `templates/athena/bundle.sql.j2`): the
    /// window read once, one Boolean column per rule, the union of their columns, `rules` and
    /// `level`.
    fn bundle_template(&self) -> Option<&'static str> {
        Some("athena/bundle.sql.j2")
    }

    /// A Trino string literal (quotes doubled; hidden characters as a `U&'...'` escape).
    fn string_literal(&self, s: &str) -> Option<String> {
        Some(lit(s))
    }

    /// Athena's limit on the text of one query: 262,144 characters.
    fn max_query_len(&self) -> Option<usize> {
        Some(MAX_QUERY_CHARS)
    }

    /// Text safe inside a `--` comment: every line break, control, bidirectional or other
    /// invisible format character becomes a space.
    fn comment(&self, text: &str) -> String {
        // A `--` comment ends at a line break; Trino's lexer knows only \r and \n, editors a few
        // more.
        crate::escape::comment_text(text).into_owned()
    }
}
