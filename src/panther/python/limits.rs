//! Bounds on the work a translation may do, so that no rule makes rulecast hang, run out of
//! memory or overflow its stack: each is refused with E310 and the limit it exceeds.
//!
//! - [`check_nesting`]: before anything walks the syntax tree, statements and expressions may
//!   nest at most [`MAX_NESTING`] levels (each block, `elif` branch and sub-expression counts
//!   one). The parser itself keeps its own stack, so only what comes after it is at risk.
//! - [`Translator::enter`]: the translator's own recursion (expressions inside expressions,
//!   branches run to their return, inlined helpers) at most [`MAX_DEPTH`] levels.
//! - [`Translator::step`]: at most [`MAX_STEPS`] statements run (loops are unrolled and branches
//!   followed, so a short rule can run many).
//! - [`Translator::check_size`]: every value holds at most [`MAX_NODES`] condition nodes, nested
//!   at most [`MAX_CONDITION_DEPTH`] deep (what the simplifier, the evaluator and the backends
//!   then recurse over). Values that can only be written with copies of their parts (a variable
//!   toggled by `n` branches, whose condition doubles with each) stop there.
//! - [`Translator::fits`]: an operation whose result would exceed [`MAX_NODES`] is refused
//!   before it is built.
//!
//! The translation runs on a thread whose stack fits [`MAX_DEPTH`] (`on_translation_stack`);
//! the nesting check, the simplifier, the evaluator and the backends run on the caller's, and
//! the limits keep what they recurse over within an ordinary 2 MiB stack (a test checks it).

use rustpython_parser::ast::{self, Ranged};

use crate::diagnostic::Code;
use crate::ir::Expr;

use super::value::{Atom, Value};
use super::{start_offset, PyErr, Translated, Translator};

/// How deeply statements and expressions may nest in a rule module (CPython itself refuses
/// more than 200 nested parentheses).
pub(super) const MAX_NESTING: usize = 256;
/// How deeply the translator may recurse, counting inlined helper calls.
pub(super) const MAX_DEPTH: usize = 400;
/// How many statements a translation may run.
pub(super) const MAX_STEPS: usize = 100_000;
/// How many condition nodes one value may hold.
pub(super) const MAX_NODES: usize = 100_000;
/// How deeply a value's conditions may nest.
pub(super) const MAX_CONDITION_DEPTH: usize = 400;

/// The first statement or expression of `body` that nests deeper than [`MAX_NESTING`]: the
/// error, at its offset.
pub(super) fn check_nesting(body: &[ast::Stmt]) -> Translated<()> {
    stmts(body, 1).map_err(|at| PyErr {
        code: Code::NotTranslatable,
        msg: format!(
            "not translatable: the code nests deeper than {MAX_NESTING} levels \
             (each block, elif branch and sub-expression counts one)"
        ),
        at,
    })
}

/// A nesting check's result: Err(offset of the node too deep).
type Depth = Result<(), usize>;

fn stmts(ss: &[ast::Stmt], depth: usize) -> Depth {
    ss.iter().try_for_each(|s| stmt(s, depth))
}

fn exprs<'a>(es: impl IntoIterator<Item = &'a ast::Expr>, depth: usize) -> Depth {
    es.into_iter().try_for_each(|e| expr(e, depth))
}

fn opt(e: &Option<Box<ast::Expr>>, depth: usize) -> Depth {
    e.as_deref().map_or(Ok(()), |e| expr(e, depth))
}

fn arguments(a: &ast::Arguments, depth: usize) -> Depth {
    for x in a.posonlyargs.iter().chain(&a.args).chain(&a.kwonlyargs) {
        opt(&x.default, depth)?;
        opt(&x.def.annotation, depth)?;
    }
    for x in a.vararg.iter().chain(&a.kwarg) {
        opt(&x.annotation, depth)?;
    }
    Ok(())
}

fn comprehensions(gs: &[ast::Comprehension], depth: usize) -> Depth {
    for g in gs {
        expr(&g.target, depth)?;
        expr(&g.iter, depth)?;
        exprs(&g.ifs, depth)?;
    }
    Ok(())
}

