//! Python's operators on symbolic values: truthiness, `and`/`or` (which return one of their
//! operands), `not`, and comparisons (`==`, `!=`, `is`, `in`, `<`, ...).
//!
//! A comparison is computed pair by pair over the operands' alternatives
//! ([`Translator::pairwise`]): each pair of atoms gives the bool it evaluates to and the
//! condition it raises no exception (a `TypeError` for `<` between a string and a number, for
//! instance). A pair rulecast cannot compare is refused.

use rustpython_parser::ast::{self, Ranged};

use crate::ir::{Anchor, CompareOp, Expr, JsonType, Number, Pattern, Test};
use crate::panther::{fields_equal, quantified};

use super::limits::Size;
use super::value::{Atom, Loc, Py, Value};
use super::{and, not, or, Env, Translated, Translator};

impl<'m> Translator<'m> {
    /// `a and b and ...` / `a or b or ...`: evaluated left to right, returning the first operand
    /// that decides (falsy for `and`, truthy for `or`) or else the last, as Python does
    /// ([`Translator::value_chain`]).
    ///
    /// When every operand is a bool (comparisons, `not`, ...: the usual `return a == x or b == y`)
    /// the result is a bool too, built in one step from the operands' truths
    /// ([`Translator::bool_chain`]).
    pub(super) fn bool_operation(
        &mut self,
        b: &ast::ExprBoolOp,
        e: &ast::Expr,
        env: &Env,
    ) -> Translated<Value> {
        let is_and = b.op == ast::BoolOp::And;
        let mut vals = Vec::with_capacity(b.values.len());
        for x in &b.values {
            vals.push(self.expr(x, env)?);
        }
        match vals.len() {
            0 => self.refuse(e, "an empty boolean operation"),
            1 => Ok(vals.remove(0)),
            _ if vals.iter().all(Value::is_bool) => Ok(self.bool_chain(is_and, &vals)),
            _ => self.value_chain(is_and, vals, e),
        }
    }

    /// The evaluation of `v1 and v2 and ...` (`is_and`) or `v1 or v2 or ...` stops at an operand
    /// that decides; `ts` the operands' truths. Operand `i` is evaluated where none before it
    /// decided, and ok when `ok1 ∧ (s1 ∨ (ok2 ∧ (s2 ∨ ...)))`, `s` the operands' stops.
    pub(super) fn chain_ok(is_and: bool, ts: &[Expr], oks: Vec<Expr>) -> Expr {
        let mut ok = Expr::Const(true);
        for (i, v_ok) in oks.into_iter().enumerate().rev() {
            ok = if i + 1 == ts.len() {
                v_ok
            } else {
                let stops = if is_and {
                    not(ts[i].clone())
                } else {
                    ts[i].clone()
                };
                and(v_ok, or(stops, ok))
            };
        }
        ok
    }

    /// `v1 and v2 and ...` (`is_and`) or `v1 or v2 or ...` over bools: a bool, `t1 ∧ t2 ∧ ...`
    /// (`∨`). Each operand's conditions appear once, so the cost follows the rule's size.
    fn bool_chain(&self, is_and: bool, vals: &[Value]) -> Value {
        let (truths, oks): (Vec<Expr>, Vec<Expr>) = vals.iter().map(|v| self.truth(v)).unzip();
        let ok = Self::chain_ok(is_and, &truths, oks);
        let t = if is_and {
            Expr::and(truths)
        } else {
            Expr::or(truths)
        };
        Value::boolean(t, ok)
    }

