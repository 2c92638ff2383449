//! The module level: imports, constants and function definitions, then `rule(event)`.
//!
//! [`Translator::translate_module`] binds what the module defines (module-level values that
//! cannot be computed are bound to a name that refuses when used), runs `rule()` with its
//! parameter bound to the event, and reads the returned value as the rule's condition.
//! [`imported`] says what each `from module import name` stands for.
//!
//! Only statements whose effect is a binding are read at module level: `def` (its defaults
//! computed there, as Python does), imports and assignments to names. Anything that could change
//! a value after it is bound (`S.append(...)`, `+=`, `del`, `D[k] = v`, an `if`, a loop, a
//! class) is refused at the statement, as is a value rulecast cannot compute from a call that
//! could change another one: ignoring them would translate the module as if they never ran.

use rustpython_parser::ast;

use crate::diagnostic::Code;
use crate::ir::{Expr, JsonType, Test};

use super::generators::check_no_element_refs;
use super::stmt::Frame;
use super::value::{Atom, Callable, Loc, Py, Value};
use super::{and, not, not_translatable, Env, PyErr, Translated, Translator};
use crate::ir::Root;

impl<'m> Translator<'m> {
    /// The condition under which the module's `rule(event)` returns `True` without raising.
    /// Module-level imports, constants and functions are bound first (an assignment that cannot be
    /// computed binds a name that refuses when used; other statements are refused); a module
    /// without `rule()` is `NotARule`, a decorated or rebound `rule` is refused, and an element
    /// marker or a reachable deferred refusal left in the result is refused.
    pub(super) fn translate_module(&mut self, body: &'m [ast::Stmt]) -> Translated<Expr> {
        let mut rule = None;
        // The statement that last bound `rule` to something other than a function, if it did.
        let mut rule_rebound: Option<&ast::Stmt> = None;
        for s in body {
            let bound: Vec<(String, Value)> = match s {
                ast::Stmt::FunctionDef(f) => {
                    // Default values are computed when the function is defined.
                    let mut defaults = Vec::new();
                    for a in f.args.posonlyargs.iter().chain(&f.args.args) {
                        defaults.push(match &a.default {
                            Some(d) => Some(self.module_value(d)?.unwrap_or_else(|| {
                                unknown(
                                    a.def.arg.as_str(),
                                    "a default value rulecast cannot compute",
                                )
                            })),
                            None => None,
                        });
                    }
                    self.defaults.insert(std::ptr::from_ref(f), defaults);
                    if f.name.as_str() == "rule" {
                        rule = Some(f);
                        rule_rebound = None;
                    }
                    self.functions.insert(f.name.to_string(), f);
                    self.globals.remove(f.name.as_str());
                    continue;
                }
                ast::Stmt::Import(i) => import_bindings(i),
                ast::Stmt::ImportFrom(i) => {
                    if let Some(star) = i.names.iter().find(|a| a.name.as_str() == "*") {
                        return not_translatable(
                            star,
                            "'import *' (it can rebind any name of the module)",
                        );
                    }
                    import_from_bindings(i)
                }
                ast::Stmt::Assign(a) => {
                    for t in &a.targets {
                        if !matches!(t, ast::Expr::Name(_)) {
                            return not_translatable(t, MODULE_TARGET);
                        }
                    }
                    let v = self.module_value(&a.value)?;
                    a.targets
                        .iter()
                        .filter_map(|t| match t {
                            ast::Expr::Name(n) => Some((n.id.to_string(), module_binding(n, &v))),
                            _ => None,
                        })
                        .collect()
                }
                ast::Stmt::AnnAssign(a) => match (a.target.as_ref(), &a.value) {
                    (ast::Expr::Name(n), Some(value)) => {
                        let v = self.module_value(value)?;
                        vec![(n.id.to_string(), module_binding(n, &v))]
                    }
                    // An annotation alone binds nothing.
                    (ast::Expr::Name(_), None) => vec![],
                    (t, _) => return not_translatable(t, MODULE_TARGET),
                },
                // Docstrings, `pass`, and `global` (a no-op at module level).
                ast::Stmt::Expr(e) if matches!(e.value.as_ref(), ast::Expr::Constant(_)) => {
                    continue
                }
                ast::Stmt::Pass(_) | ast::Stmt::Global(_) => continue,
                other => return not_translatable(other, module_statement(other)),
            };
            for (name, v) in bound {
                if name == "rule" {
                    rule = None;
                    rule_rebound = Some(s);
                }
                self.functions.remove(name.as_str());
                self.globals.insert(name, v);
            }
        }
        if let Some(s) = rule_rebound {
            return not_translatable(s, "'rule' bound to something other than a function");
        }
        let Some(rule) = rule else {
            return Err(PyErr {
                code: Code::NotARule,
                msg: "the module defines no rule(event) function".into(),
                at: 0,
            });
        };
        if let Some(d) = rule.decorator_list.first() {
            return not_translatable(
                d,
                "a decorator on rule() (it can change what rule() returns)",
            );
        }
        if rule.args.vararg.is_some()
            || rule.args.kwarg.is_some()
            || !rule.args.kwonlyargs.is_empty()
        {
            return not_translatable(rule, "rule() must take exactly one parameter (the event)");
        }
        let params = positional_params(rule);
        if params.len() != 1 {
            return not_translatable(rule, "rule() must take exactly one parameter (the event)");
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
                unrolled: None,
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
        self.raises = Some(not(result.ok.clone()));
        let cond = and(Expr::or(alts), result.ok);
        check_no_element_refs(&cond, rule)?;
        self.settle_deferred(cond)
    }

    /// The condition without deferred refusals ([`Translator::deferred_refusal`]): when there
    /// are some, the simplified condition, unless one is left in it (its case is reachable): then
    /// the first one left is the rule's refusal.
    fn settle_deferred(&self, cond: Expr) -> Translated<Expr> {
        if self.deferred.is_empty() {
            return Ok(cond);
        }
        let cond = crate::passes::simplify(&cond);
        let left = cond.paths().into_iter().find_map(|f| match f.root() {
            Root::Refusal(id) => Some(id),
            _ => None,
        });
        match left.and_then(|id| self.deferred.get(id)) {
            Some((msg, at)) => Err(PyErr {
                code: Code::NotTranslatable,
                msg: msg.clone(),
                at: *at,
            }),
            None => Ok(cond),
        }
    }
}

/// Why an assignment target other than a name is refused at module level.
const MODULE_TARGET: &str =
    "a module-level assignment to something other than a name (it changes a value in place)";

/// What a module-level statement other than a definition, an import or an assignment to names
/// is called in its refusal: each one can change the module's values (or whether it loads) in a
/// way the translation would not see.
fn module_statement(s: &ast::Stmt) -> &'static str {
    match s {
        ast::Stmt::Expr(_) => {
            "a module-level statement with side effects (a call can change the module's values)"
        }
        ast::Stmt::AugAssign(_) => {
            "a module-level augmented assignment ('+=' and the like change values in place)"
        }
        ast::Stmt::Delete(_) => "a module-level 'del'",
        ast::Stmt::If(_) => "a module-level 'if'",
        ast::Stmt::For(_) | ast::Stmt::AsyncFor(_) | ast::Stmt::While(_) => "a module-level loop",
        ast::Stmt::With(_) | ast::Stmt::AsyncWith(_) => "a module-level 'with'",
        ast::Stmt::Try(_) | ast::Stmt::TryStar(_) => "a module-level try/except",
        ast::Stmt::Raise(_) | ast::Stmt::Assert(_) => "a module-level raise or assert",
        ast::Stmt::ClassDef(_) => "a class definition",
        ast::Stmt::AsyncFunctionDef(_) => "an async function",
        _ => "this kind of module-level statement",
    }
}