fn pattern(p: &ast::Pattern, depth: usize) -> Depth {
    if depth > MAX_NESTING {
        return Err(start_offset(p));
    }
    let d = depth + 1;
    match p {
        ast::Pattern::MatchValue(v) => expr(&v.value, d),
        ast::Pattern::MatchSingleton(_) | ast::Pattern::MatchStar(_) => Ok(()),
        ast::Pattern::MatchSequence(s) => s.patterns.iter().try_for_each(|p| pattern(p, d)),
        ast::Pattern::MatchMapping(m) => {
            exprs(&m.keys, d)?;
            m.patterns.iter().try_for_each(|p| pattern(p, d))
        }
        ast::Pattern::MatchClass(c) => {
            expr(&c.cls, d)?;
            c.patterns
                .iter()
                .chain(&c.kwd_patterns)
                .try_for_each(|p| pattern(p, d))
        }
        ast::Pattern::MatchAs(a) => a.pattern.as_deref().map_or(Ok(()), |p| pattern(p, d)),
        ast::Pattern::MatchOr(o) => o.patterns.iter().try_for_each(|p| pattern(p, d)),
    }
}

fn stmt(s: &ast::Stmt, depth: usize) -> Depth {
    use ast::Stmt as S;
    if depth > MAX_NESTING {
        return Err(start_offset(s));
    }
    let d = depth + 1;
    match s {
        S::FunctionDef(f) => {
            arguments(&f.args, d)?;
            exprs(&f.decorator_list, d)?;
            opt(&f.returns, d)?;
            stmts(&f.body, d)
        }
        S::AsyncFunctionDef(f) => {
            arguments(&f.args, d)?;
            exprs(&f.decorator_list, d)?;
            opt(&f.returns, d)?;
            stmts(&f.body, d)
        }
        S::ClassDef(c) => {
            exprs(&c.bases, d)?;
            exprs(c.keywords.iter().map(|k| &k.value), d)?;
            exprs(&c.decorator_list, d)?;
            stmts(&c.body, d)
        }
        S::Return(r) => opt(&r.value, d),
        S::Delete(x) => exprs(&x.targets, d),
        S::Assign(a) => {
            exprs(&a.targets, d)?;
            expr(&a.value, d)
        }
        S::TypeAlias(a) => {
            expr(&a.name, d)?;
            expr(&a.value, d)
        }
        S::AugAssign(a) => {
            expr(&a.target, d)?;
            expr(&a.value, d)
        }
        S::AnnAssign(a) => {
            expr(&a.target, d)?;
            expr(&a.annotation, d)?;
            opt(&a.value, d)
        }
        S::For(f) => {
            expr(&f.target, d)?;
            expr(&f.iter, d)?;
            stmts(&f.body, d)?;
            stmts(&f.orelse, d)
        }
        S::AsyncFor(f) => {
            expr(&f.target, d)?;
            expr(&f.iter, d)?;
            stmts(&f.body, d)?;
            stmts(&f.orelse, d)
        }
        S::While(w) => {
            expr(&w.test, d)?;
            stmts(&w.body, d)?;
            stmts(&w.orelse, d)
        }
        S::If(i) => {
            expr(&i.test, d)?;
            stmts(&i.body, d)?;
            stmts(&i.orelse, d)
        }
        S::With(w) => {
            for item in &w.items {
                expr(&item.context_expr, d)?;
                opt(&item.optional_vars, d)?;
            }
            stmts(&w.body, d)
        }
        S::AsyncWith(w) => {
            for item in &w.items {
                expr(&item.context_expr, d)?;
                opt(&item.optional_vars, d)?;
            }
            stmts(&w.body, d)
        }
        S::Match(m) => {
            expr(&m.subject, d)?;
            for c in &m.cases {
                pattern(&c.pattern, d)?;
                opt(&c.guard, d)?;
                stmts(&c.body, d)?;
            }
            Ok(())
        }
        S::Raise(r) => {
            opt(&r.exc, d)?;
            opt(&r.cause, d)
        }
        S::Try(t) => {
            stmts(&t.body, d)?;
            for ast::ExceptHandler::ExceptHandler(h) in &t.handlers {
                opt(&h.type_, d)?;
                stmts(&h.body, d)?;
            }
            stmts(&t.orelse, d)?;
            stmts(&t.finalbody, d)
        }
        S::TryStar(t) => {
            stmts(&t.body, d)?;
            for ast::ExceptHandler::ExceptHandler(h) in &t.handlers {
                opt(&h.type_, d)?;
                stmts(&h.body, d)?;
            }
            stmts(&t.orelse, d)?;
            stmts(&t.finalbody, d)
        }
        S::Assert(a) => {
            expr(&a.test, d)?;
            opt(&a.msg, d)
        }
        S::Expr(e) => expr(&e.value, d),
        S::Import(_)
        | S::ImportFrom(_)
        | S::Global(_)
        | S::Nonlocal(_)
        | S::Pass(_)
        | S::Break(_)
        | S::Continue(_) => Ok(()),
    }
}

