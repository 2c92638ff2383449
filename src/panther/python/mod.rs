//! Translating a Panther rule's Python `rule(event)` to one IR condition.
//!
//! The module is parsed with `rustpython-parser` and `rule()` is evaluated *symbolically*: every
//! Python expression becomes a [`Value`], a set of guarded alternatives (a constant, the JSON value
//! at an exact path, a lowercased string field, a boolean condition, ...) plus `ok`, the condition
//! under which evaluating it raises no exception. Python's operators combine these exactly:
//! `a and b` is `ok(a) ∧ (¬a ∨ ok(b))`, `x.startswith("a")` is ok only when `x` is a string,
//! `!=` on a missing field is true, and the rule matches when `rule()` returns `True` without
//! raising. If/early-return chains are followed branch by branch; loops over constants are
//! unrolled; local helpers are inlined; `any()`/`all()` over an event array become
//! [`Expr::Elements`]. Anything else is an error `not translatable: <construct>` at its line and
//! column in the `.py`: never a partial query.

use std::collections::HashMap;
use std::path::Path;

use rustpython_parser::ast::{self, Ranged};

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{
    Anchor, CompareOp, Count, Expr, FieldPath, JsonType, Number, Part, Pattern, RegexFlags, Test,
};
use crate::source::{SourceFile, Span};

use super::{
    canonical_key, elements, exact, fields_equal, is_global_ip, is_ip, is_private_ip, quantified,
};

/// A translated module: the condition `rule()` returns True under, and the alert's output fields.
#[derive(Debug, Clone)]
pub struct Translation {
    pub condition: Expr,
    pub fields: Vec<String>,
}

const PRELUDE: &str = include_str!("../prelude.py");
const MAX_INLINE_DEPTH: usize = 16;
/// Prefix of a path segment naming the element an element-relative path starts from.
const ELEM: char = '\u{0}';

/// Translate a rule module (`path` is shown in diagnostics).
pub fn translate(path: &Path, text: &str, span: Span) -> Result<Translation, Diagnostic> {
    let file = SourceFile::new(path, text);
    let at = |offset: usize| {
        let lc = file.line_col(offset);
        (lc.line, lc.column)
    };
    let module = parse(text).map_err(|(msg, off)| {
        let (l, c) = at(off);
        Diagnostic::new(Code::PythonSyntax, msg).in_other_file(path, l, c)
    })?;
    let prelude = parse(PRELUDE).map_err(|(msg, _)| {
        Diagnostic::new(Code::PythonSyntax, format!("rulecast prelude: {msg}"))
    })?;
    let mut t = Translator {
        span,
        globals: HashMap::new(),
        functions: HashMap::new(),
        prelude: HashMap::new(),
        depth: 0,
        site: None,
        next_elem: 0,
        ip_checks: Vec::new(),
    };
    for s in &prelude {
        if let ast::Stmt::FunctionDef(f) = s {
            t.prelude.insert(f.name.to_string(), f);
        }
    }
    let result = t.module(&module).map_err(|e| {
        let (l, c) = at(e.at);
        Diagnostic::new(e.code, e.msg).in_other_file(path, l, c)
    })?;
    Ok(Translation {
        condition: result,
        fields: output_fields(&module),
    })
}

fn parse(text: &str) -> Result<Vec<ast::Stmt>, (String, usize)> {
    match rustpython_parser::parse(text, rustpython_parser::Mode::Module, "<rule>") {
        Ok(ast::Mod::Module(m)) => Ok(m.body),
        Ok(_) => Err(("not a Python module".into(), 0)),
        Err(e) => Err((
            format!("Python syntax error: {}", e.error),
            usize::from(e.offset),
        )),
    }
}

/// An error at a byte offset of the `.py`.
#[derive(Debug)]
struct PyErr {
    code: Code,
    msg: String,
    at: usize,
}

type R<T> = Result<T, PyErr>;

fn off(node: &impl Ranged) -> usize {
    usize::from(node.range().start())
}

fn nt<T>(node: &impl Ranged, what: impl std::fmt::Display) -> R<T> {
    Err(PyErr {
        code: Code::NotTranslatable,
        msg: format!("not translatable: {what}"),
        at: off(node),
    })
}