impl<'m> Translator<'m> {
    /// A value computed when the module loads (an assignment, a default argument), or None when
    /// rulecast cannot compute it (the name it binds then refuses when used). Unless computing it
    /// might change other module-level values (see [`Translator::may_change_module`]): then its
    /// refusal is the rule's.
    fn module_value(&mut self, e: &ast::Expr) -> Translated<Option<Value>> {
        match self.expr(e, &Env::new()) {
            Ok(v) => Ok(Some(v)),
            Err(err) if self.may_change_module(e) => Err(err),
            Err(_) => Ok(None),
        }
    }

    /// Might evaluating `e` change a module-level value or binding? It can when it binds a name
    /// (`:=`), or calls something that could mutate or rebind one: a function of the module, a
    /// builtin that reaches the module's namespace, or any call given (or called on) a
    /// module-level list, set or dict.
    fn may_change_module(&self, e: &ast::Expr) -> bool {
        const REFLECTIVE: &[&str] = &[
            "globals",
            "vars",
            "locals",
            "exec",
            "eval",
            "setattr",
            "delattr",
            "__import__",
        ];
        let container = |name: &str| {
            self.globals
                .get(name)
                .and_then(Value::as_const)
                .is_some_and(|p| matches!(p, Py::Seq(_) | Py::Set(_) | Py::Dict(_)))
        };
        let mut risky = false;
        walk_expr(e, &mut |x| match x {
            ast::Expr::NamedExpr(_) => risky = true,
            ast::Expr::Call(c) => {
                let mut names = Vec::new();
                walk_expr(&ast::Expr::Call(c.clone()), &mut |y| {
                    if let ast::Expr::Name(n) = y {
                        names.push(n.id.to_string());
                    }
                });
                if names.iter().any(|n| {
                    self.functions.contains_key(n.as_str())
                        || REFLECTIVE.contains(&n.as_str())
                        || container(n)
                }) {
                    risky = true;
                }
            }
            _ => {}
        });
        risky
    }
}

/// A name that refuses when it is used: `why` it has no value rulecast knows.
fn unknown(name: &str, why: &str) -> Value {
    Value::of(Atom::Call(Callable::Unknown(name.to_owned(), why.into())))
}

/// What a module-level assignment binds `n` to: the value, or a name that refuses when used.
fn module_binding(n: &ast::ExprName, v: &Option<Value>) -> Value {
    v.clone().unwrap_or_else(|| {
        unknown(
            n.id.as_str(),
            "a module-level value computed when the module loads",
        )
    })
}

