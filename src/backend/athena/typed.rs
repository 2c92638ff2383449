//! Typed tests and one-value predicates, rendered from the JSON types the table can tell, with the
//! reference evaluator's meaning. These come from Panther (Python) rules, but nothing here reads
//! Python: it renders the IR's typed tests `Is`, `Str`, `Truthy`, `Type`, `HasKey` (also under
//! Sigma's any-value reading, which Panther's `deep_walk()` uses), every test under the `Exact`
//! quantifier (the one value a path reaches through objects), and conditions on each element of
//! an array ([`Elements`]).
//!
//! These tests need a value's JSON type, so each value is read with what the table keeps of it:
//! - inside a JSON-string column (`requestParameters.a.b`), the typed JSON value
//!   `json_extract(requestparameters, '$.a.b')` (SQL NULL when missing, JSON `null` when null);
//!   its type is the first character of `json_format` (`"`, `{`, `[`, `t`/`f`, `n`, else a
//!   number);
//! - a struct field or scalar column, by its DDL type: `STRING` holds a JSON string,
//!   `STRING COMMENT 'boolean'`/`'number'` the text of a JSON boolean/number (`readOnly`),
//!   `BOOLEAN` a boolean, integer and floating types a number, `STRUCT`/`MAP` an object, `ARRAY`
//!   an array; SQL NULL is a missing key, or for a column the DDL marks `nullable` a missing key
//!   or a null (the table cannot tell them apart).
//!
//! What the table cannot tell is refused (`E401`) rather than guessed: `== None` on a column,
//! `"k" in` an object whose `k` is `nullable`, the truthiness of a struct, map or the whole
//! record (an empty object and one whose keys the DDL lacks both read as all-NULL fields), the
//! text of a floating, struct, array, map or other-typed column, and any typed test on a column
//! the Security Lake field map converted (an OCSF `BOOLEAN` or `TIMESTAMP` is not the record's
//! JSON value).

use serde_json::Value as J;

use super::access::{
    index_like, json_member, json_path, json_text, json_values, walk_path, Access,
};
use super::predicate::{affixed, cidr_test, compare_test, PredicateRenderer};
use super::schema::{self, Schema, Ty, SCHEMAS};
use super::sql::{ascii_fold, ident, like, like_pattern, like_with, lit};
use crate::diagnostic::Diagnostic;
use crate::ir::{Anchor, CompareOp, Count, Elements, FieldPath, JsonType, Number, Pattern};
use crate::ir::{Part, Predicate, Shape, Subject, Test};

/// What the table knows about a column's JSON type.
#[derive(Debug, Clone)]
enum JsonKind {
    /// `STRING`: a JSON string.
    Str,
    /// `STRING COMMENT 'boolean'`: `'true'` or `'false'`.
    BoolText,
    /// `STRING COMMENT 'number'`: a JSON number's text.
    NumText,
    /// `BOOLEAN`.
    Bool,
    /// `TINYINT` .. `BIGINT`.
    Int,
    /// `FLOAT`, `DOUBLE`, `REAL`, `DECIMAL`: a number whose text Athena prints its own way.
    Float,
    /// `STRUCT` or `MAP` (the type): an object holding only the keys the DDL names.
    Object(Ty),
    /// `ARRAY<T>`.
    Array(Ty),
    /// A type whose JSON value the table does not keep (`TIMESTAMP`, or any typed column reached
    /// through a field map, which converts the record's value): the reason.
    Opaque(String),
}

impl JsonKind {
    /// The JSON type of every non-NULL value of this kind, or None when the table lost it.
    fn json_type(&self) -> Option<JsonType> {
        Some(match self {
            JsonKind::Str => JsonType::String,
            JsonKind::BoolText | JsonKind::Bool => JsonType::Boolean,
            JsonKind::NumText | JsonKind::Int | JsonKind::Float => JsonType::Number,
            JsonKind::Object(_) => JsonType::Object,
            JsonKind::Array(_) => JsonType::Array,
            JsonKind::Opaque(_) => return None,
        })
    }
}

/// One value, as an SQL expression with what is known of its JSON type.
#[derive(Debug, Clone)]
enum TypedValue {
    /// A path that cannot reach a value: it walks objects only and crosses an array column.
    Absent,
    /// The record itself (the empty path): an object whose keys are the columns.
    Root,
    /// An SQL `JSON` value: SQL NULL when missing; in an array element (`element`), SQL NULL is
    /// a JSON null too (Trino's `CAST(... AS ARRAY<JSON>)` keeps JSON nulls as SQL NULLs).
    Json { expr: String, element: bool },
    /// A column or struct field; SQL NULL when missing or null.
    Typed { expr: String, kind: JsonKind },
}

