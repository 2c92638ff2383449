//! The symbolic values Python expressions evaluate to.
//!
//! A [`Value`] is a list of disjoint guarded alternatives `(guard, Atom)` plus `ok`, the
//! condition under which computing it raises no exception. An [`Atom`] is one thing the value can
//! be: a Python constant ([`Py`]), the JSON value at a location ([`Loc`]) of the event or of an
//! array element, a lowercased string field, a boolean condition, a built string, a compiled
//! regex, an IP address, or something callable ([`Callable`]).

use crate::eval::Num;
use crate::ir::Root;
use crate::ir::{Expr, FieldPath, RegexFlags};
use crate::panther::canonical_key;

use super::{and, not, or};

/// A Python constant.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Py {
    None,
    Bool(bool),
    /// An int (exact) or a float.
    Num(Num),
    Str(String),
    /// A list or tuple.
    Seq(Vec<Py>),
    /// A set or frozenset: membership hashes the item (a list or dict raises `TypeError`).
    Set(Vec<Py>),
    Dict(Vec<(Py, Py)>),
    /// A regex match object (truthy, not None).
    Match,
}

impl Py {
    /// `str()` of the constant, where rulecast knows it exactly (not for numbers, whose text
    /// depends on int or float, nor containers).
    pub(super) fn str_text(&self) -> Option<String> {
        match self {
            Py::Str(s) => Some(s.clone()),
            Py::None => Some("None".to_owned()),
            Py::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
            _ => None,
        }
    }

    /// Python's truth value of the constant.
    pub(super) fn truthy(&self) -> bool {
        match self {
            Py::None => false,
            Py::Bool(b) => *b,
            Py::Num(n) => n.to_f64() != 0.0,
            Py::Str(s) => !s.is_empty(),
            Py::Seq(v) | Py::Set(v) => !v.is_empty(),
            Py::Dict(v) => !v.is_empty(),
            Py::Match => true,
        }
    }

    /// The number a bool or number stands for in arithmetic and comparisons (`True` is 1), as
    /// the nearest float.
    pub(super) fn as_number(&self) -> Option<f64> {
        self.as_num().map(Num::to_f64)
    }

    /// The number a bool or number stands for, exactly (`True` is 1).
    pub(super) fn as_num(&self) -> Option<Num> {
        match self {
            Py::Bool(b) => Some(Num::Int(i128::from(*b))),
            Py::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// Python `==` between constants.
    pub(super) fn python_eq(&self, other: &Py) -> bool {
        match (self.as_num(), other.as_num()) {
            (Some(a), Some(b)) => a.py_cmp(b) == Some(std::cmp::Ordering::Equal),
            _ => match (self, other) {
                (Py::Seq(a), Py::Seq(b)) => {
                    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.python_eq(y))
                }
                (Py::Set(a), Py::Set(b)) => {
                    a.iter().all(|x| b.iter().any(|y| x.python_eq(y)))
                        && b.iter().all(|y| a.iter().any(|x| x.python_eq(y)))
                }
                (Py::Dict(a), Py::Dict(b)) => {
                    a.len() == b.len()
                        && a.iter().all(|(k, v)| {
                            b.iter().any(|(k2, v2)| k.python_eq(k2) && v.python_eq(v2))
                        })
                }
                (a, b) => a == b && !matches!(a, Py::Match),
            },
        }
    }

    /// The JSON scalar `==` compares with (None for containers).
    pub(super) fn json_scalar(&self) -> Option<serde_json::Value> {
        Some(match self {
            Py::None => serde_json::Value::Null,
            Py::Bool(b) => serde_json::Value::Bool(*b),
            // An int as a JSON integer (the front end keeps them within 64 bits), a float as
            // a JSON integer when it is a small whole number.
            Py::Num(Num::Int(i)) => serde_json::Value::from(i64::try_from(*i).ok()?),
            Py::Num(Num::Float(n)) => {
                if n.fract() == 0.0 && n.abs() < 1e15 {
                    serde_json::Value::from(*n as i64)
                } else {
                    serde_json::Number::from_f64(*n).map(serde_json::Value::Number)?
                }
            }
            Py::Str(s) => serde_json::Value::String(s.clone()),
            _ => return None,
        })
    }

    /// The items a `for` loop over the constant goes through (a dict's keys, a string's
    /// characters); None when the constant is not iterable.
    pub(super) fn elements(&self) -> Option<Vec<Py>> {
        match self {
            Py::Seq(v) | Py::Set(v) => Some(v.clone()),
            Py::Dict(v) => Some(v.iter().map(|(k, _)| k.clone()).collect()),
            Py::Str(s) => Some(s.chars().map(|c| Py::Str(c.to_string())).collect()),
            _ => None,
        }
    }
}

/// Where a value is read from: the event (`elem == 0`) or the element bound by an `any()`/`all()`
/// generator (`elem` numbers them), then a path of object keys.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Loc {
    pub(super) elem: usize,
    pub(super) path: Vec<String>,
}

