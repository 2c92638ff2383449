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
//!   whose quotes are doubled.

mod schema;
mod typed;
mod window;

pub use schema::{parse_ddl, Column, Schema, SchemaDef, TimeKind, Ty, SCHEMAS};
pub use window::Window;

use minijinja::Value;

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{
    Anchor, Cidr, CompareOp, FieldPath, Number, Part, Pattern, Predicate, Quantifier, Shape,
    Subject, Test,
};
use crate::rule::Rule;

use super::{Backend, Needs, RenderCx, RenderOptions, Syntax, Target};

pub struct AthenaBackend;

static SYNTAX: Syntax = Syntax {
    and: "AND",
    or: "OR",
    not: "NOT COALESCE({}, FALSE)",
    true_: "TRUE",
    false_: "FALSE",
    max_width: 100,
};

/// The CTE column that holds every scalar of a row, for keywords.
const ALL_VALUES: &str = "all values";

/// Words Athena's SELECT grammar reserves (AWS "Reserved keywords"), plus words that are safer
/// quoted.
const RESERVED: &[&str] = &[
    "all",
    "alter",
    "and",
    "any",
    "array",
    "as",
    "between",
    "by",
    "case",
    "cast",
    "constraint",
    "create",
    "cross",
    "cube",
    "current_date",
    "current_path",
    "current_time",
    "current_timestamp",
    "current_user",
    "date",
    "deallocate",
    "delete",
    "describe",
    "distinct",
    "drop",
    "else",
    "end",
    "escape",
    "except",
    "execute",
    "exists",
    "extract",
    "false",
    "first",
    "for",
    "from",
    "full",
    "group",
    "grouping",
    "having",
    "in",
    "inner",
    "insert",
    "intersect",
    "interval",
    "into",
    "is",
    "join",
    "json",
    "last",
    "left",
    "like",
    "localtime",
    "localtimestamp",
    "map",
    "natural",
    "normalize",
    "not",
    "null",
    "on",
    "or",
    "order",
    "outer",
    "prepare",
    "recursive",
    "right",
    "rollup",
    "row",
    "select",
    "table",
    "then",
    "time",
    "timestamp",
    "true",
    "uescape",
    "unescape",
    "union",
    "unnest",
    "user",
    "using",
    "values",
    "when",
    "where",
    "with",
];

/// An SQL identifier: bare when it is a plain lowercase word, else double-quoted.
pub fn ident(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let plain = lower
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && lower
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && !RESERVED.contains(&lower.as_str()) {
        lower
    } else {
        quoted_ident(&lower)
    }
}