    /// `v1 and v2 and ...` (`is_and`) or `v1 or v2 or ...` returning an operand: each alternative
    /// of operand `i` is the result where the operands before it did not decide (`¬t1 ∧ ... ∧
    /// ¬t(i-1)` for `or`) and, unless it is the last, this alternative decides. The operands'
    /// truths are computed once and copied into the guards after them (refused past the size
    /// limit).
    fn value_chain(&self, is_and: bool, vals: Vec<Value>, node: &ast::Expr) -> Translated<Value> {
        let truths: Vec<Expr> = vals.iter().map(|v| self.truth(v).0).collect();
        let n = vals.len();
        let (mut copies, mut before) = (0usize, 0usize);
        for (v, t) in vals.iter().zip(&truths) {
            copies = copies.saturating_add(before.saturating_mul(v.alts.len()));
            before = before.saturating_add(Size::of([t]).nodes);
        }
        self.fits(copies, node)?;
        let mut alts = Vec::new();
        let mut oks = Vec::with_capacity(n);
        let mut undecided: Vec<Expr> = Vec::new();
        for (i, v) in vals.into_iter().enumerate() {
            let prefix = Expr::and(undecided.clone());
            for (g, x) in v.alts {
                let guard = if i + 1 == n {
                    and(prefix.clone(), g)
                } else {
                    let (t, _) = self.truth(&Value::of(x.clone()));
                    let decides = if is_and { not(t) } else { t };
                    and(prefix.clone(), and(g, decides))
                };
                alts.push((guard, x));
            }
            oks.push(v.ok);
            let t = &truths[i];
            undecided.push(if is_and { t.clone() } else { not(t.clone()) });
        }
        Ok(Value {
            alts,
            ok: Self::chain_ok(is_and, &truths, oks),
        }
        .tidy())
    }

    /// `not x` (a bool: the negated truthiness) and `-<number constant>`.
    pub(super) fn unary_operation(
        &mut self,
        u: &ast::ExprUnaryOp,
        e: &ast::Expr,
        env: &Env,
    ) -> Translated<Value> {
        let v = self.expr(&u.operand, env)?;
        match u.op {
            ast::UnaryOp::Not => {
                let (t, ok) = self.truth(&v);
                Ok(Value::boolean(not(t), ok))
            }
            ast::UnaryOp::USub => match v.as_const() {
                Some(Py::Num(n)) => Ok(Value::constant(Py::Num(match *n {
                    crate::eval::Num::Int(i) => crate::eval::Num::Int(-i),
                    crate::eval::Num::Float(f) => crate::eval::Num::Float(-f),
                }))),
                _ => self.refuse(e, "unary minus on event data"),
            },
            _ => self.refuse(e, "this unary operator"),
        }
    }

    /// A comparison chain `a < b == c`: each link by [`Translator::compare`], joined with Python's
    /// `and` (a link is evaluated only when the links before it held).
    pub(super) fn comparison(
        &mut self,
        c: &ast::ExprCompare,
        e: &ast::Expr,
        env: &Env,
    ) -> Translated<Value> {
        let mut left = self.expr(&c.left, env)?;
        let mut result: Option<Value> = None;
        for (op, right) in c.ops.iter().zip(&c.comparators) {
            let r = self.expr(right, env)?;
            let v = self.compare(*op, &left, &r, e)?;
            result = Some(match result {
                None => v,
                Some(acc) => self.value_and(acc, v, e)?,
            });
            left = r;
        }
        result.map_or_else(|| self.refuse(e, "an empty comparison"), Ok)
    }

    /// Truthiness: (true when, ok).
    pub(super) fn truth(&self, v: &Value) -> (Expr, Expr) {
        let mut alts = Vec::new();
        for (g, a) in &v.alts {
            let t = match a {
                Atom::Const(p) => Expr::Const(p.truthy()),
                Atom::Json(l) | Atom::Case(l, _) => self.pred(l, Test::Truthy),
                Atom::Bool(e) => e.clone(),
                Atom::Walk(p) => quantified(p, crate::ir::Quantifier::Any, Test::Truthy, self.span),
                Atom::Regex(..) | Atom::Call(_) | Atom::Ip(_) => Expr::Const(true),
                Atom::Concat { before, loc, after } => {
                    if before.is_empty() && after.is_empty() {
                        self.pred(loc, Test::Truthy)
                    } else {
                        Expr::Const(true)
                    }
                }
            };
            alts.push(and(g.clone(), t));
        }
        (Expr::or(alts), v.ok.clone())
    }

    /// Python's `a and b` (a bool when both are): see [`Translator::value_chain`].
    fn value_and(&self, a: Value, b: Value, node: &ast::Expr) -> Translated<Value> {
        if a.is_bool() && b.is_bool() {
            return Ok(self.bool_chain(true, &[a, b]));
        }
        self.value_chain(true, vec![a, b], node)
    }

