//! The values a predicate reads, as calls to the filter's `rc_` helper definitions (which the
//! template prints for the helpers a condition needs): a path's values with arrays crossed
//! (Sigma), the one value through objects only (Python's `deep_get`), every scalar (keywords),
//! and the text a string test sees.

use super::lit;
use crate::backend::Needs;
use crate::ir::{FieldPath, Quantifier, Subject};

/// A path as a jq array literal: `["requestParameters","userName"]`.
fn path_literal(p: &FieldPath) -> String {
    format!(
        "[{}]",
        p.segments()
            .iter()
            .map(|s| lit(s))
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// The values a path reaches, arrays crossed element-wise (Sigma): `rc_at([...])`.
fn crossed_values(p: &FieldPath, needs: &mut Needs) -> String {
    needs.helpers.insert("get");
    needs.helpers.insert("at");
    format!("rc_at({})", path_literal(p))
}

/// The one value a path reaches through objects only (Python `deep_get`): `rc_one([...])`.
pub(super) fn object_value(p: &FieldPath, needs: &mut Needs) -> String {
    if p.segments().is_empty() {
        // An element itself (inside a per-element condition).
        return ".".to_owned();
    }
    needs.helpers.insert("key");
    needs.helpers.insert("one");
    format!("rc_one({})", path_literal(p))
}

/// jq's keywords, which `.name` cannot spell in jq 1.6.
const KEYWORDS: &[&str] = &[
    "and", "or", "not", "if", "then", "elif", "else", "end", "as", "def", "reduce", "foreach",
    "try", "catch", "label", "import", "include", "__loc__",
];

/// A path read directly through objects, `.eventName?` or `.userIdentity?.arn?` (`.["x-y"]?`,
/// `.a?["x-y"]?` for a key jq cannot spell after a dot): the value when every step is an object (null when a key
/// is missing), nothing when a step is a string, number, Boolean or list. Where only non-null
/// values count (`select(. != null)`, `. == null`, `. != null`), it reads exactly what
/// `rc_one([...])` reads (which gives nothing for a missing key), without the helper. None for
/// the empty path (an element itself).
pub(super) fn direct_key(p: &FieldPath) -> Option<String> {
    if p.segments().is_empty() {
        return None;
    }
    let mut out = String::new();
    for key in p.segments() {
        let plain = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !KEYWORDS.contains(&key.as_str());
        if plain {
            out.push('.');
            out.push_str(key);
        } else if out.is_empty() {
            out.push_str(&format!(".[{}]", lit(key)));
        } else {
            // jq 1.6 reads `.a?["x"]`, not `.a?.["x"]` (1.7 reads both).
            out.push_str(&format!("[{}]", lit(key)));
        }
        out.push('?');
    }
    Some(out)
}

/// The one value Python's reading reaches through objects: read directly where jq can spell the
/// path ([`direct_key`]), else with `rc_one`.
fn exact_value(p: &FieldPath, needs: &mut Needs) -> String {
    direct_key(p).unwrap_or_else(|| object_value(p, needs))
}

/// The non-null values a subject reaches: for [`Quantifier::Any`] a path's values (arrays also as
/// their elements, `rc_vals`), for [`Quantifier::Exact`] the one value through objects only;
/// every scalar for a keyword.
pub(super) fn tested_values(subject: &Subject, q: Quantifier, needs: &mut Needs) -> String {
    match subject {
        Subject::Field(p) if q == Quantifier::Any => {
            for h in ["get", "at", "leaves", "vals"] {
                needs.helpers.insert(h);
            }
            format!("rc_vals({})", path_literal(p))
        }
        Subject::Field(p) => exact_value(p, needs),
        Subject::Anywhere => {
            needs.helpers.insert("scalars");
            "rc_scalars".to_owned()
        }
    }
}

/// The raw values a path reaches (for null and presence tests).
pub(super) fn raw_values(subject: &Subject, q: Quantifier, needs: &mut Needs) -> String {
    match subject {
        Subject::Field(p) if q == Quantifier::Any => crossed_values(p, needs),
        Subject::Field(p) => exact_value(p, needs),
        Subject::Anywhere => {
            needs.helpers.insert("scalars");
            "rc_scalars".to_owned()
        }
    }
}

/// The text transform a string test sees: `rc_text`, ASCII-folded unless cased.
pub(super) fn text_filter(fold: bool, needs: &mut Needs) -> &'static str {
    needs.helpers.insert("text");
    if fold {
        needs.helpers.insert("lower");
        "rc_lower"
    } else {
        "rc_text"
    }
}