/// A double-quoted identifier, exactly as given.
fn quoted_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An SQL string literal: quotes doubled, nothing else changes (backslashes are not escapes).
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A JSON path (Trino's `json_extract` syntax) for object keys.
fn json_path(keys: &[String]) -> String {
    let mut p = String::from("$");
    for k in keys {
        let plain = k
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if plain {
            p.push('.');
            p.push_str(k);
        } else {
            p.push_str("[\"");
            p.push_str(&k.replace('\\', "\\\\").replace('"', "\\\""));
            p.push_str("\"]");
        }
    }
    p
}

/// Whether Trino's `json_extract` reads `key` as an array index: its path step parses the key
/// with Java's `Integer.parseInt` (a sign, then decimal digits of any script); anything that may
/// parse counts.
fn index_like(key: &str) -> bool {
    let digits = key.strip_prefix(['+', '-']).unwrap_or(key);
    !digits.is_empty() && digits.chars().all(char::is_numeric)
}

/// `json_extract(doc, '$.key')`. A key that reads as an index would index into an array, so on a
/// value that may be an array it is guarded.
fn member(doc: &str, key: &str, maybe_array: bool) -> String {
    let get = format!(
        "json_extract({doc}, {})",
        lit(&json_path(&[key.to_owned()]))
    );
    if maybe_array && index_like(key) {
        format!("IF(TRY_CAST({doc} AS ARRAY<JSON>) IS NULL, {get})")
    } else {
        get
    }
}

/// JSON values: one (`x`) or an `ARRAY<JSON>` of them.
enum JsonList {
    One(String),
    Many(String),
}

impl JsonList {
    fn array(&self) -> String {
        match self {
            JsonList::One(x) => format!("ARRAY[{x}]"),
            JsonList::Many(l) => l.clone(),
        }
    }

    /// The values, where one that is an array stands for its elements (one level; the evaluator
    /// crosses any depth): a path crossing arrays on its way.
    fn cross(&self) -> String {
        match self {
            JsonList::One(x) => format!("COALESCE(TRY_CAST({x} AS ARRAY<JSON>), ARRAY[{x}])"),
            JsonList::Many(l) => format!(
                "flatten(transform({l}, e -> COALESCE(TRY_CAST(e AS ARRAY<JSON>), ARRAY[e])))"
            ),
        }
    }

    /// The values and, for those that are arrays, their elements too (one level): what a value
    /// test sees at the end of a path.
    fn with_elements(&self) -> String {
        match self {
            JsonList::One(x) => {
                format!("concat(ARRAY[{x}], COALESCE(TRY_CAST({x} AS ARRAY<JSON>), ARRAY[]))")
            }
            JsonList::Many(l) => format!(
                "flatten(transform({l}, e -> concat(ARRAY[e], COALESCE(TRY_CAST(e AS ARRAY<JSON>), ARRAY[]))))"
            ),
        }
    }
}

/// The values a key path reaches inside a JSON document, arrays met on the way crossed (an
/// absent key gives an SQL NULL).
fn json_values(doc: &str, keys: &[String]) -> JsonList {
    let Some((first, rest)) = keys.split_first() else {
        return JsonList::One(format!("json_parse({doc})"));
    };
    let mut list = JsonList::One(member(doc, first, false));
    for k in rest {
        list = JsonList::Many(format!(
            "transform({}, e -> {})",
            list.cross(),
            member("e", k, true)
        ));
    }
    list
}

/// The text of a JSON value: a string's contents, a number's or boolean's JSON text, an object's
/// or array's compact JSON; NULL for JSON null.
fn json_text(j: &str) -> String {
    format!("COALESCE(json_extract_scalar({j}, '$'), NULLIF(json_format({j}), 'null'))")
}

/// The lambda names in use while one predicate renders.
#[derive(Default)]
struct Scope {
    used: Vec<String>,
}

impl Scope {
    /// A fresh lambda parameter named after `hint`'s first letter (`r` for resources).
    fn var(&mut self, hint: &str) -> String {
        let c = hint
            .chars()
            .next()
            .filter(char::is_ascii_alphabetic)
            .map_or('x', |c| c.to_ascii_lowercase());
        // `e` and `f` name the elements inside JSON value lists.
        let base = if c == 'e' || c == 'f' {
            "v".to_owned()
        } else {
            c.to_string()
        };
        let mut name = base.clone();
        let mut n = 2;
        while self.used.contains(&name) || RESERVED.contains(&name.as_str()) {
            name = format!("{base}{n}");
            n += 1;
        }
        self.used.push(name.clone());
        name
    }
}

/// Where a rule field's values are in a row.
#[derive(Debug, Clone)]
enum Access {
    /// One scalar column or struct field: NULL when absent or null. `text` is its text, `ty` its
    /// DDL type.
    Scalar { expr: String, text: String, ty: Ty },
    /// A struct, array or map as one value.
    Whole { expr: String, ty: Ty },
    /// Every element of an array column (the path goes on into each).
    Each {
        array: String,
        var: String,
        inner: Box<Access>,
    },
    /// Values at a key path inside a JSON document. `top` when the document is a column of the
    /// row (not inside an array element): then the values are a column of the `events` block.
    Json {
        doc: String,
        keys: Vec<String>,
        field: String,
        top: bool,
    },
}

/// The options that shape an Athena query, checked.
struct Settings {
    schema: &'static Schema,
    table: String,
    layout: &'static str,
    window: Option<Window>,
}

/// A bad option: it belongs to the command line, not to a place in the rule, so it points at
/// the rule's first line.
fn option_error(msg: String) -> Diagnostic {
    Diagnostic::new(Code::BadValue, format!("athena: {msg}")).with_line_col(1, 1)
}

impl Settings {
    fn from(opts: &RenderOptions) -> Result<Settings, Diagnostic> {
        let name = opts.schema.as_deref().unwrap_or(SCHEMAS[0].name);
        let schema = if SCHEMAS.iter().any(|s| s.name == name) || !looks_like_path(name) {
            Schema::builtin(name)
        } else {
            Schema::from_file(std::path::Path::new(name))
        }
        .map_err(option_error)?;
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

fn not_in_schema(schema: &Schema, msg: String) -> Diagnostic {
    Diagnostic::new(
        Code::Unsupported,
        format!(
            "{msg}: the {} table cannot hold it (columns from {}); it is unsupported by athena",
            schema.def.name, schema.def.ddl_path
        ),
    )
}

/// Look a rule field up in the schema.
fn resolve(schema: &Schema, field: &FieldPath, scope: &mut Scope) -> Result<Access, Diagnostic> {
    let shown = field.to_string();
    let Some(path) = schema.column_path(field) else {
        return Err(not_in_schema(
            schema,
            format!(
                "field '{shown}' has no column in the field map{}",
                schema
                    .def
                    .fields_path
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default()
            ),
        ));
    };
    let exact = schema.def.exact_case;
    let Some((first, rest)) = path.split_first() else {
        return Err(not_in_schema(schema, "an empty field name".to_owned()));
    };
    let col = match schema::lookup(&schema.columns, first, exact) {
        schema::Lookup::Found(c) => c,
        schema::Lookup::WrongCase(c) => {
            return Err(not_in_schema(
                schema,
                format!(
                    "field '{shown}': no column '{first}'; did you mean '{}'? (names are case-sensitive, as in the log)",
                    c.name
                ),
            ))
        }
        schema::Lookup::Missing => {
            return Err(not_in_schema(
                schema,
                format!("field '{shown}': no column '{first}'"),
            ))
        }
    };
    walk(
        schema,
        &shown,
        ident(&col.name),
        &col.ty,
        rest,
        &col.name,
        true,
        scope,
    )
}

#[allow(clippy::too_many_arguments)]
fn walk(
    schema: &Schema,
    shown: &str,
    expr: String,
    ty: &Ty,
    rest: &[String],
    at: &str,
    top: bool,
    scope: &mut Scope,
) -> Result<Access, Diagnostic> {
    let Some((seg, more)) = rest.split_first() else {
        return Ok(match ty {
            Ty::Varchar | Ty::TextOf(_) | Ty::Json => Access::Scalar {
                text: expr.clone(),
                expr,
                ty: ty.clone(),
            },
            Ty::Scalar(_) => Access::Scalar {
                text: format!("CAST({expr} AS VARCHAR)"),
                expr,
                ty: ty.clone(),
            },
            Ty::Array(_) | Ty::Map(_) | Ty::Struct(_) => Access::Whole {
                expr,
                ty: ty.clone(),
            },
        });
    };
    match ty {
        Ty::Struct(fields) => {
            let f = match schema::lookup(fields, seg, schema.def.exact_case) {
                schema::Lookup::Found(f) => f,
                schema::Lookup::WrongCase(f) => {
                    return Err(not_in_schema(
                        schema,
                        format!(
                            "field '{shown}': {at} has no field '{seg}'; did you mean '{}'? (names are case-sensitive, as in the log)",
                            f.name
                        ),
                    ))
                }
                schema::Lookup::Missing => {
                    return Err(not_in_schema(
                        schema,
                        format!("field '{shown}': {at} has no field '{seg}'"),
                    ))
                }
            };
            walk(
                schema,
                shown,
                format!("{expr}.{}", ident(&f.name)),
                &f.ty,
                more,
                &format!("{at}.{}", f.name),
                top,
                scope,
            )
        }
        Ty::Array(elem) => {
            let var = scope.var(at.rsplit('.').next().unwrap_or(at));
            let inner = walk(schema, shown, var.clone(), elem, rest, at, false, scope)?;
            Ok(Access::Each {
                array: expr,
                var,
                inner: Box::new(inner),
            })
        }
        Ty::Map(v) => walk(
            schema,
            shown,
            format!("element_at({expr}, {})", lit(seg)),
            v,
            more,
            &format!("{at}.{seg}"),
            top,
            scope,
        ),
        Ty::Json => Ok(Access::Json {
            doc: expr,
            keys: rest.to_vec(),
            field: shown.to_owned(),
            top,
        }),
        Ty::Varchar | Ty::TextOf(_) | Ty::Scalar(_) => Err(not_in_schema(
            schema,
            format!(
                "field '{shown}': {at} is a {} column, not a structure, so it has no field '{seg}'",
                match ty {
                    Ty::Scalar(s) => s.to_ascii_uppercase(),
                    _ => "STRING".to_owned(),
                }
            ),
        )),
    }
}

/// The texts a whole struct/array/map value is tested as: its JSON, and for an array each
/// element too.
fn whole_texts(expr: &str, ty: &Ty, scope: &mut Scope, needs: &mut Needs) -> (String, bool) {
    needs.note(
        "a struct, array or map column is tested as its JSON text, which has the table's \
         lowercase keys in DDL order and nulls for absent fields, not the log's text"
            .to_owned(),
    );
    let json = format!("json_format(CAST({expr} AS JSON))");
    match ty {
        Ty::Array(elem) => {
            let v = scope.var("v");
            let t = match elem.as_ref() {
                Ty::Varchar | Ty::TextOf(_) | Ty::Json => v.clone(),
                Ty::Scalar(_) => format!("CAST({v} AS VARCHAR)"),
                _ => format!("json_format(CAST({v} AS JSON))"),
            };
            (
                format!("concat(ARRAY[{json}], transform({expr}, {v} -> {t}))"),
                true,
            )
        }
        _ => (json, false),
    }
}

/// The name of the `events` column holding a JSON field's texts.
fn derived_name(field: &str) -> String {
    quoted_ident(field)
}

/// The `ARRAY(VARCHAR)` of texts of every value a JSON field reaches, arrays also as their
/// elements.
fn json_any_texts(doc: &str, keys: &[String]) -> String {
    format!(
        "transform({}, j -> {})",
        json_values(doc, keys).with_elements(),
        json_text("j")
    )
}

type TextTest<'t> = dyn FnMut(&mut Render, &str) -> Result<String, Diagnostic> + 't;

/// Renders one predicate.
struct Render<'n> {
    schema: &'static Schema,
    scope: Scope,
    needs: &'n mut Needs,
    /// How many per-element conditions enclose the predicate (its paths are relative to the
    /// innermost element when not 0).
    depth: usize,
}

impl Render<'_> {
    fn resolve(&mut self, field: &FieldPath) -> Result<Access, Diagnostic> {
        self.needs.field(field.to_string());
        resolve(self.schema, field, &mut self.scope)
    }

    fn subject(&mut self, s: &Subject) -> Result<Access, Diagnostic> {
        match s {
            Subject::Field(p) => self.resolve(p),
            Subject::Anywhere => Ok(Access::Json {
                doc: String::new(),
                keys: Vec::new(),
                field: ALL_VALUES.to_owned(),
                top: true,
            }),
        }
    }

    /// "Some value's text passes `test`" (a value that is an array also counts as its elements).
    fn any_text(&mut self, acc: &Access, test: &mut TextTest) -> Result<String, Diagnostic> {
        match acc {
            Access::Scalar { text, .. } => test(self, text),
            Access::Whole { expr, ty } => {
                let (texts, list) = whole_texts(expr, ty, &mut self.scope, self.needs);
                if list {
                    let v = self.scope.var("v");
                    Ok(format!("any_match({texts}, {v} -> {})", test(self, &v)?))
                } else {
                    test(self, &texts)
                }
            }
            Access::Each { array, var, inner } => Ok(format!(
                "any_match({array}, {var} -> {})",
                self.any_text(inner, test)?
            )),
            Access::Json {
                doc,
                keys,
                field,
                top,
            } => {
                let list = if *top {
                    derived_name(field)
                } else {
                    json_any_texts(doc, keys)
                };
                let v = self.scope.var("v");
                Ok(format!("any_match({list}, {v} -> {})", test(self, &v)?))
            }
        }
    }

    /// "Some value is present and not null".
    fn exists(&mut self, acc: &Access) -> String {
        match acc {
            Access::Scalar { expr, .. } | Access::Whole { expr, .. } => {
                format!("{expr} IS NOT NULL")
            }
            Access::Each { array, var, inner } => {
                format!("any_match({array}, {var} -> {})", self.exists(inner))
            }
            Access::Json {
                doc,
                keys,
                field,
                top,
            } => {
                let list = if *top {
                    derived_name(field)
                } else {
                    json_any_texts(doc, keys)
                };
                let v = self.scope.var("v");
                format!("any_match({list}, {v} -> {v} IS NOT NULL)")
            }
        }
    }

    fn predicate(&mut self, p: &Predicate) -> Result<String, Diagnostic> {
        if p.quantifier != Quantifier::Any {
            return self.python_predicate(p);
        }
        if self.depth > 0 {
            return Err(typed::sigma_in_element());
        }
        if typed::is_typed(&p.test) {
            return self.typed_any(p);
        }
        let acc = self.subject(&p.subject)?;
        match &p.test {
            Test::Exists => Ok(self.exists(&acc)),
            Test::Null => Ok(match &acc {
                Access::Scalar { expr, .. } | Access::Whole { expr, .. } => {
                    format!("{expr} IS NULL")
                }
                _ => format!("NOT COALESCE({}, FALSE)", self.exists(&acc)),
            }),
            _ => {
                let test = p.test.clone();
                self.any_text(&acc, &mut |r, t| {
                    r.value_tests(t, std::slice::from_ref(&test))
                })
            }
        }
    }

    /// "The text `t` passes one of `tests`": equality tests with the same folding become one
    /// `IN` list.
    fn value_tests(&mut self, t: &str, tests: &[Test]) -> Result<String, Diagnostic> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        let mut others: Vec<String> = Vec::new();
        for test in tests {
            if let Test::Text { pattern, cased } = test {
                let (lhs, pattern) = folded(t, pattern, *cased);
                if let Shape::Exact(s) = pattern.shape() {
                    match groups.iter_mut().find(|(l, _)| *l == lhs) {
                        Some((_, lits)) => lits.push(lit(s)),
                        None => groups.push((lhs, vec![lit(s)])),
                    }
                    continue;
                }
            }
            others.push(self.value_test(t, test)?);
        }
        let mut parts: Vec<String> = groups
            .into_iter()
            .map(|(lhs, lits)| match lits.as_slice() {
                [one] => format!("{lhs} = {one}"),
                _ => format!("{lhs} IN ({})", lits.join(", ")),
            })
            .collect();
        parts.extend(others);
        Ok(match parts.len() {
            1 => parts.remove(0),
            _ => format!("({})", parts.join(" OR ")),
        })
    }

    /// "The text `t` passes `test`".
    fn value_test(&mut self, t: &str, test: &Test) -> Result<String, Diagnostic> {
        match test {
            Test::Text { pattern, cased } => Ok(text_test(t, pattern, *cased)),
            Test::Regex { regex, flags } => Ok(format!(
                "regexp_like({t}, {})",
                lit(&format!("{}{regex}", flags.inline_prefix()))
            )),
            Test::Cidr(c) => Ok(cidr_test(t, c)),
            Test::Compare { op, value } => Ok(compare_test(t, *op, value)),
            Test::FieldRef {
                other,
                anchor,
                cased,
                before,
                after,
            } => {
                let theirs = self.resolve(other)?;
                let (anchor, cased) = (*anchor, *cased);
                self.any_text(&theirs, &mut |_, b| {
                    Ok(fieldref_test(t, &affixed(b, before, after), anchor, cased))
                })
            }
            // Python-style tests come with Python-style quantifiers; under Sigma's any-value
            // reading the table's texts have lost the JSON types they need.
            other => Err(Diagnostic::unsupported(
                "athena",
                format!(
                    "the '{}' test on every value a Sigma-style path reaches",
                    test_name(other)
                ),
            )),
        }
    }
}