    /// Apply `f` to every pair of alternatives: f gives (value, ok) for the pair.
    pub(super) fn pairwise(
        &self,
        a: &Value,
        b: &Value,
        mut f: impl FnMut(&Atom, &Atom) -> Result<(Expr, Expr), String>,
        node: &impl Ranged,
    ) -> Translated<Value> {
        // Each pair copies both guards: refuse before a product of many alternatives is built.
        let guards = |v: &Value| Size::of(v.alts.iter().map(|(g, _)| g)).nodes;
        let copies = guards(a)
            .saturating_mul(b.alts.len())
            .saturating_add(guards(b).saturating_mul(a.alts.len()));
        self.fits(copies.saturating_mul(2), node)?;
        let mut vals = Vec::new();
        let mut bad = Vec::new();
        let mut nodes = 0usize;
        for (ga, xa) in &a.alts {
            for (gb, xb) in &b.alts {
                let g = and(ga.clone(), gb.clone());
                if g == Expr::Const(false) {
                    continue;
                }
                let (v, ok) = match f(xa, xb) {
                    Ok(r) => r,
                    Err(what) => return self.refuse(node, what),
                };
                nodes = nodes.saturating_add(Size::of([&v, &ok]).nodes);
                self.fits(nodes, node)?;
                vals.push(and(g.clone(), v));
                bad.push(and(g, not(ok)));
            }
        }
        Ok(Value::boolean(
            Expr::or(vals),
            Expr::and(vec![a.ok.clone(), b.ok.clone(), not(Expr::or(bad))]),
        ))
    }

    /// `a == b` for one pair of alternatives: (true when, ok). Constants compare directly; a field
    /// against a constant is an IR equality test, two fields a field-to-field test (both in the same
    /// element scope); a lowercased field only equals lowercase text.
    pub(super) fn eq_atoms(&self, a: &Atom, b: &Atom) -> Result<(Expr, Expr), String> {
        let yes = Expr::Const(true);
        Ok(match (a, b) {
            (Atom::Const(x), Atom::Const(y)) => (Expr::Const(x.python_eq(y)), yes),
            (Atom::Json(l), Atom::Const(c)) | (Atom::Const(c), Atom::Json(l)) => match c {
                Py::None | Py::Match => (Expr::Const(false), yes),
                Py::Seq(_) | Py::Set(_) | Py::Dict(_) => {
                    return Err("== between event data and a list, set or dict".into())
                }
                c => (
                    self.pred(l, Test::Is(c.json_scalar().unwrap_or_default())),
                    yes,
                ),
            },
            (Atom::Case(l, upper), Atom::Const(c)) | (Atom::Const(c), Atom::Case(l, upper)) => {
                match c {
                    Py::Str(s) => (
                        self.case_match(l, *upper, Pattern::literal(s.clone()), s),
                        yes,
                    ),
                    _ => (Expr::Const(false), yes),
                }
            }
            (Atom::Json(x), Atom::Json(y)) => {
                same_base(x, y)?;
                fields_equal(&x.field(), &y.field(), self.span)
            }
            (Atom::Case(x, ux), Atom::Case(y, uy)) if ux == uy => {
                same_base(x, y)?;
                (
                    self.pred(
                        x,
                        Test::FieldRef(crate::ir::FieldRef {
                            other: y.field(),
                            anchor: Anchor::Whole,
                            cased: false,
                            before: String::new(),
                            after: String::new(),
                        }),
                    ),
                    yes,
                )
            }
            (Atom::Bool(e), Atom::Const(c)) | (Atom::Const(c), Atom::Bool(e)) => {
                let n = c.as_number();
                if n == Some(1.0) {
                    (e.clone(), yes)
                } else if n == Some(0.0) {
                    (not(e.clone()), yes)
                } else {
                    (Expr::Const(false), yes)
                }
            }
            (Atom::Bool(x), Atom::Bool(y)) => (
                or(
                    and(x.clone(), y.clone()),
                    and(not(x.clone()), not(y.clone())),
                ),
                yes,
            ),
            (Atom::Bool(e), Atom::Json(l)) | (Atom::Json(l), Atom::Bool(e)) => (
                or(
                    and(
                        e.clone(),
                        self.pred(l, Test::Is(serde_json::Value::Bool(true))),
                    ),
                    and(
                        not(e.clone()),
                        self.pred(l, Test::Is(serde_json::Value::Bool(false))),
                    ),
                ),
                yes,
            ),
            (Atom::Walk(p), Atom::Const(c)) | (Atom::Const(c), Atom::Walk(p)) => {
                match c.json_scalar() {
                    Some(j) if !j.is_null() => (
                        quantified(p, crate::ir::Quantifier::Any, Test::Is(j), self.span),
                        yes,
                    ),
                    _ => return Err("deep_walk() compared with None or a container".into()),
                }
            }
            (Atom::Case(..), Atom::Json(_)) | (Atom::Json(_), Atom::Case(..)) => {
                return Err("== between a lowercased field and another field".into())
            }
            // A built string (its field a string, by the alternative's guard).
            (Atom::Json(l), Atom::Concat { before, loc, after })
            | (Atom::Concat { before, loc, after }, Atom::Json(l)) => {
                same_base(l, loc)?;
                (
                    and(
                        self.is_type(l, JsonType::String),
                        self.pred(
                            l,
                            Test::FieldRef(crate::ir::FieldRef {
                                other: loc.field(),
                                anchor: Anchor::Whole,
                                cased: true,
                                before: before.clone(),
                                after: after.clone(),
                            }),
                        ),
                    ),
                    yes,
                )
            }
            (Atom::Const(c), Atom::Concat { before, loc, after })
            | (Atom::Concat { before, loc, after }, Atom::Const(c)) => match c {
                Py::Str(t)
                    if t.len() >= before.len() + after.len()
                        && t.starts_with(before.as_str())
                        && t.ends_with(after.as_str())
                        && t.is_char_boundary(before.len())
                        && t.is_char_boundary(t.len() - after.len()) =>
                {
                    let middle = &t[before.len()..t.len() - after.len()];
                    (
                        self.pred(loc, Test::Is(serde_json::Value::String(middle.to_owned()))),
                        yes,
                    )
                }
                _ => (Expr::Const(false), yes),
            },
            _ => return Err("== between these values".into()),
        })
    }

