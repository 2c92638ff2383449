//! Calls: `f(...)` and `x.m(...)`, dispatched on what is called.
//!
//! A name bound to a [`Callable`] is a module function (inlined, see `helpers`), a helper
//! rulecast knows ([`Translator::call_helper`]: builtins such as `any`, `bool`, `isinstance`,
//! and Panther helpers such as `deep_get`), a module, or a name rulecast refuses. A method call
//! goes by its receiver ([`Translator::call_method`]): a module (`re.match`), a compiled regex,
//! or a value (`event.get`, `s.startswith`, `d.keys`). The argument helpers here evaluate
//! positional and keyword arguments.

use rustpython_parser::ast;

use super::value::{Atom, Callable, Py, Value};
use super::{Env, Translated, Translator};

impl<'m> Translator<'m> {
    /// `f(...)` or `x.m(...)`: a method call, or a call of what the name `f` stands for.
    pub(super) fn call(&mut self, c: &ast::ExprCall, env: &Env) -> Translated<Value> {
        let node = &ast::Expr::Call(c.clone());
        if let ast::Expr::Attribute(a) = c.func.as_ref() {
            let recv = self.expr(&a.value, env)?;
            return self.call_method(&recv, a.attr.as_str(), c, env, node);
        }
        let f = self.expr(&c.func, env)?;
        let callee = match f.alts.as_slice() {
            [(_, Atom::Call(k))] => k.clone(),
            _ => return self.refuse(node, "calling a value"),
        };
        match callee {
            Callable::Local(name) => self.inline_local(&name, c, env, node),
            Callable::Helper(h) => self.call_helper(&h, c, env, node),
            Callable::Module(m) => self.refuse(node, format!("calling the module '{m}'")),
            Callable::Unknown(name, why) => self.refuse(node, format!("{name}() ({why})")),
        }
    }

    /// The positional arguments of a call, evaluated left to right (`*args` is refused).
    pub(super) fn positional_args(
        &mut self,
        c: &ast::ExprCall,
        env: &Env,
    ) -> Translated<Vec<Value>> {
        let mut out = Vec::new();
        for a in &c.args {
            if matches!(a, ast::Expr::Starred(_)) {
                return self.refuse(a, "*args in a call");
            }
            out.push(self.expr(a, env)?);
        }
        Ok(out)
    }

    /// The keyword argument `name=...` of a call, evaluated, if given (`**kwargs` is refused).
    pub(super) fn keyword_arg(
        &mut self,
        c: &ast::ExprCall,
        name: &str,
        env: &Env,
    ) -> Translated<Option<Value>> {
        for k in &c.keywords {
            match &k.arg {
                Some(a) if a.as_str() == name => return self.expr(&k.value, env).map(Some),
                Some(_) => {}
                None => return self.refuse(&k.value, "**kwargs in a call"),
            }
        }
        Ok(None)
    }

    /// Refuse a call that passes a keyword argument not in `allowed`.
    fn no_other_keywords(
        &self,
        c: &ast::ExprCall,
        allowed: &[&str],
        node: &ast::Expr,
    ) -> Translated<()> {
        for k in &c.keywords {
            let name = k.arg.as_ref().map(|a| a.to_string()).unwrap_or_default();
            if !allowed.contains(&name.as_str()) {
                return self.refuse(node, format!("the keyword argument '{name}='"));
            }
        }
        Ok(())
    }

