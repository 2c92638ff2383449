//! The reference evaluator: the one definition of what a rule matches (see `docs/semantics.md`).
//! Every backend is tested to select exactly the events this selects.
//!
//! Two readings of a Sigma-style (any value) path: shape-free (the default, what jq and Logs
//! Insights implement), where arrays met on the way are crossed and an array value also counts as
//! its elements; and the documented-shape reading ([`Evaluator::with_shapes`], what Athena
//! implements unless `--no-shapes`), where a path the CloudTrail shape table calls a scalar
//! ([`crate::cloudtrail::documented_scalar`]) is read as the one value reached through objects,
//! and only when it is a string, number or Boolean (a list or an object there reads as absent).

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;

use regex::Regex;
use serde_json::Value;

use crate::ir::{
    Anchor, Count, Expr, FieldPath, JsonType, Part, Predicate, Quantifier, Root, Subject, Test,
};
use crate::portable_regex::PortableRegex;

/// A compiled rule condition, ready to test events.
#[derive(Clone)]
pub struct Evaluator<'a> {
    expr: &'a Expr,
    /// Each distinct regex once, compiled.
    regexes: Vec<Regex>,
    /// The compiled regex of each regex test, by the address of its pattern in `expr` (which the
    /// evaluator borrows, so addresses stay put): no key is built per test.
    by_node: HashMap<usize, usize>,
    /// The documented-shape reading (see the module documentation).
    shapes: bool,
}

impl<'a> Evaluator<'a> {
    /// Compile the regexes of `expr`. Fails only on a regex the front end should have rejected.
    pub fn new(expr: &'a Expr) -> Result<Self, String> {
        // A deferred refusal of the Panther translator reads nothing (the translator refuses
        // the rule when one is left in its condition); an element's path must have been made
        // element-relative.
        let element = |f: &&FieldPath| matches!(f.root(), Root::Element(_));
        if let Some(f) = expr.paths().into_iter().find(element) {
            return Err(format!(
                "internal: the path {f} does not start from the event"
            ));
        }
        let mut regexes = Vec::new();
        let mut by_text: HashMap<String, usize> = HashMap::new();
        let mut by_node = HashMap::new();
        for p in expr.predicates() {
            if let Test::Regex { regex, flags } = &p.test {
                let key = format!("{}{regex}", flags.inline_prefix());
                let i = match by_text.get(&key) {
                    Some(&i) => i,
                    None => {
                        regexes.push(PortableRegex::parse(regex, *flags)?.compile()?);
                        by_text.insert(key, regexes.len() - 1);
                        regexes.len() - 1
                    }
                };
                by_node.insert(regex as *const String as usize, i);
            }
        }
        Ok(Evaluator {
            expr,
            regexes,
            by_node,
            shapes: false,
        })
    }

    /// With `on`, read documented scalar paths by their shape (see the module documentation).
    pub fn with_shapes(mut self, on: bool) -> Self {
        self.shapes = on;
        self
    }