/// The element a per-element condition's body reads its paths from.
#[derive(Debug, Clone)]
enum ElementSource {
    /// A JSON array's element, the lambda variable `el<depth>` (SQL `JSON`).
    Json(String),
    /// An `ARRAY` column's element of this type.
    Typed(String, Ty),
    /// The path reaches no array: the condition is false and its body is never read.
    Never,
}

/// A Sigma-style (any value) test inside a per-element condition.
pub(super) fn any_value_in_element_unsupported() -> Diagnostic {
    unsupported(
        "a Sigma-style (any value) test inside a condition on each element of an array; \
         Python-style tests (exact, any_element, all_element) are supported there",
    )
}

/// A construct the Athena target refuses (`E401`).
fn unsupported(what: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::unsupported("athena", what)
}

/// The text `json_extract_scalar` gives for the JSON value `expr` (a string's text, a number's or
/// a boolean's; NULL for the rest), with `json_extract(doc, 'path')` read in one call.
fn scalar_of(expr: &str) -> String {
    let one_call = expr
        .strip_prefix("json_extract(")
        .and_then(|r| r.strip_suffix("')"))
        .and_then(|r| r.rsplit_once(", '"))
        .filter(|(doc, path)| !path.contains('\'') && !doc.contains(['(', ')', '\'', ',', ' ']));
    match one_call {
        Some((doc, path)) => format!("json_extract_scalar({doc}, '{path}')"),
        None => format!("json_extract_scalar({expr}, '$')"),
    }
}

/// Whether the text of a JSON number or boolean (which `json_extract_scalar` gives too) could pass
/// a whole-text match of `pattern`. When it cannot, a string-type guard in front of the match
/// decides nothing and is left out.
fn non_string_could_match(pattern: &[Part], fold: bool) -> bool {
    let boolean = ["true", "false"]
        .iter()
        .any(|t| crate::eval::wildcard_match(pattern, t, fold));
    // A number's text holds only digits, a sign, a point and an exponent.
    let number = pattern.iter().all(|p| match p {
        Part::Lit(s) => s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E')),
        _ => true,
    });
    boolean || number
}

/// The JSON type of a `JSON` expression, from its text's first character.
fn json_type_is(j: &str, t: JsonType) -> String {
    let f = format!("json_format({j})");
    match t {
        JsonType::String => format!("starts_with({f}, '\"')"),
        JsonType::Object => format!("starts_with({f}, '{{')"),
        JsonType::Array => format!("starts_with({f}, '[')"),
        JsonType::Boolean => format!("{f} IN ('true', 'false')"),
        JsonType::Number => format!("regexp_like({f}, '^-?[0-9]')"),
    }
}

/// A DOUBLE literal with exactly the value `v` (Rust prints the shortest text that reads back
/// as the same double).
fn double_literal(v: f64) -> String {
    format!("{v:e}")
}

/// Whole-text wildcard match of the SQL text `t`, ASCII letters folded when `fold` (with
/// `translate`, which folds nothing else, as the evaluator does).
fn wildcard_test(t: &str, pattern: &Pattern, fold: bool) -> String {
    let (t, pattern) = if fold && has_ascii_letter(pattern) {
        (ascii_fold(t), pattern.ascii_lowercase())
    } else {
        (t.to_owned(), pattern.clone())
    };
    match pattern.shape() {
        Shape::Exact(s) => format!("{t} = {}", lit(s)),
        Shape::Anything => format!("{t} IS NOT NULL"),
        _ => like(&t, &pattern),
    }
}

/// Whether a pattern has an ASCII letter (folding matters to it).
fn has_ascii_letter(pattern: &Pattern) -> bool {
    pattern
        .0
        .iter()
        .any(|p| matches!(p, crate::ir::Part::Lit(s) if s.chars().any(|c| c.is_ascii_alphabetic())))
}

/// `(a AND b)`.
fn and(a: String, b: String) -> String {
    format!("({a} AND {b})")
}

