//! Reading a Python rule by CloudTrail's documented shapes: a path the shape table
//! ([`crate::cloudtrail`]) documents as one scalar of a known JSON type holds that type whenever
//! it is present and not null (`userAgent` is a string, `readOnly` a Boolean,
//! `requestParameters.pendingWindowInDays` a number), and never a list or an object; a path it
//! documents as an object or a list by the record reference (`requestParameters`, `resources`),
//! or EC2's `items` list of objects, holds that, also inside a per-element body (whose paths are
//! read from the element). Python's value semantics make a front end spell out what every other
//! type would do (`x.endswith(s)` raises unless `x` is a string; `s in x` looks into a list, an
//! object or a string; `x < 30` compares `True` as 1); on a documented path those branches can
//! never be taken by a real record, and this pass removes them before the simplifier runs.
//!
//! It changes the meaning only for records that break the documentation (a number where
//! CloudTrail writes a string): the rule's tests, the Stratus records and
//! `scripts/cloudtrail-shapes` check that real records do not. Each rewrite below is a small
//! function with its own tests. Sigma rules do not go through this pass: their any-value reading
//! already matches the text of any scalar, and Athena's `--no-shapes` is about them.

use crate::cloudtrail::{kind, scalar_at, Elem, Kind};
use crate::ir::{Expr, FieldPath, JsonType, Predicate, Quantifier, Root, Subject, Test};

/// What the documentation says a path holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// A string, number or Boolean: of this type when known.
    Scalar(Option<JsonType>),
    /// Always an object (`userIdentity`, `requestParameters`) or always a list
    /// (`resources`, EC2's `items`).
    Container(JsonType),
}

impl Shape {
    /// The one JSON type the path holds when present, when known.
    fn known(self) -> Option<JsonType> {
        match self {
            Shape::Scalar(t) => t,
            Shape::Container(t) => Some(t),
        }
    }
}

/// What the documentation says of the path `segs` from the event, if anything.
fn documented(segs: &[String]) -> Option<Shape> {
    if segs.is_empty() {
        return None;
    }
    if let Some(t) = scalar_at(segs) {
        return Some(Shape::Scalar(t));
    }
    container(segs).map(|k| match k {
        Kind::List(_) => Shape::Container(JsonType::Array),
        _ => Shape::Container(JsonType::Object),
    })
}

/// The container at `segs`, when the record reference says what it is (`requestParameters`,
/// `resources`, the objects of `userIdentity`) or EC2's convention does (every `items` under
/// `requestParameters` or `responseElements` is a list of objects). Other per-API lists and
/// objects (S3's headers) are less sure than a per-API scalar, and reading one wrongly would make
/// a query miss what the rule catches. One-or-list paths are neither.
fn container(segs: &[String]) -> Option<Kind> {
    let record = segs.len() == 1 || segs[0] == "userIdentity";
    let ec2_items = segs.last().is_some_and(|s| s == "items");
    if !record && !ec2_items {
        return None;
    }
    kind(segs).filter(|k| !matches!(k, Kind::OneOrList(_)))
}

/// What paths start from where a condition is: the event, or inside a per-element body the
/// element of the list at these segments (from the event), or somewhere undocumented.
#[derive(Clone, Copy)]
enum Base<'a> {
    Event,
    Element(&'a [String]),
    Unknown,
}

impl Base<'_> {
    /// The segments from the event of `path` read from here, when known.
    fn absolute(self, path: &FieldPath) -> Option<Vec<String>> {
        if path.root() != Root::Event {
            return None;
        }
        match self {
            Base::Event => Some(path.segments().to_vec()),
            Base::Element(list) => Some([list, path.segments()].concat()),
            Base::Unknown => None,
        }
    }

    /// What the documentation says of `path` read from here.
    fn shape(self, path: &FieldPath) -> Option<Shape> {
        match (self, path.segments().is_empty()) {
            // The element itself: what the list holds.
            (Base::Element(list), true) if path.root() == Root::Event => match container(list)? {
                Kind::List(Elem::Object) => Some(Shape::Container(JsonType::Object)),
                Kind::List(Elem::Scalar) => Some(Shape::Scalar(None)),
                _ => None,
            },
            _ => documented(&self.absolute(path)?),
        }
    }
}

/// `e` read by the documented shapes.
pub fn assume_documented_shapes(e: &Expr) -> Expr {
    assume(e, Base::Event)
}