    /// A lowercased (`upper` false) or uppercased string field matching a pattern whose literal
    /// text is `text`: possible only when the text is already in that case.
    pub(super) fn case_match(&self, l: &Loc, upper: bool, pattern: Pattern, text: &str) -> Expr {
        let same = if upper {
            text.to_uppercase() == text
        } else {
            text.to_lowercase() == text
        };
        if !same {
            return Expr::Const(false);
        }
        self.pred(
            l,
            Test::Str {
                pattern: pattern.ascii_lowercase(),
                fold: true,
            },
        )
    }

    /// One link `l op r` of a comparison: `==`/`!=` ([`Translator::eq_atoms`]), `is`/`is not` with
    /// None, True or False, `in`/`not in` ([`Translator::contains_atoms`]) and the orderings
    /// ([`Translator::order_atoms`]); a bool.
    pub(super) fn compare(
        &mut self,
        op: ast::CmpOp,
        l: &Value,
        r: &Value,
        node: &ast::Expr,
    ) -> Translated<Value> {
        use ast::CmpOp as C;
        match op {
            C::Eq => self.pairwise(l, r, |a, b| self.eq_atoms(a, b), node),
            C::NotEq => {
                let v = self.pairwise(l, r, |a, b| self.eq_atoms(a, b), node)?;
                let (t, ok) = self.truth(&v);
                Ok(Value::boolean(not(t), ok))
            }
            C::Is | C::IsNot => {
                let Some(c) = r.as_const().cloned() else {
                    return self.refuse(node, "'is' with something other than None, True or False");
                };
                let v = self.pairwise(
                    l,
                    r,
                    |a, _| {
                        Ok((
                            match (a, &c) {
                                (Atom::Const(x), c) => Expr::Const(match (x, c) {
                                    (Py::None, Py::None) => true,
                                    (Py::Bool(a), Py::Bool(b)) => a == b,
                                    _ => false,
                                }),
                                (Atom::Json(l), Py::Bool(b)) => and(
                                    self.is_type(l, JsonType::Boolean),
                                    self.pred(l, Test::Is(serde_json::Value::Bool(*b))),
                                ),
                                (Atom::Bool(e), Py::Bool(true)) => e.clone(),
                                (Atom::Bool(e), Py::Bool(false)) => not(e.clone()),
                                _ => Expr::Const(false),
                            },
                            Expr::Const(true),
                        ))
                    },
                    node,
                )?;
                if op == C::IsNot {
                    let (t, ok) = self.truth(&v);
                    Ok(Value::boolean(not(t), ok))
                } else {
                    Ok(v)
                }
            }
            C::In | C::NotIn => {
                let v = self.pairwise(r, l, |c, i| self.contains_atoms(c, i), node)?;
                if op == C::NotIn {
                    let (t, ok) = self.truth(&v);
                    Ok(Value::boolean(not(t), ok))
                } else {
                    Ok(v)
                }
            }
            C::Lt | C::LtE | C::Gt | C::GtE => {
                let op = match op {
                    C::Lt => CompareOp::Lt,
                    C::LtE => CompareOp::Lte,
                    C::Gt => CompareOp::Gt,
                    _ => CompareOp::Gte,
                };
                self.pairwise(l, r, |a, b| self.order_atoms(op, a, b), node)
            }
        }
    }