    /// [`Evaluator::any_values`] without allocating for a path that crosses no array.
    fn reach_any<'v>(&self, event: &'v Value, path: &FieldPath) -> Reach<'v> {
        if self.shapes && crate::cloudtrail::documented_scalar(path.segments()) {
            return match resolve_exact(event, path) {
                Some(v) if !matches!(v, Value::Null | Value::Array(_) | Value::Object(_)) => {
                    Reach::One(v)
                }
                _ => Reach::Nothing,
            };
        }
        reach(event, path)
    }

    /// The values a Sigma-style path reaches: every value, arrays crossed; or, in the
    /// documented-shape reading at a documented scalar path, the one scalar there (if any).
    fn any_values<'v>(&self, event: &'v Value, path: &FieldPath) -> Vec<&'v Value> {
        self.reach_any(event, path).as_slice().to_vec()
    }

    /// Does the event match?
    pub fn matches(&self, event: &Value) -> bool {
        self.matches_in(&EventCx::new(event))
    }

    /// Does the event of `cx` match? What `cx` computes from the event (its scalars, for
    /// keywords) is computed once for every rule tested with the same `cx`.
    pub fn matches_in(&self, cx: &EventCx<'_>) -> bool {
        self.eval(self.expr, cx)
    }

    fn eval(&self, e: &Expr, cx: &EventCx<'_>) -> bool {
        match e {
            Expr::And(xs) => xs.iter().all(|x| self.eval(x, cx)),
            Expr::Or(xs) => xs.iter().any(|x| self.eval(x, cx)),
            Expr::Not(x) => !self.eval(x, cx),
            Expr::Const(b) => *b,
            Expr::Pred(p) => self.predicate(p, cx),
            Expr::Elements(el) => {
                let Some(items) = resolve_exact(cx.event, &el.path).and_then(Value::as_array)
                else {
                    return false;
                };
                let body = |x: &Value| self.eval(&el.body, &EventCx::new(x));
                let mut passing = items.iter().filter(|x| body(x));
                match el.count {
                    Count::Some => passing.next().is_some(),
                    Count::Every => items.iter().all(body),
                    Count::One => passing.next().is_some() && passing.next().is_none(),
                }
            }
        }
    }

    fn predicate(&self, p: &Predicate, cx: &EventCx<'_>) -> bool {
        match p.quantifier {
            Quantifier::Any => self.any_predicate(p, cx),
            Quantifier::Exact => self.exact_predicate(p, cx.event),
        }
    }

    /// Sigma's reading: every value the path reaches, arrays crossed and expanded.
    fn any_predicate(&self, p: &Predicate, cx: &EventCx<'_>) -> bool {
        let reached;
        let values: &[&Value] = match &p.subject {
            Subject::Field(path) => {
                // Python-style tests read JSON types, which the shape reading leaves alone.
                reached = if p.test.reads_json_type() {
                    reach(cx.event, path)
                } else {
                    self.reach_any(cx.event, path)
                };
                reached.as_slice()
            }
            Subject::Anywhere => cx.scalars(),
        };
        let event = cx.event;
        match &p.test {
            Test::Null => values.iter().all(|v| v.is_null()),
            Test::Exists => values.iter().any(|v| !v.is_null()),
            _ => values
                .iter()
                .any(|v| with_elements(v).any(|x| self.value_test(&p.test, x, event))),
        }
    }

    /// Python's reading: the one value the path reaches through objects only.
    fn exact_predicate(&self, p: &Predicate, event: &Value) -> bool {
        let value = match &p.subject {
            Subject::Field(path) => resolve_exact(event, path),
            Subject::Anywhere => None,
        };
        match &p.test {
            Test::Null => value.is_none_or(Value::is_null),
            Test::Exists => value.is_some_and(|v| !v.is_null()),
            _ => value.is_some_and(|v| self.value_test_with(&p.test, v, event, p.quantifier)),
        }
    }

    fn value_test(&self, test: &Test, v: &Value, event: &Value) -> bool {
        self.value_test_with(test, v, event, Quantifier::Any)
    }

    fn value_test_with(&self, test: &Test, v: &Value, event: &Value, q: Quantifier) -> bool {
        match test {
            Test::Is(lit) => return py_eq(v, lit),
            Test::Str { pattern, fold } => {
                return v
                    .as_str()
                    .is_some_and(|s| wildcard_match(&pattern.0, s, *fold))
            }
            Test::Truthy => return truthy(v),
            Test::Type(t) => return JsonType::of(v) == Some(*t),
            Test::HasKey(k) => return v.as_object().is_some_and(|o| o.contains_key(k)),
            _ => {}
        }
        let Some(mine) = text(v) else { return false };
        match test {
            Test::Text { pattern, cased } => wildcard_match(&pattern.0, &mine, !cased),
            Test::Regex { regex, .. } => self
                .by_node
                .get(&(regex as *const String as usize))
                .and_then(|&i| self.regexes.get(i))
                .is_some_and(|re| re.is_match(&mine)),
            Test::Cidr(c) => v
                .as_str()
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_some_and(|ip| c.contains(ip)),
            Test::Compare { op, value } => number(v).is_some_and(|n| op.holds(n, value.value)),
            Test::FieldRef(r) => {
                let others: Vec<&Value> = if q == Quantifier::Any {
                    self.any_values(event, &r.other)
                        .into_iter()
                        .flat_map(with_elements)
                        .collect()
                } else {
                    resolve_exact(event, &r.other).into_iter().collect()
                };
                others.into_iter().any(|o| {
                    text(o).is_some_and(|b| {
                        let b: Cow<str> = if r.is_affixed() {
                            Cow::Owned(format!("{}{b}{}", r.before, r.after))
                        } else {
                            b
                        };
                        let (a, b) = if r.cased {
                            (mine.clone(), b)
                        } else {
                            (
                                Cow::Owned(mine.to_ascii_lowercase()),
                                Cow::Owned(b.to_ascii_lowercase()),
                            )
                        };
                        match r.anchor {
                            Anchor::Whole => a == b,
                            Anchor::Prefix => a.starts_with(b.as_ref()),
                            Anchor::Suffix => a.ends_with(b.as_ref()),
                            Anchor::Substring => a.contains(b.as_ref()),
                        }
                    })
                })
            }
            Test::Null | Test::Exists => false,
            Test::Is(_) | Test::Str { .. } | Test::Truthy | Test::Type(_) | Test::HasKey(_) => {
                false
            }
        }
    }
}

