use rustpython_parser::ast;

use crate::ir::Expr;

use super::module::positional_params;
use super::stmt::Frame;
use super::value::Value;
use super::{off, Env, Translator, MAX_INLINE_DEPTH, R};

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
}
