//! Expressions: [`Translator::expr`] turns each Python expression into a [`Value`].
//!
//! Names, constants, literal containers (of constants only), attributes, `x if c else y` and
//! arithmetic on constants are handled here; every other kind of expression is handed to the
//! module of its concern (operators to `ops`, subscripts to `keys`, calls to `calls`, f-strings
//! to `strings`).

use rustpython_parser::ast;

use super::value::{Atom, Callable, Py, Value};
use super::{and, not_translatable, start_offset, Env, Translated, Translator};
use crate::eval::Num;

impl<'m> Translator<'m> {
    /// A Python expression as a [`Value`], within the limits on recursion and size (`limits`).
    pub(super) fn expr(&mut self, e: &ast::Expr, env: &Env) -> Translated<Value> {
        self.enter(start_offset(e))?;
        let v = self.expr_node(e, env);
        self.depth -= 1;
        let v = v?;
        self.check_size(&v, start_offset(e))?;
        Ok(v)
    }

    /// A Python expression as a [`Value`]. Each kind of expression is handled where its concern
    /// lives: operators in `ops`, subscripts in `keys`, calls in `calls`, f-strings in `strings`.
    fn expr_node(&mut self, e: &ast::Expr, env: &Env) -> Translated<Value> {
        match e {
            ast::Expr::Constant(c) => Ok(Value::constant(py_constant(&c.value, e)?)),
            ast::Expr::Name(n) => self.name(n, e, env),
            ast::Expr::List(l) => self.constant_sequence(&l.elts, env, e),
            ast::Expr::Tuple(l) => self.constant_sequence(&l.elts, env, e),
            ast::Expr::Set(l) => match self.constant_sequence(&l.elts, env, e)?.as_const() {
                Some(Py::Seq(items)) => Ok(Value::constant(Py::Set(items.clone()))),
                _ => self.refuse(e, "this set"),
            },
            ast::Expr::Dict(d) => self.dict(d, e, env),
            ast::Expr::BoolOp(b) => self.bool_operation(b, e, env),
            ast::Expr::UnaryOp(u) => self.unary_operation(u, e, env),
            ast::Expr::IfExp(i) => {
                let c = self.expr(&i.test, env)?;
                let (t, ok) = self.truth(&c);
                let a = self.expr(&i.body, env)?;
                let b = self.expr(&i.orelse, env)?;
                let mut v = self.join(t, a, b, e)?;
                v.ok = and(ok, v.ok);
                Ok(v)
            }
            ast::Expr::Compare(c) => self.comparison(c, e, env),
            ast::Expr::Attribute(a) => self.attribute(a, e, env),
            ast::Expr::Subscript(s) => self.subscript(s, e, env),
            ast::Expr::Call(c) => self.call(c, env),
            ast::Expr::BinOp(b) => self.binary_operation(b, e, env),
            ast::Expr::JoinedStr(j) => self.fstring(j, e, env),
            ast::Expr::ListComp(_) | ast::Expr::SetComp(_) | ast::Expr::DictComp(_) => {
                self.refuse(e, "a comprehension outside any()/all()")
            }
            ast::Expr::GeneratorExp(_) => self.refuse(e, "a generator outside any()/all()"),
            ast::Expr::Lambda(_) => self.refuse(e, "a lambda"),
            _ => self.refuse(e, "this kind of expression"),
        }
    }

    /// A name: a local, then a module-level global, then a function of the module, then a builtin
    /// rulecast knows (a [`Callable::Helper`]); anything else is refused.
    fn name(&self, n: &ast::ExprName, e: &ast::Expr, env: &Env) -> Translated<Value> {
        match env
            .get(n.id.as_str())
            .or_else(|| self.globals.get(n.id.as_str()))
        {
            Some(v) => Ok(v.clone()),
            None if self.functions.contains_key(n.id.as_str()) => {
                Ok(Value::of(Atom::Call(Callable::Local(n.id.to_string()))))
            }
            None => match n.id.as_str() {
                "any" | "all" | "bool" | "isinstance" | "len" | "set" | "frozenset" | "list"
                | "tuple" | "str" => Ok(Value::of(Atom::Call(Callable::Helper(n.id.to_string())))),
                // The prelude's own imports.
                "fnmatch" | "deep_get" if self.site.is_some() => {
                    Ok(Value::of(Atom::Call(Callable::Helper(n.id.to_string()))))
                }
                other => self.refuse(e, format!("the name '{other}'")),
            },
        }
    }

    /// A dict display `{k: v, ...}` of constants: a constant [`Py::Dict`].
    fn dict(&mut self, d: &ast::ExprDict, e: &ast::Expr, env: &Env) -> Translated<Value> {
        let mut out = Vec::new();
        for (k, v) in d.keys.iter().zip(&d.values) {
            let Some(k) = k else {
                return self.refuse(e, "a dict with ** unpacking");
            };
            let (Some(k), Some(v)) = (
                self.expr(k, env)?.as_const().cloned(),
                self.expr(v, env)?.as_const().cloned(),
            ) else {
                return self.refuse(e, "a dict built from event data");
            };
            out.push((k, v));
        }
        Ok(Value::constant(Py::Dict(out)))
    }