/// One event under evaluation, with what is computed from it at most once however many
/// predicates and rules read it: its scalars (keywords search them all).
pub struct EventCx<'v> {
    event: &'v Value,
    scalars: std::cell::OnceCell<Vec<&'v Value>>,
}

impl<'v> EventCx<'v> {
    pub fn new(event: &'v Value) -> EventCx<'v> {
        EventCx {
            event,
            scalars: std::cell::OnceCell::new(),
        }
    }

    /// Every non-null scalar anywhere in the event, in document order.
    fn scalars(&self) -> &[&'v Value] {
        self.scalars.get_or_init(|| {
            let mut out = Vec::new();
            scalars(self.event, &mut out);
            out
        })
    }
}

/// What a path reaches: nothing, one value (through objects only: no allocation), or, when it
/// crosses an array, every value [`resolve`] gives.
enum Reach<'v> {
    Nothing,
    One(&'v Value),
    Many(Vec<&'v Value>),
}

impl<'v> Reach<'v> {
    fn as_slice(&self) -> &[&'v Value] {
        match self {
            Reach::Nothing => &[],
            Reach::One(v) => std::slice::from_ref(v),
            Reach::Many(vs) => vs,
        }
    }
}

fn reach<'v>(event: &'v Value, path: &FieldPath) -> Reach<'v> {
    if path.root() != Root::Event {
        return Reach::Nothing;
    }
    let mut cur = event;
    for seg in path.segments() {
        match cur {
            Value::Object(m) => match m.get(seg) {
                Some(x) => cur = x,
                None => return Reach::Nothing,
            },
            Value::Array(_) => return Reach::Many(resolve(event, path)),
            _ => return Reach::Nothing,
        }
    }
    Reach::One(cur)
}

/// Does `expr` match `event`? (Compiles the expression each call; use [`Evaluator`] for many events.)
pub fn matches(expr: &Expr, event: &Value) -> Result<bool, String> {
    Ok(Evaluator::new(expr)?.matches(event))
}

/// Every value a dotted path reaches; arrays met on the way are crossed element by element.
pub fn resolve<'v>(event: &'v Value, path: &FieldPath) -> Vec<&'v Value> {
    let mut out = Vec::new();
    if path.root() != Root::Event {
        return out;
    }
    walk(event, path.segments(), &mut out);
    out
}

fn walk<'v>(v: &'v Value, path: &[String], out: &mut Vec<&'v Value>) {
    let Some((seg, rest)) = path.split_first() else {
        out.push(v);
        return;
    };
    match v {
        Value::Object(m) => {
            if let Some(x) = m.get(seg) {
                walk(x, rest, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk(i, path, out)),
        _ => {}
    }
}

/// A value a path ends on, then, when it is an array, its elements (recursively): a string test on
/// an array holds when it holds for the array's compact JSON text or for any element.
pub fn with_elements(v: &Value) -> impl Iterator<Item = &Value> {
    // Only an array allocates: most values are scalars.
    let mut nested = Vec::new();
    if let Value::Array(items) = v {
        for i in items {
            nested.extend(with_elements(i));
        }
    }
    std::iter::once(v).chain(nested)
}

/// The one value a path reaches through objects only (Python `deep_get`); None when a step is
/// missing or not an object.
pub fn resolve_exact<'v>(event: &'v Value, path: &FieldPath) -> Option<&'v Value> {
    if path.root() != Root::Event {
        return None;
    }
    let mut cur = event;
    for seg in path.segments() {
        cur = cur.as_object()?.get(seg)?;
    }
    Some(cur)
}

