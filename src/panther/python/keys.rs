use rustpython_parser::ast;

use crate::ir::{Expr, FieldPath, JsonType, Test};
use crate::panther::canonical_key;

use super::value::{Atom, Py, Value};
use super::{and, not, or, Env, Translator, R};

impl<'m> Translator<'m> {
    /// `recv.get(key[, default])`: a constant string key reads a field or a constant dict's
    /// entry; a key from the event looks a constant dict up ([`Translator::table_lookup`]).
    pub(super) fn get_method(
        &mut self,
        recv: &Value,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> R<Value> {
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

    /// `x[key]`: a constant string key reads a field (or a constant dict's entry); a key from the
    /// event looks a constant dict up ([`Translator::table_lookup`]). Indexing lists is refused.
    pub(super) fn subscript(
        &mut self,
        s: &ast::ExprSubscript,
        e: &ast::Expr,
        env: &Env,
    ) -> R<Value> {
        let recv = self.expr(&s.value, env)?;
        let key = self.expr(&s.slice, env)?;
        match key.as_const() {
            Some(Py::Str(k)) => {
                let k = k.clone();
                self.get_key(&recv, &k, Read::Subscript, e)
            }
            Some(Py::Num(_)) => self.err(e, "indexing a list (positions in event arrays)"),
            Some(_) => self.err(e, "this subscript"),
            None => self.table_lookup(&recv, &key, None, e),
        }
    }

    pub(super) fn get_key(&self, recv: &Value, key: &str, how: Read, node: &ast::Expr) -> R<Value> {
        self.get_key_default(recv, key, how, Value::konst(Py::None), node)
    }

    pub(super) fn get_key_default(
        &self,
        recv: &Value,
        key: &str,
        how: Read,
        default: Value,
        node: &ast::Expr,
    ) -> R<Value> {
        let mut alts = Vec::new();
        let mut oks = vec![recv.ok.clone(), default.ok.clone()];
        let with_default = |g: Expr, alts: &mut Vec<(Expr, Atom)>| {
            for (dg, da) in &default.alts {
                alts.push((and(g.clone(), dg.clone()), da.clone()));
            }
        };
        for (g, a) in &recv.alts {
            match a {
                Atom::Json(l) => {
                    if l.is_event() && key.starts_with("p_") {
                        return self.err(
                            node,
                            format!(
                                "'{key}' (a field Panther adds; CloudTrail records do not have it)"
                            ),
                        );
                    }
                    let child = l.child(key);
                    let obj = if l.is_event() {
                        Expr::Const(true)
                    } else {
                        self.is_type(l, JsonType::Object)
                    };
                    let go = and(g.clone(), obj.clone());
                    alts.push((
                        and(go.clone(), self.pred(&child, Test::Exists)),
                        Atom::Json(child.clone()),
                    ));
                    let absent_or_null = and(go.clone(), self.pred(&child, Test::Null));
                    match how {
                        Read::Get if default.as_const() == Some(&Py::None) => {
                            alts.push((absent_or_null, Atom::Const(Py::None)))
                        }
                        Read::Get => {
                            let has = self.pred(
                                l,
                                Test::HasKey(child.path.last().cloned().unwrap_or_default()),
                            );
                            alts.push((
                                and(absent_or_null.clone(), has.clone()),
                                Atom::Const(Py::None),
                            ));
                            with_default(and(absent_or_null, not(has)), &mut alts);
                        }
                        Read::Subscript => {
                            let has = self.pred(
                                l,
                                Test::HasKey(child.path.last().cloned().unwrap_or_default()),
                            );
                            alts.push((absent_or_null, Atom::Const(Py::None)));
                            oks.push(not(and(go.clone(), not(has))));
                        }
                        Read::Deep => with_default(absent_or_null, &mut alts),
                    }
                    let not_obj = and(g.clone(), not(obj));
                    match how {
                        Read::Deep => with_default(not_obj, &mut alts),
                        _ => oks.push(not(not_obj)),
                    }
                }
                Atom::Const(Py::Dict(d)) => {
                    match d.iter().find(|(k, _)| *k == Py::Str(key.to_owned())) {
                        Some((_, v)) if !(how == Read::Deep && *v == Py::None) => {
                            alts.push((g.clone(), Atom::Const(v.clone())))
                        }
                        _ => match how {
                            Read::Subscript => oks.push(not(g.clone())),
                            _ => with_default(g.clone(), &mut alts),
                        },
                    }
                }
                _ => match how {
                    Read::Deep => with_default(g.clone(), &mut alts),
                    _ => oks.push(not(g.clone())),
                },
            }
        }
        Ok(Value {
            alts,
            ok: Expr::and(oks),
        }
        .tidy())
    }

    /// `TABLE[key]` / `TABLE.get(key, default)` with a constant dict and a key from the event.
    pub(super) fn table_lookup(
        &self,
        table: &Value,
        key: &Value,
        default: Option<Value>,
        node: &ast::Expr,
    ) -> R<Value> {
        let Some(Py::Dict(entries)) = table.as_const() else {
            return self.err(
                node,
                "a subscript with a key from event data on something other than a constant dict",
            );
        };
        let mut alts = Vec::new();
        let mut none_matched = Vec::new();
        for (k, v) in entries {
            let hit = self.pairwise(
                key,
                &Value::konst(k.clone()),
                |a, b| self.eq_atoms(a, b),
                node,
            )?;
            let (t, _) = self.truth(&hit);
            alts.push((t.clone(), Atom::Const(v.clone())));
            none_matched.push(not(t));
        }
        let miss = Expr::and(none_matched);
        // Looking a list or dict up in a dict raises TypeError (unhashable).
        let hashable = Expr::and(
            key.alts
                .iter()
                .map(|(g, a)| or(not(g.clone()), self.hashable(a)))
                .collect(),
        );
        let mut ok = and(key.ok.clone(), hashable);
        match default {
            Some(d) => {
                for (g, a) in d.alts {
                    alts.push((and(miss.clone(), g), a));
                }
                ok = and(ok, d.ok);
            }
            None => ok = and(ok, not(miss)),
        }
        Ok(Value { alts, ok }.tidy())
    }

    pub(super) fn deep_get(
        &self,
        obj: &Value,
        keys: &[Value],
        default: Value,
        node: &ast::Expr,
    ) -> R<Value> {
        if keys.is_empty() {
            return Ok(obj.clone());
        }
        let mut cur = obj.clone();
        for (i, k) in keys.iter().enumerate() {
            let Some(Py::Str(k)) = k.as_const() else {
                return self.err(node, "deep_get() with keys that are not constant strings");
            };
            let last = i + 1 == keys.len();
            // Intermediate misses carry the default on; only the end substitutes it for None.
            let d = if last {
                default.clone()
            } else {
                Value::konst(Py::None)
            };
            cur = self.get_key_default(&cur, k, Read::Deep, d, node)?;
        }
        // A miss in the middle gave None: the default, unless None was found at the end.
        let mut alts = Vec::new();
        for (g, a) in cur.alts {
            match a {
                Atom::Const(Py::None) => {
                    for (dg, da) in &default.alts {
                        alts.push((and(g.clone(), dg.clone()), da.clone()));
                    }
                }
                other => alts.push((g, other)),
            }
        }
        Ok(Value {
            alts,
            ok: and(cur.ok, default.ok),
        }
        .tidy())
    }

    pub(super) fn deep_walk(&self, obj: &Value, keys: &[Value], node: &ast::Expr) -> R<Value> {
        let [(_, Atom::Json(l))] = obj.alts.as_slice() else {
            return self.err(node, "deep_walk() of something other than the event");
        };
        if !l.is_event() {
            return self.err(node, "deep_walk() of something other than the event");
        }
        let mut path = Vec::new();
        for k in keys {
            let Some(Py::Str(k)) = k.as_const() else {
                return self.err(node, "deep_walk() with keys that are not constant strings");
            };
            path.push(if path.is_empty() {
                canonical_key(k)
            } else {
                k.clone()
            });
        }
        Ok(Value::of(Atom::Walk(FieldPath(path))))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Read {
    /// `d.get(k, default)`: default when the key is absent, None when it is null.
    Get,
    /// `d[k]`: KeyError when absent.
    Subscript,
    /// `deep_get`: default when absent, null or not a mapping.
    Deep,
}
