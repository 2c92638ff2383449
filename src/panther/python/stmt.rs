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
use super::limits::Size;
use super::module::{import_bindings, import_from_bindings};
use super::value::{Py, Value};
use super::{and, not, or, start_offset, Env, Translated, Translator};

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
    /// Shared: a branch inside the loop copies the frames, not the items.
    items: std::rc::Rc<[Value]>,
    next: usize,
    body: &'a [ast::Stmt],
}

/// A branch taken while the other side runs on in place: once the run has its return value `v`,
/// the branch's value `a` joins it as `finish(if t then a else v, pre_ok)`.
struct Join<'m> {
    t: Expr,
    a: Value,
    pre_ok: Vec<Expr>,
    /// The statement that branched (errors point there).
    at: &'m ast::Stmt,
}

impl<'m> Translator<'m> {
    /// Run the frames (innermost last) to the function's return value.
    ///
    /// Statements that only bind names (assignments, imports, the steps of a loop over constants)
    /// update `env` and go on; the `ok` of each value they compute is collected in `pre_ok`, since
    /// an exception there ends the function whatever comes next. A statement that branches (`if`,
    /// `try`) runs one continuation to its return value and goes on with the other in place, and
    /// the two values are joined with [`Value::if_then_else`] when the run returns (so an `elif`
    /// chain, or a loop with an early return, costs no recursion); an `if` whose branches both
    /// only bind names runs each branch and joins the names instead ([`Translator::merge_if`]).
    /// `return` ends the run.
    pub(super) fn run(&mut self, stack: Vec<Frame<'m>>, env: Env) -> Translated<Value> {
        let at = stack
            .last()
            .and_then(|f| f.stmts.first())
            .map_or(0, start_offset);
        self.enter(at)?;
        let r = self.run_frames(stack, env);
        self.depth -= 1;
        r
    }

