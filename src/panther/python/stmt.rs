use rustpython_parser::ast::{self, Ranged};

use crate::ir::Expr;

use super::generators::bool_op;
use super::ipaddress::TryIp;
use super::module::imported;
use super::value::{ite, Atom, Callable, Py, Value};
use super::{Env, Translator, R};

/// One block being run, and (for an unrolled loop) what comes next.
#[derive(Clone)]
pub(super) struct Frame<'a> {
    pub(super) stmts: &'a [ast::Stmt],
    pub(super) lp: Option<Loop<'a>>,
}

#[derive(Clone)]
pub(super) struct Loop<'a> {
    /// The loop variable, or the names a `for a, b in ...` target unpacks each item into.
    pub(super) var: Vec<String>,
    pub(super) items: Vec<Value>,
    pub(super) next: usize,
    pub(super) body: &'a [ast::Stmt],
}

impl<'m> Translator<'m> {
    /// Run the frames (innermost last) to the function's return value.
    pub(super) fn run(&mut self, mut stack: Vec<Frame<'m>>, mut env: Env) -> R<Value> {
        let mut pre_ok: Vec<Expr> = Vec::new();
        let finish = |v: Value, pre_ok: Vec<Expr>| -> Value {
            let mut v = v;
            let mut oks = pre_ok;
            oks.push(v.ok);
            v.ok = Expr::and(oks);
            v
        };
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(finish(Value::konst(Py::None), pre_ok));
            };
            let Some((stmt, rest)) = top.stmts.split_first() else {
                let frame = stack.pop();
                if let Some(Frame {
                    lp: Some(mut lp), ..
                }) = frame
                {
                    if lp.next < lp.items.len() {
                        bind(&mut env, &lp.var, &lp.items[lp.next]);
                        lp.next += 1;
                        let body = lp.body;
                        stack.push(Frame {
                            stmts: body,
                            lp: Some(lp),
                        });
                    }
                }
                continue;
            };
            top.stmts = rest;
            match stmt {
                ast::Stmt::Return(r) => {
                    let v = match &r.value {
                        Some(e) => self.expr(e, &env)?,
                        None => Value::konst(Py::None),
                    };
                    return Ok(finish(v, pre_ok));
                }
                ast::Stmt::If(i) => {
                    let c = self.expr(&i.test, &env)?;
                    let (t, ok) = self.truth(&c);
                    let mut a_stack = stack.clone();
                    a_stack.push(Frame {
                        stmts: &i.body,
                        lp: None,
                    });
                    let mut b_stack = stack;
                    b_stack.push(Frame {
                        stmts: &i.orelse,
                        lp: None,
                    });
                    let a = if t == Expr::Const(false) {
                        Value::raising()
                    } else {
                        self.run(a_stack, env.clone())?
                    };
                    let b = if t == Expr::Const(true) {
                        Value::raising()
                    } else {
                        self.run(b_stack, env)?
                    };
                    pre_ok.push(ok);
                    return Ok(finish(ite(t, a, b), pre_ok));
                }
                ast::Stmt::Assign(a) => {
                    let v = self.expr(&a.value, &env)?;
                    let [ast::Expr::Name(n)] = a.targets.as_slice() else {
                        return self.err(stmt, "an assignment to something other than one name");
                    };
                    pre_ok.push(v.ok.clone());
                    env.insert(
                        n.id.to_string(),
                        Value {
                            ok: Expr::Const(true),
                            ..v
                        },
                    );
                }
                ast::Stmt::AnnAssign(a) => {
                    let (ast::Expr::Name(n), Some(value)) = (a.target.as_ref(), &a.value) else {
                        return self.err(stmt, "an annotated assignment without a value");
                    };
                    let v = self.expr(value, &env)?;
                    pre_ok.push(v.ok.clone());
                    env.insert(
                        n.id.to_string(),
                        Value {
                            ok: Expr::Const(true),
                            ..v
                        },
                    );
                }
                ast::Stmt::For(f) => {
                    if !f.orelse.is_empty() {
                        return self.err(stmt, "a for loop with an else block");
                    }
                    let names: Vec<String> = match f.target.as_ref() {
                        ast::Expr::Name(n) => vec![n.id.to_string()],
                        ast::Expr::Tuple(t) => t
                            .elts
                            .iter()
                            .map(|x| match x {
                                ast::Expr::Name(n) => Some(n.id.to_string()),
                                _ => None,
                            })
                            .collect::<Option<_>>()
                            .ok_or(())
                            .or_else(|_| {
                                self.err(f.target.as_ref(), "a for loop target other than names")
                            })?,
                        _ => {
                            return self
                                .err(f.target.as_ref(), "a for loop target other than a name")
                        }
                    };
                    let unpacks = matches!(f.target.as_ref(), ast::Expr::Tuple(_));
                    let iter = self.expr(&f.iter, &env)?;
                    if let Some(p) = iter.as_const() {
                        let Some(items) = p.elements() else {
                            return self.err(f.iter.as_ref(), "a for loop over a non-iterable");
                        };
                        let items: Vec<Value> = if unpacks {
                            // `for k, v in TABLE.items()`: each item a tuple of as many values.
                            items
                                .into_iter()
                                .map(|x| match x {
                                    Py::Seq(parts) if parts.len() == names.len() => {
                                        Some(Value::konst(Py::Seq(parts)))
                                    }
                                    _ => None,
                                })
                                .collect::<Option<_>>()
                                .ok_or(())
                                .or_else(|_| {
                                    self.err(
                                        f.target.as_ref(),
                                        "unpacking items that are not tuples of that length",
                                    )
                                })?
                        } else {
                            items.into_iter().map(Value::konst).collect()
                        };
                        if let Some(first) = items.first() {
                            let var = if unpacks {
                                names.clone()
                            } else {
                                vec![names[0].clone()]
                            };
                            bind(&mut env, &var, first);
                            stack.push(Frame {
                                stmts: &f.body,
                                lp: Some(Loop {
                                    var,
                                    items,
                                    next: 1,
                                    body: &f.body,
                                }),
                            });
                        }
                        continue;
                    }
                    let [var] = names.as_slice() else {
                        return self.err(
                            f.target.as_ref(),
                            "unpacking the elements of an event array",
                        );
                    };
                    let var = var.clone();
                    // `for x in <event array>:` whose body is `if C: continue` and `if B: return R`
                    // statements, every R the same constant, returns R exactly when some element
                    // reaches a return: `if any((not C1 and B1) or (not C1 and not C2 and B2) ...):
                    // return R` (each return after the continues before it; an earlier return
                    // that fires returns the same R).
                    const WHY: &str = "a for loop over event data whose body is other than \
                                       'if ...: continue' and 'if ...: return <one constant>'";
                    let mut skips: Vec<ast::Expr> = Vec::new();
                    let mut fires: Vec<ast::Expr> = Vec::new();
                    let mut r: Option<Value> = None;
                    for s in &f.body {
                        let ast::Stmt::If(i) = s else {
                            return self.err(s, WHY);
                        };
                        if !i.orelse.is_empty() {
                            return self.err(s, WHY);
                        }
                        match i.body.as_slice() {
                            [ast::Stmt::Continue(_)] => {
                                skips.push(ast::Expr::UnaryOp(ast::ExprUnaryOp {
                                    range: i.test.range(),
                                    op: ast::UnaryOp::Not,
                                    operand: i.test.clone(),
                                }))
                            }
                            [ast::Stmt::Return(ret)] => {
                                let v = match &ret.value {
                                    Some(e) => self.expr(e, &env)?,
                                    None => Value::konst(Py::None),
                                };
                                let Some(k) = v.as_const() else {
                                    return self.err(
                                        ret,
                                        "a return inside a loop over event data that is not a \
                                         constant",
                                    );
                                };
                                if let Some(prev) = r.as_ref().and_then(Value::as_const) {
                                    if prev != k {
                                        return self.err(
                                            ret,
                                            "returns of different values inside a loop over \
                                             event data",
                                        );
                                    }
                                }
                                r = Some(v.clone());
                                let mut parts = skips.clone();
                                parts.push((*i.test).clone());
                                fires.push(bool_op(ast::BoolOp::And, parts, i.test.range()));
                            }
                            _ => return self.err(s, WHY),
                        }
                    }
                    let Some(r) = r else {
                        return self.err(stmt, WHY);
                    };
                    let test = bool_op(ast::BoolOp::Or, fires, f.iter.range());
                    let found = self.quantify(
                        true,
                        var.as_str(),
                        &iter,
                        &[],
                        &test,
                        &env,
                        f.iter.as_ref(),
                    )?;
                    let (t, ok) = self.truth(&found);
                    let b = self.run(stack, env)?;
                    pre_ok.push(ok);
                    return Ok(finish(ite(t, r, b), pre_ok));
                }
                ast::Stmt::Continue(_) | ast::Stmt::Break(_) => {
                    let is_break = matches!(stmt, ast::Stmt::Break(_));
                    loop {
                        match stack.last() {
                            None => return self.err(stmt, "break/continue outside a loop"),
                            Some(Frame { lp: Some(_), .. }) => break,
                            Some(_) => {
                                stack.pop();
                            }
                        }
                    }
                    if let Some(top) = stack.last_mut() {
                        top.stmts = &[];
                        if is_break {
                            stack.pop();
                        }
                    }
                }
                ast::Stmt::Raise(_) => {
                    pre_ok.push(Expr::Const(false));
                    return Ok(finish(Value::raising(), pre_ok));
                }
                ast::Stmt::Expr(e) if matches!(e.value.as_ref(), ast::Expr::Constant(_)) => {}
                ast::Stmt::Pass(_) | ast::Stmt::Global(_) | ast::Stmt::Nonlocal(_) => {}
                ast::Stmt::Import(i) => {
                    for a in &i.names {
                        let name = a.asname.as_ref().unwrap_or(&a.name).to_string();
                        env.insert(
                            name,
                            Value::of(Atom::Call(Callable::Module(a.name.to_string()))),
                        );
                    }
                }
                ast::Stmt::ImportFrom(i) => {
                    let module = i.module.as_ref().map(|m| m.to_string()).unwrap_or_default();
                    for a in &i.names {
                        let name = a.asname.as_ref().unwrap_or(&a.name).to_string();
                        env.insert(
                            name,
                            Value::of(Atom::Call(imported(&module, a.name.as_str()))),
                        );
                    }
                }
                ast::Stmt::Expr(_) => {
                    return self.err(stmt, "a statement with side effects");
                }
                ast::Stmt::Try(t) => {
                    let (value, handler) = self.try_ip_address(t, stmt, &env)?;
                    let TryIp {
                        valid,
                        first,
                        bind,
                        rest,
                    } = value;
                    // The address parsed: the rest of the try block, then what follows it.
                    let a = match first {
                        Some(returned) => returned,
                        None => {
                            let mut env_a = env.clone();
                            if let Some((name, v)) = bind {
                                env_a.insert(name, v);
                            }
                            let mut a_stack = stack.clone();
                            a_stack.push(Frame {
                                stmts: rest,
                                lp: None,
                            });
                            self.run(a_stack, env_a)?
                        }
                    };
                    // ValueError: the handler, then what follows the try statement.
                    let mut b_stack = stack;
                    b_stack.push(Frame {
                        stmts: handler,
                        lp: None,
                    });
                    let b = self.run(b_stack, env)?;
                    return Ok(finish(ite(valid, a, b), pre_ok));
                }
                ast::Stmt::TryStar(_) => {
                    return self.err(
                        stmt,
                        "try/except (which exceptions are caught cannot be followed)",
                    )
                }
                ast::Stmt::While(_) => return self.err(stmt, "a while loop"),
                ast::Stmt::FunctionDef(_) => {
                    return self.err(stmt, "a function defined inside a function")
                }
                _ => return self.err(stmt, "this kind of statement"),
            }
        }
    }
}

/// Bind a loop variable, or unpack a constant tuple into several names.
pub(super) fn bind(env: &mut Env, names: &[String], item: &Value) {
    match (names, item.as_const()) {
        ([one], _) => {
            env.insert(one.clone(), item.clone());
        }
        (many, Some(Py::Seq(parts))) => {
            for (n, p) in many.iter().zip(parts) {
                env.insert(n.clone(), Value::konst(p.clone()));
            }
        }
        _ => {}
    }
}