fn expr(e: &ast::Expr, depth: usize) -> Depth {
    use ast::Expr as E;
    if depth > MAX_NESTING {
        return Err(start_offset(e));
    }
    let d = depth + 1;
    match e {
        E::BoolOp(b) => exprs(&b.values, d),
        E::NamedExpr(n) => {
            expr(&n.target, d)?;
            expr(&n.value, d)
        }
        E::BinOp(b) => {
            expr(&b.left, d)?;
            expr(&b.right, d)
        }
        E::UnaryOp(u) => expr(&u.operand, d),
        E::Lambda(l) => {
            arguments(&l.args, d)?;
            expr(&l.body, d)
        }
        E::IfExp(i) => {
            expr(&i.test, d)?;
            expr(&i.body, d)?;
            expr(&i.orelse, d)
        }
        E::Dict(x) => {
            exprs(x.keys.iter().flatten(), d)?;
            exprs(&x.values, d)
        }
        E::Set(x) => exprs(&x.elts, d),
        E::List(x) => exprs(&x.elts, d),
        E::Tuple(x) => exprs(&x.elts, d),
        E::ListComp(c) => {
            expr(&c.elt, d)?;
            comprehensions(&c.generators, d)
        }
        E::SetComp(c) => {
            expr(&c.elt, d)?;
            comprehensions(&c.generators, d)
        }
        E::DictComp(c) => {
            expr(&c.key, d)?;
            expr(&c.value, d)?;
            comprehensions(&c.generators, d)
        }
        E::GeneratorExp(c) => {
            expr(&c.elt, d)?;
            comprehensions(&c.generators, d)
        }
        E::Await(x) => expr(&x.value, d),
        E::Yield(x) => opt(&x.value, d),
        E::YieldFrom(x) => expr(&x.value, d),
        E::Compare(c) => {
            expr(&c.left, d)?;
            exprs(&c.comparators, d)
        }
        E::Call(c) => {
            expr(&c.func, d)?;
            exprs(&c.args, d)?;
            exprs(c.keywords.iter().map(|k| &k.value), d)
        }
        E::FormattedValue(f) => {
            expr(&f.value, d)?;
            opt(&f.format_spec, d)
        }
        E::JoinedStr(j) => exprs(&j.values, d),
        E::Attribute(a) => expr(&a.value, d),
        E::Subscript(s) => {
            expr(&s.value, d)?;
            expr(&s.slice, d)
        }
        E::Starred(s) => expr(&s.value, d),
        E::Slice(s) => {
            opt(&s.lower, d)?;
            opt(&s.upper, d)?;
            opt(&s.step, d)
        }
        E::Constant(_) | E::Name(_) => Ok(()),
    }
}

/// The size of some conditions: how many nodes, and how deeply they nest. Counted without
/// recursion (the conditions may be deeper than the stack allows), stopping early past the
/// limits.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct Size {
    pub(super) nodes: usize,
    pub(super) depth: usize,
}

impl Size {
    /// Measure `exprs`, stopping once past [`MAX_NODES`] or [`MAX_CONDITION_DEPTH`].
    pub(super) fn of<'a>(exprs: impl IntoIterator<Item = &'a Expr>) -> Size {
        let mut size = Size::default();
        let mut todo: Vec<(&Expr, usize)> = exprs.into_iter().map(|e| (e, 1)).collect();
        while let Some((e, d)) = todo.pop() {
            size.nodes += 1;
            size.depth = size.depth.max(d);
            if size.nodes > MAX_NODES || size.depth > MAX_CONDITION_DEPTH {
                break;
            }
            match e {
                Expr::And(xs) | Expr::Or(xs) => todo.extend(xs.iter().map(|x| (x, d + 1))),
                Expr::Not(x) => todo.push((x, d + 1)),
                Expr::Elements(el) => todo.push((&el.body, d + 1)),
                Expr::Const(_) | Expr::Pred(_) => {}
            }
        }
        size
    }

    /// The conditions of a value: its guards, its bools and `ok`.
    pub(super) fn of_value(v: &Value) -> Size {
        Size::of(
            v.alts
                .iter()
                .flat_map(|(g, a)| {
                    let b = match a {
                        Atom::Bool(e) => Some(e),
                        _ => None,
                    };
                    std::iter::once(g).chain(b)
                })
                .chain(std::iter::once(&v.ok)),
        )
    }

    fn within_limits(self) -> bool {
        self.nodes <= MAX_NODES && self.depth <= MAX_CONDITION_DEPTH
    }

    /// Both side by side: their nodes, and the deeper depth.
    pub(super) fn beside(self, other: Size) -> Size {
        Size {
            nodes: self.nodes.saturating_add(other.nodes),
            depth: self.depth.max(other.depth),
        }
    }

    /// `n` copies.
    pub(super) fn times(self, n: usize) -> Size {
        Size {
            nodes: self.nodes.saturating_mul(n),
            depth: self.depth,
        }
    }

    /// With `n` more nodes.
    pub(super) fn more(self, n: usize) -> Size {
        Size {
            nodes: self.nodes.saturating_add(n),
            depth: self.depth,
        }
    }

    /// Nested `levels` deeper.
    pub(super) fn deeper(self, levels: usize) -> Size {
        Size {
            nodes: self.nodes,
            depth: self.depth.saturating_add(levels),
        }
    }
}