    /// `a < b` (`op`) for one pair of alternatives: (true when, ok). Numbers (bools as 0 and 1) and
    /// strings order among themselves; anything else raises `TypeError`.
    fn order_atoms(&self, op: CompareOp, a: &Atom, b: &Atom) -> Result<(Expr, Expr), String> {
        if matches!(a, Atom::Concat { .. }) || matches!(b, Atom::Concat { .. }) {
            return Err("ordering a built string (f-string or +)".into());
        }
        let flip = |op: CompareOp| match op {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Lte => CompareOp::Gte,
            CompareOp::Gte => CompareOp::Lte,
        };
        Ok(match (a, b) {
            (Atom::Const(x), Atom::Const(y)) => match (x.as_num(), y.as_num(), x, y) {
                (Some(p), Some(q), _, _) => {
                    let holds = p.py_cmp(q).is_some_and(|o| match op {
                        CompareOp::Lt => o.is_lt(),
                        CompareOp::Lte => o.is_le(),
                        CompareOp::Gt => o.is_gt(),
                        CompareOp::Gte => o.is_ge(),
                    });
                    (Expr::Const(holds), Expr::Const(true))
                }
                (_, _, Py::Str(p), Py::Str(q)) => {
                    let o = p.cmp(q);
                    let holds = match op {
                        CompareOp::Lt => o.is_lt(),
                        CompareOp::Lte => o.is_le(),
                        CompareOp::Gt => o.is_gt(),
                        CompareOp::Gte => o.is_ge(),
                    };
                    (Expr::Const(holds), Expr::Const(true))
                }
                _ => (Expr::Const(false), Expr::Const(false)),
            },
            (Atom::Json(l), Atom::Const(c)) => self.order_field(op, l, c)?,
            (Atom::Const(c), Atom::Json(l)) => self.order_field(flip(op), l, c)?,
            (Atom::Bool(e), Atom::Const(c)) | (Atom::Const(c), Atom::Bool(e)) => {
                let op = if matches!(a, Atom::Bool(_)) {
                    op
                } else {
                    flip(op)
                };
                match c.as_number() {
                    Some(n) => (
                        or(
                            and(e.clone(), Expr::Const(op.holds(1.0, n))),
                            and(not(e.clone()), Expr::Const(op.holds(0.0, n))),
                        ),
                        Expr::Const(true),
                    ),
                    None => (Expr::Const(false), Expr::Const(false)),
                }
            }
            _ => return Err("an ordering comparison between these values".into()),
        })
    }

    /// The field at `l` against a constant (`field op c`): the field must be a number or a bool, an
    /// ordering against text is refused.
    fn order_field(&self, op: CompareOp, l: &Loc, c: &Py) -> Result<(Expr, Expr), String> {
        let Some(n) = c.as_number() else {
            return match c {
                Py::Str(_) => Err("ordering a field against text".into()),
                _ => Ok((Expr::Const(false), Expr::Const(false))),
            };
        };
        // The targets compare as floats, exact only below 2^53 (Python compares ints exactly).
        if n.abs() >= 9_007_199_254_740_992.0 {
            return Err("ordering a field against a number of 2^53 or more".into());
        }
        let number = Number {
            value: n,
            text: c
                .json_scalar()
                .map(|j| j.to_string())
                .unwrap_or_else(|| n.to_string()),
        };
        let value = crate::panther::detection::py_compare(&l.field(), op, &number, self.span);
        let ok = or(
            self.is_type(l, JsonType::Number),
            self.is_type(l, JsonType::Boolean),
        );
        Ok((value, ok))
    }

