//! Quantifiers over event arrays: `any()`/`all()` of generators, and `for` loops over event
//! data that return early.
//!
//! Iterating over a constant unrolls the iteration. Iterating over an event array binds the loop
//! variable to a fresh element (a [`Loc`] numbered by `elements_bound`, whose field paths start
//! with [`ELEMENT_MARKER`]), translates the body once for that element, and strips the marker
//! ([`element_relative`]) to make the per-element condition of an [`Expr::Elements`]. A marker
//! that survives to the rule's condition (a loop variable used outside its loop) is refused by
//! [`check_no_element_refs`].

use rustpython_parser::ast::{self, Ranged};

use crate::ir::{Count, Expr, FieldPath, JsonType, Test};
use crate::panther::elements;

use super::stmt::Frame;
use super::value::{Atom, Loc, Py, Value};
use super::{and, not, not_translatable, or, Env, Translated, Translator, ELEMENT_MARKER};

impl<'m> Translator<'m> {
    /// `for var in <event array>:` followed by the rest of the stack. The body must be
    /// `if C: continue` and `if B: return R` statements, every R the same constant: the loop
    /// returns R exactly when some element reaches a return, so it reads as
    /// `if any((not C1 and B1) or (not C1 and not C2 and B2) ...): return R` (each return after
    /// the continues before it; an earlier return that fires returns the same R), an
    /// [`Expr::Elements`] over the array. Returns the joined value and the condition the loop
    /// raises no exception.
    pub(super) fn for_over_event_array(
        &mut self,
        f: &ast::StmtFor,
        stmt: &ast::Stmt,
        var: &str,
        iter: &Value,
        stack: Vec<Frame<'m>>,
        env: Env,
    ) -> Translated<(Value, Expr)> {
        let (test, r) = self.early_return(f, stmt, &env)?;
        let found = self.quantify(true, var, iter, &[], &test, &env, f.iter.as_ref())?;
        let (t, ok) = self.truth(&found);
        let b = self.run(stack, env)?;
        Ok((self.join(t, r, b, stmt)?, ok))
    }

    /// The body of a loop over event data as Python syntax: the condition under which an element
    /// reaches a `return`, and the constant returned (see [`Translator::for_over_event_array`]).
    fn early_return(
        &mut self,
        f: &ast::StmtFor,
        stmt: &ast::Stmt,
        env: &Env,
    ) -> Translated<(ast::Expr, Value)> {
        const WHY: &str = "a for loop over event data whose body is other than \
                           'if ...: continue' and 'if ...: return <one constant>'";
        let mut skips: Vec<ast::Expr> = Vec::new();
        let mut fires: Vec<ast::Expr> = Vec::new();
        let mut r: Option<Value> = None;
        for s in &f.body {
            let ast::Stmt::If(i) = s else {
                return self.refuse(s, WHY);
            };
            if !i.orelse.is_empty() {
                return self.refuse(s, WHY);
            }
            match i.body.as_slice() {
                [ast::Stmt::Continue(_)] => skips.push(ast::Expr::UnaryOp(ast::ExprUnaryOp {
                    range: i.test.range(),
                    op: ast::UnaryOp::Not,
                    operand: i.test.clone(),
                })),
                [ast::Stmt::Return(ret)] => {
                    let v = match &ret.value {
                        Some(e) => self.expr(e, env)?,
                        None => Value::constant(Py::None),
                    };
                    let Some(k) = v.as_const() else {
                        return self.refuse(
                            ret,
                            "a return inside a loop over event data that is not a constant",
                        );
                    };
                    if let Some(prev) = r.as_ref().and_then(Value::as_const) {
                        if prev != k {
                            return self.refuse(
                                ret,
                                "returns of different values inside a loop over event data",
                            );
                        }
                    }
                    r = Some(v.clone());
                    let mut parts = skips.clone();
                    parts.push((*i.test).clone());
                    fires.push(bool_op(ast::BoolOp::And, parts, i.test.range()));
                }
                _ => return self.refuse(s, WHY),
            }
        }
        let Some(r) = r else {
            return self.refuse(stmt, WHY);
        };
        Ok((bool_op(ast::BoolOp::Or, fires, f.iter.range()), r))
    }