    /// `x.attr` used as a value: a member of an event-type constants module (its lowercased
    /// name), a flag of `re` (the text `re.FLAG`, read by `regex_flags`), or an attribute of an
    /// `ip_address()` object.
    fn attribute(&mut self, a: &ast::ExprAttribute, e: &ast::Expr, env: &Env) -> Translated<Value> {
        let v = self.expr(&a.value, env)?;
        match v.alts.as_slice() {
            [(_, Atom::Call(Callable::Module(m)))] if m.contains("event_type") => {
                Ok(Value::constant(Py::Str(a.attr.to_lowercase())))
            }
            [(_, Atom::Call(Callable::Module(m)))] if m == "re" => {
                Ok(Value::constant(Py::Str(format!("re.{}", a.attr))))
            }
            alts if !alts.is_empty() && alts.iter().all(|(_, x)| matches!(x, Atom::Ip(_))) => {
                self.ip_attribute(&v, a.attr.as_str(), e)
            }
            _ => self.refuse(e, format!("the attribute '.{}' used as a value", a.attr)),
        }
    }

    /// `l + r` and `l | r`: folded when both are constants (strings, lists, sets, `re` flags);
    /// a string constant added to event data is a built string ([`Translator::concat`]). Other
    /// arithmetic is refused.
    fn binary_operation(
        &mut self,
        b: &ast::ExprBinOp,
        e: &ast::Expr,
        env: &Env,
    ) -> Translated<Value> {
        let l = self.expr(&b.left, env)?;
        let r = self.expr(&b.right, env)?;
        match (l.as_const(), r.as_const(), b.op) {
            (Some(Py::Str(a)), Some(Py::Str(c)), ast::Operator::Add) => {
                Ok(Value::constant(Py::Str(format!("{a}{c}"))))
            }
            (Some(Py::Str(a)), Some(Py::Str(c)), ast::Operator::BitOr)
                if a.starts_with("re.") && c.starts_with("re.") =>
            {
                Ok(Value::constant(Py::Str(format!("{a}|{c}"))))
            }
            (Some(Py::Seq(a)), Some(Py::Seq(c)), ast::Operator::Add | ast::Operator::BitOr) => Ok(
                Value::constant(Py::Seq(a.iter().chain(c).cloned().collect())),
            ),
            (Some(Py::Set(a)), Some(Py::Set(c)), ast::Operator::BitOr) => Ok(Value::constant(
                Py::Set(a.iter().chain(c).cloned().collect()),
            )),
            (Some(Py::Str(a)), None, ast::Operator::Add) => {
                let a = a.clone();
                self.concat(&a, &r, "", false, e)
            }
            (None, Some(Py::Str(c)), ast::Operator::Add) => {
                let c = c.clone();
                self.concat("", &l, &c, false, e)
            }
            _ => self.refuse(e, "arithmetic or concatenation with event data"),
        }
    }

    /// A list or tuple display of constants: a constant [`Py::Seq`] (event data is refused).
    fn constant_sequence(
        &mut self,
        elts: &[ast::Expr],
        env: &Env,
        e: &ast::Expr,
    ) -> Translated<Value> {
        let mut out = Vec::new();
        for x in elts {
            match self.expr(x, env)?.as_const() {
                Some(p) => out.push(p.clone()),
                None => {
                    return self.refuse(e, "a list built from event data (outside any()/all())")
                }
            }
        }
        Ok(Value::constant(Py::Seq(out)))
    }
}

/// A Python literal as a constant. Numbers are kept exactly (an int as an integer), within
/// ±2^63: beyond that JSON integers are read approximately, so a larger one is refused.
fn py_constant(c: &ast::Constant, node: &ast::Expr) -> Translated<Py> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    Ok(match c {
        ast::Constant::None => Py::None,
        ast::Constant::Bool(b) => Py::Bool(*b),
        ast::Constant::Str(s) => Py::Str(s.clone()),
        ast::Constant::Int(i) => match i.to_string().parse::<i64>() {
            Ok(n) if n != i64::MIN => Py::Num(Num::Int(i128::from(n))),
            _ => return not_translatable(node, "an integer of 2^63 or more"),
        },
        ast::Constant::Float(f) if f.is_finite() && f.abs() < LIMIT => Py::Num(Num::Float(*f)),
        ast::Constant::Float(_) => {
            return not_translatable(node, "a float of 2^63 or more (or infinite)")
        }
        ast::Constant::Tuple(items) => {
            let mut out = Vec::new();
            for x in items {
                out.push(py_constant(x, node)?);
            }
            Py::Seq(out)
        }
        _ => return not_translatable(node, "a bytes, complex or ellipsis constant"),
    })
}