/// Call `f` on `e` and on every expression inside it.
fn walk_expr(e: &ast::Expr, f: &mut dyn FnMut(&ast::Expr)) {
    f(e);
    let each = |xs: &[ast::Expr], f: &mut dyn FnMut(&ast::Expr)| {
        xs.iter().for_each(|x| walk_expr(x, f));
    };
    let generators = |gs: &[ast::Comprehension], f: &mut dyn FnMut(&ast::Expr)| {
        for g in gs {
            walk_expr(&g.target, f);
            walk_expr(&g.iter, f);
            g.ifs.iter().for_each(|x| walk_expr(x, f));
        }
    };
    match e {
        ast::Expr::BoolOp(x) => each(&x.values, f),
        ast::Expr::NamedExpr(x) => {
            walk_expr(&x.target, f);
            walk_expr(&x.value, f);
        }
        ast::Expr::BinOp(x) => {
            walk_expr(&x.left, f);
            walk_expr(&x.right, f);
        }
        ast::Expr::UnaryOp(x) => walk_expr(&x.operand, f),
        ast::Expr::Lambda(x) => {
            for a in x
                .args
                .posonlyargs
                .iter()
                .chain(&x.args.args)
                .chain(&x.args.kwonlyargs)
            {
                if let Some(d) = &a.default {
                    walk_expr(d, f);
                }
            }
            walk_expr(&x.body, f);
        }
        ast::Expr::IfExp(x) => {
            walk_expr(&x.test, f);
            walk_expr(&x.body, f);
            walk_expr(&x.orelse, f);
        }
        ast::Expr::Dict(x) => {
            x.keys.iter().flatten().for_each(|k| walk_expr(k, f));
            each(&x.values, f);
        }
        ast::Expr::Set(x) => each(&x.elts, f),
        ast::Expr::List(x) => each(&x.elts, f),
        ast::Expr::Tuple(x) => each(&x.elts, f),
        ast::Expr::ListComp(x) => {
            walk_expr(&x.elt, f);
            generators(&x.generators, f);
        }
        ast::Expr::SetComp(x) => {
            walk_expr(&x.elt, f);
            generators(&x.generators, f);
        }
        ast::Expr::GeneratorExp(x) => {
            walk_expr(&x.elt, f);
            generators(&x.generators, f);
        }
        ast::Expr::DictComp(x) => {
            walk_expr(&x.key, f);
            walk_expr(&x.value, f);
            generators(&x.generators, f);
        }
        ast::Expr::Await(x) => walk_expr(&x.value, f),
        ast::Expr::Yield(x) => x.value.iter().for_each(|v| walk_expr(v, f)),
        ast::Expr::YieldFrom(x) => walk_expr(&x.value, f),
        ast::Expr::Compare(x) => {
            walk_expr(&x.left, f);
            each(&x.comparators, f);
        }
        ast::Expr::Call(x) => {
            walk_expr(&x.func, f);
            each(&x.args, f);
            x.keywords.iter().for_each(|k| walk_expr(&k.value, f));
        }
        ast::Expr::FormattedValue(x) => {
            walk_expr(&x.value, f);
            x.format_spec.iter().for_each(|v| walk_expr(v, f));
        }
        ast::Expr::JoinedStr(x) => each(&x.values, f),
        ast::Expr::Attribute(x) => walk_expr(&x.value, f),
        ast::Expr::Subscript(x) => {
            walk_expr(&x.value, f);
            walk_expr(&x.slice, f);
        }
        ast::Expr::Starred(x) => walk_expr(&x.value, f),
        ast::Expr::Slice(x) => {
            for v in [&x.lower, &x.upper, &x.step].into_iter().flatten() {
                walk_expr(v, f);
            }
        }
        ast::Expr::Constant(_) | ast::Expr::Name(_) => {}
    }
}

/// The names `import a, b as c` binds, each to its module.
pub(super) fn import_bindings(i: &ast::StmtImport) -> Vec<(String, Value)> {
    i.names
        .iter()
        .map(|a| {
            let name = a.asname.as_ref().unwrap_or(&a.name).to_string();
            (
                name,
                Value::of(Atom::Call(Callable::Module(a.name.to_string()))),
            )
        })
        .collect()
}

/// The names `from module import a, b as c` binds, each to what [`imported`] makes of it.
pub(super) fn import_from_bindings(i: &ast::StmtImportFrom) -> Vec<(String, Value)> {
    let module = i.module.as_ref().map(|m| m.to_string()).unwrap_or_default();
    i.names
        .iter()
        .map(|a| {
            let name = a.asname.as_ref().unwrap_or(&a.name).to_string();
            (
                name,
                Value::of(Atom::Call(imported(&module, a.name.as_str()))),
            )
        })
        .collect()
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

/// The names of a function's positional parameters, in order.
pub(super) fn positional_params(f: &ast::StmtFunctionDef) -> Vec<String> {
    f.args
        .posonlyargs
        .iter()
        .chain(&f.args.args)
        .map(|a| a.def.arg.to_string())
        .collect()
}