/// Python truthiness of a JSON value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python `==` between a JSON value and a scalar literal: numbers and booleans compare by numeric
/// value, exactly as Python compares ints and floats (`True == 1 == 1.0`, but
/// `9007199254740993 != 9007199254740992.0`), strings exactly, nothing else is equal across types.
pub fn py_eq(v: &Value, lit: &Value) -> bool {
    match (Num::of_json(v), Num::of_json(lit)) {
        (Some(a), Some(b)) => a.py_cmp(b) == Some(std::cmp::Ordering::Equal),
        _ => v == lit,
    }
}

/// A number as Python holds it: an integer (exact; JSON integers within 64 bits are read
/// exactly) or a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    /// The number a JSON number or boolean stands for (`true` is 1).
    pub fn of_json(v: &Value) -> Option<Num> {
        match v {
            Value::Bool(b) => Some(Num::Int(i128::from(*b))),
            Value::Number(n) => Some(match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Num::Int(i128::from(i)),
                (None, Some(u)) => Num::Int(i128::from(u)),
                (None, None) => Num::Float(n.as_f64()?),
            }),
            _ => None,
        }
    }

    /// The nearest float.
    pub fn to_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// Python's comparison of two numbers: exact between ints and floats alike; None with NaN.
    pub fn py_cmp(self, other: Num) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (Num::Float(a), Num::Float(b)) => a.partial_cmp(&b),
            (Num::Int(a), Num::Float(b)) => int_float_cmp(a, b),
            (Num::Float(a), Num::Int(b)) => int_float_cmp(b, a).map(std::cmp::Ordering::reverse),
        }
    }
}

/// An integer against a float, exactly (Python does not round the integer to a float first).
fn int_float_cmp(i: i128, f: f64) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering;
    if f.is_nan() {
        return None;
    }
    // Every float of magnitude 2^127 or more is beyond any i128.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f < -LIMIT {
        return Some(Ordering::Greater);
    }
    let whole = f.floor();
    // An integral float below 2^127 in magnitude converts to i128 exactly.
    match i.cmp(&(whole as i128)) {
        Ordering::Equal if f > whole => Some(Ordering::Less),
        o => Some(o),
    }
}

/// Every non-null scalar anywhere in `v`.
fn scalars<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    match v {
        Value::Object(m) => m.values().for_each(|x| scalars(x, out)),
        Value::Array(a) => a.iter().for_each(|x| scalars(x, out)),
        Value::Null => {}
        scalar => out.push(scalar),
    }
}

/// The text a string predicate sees: strings as they are, other values as compact JSON.
pub fn text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        other => Some(Cow::Owned(other.to_string())),
    }
}

