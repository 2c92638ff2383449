use rustpython_parser::ast;

use crate::ir::{Expr, JsonType, RegexFlags};
use crate::panther::is_ip;

use super::isinstance::{isinstance_classes, isinstance_const, isinstance_json_types};
use super::keys::Read;
use super::regex::regex_flags;
use super::value::{Atom, Callable, Loc, Py, Value};
use super::{and, not, Env, Translator, R};

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
}
