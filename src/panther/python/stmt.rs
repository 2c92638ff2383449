//! Statements: running a function body to its return value.
//!
//! [`Translator::run`] keeps a stack of [`Frame`]s (the blocks being run, innermost last) and an
//! environment of local names. Assignments and imports bind names; `if`, `try` and loops over
//! event data branch (each continuation runs to its `return`, and the values join on the
//! condition); loops over constants are unrolled one item at a time; `raise` gives a value that
//! never is ok. Anything else is refused.

use rustpython_parser::ast;

use crate::ir::Expr;

use super::ipaddress::TryIp;
use super::module::{import_bindings, import_from_bindings};
use super::value::{Py, Value};
use super::{Env, Translated, Translator};

/// One block being run, and (for an unrolled loop) what comes next.
#[derive(Clone)]
pub(super) struct Frame<'a> {
    pub(super) stmts: &'a [ast::Stmt],
    pub(super) unrolled: Option<Loop<'a>>,
}

/// A loop over constants being unrolled: the items, and the next one to bind.
#[derive(Clone)]
pub(super) struct Loop<'a> {
    /// The loop variable, or the names a `for a, b in ...` target unpacks each item into.
    names: Vec<String>,
    items: Vec<Value>,
    next: usize,
    body: &'a [ast::Stmt],
}

