//! Python-style tests (Panther): `==` ([`Test::Is`]), string-only matches ([`Test::Str`]),
//! truthiness, JSON type checks and key presence, on the one value Python's reading reaches. Logs
//! Insights keeps no JSON types, so where a test needs one it is read from `@message`.

use crate::diagnostic::Diagnostic;
use crate::ir::{FieldPath, Number, Shape, Test};

use super::predicate::Renderer;
use super::quote::{number_text, pattern_literals, quote, regex_literal, Case};
use super::SYNTAX;
use crate::cloudtrail::Kind;

/// The note of a query with a Python-style test that Logs Insights' lack of JSON types blurs.
const TYPES_NOTE: &str = "Logs Insights keeps no JSON types: in Python-style tests a string that \
    spells a number is not told apart from the number (nor \"1\"/\"0\" from true/false), and a \
    string type check only tests that the field is present";

/// The note of a query that reads a value's JSON type from `@message`.
const TYPED_NOTE: &str = "Logs Insights keeps no JSON types: where a Python-style test needs one \
    (a string, not a number with the same text), it is read from @message after the field's key, \
    where another value with the same key can stand in for it";

/// The first character of a JSON string token.
const STRING_TOKEN: &str = r"\x22";
/// The first character of a JSON number or Boolean token.
const BARE_TOKEN: &str = r"[-0-9tf]";

/// The note of a query with a truthiness test.
const TRUTHY_NOTE: &str = "truthiness: a field is false when missing, null, \"\", 0 or false; \
    Logs Insights also reads the string \"0\" as 0";

/// A JSON number literal, whole.
const JSON_NUMBER: &str = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$";

