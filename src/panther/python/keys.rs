//! Reading keys: `event.get(k)`, `event[k]`, `deep_get(event, ...)`, `deep_walk` and lookups in
//! constant dicts.
//!
//! Reading a key of a field gives the child field where it is present and not null, and None or
//! the default elsewhere; how a missing key or a non-object is treated depends on the kind of
//! read ([`KeyRead`]).

use rustpython_parser::ast;

use crate::ir::{Expr, FieldPath, JsonType, Test};
use crate::panther::canonical_key;

use super::value::{Atom, Py, Value};
use super::{and, not, or, Env, Translated, Translator};

impl<'m> Translator<'m> {
    /// `recv.get(key[, default])`: a constant string key reads a field or a constant dict's
    /// entry; a key from the event looks a constant dict up ([`Translator::table_lookup`]).
    pub(super) fn get_method(
        &mut self,
        recv: &Value,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> Translated<Value> {
        let args = self.positional_args(c, env)?;
        let (k, d) = match args.as_slice() {
            [k] => (k, Value::constant(Py::None)),
            [k, d] => (k, d.clone()),
            _ => return self.refuse(node, ".get() with these arguments"),
        };
        match k.as_const() {
            Some(Py::Str(key)) => {
                let key = key.clone();
                let mut v = self.get_key_default(recv, &key, KeyRead::Get, d, node)?;
                v.ok = and(k.ok.clone(), v.ok);
                Ok(v)
            }
            Some(_) => self.refuse(node, ".get() with a key that is not a string"),
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
    ) -> Translated<Value> {
        let recv = self.expr(&s.value, env)?;
        let key = self.expr(&s.slice, env)?;
        match key.as_const() {
            Some(Py::Str(k)) => {
                let k = k.clone();
                self.get_key(&recv, &k, KeyRead::Subscript, e)
            }
            Some(Py::Num(_)) => self.refuse(e, "indexing a list (positions in event arrays)"),
            Some(_) => self.refuse(e, "this subscript"),
            None => self.table_lookup(&recv, &key, None, e),
        }
    }

    /// `recv[key]` / `recv.get(key)` / one `deep_get` step with None as the default.
    fn get_key(
        &self,
        recv: &Value,
        key: &str,
        how: KeyRead,
        node: &ast::Expr,
    ) -> Translated<Value> {
        self.get_key_default(recv, key, how, Value::constant(Py::None), node)
    }

    /// The value of `key` read from `recv` the way `how` says, `default` where the read gives the
    /// default: for a field, the child field where present and not null, None or the default where
    /// absent or null; reading a non-object raises (or, for `deep_get`, gives the default). A constant
    /// dict is read directly.
    fn get_key_default(
        &self,
        recv: &Value,
        key: &str,
        how: KeyRead,
        default: Value,
        node: &ast::Expr,
    ) -> Translated<Value> {
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
                        return self.refuse(
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
                    let readable = and(g.clone(), obj.clone());
                    alts.push((
                        and(readable.clone(), self.pred(&child, Test::Exists)),
                        Atom::Json(child.clone()),
                    ));
                    let absent_or_null = and(readable.clone(), self.pred(&child, Test::Null));
                    match how {
                        KeyRead::Get if default.as_const() == Some(&Py::None) => {
                            alts.push((absent_or_null, Atom::Const(Py::None)))
                        }
                        KeyRead::Get => {
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
                        KeyRead::Subscript => {
                            let has = self.pred(
                                l,
                                Test::HasKey(child.path.last().cloned().unwrap_or_default()),
                            );
                            alts.push((absent_or_null, Atom::Const(Py::None)));
                            oks.push(not(and(readable.clone(), not(has))));
                        }
                        KeyRead::Deep => with_default(absent_or_null, &mut alts),
                    }
                    let not_obj = and(g.clone(), not(obj));
                    match how {
                        KeyRead::Deep => with_default(not_obj, &mut alts),
                        _ => oks.push(not(not_obj)),
                    }
                }
                Atom::Const(Py::Dict(d)) => {
                    match d.iter().find(|(k, _)| *k == Py::Str(key.to_owned())) {
                        Some((_, v)) if !(how == KeyRead::Deep && *v == Py::None) => {
                            alts.push((g.clone(), Atom::Const(v.clone())))
                        }
                        _ => match how {
                            KeyRead::Subscript => oks.push(not(g.clone())),
                            _ => with_default(g.clone(), &mut alts),
                        },
                    }
                }
                _ => match how {
                    KeyRead::Deep => with_default(g.clone(), &mut alts),
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
    fn table_lookup(
        &self,
        table: &Value,
        key: &Value,
        default: Option<Value>,
        node: &ast::Expr,
    ) -> Translated<Value> {
        let Some(Py::Dict(entries)) = table.as_const() else {
            return self.refuse(
                node,
                "a subscript with a key from event data on something other than a constant dict",
            );
        };
        let mut alts = Vec::new();
        let mut none_matched = Vec::new();
        for (k, v) in entries {
            let hit = self.pairwise(
                key,
                &Value::constant(k.clone()),
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

    /// `deep_get(obj, k1, k2, ..., default=...)` with constant keys: each key read in turn, the
    /// default wherever a key is missing, null, or its parent is not an object.
    pub(super) fn deep_get(
        &self,
        obj: &Value,
        keys: &[Value],
        default: Value,
        node: &ast::Expr,
    ) -> Translated<Value> {
        if keys.is_empty() {
            return Ok(obj.clone());
        }
        let mut cur = obj.clone();
        for (i, k) in keys.iter().enumerate() {
            let Some(Py::Str(k)) = k.as_const() else {
                return self.refuse(node, "deep_get() with keys that are not constant strings");
            };
            let last = i + 1 == keys.len();
            // Intermediate misses carry the default on; only the end substitutes it for None.
            let d = if last {
                default.clone()
            } else {
                Value::constant(Py::None)
            };
            cur = self.get_key_default(&cur, k, KeyRead::Deep, d, node)?;
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

    /// `deep_walk(event, k1, k2, ...)` with constant keys: an [`Atom::Walk`], read as "some value
    /// reached through the path's objects and arrays".
    pub(super) fn deep_walk(
        &self,
        obj: &Value,
        keys: &[Value],
        node: &ast::Expr,
    ) -> Translated<Value> {
        let [(_, Atom::Json(l))] = obj.alts.as_slice() else {
            return self.refuse(node, "deep_walk() of something other than the event");
        };
        if !l.is_event() {
            return self.refuse(node, "deep_walk() of something other than the event");
        }
        let mut path = Vec::new();
        for k in keys {
            let Some(Py::Str(k)) = k.as_const() else {
                return self.refuse(node, "deep_walk() with keys that are not constant strings");
            };
            path.push(if path.is_empty() {
                canonical_key(k)
            } else {
                k.clone()
            });
        }
        Ok(Value::of(Atom::Walk(FieldPath::new(path))))
    }
}

/// How a key is read, which decides what a missing key or a non-object gives.
#[derive(Debug, Clone, Copy, PartialEq)]
enum KeyRead {
    /// `d.get(k, default)`: default when the key is absent, None when it is null.
    Get,
    /// `d[k]`: KeyError when absent.
    Subscript,
    /// `deep_get`: default when absent, null or not a mapping.
    Deep,
}
