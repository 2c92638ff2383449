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

mod calls;
mod expr;
mod fields;
mod fnmatch;
mod generators;
mod helpers;
mod ipaddress;
mod isinstance;
mod keys;
mod module;
mod ops;
mod regex;
mod stmt;
mod strings;
#[cfg(test)]
mod tests;
mod value;

use std::collections::HashMap;
use std::path::Path;

use rustpython_parser::ast::{self, Ranged};

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Expr, JsonType, Test};
use crate::source::{SourceFile, Span};

use super::exact;
use fields::output_fields;
use value::{Loc, Value};

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

type Env = HashMap<String, Value>;

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
}