    /// `any(...)` / `all(...)` of a generator or a list.
    ///
    /// A generator or list comprehension is quantified over its iterable ([`Translator::quantify`]);
    /// a list, tuple or set display evaluates every item; any other argument must be a constant.
    pub(super) fn any_all(
        &mut self,
        is_any: bool,
        arg: &ast::Expr,
        env: &Env,
    ) -> Translated<Value> {
        let (elt, generators) = match arg {
            ast::Expr::GeneratorExp(g) => (&g.elt, &g.generators),
            ast::Expr::ListComp(g) => (&g.elt, &g.generators),
            ast::Expr::List(_) | ast::Expr::Tuple(_) | ast::Expr::Set(_) => {
                let elts = match arg {
                    ast::Expr::List(l) => &l.elts,
                    ast::Expr::Tuple(l) => &l.elts,
                    ast::Expr::Set(l) => &l.elts,
                    _ => unreachable!(),
                };
                // A list is built whole first: every item is evaluated.
                let mut vals = Vec::new();
                let mut oks = Vec::new();
                for x in elts {
                    let v = self.expr(x, env)?;
                    let (t, ok) = self.truth(&v);
                    vals.push(t);
                    oks.push(ok);
                }
                let v = if is_any {
                    Expr::or(vals)
                } else {
                    Expr::and(vals)
                };
                return Ok(Value::boolean(v, Expr::and(oks)));
            }
            other => {
                let v = self.expr(other, env)?;
                return match v.as_const().and_then(Py::elements) {
                    Some(items) => {
                        let t: Vec<bool> = items.iter().map(Py::truthy).collect();
                        Ok(Value::constant(Py::Bool(if is_any {
                            t.iter().any(|x| *x)
                        } else {
                            t.iter().all(|x| *x)
                        })))
                    }
                    None => self.refuse(
                        other,
                        format!(
                            "{}() of event data other than a generator",
                            if is_any { "any" } else { "all" }
                        ),
                    ),
                };
            }
        };
        let [gen] = generators.as_slice() else {
            return self.refuse(arg, "a generator with several 'for' clauses");
        };
        let ast::Expr::Name(var) = &gen.target else {
            return self.refuse(&gen.target, "a generator target other than a name");
        };
        let iter = self.expr(&gen.iter, env)?;
        self.quantify(
            is_any,
            var.id.as_str(),
            &iter,
            &gen.ifs,
            elt,
            env,
            &gen.iter,
        )
    }

    /// `any()`/`all()` over `iter` of `elt` with `var` bound to each item, filtered by `ifs`: a
    /// constant iterable is unrolled (stopping at the first decisive item, as Python does); an event
    /// array becomes an [`Expr::Elements`] with `Count::Some` (any) or `Count::Every` (all), ok only
    /// when the field is an array and no item raises.
    #[allow(clippy::too_many_arguments)]
    fn quantify(
        &mut self,
        is_any: bool,
        var: &str,
        iter: &Value,
        ifs: &[ast::Expr],
        elt: &ast::Expr,
        env: &Env,
        node: &ast::Expr,
    ) -> Translated<Value> {
        let mut vals = Vec::new();
        let mut oks = vec![iter.ok.clone()];
        for (g, a) in &iter.alts {
            let (v, ok) = match a {
                Atom::Const(p) => {
                    let Some(items) = p.elements() else {
                        oks.push(not(g.clone()));
                        continue;
                    };
                    // Python's order: stop at the first decisive item.
                    let mut ts = Vec::with_capacity(items.len());
                    let mut item_oks = Vec::with_capacity(items.len());
                    for item in items {
                        let mut item_env = env.clone();
                        item_env.insert(var.to_owned(), Value::constant(item));
                        let (t, item_ok) = self.generator_item(is_any, ifs, elt, &item_env)?;
                        ts.push(t);
                        item_oks.push(item_ok);
                    }
                    let ok = Self::chain_ok(!is_any, &ts, item_oks);
                    let acc = if is_any { Expr::or(ts) } else { Expr::and(ts) };
                    (acc, ok)
                }
                Atom::Json(l) => {
                    self.elements_bound += 1;
                    let id = self.elements_bound + 1000 * (l.elem + 1);
                    let element = Loc {
                        elem: id,
                        path: vec![],
                    };
                    let item = Value {
                        alts: vec![
                            (
                                self.pred(&element, Test::Exists),
                                Atom::Json(element.clone()),
                            ),
                            (self.pred(&element, Test::Null), Atom::Const(Py::None)),
                        ],
                        ok: Expr::Const(true),
                    };
                    let mut item_env = env.clone();
                    item_env.insert(var.to_owned(), item);
                    let (t, item_ok) = self.generator_item(is_any, ifs, elt, &item_env)?;
                    let body_v = element_relative(&t, id).map_err(|w| self.refusal(node, w))?;
                    let body_ok =
                        element_relative(&item_ok, id).map_err(|w| self.refusal(node, w))?;
                    let path = l.field();
                    let count = if is_any { Count::Some } else { Count::Every };
                    let v = elements(&path, count, body_v, self.span);
                    let ok = and(
                        self.is_type(l, JsonType::Array),
                        elements(&path, Count::Every, body_ok, self.span),
                    );
                    (v, ok)
                }
                _ => return self.refuse(node, "iterating over this value"),
            };
            vals.push(and(g.clone(), v));
            oks.push(or(not(g.clone()), ok));
        }
        Ok(Value::boolean(Expr::or(vals), Expr::and(oks)))
    }

