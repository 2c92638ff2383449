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
//! [`Expr::Elements`] (over a string or a dict, Python's characters or keys are decided item by
//! item where the condition names finitely many of them). Anything else is an error
//! `not translatable: <construct>` at its line and column in the `.py`: never a partial query.
//! A case that cannot be translated but may be unreachable (a dict where the rule checked for a
//! list) is a *deferred refusal*: a marker predicate that refuses the rule only if it survives
//! simplification.
//!
//! # How a rule flows through the modules
//!
//! - [`translate`] (here) parses the rule and the prelude (Python versions of Panther helpers,
//!   `prelude.py`) and builds a `Translator`; `module` binds the module-level imports,
//!   constants and functions, then runs `rule(event)` with the parameter bound to the event.
//! - `stmt` runs statements: `Translator::run` walks a stack of frames (blocks), binding
//!   names in an `Env` as it goes. Where control flow branches (`if`, `try`, a loop over event
//!   data) one continuation is run to its `return`, the other goes on in place, and the two
//!   values are joined on the branching condition (`Value::if_then_else`) when the run returns,
//!   so the result is one `Value` per function; an `if` whose branches only bind names joins
//!   the names instead, and the rest of the function runs once.
//! - `expr` turns an expression into a `Value` (`value` defines the types), dispatching to
//!   the module of each concern: `ops` for truthiness, `and`/`or`/`not` and comparisons,
//!   `keys` for reading fields (`event.get`, `event[...]`, `deep_get`), `calls` for calls
//!   (which go on to `helpers`, `strings`, `regex`, `fnmatch`, `ipaddress`,
//!   `isinstance` and `generators`).
//! - A condition is an IR [`Expr`] over the event: the truth of the returned value (`ops`),
//!   conjoined with its `ok`, is the rule's condition.
//! - `fields` separately reads `alert_context()` for the alert's output fields.
//!
//! # Cost
//!
//! The translation's cost follows the rule's size. `a or b or ...` and `a and b and ...` over
//! bools (the usual case) become one `Or`/`And` of the operands' truths, each written once; an
//! operand-returning chain copies each operand's truth into the guards after it (quadratic in
//! the chain's length, refused past the size limit); `elif` chains and early returns join one
//! test per branch, and runs of branches returning the same constant join as one `Or`/`And`.
//! What cannot be written without copies (a variable flipped by many independent `if`s) grows
//! until `limits` refuses it: nesting, recursion, statements run and the size of each value are
//! bounded (docs/errors.md, "Python rules"), and the translation runs on a thread with a stack
//! sized for those bounds. The simplifier that follows bounds its own work (`simplify`).
//!
//! Refusals are `PyErr`s made by `Translator::refuse` (or `not_translatable` outside a
//! translator) and carry the byte offset of the construct; [`translate`] turns them into a
//! [`Diagnostic`] at the line and column of the `.py`.

mod calls;
mod expr;
mod fields;
mod fnmatch;
mod generators;
mod helpers;
mod ipaddress;
mod isinstance;
mod keys;
mod limits;
mod module;
mod notes;
mod ops;
mod regex;
mod stmt;
mod strings;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_cost;
mod value;

use std::collections::HashMap;
use std::path::Path;

use rustpython_parser::ast::{self, Ranged};

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Expr, JsonType, Root, Test};
use crate::source::{SourceFile, Span};

use super::{exact, quantified};
use fields::output_fields;
use value::{Loc, Value};

/// A translated module: the condition `rule()` returns True under, and the alert's output fields.
#[derive(Debug, Clone)]
pub struct Translation {
    /// The condition under which `rule(event)` returns `True` without raising.
    pub condition: Expr,
    /// The fields `alert_context()` reads, for the alert's output.
    pub fields: Vec<String>,
    /// The condition under which `rule(event)` raises, simplified; None when it never does or
    /// when the condition holds a marker of the translator's (an element-relative path, a
    /// deferred refusal) that has no meaning over a whole event.
    pub raises: Option<Expr>,
    /// What a reader of the query should know that the query cannot say (a module-level dict
    /// spelled out in it).
    pub notes: Vec<String>,
}

/// `raises` simplified, unless it is `false` or reads a marker path.
fn usable_raises(raises: &Expr) -> Option<Expr> {
    let r = crate::passes::lower(raises);
    if r == Expr::Const(false) {
        return None;
    }
    let marked = r.paths().iter().any(|f| f.root() != Root::Event);
    (!marked).then_some(r)
}

