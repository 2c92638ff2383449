use rustpython_parser::ast;

use crate::ir::Expr;
use crate::panther::is_ip;

use super::module::positional_params;
use super::stmt::Frame;
use super::value::{Atom, Loc, Py, Value};
use super::{not, off, Env, Translator, MAX_INLINE_DEPTH, R};

impl<'m> Translator<'m> {
    pub(super) fn inline(
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

    pub(super) fn inline_local(
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

    pub(super) fn inline_prelude(
        &mut self,
        name: &str,
        args: Vec<Value>,
        node: &ast::Expr,
    ) -> R<Value> {
        let Some(f) = self.prelude.get(name).copied() else {
            return self.err(node, format!("{name}()"));
        };
        let outer = self.site;
        self.site = Some(outer.unwrap_or_else(|| off(node)));
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
    ) -> R<Value> {
        let args = self.args(c, env)?;
        let [n] = args.as_slice() else {
            return self.err(node, "udm() with other than one argument");
        };
        let Some(Py::Str(n)) = n.as_const() else {
            return self.err(node, "udm() of a name that is not a constant");
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
            other => self.err(
                node,
                format!("event.udm(\"{other}\") (a data-model field rulecast does not reproduce)"),
            ),
        }
    }
}