impl PredicateRenderer<'_> {
    /// The one value at `path` is a string matching one of `patterns` (ASCII letters folded
    /// when `fold`): the value read and folded once, its patterns in one
    /// `any_match(ARRAY[...], p -> t LIKE p)`, unless one match each is not much longer.
    pub(super) fn one_of_strings(
        &mut self,
        path: &FieldPath,
        fold: bool,
        patterns: &[&Pattern],
    ) -> Result<String, Diagnostic> {
        let val = self.one_value(path)?;
        let (t, guard) = match &val {
            TypedValue::Json { expr, .. } => (
                scalar_of(expr),
                patterns
                    .iter()
                    .any(|p| non_string_could_match(&p.0, fold))
                    .then(|| json_type_is(expr, JsonType::String)),
            ),
            TypedValue::Typed {
                expr,
                kind: JsonKind::Str,
            } => (expr.clone(), None),
            TypedValue::Typed {
                kind: JsonKind::Opaque(why),
                ..
            } => {
                let test = Test::Str {
                    pattern: patterns.first().map(|p| (*p).clone()).unwrap_or_default(),
                    fold,
                };
                return Err(opaque_error(&test, why));
            }
            _ => return Ok("FALSE".to_owned()),
        };
        let one_each: Vec<String> = patterns
            .iter()
            .map(|p| wildcard_test(&t, p, fold))
            .collect();
        let one_each = format!("({})", one_each.join(" OR "));
        let folded = fold && patterns.iter().any(|p| has_ascii_letter(p));
        let t = if folded { ascii_fold(&t) } else { t };
        let likes: Vec<String> = patterns
            .iter()
            .map(|p| {
                let p = if folded {
                    p.ascii_lowercase()
                } else {
                    (*p).clone()
                };
                lit(&like_pattern(&p))
            })
            .collect();
        let v = self.scope.var("p");
        let together = format!(
            "any_match(ARRAY[{}], {v} -> {})",
            likes.join(", "),
            like_with(&t, &v, likes.iter().any(|l| l.contains('\\')))
        );
        // The list form when it saves a quarter or more: two short matches read better as two.
        let test = if together.len() * 4 <= one_each.len() * 3 {
            together
        } else {
            one_each
        };
        Ok(match guard {
            Some(g) => and(g, test),
            None => test,
        })
    }

    /// A predicate under the `Exact` quantifier.
    pub(super) fn one_value_predicate(&mut self, p: &Predicate) -> Result<String, Diagnostic> {
        let val = match &p.subject {
            Subject::Field(path) => self.one_value(path)?,
            // The evaluator reads no value for a Python-style test without a field.
            Subject::Anywhere => TypedValue::Absent,
        };
        self.typed_test(&val, &p.test)
    }

    /// A typed test under Sigma's any-value reading (Panther's `deep_walk()`): some value the path
    /// reaches through objects and arrays, or an element of one, passes.
    pub(super) fn typed_any(&mut self, p: &Predicate) -> Result<String, Diagnostic> {
        let Subject::Field(path) = &p.subject else {
            return Err(unsupported(format!(
                "{} on every value of the event (no field)",
                p.test.describe()
            )));
        };
        if matches!(p.test, Test::Is(J::Null)) {
            return Err(unsupported("'== None' on every value a path reaches"));
        }
        let acc = self.resolve(path)?;
        self.typed_any_access(&acc, &p.test)
    }

    /// A typed test on every value `acc` reaches: an array column also as its elements, and
    /// inside a JSON document the values through the arrays met on the way, an array value also
    /// as its elements.
    fn typed_any_access(&mut self, acc: &Access, test: &Test) -> Result<String, Diagnostic> {
        let renamed = self.schema.def.fields.is_some();
        match acc {
            // A whole JSON-string column: the document, and its elements when it is an array.
            Access::Scalar {
                expr, ty: Ty::Json, ..
            } => self.typed_any_access(
                &Access::Json {
                    doc: expr.clone(),
                    keys: Vec::new(),
                    field: String::new(),
                    top: false,
                },
                test,
            ),
            Access::Scalar { expr, ty, .. } | Access::Whole { expr, ty } => {
                let own = self.typed_test(&column_value(expr.clone(), ty, renamed), test);
                let Ty::Array(elem) = ty else { return own };
                let own = own?;
                let x = self.scope.var("x");
                let each = self.typed_test(&column_value(x.clone(), elem, renamed), test)?;
                let each = format!("any_match({expr}, {x} -> {each})");
                Ok(if own == "FALSE" {
                    each
                } else {
                    format!("({own} OR {each})")
                })
            }
            Access::Each { array, var, inner } => Ok(format!(
                "any_match({array}, {var} -> {})",
                self.typed_any_access(inner, test)?
            )),
            Access::Json { doc, keys, .. } => {
                let list = json_values(doc, keys).with_elements();
                let j = self.scope.var("j");
                let body = self.typed_test(
                    &TypedValue::Json {
                        expr: j.clone(),
                        element: false,
                    },
                    test,
                )?;
                Ok(format!("any_match({list}, {j} -> {body})"))
            }
        }
    }

    /// The frame of a per-element condition ([`Elements`]): `any_match(arr, el1 -> ` and `)`,
    /// `all_match`, or `cardinality(filter(...)) = 1` for exactly one. The body's paths then read
    /// from the element.
    pub(super) fn elements_frame(
        &mut self,
        el: &Elements,
    ) -> Result<Option<(String, String)>, Diagnostic> {
        let val = self.one_value(&el.path)?;
        let var = format!("el{}", self.depth + 1);
        let (array, cx) = match val {
            TypedValue::Json { expr, .. } => (
                format!("TRY_CAST({expr} AS ARRAY<JSON>)"),
                ElementSource::Json(var.clone()),
            ),
            TypedValue::Typed {
                expr,
                kind: JsonKind::Array(ty),
            } => (expr, ElementSource::Typed(var.clone(), ty)),
            // Not an array, or no value: no element passes, and "every" needs an array too.
            _ => (String::new(), ElementSource::Never),
        };
        let never = matches!(cx, ElementSource::Never);
        // Slot `depth` is this condition's: the shared renderer renders its body next.
        self.elements.truncate(self.depth);
        self.elements.push(Box::new(cx));
        if never {
            return Ok(None);
        }
        Ok(Some(match el.count {
            Count::Some => (format!("any_match({array}, {var} -> "), ")".to_owned()),
            Count::Every => (format!("all_match({array}, {var} -> "), ")".to_owned()),
            Count::One => (
                format!("cardinality(filter({array}, {var} -> "),
                ")) = 1".to_owned(),
            ),
        }))
    }

    /// The one value a path reaches through objects only (Python's `deep_get`): from the row,
    /// or inside a per-element condition from the element.
    fn one_value(&mut self, path: &FieldPath) -> Result<TypedValue, Diagnostic> {
        if self.depth > 0 {
            let cx = self
                .elements
                .get(self.depth - 1)
                .and_then(|note| note.downcast_ref::<ElementSource>())
                .cloned();
            let Some(cx) = cx else {
                return Err(unsupported("a per-element condition rendered out of order"));
            };
            return self.element_value(&cx, path);
        }
        if path.segments().is_empty() {
            return Ok(TypedValue::Root);
        }
        let acc = self.resolve(path)?;
        Ok(self.access_value(acc, path))
    }

    /// The value at a path relative to an element (an empty path is the element itself).
    fn element_value(
        &mut self,
        cx: &ElementSource,
        path: &FieldPath,
    ) -> Result<TypedValue, Diagnostic> {
        let keys = path.segments();
        let renamed = self.schema.def.fields.is_some();
        Ok(match cx {
            ElementSource::Never => TypedValue::Absent,
            ElementSource::Json(var) if keys.is_empty() => TypedValue::Json {
                expr: var.clone(),
                element: true,
            },
            ElementSource::Json(var) => TypedValue::Json {
                expr: json_one_value(var, keys),
                element: false,
            },
            ElementSource::Typed(var, ty) if keys.is_empty() => {
                match column_value(var.clone(), ty, renamed) {
                    TypedValue::Json { expr, .. } => TypedValue::Json {
                        expr,
                        element: true,
                    },
                    other => other,
                }
            }
            ElementSource::Typed(var, ty) => {
                let shown = format!("(element).{path}");
                let acc = walk_path(
                    self.schema,
                    &shown,
                    var.clone(),
                    ty,
                    keys,
                    "the element",
                    false,
                    &mut self.scope,
                )?;
                self.access_value(acc, path)
            }
        })
    }

    /// A resolved field as one value.
    fn access_value(&mut self, acc: Access, path: &FieldPath) -> TypedValue {
        let renamed = self.schema.def.fields.is_some();
        match acc {
            Access::Scalar { expr, ty, .. } => column_value(expr, &ty, renamed),
            Access::Whole { expr, ty } => column_value(expr, &ty, renamed),
            Access::Each { .. } => {
                self.needs.note(format!(
                    "{path} crosses an array, which Python's object-only path reading never \
                     enters: it reaches no value"
                ));
                TypedValue::Absent
            }
            Access::Json { doc, keys, .. } => TypedValue::Json {
                expr: json_one_value(&doc, &keys),
                element: false,
            },
        }
    }

    /// One test on one value.
    fn typed_test(&mut self, val: &TypedValue, test: &Test) -> Result<String, Diagnostic> {
        if let TypedValue::Absent = val {
            // No value: only "is missing or null" holds.
            return Ok(if matches!(test, Test::Null) {
                "TRUE"
            } else {
                "FALSE"
            }
            .to_owned());
        }
        if let TypedValue::Root = val {
            return self.root_test(test);
        }
        match test {
            Test::Null => Ok(match val {
                TypedValue::Json { expr, .. } => {
                    format!("({expr} IS NULL OR json_format({expr}) = 'null')")
                }
                TypedValue::Typed { expr, .. } => format!("{expr} IS NULL"),
                TypedValue::Absent | TypedValue::Root => "TRUE".to_owned(),
            }),
            Test::Exists => Ok(match val {
                TypedValue::Json { expr, .. } => format!("json_format({expr}) <> 'null'"),
                TypedValue::Typed { expr, .. } => format!("{expr} IS NOT NULL"),
                TypedValue::Absent | TypedValue::Root => "FALSE".to_owned(),
            }),
            Test::Is(v) => self.equals(val, v),
            Test::Str { pattern, fold } => Ok(match val {
                TypedValue::Json { expr, .. } => {
                    let text = wildcard_test(&scalar_of(expr), pattern, *fold);
                    if non_string_could_match(&pattern.0, *fold) {
                        and(json_type_is(expr, JsonType::String), text)
                    } else {
                        text
                    }
                }
                TypedValue::Typed {
                    expr,
                    kind: JsonKind::Str,
                } => wildcard_test(expr, pattern, *fold),
                TypedValue::Typed {
                    kind: JsonKind::Opaque(why),
                    ..
                } => return Err(opaque_error(test, why)),
                _ => "FALSE".to_owned(),
            }),
            Test::Truthy => truthy(val),
            Test::Type(t) => Ok(match val {
                TypedValue::Json { expr, .. } => json_type_is(expr, *t),
                TypedValue::Typed {
                    kind: JsonKind::Opaque(why),
                    ..
                } => return Err(opaque_error(test, why)),
                TypedValue::Typed { expr, kind } => {
                    if kind.json_type() == Some(*t) {
                        format!("{expr} IS NOT NULL")
                    } else {
                        "FALSE".to_owned()
                    }
                }
                TypedValue::Absent | TypedValue::Root => "FALSE".to_owned(),
            }),
            Test::HasKey(k) => Ok(match val {
                TypedValue::Json { expr, .. } => and(
                    json_type_is(expr, JsonType::Object),
                    format!("{} IS NOT NULL", json_member(expr, k, false)),
                ),
                TypedValue::Typed {
                    expr,
                    kind: JsonKind::Object(ty),
                } => self.has_column(Some(expr), ty, k)?,
                TypedValue::Typed {
                    kind: JsonKind::Opaque(why),
                    ..
                } => return Err(opaque_error(test, why)),
                _ => "FALSE".to_owned(),
            }),
            Test::Cidr(c) => Ok(match val {
                // Only a string is an address.
                TypedValue::Json { expr, .. } => and(
                    json_type_is(expr, JsonType::String),
                    cidr_test(&format!("json_extract_scalar({expr}, '$')"), c),
                ),
                TypedValue::Typed {
                    expr,
                    kind: JsonKind::Str,
                } => cidr_test(expr, c),
                TypedValue::Typed {
                    kind: JsonKind::Opaque(why),
                    ..
                } => return Err(opaque_error(test, why)),
                _ => "FALSE".to_owned(),
            }),
            Test::Compare { op, value } => compare_typed(val, *op, value, test),
            Test::Text { pattern, cased } => {
                let t = self.evaluator_text(val, test)?;
                Ok(wildcard_test(&t, pattern, !cased))
            }
            Test::Regex { .. } => {
                let t = self.evaluator_text(val, test)?;
                self.value_test(&t, test)
            }
            Test::FieldRef(r) => {
                let mine = self.evaluator_text(val, test)?;
                let theirs = self.one_value(&r.other)?;
                if let TypedValue::Absent = theirs {
                    return Ok("FALSE".to_owned());
                }
                let theirs = self.evaluator_text(&theirs, test)?;
                Ok(fieldref_ascii_folded(
                    &mine,
                    &affixed(&theirs, r),
                    r.anchor,
                    r.cased,
                ))
            }
        }
    }

    /// A test on the record itself (Python `"k" in event`, say).
    fn root_test(&mut self, test: &Test) -> Result<String, Diagnostic> {
        Ok(match test {
            Test::Exists | Test::Type(JsonType::Object) => "TRUE".to_owned(),
            Test::HasKey(k) if self.schema.def.fields.is_some() => {
                // Through the field map: the column the key maps to is not NULL, unless CloudTrail
                // may write the key as null.
                let record = Schema::builtin(SCHEMAS[0].name).map_err(unsupported)?;
                let root = Ty::Struct(record.columns.clone());
                self.has_column(Some("record"), &root, k)?;
                match self.resolve(&FieldPath::new(vec![k.clone()]))? {
                    Access::Scalar { expr, .. } | Access::Whole { expr, .. } => {
                        format!("{expr} IS NOT NULL")
                    }
                    _ => {
                        return Err(unsupported(format!(
                            "'{k}' in the record: the field map puts it inside another value"
                        )))
                    }
                }
            }
            Test::HasKey(k) => {
                let root = Ty::Struct(self.schema.columns.clone());
                self.has_column(None, &root, k)?
            }
            Test::Truthy => {
                return Err(unsupported(
                    "truthiness of the whole record (an empty record reads as all-NULL columns)",
                ))
            }
            Test::Regex { .. } | Test::Text { .. } | Test::FieldRef { .. } => {
                return Err(unsupported(format!(
                    "{} on the whole record (the table does not keep its JSON text)",
                    test.describe()
                )))
            }
            _ => "FALSE".to_owned(),
        })
    }

    /// `"k" in` a struct or map value (`expr`), or in the record (`None`): the field is not
    /// NULL. A NULL there is a missing key unless the DDL says the record may hold an explicit
    /// null for it (`nullable`), where the table cannot tell them apart.
    fn has_column(&mut self, expr: Option<&str>, ty: &Ty, k: &str) -> Result<String, Diagnostic> {
        let field = |name: &str| match expr {
            Some(e) => format!("{e}.{}", ident(name)),
            None => ident(name),
        };
        match ty {
            Ty::Map(_) => Ok(format!(
                "element_at({}, {}) IS NOT NULL",
                expr.unwrap_or_default(),
                lit(k)
            )),
            Ty::Struct(fields) => match schema::lookup(fields, k, self.schema.def.exact_case) {
                schema::Lookup::Found(c) if c.nullable => Err(unsupported(format!(
                    "'{k}' in an object whose '{k}' the record may hold as null (the DDL \
                         marks it nullable; the table stores a null and a missing key alike)"
                ))),
                schema::Lookup::Found(c) => Ok(format!("{} IS NOT NULL", field(&c.name))),
                _ => Err(unsupported(format!(
                    "'{k}' in an object whose DDL type has no field '{k}' (the table cannot \
                         hold it; columns from {})",
                    self.schema.def.ddl_path
                ))),
            },
            _ => Ok("FALSE".to_owned()),
        }
    }

    /// Python `==` with a scalar literal.
    fn equals(&mut self, val: &TypedValue, v: &J) -> Result<String, Diagnostic> {
        let num = match v {
            J::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            J::Number(n) => n.as_f64(),
            _ => None,
        };
        let (expr, kind) = match val {
            TypedValue::Absent | TypedValue::Root => return Ok("FALSE".to_owned()),
            TypedValue::Json { expr, element } => {
                return Ok(match (v, num) {
                    (J::Null, _) if *element => {
                        format!("COALESCE(json_format({expr}) = 'null', TRUE)")
                    }
                    (J::Null, _) => format!("json_format({expr}) = 'null'"),
                    (J::String(s), _) => {
                        let text = format!("{} = {}", scalar_of(expr), lit(s));
                        if non_string_could_match(&[Part::Lit(s.clone())], false) {
                            and(json_type_is(expr, JsonType::String), text)
                        } else {
                            text
                        }
                    }
                    (_, Some(n)) => {
                        let mut alts = vec![and(
                            json_type_is(expr, JsonType::Number),
                            format!("TRY_CAST({expr} AS DOUBLE) = {}", double_literal(n)),
                        )];
                        if n == 1.0 {
                            alts.push(format!("json_format({expr}) = 'true'"));
                        } else if n == 0.0 {
                            alts.push(format!("json_format({expr}) = 'false'"));
                        }
                        format!("({})", alts.join(" OR "))
                    }
                    _ => return Err(unsupported("'==' with an array or object literal")),
                })
            }
            TypedValue::Typed { expr, kind } => (expr, kind),
        };
        if v.is_null() {
            return Err(unsupported(
                "'== None' on a column or struct field (the table stores a missing field and a \
                 null one alike; use 'is None', which holds for both)",
            ));
        }
        if matches!(v, J::Array(_) | J::Object(_)) {
            return Err(unsupported("'==' with an array or object literal"));
        }
        // The boolean a number equals, if any (`True == 1`, `False == 0.0`).
        let as_bool = |n: f64| {
            if n == 1.0 {
                Some(true)
            } else if n == 0.0 {
                Some(false)
            } else {
                None
            }
        };
        Ok(match (kind, v, num) {
            (JsonKind::Opaque(why), _, _) => return Err(opaque_error(&Test::Is(v.clone()), why)),
            (JsonKind::Str, J::String(s), _) => format!("{expr} = {}", lit(s)),
            (JsonKind::BoolText, _, Some(n)) => match as_bool(n) {
                Some(b) => format!("{expr} = '{b}'"),
                None => "FALSE".to_owned(),
            },
            (JsonKind::NumText, _, Some(n)) => {
                format!("TRY_CAST({expr} AS DOUBLE) = {}", double_literal(n))
            }
            (JsonKind::Bool, _, Some(n)) => match as_bool(n) {
                Some(b) => format!("{expr} = {}", if b { "TRUE" } else { "FALSE" }),
                None => "FALSE".to_owned(),
            },
            (JsonKind::Int | JsonKind::Float, _, Some(n)) => {
                format!("CAST({expr} AS DOUBLE) = {}", double_literal(n))
            }
            // A string never equals a number or boolean; an object or array no scalar.
            _ => "FALSE".to_owned(),
        })
    }

    /// The text the evaluator's text tests see (a string as is, another value as compact JSON).
    fn evaluator_text(&mut self, val: &TypedValue, test: &Test) -> Result<String, Diagnostic> {
        match val {
            TypedValue::Json { expr, .. } => Ok(json_text(expr)),
            TypedValue::Typed { expr, kind } => match kind {
                JsonKind::Str | JsonKind::BoolText | JsonKind::NumText => Ok(expr.clone()),
                JsonKind::Bool | JsonKind::Int => Ok(format!("CAST({expr} AS VARCHAR)")),
                JsonKind::Float => Err(unsupported(format!(
                    "{} on a floating-point column (Athena prints it as '1.5E0', not as the log \
                     wrote it)",
                    test.describe()
                ))),
                JsonKind::Object(_) | JsonKind::Array(_) => Err(unsupported(format!(
                    "{} on a struct, array or map column under a Python-style reading (the \
                     table does not keep the record's JSON text)",
                    test.describe()
                ))),
                JsonKind::Opaque(why) => Err(opaque_error(test, why)),
            },
            // Callers answer for a missing value first.
            TypedValue::Absent => Ok("CAST(NULL AS VARCHAR)".to_owned()),
            TypedValue::Root => Err(unsupported(format!(
                "{} on the whole record (the table does not keep its JSON text)",
                test.describe()
            ))),
        }
    }
}