    /// One item's (truth, ok): with `if` filters, any() needs filter ∧ elt, all() ¬filter ∨ elt.
    fn generator_item(
        &mut self,
        is_any: bool,
        ifs: &[ast::Expr],
        elt: &ast::Expr,
        env: &Env,
    ) -> Translated<(Expr, Expr)> {
        let mut cond = Expr::Const(true);
        let mut ok = Expr::Const(true);
        for f in ifs {
            let v = self.expr(f, env)?;
            let (t, tok) = self.truth(&v);
            ok = and(ok, or(not(cond.clone()), tok));
            cond = and(cond, t);
        }
        let v = self.expr(elt, env)?;
        let (t, tok) = self.truth(&v);
        let ok = and(ok, or(not(cond.clone()), tok));
        Ok(if is_any {
            (and(cond, t), ok)
        } else {
            (or(not(cond), t), ok)
        })
    }
}

/// `a and b and ...` (`or`) as Python syntax, or the one operand itself.
fn bool_op(
    op: ast::BoolOp,
    mut values: Vec<ast::Expr>,
    range: rustpython_parser::text_size::TextRange,
) -> ast::Expr {
    if values.len() == 1 {
        return values.remove(0);
    }
    ast::Expr::BoolOp(ast::ExprBoolOp { range, op, values })
}

/// The element-relative form of a generator body: paths of element `id` lose their marker; any
/// other path (the event, an outer element) cannot be read per element.
fn element_relative(e: &Expr, id: usize) -> Result<Expr, String> {
    let marker = format!("{ELEMENT_MARKER}{id}");
    let strip = |f: &FieldPath| -> Result<FieldPath, String> {
        match f.segments().split_first() {
            Some((first, rest)) if *first == marker => Ok(FieldPath(rest.to_vec())),
            _ => Err(
                "a condition on each array element that also reads the event or an outer element"
                    .into(),
            ),
        }
    };
    Ok(match e {
        Expr::And(xs) => Expr::and(
            xs.iter()
                .map(|x| element_relative(x, id))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Or(xs) => Expr::or(
            xs.iter()
                .map(|x| element_relative(x, id))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Not(x) => Expr::not(element_relative(x, id)?),
        Expr::Const(b) => Expr::Const(*b),
        Expr::Pred(p) => {
            let mut p = p.clone();
            if let crate::ir::Subject::Field(f) = &p.subject {
                p.subject = crate::ir::Subject::Field(strip(f)?);
            }
            if let Test::FieldRef { other, .. } = &mut p.test {
                *other = strip(other)?;
            }
            Expr::Pred(p)
        }
        Expr::Elements(el) => {
            let mut el = el.clone();
            el.path = strip(&el.path)?;
            Expr::Elements(el)
        }
    })
}

/// No element marker may survive to the rule's condition.
pub(super) fn check_no_element_refs(e: &Expr, node: &impl Ranged) -> Translated<()> {
    let mut bad = false;
    let mut visit = |f: &FieldPath| {
        if f.segments()
            .first()
            .is_some_and(|s| s.starts_with(ELEMENT_MARKER))
        {
            bad = true;
        }
    };
    /// Call `v` on every field path `e` reads.
    fn walk(e: &Expr, v: &mut dyn FnMut(&FieldPath)) {
        match e {
            Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| walk(x, v)),
            Expr::Not(x) => walk(x, v),
            Expr::Const(_) => {}
            Expr::Pred(p) => {
                if let crate::ir::Subject::Field(f) = &p.subject {
                    v(f);
                }
            }
            Expr::Elements(el) => v(&el.path),
        }
    }
    walk(e, &mut visit);
    if bad {
        return not_translatable(node, "a loop variable used outside its loop");
    }
    Ok(())
}
