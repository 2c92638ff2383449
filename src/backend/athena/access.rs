//! Where a rule field's values are in a row: a field path resolved against the table schema to a
//! scalar column or struct field, a whole struct/array/map, every element of an array column, or
//! a key path inside a JSON-string column ([`Access`]); and the SQL that reads values out of JSON
//! documents (`json_extract` paths, arrays crossed on the way, value texts).

use super::schema::{self, Schema, Ty};
use super::sql::{ident, lit, quoted_ident, RESERVED};
use crate::backend::Needs;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::FieldPath;

/// The CTE column that holds every scalar of a row, for keywords.
pub(super) const ALL_VALUES: &str = "all values";

/// A JSON path (Trino's `json_extract` syntax) for object keys.
pub(super) fn json_path(keys: &[String]) -> String {
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
pub(super) fn index_like(key: &str) -> bool {
    let digits = key.strip_prefix(['+', '-']).unwrap_or(key);
    !digits.is_empty() && digits.chars().all(char::is_numeric)
}

/// `json_extract(doc, '$.key')`. A key that reads as an index would index into an array, so on a
/// value that may be an array it is guarded.
pub(super) fn json_member(doc: &str, key: &str, maybe_array: bool) -> String {
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
pub(super) enum JsonList {
    One(String),
    Many(String),
}

impl JsonList {
    /// The values as one `ARRAY<JSON>` expression.
    pub(super) fn array(&self) -> String {
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
    pub(super) fn with_elements(&self) -> String {
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
pub(super) fn json_values(doc: &str, keys: &[String]) -> JsonList {
    let Some((first, rest)) = keys.split_first() else {
        return JsonList::One(format!("json_parse({doc})"));
    };
    let mut list = JsonList::One(json_member(doc, first, false));
    for k in rest {
        list = JsonList::Many(format!(
            "transform({}, e -> {})",
            list.cross(),
            json_member("e", k, true)
        ));
    }
    list
}

/// The text of a JSON value: a string's contents, a number's or boolean's JSON text, an object's
/// or array's compact JSON; NULL for JSON null.
pub(super) fn json_text(j: &str) -> String {
    format!("COALESCE(json_extract_scalar({j}, '$'), NULLIF(json_format({j}), 'null'))")
}

/// The lambda names in use while one predicate renders.
#[derive(Default)]
pub(super) struct Scope {
    used: Vec<String>,
}

impl Scope {
    /// A fresh lambda parameter named after `hint`'s first letter (`r` for resources).
    pub(super) fn var(&mut self, hint: &str) -> String {
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
pub(super) enum Access {
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

/// A field the table cannot hold: `msg` with the schema and where its columns come from.
fn not_in_schema(schema: &Schema, msg: String) -> Diagnostic {
    Diagnostic::new(
        Code::Unsupported,
        format!(
            "{msg}: the {} table cannot hold it (columns from {}); it is unsupported by athena",
            schema.def.name, schema.def.ddl_path
        ),
    )
}

/// Look a rule field up in the schema. A field name with a hidden character (a control,
/// bidirectional or other invisible format character) is refused: its name is also a column name
/// of the query (`AS "requestParameters.x"`), and a quoted identifier has no escapes.
pub(super) fn resolve(
    schema: &Schema,
    field: &FieldPath,
    scope: &mut Scope,
) -> Result<Access, Diagnostic> {
    let shown = field.to_string();
    if shown.chars().any(crate::escape::is_hidden) {
        return Err(Diagnostic::unsupported(
            "athena",
            format!(
                "the field name {shown:?} (a control or invisible format character cannot be \
                 written in a column name)"
            ),
        ));
    }
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
    walk_path(
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

/// Resolve the rest of a field path (`rest`) from `expr`, a value of type `ty`: struct fields by
/// dot access, map keys by `element_at`, every element of an array, or a key path inside a
/// JSON-string column. `shown` is the rule field and `at` the path walked so far (for messages);
/// `top` is false once an array was crossed.
#[allow(clippy::too_many_arguments)]
pub(super) fn walk_path(
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
            walk_path(
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
            let inner = walk_path(schema, shown, var.clone(), elem, rest, at, false, scope)?;
            Ok(Access::Each {
                array: expr,
                var,
                inner: Box::new(inner),
            })
        }
        Ty::Map(v) => walk_path(
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
pub(super) fn whole_texts(
    expr: &str,
    ty: &Ty,
    scope: &mut Scope,
    needs: &mut Needs,
) -> (String, bool) {
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

/// `acc` read by its documented shape: a field inside a JSON-string column of the row (not inside
/// an array element) that the CloudTrail shape table calls a scalar is read inline as one value,
/// `json_extract_scalar(doc, '$.path')` (NULL for a list or an object, as the evaluator's
/// documented-shape reading has it); any other access is left as it is.
pub(super) fn by_shape(acc: Access, field: &FieldPath) -> Access {
    match acc {
        Access::Json {
            doc,
            keys,
            top: true,
            ..
        } if !keys.is_empty() && crate::cloudtrail::documented_scalar(field.segments()) => {
            let expr = format!("json_extract_scalar({doc}, {})", lit(&json_path(&keys)));
            Access::Scalar {
                text: expr.clone(),
                expr,
                ty: Ty::Varchar,
            }
        }
        other => other,
    }
}

/// The name of the `events` column holding a JSON field's texts.
pub(super) fn events_column(field: &str) -> String {
    quoted_ident(field)
}

/// The `ARRAY(VARCHAR)` of texts of every value a JSON field reaches, arrays also as their
/// elements.
pub(super) fn json_any_texts(doc: &str, keys: &[String]) -> String {
    format!(
        "transform({}, j -> {})",
        json_values(doc, keys).with_elements(),
        json_text("j")
    )
}