/// A test's name as the IR spells it (for messages).
fn test_name(t: &Test) -> String {
    match serde_json::to_value(t) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(m)) => m.keys().next().cloned().unwrap_or_default(),
        _ => "unknown".to_owned(),
    }
}

/// Whether a literal needs case folding (it has a character with case), and whether ASCII
/// folding is all it needs.
fn folding(pattern: &Pattern) -> (bool, bool) {
    let mut any = false;
    let mut ascii = true;
    for p in &pattern.0 {
        if let Part::Lit(s) = p {
            for c in s.chars() {
                let cased = c.is_alphabetic()
                    || c.to_lowercase().ne(std::iter::once(c))
                    || c.to_uppercase().ne(std::iter::once(c));
                if cased {
                    any = true;
                    ascii &= c.is_ascii();
                }
            }
        }
    }
    (any, ascii)
}

/// ASCII-only case folding of an SQL text expression.
fn ascii_fold(t: &str) -> String {
    format!("translate({t}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')")
}

/// A LIKE pattern: `%` and `_` for wildcards, and `%`, `_`, `\` escaped with `\`.
fn like_pattern(p: &Pattern) -> String {
    let mut out = String::new();
    for part in &p.0 {
        match part {
            Part::Lit(s) => {
                for c in s.chars() {
                    if matches!(c, '%' | '_' | '\\') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Part::AnyRun => out.push('%'),
            Part::OneChar => out.push('_'),
        }
    }
    out
}

/// The text `t` and the pattern, both folded as the match needs: not at all when cased or the
/// literal has no letter, `lower()` when its letters are ASCII, ASCII-only `translate()` else.
fn folded(t: &str, pattern: &Pattern, cased: bool) -> (String, Pattern) {
    let (needs_fold, ascii) = folding(pattern);
    if cased || !needs_fold {
        (t.to_owned(), pattern.clone())
    } else if ascii {
        (format!("lower({t})"), pattern.ascii_lowercase())
    } else {
        (ascii_fold(t), pattern.ascii_lowercase())
    }
}

/// Whole-text wildcard match of the SQL text `t`.
fn text_test(t: &str, pattern: &Pattern, cased: bool) -> String {
    let (t, pattern) = folded(t, pattern, cased);
    match pattern.shape() {
        Shape::Exact(s) => format!("{t} = {}", lit(s)),
        Shape::Anything => format!("{t} IS NOT NULL"),
        _ => format!("{t} LIKE {} ESCAPE '\\'", lit(&like_pattern(&pattern))),
    }
}

/// The text is an IP address inside the network. Trino stores IPv4 as IPv4-mapped IPv6, so the
/// family is checked from the text (the evaluator never mixes families).
fn cidr_test(t: &str, c: &Cidr) -> String {
    let family = if c.addr.is_ipv4() {
        format!("strpos({t}, ':') = 0")
    } else {
        format!("strpos({t}, ':') > 0")
    };
    format!(
        "({family} AND contains({}, TRY_CAST({t} AS IPADDRESS)))",
        lit(&c.to_string())
    )
}

/// The text is a JSON number literal, compared as a double.
fn compare_test(t: &str, op: CompareOp, n: &Number) -> String {
    let num = if n.text.len() <= 18 && !n.text.contains(['e', 'E']) {
        n.text.clone()
    } else {
        format!("{:e}", n.value)
    };
    format!(
        "(regexp_like({t}, '\\A-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?\\z') AND TRY_CAST({t} AS DOUBLE) {} {num})",
        op.symbol()
    )
}

/// `b` with literal text before and after it (`concat('/', b)`), or `b` itself.
fn affixed(b: &str, before: &str, after: &str) -> String {
    if before.is_empty() && after.is_empty() {
        return b.to_owned();
    }
    let mut parts = Vec::new();
    if !before.is_empty() {
        parts.push(lit(before));
    }
    parts.push(b.to_owned());
    if !after.is_empty() {
        parts.push(lit(after));
    }
    format!("concat({})", parts.join(", "))
}

fn fieldref_test(a: &str, b: &str, anchor: Anchor, cased: bool) -> String {
    let (a, b) = if cased {
        (a.to_owned(), b.to_owned())
    } else {
        (format!("lower({a})"), format!("lower({b})"))
    };
    match anchor {
        Anchor::Whole => format!("{a} = {b}"),
        Anchor::Prefix => format!("starts_with({a}, {b})"),
        Anchor::Suffix => format!("starts_with(reverse({a}), reverse({b}))"),
        Anchor::Substring => format!("strpos({a}, {b}) > 0"),
    }
}

/// The SELECT item showing a field (`useridentity.arn AS "userIdentity.arn"`), or None when the
/// table has no column for it.
fn select_item(schema: &Schema, name: &str) -> Option<Value> {
    let acc = resolve(schema, &FieldPath::parse(name), &mut Scope::default()).ok()?;
    let e = display(&acc);
    Some(Value::from_safe_string(if e == ident(name) {
        e
    } else {
        format!("{e} AS {}", quoted_ident(name))
    }))
}

/// The names in order, each once.
fn unique(names: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n.as_str()) {
            out.push(n);
        }
    }
    out
}