/// A column or struct field as a value.
fn column_value(expr: String, ty: &Ty, renamed: bool) -> TypedValue {
    let kind = match ty {
        Ty::Json => {
            return TypedValue::Json {
                expr: format!("json_extract({expr}, '$')"),
                element: false,
            }
        }
        Ty::Varchar => JsonKind::Str,
        Ty::TextOf(JsonType::Boolean) => JsonKind::BoolText,
        Ty::TextOf(JsonType::Number) => JsonKind::NumText,
        Ty::TextOf(_) => JsonKind::Str,
        Ty::Struct(_) | Ty::Map(_) => JsonKind::Object(ty.clone()),
        Ty::Array(e) => JsonKind::Array((**e).clone()),
        Ty::Scalar(name) if renamed => JsonKind::Opaque(format!(
            "the field map stores it in an OCSF {} column, which does not keep the record's \
             JSON value",
            name.to_ascii_uppercase()
        )),
        Ty::Scalar(name) => match name.as_str() {
            "boolean" => JsonKind::Bool,
            "tinyint" | "smallint" | "int" | "integer" | "bigint" => JsonKind::Int,
            "float" | "double" | "real" | "decimal" => JsonKind::Float,
            other => JsonKind::Opaque(format!(
                "a {} column does not keep the record's JSON value",
                other.to_ascii_uppercase()
            )),
        },
    };
    TypedValue::Typed { expr, kind }
}

