//! The module level: imports, constants and function definitions, then `rule(event)`.
//!
//! [`Translator::translate_module`] binds what the module defines (module-level values that
//! cannot be computed are bound to a name that refuses when used), runs `rule()` with its
//! parameter bound to the event, and reads the returned value as the rule's condition.
//! [`imported`] says what each `from module import name` stands for.

use rustpython_parser::ast;

use crate::diagnostic::Code;
use crate::ir::{Expr, JsonType, Test};

use super::generators::check_no_element_refs;
use super::stmt::Frame;
use super::value::{Atom, Callable, Loc, Py, Value};
use super::{and, not_translatable, Env, PyErr, Translated, Translator};

impl<'m> Translator<'m> {
    /// The condition under which the module's `rule(event)` returns `True` without raising.
    /// Module-level imports, constants and functions are bound first (an assignment that cannot be
    /// computed binds a name that refuses when used); a module without `rule()` is `NotARule`, and
    /// an element marker left in the result is refused.
    pub(super) fn translate_module(&mut self, body: &'m [ast::Stmt]) -> Translated<Expr> {
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
                ast::Stmt::Import(i) => self.globals.extend(import_bindings(i)),
                ast::Stmt::ImportFrom(i) => self.globals.extend(import_from_bindings(i)),
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
        let cond = and(Expr::or(alts), result.ok);
        check_no_element_refs(&cond, rule)?;
        Ok(cond)
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