impl Renderer<'_> {
    /// `atom`, and the JSON type of the value at `path` read from `@message` (the token after its
    /// key starts with `token`), which fields do not keep. Not for a list element itself.
    pub(super) fn with_json_type(&mut self, path: &FieldPath, atom: String, token: &str) -> String {
        if self.scope.is_some() && path.segments().is_empty() {
            self.types_note();
            return atom;
        }
        let (key, _, _) = self.key_regex(path);
        self.needs.note(TYPED_NOTE.to_owned());
        format!("({atom} and @message =~ /{key}\\s*:\\s*{token}/)")
    }

    /// Note that JSON types are not told apart.
    fn types_note(&mut self) {
        self.needs.note(TYPES_NOTE.to_owned());
    }

    /// A Python-style test (Panther `==`, string methods, truthiness, types, keys) on the one value
    /// Python's reading reaches.
    pub(super) fn python_test(
        &mut self,
        path: &FieldPath,
        test: &Test,
    ) -> Result<String, Diagnostic> {
        let f = if self.reachable(path) {
            self.field_names(path, false)?.pop()
        } else {
            return Ok(SYNTAX.false_.to_owned());
        };
        let kind = self.container(path);
        let none = || Ok(SYNTAX.false_.to_owned());
        if self.object_element(path) {
            // An element of a list of objects (see SHAPES), which is no field.
            match test {
                Test::Type(crate::ir::JsonType::Object) => return Ok(SYNTAX.true_.to_owned()),
                Test::Type(_) | Test::Is(_) | Test::Str { .. } => return none(),
                Test::Truthy => return Err(Diagnostic::unsupported(
                    "cloudwatch",
                    "the truthiness of a list element that is an object (elements are not fields)",
                )),
                _ => {}
            }
        }
        match test {
            Test::Is(v) => {
                let Some(f) = f else { return none() };
                self.python_equals(path, &f, v)
            }
            Test::Str { pattern, fold } => {
                let Some(f) = f else { return none() };
                let number_chars = |l: &str| l.chars().all(|c| "0123456789.-+eE".contains(c));
                let atom = if pattern.shape() == Shape::Anything {
                    format!("ispresent({f})")
                } else {
                    Self::disjunction(self.text_atoms(&f, pattern, *fold))
                };
                Ok(if pattern_literals(pattern).all(number_chars) {
                    // Only a string may match, and a number's text could.
                    self.with_json_type(path, atom, STRING_TOKEN)
                } else {
                    atom
                })
            }
            Test::Truthy => {
                // A non-empty object or list, seen in @message; a truthy scalar, as a field.
                let mut atoms = Vec::new();
                if kind.is_some() {
                    atoms.push(self.after_key(path, r"(?:\{\s*[^\s}]|\[\s*[^\s\]])"));
                }
                if let Some(f) = f {
                    self.needs.note(TRUTHY_NOTE.to_owned());
                    atoms.push(format!("(ispresent({f}) and {f} != \"\" and {f} != 0)"));
                }
                Ok(Self::disjunction(atoms))
            }
            Test::Type(t) => {
                use crate::ir::JsonType;
                match (t, f) {
                    (JsonType::Object, _) => Ok(self.after_key(path, r"\{")),
                    (JsonType::Array, _) => Ok(self.after_key(path, r"\[")),
                    (_, None) => none(),
                    (JsonType::String, Some(f)) => {
                        Ok(self.with_json_type(path, format!("ispresent({f})"), STRING_TOKEN))
                    }
                    (JsonType::Number, Some(f)) => Ok(self.with_json_type(
                        path,
                        format!("({f} =~ /{JSON_NUMBER}/)"),
                        "-?[0-9]",
                    )),
                    (JsonType::Boolean, Some(f)) => {
                        Ok(self.with_json_type(path, format!("({f} in [0, 1])"), "(?:true|false)"))
                    }
                }
            }
            Test::HasKey(k) => {
                if matches!(kind, Some(Kind::List(_))) {
                    return none();
                }
                let mut child = path.segments().to_vec();
                child.push(k.clone());
                let child = FieldPath::new(child);
                let mut atoms = self.field_names(&child, false)?;
                atoms
                    .iter_mut()
                    .for_each(|a| *a = format!("ispresent({a})"));
                // A key whose value is null, an object or a list is no field: look in @message.
                atoms.push(self.after_key(&child, r"(?:null|\{|\[)"));
                Ok(Self::disjunction(atoms))
            }
            _ => Err(Diagnostic::unsupported("cloudwatch", test.describe())),
        }
    }

    /// Python's `==` of the value at `path`, whose field is `f`, with the JSON value `v`: the
    /// field's text, and the JSON type from `@message` where the text alone would not tell it.
    fn python_equals(
        &mut self,
        path: &FieldPath,
        f: &str,
        v: &serde_json::Value,
    ) -> Result<String, Diagnostic> {
        match v {
            serde_json::Value::String(s) => {
                let atom = match quote(s) {
                    Some(q) => format!("({f} = {q})"),
                    None => format!("({f} =~ /^{}$/)", regex_literal(s, Case::Exact)),
                };
                Ok(if crate::eval::is_json_number(s) {
                    // A number (or true/false) has the same text as a field.
                    self.with_json_type(path, atom, STRING_TOKEN)
                } else {
                    atom
                })
            }
            serde_json::Value::Number(n) => {
                let text = match n.as_i64() {
                    Some(i) if i.unsigned_abs() < 1_000_000_000_000_000 => i.to_string(),
                    _ => number_text(&Number {
                        value: n.as_f64().unwrap_or(f64::NAN),
                        text: n.to_string(),
                    }),
                };
                Ok(self.with_json_type(path, format!("({f} = {text})"), BARE_TOKEN))
            }
            serde_json::Value::Bool(b) => {
                Ok(self.with_json_type(path, format!("({f} = {})", u8::from(*b)), BARE_TOKEN))
            }
            other => Err(Diagnostic::unsupported(
                "cloudwatch",
                format!("a Python == with {other} (only strings, numbers and booleans are fields)"),
            )),
        }
    }
}