    /// [`Translator::run`] without the depth count.
    fn run_frames(&mut self, mut stack: Vec<Frame<'m>>, mut env: Env) -> Translated<Value> {
        let mut pre_ok: Vec<Expr> = Vec::new();
        let mut joins: Vec<Join<'m>> = Vec::new();
        loop {
            let Some(top) = stack.last_mut() else {
                return self.unwind(finish(Value::constant(Py::None), pre_ok), joins);
            };
            let Some((stmt, rest)) = top.stmts.split_first() else {
                end_block(&mut stack, &mut env);
                continue;
            };
            top.stmts = rest;
            self.step(stmt)?;
            match stmt {
                ast::Stmt::Return(r) => {
                    let v = match &r.value {
                        Some(e) => self.expr(e, &env)?,
                        None => Value::constant(Py::None),
                    };
                    return self.unwind(finish(v, pre_ok), joins);
                }
                ast::Stmt::If(i) => {
                    let c = self.expr(&i.test, &env)?;
                    let (t, ok) = self.truth(&c);
                    pre_ok.push(ok);
                    if t != Expr::Const(true) && t != Expr::Const(false) && merges(i, &env) {
                        let ok = self.merge_if(i, &t, &mut env)?;
                        pre_ok.push(ok);
                        continue;
                    }
                    let a = if t == Expr::Const(false) {
                        Value::raising()
                    } else {
                        let mut a_stack = stack.clone();
                        a_stack.push(Frame {
                            stmts: &i.body,
                            unrolled: None,
                        });
                        self.run(a_stack, env.clone())?
                    };
                    if t == Expr::Const(true) {
                        let v = self.join(t, a, Value::raising(), stmt)?;
                        return self.unwind(finish(v, pre_ok), joins);
                    }
                    joins.push(Join {
                        t,
                        a,
                        pre_ok: std::mem::take(&mut pre_ok),
                        at: stmt,
                    });
                    stack.push(Frame {
                        stmts: &i.orelse,
                        unrolled: None,
                    });
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
                    return self.unwind(finish(v, pre_ok), joins);
                }
                ast::Stmt::Continue(_) | ast::Stmt::Break(_) => {
                    self.leave_loop_body(stmt, &mut stack)?;
                }
                ast::Stmt::Raise(_) => {
                    pre_ok.push(Expr::Const(false));
                    return self.unwind(finish(Value::raising(), pre_ok), joins);
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
                    let (valid, a, handler) = self.run_try(t, stmt, &stack, &env)?;
                    joins.push(Join {
                        t: valid,
                        a,
                        pre_ok: std::mem::take(&mut pre_ok),
                        at: stmt,
                    });
                    stack.push(Frame {
                        stmts: handler,
                        unrolled: None,
                    });
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

    /// The run's return value `v` joined with the branches taken before it, innermost first.
    ///
    /// Branches in a row that return the same bool constant (`if a: return True` / `elif b:
    /// return True` / ... / `return v`) join in one step, as `a ∨ b ∨ ... ∨ v` (`¬a ∧ ¬b ∧ ... ∧
    /// v` for `False`): joined one at a time, each step would copy the tests so far. Joins of
    /// bools keep a bound on the result's size (measured exactly only once the bound passes the
    /// limits); other joins are measured.
    fn unwind(&self, mut v: Value, joins: Vec<Join<'m>>) -> Translated<Value> {
        let mut size = Size::of_value(&v);
        // Tests of branches in a row returning `run_of`, innermost first, and where the last one is.
        let mut run: Vec<Expr> = Vec::new();
        let mut run_of = true;
        let mut run_at = None;
        for j in joins.into_iter().rev() {
            if let Some(c) = constant_branch(&j, &v) {
                if c != run_of {
                    if let Some(at) = run_at.take() {
                        v = join_run(v, std::mem::take(&mut run), run_of);
                        size = self.recheck(&v, size.deeper(1).more(1), at)?;
                    }
                }
                // Under a `not` (for False) in the `or` (`and`).
                size = size.beside(Size::of([&j.t]).deeper(2).more(1));
                run.push(if c { j.t } else { not(j.t) });
                run_of = c;
                run_at = Some(j.at);
                continue;
            }
            if let Some(at) = run_at.take() {
                v = join_run(v, std::mem::take(&mut run), run_of);
                size = self.recheck(&v, size.deeper(1).more(1), at)?;
            }
            let copies = j.a.alts.len() + v.alts.len() + 2;
            let t = Size::of([&j.t]);
            self.fits(t.nodes.saturating_mul(copies), j.at)?;
            let bools = j.a.is_bool() && v.is_bool();
            // Two bools: `(t ∧ a) ∨ (¬t ∧ v)`, ok `(t ∧ ok_a) ∨ (¬t ∧ ok_v)` (or the one ok), under
            // the `and` of `pre_ok`: four copies of `t`, an `and` per alternative, 4 levels deeper.
            let bound = size
                .beside(Size::of_value(&j.a))
                .beside(Size::of(&j.pre_ok))
                .beside(t.times(4))
                .more(j.a.alts.len() + v.alts.len() + 12)
                .deeper(4);
            v = finish(Value::if_then_else(j.t, j.a, v), j.pre_ok);
            size = if bools {
                self.recheck(&v, bound, j.at)?
            } else {
                self.check_size(&v, start_offset(j.at))?;
                Size::of_value(&v)
            };
        }
        if let Some(at) = run_at {
            v = join_run(v, run, run_of);
            self.recheck(&v, size.deeper(1).more(1), at)?;
        }
        Ok(v)
    }

    /// `if test: body else: orelse` whose branches only bind names (see [`merges`]), `t` the
    /// test's truth: each branch runs on its own copy of `env`, and every name either binds is
    /// bound to `if t then <its value in body> else <in orelse>`. Returns the condition the
    /// branch taken raises no exception.
    fn merge_if(&mut self, i: &'m ast::StmtIf, t: &Expr, env: &mut Env) -> Translated<Expr> {
        let mut env_a = env.clone();
        let ok_a = self.run_block(&i.body, &mut env_a)?;
        let mut env_b = env.clone();
        let ok_b = self.run_block(&i.orelse, &mut env_b)?;
        let mut names = Vec::new();
        assigned_names(&i.body, &mut names);
        assigned_names(&i.orelse, &mut names);
        for n in names {
            let (Some(a), Some(b)) = (env_a.remove(&n), env_b.remove(&n)) else {
                // `merges` saw to it that both branches bind every name either binds.
                return self.refuse(i, format!("the name '{n}' bound on one branch only"));
            };
            let v = self.join(t.clone(), a, b, i)?;
            env.insert(n, v);
        }
        Ok(if ok_a == ok_b {
            ok_a
        } else {
            or(and(t.clone(), ok_a), and(not(t.clone()), ok_b))
        })
    }

    /// Run a block that only binds names (see [`merges`]) on `env`: the condition it raises no
    /// exception.
    fn run_block(&mut self, stmts: &'m [ast::Stmt], env: &mut Env) -> Translated<Expr> {
        let mut pre_ok = Vec::new();
        for stmt in stmts {
            self.step(stmt)?;
            match stmt {
                ast::Stmt::Assign(a) => {
                    let v = self.expr(&a.value, env)?;
                    let [ast::Expr::Name(n)] = a.targets.as_slice() else {
                        return self.refuse(stmt, "an assignment to something other than one name");
                    };
                    assign(env, &mut pre_ok, n.id.to_string(), v);
                }
                ast::Stmt::AnnAssign(a) => {
                    let (ast::Expr::Name(n), Some(value)) = (a.target.as_ref(), &a.value) else {
                        return self.refuse(stmt, "an annotated assignment without a value");
                    };
                    let v = self.expr(value, env)?;
                    assign(env, &mut pre_ok, n.id.to_string(), v);
                }
                ast::Stmt::If(i) => {
                    let c = self.expr(&i.test, env)?;
                    let (t, ok) = self.truth(&c);
                    pre_ok.push(ok);
                    match t {
                        Expr::Const(true) => pre_ok.push(self.run_block(&i.body, env)?),
                        Expr::Const(false) => pre_ok.push(self.run_block(&i.orelse, env)?),
                        t => {
                            let ok = self.merge_if(i, &t, env)?;
                            pre_ok.push(ok);
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(Expr::and(pre_ok))
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
                items: items.into(),
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
    /// rulecast follows, see [`Translator::try_ip_address`]): the condition the address parses,
    /// the value where it does (the rest of the try block, then the statements after it, with
    /// `stack` the frames after it), and the handler's statements (to run, then what follows the
    /// try statement, where it does not).
    fn run_try(
        &mut self,
        t: &'m ast::StmtTry,
        stmt: &ast::Stmt,
        stack: &[Frame<'m>],
        env: &Env,
    ) -> Translated<(Expr, Value, &'m [ast::Stmt])> {
        let (value, handler) = self.try_ip_address(t, stmt, env)?;
        let TryIp {
            valid,
            first,
            bind,
            rest,
        } = value;
        let a = match first {
            Some(returned) => returned,
            None => {
                let mut env_a = env.clone();
                if let Some((name, v)) = bind {
                    env_a.insert(name, v);
                }
                let mut a_stack = stack.to_vec();
                a_stack.push(Frame {
                    stmts: rest,
                    unrolled: None,
                });
                self.run(a_stack, env_a)?
            }
        };
        Ok((valid, a, handler))
    }
}

/// The bool constant a branch returns when it can join a run in [`Translator::unwind`]: `v` (what
/// the run returns otherwise) is a bool, and the branch raises exactly where `v` does.
fn constant_branch(j: &Join<'_>, v: &Value) -> Option<bool> {
    let c = j.a.as_const_bool()?;
    let fine = v.is_bool() && j.a.ok == v.ok && j.pre_ok.iter().all(|x| *x == Expr::Const(true));
    fine.then_some(c)
}

/// `v` after a run of branches returning `of` (tests innermost first): `t1 ∨ t2 ∨ ... ∨ v`
/// (for `True`; the tests are already negated for `False`, joined with `∧`). The same as joining
/// them one at a time ([`Value::if_then_else`] of a bool constant and a bool).
fn join_run(v: Value, mut run: Vec<Expr>, of: bool) -> Value {
    if run.is_empty() {
        return v;
    }
    run.reverse();
    let (truth, ok) = v.into_bool_truth();
    run.push(truth);
    let value = if of { Expr::or(run) } else { Expr::and(run) };
    Value::boolean(value, ok)
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

/// Whether `if` can be run by running both branches and joining the names they bind
/// ([`Translator::merge_if`]) instead of running the rest of the function once per branch: the
/// branches only bind names (assignments and such `if`s; no `return`, loop or call for effect),
/// and bind the same new names (a name bound on one branch only stays unbound on the other).
fn merges(i: &ast::StmtIf, env: &Env) -> bool {
    let mut bound: Vec<&str> = env.keys().map(String::as_str).collect();
    bound.sort_unstable();
    if_binds(i, &mut bound)
}

/// [`merges`] for `i` with `bound` the names bound before it (sorted); adds those it binds.
fn if_binds<'a>(i: &'a ast::StmtIf, bound: &mut Vec<&'a str>) -> bool {
    let mut a = bound.clone();
    let mut b = bound.clone();
    if !block_binds(&i.body, &mut a) || !block_binds(&i.orelse, &mut b) || a != b {
        return false;
    }
    *bound = a;
    true
}

/// [`merges`] for a block: it only binds names (adding them to `bound`, kept sorted).
fn block_binds<'a>(stmts: &'a [ast::Stmt], bound: &mut Vec<&'a str>) -> bool {
    let bind = |n: &'a str, bound: &mut Vec<&'a str>| {
        if let Err(at) = bound.binary_search(&n) {
            bound.insert(at, n);
        }
    };
    for s in stmts {
        match s {
            ast::Stmt::Assign(a) => match a.targets.as_slice() {
                [ast::Expr::Name(n)] => bind(n.id.as_str(), bound),
                _ => return false,
            },
            ast::Stmt::AnnAssign(a) => match (a.target.as_ref(), &a.value) {
                (ast::Expr::Name(n), Some(_)) => bind(n.id.as_str(), bound),
                _ => return false,
            },
            ast::Stmt::If(i) => {
                if !if_binds(i, bound) {
                    return false;
                }
            }
            ast::Stmt::Pass(_) => {}
            ast::Stmt::Expr(e) if matches!(e.value.as_ref(), ast::Expr::Constant(_)) => {}
            _ => return false,
        }
    }
    true
}

/// The names a block that only binds names ([`merges`]) assigns, added to `out` once each.
fn assigned_names(stmts: &[ast::Stmt], out: &mut Vec<String>) {
    for s in stmts {
        let name = match s {
            ast::Stmt::Assign(a) => match a.targets.as_slice() {
                [ast::Expr::Name(n)] => Some(n.id.as_str()),
                _ => None,
            },
            ast::Stmt::AnnAssign(a) => match a.target.as_ref() {
                ast::Expr::Name(n) => Some(n.id.as_str()),
                _ => None,
            },
            ast::Stmt::If(i) => {
                assigned_names(&i.body, out);
                assigned_names(&i.orelse, out);
                None
            }
            _ => None,
        };
        if let Some(n) = name {
            if !out.iter().any(|x| x == n) {
                out.push(n.to_owned());
            }
        }
    }
}