    /// A call of a builtin or helper rulecast knows (`Callable::Helper`): `any`/`all`,
    /// `bool`, `set`/`list`/`tuple` of constants, `isinstance`, `deep_get`, `deep_walk`, `fnmatch`,
    /// `ip_address`, and the prelude helpers (`pattern_match`, `aws_cloudtrail_success`, ...), each
    /// as the value it returns. `len`, `str` of event data and `aws_rule_context` are refused.
    fn call_helper(
        &mut self,
        name: &str,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> Translated<Value> {
        match name {
            "any" | "all" => {
                let [arg] = c.args.as_slice() else {
                    return self.refuse(node, format!("{name}() with other than one argument"));
                };
                self.any_all(name == "any", arg, env)
            }
            "bool" => {
                let args = self.positional_args(c, env)?;
                let [v] = args.as_slice() else {
                    return self.refuse(node, "bool() with other than one argument");
                };
                let (t, ok) = self.truth(v);
                Ok(Value::boolean(t, ok))
            }
            "set" | "frozenset" | "list" | "tuple" => {
                let args = self.positional_args(c, env)?;
                match args.as_slice() {
                    [] if matches!(name, "set" | "frozenset") => {
                        Ok(Value::constant(Py::Set(vec![])))
                    }
                    [] => Ok(Value::constant(Py::Seq(vec![]))),
                    [v] => match v.as_const().and_then(Py::elements) {
                        Some(items) if matches!(name, "set" | "frozenset") => {
                            Ok(Value::constant(Py::Set(items)))
                        }
                        Some(items) => Ok(Value::constant(Py::Seq(items))),
                        None => self.refuse(node, format!("{name}() of event data")),
                    },
                    _ => self.refuse(node, format!("{name}() with several arguments")),
                }
            }
            "isinstance" => self.isinstance(c, env, node),
            "len" => self.refuse(node, "len() (no target measures lengths the same way)"),
            "str" => self.refuse(node, "str() of event data"),
            "deep_get" => {
                let args = self.positional_args(c, env)?;
                self.no_other_keywords(c, &["default"], node)?;
                let default = self
                    .keyword_arg(c, "default", env)?
                    .unwrap_or_else(|| Value::constant(Py::None));
                let Some((obj, keys)) = args.split_first() else {
                    return self.refuse(node, "deep_get() without arguments");
                };
                self.deep_get(obj, keys, default, node)
            }
            "deep_walk" => {
                let args = self.positional_args(c, env)?;
                self.no_other_keywords(c, &[], node)?;
                let Some((obj, keys)) = args.split_first() else {
                    return self.refuse(node, "deep_walk() without arguments");
                };
                self.deep_walk(obj, keys, node)
            }
            "fnmatch" => {
                let args = self.positional_args(c, env)?;
                let [subject, pattern] = args.as_slice() else {
                    return self.refuse(node, "fnmatch() with other than two arguments");
                };
                self.fnmatch(subject, pattern, node)
            }
            "aws_cloudtrail_success" | "pattern_match" | "pattern_match_list" => {
                let args = self.positional_args(c, env)?;
                self.inline_prelude(name, args, node)
            }
            "aws_rule_context" => self.refuse(
                node,
                "aws_rule_context() inside rule() (it builds the alert context)",
            ),
            "ip_address" => {
                let args = self.positional_args(c, env)?;
                let [v] = args.as_slice() else {
                    return self.refuse(node, "ip_address() with other than one argument");
                };
                self.ip_address(v, node)
            }
            other => self.refuse(node, format!("{other}()")),
        }
    }

    /// `recv.name(...)`: a function of an imported module, a method of a compiled regex, or a
    /// method of a value (`dict.get`, `event.deep_get`, `str.startswith`, `str.lower`, ...).
    fn call_method(
        &mut self,
        recv: &Value,
        name: &str,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> Translated<Value> {
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
                let args = self.positional_args(c, env)?;
                self.no_other_keywords(c, &["default"], node)?;
                let default = self
                    .keyword_arg(c, "default", env)?
                    .unwrap_or_else(|| Value::constant(Py::None));
                self.deep_get(recv, &args, default, node)
            }
            "deep_walk" if is_event => {
                let args = self.positional_args(c, env)?;
                self.no_other_keywords(c, &[], node)?;
                self.deep_walk(recv, &args, node)
            }
            "udm" if is_event => self.udm(recv, c, env, node),
            "lookup" | "udm" | "deep_get" | "deep_walk" => self.refuse(
                node,
                format!(".{name}() (enrichment or a Panther event method on a non-event)"),
            ),
            "startswith" | "endswith" => {
                let args = self.positional_args(c, env)?;
                let [arg] = args.as_slice() else {
                    return self.refuse(node, format!(".{name}() with other than one argument"));
                };
                self.anchored(recv, arg, name == "startswith", node)
            }
            "lower" | "upper" | "casefold" => self.change_case(recv, name, c, node),
            "keys" | "values" | "items" if c.args.is_empty() => self.dict_view(recv, name, node),
            other => self.refuse(node, format!("the method .{other}()")),
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
    ) -> Translated<Value> {
        match (m, name) {
            ("re", "match" | "search" | "fullmatch") => self.re_match(name, c, env, node),
            ("re", "compile") => self.re_compile(c, env, node),
            ("fnmatch", "fnmatch" | "fnmatchcase") => self.call_helper("fnmatch", c, env, node),
            ("ipaddress", "ip_address") => self.call_helper("ip_address", c, env, node),
            (m, f) => self.refuse(node, format!("{m}.{f}()")),
        }
    }

    /// `d.keys()`, `d.values()`, `d.items()` of a constant dict: constants. A keys or items view
    /// hashes what `in` looks for, like a set; values compare.
    fn dict_view(&self, recv: &Value, name: &str, node: &ast::Expr) -> Translated<Value> {
        match recv.as_const() {
            Some(Py::Dict(entries)) => Ok(Value::constant(match name {
                "keys" => Py::Set(entries.iter().map(|(k, _)| k.clone()).collect()),
                "values" => Py::Seq(entries.iter().map(|(_, v)| v.clone()).collect()),
                _ => Py::Set(
                    entries
                        .iter()
                        .map(|(k, v)| Py::Seq(vec![k.clone(), v.clone()]))
                        .collect(),
                ),
            })),
            _ => self.refuse(
                node,
                format!("the method .{name}() of something other than a constant dict"),
            ),
        }
    }
}