impl<'m> Translator<'m> {
    /// An error E310 at `at` (or at the rule's call site while a prelude helper is inlined).
    fn limit(&self, at: usize, what: String) -> PyErr {
        PyErr {
            code: Code::NotTranslatable,
            msg: format!("not translatable: {what}"),
            at: self.site.unwrap_or(at),
        }
    }

    /// Enter one level of the translator's recursion (leave it with `self.depth -= 1`), refused
    /// past [`MAX_DEPTH`].
    pub(super) fn enter(&mut self, at: usize) -> Translated<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.limit(
                at,
                format!(
                    "the code nests deeper than {MAX_DEPTH} levels once helper calls are \
                     inlined and branches followed"
                ),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// Count one statement run, refused past [`MAX_STEPS`].
    pub(super) fn step(&mut self, stmt: &ast::Stmt) -> Translated<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(self.limit(
                start_offset(stmt),
                format!(
                    "the rule runs more than {MAX_STEPS} statements once loops are unrolled \
                     and branches followed"
                ),
            ));
        }
        Ok(())
    }

    /// `bound` when it is within the limits; else the exact size of `v`, refused when that is not.
    pub(super) fn recheck(&self, v: &Value, bound: Size, node: &impl Ranged) -> Translated<Size> {
        if bound.within_limits() {
            return Ok(bound);
        }
        let size = Size::of_value(v);
        if size.within_limits() {
            return Ok(size);
        }
        Err(self.too_large(start_offset(node), size))
    }

    /// Refuse a value whose conditions exceed [`MAX_NODES`] or [`MAX_CONDITION_DEPTH`].
    pub(super) fn check_size(&self, v: &Value, at: usize) -> Translated<()> {
        let size = Size::of_value(v);
        if size.within_limits() {
            return Ok(());
        }
        Err(self.too_large(at, size))
    }

    /// `if t then a else b` ([`Value::if_then_else`]), refused when it would be too large: before
    /// it is built when the copies of `t` would be, and after.
    pub(super) fn join(
        &self,
        t: Expr,
        a: Value,
        b: Value,
        node: &impl Ranged,
    ) -> Translated<Value> {
        self.fits_copies(&t, &a, &b, node)?;
        let v = Value::if_then_else(t, a, b);
        self.check_size(&v, start_offset(node))?;
        Ok(v)
    }

    /// Refuse joining `a` and `b` when the copies of `t` (one per alternative, and the `ok`) would
    /// make the result too large.
    pub(super) fn fits_copies(
        &self,
        t: &Expr,
        a: &Value,
        b: &Value,
        node: &impl Ranged,
    ) -> Translated<()> {
        let copies = a.alts.len() + b.alts.len() + 2;
        let nodes = Size::of([t]).nodes.saturating_mul(copies);
        self.fits(nodes, node)
    }

    /// Refuse an operation that would build `nodes` condition nodes, past [`MAX_NODES`].
    pub(super) fn fits(&self, nodes: usize, node: &impl Ranged) -> Translated<()> {
        if nodes <= MAX_NODES {
            return Ok(());
        }
        Err(self.too_large(start_offset(node), Size { nodes, depth: 0 }))
    }

    fn too_large(&self, at: usize, size: Size) -> PyErr {
        let what = if size.nodes > MAX_NODES {
            format!(
                "the condition grows past {MAX_NODES} tests (each branch that changes a \
                 variable, and each alternative of a value, copies the tests it depends on)"
            )
        } else {
            format!("the condition nests deeper than {MAX_CONDITION_DEPTH} levels")
        };
        self.limit(at, what)
    }
}