fn assume(e: &Expr, base: Base<'_>) -> Expr {
    match e {
        Expr::And(xs) => Expr::and(xs.iter().map(|x| assume(x, base)).collect()),
        Expr::Or(xs) => Expr::or(xs.iter().map(|x| assume(x, base)).collect()),
        Expr::Not(x) => Expr::not(assume(x, base)),
        Expr::Const(_) => e.clone(),
        Expr::Pred(p) => predicate(p, base).unwrap_or_else(|| e.clone()),
        Expr::Elements(el) => {
            let shape = base.shape(&el.path);
            if shape.is_some_and(|s| s.known() != Some(JsonType::Array)) {
                // Never an array: no element passes.
                return Expr::Const(false);
            }
            let list = base.absolute(&el.path);
            let inner = match (&list, shape) {
                (Some(list), Some(_)) => Base::Element(list),
                _ => Base::Unknown,
            };
            let mut el = el.clone();
            el.body = Box::new(assume(&el.body, inner));
            Expr::Elements(el)
        }
    }
}

/// The rewrite of an exact (Python-style) predicate on a documented path, if one applies.
fn predicate(p: &Predicate, base: Base<'_>) -> Option<Expr> {
    let (Subject::Field(path), Quantifier::Exact) = (&p.subject, p.quantifier) else {
        return None;
    };
    if let (Test::HasKey(k), Base::Event) = (&p.test, base) {
        if let Some(e) = key_never_null(p, path.child(k.clone())) {
            return Some(e);
        }
    }
    let shape = base.shape(path)?;
    if let (Base::Element(_), Shape::Container(JsonType::Object)) = (base, shape) {
        if path.segments().is_empty() {
            // An element of a list of objects is an object: never null.
            match &p.test {
                Test::Exists | Test::Type(JsonType::Object) => return Some(Expr::Const(true)),
                Test::Null => return Some(Expr::Const(false)),
                _ => {}
            }
        }
    }
    let same = |test: Test| Expr::Pred(Predicate { test, ..p.clone() });
    match (&p.test, shape.known()) {
        (Test::Type(want), _) => type_test(*want, shape, same(Test::Exists)),
        (Test::HasKey(_), known) if known != Some(JsonType::Object) => Some(Expr::Const(false)),
        (Test::Str { .. }, Some(ty)) if ty != JsonType::String => Some(Expr::Const(false)),
        (Test::Is(v), Some(ty)) => equality(v, ty),
        (Test::Truthy, Some(ty)) => truthy(ty, same(Test::Exists), same),
        _ => None,
    }
}

/// Python `"k" in x` where `x.k` is a scalar CloudTrail writes in every record that has it and
/// never as an explicit null (a top-level scalar key, `userIdentity.arn`; the Athena table's DDL
/// makes the same claim): the key is there exactly when the value is present and not null.
fn key_never_null(p: &Predicate, child: FieldPath) -> Option<Expr> {
    let dotted = child.segments().join(".");
    (child.root() == Root::Event && crate::cloudtrail::always_scalar(&dotted)).then(|| {
        Expr::Pred(Predicate {
            subject: Subject::Field(child),
            test: Test::Exists,
            ..p.clone()
        })
    })
}

/// A type test on a documented path: its own type exactly when present (`exists`), another
/// type never; a scalar of unknown type is never a list or an object (other tests are kept).
fn type_test(want: JsonType, shape: Shape, exists: Expr) -> Option<Expr> {
    match (want, shape.known()) {
        (want, Some(ty)) if want == ty => Some(exists),
        (_, Some(_)) => Some(Expr::Const(false)),
        (JsonType::Array | JsonType::Object, None) => Some(Expr::Const(false)),
        (_, None) => None,
    }
}

/// Python `==` with a literal on a documented scalar of type `ty`: a string never equals a
/// number or a Boolean, so the test is false when the literal's type cannot meet `ty`.
fn equality(v: &serde_json::Value, ty: JsonType) -> Option<Expr> {
    use serde_json::Value;
    let meets = match v {
        Value::String(_) => ty == JsonType::String,
        Value::Number(_) | Value::Bool(_) => matches!(ty, JsonType::Number | JsonType::Boolean),
        Value::Null => return None,
        Value::Array(_) => ty == JsonType::Array,
        Value::Object(_) => ty == JsonType::Object,
    };
    (!meets).then_some(Expr::Const(false))
}