    /// Python can hash the value (a set member or dict key): not a list or dict.
    pub(super) fn hashable(&self, a: &Atom) -> Expr {
        match a {
            Atom::Json(l) => and(
                not(self.is_type(l, JsonType::Array)),
                not(self.is_type(l, JsonType::Object)),
            ),
            _ => Expr::Const(true),
        }
    }

    /// `i in c` for one pair of alternatives (`c` the container, `i` the item): (true when, ok).
    /// A constant string holds substrings; a constant list, set or dict holds equal items; a field
    /// holds the text (a string), the element (an array) or the key (an object).
    fn contains_atoms(&self, c: &Atom, i: &Atom) -> Result<(Expr, Expr), String> {
        let yes = Expr::Const(true);
        if matches!(c, Atom::Concat { .. }) || matches!(i, Atom::Concat { .. }) {
            return Err("'in' with a built string (f-string or +)".into());
        }
        Ok(match (c, i) {
            (Atom::Const(Py::Str(s)), Atom::Const(Py::Str(t))) => {
                (Expr::Const(s.contains(t.as_str())), yes)
            }
            (Atom::Const(Py::Str(_)), Atom::Const(_)) => (Expr::Const(false), Expr::Const(false)),
            (Atom::Const(Py::Str(_)), _) => {
                return Err("'in' a constant string with event data on the left".into())
            }
            (Atom::Const(p @ (Py::Seq(_) | Py::Set(_) | Py::Dict(_))), item) => {
                let mut vals = Vec::new();
                // A set or dict hashes the item: a list or dict raises TypeError.
                let mut oks = match p {
                    Py::Seq(_) => vec![],
                    _ => vec![self.hashable(item)],
                };
                for x in p.elements().unwrap_or_default() {
                    let (v, ok) = self.eq_atoms(item, &Atom::Const(x))?;
                    vals.push(v);
                    oks.push(ok);
                }
                (Expr::or(vals), Expr::and(oks))
            }
            (Atom::Const(_), _) => (Expr::Const(false), Expr::Const(false)),
            (Atom::Json(l), Atom::Const(item)) => {
                let Some(j) = item.json_scalar() else {
                    return Err("'in' with a list or dict on the left".into());
                };
                let in_list = crate::panther::any_element(&l.field(), Test::Is(j), self.span);
                let ok_types = Expr::or(vec![
                    self.is_type(l, JsonType::Array),
                    self.is_type(l, JsonType::Object),
                ]);
                match item {
                    Py::Str(s) => (
                        Expr::or(vec![
                            self.pred(
                                l,
                                Test::Str {
                                    pattern: Pattern::literal(s.clone()).any_prefix().any_suffix(),
                                    fold: false,
                                },
                            ),
                            in_list,
                            self.pred(l, Test::HasKey(s.clone())),
                        ]),
                        or(self.is_type(l, JsonType::String), ok_types),
                    ),
                    _ => (in_list, ok_types),
                }
            }
            (Atom::Case(l, upper), Atom::Const(item)) => match item {
                Py::Str(s) => (
                    self.case_match(
                        l,
                        *upper,
                        Pattern::literal(s.clone()).any_prefix().any_suffix(),
                        s,
                    ),
                    yes,
                ),
                _ => (Expr::Const(false), Expr::Const(false)),
            },
            (Atom::Json(c), Atom::Json(i)) => {
                same_base(c, i)?;
                let both = and(
                    self.is_type(c, JsonType::String),
                    self.is_type(i, JsonType::String),
                );
                (
                    and(
                        both.clone(),
                        self.pred(
                            c,
                            Test::FieldRef(crate::ir::FieldRef {
                                other: i.field(),
                                anchor: Anchor::Substring,
                                cased: true,
                                before: String::new(),
                                after: String::new(),
                            }),
                        ),
                    ),
                    both,
                )
            }
            (Atom::Walk(p), Atom::Const(item)) => match item.json_scalar() {
                Some(j) if !j.is_null() => (
                    quantified(p, crate::ir::Quantifier::Any, Test::Is(j), self.span),
                    yes,
                ),
                _ => return Err("'in' deep_walk() with this value".into()),
            },
            _ => return Err("'in' between these values".into()),
        })
    }
}

/// Two locations compared with each other must be read from the same scope (both the event,
/// or both the same array element).
pub(super) fn same_base(a: &Loc, b: &Loc) -> Result<(), String> {
    if a.elem == b.elem {
        Ok(())
    } else {
        Err("comparing an array element with a field outside the array".into())
    }
}