/// A typed test on a column whose JSON value the table does not keep (`why`).
fn opaque_error(test: &Test, why: &str) -> Diagnostic {
    unsupported(format!("{} here ({why})", test.describe()))
}

/// The one value at `keys` inside the JSON text `doc`, through objects only. Trino's
/// `json_extract` reads a key on an array as an index when it parses as an integer, so such
/// keys are read one step at a time, each guarded.
fn json_one_value(doc: &str, keys: &[String]) -> String {
    let plain = keys
        .iter()
        .position(|k| index_like(k))
        .unwrap_or(keys.len());
    let (head, rest) = keys.split_at(plain);
    let mut cur = format!("json_extract({doc}, {})", lit(&json_path(head)));
    for k in rest {
        cur = json_member(&cur, k, true);
    }
    cur
}

/// Python truthiness.
fn truthy(val: &TypedValue) -> Result<String, Diagnostic> {
    Ok(match val {
        // (The record itself is answered by `root_test`.)
        TypedValue::Absent | TypedValue::Root => "FALSE".to_owned(),
        // Falsy: null, false, "", [], {} and numbers equal to zero.
        TypedValue::Json { expr, .. } => format!(
            "(json_format({expr}) NOT IN ('null', 'false', '\"\"', '[]', '{{}}') AND IF({}, TRY_CAST({expr} AS DOUBLE) <> 0e0, TRUE))",
            json_type_is(expr, JsonType::Number)
        ),
        TypedValue::Typed { expr, kind } => match kind {
            JsonKind::Str => format!("{expr} <> ''"),
            JsonKind::BoolText => format!("{expr} = 'true'"),
            JsonKind::NumText => format!("TRY_CAST({expr} AS DOUBLE) <> 0e0"),
            JsonKind::Bool => format!("{expr} = TRUE"),
            JsonKind::Int | JsonKind::Float => format!("{expr} <> 0"),
            JsonKind::Array(_) => format!("cardinality({expr}) > 0"),
            JsonKind::Object(_) => {
                return Err(unsupported(
                    "truthiness of a struct or map column (an empty object and one whose keys \
                     the DDL lacks both read as all-NULL fields)",
                ))
            }
            JsonKind::Opaque(why) => return Err(opaque_error(&Test::Truthy, why)),
        },
    })
}