/// What a selected field shows.
fn display(acc: &Access) -> String {
    match acc {
        Access::Scalar { expr, .. } | Access::Whole { expr, .. } => expr.clone(),
        Access::Each { array, var, inner } => {
            format!("transform({array}, {var} -> {})", display(inner))
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

impl Backend for AthenaBackend {
    fn target(&self) -> Target {
        Target::Athena
    }

    fn template(&self) -> &'static str {
        "athena/query.sql.j2"
    }

    fn extension(&self) -> &'static str {
        "sql"
    }

    fn syntax(&self) -> &'static Syntax {
        &SYNTAX
    }

    fn predicate(&self, p: &Predicate, cx: &mut RenderCx) -> Result<String, Diagnostic> {
        let settings = Settings::from(cx.opts)?;
        Render {
            schema: settings.schema,
            scope: Scope::default(),
            needs: &mut cx.needs,
            depth: cx.depth,
        }
        .predicate(p)
    }

    fn any_of(
        &self,
        subject: &Subject,
        tests: &[&Test],
        cx: &mut RenderCx,
    ) -> Option<Result<String, Diagnostic>> {
        if tests.iter().any(|t| typed::is_typed(t)) {
            // Typed tests read JSON values, not the texts an IN list compares: one each.
            return None;
        }
        let tests: Vec<Test> = tests.iter().map(|t| (*t).clone()).collect();
        let render = |cx: &mut RenderCx| -> Result<String, Diagnostic> {
            let settings = Settings::from(cx.opts)?;
            if cx.depth > 0 {
                return Err(typed::sigma_in_element());
            }
            let mut r = Render {
                schema: settings.schema,
                scope: Scope::default(),
                needs: &mut cx.needs,
                depth: cx.depth,
            };
            let acc = r.subject(subject)?;
            r.any_text(&acc, &mut |r, t| r.value_tests(t, &tests))
        };
        Some(render(cx))
    }

    fn elements(
        &self,
        el: &crate::ir::Elements,
        cx: &mut RenderCx,
    ) -> Result<(String, String), Diagnostic> {
        let settings = Settings::from(cx.opts)?;
        Render {
            schema: settings.schema,
            scope: Scope::default(),
            needs: &mut cx.needs,
            depth: cx.depth,
        }
        .elements_frame(el)
    }

    fn frame(&self, rule: &Rule, cx: &RenderCx) -> Result<Vec<(&'static str, Value)>, Diagnostic> {
        let s = Settings::from(cx.opts)?;
        let schema = s.schema;
        let def = schema.def;
        let mut scope = Scope::default();

        // The `events` block: one column per JSON field the condition tests, and the row's
        // every value when it has keywords.
        let mut derived: Vec<(String, String)> = Vec::new();
        let mut keywords = false;
        for p in rule.condition.predicates() {
            // Python-style and typed tests read their values inline.
            if p.quantifier != Quantifier::Any || typed::is_typed(&p.test) {
                continue;
            }
            let mut fields = Vec::new();
            match &p.subject {
                Subject::Anywhere => keywords = true,
                Subject::Field(f) => fields.push(f),
            }
            if let Test::FieldRef { other, .. } = &p.test {
                fields.push(other);
            }
            for field in fields {
                if let Access::Json {
                    doc,
                    keys,
                    field: name,
                    top: true,
                } = resolve(schema, field, &mut scope)?
                {
                    if derived.iter().any(|(n, _)| *n == name) {
                        continue;
                    }
                    if let Some((n, _)) =
                        derived.iter().find(|(n, _)| n.eq_ignore_ascii_case(&name))
                    {
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
            .map(|(name, e)| Value::from_safe_string(format!("{e} AS {}", derived_name(name))))
            .collect();
        if keywords {
            block.push(Value::from_safe_string(format!(
                "{} AS {}",
                all_values(schema),
                quoted_ident(ALL_VALUES)
            )));
        }

        // Selected columns: the rule's `fields`; one the table has no column for changes what is
        // shown, not what matches, so it is left out with a warning in the header. Without
        // `fields` (or when none of them has a column): a default set plus what the rule tests.
        let mut columns = Vec::new();
        let mut warnings = Vec::new();
        for name in unique(&rule.meta.fields) {
            match select_item(schema, name) {
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
                .chain(cx.needs.fields.iter().cloned())
                .collect();
            columns = unique(&defaults)
                .into_iter()
                .filter_map(|name| select_item(schema, name))
                .collect();
        }

        // Time: the partition predicate first (it prunes), then the precise bound.
        let time = resolve(schema, &FieldPath::parse(def.time_field), &mut scope)?;
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
                let bound = |secs: i64| match def.time_kind {
                    TimeKind::IsoText => lit(&window::iso(secs)),
                    TimeKind::Timestamp => {
                        format!("from_iso8601_timestamp({})", lit(&window::iso(secs)))
                    }
                };
                if let Some(a) = w.since {
                    window.push(format!("{time_expr} >= {}", bound(a)));
                }
                if let Some(b) = w.until {
                    window.push(format!("{time_expr} < {}", bound(b)));
                }
            }
            None => warnings.push(
                "no time window (--since/--until): Athena reads every partition of the table"
                    .to_owned(),
            ),
        }

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

    fn comment(&self, text: &str) -> String {
        // A `--` comment ends at a line break; Trino's lexer knows only \r and \n, editors a few
        // more. Every control character becomes a space.
        text.chars()
            .map(|c| {
                if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') {
                    ' '
                } else {
                    c
                }
            })
            .collect()
    }
}