impl<'m> Translator<'m> {
    /// Run the frames (innermost last) to the function's return value.
    ///
    /// Statements that only bind names (assignments, imports, the steps of a loop over constants)
    /// update `env` and go on; the `ok` of each value they compute is collected in `pre_ok`, since
    /// an exception there ends the function whatever comes next. A statement that branches (`if`,
    /// `try`, a loop over event data) runs each continuation to its return value and joins them
    /// with [`Value::if_then_else`]; `return` ends the run.
    pub(super) fn run(&mut self, mut stack: Vec<Frame<'m>>, mut env: Env) -> Translated<Value> {
        let mut pre_ok: Vec<Expr> = Vec::new();
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(finish(Value::constant(Py::None), pre_ok));
            };
            let Some((stmt, rest)) = top.stmts.split_first() else {
                end_block(&mut stack, &mut env);
                continue;
            };
            top.stmts = rest;
            match stmt {
                ast::Stmt::Return(r) => {
                    let v = match &r.value {
                        Some(e) => self.expr(e, &env)?,
                        None => Value::constant(Py::None),
                    };
                    return Ok(finish(v, pre_ok));
                }
                ast::Stmt::If(i) => {
                    let (v, ok) = self.run_if(i, stack, env)?;
                    pre_ok.push(ok);
                    return Ok(finish(v, pre_ok));
                }
                ast::Stmt::Assign(a) => {
                    let v = self.expr(&a.value, &env)?;
                    let [ast::Expr::Name(n)] = a.targets.as_slice() else {
                        return self.refuse(stmt, "an assignment to something other than one name");
                    };
                    assign(&mut env, &mut pre_ok, n.id.to_string(), v);
                }
                ast::Stmt::AnnAssign(a) => {
                    let (ast::Expr::Name(n), Some(value)) = (a.target.as_ref(), &a.value) else {
                        return self.refuse(stmt, "an annotated assignment without a value");
                    };
                    let v = self.expr(value, &env)?;
                    assign(&mut env, &mut pre_ok, n.id.to_string(), v);
                }
                ast::Stmt::For(f) => {
                    if !f.orelse.is_empty() {
                        return self.refuse(stmt, "a for loop with an else block");
                    }
                    let names = self.for_target_names(f)?;
                    let unpacks = matches!(f.target.as_ref(), ast::Expr::Tuple(_));
                    let iter = self.expr(&f.iter, &env)?;
                    if let Some(p) = iter.as_const() {
                        if let Some(frame) = self.unroll_for(f, p, &names, unpacks, &mut env)? {
                            stack.push(frame);
                        }
                        continue;
                    }
                    let [var] = names.as_slice() else {
                        return self.refuse(
                            f.target.as_ref(),
                            "unpacking the elements of an event array",
                        );
                    };
                    let (v, ok) = self.for_over_event_array(f, stmt, var, &iter, stack, env)?;
                    pre_ok.push(ok);
                    return Ok(finish(v, pre_ok));
                }
                ast::Stmt::Continue(_) | ast::Stmt::Break(_) => {
                    self.leave_loop_body(stmt, &mut stack)?;
                }
                ast::Stmt::Raise(_) => {
                    pre_ok.push(Expr::Const(false));
                    return Ok(finish(Value::raising(), pre_ok));
                }
                ast::Stmt::Expr(e) if matches!(e.value.as_ref(), ast::Expr::Constant(_)) => {}
                ast::Stmt::Pass(_) => {}
                ast::Stmt::Global(_) | ast::Stmt::Nonlocal(_) => {
                    return self.refuse(
                        stmt,
                        "a global or nonlocal statement (a function that rebinds a module-level name)",
                    );
                }
                ast::Stmt::Import(i) => env.extend(import_bindings(i)),
                ast::Stmt::ImportFrom(i) => env.extend(import_from_bindings(i)),
                ast::Stmt::Expr(_) => {
                    return self.refuse(stmt, "a statement with side effects");
                }
                ast::Stmt::Try(t) => {
                    let v = self.run_try(t, stmt, stack, env)?;
                    return Ok(finish(v, pre_ok));
                }
                ast::Stmt::TryStar(_) => {
                    return self.refuse(
                        stmt,
                        "try/except (which exceptions are caught cannot be followed)",
                    )
                }
                ast::Stmt::While(_) => return self.refuse(stmt, "a while loop"),
                ast::Stmt::FunctionDef(_) => {
                    return self.refuse(stmt, "a function defined inside a function")
                }
                _ => return self.refuse(stmt, "this kind of statement"),
            }
        }
    }

    /// `if test: body else: orelse` followed by the rest of the stack: both branches run to their
    /// return values (a branch the test can never take is not run), joined on the test's truth.
    /// Returns the joined value and the condition the test raises no exception.
    fn run_if(
        &mut self,
        i: &'m ast::StmtIf,
        stack: Vec<Frame<'m>>,
        env: Env,
    ) -> Translated<(Value, Expr)> {
        let c = self.expr(&i.test, &env)?;
        let (t, ok) = self.truth(&c);
        let mut a_stack = stack.clone();
        a_stack.push(Frame {
            stmts: &i.body,
            unrolled: None,
        });
        let mut b_stack = stack;
        b_stack.push(Frame {
            stmts: &i.orelse,
            unrolled: None,
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
        Ok((Value::if_then_else(t, a, b), ok))
    }

    /// The names a `for` target binds: one name, or a tuple of names to unpack each item into.
    fn for_target_names(&self, f: &ast::StmtFor) -> Translated<Vec<String>> {
        match f.target.as_ref() {
            ast::Expr::Name(n) => Ok(vec![n.id.to_string()]),
            ast::Expr::Tuple(t) => t
                .elts
                .iter()
                .map(|x| match x {
                    ast::Expr::Name(n) => Some(n.id.to_string()),
                    _ => None,
                })
                .collect::<Option<_>>()
                .ok_or(())
                .or_else(|_| self.refuse(f.target.as_ref(), "a for loop target other than names")),
            _ => self.refuse(f.target.as_ref(), "a for loop target other than a name"),
        }
    }

    /// `for names in <constant>:`: the loop is unrolled. The first item is bound in `env` and the
    /// frame that runs the body (and then the next items) is returned; None for an empty sequence.
    fn unroll_for(
        &self,
        f: &'m ast::StmtFor,
        p: &Py,
        names: &[String],
        unpacks: bool,
        env: &mut Env,
    ) -> Translated<Option<Frame<'m>>> {
        let Some(items) = p.elements() else {
            return self.refuse(f.iter.as_ref(), "a for loop over a non-iterable");
        };
        let items: Vec<Value> = if unpacks {
            // `for k, v in TABLE.items()`: each item a tuple of as many values.
            items
                .into_iter()
                .map(|x| match x {
                    Py::Seq(parts) if parts.len() == names.len() => {
                        Some(Value::constant(Py::Seq(parts)))
                    }
                    _ => None,
                })
                .collect::<Option<_>>()
                .ok_or(())
                .or_else(|_| {
                    self.refuse(
                        f.target.as_ref(),
                        "unpacking items that are not tuples of that length",
                    )
                })?
        } else {
            items.into_iter().map(Value::constant).collect()
        };
        let Some(first) = items.first() else {
            return Ok(None);
        };
        let bound = if unpacks {
            names.to_vec()
        } else {
            vec![names[0].clone()]
        };
        bind_loop_item(env, &bound, first);
        Ok(Some(Frame {
            stmts: &f.body,
            unrolled: Some(Loop {
                names: bound,
                items,
                next: 1,
                body: &f.body,
            }),
        }))
    }

    /// `break` / `continue`: drop the frames inside the innermost unrolled loop and end its
    /// current pass; `break` drops the loop too, so its remaining items never run.
    fn leave_loop_body(&self, stmt: &ast::Stmt, stack: &mut Vec<Frame<'m>>) -> Translated<()> {
        let is_break = matches!(stmt, ast::Stmt::Break(_));
        loop {
            match stack.last() {
                None => return self.refuse(stmt, "break/continue outside a loop"),
                Some(Frame {
                    unrolled: Some(_), ..
                }) => break,
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
        Ok(())
    }

    /// `try: ... except ValueError: ...` around one `ipaddress.ip_address()` call (the only `try`
    /// rulecast follows, see [`Translator::try_ip_address`]): where the address parses, the rest
    /// of the try block and then the statements after it; elsewhere the handler and then the
    /// statements after it.
    fn run_try(
        &mut self,
        t: &'m ast::StmtTry,
        stmt: &ast::Stmt,
        stack: Vec<Frame<'m>>,
        env: Env,
    ) -> Translated<Value> {
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
                    unrolled: None,
                });
                self.run(a_stack, env_a)?
            }
        };
        // ValueError: the handler, then what follows the try statement.
        let mut b_stack = stack;
        b_stack.push(Frame {
            stmts: handler,
            unrolled: None,
        });
        let b = self.run(b_stack, env)?;
        Ok(Value::if_then_else(valid, a, b))
    }
}

