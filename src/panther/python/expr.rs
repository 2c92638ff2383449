use rustpython_parser::ast;

use super::keys::Read;
use super::value::{ite, Atom, Callable, Py, Value};
use super::{and, not, nt, Env, Translator, R};

impl<'m> Translator<'m> {
    pub(super) fn expr(&mut self, e: &ast::Expr, env: &Env) -> R<Value> {
        match e {
            ast::Expr::Constant(c) => Ok(Value::konst(constant(&c.value, e)?)),
            ast::Expr::Name(n) => match env
                .get(n.id.as_str())
                .or_else(|| self.globals.get(n.id.as_str()))
            {
                Some(v) => Ok(v.clone()),
                None if self.functions.contains_key(n.id.as_str()) => {
                    Ok(Value::of(Atom::Call(Callable::Local(n.id.to_string()))))
                }
                None => match n.id.as_str() {
                    "any" | "all" | "bool" | "isinstance" | "len" | "set" | "frozenset"
                    | "list" | "tuple" | "str" => {
                        Ok(Value::of(Atom::Call(Callable::Helper(n.id.to_string()))))
                    }
                    // The prelude's own imports.
                    "fnmatch" | "deep_get" if self.site.is_some() => {
                        Ok(Value::of(Atom::Call(Callable::Helper(n.id.to_string()))))
                    }
                    other => self.err(e, format!("the name '{other}'")),
                },
            },
            ast::Expr::List(l) => self.const_seq(&l.elts, env, e),
            ast::Expr::Tuple(l) => self.const_seq(&l.elts, env, e),
            ast::Expr::Set(l) => match self.const_seq(&l.elts, env, e)?.as_const() {
                Some(Py::Seq(items)) => Ok(Value::konst(Py::Set(items.clone()))),
                _ => self.err(e, "this set"),
            },
            ast::Expr::Dict(d) => {
                let mut out = Vec::new();
                for (k, v) in d.keys.iter().zip(&d.values) {
                    let Some(k) = k else {
                        return self.err(e, "a dict with ** unpacking");
                    };
                    let (Some(k), Some(v)) = (
                        self.expr(k, env)?.as_const().cloned(),
                        self.expr(v, env)?.as_const().cloned(),
                    ) else {
                        return self.err(e, "a dict built from event data");
                    };
                    out.push((k, v));
                }
                Ok(Value::konst(Py::Dict(out)))
            }
            ast::Expr::BoolOp(b) => {
                let mut it = b.values.iter();
                let Some(first) = it.next() else {
                    return self.err(e, "an empty boolean operation");
                };
                let mut acc = self.expr(first, env)?;
                for x in it {
                    let v = self.expr(x, env)?;
                    acc = if b.op == ast::BoolOp::And {
                        self.value_and(acc, v)
                    } else {
                        self.value_or(acc, v)
                    };
                }
                Ok(acc)
            }
            ast::Expr::UnaryOp(u) => {
                let v = self.expr(&u.operand, env)?;
                match u.op {
                    ast::UnaryOp::Not => {
                        let (t, ok) = self.truth(&v);
                        Ok(Value::boolean(not(t), ok))
                    }
                    ast::UnaryOp::USub => match v.as_const() {
                        Some(Py::Num(n)) => Ok(Value::konst(Py::Num(-n))),
                        _ => self.err(e, "unary minus on event data"),
                    },
                    _ => self.err(e, "this unary operator"),
                }
            }
            ast::Expr::IfExp(i) => {
                let c = self.expr(&i.test, env)?;
                let (t, ok) = self.truth(&c);
                let a = self.expr(&i.body, env)?;
                let b = self.expr(&i.orelse, env)?;
                let mut v = ite(t, a, b);
                v.ok = and(ok, v.ok);
                Ok(v)
            }
            ast::Expr::Compare(c) => {
                let mut left = self.expr(&c.left, env)?;
                let mut result: Option<Value> = None;
                for (op, right) in c.ops.iter().zip(&c.comparators) {
                    let r = self.expr(right, env)?;
                    let v = self.compare(*op, &left, &r, e)?;
                    result = Some(match result {
                        None => v,
                        Some(acc) => self.value_and(acc, v),
                    });
                    left = r;
                }
                result.map_or_else(|| self.err(e, "an empty comparison"), Ok)
            }
            ast::Expr::Attribute(a) => {
                let v = self.expr(&a.value, env)?;
                match v.alts.as_slice() {
                    [(_, Atom::Call(Callable::Module(m)))] if m.contains("event_type") => {
                        Ok(Value::konst(Py::Str(a.attr.to_lowercase())))
                    }
                    [(_, Atom::Call(Callable::Module(m)))] if m == "re" => {
                        Ok(Value::konst(Py::Str(format!("re.{}", a.attr))))
                    }
                    alts if !alts.is_empty()
                        && alts.iter().all(|(_, x)| matches!(x, Atom::Ip(_))) =>
                    {
                        self.ip_attribute(&v, a.attr.as_str(), e)
                    }
                    _ => self.err(e, format!("the attribute '.{}' used as a value", a.attr)),
                }
            }
            ast::Expr::Subscript(s) => {
                let recv = self.expr(&s.value, env)?;
                let key = self.expr(&s.slice, env)?;
                match key.as_const() {
                    Some(Py::Str(k)) => {
                        let k = k.clone();
                        self.get_key(&recv, &k, Read::Subscript, e)
                    }
                    Some(Py::Num(_)) => self.err(e, "indexing a list (positions in event arrays)"),
                    Some(_) => self.err(e, "this subscript"),
                    None => self.table_lookup(&recv, &key, None, e),
                }
            }
            ast::Expr::Call(c) => self.call(c, env),
            ast::Expr::BinOp(b) => {
                let l = self.expr(&b.left, env)?;
                let r = self.expr(&b.right, env)?;
                match (l.as_const(), r.as_const(), b.op) {
                    (Some(Py::Str(a)), Some(Py::Str(c)), ast::Operator::Add) => {
                        Ok(Value::konst(Py::Str(format!("{a}{c}"))))
                    }
                    (Some(Py::Str(a)), Some(Py::Str(c)), ast::Operator::BitOr)
                        if a.starts_with("re.") && c.starts_with("re.") =>
                    {
                        Ok(Value::konst(Py::Str(format!("{a}|{c}"))))
                    }
                    (
                        Some(Py::Seq(a)),
                        Some(Py::Seq(c)),
                        ast::Operator::Add | ast::Operator::BitOr,
                    ) => Ok(Value::konst(Py::Seq(a.iter().chain(c).cloned().collect()))),
                    (Some(Py::Set(a)), Some(Py::Set(c)), ast::Operator::BitOr) => {
                        Ok(Value::konst(Py::Set(a.iter().chain(c).cloned().collect())))
                    }
                    (Some(Py::Str(a)), None, ast::Operator::Add) => {
                        let a = a.clone();
                        self.concat(&a, &r, "", false, e)
                    }
                    (None, Some(Py::Str(c)), ast::Operator::Add) => {
                        let c = c.clone();
                        self.concat("", &l, &c, false, e)
                    }
                    _ => self.err(e, "arithmetic or concatenation with event data"),
                }
            }
            ast::Expr::JoinedStr(j) => {
                // Literal parts around at most one value.
                let mut before = String::new();
                let mut after = String::new();
                let mut value: Option<Value> = None;
                for part in &j.values {
                    let text = match part {
                        ast::Expr::Constant(c) => match &c.value {
                            ast::Constant::Str(t) => t.clone(),
                            _ => return self.err(part, "this f-string part"),
                        },
                        ast::Expr::FormattedValue(f) => {
                            if f.format_spec.is_some()
                                || !matches!(
                                    f.conversion,
                                    ast::ConversionFlag::None | ast::ConversionFlag::Str
                                )
                            {
                                return self.err(part, "an f-string field with a format or !r/!a");
                            }
                            let v = self.expr(&f.value, env)?;
                            match v.as_const() {
                                Some(p) => match p.str_text() {
                                    Some(t) => t,
                                    None => return self.err(part, "an f-string of this constant"),
                                },
                                None if value.is_none() => {
                                    value = Some(v);
                                    continue;
                                }
                                None => {
                                    return self
                                        .err(part, "an f-string of more than one event value")
                                }
                            }
                        }
                        _ => return self.err(part, "this f-string part"),
                    };
                    if value.is_some() {
                        after.push_str(&text);
                    } else {
                        before.push_str(&text);
                    }
                }
                match value {
                    None => Ok(Value::konst(Py::Str(before))),
                    Some(v) => self.concat(&before, &v, &after, true, e),
                }
            }
            ast::Expr::ListComp(_) | ast::Expr::SetComp(_) | ast::Expr::DictComp(_) => {
                self.err(e, "a comprehension outside any()/all()")
            }
            ast::Expr::GeneratorExp(_) => self.err(e, "a generator outside any()/all()"),
            ast::Expr::Lambda(_) => self.err(e, "a lambda"),
            _ => self.err(e, "this kind of expression"),
        }
    }

    pub(super) fn const_seq(&mut self, elts: &[ast::Expr], env: &Env, e: &ast::Expr) -> R<Value> {
        let mut out = Vec::new();
        for x in elts {
            match self.expr(x, env)?.as_const() {
                Some(p) => out.push(p.clone()),
                None => return self.err(e, "a list built from event data (outside any()/all())"),
            }
        }
        Ok(Value::konst(Py::Seq(out)))
    }
}

pub(super) fn constant(c: &ast::Constant, node: &ast::Expr) -> R<Py> {
    Ok(match c {
        ast::Constant::None => Py::None,
        ast::Constant::Bool(b) => Py::Bool(*b),
        ast::Constant::Str(s) => Py::Str(s.clone()),
        ast::Constant::Int(i) => match i.to_string().parse::<f64>() {
            Ok(f) => Py::Num(f),
            Err(_) => return nt(node, "this integer"),
        },
        ast::Constant::Float(f) => Py::Num(*f),
        ast::Constant::Tuple(items) => {
            let mut out = Vec::new();
            for x in items {
                out.push(constant(x, node)?);
            }
            Py::Seq(out)
        }
        _ => return nt(node, "a bytes, complex or ellipsis constant"),
    })
}