/// Python truthiness of a documented scalar: a string is true unless empty, a Boolean when
/// true, a number unless zero; each only when present.
fn truthy(ty: JsonType, exists: Expr, same: impl Fn(Test) -> Expr) -> Option<Expr> {
    use serde_json::json;
    Some(match ty {
        JsonType::String => Expr::and(vec![exists, Expr::not(same(Test::Is(json!(""))))]),
        JsonType::Boolean => same(Test::Is(json!(true))),
        JsonType::Number => Expr::and(vec![exists, Expr::not(same(Test::Is(json!(0))))]),
        JsonType::Array | JsonType::Object => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Count, Elements, Pattern};
    use crate::source::Span;
    use serde_json::json;

    /// A test at the dotted `path` ("" is the record).
    fn at(path: &str, test: Test) -> Expr {
        let path = match path {
            "" => FieldPath::new(vec![]),
            p => FieldPath::parse(p),
        };
        Expr::Pred(Predicate {
            subject: Subject::Field(path),
            quantifier: Quantifier::Exact,
            test,
            span: Span::default(),
        })
    }

    fn read(e: &Expr) -> Expr {
        assume_documented_shapes(e)
    }

    #[test]
    fn a_documented_type_is_the_type_whenever_present() {
        assert_eq!(
            read(&at("userAgent", Test::Type(JsonType::String))),
            at("userAgent", Test::Exists)
        );
        assert_eq!(
            read(&at(
                "requestParameters.pendingWindowInDays",
                Test::Type(JsonType::Number)
            )),
            at("requestParameters.pendingWindowInDays", Test::Exists)
        );
        for other in [
            JsonType::Number,
            JsonType::Boolean,
            JsonType::Array,
            JsonType::Object,
        ] {
            assert_eq!(
                read(&at("userIdentity.arn", Test::Type(other))),
                Expr::Const(false)
            );
        }
    }

    #[test]
    fn an_untyped_scalar_is_never_a_list_or_an_object() {
        // sessionCredentialFromConsole: a scalar of no documented type.
        let p = "sessionCredentialFromConsole";
        assert_eq!(
            read(&at(p, Test::Type(JsonType::Array))),
            Expr::Const(false)
        );
        assert_eq!(read(&at(p, Test::HasKey("k".into()))), Expr::Const(false));
        let string = at(p, Test::Type(JsonType::String));
        assert_eq!(read(&string), string);
    }

    #[test]
    fn tests_of_another_type_never_hold() {
        let str_test = Test::Str {
            pattern: Pattern::parse_sigma("a*"),
            fold: false,
        };
        assert_eq!(read(&at("readOnly", str_test.clone())), Expr::Const(false));
        assert_eq!(
            read(&at("eventName", str_test.clone())),
            at("eventName", str_test)
        );
        assert_eq!(
            read(&at("eventName", Test::Is(json!(5)))),
            Expr::Const(false)
        );
        assert_eq!(
            read(&at("readOnly", Test::Is(json!("true")))),
            Expr::Const(false)
        );
        // True == 1 in Python: a number literal can meet a Boolean.
        let one = at("readOnly", Test::Is(json!(1)));
        assert_eq!(read(&one), one);
        let null = at("eventName", Test::Is(serde_json::Value::Null));
        assert_eq!(read(&null), null);
    }

    #[test]
    fn truthiness_follows_the_type() {
        assert_eq!(
            read(&at("errorCode", Test::Truthy)),
            Expr::and(vec![
                at("errorCode", Test::Exists),
                Expr::not(at("errorCode", Test::Is(json!("")))),
            ])
        );
        assert_eq!(
            read(&at("readOnly", Test::Truthy)),
            at("readOnly", Test::Is(json!(true)))
        );
        assert_eq!(
            read(&at("requestParameters.fromPort", Test::Truthy)),
            Expr::and(vec![
                at("requestParameters.fromPort", Test::Exists),
                Expr::not(at("requestParameters.fromPort", Test::Is(json!(0)))),
            ])
        );
    }

    #[test]
    fn a_key_never_written_as_null_is_there_when_its_value_is() {
        let has = |path: &str, k: &str| at(path, Test::HasKey(k.into()));
        assert_eq!(read(&has("", "userAgent")), at("userAgent", Test::Exists));
        assert_eq!(
            read(&has("userIdentity", "arn")),
            at("userIdentity.arn", Test::Exists)
        );
        // Per-API parameters may be written as null; containers are not scalars.
        for e in [
            has("requestParameters", "userName"),
            has("", "requestParameters"),
            has("", "custom"),
        ] {
            assert_eq!(read(&e), e);
        }
        // `event.get("userAgent", "").upper()` raises on an explicit null: never, by the record
        // reference, so the guard is gone once simplified.
        let raises = Expr::and(vec![has("", "userAgent"), at("userAgent", Test::Null)]);
        assert_eq!(crate::passes::simplify(&read(&raises)), Expr::Const(false));
    }

    #[test]
    fn a_documented_container_holds_its_type() {
        assert_eq!(
            read(&at("requestParameters", Test::Type(JsonType::Object))),
            at("requestParameters", Test::Exists)
        );
        for (path, test) in [
            ("requestParameters", Test::Type(JsonType::Array)),
            ("requestParameters", Test::Is(json!("x"))),
            ("resources", Test::HasKey("k".into())),
            ("resources", Test::Type(JsonType::String)),
            ("userIdentity.sessionContext", Test::Type(JsonType::Array)),
        ] {
            assert_eq!(read(&at(path, test)), Expr::Const(false), "{path}");
        }
        // Emptiness is still a question; so is a key of an object that may be missing. Per-API
        // containers (S3's headers are lists in the records we have) are not assumed.
        for e in [
            at("requestParameters.x-amz-acl", Test::Type(JsonType::String)),
            at("requestParameters", Test::Truthy),
            at("requestParameters", Test::HasKey("userName".into())),
        ] {
            assert_eq!(read(&e), e);
        }
    }

    /// Inside a per-element body, paths start from the element: `userAgent` there is the
    /// element's key, not the record's, and `"eventName" in x` is not the record's key either.
    #[test]
    fn element_paths_are_read_from_their_element() {
        let each = |path: &str, body: Expr| {
            Expr::Elements(Elements {
                path: FieldPath::parse(path),
                count: Count::Some,
                body: Box::new(body),
                span: Span::default(),
            })
        };
        for list in ["resources", "requestParameters.custom"] {
            for body in [
                at("userAgent", Test::Type(JsonType::Object)),
                at("", Test::HasKey("eventName".into())),
                at("eventName", Test::Is(json!(5))),
            ] {
                let e = each(list, body);
                assert_eq!(read(&e), e, "{list}");
            }
        }
        // EC2's `items` lists hold objects: an element is an object, a nested `items` a list.
        let items = "requestParameters.ipPermissions.items";
        assert_eq!(
            read(&each(items, at("", Test::Type(JsonType::Object)))),
            each(items, Expr::Const(true))
        );
        assert_eq!(
            read(&each(items, at("", Test::Null))),
            each(items, Expr::Const(false))
        );
        assert_eq!(
            read(&each(
                items,
                at("ipRanges.items", Test::Type(JsonType::Array))
            )),
            each(items, at("ipRanges.items", Test::Exists))
        );
        assert_eq!(
            read(&each(
                items,
                at("ipRanges.items", Test::Type(JsonType::String))
            )),
            each(items, Expr::Const(false))
        );
        // Inside an undocumented list nothing is known.
        let inner = each("ipRanges.items", at("", Test::Type(JsonType::String)));
        assert_eq!(
            read(&each("requestParameters.custom", inner.clone())),
            each("requestParameters.custom", inner)
        );
    }

    #[test]
    fn a_documented_scalar_has_no_elements() {
        let each = |path: &str| {
            Expr::Elements(Elements {
                path: FieldPath::parse(path),
                count: Count::Every,
                body: Box::new(Expr::Const(true)),
                span: Span::default(),
            })
        };
        assert_eq!(read(&each("userAgent")), Expr::Const(false));
        assert_eq!(read(&each("requestParameters")), Expr::Const(false));
        for kept in ["resources", "requestParameters.ipPermissions.items"] {
            assert_eq!(read(&each(kept)), each(kept));
        }
        assert_eq!(read(&each("resources")), each("resources"));
    }

    #[test]
    fn undocumented_paths_and_other_readings_are_left_alone() {
        for e in [
            at("requestParameters.name", Test::Type(JsonType::Object)),
            at("custom", Test::Truthy),
            Expr::Pred(Predicate {
                subject: Subject::Field(FieldPath::parse("eventName")),
                quantifier: Quantifier::Any,
                test: Test::Type(JsonType::Number),
                span: Span::default(),
            }),
        ] {
            assert_eq!(read(&e), e);
        }
        // Inside every node.
        let e = Expr::not(Expr::or(vec![
            at("custom", Test::Truthy),
            at("userAgent", Test::Type(JsonType::Object)),
        ]));
        assert_eq!(read(&e), Expr::not(at("custom", Test::Truthy)));
    }
}