/// The function's return value `v`, ok only when the statements run before the return raised
/// nothing either (`pre_ok`).
fn finish(v: Value, pre_ok: Vec<Expr>) -> Value {
    let mut v = v;
    let mut oks = pre_ok;
    oks.push(v.ok);
    v.ok = Expr::and(oks);
    v
}

/// The innermost block ran out of statements: pop its frame, and when it was a pass through an
/// unrolled loop with items left, bind the next item and push the body again.
fn end_block(stack: &mut Vec<Frame<'_>>, env: &mut Env) {
    let frame = stack.pop();
    if let Some(Frame {
        unrolled: Some(mut unrolled),
        ..
    }) = frame
    {
        if unrolled.next < unrolled.items.len() {
            bind_loop_item(env, &unrolled.names, &unrolled.items[unrolled.next]);
            unrolled.next += 1;
            let body = unrolled.body;
            stack.push(Frame {
                stmts: body,
                unrolled: Some(unrolled),
            });
        }
    }
}

/// `name = v`: the name is bound to the value with its `ok` moved to `pre_ok` (an exception
/// computing it is raised at the assignment, whether or not the name is read later).
fn assign(env: &mut Env, pre_ok: &mut Vec<Expr>, name: String, v: Value) {
    pre_ok.push(v.ok.clone());
    env.insert(
        name,
        Value {
            ok: Expr::Const(true),
            ..v
        },
    );
}

/// Bind a loop variable, or unpack a constant tuple into several names.
fn bind_loop_item(env: &mut Env, names: &[String], item: &Value) {
    match (names, item.as_const()) {
        ([one], _) => {
            env.insert(one.clone(), item.clone());
        }
        (many, Some(Py::Seq(parts))) => {
            for (n, p) in many.iter().zip(parts) {
                env.insert(n.clone(), Value::constant(p.clone()));
            }
        }
        _ => {}
    }
}