/// A numeric comparison: a JSON number, or a string that is exactly one.
fn compare_typed(
    val: &TypedValue,
    op: CompareOp,
    n: &Number,
    test: &Test,
) -> Result<String, Diagnostic> {
    Ok(match val {
        TypedValue::Absent | TypedValue::Root => "FALSE".to_owned(),
        TypedValue::Json { expr, .. } => compare_test(&json_text(expr), op, n),
        TypedValue::Typed { expr, kind } => match kind {
            JsonKind::Str | JsonKind::NumText => compare_test(expr, op, n),
            JsonKind::Int | JsonKind::Float => {
                format!(
                    "CAST({expr} AS DOUBLE) {} {}",
                    op.symbol(),
                    double_literal(n.value)
                )
            }
            JsonKind::Opaque(why) => return Err(opaque_error(test, why)),
            _ => "FALSE".to_owned(),
        },
    })
}

/// Compare with another field's text, ASCII letters folded unless `cased` (as the evaluator).
fn fieldref_ascii_folded(a: &str, b: &str, anchor: Anchor, cased: bool) -> String {
    let (a, b) = if cased {
        (a.to_owned(), b.to_owned())
    } else {
        (ascii_fold(a), ascii_fold(b))
    };
    match anchor {
        Anchor::Whole => format!("{a} = {b}"),
        Anchor::Prefix => format!("starts_with({a}, {b})"),
        Anchor::Suffix => format!("starts_with(reverse({a}), reverse({b}))"),
        Anchor::Substring => format!("strpos({a}, {b}) > 0"),
    }
}