impl Loc {
    /// The location of `key` in the object here (a top-level event key is canonicalized).
    pub(super) fn child(&self, key: &str) -> Loc {
        let mut path = self.path.clone();
        path.push(if self.elem == 0 && path.is_empty() {
            canonical_key(key)
        } else {
            key.to_owned()
        });
        Loc {
            elem: self.elem,
            path,
        }
    }

    /// The IR field path: an element's path has the element's [`Root`], which
    /// [`super::generators`] makes element-relative when it builds the per-element condition.
    pub(super) fn field(&self) -> FieldPath {
        let root = if self.elem > 0 {
            Root::Element(self.elem)
        } else {
            Root::Event
        };
        FieldPath::from_root(root, self.path.clone())
    }

    /// The event itself (the parameter of `rule()`).
    pub(super) fn is_event(&self) -> bool {
        self.elem == 0 && self.path.is_empty()
    }
}

/// Something a name can stand for besides data.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Callable {
    /// An imported module (`re`, `fnmatch`, `panther_event_type_helpers`).
    Module(String),
    /// A function defined in the rule's module.
    Local(String),
    /// A known helper: translated natively or by inlining the prelude.
    Helper(String),
    /// A name rulecast cannot translate, and why.
    Unknown(String, String),
}

/// One alternative of a [`Value`].
#[derive(Debug, Clone)]
pub(super) enum Atom {
    /// A Python constant.
    Const(Py),
    /// The JSON value at the location, present and not null.
    Json(Loc),
    /// The JSON string at the location, lowercased (false) or uppercased (true).
    Case(Loc, bool),
    /// A Python bool, true exactly when the condition holds.
    Bool(Expr),
    /// `deep_walk(event, ...)`: read as "some value reached through objects and arrays".
    Walk(FieldPath),
    /// `re.compile(pattern, flags)`.
    Regex(String, RegexFlags),
    /// `ipaddress.ip_address(s)` of the string at the location, a valid address.
    Ip(Loc),
    /// The JSON string at the location with literal text around it (an f-string or `+`).
    Concat {
        before: String,
        loc: Loc,
        after: String,
    },
    /// A module, function or helper (callable, or a module whose attributes are read).
    Call(Callable),
}

/// A symbolic Python value: disjoint guarded alternatives, and the condition under which
/// computing it raises no exception. Wherever `ok` holds some alternative's guard holds (where
/// none does, computing the value raises); where `ok` fails the alternatives do not matter.
#[derive(Debug, Clone)]
pub(super) struct Value {
    pub(super) alts: Vec<(Expr, Atom)>,
    pub(super) ok: Expr,
}

impl Value {
    /// The value that is always `a`, computed without raising.
    pub(super) fn of(a: Atom) -> Value {
        Value {
            alts: vec![(Expr::Const(true), a)],
            ok: Expr::Const(true),
        }
    }

    /// The constant `p`.
    pub(super) fn constant(p: Py) -> Value {
        Value::of(Atom::Const(p))
    }

    /// A bool, true exactly when `e` holds, computed without raising when `ok` holds.
    pub(super) fn boolean(e: Expr, ok: Expr) -> Value {
        Value {
            alts: vec![(Expr::Const(true), Atom::Bool(e))],
            ok,
        }
    }

    /// A computation that always raises (no alternatives, never ok): `raise`, or a branch that
    /// is never taken.
    pub(super) fn raising() -> Value {
        Value {
            alts: vec![],
            ok: Expr::Const(false),
        }
    }