/// Python versions of the Panther helpers rulecast translates by inlining them.
const PRELUDE: &str = include_str!("../prelude.py");
/// How deeply helper calls may nest while they are inlined (deeper is taken for recursion).
const MAX_INLINE_DEPTH: usize = 16;

/// Translate a rule module (`path` is shown in diagnostics).
pub fn translate(path: &Path, text: &str, span: Span) -> Result<Translation, Diagnostic> {
    let file = SourceFile::new(path, text);
    let at = |offset: usize| {
        let lc = file.line_col(offset);
        (lc.line, lc.column)
    };
    let module = parse(text).map_err(|(msg, offset)| {
        let (l, c) = at(offset);
        Diagnostic::new(Code::PythonSyntax, msg).in_other_file(path, l, c)
    })?;
    if let Err(e) = limits::check_nesting(&module) {
        // Dropping a syntax tree recurses as deep as it nests, which is what the check refused:
        // the tree is left allocated instead (once, and no larger than the source).
        std::mem::forget(module);
        let (l, c) = at(e.at);
        return Err(Diagnostic::new(e.code, e.msg).in_other_file(path, l, c));
    }
    let prelude = parse(PRELUDE).map_err(|(msg, _)| {
        Diagnostic::new(Code::PythonSyntax, format!("rulecast prelude: {msg}"))
    })?;
    let (module_ref, prelude_ref) = (&module, &prelude);
    let result = on_translation_stack(move || translate_rule(module_ref, prelude_ref, span))
        .map_err(|e| {
            let (l, c) = at(e.at);
            Diagnostic::new(e.code, e.msg).in_other_file(path, l, c)
        })?;
    let (condition, raises) = result;
    Ok(Translation {
        condition,
        fields: output_fields(&module),
        raises: raises.and_then(|r| usable_raises(&r)),
        notes: notes::spelled_out_dicts(&module, text),
    })
}

/// The stack the translation runs on (see [`on_translation_stack`]).
const TRANSLATION_STACK: usize = 64 << 20;

/// Run `f` on a thread with a [`TRANSLATION_STACK`]: the translator recurses at most
/// `limits::MAX_DEPTH` levels, but a level can take several kilobytes of stack (more in a debug
/// build), more than the 2 MiB a spawned thread gets by default. Only what is used is allocated.
/// Runs on the current thread if no thread can be started.
fn on_translation_stack<T: Send>(f: impl FnOnce() -> T + Send + Copy) -> T {
    std::thread::scope(|s| {
        match std::thread::Builder::new()
            .name("rulecast-python".into())
            .stack_size(TRANSLATION_STACK)
            .spawn_scoped(s, f)
        {
            Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Err(_) => f(),
        }
    })
}

/// The condition of the module's `rule()`, with the prelude's helpers at hand.
fn translate_rule(
    module: &[ast::Stmt],
    prelude: &[ast::Stmt],
    span: Span,
) -> Translated<(Expr, Option<Expr>)> {
    let mut t = Translator {
        span,
        globals: HashMap::new(),
        functions: HashMap::new(),
        prelude: HashMap::new(),
        inline_depth: 0,
        site: None,
        elements_bound: 0,
        ip_checks: Vec::new(),
        defaults: HashMap::new(),
        deferred: Vec::new(),
        depth: 0,
        steps: 0,
        raises: None,
    };
    for s in prelude {
        if let ast::Stmt::FunctionDef(f) = s {
            t.prelude.insert(f.name.to_string(), f);
        }
    }
    let cond = t.translate_module(module)?;
    Ok((cond, t.raises.take()))
}

/// Parse Python source into its statements, or a message and the byte offset of the error.
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

/// The result of translating a construct: a value, or why it cannot be translated.
type Translated<T> = Result<T, PyErr>;

/// The byte offset in the `.py` where a syntax node starts.
fn start_offset(node: &impl Ranged) -> usize {
    usize::from(node.range().start())
}

/// The error E310 `not translatable: <what>` at `node`, outside a [`Translator`] (whose
/// [`Translator::refuse`] points into the rule while a prelude helper is inlined).
fn not_translatable<T>(node: &impl Ranged, what: impl std::fmt::Display) -> Translated<T> {
    Err(PyErr {
        code: Code::NotTranslatable,
        msg: format!("not translatable: {what}"),
        at: start_offset(node),
    })
}

/// The local names of the function being run, and their values.
type Env = HashMap<String, Value>;