/// A JSON number, or a string that is exactly a JSON number literal.
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if is_json_number(s) => s.parse().ok(),
        _ => None,
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`
pub fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// Whole-text wildcard match; `fold` compares ASCII letters case-insensitively.
pub fn wildcard_match(parts: &[Part], text: &str, fold: bool) -> bool {
    if let Some(m) = simple_match(parts, text.as_bytes(), fold) {
        return m;
    }
    let t: Vec<char> = text.chars().collect();
    // Flatten to a char-level pattern: Some(c) literal, None-with-flag for wildcards.
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        C(char),
        One,
        Any,
    }
    let mut p = Vec::new();
    for part in parts {
        match part {
            Part::Lit(s) => p.extend(s.chars().map(P::C)),
            Part::OneChar => p.push(P::One),
            Part::AnyRun => p.push(P::Any),
        }
    }
    let eq = |a: char, b: char| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Iterative glob matching with one backtrack point (linear-ish, no recursion).
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(P::Any) => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(P::One) => {
                ti += 1;
                pi += 1;
            }
            Some(P::C(c)) if eq(*c, t[ti]) => {
                ti += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|x| *x == P::Any)
}

/// [`wildcard_match`] for the shapes most rules use (equals, startswith, endswith, contains),
/// on bytes without building char vectors; None for other shapes. Equivalent: ASCII folding
/// leaves every non-ASCII byte alone, and a UTF-8 literal can only match at a char boundary (its
/// first byte is never a continuation byte).
fn simple_match(parts: &[Part], t: &[u8], fold: bool) -> Option<bool> {
    let eq = |a: &[u8], b: &[u8]| {
        if fold {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    Some(match parts {
        [Part::Lit(l)] => eq(t, l.as_bytes()),
        [Part::Lit(l), Part::AnyRun] => t.len() >= l.len() && eq(&t[..l.len()], l.as_bytes()),
        [Part::AnyRun, Part::Lit(l)] => {
            t.len() >= l.len() && eq(&t[t.len() - l.len()..], l.as_bytes())
        }
        [Part::AnyRun, Part::Lit(l), Part::AnyRun] => {
            let l = l.as_bytes();
            match l.first() {
                None => true,
                // Only the windows that start with the literal's first byte are compared.
                Some(&first) => {
                    let (lower, upper) = if fold {
                        (first.to_ascii_lowercase(), first.to_ascii_uppercase())
                    } else {
                        (first, first)
                    };
                    t.len() >= l.len()
                        && (0..=t.len() - l.len())
                            .any(|i| (t[i] == lower || t[i] == upper) && eq(&t[i..i + l.len()], l))
                }
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Pattern;
    use serde_json::json;

    fn wm(p: &str, t: &str) -> bool {
        wildcard_match(&Pattern::parse_sigma(p).0, t, true)
    }

    /// The byte-level shapes agree with the general matcher, also on non-ASCII text.
    #[test]
    fn simple_shapes_agree_with_the_general_matcher() {
        let lits = ["", "a", "Ab", "é", "aé", "ß", "\u{1F600}x", "K"];
        let texts = [
            "",
            "a",
            "AB",
            "ab",
            "xaBy",
            "é",
            "É",
            "aé",
            "xaéy",
            "ß",
            "\u{1F600}X",
            "\u{212A}",
            "k",
        ];
        for l in lits {
            let shapes = [
                vec![Part::Lit(l.into())],
                vec![Part::Lit(l.into()), Part::AnyRun],
                vec![Part::AnyRun, Part::Lit(l.into())],
                vec![Part::AnyRun, Part::Lit(l.into()), Part::AnyRun],
            ];
            for parts in &shapes {
                for t in texts {
                    for fold in [false, true] {
                        let fast = simple_match(parts, t.as_bytes(), fold).expect("a simple shape");
                        // The general matcher, with the fast path out of the way.
                        let general = wildcard_match(
                            &[parts.clone(), vec![Part::Lit(String::new())]].concat(),
                            t,
                            fold,
                        );
                        assert_eq!(fast, general, "{parts:?} on {t:?}, fold {fold}");
                    }
                }
            }
        }
    }

    #[test]
    fn wildcards() {
        assert!(wm("a*c", "ABC"));
        assert!(wm("a*c", "ac"));
        assert!(wm("a?c", "abc"));
        assert!(!wm("a?c", "ac"));
        assert!(wm("*", ""));
        assert!(!wm("", "x"));
        assert!(wm("*a*b*", "xxaxxbxx"));
        assert!(!wm("*a*b", "xxaxxbxxc"));
        assert!(wm(r"lit\*", "lit*"));
        assert!(!wm(r"lit\*", "litx"));
        assert!(wm("é?", "éx"));
        assert!(!wm("é", "É"), "only ASCII letters fold");
    }

    #[test]
    fn paths_cross_arrays() {
        let e = json!({"a": [{"b": 1}, {"b": [2, 3]}, {"c": 4}], "d": null});
        let p = FieldPath::parse("a.b");
        assert_eq!(resolve(&e, &p), vec![&json!(1), &json!([2, 3])]);
        assert!(resolve(&e, &FieldPath::parse("x.y")).is_empty());
        assert_eq!(resolve(&e, &FieldPath::parse("d")), vec![&Value::Null]);
    }

    #[test]
    fn python_equality_is_exact_on_integers() {
        let big = |t: &str| serde_json::from_str::<Value>(t).expect("json");
        // 2^53 + 1 has no float: CPython `9007199254740993 == 9007199254740992` is False.
        assert!(!py_eq(&big("9007199254740992"), &big("9007199254740993")));
        assert!(py_eq(&big("9007199254740993"), &big("9007199254740993")));
        assert!(!py_eq(&big("9007199254740993"), &big("9007199254740992.0")));
        assert!(py_eq(&big("9007199254740992"), &big("9007199254740992.0")));
        assert!(py_eq(
            &big("18446744073709551615"),
            &big("18446744073709551615")
        ));
        assert!(!py_eq(
            &big("18446744073709551615"),
            &big("18446744073709551614")
        ));
        assert!(!py_eq(
            &big("-9223372036854775807"),
            &big("-9223372036854775806")
        ));
        assert!(py_eq(&big("true"), &big("1")));
        assert!(py_eq(&big("1.0"), &big("1")));
        assert!(!py_eq(&big("1.5"), &big("1")));
        assert!(!py_eq(&big("-1.5"), &big("-2")));
        assert!(!py_eq(&big("1e300"), &big("1")));
    }

    /// A Sigma-style predicate on `field`.
    fn sigma(field: &str, test: Test) -> Expr {
        Expr::Pred(Predicate {
            subject: Subject::Field(FieldPath::parse(field)),
            quantifier: Quantifier::Any,
            test,
            span: crate::source::Span::default(),
        })
    }

    fn text(s: &str) -> Test {
        Test::Text {
            pattern: Pattern::parse_sigma(s),
            cased: false,
        }
    }

    /// Both readings of one predicate on one event: (shape-free, documented shapes).
    fn readings(e: &Expr, event: &Value) -> (bool, bool) {
        let ev = Evaluator::new(e).expect("compiles");
        let free = ev.matches(event);
        (free, ev.with_shapes(true).matches(event))
    }

    #[test]
    fn documented_scalars_read_one_value_with_shapes() {
        let mfa = sigma("additionalEventData.MFAUsed", text("no"));
        let one = json!({"additionalEventData": {"MFAUsed": "No"}});
        let list = json!({"additionalEventData": {"MFAUsed": ["No"]}});
        let object = json!({"additionalEventData": {"MFAUsed": {"a": "No"}}});
        let crossing = json!({"additionalEventData": [{"MFAUsed": "No"}]});
        assert_eq!(readings(&mfa, &one), (true, true));
        assert_eq!(readings(&mfa, &list), (true, false));
        assert_eq!(readings(&mfa, &crossing), (true, false));
        assert_eq!(readings(&mfa, &object), (false, false));
        // A list or object there reads as absent; null tests follow.
        let null = sigma("additionalEventData.MFAUsed", Test::Null);
        assert_eq!(readings(&null, &list), (false, true));
        assert_eq!(readings(&null, &one), (false, false));
        let exists = sigma("additionalEventData.MFAUsed", Test::Exists);
        assert_eq!(readings(&exists, &object), (true, false));
        // A number's text, as before.
        let port = sigma(
            "requestParameters.fromPort",
            Test::Compare {
                op: crate::ir::CompareOp::Gt,
                value: crate::ir::Number {
                    value: 20.0,
                    text: "20".to_owned(),
                },
            },
        );
        assert_eq!(
            readings(&port, &json!({"requestParameters": {"fromPort": 22}})),
            (true, true)
        );
        assert_eq!(
            readings(&port, &json!({"requestParameters": {"fromPort": [22]}})),
            (true, false)
        );
        // Paths the table does not call scalars keep the shape-free reading.
        let other = sigma("requestParameters.name", text("x"));
        assert_eq!(
            readings(&other, &json!({"requestParameters": {"name": ["x"]}})),
            (true, true)
        );
        // Python-style tests keep their own reading.
        let typed = sigma("additionalEventData.MFAUsed", Test::Type(JsonType::Array));
        assert_eq!(readings(&typed, &list), (true, true));
    }

    #[test]
    fn json_numbers() {
        for ok in ["0", "-1", "1.5", "2e10", "1E+3", "-0.0"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "01", "1.", ".5", " 1", "1 ", "0x10", "NaN", "inf", "+1", "1e",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }
}