    /// Every alternative is a bool (a comparison, `not`, `and`/`or` of bools, ...). Its truth is
    /// then the bool itself: alternatives cover every case the value is computed without raising,
    /// so the value is the bool `truth` wherever it is ok.
    pub(super) fn is_bool(&self) -> bool {
        self.alts
            .iter()
            .all(|(_, a)| matches!(a, Atom::Bool(_) | Atom::Const(Py::Bool(_))))
    }

    /// The truth of a value whose alternatives are all bools ([`Value::is_bool`]), and its `ok`.
    pub(super) fn into_bool_truth(self) -> (Expr, Expr) {
        let t = Expr::or(
            self.alts
                .into_iter()
                .map(|(g, a)| match a {
                    Atom::Bool(e) => and(g, e),
                    Atom::Const(Py::Bool(b)) => and(g, Expr::Const(b)),
                    _ => Expr::Const(false),
                })
                .collect(),
        );
        (t, self.ok)
    }

    /// The bool this value certainly is, when it is a bool constant wherever it is computed
    /// (which may raise).
    pub(super) fn as_const_bool(&self) -> Option<bool> {
        match self.alts.as_slice() {
            [(Expr::Const(true), Atom::Const(Py::Bool(b)))] => Some(*b),
            [(Expr::Const(true), Atom::Bool(Expr::Const(b)))] => Some(*b),
            _ => None,
        }
    }

    /// The constant this value certainly is (one unguarded constant that never raises).
    pub(super) fn as_const(&self) -> Option<&Py> {
        match self.alts.as_slice() {
            [(Expr::Const(true), Atom::Const(p))] if self.ok == Expr::Const(true) => Some(p),
            _ => None,
        }
    }

    /// Merge boolean alternatives into one and drop impossible ones.
    pub(super) fn tidy(mut self) -> Value {
        let mut bools: Vec<Expr> = Vec::new();
        let mut guards: Vec<Expr> = Vec::new();
        let mut rest = Vec::new();
        for (g, a) in self.alts {
            if g == Expr::Const(false) {
                continue;
            }
            match a {
                Atom::Bool(e) => {
                    bools.push(Expr::and(vec![g.clone(), e]));
                    guards.push(g);
                }
                Atom::Const(Py::Bool(b)) => {
                    bools.push(Expr::and(vec![g.clone(), Expr::Const(b)]));
                    guards.push(g);
                }
                other => rest.push((g, other)),
            }
        }
        if !guards.is_empty() {
            rest.push((Expr::or(guards), Atom::Bool(Expr::or(bools))));
        }
        self.alts = rest;
        self
    }

    /// Python's `a if t else b`, and the join of two branches of an `if` statement: `a` where
    /// `t` holds, `b` elsewhere.
    ///
    /// Two bools join into one bool, `(t ∧ a) ∨ (¬t ∧ b)` (`t ∨ b` when `a` is `True`), so that a
    /// chain of branches (an `elif` chain, a loop with an early return) grows by one test per
    /// branch, and stays flat when the branches return the same constant.
    pub(super) fn if_then_else(t: Expr, a: Value, b: Value) -> Value {
        if a.is_bool() && b.is_bool() {
            let (ta, a_ok) = a.into_bool_truth();
            let (tb, b_ok) = b.into_bool_truth();
            let value = match ta {
                Expr::Const(true) => or(t.clone(), tb),
                ta => or(and(t.clone(), ta), and(not(t.clone()), tb)),
            };
            let ok = if a_ok == b_ok {
                a_ok
            } else {
                or(and(t.clone(), a_ok), and(not(t), b_ok))
            };
            return Value::boolean(value, ok);
        }
        let mut alts = Vec::new();
        for (g, x) in a.alts {
            alts.push((and(t.clone(), g), x));
        }
        for (g, x) in b.alts {
            alts.push((and(not(t.clone()), g), x));
        }
        let ok = if a.ok == b.ok {
            a.ok
        } else {
            or(and(t.clone(), a.ok), and(not(t), b.ok))
        };
        Value { alts, ok }.tidy()
    }
}