/// The state of one translation: what the module defines, and bookkeeping while `rule()` runs.
/// Its methods are spread over the child modules, one concern each.
struct Translator<'m> {
    /// The span of the rule in its YAML file, given to every predicate.
    span: Span,
    /// Module-level names: imports and constants.
    globals: HashMap<String, Value>,
    /// The functions the module defines (inlined when called).
    functions: HashMap<String, &'m ast::StmtFunctionDef>,
    /// The functions of the prelude (Panther helpers inlined when called).
    prelude: HashMap<String, &'m ast::StmtFunctionDef>,
    /// How many inlined calls are running (at most [`MAX_INLINE_DEPTH`]).
    inline_depth: usize,
    /// The rule's call site while a prelude helper is inlined (errors point there).
    site: Option<usize>,
    /// How many generator elements have been bound so far: numbers each new one.
    elements_bound: usize,
    /// For each `ipaddress.ip_address()` call translated so far: the condition its argument is
    /// computed without raising, and the condition the call raises no `ValueError` (what a
    /// `try: ... except ValueError:` around it catches).
    ip_checks: Vec<(Expr, Expr)>,
    /// The default values of each module function's positional parameters (None: no default),
    /// computed when the module defined it, as Python does. Prelude functions have none here.
    defaults: HashMap<*const ast::StmtFunctionDef, Vec<Option<Value>>>,
    /// The refusals deferred so far (see [`Translator::deferred_refusal`]): each one's message
    /// and offset, numbered by position.
    deferred: Vec<(String, usize)>,
    /// How deeply the translator is recursing (see `limits`).
    depth: usize,
    /// How many statements have run (see `limits`).
    steps: usize,
    /// Set once `rule()` is translated: the condition under which it raises.
    raises: Option<Expr>,
}

/// `a ∧ b`.
fn and(a: Expr, b: Expr) -> Expr {
    Expr::and(vec![a, b])
}
/// `a ∨ b`.
fn or(a: Expr, b: Expr) -> Expr {
    Expr::or(vec![a, b])
}
/// `¬a`.
fn not(a: Expr) -> Expr {
    Expr::not(a)
}

impl<'m> Translator<'m> {
    /// The error E310 `not translatable: <what>` at `node`, or at the rule's call site while a
    /// prelude helper is inlined.
    fn refusal(&self, node: &impl Ranged, what: impl std::fmt::Display) -> PyErr {
        PyErr {
            code: Code::NotTranslatable,
            msg: format!("not translatable: {what}"),
            at: self.site.unwrap_or_else(|| start_offset(node)),
        }
    }

    /// A refusal of the construct at `node` that holds only where the rule could reach it: a
    /// predicate on a marker path that stands for "rulecast cannot say". The rule's condition is
    /// simplified at the end, and if a marker is left the rule is refused with its message
    /// (`not translatable: <what>`); a marker the other tests make unreachable (the value was
    /// checked to be a list before, say) simplifies away.
    fn deferred_refusal(&mut self, node: &impl Ranged, what: impl std::fmt::Display) -> Expr {
        let e = self.refusal(node, what);
        let id = self.deferred.len();
        self.deferred.push((e.msg, e.at));
        // Not an exact read: the simplifier takes it for an opaque atom, with no facts about
        // the fields around it.
        quantified(
            &crate::ir::FieldPath::from_root(Root::Refusal(id), Vec::new()),
            crate::ir::Quantifier::Any,
            Test::Exists,
            self.span,
        )
    }

    /// Refuse the construct at `node`: [`Translator::refusal`] as an `Err`.
    fn refuse<T>(&self, node: &impl Ranged, what: impl std::fmt::Display) -> Translated<T> {
        Err(self.refusal(node, what))
    }

    /// The IR predicate `test` on the field at `loc` (an `Expr::Pred`).
    fn pred(&self, loc: &Loc, test: Test) -> Expr {
        exact(&loc.field(), test, self.span)
    }

    /// The field at `loc` has the JSON type `t`.
    fn is_type(&self, loc: &Loc, t: JsonType) -> Expr {
        self.pred(loc, Test::Type(t))
    }

    /// The value at `loc`, known to be present and not null, has the JSON type `t`: decided by
    /// the CloudTrail shape table for a path it gives a type (`recipientAccountId` is a string,
    /// `readOnly` a Boolean), a type test on any other path. (The documented-shapes pass decides
    /// such tests anyway; deciding them here builds no branch that pass would drop.)
    fn present_is_type(&self, loc: &Loc, t: JsonType) -> Expr {
        match crate::cloudtrail::scalar_at(&loc.path) {
            Some(Some(documented)) if loc.elem == 0 && !loc.path.is_empty() => {
                Expr::Const(documented == t)
            }
            _ => self.is_type(loc, t),
        }
    }
}