/// A Python constant.
#[derive(Debug, Clone, PartialEq)]
enum Py {
    None,
    Bool(bool),
    Num(f64),
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
    fn str_text(&self) -> Option<String> {
        match self {
            Py::Str(s) => Some(s.clone()),
            Py::None => Some("None".to_owned()),
            Py::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
            _ => None,
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Py::None => false,
            Py::Bool(b) => *b,
            Py::Num(n) => *n != 0.0,
            Py::Str(s) => !s.is_empty(),
            Py::Seq(v) | Py::Set(v) => !v.is_empty(),
            Py::Dict(v) => !v.is_empty(),
            Py::Match => true,
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            Py::Bool(b) => Some(f64::from(u8::from(*b))),
            Py::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// Python `==` between constants.
    fn eq(&self, other: &Py) -> bool {
        match (self.num(), other.num()) {
            (Some(a), Some(b)) => a == b,
            _ => match (self, other) {
                (Py::Seq(a), Py::Seq(b)) => {
                    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq(y))
                }
                (Py::Set(a), Py::Set(b)) => {
                    a.iter().all(|x| b.iter().any(|y| x.eq(y)))
                        && b.iter().all(|y| a.iter().any(|x| x.eq(y)))
                }
                (Py::Dict(a), Py::Dict(b)) => {
                    a.len() == b.len()
                        && a.iter()
                            .all(|(k, v)| b.iter().any(|(k2, v2)| k.eq(k2) && v.eq(v2)))
                }
                (a, b) => a == b && !matches!(a, Py::Match),
            },
        }
    }

    /// The JSON scalar `==` compares with (None for containers).
    fn json(&self) -> Option<serde_json::Value> {
        Some(match self {
            Py::None => serde_json::Value::Null,
            Py::Bool(b) => serde_json::Value::Bool(*b),
            Py::Num(n) => {
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

    fn elements(&self) -> Option<Vec<Py>> {
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
struct Loc {
    elem: usize,
    path: Vec<String>,
}

impl Loc {
    fn child(&self, key: &str) -> Loc {
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

    fn field(&self) -> FieldPath {
        let mut segs = Vec::with_capacity(self.path.len() + 1);
        if self.elem > 0 {
            segs.push(format!("{ELEM}{}", self.elem));
        }
        segs.extend(self.path.iter().cloned());
        FieldPath(segs)
    }

    fn is_event(&self) -> bool {
        self.elem == 0 && self.path.is_empty()
    }
}

/// Something a name can stand for besides data.
#[derive(Debug, Clone, PartialEq)]
enum Callable {
    /// An imported module (`re`, `fnmatch`, `panther_event_type_helpers`).
    Module(String),
    /// A function defined in the rule's module.
    Local(String),
    /// A known helper: translated natively or by inlining the prelude.
    Helper(String),
    /// A name rulecast cannot translate, and why.
    Unknown(String, String),
}

#[derive(Debug, Clone)]
enum Atom {
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
    Call(Callable),
}

/// A symbolic Python value: disjoint guarded alternatives, and the condition under which
/// computing it raises no exception.
#[derive(Debug, Clone)]
struct Value {
    alts: Vec<(Expr, Atom)>,
    ok: Expr,
}

impl Value {
    fn of(a: Atom) -> Value {
        Value {
            alts: vec![(Expr::Const(true), a)],
            ok: Expr::Const(true),
        }
    }

    fn konst(p: Py) -> Value {
        Value::of(Atom::Const(p))
    }

    fn boolean(e: Expr, ok: Expr) -> Value {
        Value {
            alts: vec![(Expr::Const(true), Atom::Bool(e))],
            ok,
        }
    }

    fn raising() -> Value {
        Value {
            alts: vec![],
            ok: Expr::Const(false),
        }
    }

    fn as_const(&self) -> Option<&Py> {
        match self.alts.as_slice() {
            [(Expr::Const(true), Atom::Const(p))] if self.ok == Expr::Const(true) => Some(p),
            _ => None,
        }
    }

    /// Merge boolean alternatives into one and drop impossible ones.
    fn tidy(mut self) -> Value {
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
}

type Env = HashMap<String, Value>;

/// One block being run, and (for an unrolled loop) what comes next.
#[derive(Clone)]
struct Frame<'a> {
    stmts: &'a [ast::Stmt],
    lp: Option<Loop<'a>>,
}

#[derive(Clone)]
struct Loop<'a> {
    /// The loop variable, or the names a `for a, b in ...` target unpacks each item into.
    var: Vec<String>,
    items: Vec<Value>,
    next: usize,
    body: &'a [ast::Stmt],
}

struct Translator<'m> {
    span: Span,
    globals: HashMap<String, Value>,
    functions: HashMap<String, &'m ast::StmtFunctionDef>,
    prelude: HashMap<String, &'m ast::StmtFunctionDef>,
    depth: usize,
    /// The rule's call site while a prelude helper is inlined (errors point there).
    site: Option<usize>,
    next_elem: usize,
    /// For each `ipaddress.ip_address()` call translated so far: the condition its argument is
    /// computed without raising, and the condition the call raises no `ValueError` (what a
    /// `try: ... except ValueError:` around it catches).
    ip_checks: Vec<(Expr, Expr)>,
}

/// A `try:` block whose only possible exception is the `ValueError` of one
/// `ipaddress.ip_address()` call in its first statement.
struct TryIp<'a> {
    /// The call parses its argument (no `ValueError`).
    valid: Expr,
    /// The value the first statement returns when it is a `return`.
    first: Option<Value>,
    /// The name the first statement assigns, and its value.
    bind: Option<(String, Value)>,
    /// The try block's other statements (none of which can raise).
    rest: &'a [ast::Stmt],
}

fn and(a: Expr, b: Expr) -> Expr {
    Expr::and(vec![a, b])
}
fn or(a: Expr, b: Expr) -> Expr {
    Expr::or(vec![a, b])
}
fn not(a: Expr) -> Expr {
    Expr::not(a)
}

impl<'m> Translator<'m> {
    fn error(&self, node: &impl Ranged, what: impl std::fmt::Display) -> PyErr {
        PyErr {
            code: Code::NotTranslatable,
            msg: format!("not translatable: {what}"),
            at: self.site.unwrap_or_else(|| off(node)),
        }
    }

    fn err<T>(&self, node: &impl Ranged, what: impl std::fmt::Display) -> R<T> {
        Err(self.error(node, what))
    }

    fn pred(&self, loc: &Loc, test: Test) -> Expr {
        exact(&loc.field(), test, self.span)
    }

    fn is_type(&self, loc: &Loc, t: JsonType) -> Expr {
        self.pred(loc, Test::Type(t))
    }

    // ---- the module ----

    fn module(&mut self, body: &'m [ast::Stmt]) -> R<Expr> {
        let mut rule = None;
        for s in body {
            match s {
                ast::Stmt::FunctionDef(f) => {
                    if f.name.as_str() == "rule" {
                        rule = Some(f);
                    }
                    self.functions.insert(f.name.to_string(), f);
                    self.globals.remove(f.name.as_str());
                }
                ast::Stmt::Import(i) => {
                    for a in &i.names {
                        let name = a.asname.as_ref().unwrap_or(&a.name).to_string();
                        self.globals.insert(
                            name,
                            Value::of(Atom::Call(Callable::Module(a.name.to_string()))),
                        );
                    }
                }
                ast::Stmt::ImportFrom(i) => {
                    let module = i.module.as_ref().map(|m| m.to_string()).unwrap_or_default();
                    for a in &i.names {
                        let name = a.asname.as_ref().unwrap_or(&a.name).to_string();
                        let c = imported(&module, a.name.as_str());
                        self.globals.insert(name, Value::of(Atom::Call(c)));
                    }
                }
                ast::Stmt::Assign(a) => {
                    let v = self.expr(&a.value, &Env::new());
                    for t in &a.targets {
                        if let ast::Expr::Name(n) = t {
                            let v = match &v {
                                Ok(v) => v.clone(),
                                Err(_) => Value::of(Atom::Call(Callable::Unknown(
                                    n.id.to_string(),
                                    "a module-level value computed when the module loads".into(),
                                ))),
                            };
                            self.globals.insert(n.id.to_string(), v);
                        }
                    }
                }
                ast::Stmt::AnnAssign(a) => {
                    if let (ast::Expr::Name(n), Some(value)) = (a.target.as_ref(), &a.value) {
                        if let Ok(v) = self.expr(value, &Env::new()) {
                            self.globals.insert(n.id.to_string(), v);
                        }
                    }
                }
                _ => {}
            }
        }
        let Some(rule) = rule else {
            return Err(PyErr {
                code: Code::NotARule,
                msg: "the module defines no rule(event) function".into(),
                at: 0,
            });
        };
        let params = positional_params(rule);
        if params.len() != 1 {
            return nt(rule, "rule() must take exactly one parameter (the event)");
        }
        let mut env = Env::new();
        env.insert(
            params[0].clone(),
            Value::of(Atom::Json(Loc {
                elem: 0,
                path: vec![],
            })),
        );
        let result = self.run(
            vec![Frame {
                stmts: &rule.body,
                lp: None,
            }],
            env,
        )?;
        // rule() matches when it returns the bool True without raising.
        let mut alts = Vec::new();
        for (g, a) in &result.alts {
            let t = match a {
                Atom::Bool(e) => e.clone(),
                Atom::Const(Py::Bool(b)) => Expr::Const(*b),
                Atom::Json(l) => and(
                    self.is_type(l, JsonType::Boolean),
                    self.pred(l, Test::Is(serde_json::Value::Bool(true))),
                ),
                _ => Expr::Const(false),
            };
            alts.push(and(g.clone(), t));
        }
        let cond = and(Expr::or(alts), result.ok);
        check_no_element_refs(&cond, rule)?;
        Ok(cond)
    }

    // ---- statements ----

    /// Run the frames (innermost last) to the function's return value.
    fn run(&mut self, mut stack: Vec<Frame<'m>>, mut env: Env) -> R<Value> {
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

    // ---- expressions ----

    fn expr(&mut self, e: &ast::Expr, env: &Env) -> R<Value> {
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

    fn const_seq(&mut self, elts: &[ast::Expr], env: &Env, e: &ast::Expr) -> R<Value> {
        let mut out = Vec::new();
        for x in elts {
            match self.expr(x, env)?.as_const() {
                Some(p) => out.push(p.clone()),
                None => return self.err(e, "a list built from event data (outside any()/all())"),
            }
        }
        Ok(Value::konst(Py::Seq(out)))
    }

    // ---- Python semantics of values ----

    /// Truthiness: (true when, ok).
    fn truth(&self, v: &Value) -> (Expr, Expr) {
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

    fn value_or(&self, a: Value, b: Value) -> Value {
        let (ta, _) = self.truth(&a);
        let mut alts = Vec::new();
        for (g, x) in &a.alts {
            let (t, _) = self.truth(&Value::of(x.clone()));
            alts.push((and(g.clone(), t), x.clone()));
        }
        for (g, x) in b.alts {
            alts.push((and(not(ta.clone()), g), x));
        }
        Value {
            alts,
            ok: and(a.ok, or(ta, b.ok)),
        }
        .tidy()
    }

    fn value_and(&self, a: Value, b: Value) -> Value {
        let (ta, _) = self.truth(&a);
        let mut alts = Vec::new();
        for (g, x) in &a.alts {
            let (t, _) = self.truth(&Value::of(x.clone()));
            alts.push((and(g.clone(), not(t)), x.clone()));
        }
        for (g, x) in b.alts {
            alts.push((and(ta.clone(), g), x));
        }
        Value {
            alts,
            ok: and(a.ok, or(not(ta), b.ok)),
        }
        .tidy()
    }

    /// Apply `f` to every pair of alternatives: f gives (value, ok) for the pair.
    fn pairwise(
        &self,
        a: &Value,
        b: &Value,
        mut f: impl FnMut(&Atom, &Atom) -> Result<(Expr, Expr), String>,
        node: &impl Ranged,
    ) -> R<Value> {
        let mut vals = Vec::new();
        let mut bad = Vec::new();
        for (ga, xa) in &a.alts {
            for (gb, xb) in &b.alts {
                let g = and(ga.clone(), gb.clone());
                if g == Expr::Const(false) {
                    continue;
                }
                let (v, ok) = match f(xa, xb) {
                    Ok(r) => r,
                    Err(what) => return self.err(node, what),
                };
                vals.push(and(g.clone(), v));
                bad.push(and(g, not(ok)));
            }
        }
        Ok(Value::boolean(
            Expr::or(vals),
            Expr::and(vec![a.ok.clone(), b.ok.clone(), not(Expr::or(bad))]),
        ))
    }

    fn eq_atoms(&self, a: &Atom, b: &Atom) -> Result<(Expr, Expr), String> {
        let yes = Expr::Const(true);
        Ok(match (a, b) {
            (Atom::Const(x), Atom::Const(y)) => (Expr::Const(x.eq(y)), yes),
            (Atom::Json(l), Atom::Const(c)) | (Atom::Const(c), Atom::Json(l)) => match c {
                Py::None | Py::Match => (Expr::Const(false), yes),
                Py::Seq(_) | Py::Set(_) | Py::Dict(_) => {
                    return Err("== between event data and a list, set or dict".into())
                }
                c => (self.pred(l, Test::Is(c.json().unwrap_or_default())), yes),
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
                        Test::FieldRef {
                            other: y.field(),
                            anchor: Anchor::Whole,
                            cased: false,
                            before: String::new(),
                            after: String::new(),
                        },
                    ),
                    yes,
                )
            }
            (Atom::Bool(e), Atom::Const(c)) | (Atom::Const(c), Atom::Bool(e)) => {
                let n = c.num();
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
            (Atom::Walk(p), Atom::Const(c)) | (Atom::Const(c), Atom::Walk(p)) => match c.json() {
                Some(j) if !j.is_null() => (
                    quantified(p, crate::ir::Quantifier::Any, Test::Is(j), self.span),
                    yes,
                ),
                _ => return Err("deep_walk() compared with None or a container".into()),
            },
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
                            Test::FieldRef {
                                other: loc.field(),
                                anchor: Anchor::Whole,
                                cased: true,
                                before: before.clone(),
                                after: after.clone(),
                            },
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
    fn case_match(&self, l: &Loc, upper: bool, pattern: Pattern, text: &str) -> Expr {
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

    fn compare(&mut self, op: ast::CmpOp, l: &Value, r: &Value, node: &ast::Expr) -> R<Value> {
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
                    return self.err(node, "'is' with something other than None, True or False");
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
                let v = self.pairwise(r, l, |c, i| self.contains(c, i), node)?;
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
                self.pairwise(l, r, |a, b| self.order(op, a, b), node)
            }
        }
    }

    fn order(&self, op: CompareOp, a: &Atom, b: &Atom) -> Result<(Expr, Expr), String> {
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
            (Atom::Const(x), Atom::Const(y)) => match (x.num(), y.num(), x, y) {
                (Some(p), Some(q), _, _) => (Expr::Const(op.holds(p, q)), Expr::Const(true)),
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
                match c.num() {
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

    fn order_field(&self, op: CompareOp, l: &Loc, c: &Py) -> Result<(Expr, Expr), String> {
        let Some(n) = c.num() else {
            return match c {
                Py::Str(_) => Err("ordering a field against text".into()),
                _ => Ok((Expr::Const(false), Expr::Const(false))),
            };
        };
        let number = Number {
            value: n,
            text: c
                .json()
                .map(|j| j.to_string())
                .unwrap_or_else(|| n.to_string()),
        };
        let value = super::detection::py_compare(&l.field(), op, &number, self.span);
        let ok = or(
            self.is_type(l, JsonType::Number),
            self.is_type(l, JsonType::Boolean),
        );
        Ok((value, ok))
    }

    /// `item in container`.
    /// Python can hash the value (a set member or dict key): not a list or dict.
    fn hashable(&self, a: &Atom) -> Expr {
        match a {
            Atom::Json(l) => and(
                not(self.is_type(l, JsonType::Array)),
                not(self.is_type(l, JsonType::Object)),
            ),
            _ => Expr::Const(true),
        }
    }

    fn contains(&self, c: &Atom, i: &Atom) -> Result<(Expr, Expr), String> {
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
                let Some(j) = item.json() else {
                    return Err("'in' with a list or dict on the left".into());
                };
                let in_list = quantified(
                    &l.field(),
                    crate::ir::Quantifier::AnyElement,
                    Test::Is(j),
                    self.span,
                );
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
                            Test::FieldRef {
                                other: i.field(),
                                anchor: Anchor::Substring,
                                cased: true,
                                before: String::new(),
                                after: String::new(),
                            },
                        ),
                    ),
                    both,
                )
            }
            (Atom::Walk(p), Atom::Const(item)) => match item.json() {
                Some(j) if !j.is_null() => (
                    quantified(p, crate::ir::Quantifier::Any, Test::Is(j), self.span),
                    yes,
                ),
                _ => return Err("'in' deep_walk() with this value".into()),
            },
            _ => return Err("'in' between these values".into()),
        })
    }

    // ---- reading keys ----

    fn get_key(&self, recv: &Value, key: &str, how: Read, node: &ast::Expr) -> R<Value> {
        self.get_key_default(recv, key, how, Value::konst(Py::None), node)
    }

    fn get_key_default(
        &self,
        recv: &Value,
        key: &str,
        how: Read,
        default: Value,
        node: &ast::Expr,
    ) -> R<Value> {
        let mut alts = Vec::new();
        let mut oks = vec![recv.ok.clone(), default.ok.clone()];
        let with_default = |g: Expr, alts: &mut Vec<(Expr, Atom)>| {
            for (dg, da) in &default.alts {
                alts.push((and(g.clone(), dg.clone()), da.clone()));
            }
        };
        for (g, a) in &recv.alts {
            match a {
                Atom::Json(l) => {
                    if l.is_event() && key.starts_with("p_") {
                        return self.err(
                            node,
                            format!(
                                "'{key}' (a field Panther adds; CloudTrail records do not have it)"
                            ),
                        );
                    }
                    let child = l.child(key);
                    let obj = if l.is_event() {
                        Expr::Const(true)
                    } else {
                        self.is_type(l, JsonType::Object)
                    };
                    let go = and(g.clone(), obj.clone());
                    alts.push((
                        and(go.clone(), self.pred(&child, Test::Exists)),
                        Atom::Json(child.clone()),
                    ));
                    let absent_or_null = and(go.clone(), self.pred(&child, Test::Null));
                    match how {
                        Read::Get if default.as_const() == Some(&Py::None) => {
                            alts.push((absent_or_null, Atom::Const(Py::None)))
                        }
                        Read::Get => {
                            let has = self.pred(
                                l,
                                Test::HasKey(child.path.last().cloned().unwrap_or_default()),
                            );
                            alts.push((
                                and(absent_or_null.clone(), has.clone()),
                                Atom::Const(Py::None),
                            ));
                            with_default(and(absent_or_null, not(has)), &mut alts);
                        }
                        Read::Subscript => {
                            let has = self.pred(
                                l,
                                Test::HasKey(child.path.last().cloned().unwrap_or_default()),
                            );
                            alts.push((absent_or_null, Atom::Const(Py::None)));
                            oks.push(not(and(go.clone(), not(has))));
                        }
                        Read::Deep => with_default(absent_or_null, &mut alts),
                    }
                    let not_obj = and(g.clone(), not(obj));
                    match how {
                        Read::Deep => with_default(not_obj, &mut alts),
                        _ => oks.push(not(not_obj)),
                    }
                }
                Atom::Const(Py::Dict(d)) => {
                    match d.iter().find(|(k, _)| *k == Py::Str(key.to_owned())) {
                        Some((_, v)) if !(how == Read::Deep && *v == Py::None) => {
                            alts.push((g.clone(), Atom::Const(v.clone())))
                        }
                        _ => match how {
                            Read::Subscript => oks.push(not(g.clone())),
                            _ => with_default(g.clone(), &mut alts),
                        },
                    }
                }
                _ => match how {
                    Read::Deep => with_default(g.clone(), &mut alts),
                    _ => oks.push(not(g.clone())),
                },
            }
        }
        Ok(Value {
            alts,
            ok: Expr::and(oks),
        }
        .tidy())
    }

    /// `TABLE[key]` / `TABLE.get(key, default)` with a constant dict and a key from the event.
    fn table_lookup(
        &self,
        table: &Value,
        key: &Value,
        default: Option<Value>,
        node: &ast::Expr,
    ) -> R<Value> {
        let Some(Py::Dict(entries)) = table.as_const() else {
            return self.err(
                node,
                "a subscript with a key from event data on something other than a constant dict",
            );
        };
        let mut alts = Vec::new();
        let mut none_matched = Vec::new();
        for (k, v) in entries {
            let hit = self.pairwise(
                key,
                &Value::konst(k.clone()),
                |a, b| self.eq_atoms(a, b),
                node,
            )?;
            let (t, _) = self.truth(&hit);
            alts.push((t.clone(), Atom::Const(v.clone())));
            none_matched.push(not(t));
        }
        let miss = Expr::and(none_matched);
        // Looking a list or dict up in a dict raises TypeError (unhashable).
        let hashable = Expr::and(
            key.alts
                .iter()
                .map(|(g, a)| or(not(g.clone()), self.hashable(a)))
                .collect(),
        );
        let mut ok = and(key.ok.clone(), hashable);
        match default {
            Some(d) => {
                for (g, a) in d.alts {
                    alts.push((and(miss.clone(), g), a));
                }
                ok = and(ok, d.ok);
            }
            None => ok = and(ok, not(miss)),
        }
        Ok(Value { alts, ok }.tidy())
    }

    // ---- calls ----

    fn call(&mut self, c: &ast::ExprCall, env: &Env) -> R<Value> {
        let node = &ast::Expr::Call(c.clone());
        if let ast::Expr::Attribute(a) = c.func.as_ref() {
            let recv = self.expr(&a.value, env)?;
            return self.method(&recv, a.attr.as_str(), c, env, node);
        }
        let f = self.expr(&c.func, env)?;
        let callee = match f.alts.as_slice() {
            [(_, Atom::Call(k))] => k.clone(),
            _ => return self.err(node, "calling a value"),
        };
        match callee {
            Callable::Local(name) => self.inline_local(&name, c, env, node),
            Callable::Helper(h) => self.helper(&h, c, env, node),
            Callable::Module(m) => self.err(node, format!("calling the module '{m}'")),
            Callable::Unknown(name, why) => self.err(node, format!("{name}() ({why})")),
        }
    }

    fn args(&mut self, c: &ast::ExprCall, env: &Env) -> R<Vec<Value>> {
        let mut out = Vec::new();
        for a in &c.args {
            if matches!(a, ast::Expr::Starred(_)) {
                return self.err(a, "*args in a call");
            }
            out.push(self.expr(a, env)?);
        }
        Ok(out)
    }

    fn keyword(&mut self, c: &ast::ExprCall, name: &str, env: &Env) -> R<Option<Value>> {
        for k in &c.keywords {
            match &k.arg {
                Some(a) if a.as_str() == name => return self.expr(&k.value, env).map(Some),
                Some(_) => {}
                None => return self.err(&k.value, "**kwargs in a call"),
            }
        }
        Ok(None)
    }

    fn no_other_keywords(&self, c: &ast::ExprCall, allowed: &[&str], node: &ast::Expr) -> R<()> {
        for k in &c.keywords {
            let name = k.arg.as_ref().map(|a| a.to_string()).unwrap_or_default();
            if !allowed.contains(&name.as_str()) {
                return self.err(node, format!("the keyword argument '{name}='"));
            }
        }
        Ok(())
    }

    fn inline(
        &mut self,
        f: &'m ast::StmtFunctionDef,
        args: Vec<Value>,
        kwargs: Vec<(String, Value)>,
        node: &ast::Expr,
    ) -> R<Value> {
        if self.depth >= MAX_INLINE_DEPTH {
            return self.err(
                node,
                format!("{}() nests helper calls too deeply (recursion?)", f.name),
            );
        }
        let params = positional_params(f);
        if f.args.vararg.is_some() || f.args.kwarg.is_some() {
            return self.err(node, format!("{}() takes *args or **kwargs", f.name));
        }
        let mut env = Env::new();
        let mut ok = Vec::new();
        let defaults: Vec<Option<&ast::Expr>> = f
            .args
            .posonlyargs
            .iter()
            .chain(&f.args.args)
            .map(|a| a.default.as_deref())
            .collect();
        let mut args = args.into_iter();
        for (i, p) in params.iter().enumerate() {
            let v = match args.next() {
                Some(v) => v,
                None => match kwargs.iter().find(|(k, _)| k == p) {
                    Some((_, v)) => v.clone(),
                    None => match defaults.get(i).copied().flatten() {
                        Some(d) => self.expr(d, &Env::new())?,
                        None => {
                            return self.err(node, format!("{}() is called without '{p}'", f.name))
                        }
                    },
                },
            };
            ok.push(v.ok.clone());
            env.insert(
                p.clone(),
                Value {
                    ok: Expr::Const(true),
                    ..v
                },
            );
        }
        if args.next().is_some() {
            return self.err(
                node,
                format!("{}() is called with too many arguments", f.name),
            );
        }
        self.depth += 1;
        let r = self.run(
            vec![Frame {
                stmts: &f.body,
                lp: None,
            }],
            env,
        );
        self.depth -= 1;
        let mut r = r?;
        ok.push(r.ok);
        r.ok = Expr::and(ok);
        Ok(r)
    }

    fn inline_local(
        &mut self,
        name: &str,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> R<Value> {
        let Some(f) = self.functions.get(name).copied() else {
            return self.err(node, format!("{name}()"));
        };
        let args = self.args(c, env)?;
        let mut kwargs = Vec::new();
        for k in &c.keywords {
            let Some(a) = &k.arg else {
                return self.err(node, "**kwargs in a call");
            };
            kwargs.push((a.to_string(), self.expr(&k.value, env)?));
        }
        self.inline(f, args, kwargs, node)
    }

    fn inline_prelude(&mut self, name: &str, args: Vec<Value>, node: &ast::Expr) -> R<Value> {
        let Some(f) = self.prelude.get(name).copied() else {
            return self.err(node, format!("{name}()"));
        };
        let outer = self.site;
        self.site = Some(outer.unwrap_or_else(|| off(node)));
        let r = self.inline(f, args, vec![], node);
        self.site = outer;
        r
    }

    fn helper(&mut self, h: &str, c: &ast::ExprCall, env: &Env, node: &ast::Expr) -> R<Value> {
        match h {
            "any" | "all" => {
                let [arg] = c.args.as_slice() else {
                    return self.err(node, format!("{h}() with other than one argument"));
                };
                self.any_all(h == "any", arg, env)
            }
            "bool" => {
                let args = self.args(c, env)?;
                let [v] = args.as_slice() else {
                    return self.err(node, "bool() with other than one argument");
                };
                let (t, ok) = self.truth(v);
                Ok(Value::boolean(t, ok))
            }
            "set" | "frozenset" | "list" | "tuple" => {
                let args = self.args(c, env)?;
                match args.as_slice() {
                    [] if matches!(h, "set" | "frozenset") => Ok(Value::konst(Py::Set(vec![]))),
                    [] => Ok(Value::konst(Py::Seq(vec![]))),
                    [v] => match v.as_const().and_then(Py::elements) {
                        Some(items) if matches!(h, "set" | "frozenset") => {
                            Ok(Value::konst(Py::Set(items)))
                        }
                        Some(items) => Ok(Value::konst(Py::Seq(items))),
                        None => self.err(node, format!("{h}() of event data")),
                    },
                    _ => self.err(node, format!("{h}() with several arguments")),
                }
            }
            "isinstance" => {
                let [first, _] = c.args.as_slice() else {
                    return self.err(node, "isinstance() with other than two arguments");
                };
                let v = &self.expr(first, env)?;
                let unknown = "isinstance() against types other than str, bool, (int, float), \
                               Mapping, Sequence, dict, list, tuple";
                let classes = isinstance_classes(&c.args[1])
                    .ok_or(())
                    .or_else(|_| self.err(node, unknown))?;
                let types = isinstance_json_types(&classes)
                    .ok_or(())
                    .or_else(|_| self.err(node, unknown))?;
                let mut alts = Vec::new();
                for (g, a) in &v.alts {
                    let t = match a {
                        Atom::Json(l) => {
                            Expr::or(types.iter().map(|t| self.is_type(l, *t)).collect())
                        }
                        Atom::Case(..) => Expr::Const(types.contains(&JsonType::String)),
                        Atom::Const(p) => match isinstance_const(&classes, p) {
                            Some(b) => Expr::Const(b),
                            None => {
                                return self.err(node, "isinstance() of a constant list or tuple")
                            }
                        },
                        Atom::Bool(_) => Expr::Const(types.contains(&JsonType::Boolean)),
                        _ => return self.err(node, "isinstance() of this value"),
                    };
                    alts.push(and(g.clone(), t));
                }
                Ok(Value::boolean(Expr::or(alts), v.ok.clone()))
            }
            "len" => self.err(node, "len() (no target measures lengths the same way)"),
            "str" => self.err(node, "str() of event data"),
            "deep_get" => {
                let args = self.args(c, env)?;
                self.no_other_keywords(c, &["default"], node)?;
                let default = self
                    .keyword(c, "default", env)?
                    .unwrap_or_else(|| Value::konst(Py::None));
                let Some((obj, keys)) = args.split_first() else {
                    return self.err(node, "deep_get() without arguments");
                };
                self.deep_get(obj, keys, default, node)
            }
            "deep_walk" => {
                let args = self.args(c, env)?;
                self.no_other_keywords(c, &[], node)?;
                let Some((obj, keys)) = args.split_first() else {
                    return self.err(node, "deep_walk() without arguments");
                };
                self.deep_walk(obj, keys, node)
            }
            "fnmatch" => {
                let args = self.args(c, env)?;
                let [name, pat] = args.as_slice() else {
                    return self.err(node, "fnmatch() with other than two arguments");
                };
                self.fnmatch(name, pat, node)
            }
            "aws_cloudtrail_success" | "pattern_match" | "pattern_match_list" => {
                let args = self.args(c, env)?;
                self.inline_prelude(h, args, node)
            }
            "aws_rule_context" => self.err(
                node,
                "aws_rule_context() inside rule() (it builds the alert context)",
            ),
            "ip_address" => {
                let args = self.args(c, env)?;
                let [v] = args.as_slice() else {
                    return self.err(node, "ip_address() with other than one argument");
                };
                self.ip_address(v, node)
            }
            other => self.err(node, format!("{other}()")),
        }
    }

    /// `try: <stmt with one ip_address() call> <if ...: return <constant>>... except ValueError:`:
    /// the block's parts, and the handler's statements. Anything else is refused, since which
    /// exception a handler catches cannot be followed in general.
    fn try_ip_address(
        &mut self,
        t: &'m ast::StmtTry,
        stmt: &ast::Stmt,
        env: &Env,
    ) -> R<(TryIp<'m>, &'m [ast::Stmt])> {
        const WHY: &str = "try/except other than around one ipaddress.ip_address() call \
                           catching ValueError (which exceptions are caught cannot be followed)";
        if !t.orelse.is_empty() || !t.finalbody.is_empty() {
            return self.err(stmt, WHY);
        }
        let [ast::ExceptHandler::ExceptHandler(h)] = t.handlers.as_slice() else {
            return self.err(stmt, WHY);
        };
        let is_value_error = |x: &ast::Expr| {
            matches!(x, ast::Expr::Name(n)
                if matches!(n.id.as_str(), "ValueError" | "Exception" | "BaseException"))
        };
        let catches = match h.type_.as_deref() {
            None => true,
            Some(ast::Expr::Tuple(tu)) => tu.elts.iter().any(is_value_error),
            Some(x) => is_value_error(x),
        };
        if h.name.is_some() || !catches {
            return self.err(stmt, WHY);
        }
        let Some((first, rest)) = t.body.split_first() else {
            return self.err(stmt, WHY);
        };
        let (expr, name, returns) = match first {
            ast::Stmt::Expr(e) => (e.value.as_ref(), None, false),
            ast::Stmt::Assign(a) => match a.targets.as_slice() {
                [ast::Expr::Name(n)] => (a.value.as_ref(), Some(n.id.to_string()), false),
                _ => return self.err(stmt, WHY),
            },
            ast::Stmt::Return(r) => match &r.value {
                Some(v) => (v.as_ref(), None, true),
                None => return self.err(stmt, WHY),
            },
            _ => return self.err(stmt, WHY),
        };
        let before = self.ip_checks.len();
        let v = self.expr(expr, env)?;
        let checks: Vec<(Expr, Expr)> = self.ip_checks.drain(before..).collect();
        // One call, whose argument cannot raise, and nothing else in the statement that can.
        let [(arg_ok, call_ok)] = checks.as_slice() else {
            return self.err(stmt, WHY);
        };
        if *arg_ok != Expr::Const(true) || v.ok != *call_ok {
            return self.err(stmt, WHY);
        }
        let parsed = Value {
            ok: Expr::Const(true),
            ..v
        };
        let mut env_a = env.clone();
        if let Some(n) = &name {
            env_a.insert(n.clone(), parsed.clone());
        }
        for s in rest {
            let fine = match s {
                ast::Stmt::Pass(_) => true,
                ast::Stmt::If(i) if i.orelse.is_empty() => match i.body.as_slice() {
                    [ast::Stmt::Return(r)] => {
                        let c = self.expr(&i.test, &env_a)?;
                        let (_, ok) = self.truth(&c);
                        let returned = match &r.value {
                            Some(x) => self.expr(x, &env_a)?,
                            None => Value::konst(Py::None),
                        };
                        super::simplify::simplify(&ok) == Expr::Const(true)
                            && returned.as_const().is_some()
                    }
                    _ => false,
                },
                _ => false,
            };
            if !fine {
                return self.err(s, WHY);
            }
        }
        Ok((
            TryIp {
                valid: call_ok.clone(),
                first: returns.then(|| parsed.clone()),
                bind: name.map(|n| (n, parsed)),
                rest,
            },
            &h.body,
        ))
    }

    /// `ipaddress.ip_address(v)`: an address object when `v` is a string holding an IPv4 or IPv6
    /// address; anything else raises `ValueError` (rulecast reads a number, which Python takes as
    /// an integer address, as not an address).
    fn ip_address(&mut self, v: &Value, node: &ast::Expr) -> R<Value> {
        let mut alts = Vec::new();
        let mut invalid = Vec::new();
        for (g, a) in &v.alts {
            match a {
                Atom::Json(l) | Atom::Case(l, _) => {
                    let ip = is_ip(&l.field(), true, true, self.span);
                    alts.push((and(g.clone(), ip.clone()), Atom::Ip(l.clone())));
                    invalid.push(and(g.clone(), not(ip)));
                }
                Atom::Const(Py::Str(s)) if s.parse::<std::net::IpAddr>().is_ok() => {
                    return self.err(node, "ip_address() of a constant address")
                }
                // None, "", a default that is not an address: ValueError.
                Atom::Const(_) => invalid.push(g.clone()),
                _ => return self.err(node, "ip_address() of this value"),
            }
        }
        let ok = and(v.ok.clone(), not(Expr::or(invalid)));
        self.ip_checks.push((v.ok.clone(), ok.clone()));
        Ok(Value { alts, ok })
    }

    /// An attribute of an `ip_address()` object: `is_global`, `is_private`.
    fn ip_attribute(&self, v: &Value, attr: &str, node: &ast::Expr) -> R<Value> {
        let mut alts = Vec::new();
        for (g, a) in &v.alts {
            let Atom::Ip(l) = a else {
                return self.err(node, format!("the attribute '.{attr}' used as a value"));
            };
            let t = match attr {
                "is_global" => is_global_ip(&l.field(), self.span),
                "is_private" => and(
                    is_ip(&l.field(), true, true, self.span),
                    is_private_ip(&l.field(), self.span),
                ),
                other => {
                    return self.err(node, format!("the address attribute '.{other}'"));
                }
            };
            alts.push((g.clone(), Atom::Bool(t)));
        }
        Ok(Value {
            alts,
            ok: v.ok.clone(),
        }
        .tidy())
    }

    fn deep_get(&self, obj: &Value, keys: &[Value], default: Value, node: &ast::Expr) -> R<Value> {
        if keys.is_empty() {
            return Ok(obj.clone());
        }
        let mut cur = obj.clone();
        for (i, k) in keys.iter().enumerate() {
            let Some(Py::Str(k)) = k.as_const() else {
                return self.err(node, "deep_get() with keys that are not constant strings");
            };
            let last = i + 1 == keys.len();
            // Intermediate misses carry the default on; only the end substitutes it for None.
            let d = if last {
                default.clone()
            } else {
                Value::konst(Py::None)
            };
            cur = self.get_key_default(&cur, k, Read::Deep, d, node)?;
        }
        // A miss in the middle gave None: the default, unless None was found at the end.
        let mut alts = Vec::new();
        for (g, a) in cur.alts {
            match a {
                Atom::Const(Py::None) => {
                    for (dg, da) in &default.alts {
                        alts.push((and(g.clone(), dg.clone()), da.clone()));
                    }
                }
                other => alts.push((g, other)),
            }
        }
        Ok(Value {
            alts,
            ok: and(cur.ok, default.ok),
        }
        .tidy())
    }

    fn deep_walk(&self, obj: &Value, keys: &[Value], node: &ast::Expr) -> R<Value> {
        let [(_, Atom::Json(l))] = obj.alts.as_slice() else {
            return self.err(node, "deep_walk() of something other than the event");
        };
        if !l.is_event() {
            return self.err(node, "deep_walk() of something other than the event");
        }
        let mut path = Vec::new();
        for k in keys {
            let Some(Py::Str(k)) = k.as_const() else {
                return self.err(node, "deep_walk() with keys that are not constant strings");
            };
            path.push(if path.is_empty() {
                canonical_key(k)
            } else {
                k.clone()
            });
        }
        Ok(Value::of(Atom::Walk(FieldPath(path))))
    }

    fn fnmatch(&self, name: &Value, pat: &Value, node: &ast::Expr) -> R<Value> {
        self.reject_concat(name, node, "fnmatch()")?;
        let Some(Py::Str(p)) = pat.as_const() else {
            return self.err(
                node,
                "fnmatch() with a pattern that is not a constant string",
            );
        };
        let glob = Glob::parse(p);
        let mut vals = Vec::new();
        let mut bad = Vec::new();
        for (g, a) in &name.alts {
            match a {
                Atom::Json(l) => {
                    vals.push(and(g.clone(), glob.test(self, l, false)));
                    bad.push(and(g.clone(), not(self.is_type(l, JsonType::String))));
                }
                Atom::Case(l, upper) => {
                    let t = match &glob {
                        Glob::Simple(pt) => {
                            let lit: String =
                                pt.0.iter()
                                    .filter_map(|x| {
                                        if let Part::Lit(s) = x {
                                            Some(s.as_str())
                                        } else {
                                            None
                                        }
                                    })
                                    .collect();
                            self.case_match(l, *upper, pt.clone(), &lit)
                        }
                        Glob::Regex(_) => {
                            return self.err(node, "fnmatch() with [...] on a lowercased field")
                        }
                    };
                    vals.push(and(g.clone(), t));
                }
                Atom::Const(Py::Str(s)) => vals.push(and(g.clone(), Expr::Const(glob.matches(s)))),
                _ => bad.push(g.clone()),
            }
        }
        Ok(Value::boolean(
            Expr::or(vals),
            Expr::and(vec![name.ok.clone(), pat.ok.clone(), not(Expr::or(bad))]),
        ))
    }

    fn regex_call(
        &self,
        kind: &str,
        re: &str,
        flags: RegexFlags,
        subject: &Value,
        node: &ast::Expr,
    ) -> R<Value> {
        self.reject_concat(subject, node, "a regex match")?;
        let body = python_regex(re, flags).map_err(|m| PyErr {
            code: Code::BadRegex,
            msg: m,
            at: self.site.unwrap_or_else(|| off(node)),
        })?;
        let full = match kind {
            "match" => format!(r"\A(?:{body})"),
            "fullmatch" => format!(r"\A(?:{body})\z"),
            _ => body,
        };
        crate::sigma::detection::check_regex(&full, flags).map_err(|d| PyErr {
            code: Code::BadRegex,
            msg: format!("{} (from the Python pattern '{re}')", d.message),
            at: self.site.unwrap_or_else(|| off(node)),
        })?;
        let mut found = Vec::new();
        let mut bad = Vec::new();
        let mut absent = Vec::new();
        for (g, a) in &subject.alts {
            match a {
                Atom::Json(l) => {
                    let m = and(
                        self.is_type(l, JsonType::String),
                        self.pred(
                            l,
                            Test::Regex {
                                regex: full.clone(),
                                flags,
                            },
                        ),
                    );
                    found.push(and(g.clone(), m.clone()));
                    absent.push(and(g.clone(), not(m)));
                    bad.push(and(g.clone(), not(self.is_type(l, JsonType::String))));
                }
                Atom::Const(Py::Str(s)) => {
                    let hit = regex::RegexBuilder::new(&full)
                        .case_insensitive(flags.ignore_case)
                        .multi_line(flags.multi_line)
                        .dot_matches_new_line(flags.dot_all)
                        .build()
                        .map(|r| r.is_match(s))
                        .unwrap_or(false);
                    found.push(and(g.clone(), Expr::Const(hit)));
                    absent.push(and(g.clone(), Expr::Const(!hit)));
                }
                _ => bad.push(g.clone()),
            }
        }
        Ok(Value {
            alts: vec![
                (Expr::or(found), Atom::Const(Py::Match)),
                (Expr::or(absent), Atom::Const(Py::None)),
            ],
            ok: and(subject.ok.clone(), not(Expr::or(bad))),
        })
    }

    fn method(
        &mut self,
        recv: &Value,
        name: &str,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> R<Value> {
        // Modules.
        if let [(_, Atom::Call(Callable::Module(m)))] = recv.alts.as_slice() {
            let m = m.clone();
            return match (m.as_str(), name) {
                ("re", "match" | "search" | "fullmatch") => {
                    let args = self.args(c, env)?;
                    let (pat, subject, flags) = match args.as_slice() {
                        [p, s] => (p, s, None),
                        [p, s, f] => (p, s, Some(f)),
                        _ => return self.err(node, format!("re.{name}() with these arguments")),
                    };
                    let flags = match flags.or(self.keyword(c, "flags", env)?.as_ref()) {
                        Some(f) => regex_flags(f).ok_or(()).or_else(|_| {
                            self.err(node, "re flags other than IGNORECASE, MULTILINE, DOTALL")
                        })?,
                        None => RegexFlags::default(),
                    };
                    let Some(Py::Str(p)) = pat.as_const() else {
                        return self
                            .err(node, "a regular expression that is not a constant string");
                    };
                    self.regex_call(name, p, flags, subject, node)
                }
                ("re", "compile") => {
                    let args = self.args(c, env)?;
                    let flags = match args.get(1) {
                        Some(f) => regex_flags(f).ok_or(()).or_else(|_| {
                            self.err(node, "re flags other than IGNORECASE, MULTILINE, DOTALL")
                        })?,
                        None => RegexFlags::default(),
                    };
                    match args.first().and_then(Value::as_const) {
                        Some(Py::Str(p)) => Ok(Value::of(Atom::Regex(p.clone(), flags))),
                        _ => self.err(
                            node,
                            "re.compile() of something other than a constant string",
                        ),
                    }
                }
                ("fnmatch", "fnmatch" | "fnmatchcase") => self.helper("fnmatch", c, env, node),
                ("ipaddress", "ip_address") => self.helper("ip_address", c, env, node),
                (m, f) => self.err(node, format!("{m}.{f}()")),
            };
        }
        if let [(_, Atom::Regex(p, flags))] = recv.alts.as_slice() {
            let (p, flags) = (p.clone(), *flags);
            if !matches!(name, "match" | "search" | "fullmatch") {
                return self.err(node, format!("the compiled-pattern method .{name}()"));
            }
            let args = self.args(c, env)?;
            let [subject] = args.as_slice() else {
                return self.err(node, "a pattern method with other than one argument");
            };
            return self.regex_call(name, &p, flags, subject, node);
        }
        let is_event = matches!(recv.alts.as_slice(), [(_, Atom::Json(l))] if l.is_event());
        match name {
            "get" => {
                let args = self.args(c, env)?;
                let (k, d) = match args.as_slice() {
                    [k] => (k, Value::konst(Py::None)),
                    [k, d] => (k, d.clone()),
                    _ => return self.err(node, ".get() with these arguments"),
                };
                match k.as_const() {
                    Some(Py::Str(key)) => {
                        let key = key.clone();
                        let mut v = self.get_key_default(recv, &key, Read::Get, d, node)?;
                        v.ok = and(k.ok.clone(), v.ok);
                        Ok(v)
                    }
                    Some(_) => self.err(node, ".get() with a key that is not a string"),
                    None => self.table_lookup(recv, k, Some(d), node),
                }
            }
            "deep_get" if is_event => {
                let args = self.args(c, env)?;
                self.no_other_keywords(c, &["default"], node)?;
                let default = self
                    .keyword(c, "default", env)?
                    .unwrap_or_else(|| Value::konst(Py::None));
                self.deep_get(recv, &args, default, node)
            }
            "deep_walk" if is_event => {
                let args = self.args(c, env)?;
                self.no_other_keywords(c, &[], node)?;
                self.deep_walk(recv, &args, node)
            }
            "udm" if is_event => {
                let args = self.args(c, env)?;
                let [n] = args.as_slice() else {
                    return self.err(node, "udm() with other than one argument");
                };
                let Some(Py::Str(n)) = n.as_const() else {
                    return self.err(node, "udm() of a name that is not a constant");
                };
                match n.as_str() {
                    "source_ip" => {
                        let l = Loc { elem: 0, path: vec!["sourceIPAddress".into()] };
                        let ip = is_ip(&l.field(), true, true, self.span);
                        Ok(Value { alts: vec![(ip.clone(), Atom::Json(l)), (not(ip), Atom::Const(Py::None))], ok: Expr::Const(true) })
                    }
                    "event_type" | "user_agent" | "user" | "user_account_id" => {
                        let f = format!("udm_{n}");
                        self.inline_prelude(&f, vec![recv.clone()], node)
                    }
                    other => self.err(node, format!("event.udm(\"{other}\") (a data-model field rulecast does not reproduce)")),
                }
            }
            "lookup" | "udm" | "deep_get" | "deep_walk" => self.err(
                node,
                format!(".{name}() (enrichment or a Panther event method on a non-event)"),
            ),
            "startswith" | "endswith" => {
                let args = self.args(c, env)?;
                let [arg] = args.as_slice() else {
                    return self.err(node, format!(".{name}() with other than one argument"));
                };
                self.anchored(recv, arg, name == "startswith", node)
            }
            "lower" | "upper" | "casefold" => {
                if !c.args.is_empty() {
                    return self.err(node, format!(".{name}() with arguments"));
                }
                let upper = name == "upper";
                self.reject_concat(recv, node, &format!(".{name}()"))?;
                let mut alts = Vec::new();
                let mut bad = Vec::new();
                for (g, a) in &recv.alts {
                    match a {
                        Atom::Json(l) => {
                            alts.push((
                                and(g.clone(), self.is_type(l, JsonType::String)),
                                Atom::Case(l.clone(), upper),
                            ));
                            bad.push(and(g.clone(), not(self.is_type(l, JsonType::String))));
                        }
                        Atom::Case(l, _) => alts.push((g.clone(), Atom::Case(l.clone(), upper))),
                        Atom::Const(Py::Str(s)) => alts.push((
                            g.clone(),
                            Atom::Const(Py::Str(if upper {
                                s.to_uppercase()
                            } else {
                                s.to_lowercase()
                            })),
                        )),
                        _ => bad.push(g.clone()),
                    }
                }
                Ok(Value {
                    alts,
                    ok: and(recv.ok.clone(), not(Expr::or(bad))),
                })
            }
            "keys" | "values" | "items" if c.args.is_empty() => match recv.as_const() {
                // A keys or items view hashes what `in` looks for, like a set; values compare.
                Some(Py::Dict(entries)) => Ok(Value::konst(match name {
                    "keys" => Py::Set(entries.iter().map(|(k, _)| k.clone()).collect()),
                    "values" => Py::Seq(entries.iter().map(|(_, v)| v.clone()).collect()),
                    _ => Py::Set(
                        entries
                            .iter()
                            .map(|(k, v)| Py::Seq(vec![k.clone(), v.clone()]))
                            .collect(),
                    ),
                })),
                _ => self.err(
                    node,
                    format!("the method .{name}() of something other than a constant dict"),
                ),
            },
            other => self.err(node, format!("the method .{other}()")),
        }
    }

    /// A built string (f-string or `+`) where only literals and fields are read: refused, so it
    /// is never taken for a value that raises.
    fn reject_concat(&self, v: &Value, node: &ast::Expr, what: &str) -> R<()> {
        if v.alts.iter().any(|(_, a)| matches!(a, Atom::Concat { .. })) {
            return self.err(node, format!("{what} of a built string (f-string or +)"));
        }
        Ok(())
    }

    /// `before + v + after`: an f-string (`str()` of the value: a string as itself, `None`,
    /// `True`, `False`) or `+` (strings only: anything else raises `TypeError`). A number, object
    /// or list in an f-string, whose Python text rulecast does not reproduce, reads as an error
    /// (no match).
    fn concat(
        &self,
        before: &str,
        v: &Value,
        after: &str,
        fstring: bool,
        node: &ast::Expr,
    ) -> R<Value> {
        let mut alts = Vec::new();
        let mut bad = Vec::new();
        let around = |t: &str| Atom::Const(Py::Str(format!("{before}{t}{after}")));
        for (g, a) in &v.alts {
            match a {
                Atom::Const(Py::Str(t)) => alts.push((g.clone(), around(t))),
                Atom::Const(p) if fstring => match p.str_text() {
                    Some(t) => alts.push((g.clone(), around(&t))),
                    None => return self.err(node, "an f-string of this constant"),
                },
                Atom::Const(_) => bad.push(g.clone()),
                Atom::Json(l) => {
                    alts.push((
                        and(g.clone(), self.is_type(l, JsonType::String)),
                        Atom::Concat {
                            before: before.to_owned(),
                            loc: l.clone(),
                            after: after.to_owned(),
                        },
                    ));
                    let mut fine = vec![self.is_type(l, JsonType::String)];
                    if fstring {
                        for b in [true, false] {
                            let t = and(
                                self.is_type(l, JsonType::Boolean),
                                self.pred(l, Test::Is(serde_json::Value::Bool(b))),
                            );
                            alts.push((
                                and(g.clone(), t.clone()),
                                around(if b { "True" } else { "False" }),
                            ));
                            fine.push(t);
                        }
                    }
                    bad.push(and(g.clone(), not(Expr::or(fine))));
                }
                Atom::Concat {
                    before: b0,
                    loc,
                    after: a0,
                } => alts.push((
                    g.clone(),
                    Atom::Concat {
                        before: format!("{before}{b0}"),
                        loc: loc.clone(),
                        after: format!("{a0}{after}"),
                    },
                )),
                _ => {
                    return self.err(
                        node,
                        if fstring {
                            "an f-string of this value"
                        } else {
                            "concatenation with this value"
                        },
                    )
                }
            }
        }
        Ok(Value {
            alts,
            ok: and(v.ok.clone(), not(Expr::or(bad))),
        }
        .tidy())
    }

    /// `s.startswith(arg)` / `s.endswith(arg)`, `arg` a string, a tuple of strings, or a field.
    fn anchored(&self, recv: &Value, arg: &Value, start: bool, node: &ast::Expr) -> R<Value> {
        let make = |s: &str| {
            let p = Pattern::literal(s.to_owned());
            if start {
                p.any_suffix()
            } else {
                p.any_prefix()
            }
        };
        let anchor = if start {
            Anchor::Prefix
        } else {
            Anchor::Suffix
        };
        self.pairwise(
            recv,
            arg,
            |r, a| {
                let lits: Vec<String> = match a {
                    Atom::Const(Py::Str(s)) => vec![s.clone()],
                    Atom::Const(Py::Seq(v)) if v.iter().all(|x| matches!(x, Py::Str(_))) => v
                        .iter()
                        .filter_map(|x| {
                            if let Py::Str(s) = x {
                                Some(s.clone())
                            } else {
                                None
                            }
                        })
                        .collect(),
                    Atom::Json(f) => {
                        return match r {
                            Atom::Json(l) => {
                                same_base(l, f)?;
                                let both = and(
                                    self.is_type(l, JsonType::String),
                                    self.is_type(f, JsonType::String),
                                );
                                Ok((
                                    and(
                                        both.clone(),
                                        self.pred(
                                            l,
                                            Test::FieldRef {
                                                other: f.field(),
                                                anchor,
                                                cased: true,
                                                before: String::new(),
                                                after: String::new(),
                                            },
                                        ),
                                    ),
                                    both,
                                ))
                            }
                            // A constant string starts (ends) with exactly its prefixes (suffixes).
                            Atom::Const(Py::Str(s)) => {
                                let cuts: Vec<Expr> = (0..=s.len())
                                    .filter(|i| s.is_char_boundary(*i))
                                    .map(|i| if start { &s[..i] } else { &s[i..] })
                                    .map(|p| {
                                        self.pred(
                                            f,
                                            Test::Is(serde_json::Value::String(p.to_owned())),
                                        )
                                    })
                                    .collect();
                                Ok((Expr::or(cuts), self.is_type(f, JsonType::String)))
                            }
                            Atom::Const(_) => Ok((Expr::Const(false), Expr::Const(false))),
                            _ => {
                                Err("startswith/endswith with a field argument on this value"
                                    .into())
                            }
                        };
                    }
                    // Theirs is a string (the alternative's guard says so).
                    Atom::Concat { before, loc, after } => {
                        return match r {
                            Atom::Json(l) => {
                                same_base(l, loc)?;
                                let mine = self.is_type(l, JsonType::String);
                                Ok((
                                    and(
                                        mine.clone(),
                                        self.pred(
                                            l,
                                            Test::FieldRef {
                                                other: loc.field(),
                                                anchor,
                                                cased: true,
                                                before: before.clone(),
                                                after: after.clone(),
                                            },
                                        ),
                                    ),
                                    mine,
                                ))
                            }
                            // A constant ends with before + x + after for exactly the x
                            // that fill one of its tails (heads for startswith).
                            Atom::Const(Py::Str(s)) => {
                                let mut xs = Vec::new();
                                let n = s.len();
                                for i in 0..=n {
                                    for j in i..=n {
                                        if !s.is_char_boundary(i) || !s.is_char_boundary(j) {
                                            continue;
                                        }
                                        // The built string is s[k..] (or s[..k]).
                                        let (head, x, tail) = (&s[..i], &s[i..j], &s[j..]);
                                        let fits = if start {
                                            head == before.as_str()
                                                && tail.starts_with(after.as_str())
                                        } else {
                                            head.ends_with(before.as_str())
                                                && tail == after.as_str()
                                        };
                                        if fits && !xs.contains(&x) {
                                            xs.push(x);
                                        }
                                    }
                                }
                                let eqs = xs
                                    .into_iter()
                                    .map(|x| {
                                        self.pred(
                                            loc,
                                            Test::Is(serde_json::Value::String(x.to_owned())),
                                        )
                                    })
                                    .collect();
                                Ok((Expr::or(eqs), Expr::Const(true)))
                            }
                            Atom::Const(_) => Ok((Expr::Const(false), Expr::Const(false))),
                            _ => {
                                Err("startswith/endswith with a built string on this value".into())
                            }
                        };
                    }
                    _ => return Ok((Expr::Const(false), Expr::Const(false))),
                };
                Ok(match r {
                    Atom::Json(l) => (
                        Expr::or(
                            lits.iter()
                                .map(|s| {
                                    self.pred(
                                        l,
                                        Test::Str {
                                            pattern: make(s),
                                            fold: false,
                                        },
                                    )
                                })
                                .collect(),
                        ),
                        self.is_type(l, JsonType::String),
                    ),
                    Atom::Case(l, upper) => (
                        Expr::or(
                            lits.iter()
                                .map(|s| self.case_match(l, *upper, make(s), s))
                                .collect(),
                        ),
                        Expr::Const(true),
                    ),
                    Atom::Const(Py::Str(s)) => (
                        Expr::Const(lits.iter().any(|x| {
                            if start {
                                s.starts_with(x.as_str())
                            } else {
                                s.ends_with(x.as_str())
                            }
                        })),
                        Expr::Const(true),
                    ),
                    Atom::Concat { .. } => {
                        return Err("startswith/endswith of a built string (f-string or +)".into())
                    }
                    _ => (Expr::Const(false), Expr::Const(false)),
                })
            },
            node,
        )
    }

    /// `any(...)` / `all(...)` of a generator or a list.
    fn any_all(&mut self, is_any: bool, arg: &ast::Expr, env: &Env) -> R<Value> {
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
                        Ok(Value::konst(Py::Bool(if is_any {
                            t.iter().any(|x| *x)
                        } else {
                            t.iter().all(|x| *x)
                        })))
                    }
                    None => self.err(
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
            return self.err(arg, "a generator with several 'for' clauses");
        };
        let ast::Expr::Name(var) = &gen.target else {
            return self.err(&gen.target, "a generator target other than a name");
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

    /// any/all over `iter` of `elt` with `var` bound to each item, filtered by `ifs`.
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
    ) -> R<Value> {
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
                    let (mut acc, mut ok) = (Expr::Const(!is_any), Expr::Const(true));
                    for item in items {
                        let mut e2 = env.clone();
                        e2.insert(var.to_owned(), Value::konst(item));
                        let (t, tok) = self.filtered(is_any, ifs, elt, &e2)?;
                        if is_any {
                            ok = and(ok, or(acc.clone(), tok));
                            acc = or(acc, t);
                        } else {
                            ok = and(ok, or(not(acc.clone()), tok));
                            acc = and(acc, t);
                        }
                    }
                    (acc, ok)
                }
                Atom::Json(l) => {
                    self.next_elem += 1;
                    let id = self.next_elem + 1000 * (l.elem + 1);
                    let me = Loc {
                        elem: id,
                        path: vec![],
                    };
                    let item = Value {
                        alts: vec![
                            (self.pred(&me, Test::Exists), Atom::Json(me.clone())),
                            (self.pred(&me, Test::Null), Atom::Const(Py::None)),
                        ],
                        ok: Expr::Const(true),
                    };
                    let mut e2 = env.clone();
                    e2.insert(var.to_owned(), item);
                    let (t, tok) = self.filtered(is_any, ifs, elt, &e2)?;
                    let body_v = relative(&t, id).map_err(|w| self.error(node, w))?;
                    let body_ok = relative(&tok, id).map_err(|w| self.error(node, w))?;
                    let path = l.field();
                    let count = if is_any { Count::Some } else { Count::Every };
                    let v = elements(&path, count, body_v, self.span);
                    let ok = and(
                        self.is_type(l, JsonType::Array),
                        elements(&path, Count::Every, body_ok, self.span),
                    );
                    (v, ok)
                }
                _ => return self.err(node, "iterating over this value"),
            };
            vals.push(and(g.clone(), v));
            oks.push(or(not(g.clone()), ok));
        }
        Ok(Value::boolean(Expr::or(vals), Expr::and(oks)))
    }

    /// One item's (truth, ok): with `if` filters, any() needs filter ∧ elt, all() ¬filter ∨ elt.
    fn filtered(
        &mut self,
        is_any: bool,
        ifs: &[ast::Expr],
        elt: &ast::Expr,
        env: &Env,
    ) -> R<(Expr, Expr)> {
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

#[derive(Debug, Clone, Copy, PartialEq)]
enum Read {
    /// `d.get(k, default)`: default when the key is absent, None when it is null.
    Get,
    /// `d[k]`: KeyError when absent.
    Subscript,
    /// `deep_get`: default when absent, null or not a mapping.
    Deep,
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

/// Bind a loop variable, or unpack a constant tuple into several names.
fn bind(env: &mut Env, names: &[String], item: &Value) {
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

/// What `from module import name` binds.
fn imported(module: &str, name: &str) -> Callable {
    let helper = |n: &str| Callable::Helper(n.to_owned());
    match (module, name) {
        ("fnmatch", "fnmatch" | "fnmatchcase") => helper("fnmatch"),
        ("ipaddress", "ip_address") => helper("ip_address"),
        (
            _,
            "deep_get"
            | "deep_walk"
            | "pattern_match"
            | "pattern_match_list"
            | "aws_cloudtrail_success"
            | "aws_rule_context",
        ) => helper(name),
        (m, _) if m.contains("event_type") => Callable::Module(format!("{m}.{name}")),
        (
            _,
            "get_string_set" | "put_string_set" | "check_account_age" | "set_key_expiration"
            | "increase_counter" | "get_counter" | "reset_counter" | "add_to_string_set",
        ) => Callable::Unknown(
            name.to_owned(),
            "state kept across events in Panther's cache".into(),
        ),
        (m, _)
            if m.contains("ipinfo")
                || m.contains("greynoise")
                || m.contains("otx")
                || m.contains("misp")
                || m.contains("lookup")
                || m.contains("tor") =>
        {
            Callable::Unknown(name.to_owned(), "an enrichment lookup".into())
        }
        ("policyuniverse" | "policyuniverse.policy", _) => {
            Callable::Unknown(name.to_owned(), "IAM policy parsing".into())
        }
        (m, n) => Callable::Unknown(
            n.to_owned(),
            format!("'{n}' from '{m}' is not a helper rulecast knows"),
        ),
    }
}

fn positional_params(f: &ast::StmtFunctionDef) -> Vec<String> {
    f.args
        .posonlyargs
        .iter()
        .chain(&f.args.args)
        .map(|a| a.def.arg.to_string())
        .collect()
}

fn constant(c: &ast::Constant, node: &ast::Expr) -> R<Py> {
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

/// `ite(t, a, b)`: `a` where `t` holds, `b` elsewhere.
fn ite(t: Expr, a: Value, b: Value) -> Value {
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

fn same_base(a: &Loc, b: &Loc) -> Result<(), String> {
    if a.elem == b.elem {
        Ok(())
    } else {
        Err("comparing an array element with a field outside the array".into())
    }
}

/// The element-relative form of a generator body: paths of element `id` lose their marker; any
/// other path (the event, an outer element) cannot be read per element.
fn relative(e: &Expr, id: usize) -> Result<Expr, String> {
    let marker = format!("{ELEM}{id}");
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
                .map(|x| relative(x, id))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Or(xs) => Expr::or(
            xs.iter()
                .map(|x| relative(x, id))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Not(x) => Expr::not(relative(x, id)?),
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
fn check_no_element_refs(e: &Expr, node: &impl Ranged) -> R<()> {
    let mut bad = false;
    let mut visit = |f: &FieldPath| {
        if f.segments().first().is_some_and(|s| s.starts_with(ELEM)) {
            bad = true;
        }
    };
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
        return nt(node, "a loop variable used outside its loop");
    }
    Ok(())
}

/// The classes `isinstance()`'s second argument names (`Mapping`, `collections.abc.Mapping`,
/// `(str, bool)`), when rulecast knows them all.
fn isinstance_classes(e: &ast::Expr) -> Option<Vec<&'static str>> {
    const KNOWN: &[&str] = &[
        "str",
        "bool",
        "int",
        "float",
        "dict",
        "list",
        "tuple",
        "Mapping",
        "MutableMapping",
        "Sequence",
        "MagicMock",
    ];
    let one = |x: &ast::Expr| -> Option<&'static str> {
        let name = match x {
            ast::Expr::Name(n) => n.id.as_str(),
            ast::Expr::Attribute(a) => a.attr.as_str(),
            _ => return None,
        };
        KNOWN.iter().find(|k| **k == name).copied()
    };
    match e {
        ast::Expr::Tuple(t) => t.elts.iter().map(one).collect(),
        x => one(x).map(|c| vec![c]),
    }
}

/// The JSON types of an event value that is an instance of one of the classes. Panther hands
/// `rule()` objects as a read-only `Mapping` and arrays as a read-only `Sequence`: never a
/// `dict`, `list`, `tuple` or mock. None when the classes split JSON numbers (`int` without
/// `float`, or the reverse).
fn isinstance_json_types(classes: &[&str]) -> Option<Vec<JsonType>> {
    let has = |n: &str| classes.contains(&n);
    let mut out = Vec::new();
    let mut add = |t: JsonType| {
        if !out.contains(&t) {
            out.push(t);
        }
    };
    if has("str") || has("Sequence") {
        add(JsonType::String);
    }
    if has("bool") {
        add(JsonType::Boolean);
    }
    match (has("int"), has("float")) {
        (true, true) => {
            add(JsonType::Number);
            add(JsonType::Boolean);
        }
        (false, false) => {}
        _ => return None,
    }
    if has("Mapping") {
        add(JsonType::Object);
    }
    if has("Sequence") {
        add(JsonType::Array);
    }
    Some(out)
}

/// Is a Python constant an instance of one of the classes? None when rulecast cannot tell (a
/// list or a tuple, an int or a float).
fn isinstance_const(classes: &[&str], p: &Py) -> Option<bool> {
    let has = |n: &str| classes.contains(&n);
    Some(match p {
        Py::Str(_) => has("str") || has("Sequence"),
        Py::Bool(_) => has("bool") || has("int"),
        Py::Num(_) => match (has("int"), has("float")) {
            (true, true) => true,
            (false, false) => false,
            _ => return None,
        },
        Py::Dict(_) => has("dict") || has("Mapping") || has("MutableMapping"),
        Py::Seq(_) => match (has("list"), has("tuple")) {
            (true, true) => true,
            (false, false) => has("Sequence"),
            _ => return None,
        },
        Py::Set(_) | Py::None | Py::Match => false,
    })
}

fn regex_flags(v: &Value) -> Option<RegexFlags> {
    let Some(Py::Str(s)) = v.as_const() else {
        return None;
    };
    let mut f = RegexFlags::default();
    for part in s.split('|') {
        match part.trim_start_matches("re.") {
            "I" | "IGNORECASE" => f.ignore_case = true,
            "M" | "MULTILINE" => f.multi_line = true,
            "S" | "DOTALL" => f.dot_all = true,
            _ => return None,
        }
    }
    Some(f)
}

/// A Python `re` pattern in the portable subset: named groups become plain groups, `\Z` is `\z`,
/// and `$` outside MULTILINE (end, or before a final newline) is `\n?\z`.
fn python_regex(re: &str, flags: RegexFlags) -> Result<String, String> {
    let re = crate::sigma::detection::unname_groups(re);
    if re.contains("(?P=") {
        return Err(format!(
            "not translatable: the back-reference in the regular expression '{re}'"
        ));
    }
    let mut out = String::with_capacity(re.len());
    let mut chars = re.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let n = chars.next().unwrap_or('\\');
                if n == 'Z' && !in_class {
                    out.push_str(r"\z");
                } else {
                    out.push('\\');
                    out.push(n);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str(r"\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '$' if !in_class && !flags.multi_line => out.push_str(r"(?:\n?\z)"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// An `fnmatch` pattern: `*`, `?` and `[...]` classes.
enum Glob {
    Simple(Pattern),
    Regex(String),
}

impl Glob {
    fn parse(p: &str) -> Glob {
        if !p.contains('[') {
            let mut pat = Pattern::default();
            for c in p.chars() {
                match c {
                    '*' => pat.push(Part::AnyRun),
                    '?' => pat.push(Part::OneChar),
                    c => pat.push(Part::Lit(c.to_string())),
                }
            }
            return Glob::Simple(pat);
        }
        let chars: Vec<char> = p.chars().collect();
        let mut re = String::from(r"\A");
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '*' => re.push_str(r"[\s\S]*"),
                '?' => re.push_str(r"[\s\S]"),
                '[' => {
                    // A class runs to the next ']' (a ']' right after '[' or '[!' is literal).
                    let mut j = i + 1;
                    if chars.get(j) == Some(&'!') {
                        j += 1;
                    }
                    if chars.get(j) == Some(&']') {
                        j += 1;
                    }
                    while j < chars.len() && chars[j] != ']' {
                        j += 1;
                    }
                    if j >= chars.len() {
                        re.push_str(r"\[");
                    } else {
                        let mut body: String = chars[i + 1..j].iter().collect();
                        let negate = body.starts_with('!');
                        if negate {
                            body.remove(0);
                        }
                        let body = body
                            .replace('\\', r"\\")
                            .replace('[', r"\[")
                            .replace(']', r"\]")
                            .replace('&', r"\&")
                            .replace('~', r"\~");
                        re.push('[');
                        if negate {
                            re.push('^');
                        }
                        re.push_str(&body);
                        re.push(']');
                        i = j;
                    }
                }
                c => re.push_str(&crate::ir::regex_escape(&c.to_string())),
            }
            i += 1;
        }
        re.push_str(r"\z");
        Glob::Regex(re)
    }

    fn test(&self, t: &Translator, l: &Loc, fold: bool) -> Expr {
        match self {
            Glob::Simple(p) => t.pred(
                l,
                Test::Str {
                    pattern: p.clone(),
                    fold,
                },
            ),
            Glob::Regex(r) => and(
                t.is_type(l, JsonType::String),
                t.pred(
                    l,
                    Test::Regex {
                        regex: r.clone(),
                        flags: RegexFlags::default(),
                    },
                ),
            ),
        }
    }

    fn matches(&self, s: &str) -> bool {
        match self {
            Glob::Simple(p) => crate::eval::wildcard_match(&p.0, s, false),
            Glob::Regex(r) => regex::Regex::new(r).is_ok_and(|re| re.is_match(s)),
        }
    }
}

/// The alert's output fields, from `alert_context()`: `aws_rule_context(event)` gives its fields,
/// and keys read with `event.get` / `deep_get` / `event.deep_get` are added (best effort; this
/// never affects matching).
fn output_fields(module: &[ast::Stmt]) -> Vec<String> {
    let mut out = Vec::new();
    for s in module {
        if let ast::Stmt::FunctionDef(f) = s {
            if f.name.as_str() == "alert_context" {
                let Some(event) = positional_params(f).into_iter().next() else {
                    continue;
                };
                for st in &f.body {
                    stmt_fields(st, &event, &mut out);
                }
            }
        }
    }
    out
}

/// The event fields an `alert_context` statement reads (`event` names the function's parameter:
/// reads from other objects, such as a local alias, are not fields of the record's top level).
fn stmt_fields(s: &ast::Stmt, event: &str, out: &mut Vec<String>) {
    match s {
        ast::Stmt::Return(r) => {
            if let Some(v) = &r.value {
                expr_fields(v, event, out);
            }
        }
        ast::Stmt::Assign(a) => expr_fields(&a.value, event, out),
        ast::Stmt::Expr(e) => expr_fields(&e.value, event, out),
        ast::Stmt::If(i) => {
            i.body
                .iter()
                .chain(&i.orelse)
                .for_each(|x| stmt_fields(x, event, out));
        }
        _ => {}
    }
}

fn expr_fields(e: &ast::Expr, event: &str, out: &mut Vec<String>) {
    let is_event = |x: &ast::Expr| matches!(x, ast::Expr::Name(n) if n.id.as_str() == event);
    let mut add = |f: String| {
        if !f.is_empty() && !f.starts_with("p_") && !out.contains(&f) {
            out.push(f);
        }
    };
    let strs = |args: &[ast::Expr]| -> Vec<String> {
        args.iter()
            .filter_map(|a| match a {
                ast::Expr::Constant(c) => match &c.value {
                    ast::Constant::Str(s) => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    };
    match e {
        ast::Expr::Call(c) => {
            // `event.get(..)`, `event.deep_get(..)`, `deep_get(event, ..)`, `aws_rule_context(..)`.
            let name = match c.func.as_ref() {
                ast::Expr::Name(n)
                    if n.id.as_str() != "deep_get" || c.args.first().is_some_and(is_event) =>
                {
                    n.id.to_string()
                }
                ast::Expr::Attribute(a) if is_event(&a.value) => a.attr.to_string(),
                _ => String::new(),
            };
            match name.as_str() {
                "aws_rule_context" => AWS_CONTEXT.iter().for_each(|f| add((*f).to_owned())),
                "get" | "deep_get" => {
                    let mut keys = strs(&c.args);
                    if let Some(first) = keys.first_mut() {
                        *first = canonical_key(first);
                    }
                    if !keys.is_empty() && (name == "deep_get" || keys.len() <= 2) {
                        let keys = if name == "get" {
                            vec![keys[0].clone()]
                        } else {
                            keys
                        };
                        add(keys.join("."));
                    }
                }
                _ => {}
            }
            c.args.iter().for_each(|a| expr_fields(a, event, out));
            let _ = &c.keywords;
        }
        ast::Expr::Dict(d) => d.values.iter().for_each(|v| expr_fields(v, event, out)),
        ast::Expr::BinOp(b) => {
            expr_fields(&b.left, event, out);
            expr_fields(&b.right, event, out);
        }
        ast::Expr::BoolOp(b) => b.values.iter().for_each(|v| expr_fields(v, event, out)),
        _ => {}
    }
}

const AWS_CONTEXT: &[&str] = super::AWS_RULE_CONTEXT_FIELDS;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tr(src: &str) -> Result<Expr, Diagnostic> {
        translate(Path::new("t.py"), src, Span::default())
            .map(|t| super::super::simplify::simplify(&t.condition))
    }

    /// `rule` body lines; each event with the expected verdict, checked with the evaluator and jq.
    fn check(body: &str, cases: &[(serde_json::Value, bool)]) {
        let src = format!("import re\nfrom fnmatch import fnmatch\nfrom panther_base_helpers import deep_get, pattern_match, pattern_match_list\nfrom panther_aws_helpers import aws_cloudtrail_success\n\ndef rule(event):\n{}\n", body.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n"));
        let cond = tr(&src).unwrap_or_else(|d| panic!("{d:?}\n{src}"));
        let rule = crate::rule::Rule {
            format: crate::rule::Format::Panther,
            meta: Default::default(),
            detections: vec![],
            condition_text: vec![],
            condition: cond.clone(),
            span: Span::default(),
        };
        let jq = crate::backend::render(
            crate::backend::Target::Jq.backend().expect("jq"),
            &rule,
            &Default::default(),
        )
        .expect("renders");
        let program = crate::jq_exec::JqProgram::compile(&jq).expect("compiles");
        for (e, want) in cases {
            let got = crate::eval::matches(&cond, e).expect("evaluates");
            assert_eq!(got, *want, "evaluator on {e}\n{body}\n{cond:?}");
            let by_jq = !program.run(e).expect("runs").is_empty();
            assert_eq!(by_jq, *want, "jq on {e}\n{body}\n{jq}");
        }
    }

    fn fails(body: &str, needle: &str) -> Diagnostic {
        let src = format!(
            "import re\n\ndef rule(event):\n{}\n",
            body.lines()
                .map(|l| format!("    {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let d = tr(&src).expect_err("refused");
        assert!(d.message.contains(needle), "{}", d.message);
        d
    }

    #[test]
    fn equality_and_not_equal_on_missing() {
        check(
            "return event.get('eventName') == 'CreateUser'",
            &[
                (json!({"eventName": "CreateUser"}), true),
                (json!({"eventName": "createuser"}), false),
                (json!({}), false),
            ],
        );
        // `!=` is true on a missing field, as in Python.
        check(
            "return event.get('eventType') != 'AwsServiceEvent'",
            &[
                (json!({}), true),
                (json!({"eventType": null}), true),
                (json!({"eventType": "AwsServiceEvent"}), false),
                (json!({"eventType": "AwsApiCall"}), true),
            ],
        );
        // Typed: "1" is not 1, True == 1.
        check(
            "return event.get('n') == 1",
            &[
                (json!({"n": 1}), true),
                (json!({"n": "1"}), false),
                (json!({"n": true}), true),
                (json!({"n": 1.0}), true),
            ],
        );
    }

    #[test]
    fn truthiness_of_empty_values() {
        let cases = [
            (json!({"x": ""}), false),
            (json!({"x": 0}), false),
            (json!({"x": []}), false),
            (json!({"x": {}}), false),
            (json!({"x": false}), false),
            (json!({"x": null}), false),
            (json!({}), false),
            (json!({"x": "a"}), true),
            (json!({"x": [0]}), true),
            (json!({"x": {"a": 1}}), true),
            (json!({"x": 0.5}), true),
        ];
        check("if event.get('x'):\n    return True\nreturn False", &cases);
        check("return bool(event.get('x'))", &cases);
        let negated: Vec<_> = cases.iter().map(|(e, b)| (e.clone(), !b)).collect();
        check("return not event.get('x')", &negated);
    }

    #[test]
    fn exceptions_mean_no_match() {
        // None.startswith raises: no match, and `not` does not turn it into a match.
        check(
            "return event.get('ua').startswith('aws')",
            &[
                (json!({"ua": "aws-cli"}), true),
                (json!({}), false),
                (json!({"ua": 5}), false),
            ],
        );
        check(
            "return not event.get('ua').startswith('aws')",
            &[
                (json!({"ua": "boto"}), true),
                (json!({}), false),
                (json!({"ua": 5}), false),
            ],
        );
        // `and` short-circuits past the raising operand; `or` does not.
        check(
            "return event.get('a') == 'x' and event.get('ua').startswith('aws')",
            &[
                (json!({"a": "y"}), false),
                (json!({"a": "x", "ua": "aws"}), true),
                (json!({"a": "x"}), false),
            ],
        );
        check(
            "return not (event.get('a') == 'x' and event.get('ua').startswith('aws'))",
            &[
                (json!({"a": "y"}), true),
                (json!({"a": "x"}), false),
                (json!({"a": "x", "ua": "boto"}), true),
            ],
        );
        check(
            "return event.get('a') == 'x' or event.get('ua').endswith('s')",
            &[
                (json!({"a": "x"}), true),
                (json!({"ua": "ss"}), true),
                (json!({}), false),
            ],
        );
        check(
            "return not (event.get('a') == 'x' or event.get('ua').endswith('s'))",
            &[
                (json!({"a": "x"}), false),
                (json!({"ua": "sb"}), true),
                (json!({}), false),
            ],
        );
        // event["k"] raises KeyError when absent.
        check(
            "return event['k'] is None",
            &[
                (json!({"k": null}), true),
                (json!({}), false),
                (json!({"k": 1}), false),
            ],
        );
        // An exception in a helper or an if condition.
        check(
            "if event.get('n') > 5:\n    return True\nreturn False",
            &[
                (json!({"n": 6}), true),
                (json!({"n": 5}), false),
                (json!({"n": "6"}), false),
                (json!({}), false),
                (json!({"n": true}), false),
            ],
        );
        check(
            "if event.get('n') > 5:\n    return False\nreturn True",
            &[
                (json!({"n": 6}), false),
                (json!({"n": 1}), true),
                (json!({"n": "x"}), false),
                (json!({}), false),
            ],
        );
        check("raise ValueError('x')", &[(json!({}), false)]);
    }

    #[test]
    fn get_defaults_and_deep_get() {
        check(
            "return event.get('a', 'd') == 'd'",
            &[
                (json!({}), true),
                (json!({"a": null}), false),
                (json!({"a": "d"}), true),
            ],
        );
        check(
            "return event.get('p', {}).get('u') == 'x'",
            &[
                (json!({"p": {"u": "x"}}), true),
                (json!({}), false),
                (json!({"p": null}), false),
            ],
        );
        check(
            "return not event.get('p', {}).get('u')",
            &[
                (json!({}), true),
                (json!({"p": null}), false),
                (json!({"p": "s"}), false),
                (json!({"p": {"u": ""}}), true),
            ],
        );
        check(
            "return deep_get(event, 'a', 'b', default='z') == 'z'",
            &[
                (json!({}), true),
                (json!({"a": {"b": null}}), true),
                (json!({"a": "s"}), true),
                (json!({"a": {"b": "y"}}), false),
            ],
        );
        check(
            "return event.deep_get('a', 'b') is None",
            &[
                (json!({}), true),
                (json!({"a": {"b": 1}}), false),
                (json!({"a": [{"b": 1}]}), true),
            ],
        );
        // Top-level keys in any case read CloudTrail's spelling.
        check(
            "return event.get('sourceIpAddress') == '1.2.3.4'",
            &[(json!({"sourceIPAddress": "1.2.3.4"}), true)],
        );
        check(
            "p = event.get('requestParameters') or {}\nreturn p.get('userName') == 'root'",
            &[
                (json!({"requestParameters": {"userName": "root"}}), true),
                (json!({"requestParameters": null}), false),
                (json!({}), false),
            ],
        );
    }

    #[test]
    fn membership_and_strings() {
        check(
            "return event.get('e') in ('A', 'B')",
            &[
                (json!({"e": "A"}), true),
                (json!({"e": "C"}), false),
                (json!({}), false),
            ],
        );
        check(
            "return event.get('e') not in ['A', 'B']",
            &[
                (json!({"e": "C"}), true),
                (json!({}), true),
                (json!({"e": "B"}), false),
            ],
        );
        check(
            "return 'admin' in event.get('n', '')",
            &[
                (json!({"n": "xadminx"}), true),
                (json!({"n": ["admin"]}), true),
                (json!({"n": {"admin": 1}}), true),
                (json!({}), false),
                (json!({"n": 5}), false),
            ],
        );
        check(
            "return event.get('n', '').lower() == 'admin'",
            &[
                (json!({"n": "ADMIN"}), true),
                (json!({"n": "Admin2"}), false),
                (json!({}), false),
            ],
        );
        check(
            "return event.get('n', '').lower().startswith('adm')",
            &[(json!({"n": "ADMx"}), true), (json!({"n": "xadm"}), false)],
        );
        check(
            "return event.get('n', '').endswith(('.exe', '.sh'))",
            &[(json!({"n": "a.sh"}), true), (json!({"n": "a.py"}), false)],
        );
        check(
            "return event.get('a') == event.get('b')",
            &[
                (json!({"a": "x", "b": "x"}), true),
                (json!({}), true),
                (json!({"a": "x"}), false),
                (json!({"a": "x", "b": "y"}), false),
            ],
        );
        check(
            "return event.get('arn', '').endswith(event.get('user'))",
            &[
                (json!({"arn": "a/bob", "user": "bob"}), true),
                (json!({"arn": "a/bob", "user": "al"}), false),
                (json!({"arn": "a/bob"}), false),
            ],
        );
    }

    #[test]
    fn constants_aliases_helpers_and_loops() {
        let src = "import re\nNAMES = {'A', 'B'}\nPREFIXES = ('Put', 'Delete')\nTABLE = {'s3.amazonaws.com': ['PutBucketPolicy'], 'iam.amazonaws.com': ['CreateUser']}\n\ndef is_write(name):\n    return any(name.startswith(p) for p in PREFIXES)\n\ndef rule(event):\n    name = event.get('eventName', '')\n    if name in NAMES:\n        return True\n    if name in TABLE.get(event.get('eventSource'), []):\n        return True\n    for p in ['Stop', 'Halt']:\n        if name.startswith(p):\n            return True\n    return is_write(name) and not name.endswith('Tag')\n";
        let cond = tr(src).expect("translates");
        for (e, want) in [
            (json!({"eventName": "A"}), true),
            (json!({"eventName": "PutX"}), true),
            (json!({"eventName": "PutTag"}), false),
            (json!({"eventName": "StopLogging"}), true),
            (
                json!({"eventName": "CreateUser", "eventSource": "iam.amazonaws.com"}),
                true,
            ),
            (
                json!({"eventName": "CreateUser", "eventSource": "s3.amazonaws.com"}),
                false,
            ),
            (json!({}), false),
        ] {
            assert_eq!(crate::eval::matches(&cond, &e).expect("ok"), want, "{e}");
        }
    }

    #[test]
    fn globs_regexes_and_success() {
        check(
            "return fnmatch(event.get('n', ''), 'arn:*:role/Admin?')",
            &[
                (json!({"n": "arn:x:role/Admin1"}), true),
                (json!({"n": "arn:x:role/Admin"}), false),
            ],
        );
        check(
            "return pattern_match_list(event.get('n', ''), ['a*', '*[0-9]'])",
            &[
                (json!({"n": "abc"}), true),
                (json!({"n": "x9"}), true),
                (json!({"n": "x"}), false),
            ],
        );
        check(
            "return bool(re.match(r'^Create(User|Role)$', event.get('n', '')))",
            &[
                (json!({"n": "CreateUser"}), true),
                (json!({"n": "CreateUser\n"}), true),
                (json!({"n": "xCreateUser"}), false),
            ],
        );
        check(
            "return re.search('admin', event.get('n', ''), re.I) is not None",
            &[
                (json!({"n": "is-ADMIN"}), true),
                (json!({"n": "user"}), false),
            ],
        );
        check(
            "return aws_cloudtrail_success(event)",
            &[
                (json!({}), true),
                (json!({"errorCode": ""}), true),
                (json!({"errorCode": "AccessDenied"}), false),
                (json!({"errorMessage": "x"}), false),
            ],
        );
    }

    #[test]
    fn generators_over_event_arrays() {
        let items = "deep_get(event, 'rp', 'items', default=[])";
        check(
            &format!("return any(i.get('userId') == 'all' for i in {items})"),
            &[
                (
                    json!({"rp": {"items": [{"userId": "1"}, {"userId": "all"}]}}),
                    true,
                ),
                (json!({"rp": {"items": [{"userId": "1"}]}}), false),
                (json!({}), false),
            ],
        );
        check(
            &format!("return all(i.get('userId', '').startswith('1') for i in {items})"),
            &[
                (
                    json!({"rp": {"items": [{"userId": "1"}, {"userId": "12"}]}}),
                    true,
                ),
                (json!({"rp": {"items": [{"userId": "2"}]}}), false),
                (json!({}), true),
            ],
        );
        check(&format!("for i in {items}:\n    if i.get('group') == 'all':\n        return True\nreturn False"), &[
            (json!({"rp": {"items": [{"group": "all"}]}}), true),
            (json!({"rp": {"items": []}}), false),
        ]);
        check(
            "return any(r.startswith('arn:aws:s3') for r in event.get('arns', []))",
            &[
                (json!({"arns": ["arn:aws:s3:::b"]}), true),
                (json!({"arns": ["x"]}), false),
            ],
        );
    }

    #[test]
    fn refusals_point_at_the_construct() {
        let d = fails("return len(event.get('x', [])) > 1", "len()");
        assert_eq!(
            d.location,
            Some(crate::diagnostic::Location::LineCol(
                crate::source::LineCol {
                    line: 4,
                    column: 12
                }
            ))
        );
        assert_eq!(d.file.as_deref(), Some(Path::new("t.py")));
        fails("from panther_detection_helpers.caching import get_string_set\nreturn get_string_set('k')", "cache");
        fails(
            "return event.get('p_enrichment') is not None",
            "Panther adds",
        );
        fails(
            "try:\n    return True\nexcept Exception:\n    return False",
            "try/except",
        );
        fails("return re.match(r'(?=a)b', event.get('x', ''))", "");
        fails("return event.get('x')[0] == 1", "indexing");
        fails("while True:\n    return True", "while");
        let d = translate(
            Path::new("t.py"),
            "def rule(event)\n    return True\n",
            Span::default(),
        )
        .expect_err("syntax");
        assert_eq!(d.code, Code::PythonSyntax);
    }
}
