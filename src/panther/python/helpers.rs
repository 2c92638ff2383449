//! Inlining: calls of the rule module's own functions and of the prelude's Python versions
//! of Panther helpers run the function's body with its parameters bound to the arguments.
//!
//! Inlined prelude helpers report errors at the rule's call site (`Translator::site`); nesting
//! is limited to [`MAX_INLINE_DEPTH`]. `event.udm()` lives here too: it reads a field or
//! inlines the prelude's `udm_<name>` helper.

use rustpython_parser::ast;

use crate::ir::Expr;
use crate::panther::is_ip;

use super::module::positional_params;
use super::stmt::Frame;
use super::value::{Atom, Loc, Py, Value};
use super::{not, start_offset, Env, Translated, Translator, MAX_INLINE_DEPTH};

impl<'m> Translator<'m> {
    /// Run the function `f` with its parameters bound to `args`, then `kwargs`, then its
    /// defaults: the value it returns, ok when every argument is ok and the body raises nothing.
    fn inline(
        &mut self,
        f: &'m ast::StmtFunctionDef,
        args: Vec<Value>,
        kwargs: Vec<(String, Value)>,
        node: &ast::Expr,
    ) -> Translated<Value> {
        if self.inline_depth >= MAX_INLINE_DEPTH {
            return self.refuse(
                node,
                format!("{}() nests helper calls too deeply (recursion?)", f.name),
            );
        }
        if let Some(d) = f.decorator_list.first() {
            return self.refuse(
                d,
                format!(
                    "a decorator on {}() (it can change what the function does)",
                    f.name
                ),
            );
        }
        let params = positional_params(f);
        if f.args.vararg.is_some() || f.args.kwarg.is_some() {
            return self.refuse(node, format!("{}() takes *args or **kwargs", f.name));
        }
        if !f.args.kwonlyargs.is_empty() {
            return self.refuse(node, format!("{}() takes keyword-only parameters", f.name));
        }
        // A keyword must name a parameter that can be passed by keyword and is not passed by
        // position too (Python raises TypeError otherwise).
        let by_keyword = &params[f.args.posonlyargs.len()..];
        for (i, (k, _)) in kwargs.iter().enumerate() {
            let p = by_keyword.iter().position(|p| p == k);
            let repeated = kwargs[..i].iter().any(|(k2, _)| k2 == k);
            if p.is_none_or(|p| p + f.args.posonlyargs.len() < args.len()) || repeated {
                return self.refuse(
                    node,
                    format!(
                        "{}() is called with the keyword argument '{k}=' it cannot take",
                        f.name
                    ),
                );
            }
        }
        let mut env = Env::new();
        let mut ok = Vec::new();
        // A module function's defaults were computed when the module defined it; the prelude's
        // are constants, computed here.
        let defaults: Vec<Option<Value>> = match self.defaults.get(&std::ptr::from_ref(f)) {
            Some(d) => d.clone(),
            None => {
                let mut out = Vec::new();
                for a in f.args.posonlyargs.iter().chain(&f.args.args) {
                    out.push(match &a.default {
                        Some(d) => Some(self.expr(d, &Env::new())?),
                        None => None,
                    });
                }
                out
            }
        };
        let mut args = args.into_iter();
        for (i, p) in params.iter().enumerate() {
            let v = match args.next() {
                Some(v) => v,
                None => match kwargs.iter().find(|(k, _)| k == p) {
                    Some((_, v)) => v.clone(),
                    None => match defaults.get(i).cloned().flatten() {
                        Some(d) => d,
                        None => {
                            return self
                                .refuse(node, format!("{}() is called without '{p}'", f.name))
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
            return self.refuse(
                node,
                format!("{}() is called with too many arguments", f.name),
            );
        }
        self.inline_depth += 1;
        let r = self.run(
            vec![Frame {
                stmts: &f.body,
                unrolled: None,
            }],
            env,
        );
        self.inline_depth -= 1;
        let mut r = r?;
        ok.push(r.ok);
        r.ok = Expr::and(ok);
        Ok(r)
    }

    /// A call of a function the rule module defines, inlined.
    pub(super) fn inline_local(
        &mut self,
        name: &str,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> Translated<Value> {
        let Some(f) = self.functions.get(name).copied() else {
            return self.refuse(node, format!("{name}()"));
        };
        let args = self.positional_args(c, env)?;
        let mut kwargs = Vec::new();
        for k in &c.keywords {
            let Some(a) = &k.arg else {
                return self.refuse(node, "**kwargs in a call");
            };
            kwargs.push((a.to_string(), self.expr(&k.value, env)?));
        }
        self.inline(f, args, kwargs, node)
    }

    /// A call of a prelude helper, inlined with errors pointing at the call site in the rule
    /// (the prelude's own lines mean nothing to the rule's author).
    pub(super) fn inline_prelude(
        &mut self,
        name: &str,
        args: Vec<Value>,
        node: &ast::Expr,
    ) -> Translated<Value> {
        let Some(f) = self.prelude.get(name).copied() else {
            return self.refuse(node, format!("{name}()"));
        };
        let outer = self.site;
        self.site = Some(outer.unwrap_or_else(|| start_offset(node)));
        let r = self.inline(f, args, vec![], node);
        self.site = outer;
        r
    }

    /// `event.udm(name)`: Panther's CloudTrail data model. `source_ip` reads `sourceIPAddress`
    /// when it holds an address (None otherwise); `event_type`, `user_agent`, `user` and
    /// `user_account_id` inline the prelude's `udm_<name>` helper; other names are refused.
    pub(super) fn udm(
        &mut self,
        recv: &Value,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> Translated<Value> {
        let args = self.positional_args(c, env)?;
        let [n] = args.as_slice() else {
            return self.refuse(node, "udm() with other than one argument");
        };
        let Some(Py::Str(n)) = n.as_const() else {
            return self.refuse(node, "udm() of a name that is not a constant");
        };
        match n.as_str() {
            "source_ip" => {
                let l = Loc {
                    elem: 0,
                    path: vec!["sourceIPAddress".into()],
                };
                let ip = is_ip(&l.field(), true, true, self.span);
                Ok(Value {
                    alts: vec![
                        (ip.clone(), Atom::Json(l)),
                        (not(ip), Atom::Const(Py::None)),
                    ],
                    ok: Expr::Const(true),
                })
            }
            "event_type" | "user_agent" | "user" | "user_account_id" => {
                let f = format!("udm_{n}");
                self.inline_prelude(&f, vec![recv.clone()], node)
            }
            other => self.refuse(
                node,
                format!("event.udm(\"{other}\") (a data-model field rulecast does not reproduce)"),
            ),
        }
    }
}
