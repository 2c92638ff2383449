use rustpython_parser::ast;

use super::value::{Atom, Callable, Py, Value};
use super::{Env, Translator, R};

impl<'m> Translator<'m> {
    pub(super) fn call(&mut self, c: &ast::ExprCall, env: &Env) -> R<Value> {
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

    pub(super) fn args(&mut self, c: &ast::ExprCall, env: &Env) -> R<Vec<Value>> {
        let mut out = Vec::new();
        for a in &c.args {
            if matches!(a, ast::Expr::Starred(_)) {
                return self.err(a, "*args in a call");
            }
            out.push(self.expr(a, env)?);
        }
        Ok(out)
    }

    pub(super) fn keyword(&mut self, c: &ast::ExprCall, name: &str, env: &Env) -> R<Option<Value>> {
        for k in &c.keywords {
            match &k.arg {
                Some(a) if a.as_str() == name => return self.expr(&k.value, env).map(Some),
                Some(_) => {}
                None => return self.err(&k.value, "**kwargs in a call"),
            }
        }
        Ok(None)
    }

    pub(super) fn no_other_keywords(
        &self,
        c: &ast::ExprCall,
        allowed: &[&str],
        node: &ast::Expr,
    ) -> R<()> {
        for k in &c.keywords {
            let name = k.arg.as_ref().map(|a| a.to_string()).unwrap_or_default();
            if !allowed.contains(&name.as_str()) {
                return self.err(node, format!("the keyword argument '{name}='"));
            }
        }
        Ok(())
    }

    pub(super) fn helper(
        &mut self,
        h: &str,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> R<Value> {
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
            "isinstance" => self.isinstance(c, env, node),
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

    /// `recv.name(...)`: a function of an imported module, a method of a compiled regex, or a
    /// method of a value (`dict.get`, `event.deep_get`, `str.startswith`, `str.lower`, ...).
    pub(super) fn method(
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
            return self.module_function(&m, name, c, env, node);
        }
        if let [(_, Atom::Regex(p, flags))] = recv.alts.as_slice() {
            let (p, flags) = (p.clone(), *flags);
            return self.pattern_method(&p, flags, name, c, env, node);
        }
        let is_event = matches!(recv.alts.as_slice(), [(_, Atom::Json(l))] if l.is_event());
        match name {
            "get" => self.get_method(recv, c, env, node),
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
            "udm" if is_event => self.udm(recv, c, env, node),
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
            "lower" | "upper" | "casefold" => self.change_case(recv, name, c, node),
            "keys" | "values" | "items" if c.args.is_empty() => self.dict_view(recv, name, node),
            other => self.err(node, format!("the method .{other}()")),
        }
    }

    /// `module.function(...)`: `re.match/search/fullmatch/compile`, `fnmatch.fnmatch`,
    /// `ipaddress.ip_address`; any other module function is refused.
    fn module_function(
        &mut self,
        m: &str,
        name: &str,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> R<Value> {
        match (m, name) {
            ("re", "match" | "search" | "fullmatch") => self.re_match(name, c, env, node),
            ("re", "compile") => self.re_compile(c, env, node),
            ("fnmatch", "fnmatch" | "fnmatchcase") => self.helper("fnmatch", c, env, node),
            ("ipaddress", "ip_address") => self.helper("ip_address", c, env, node),
            (m, f) => self.err(node, format!("{m}.{f}()")),
        }
    }

    /// `d.keys()`, `d.values()`, `d.items()` of a constant dict: constants. A keys or items view
    /// hashes what `in` looks for, like a set; values compare.
    fn dict_view(&self, recv: &Value, name: &str, node: &ast::Expr) -> R<Value> {
        match recv.as_const() {
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
        }
    }
}
