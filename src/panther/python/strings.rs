//! Strings: `startswith`/`endswith`, `lower`/`upper`/`casefold`, f-strings and `+`
//! concatenation.
//!
//! A string built from literals around one event field is an [`Atom::Concat`]: it can be compared
//! with another field (an IR field-reference test with the literal text around) or with a
//! constant (the field equal to the middle of the constant).

use rustpython_parser::ast;

use crate::ir::{Anchor, Expr, JsonType, Pattern, Test};

use super::ops::same_base;
use super::value::{Atom, Loc, Py, Value};
use super::{and, not, Env, Translated, Translator};

impl<'m> Translator<'m> {
    /// `s.lower()`, `s.upper()`, `s.casefold()`: a string field becomes an [`Atom::Case`] (read
    /// case-insensitively by later tests), a constant is converted; anything else raises.
    pub(super) fn change_case(
        &self,
        recv: &Value,
        name: &str,
        c: &ast::ExprCall,
        node: &ast::Expr,
    ) -> Translated<Value> {
        if !c.args.is_empty() {
            return self.refuse(node, format!(".{name}() with arguments"));
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

    /// An f-string: literal parts around at most one value read from the event. Constant values
    /// are formatted in (`str()` of a string, None, True, False); the one event value makes a
    /// built string ([`Translator::concat`] with `fstring` set).
    pub(super) fn fstring(
        &mut self,
        j: &ast::ExprJoinedStr,
        e: &ast::Expr,
        env: &Env,
    ) -> Translated<Value> {
        // Literal parts around at most one value.
        let mut before = String::new();
        let mut after = String::new();
        let mut value: Option<Value> = None;
        for part in &j.values {
            let text = match part {
                ast::Expr::Constant(c) => match &c.value {
                    ast::Constant::Str(t) => t.clone(),
                    _ => return self.refuse(part, "this f-string part"),
                },
                ast::Expr::FormattedValue(f) => {
                    if f.format_spec.is_some()
                        || !matches!(
                            f.conversion,
                            ast::ConversionFlag::None | ast::ConversionFlag::Str
                        )
                    {
                        return self.refuse(part, "an f-string field with a format or !r/!a");
                    }
                    let v = self.expr(&f.value, env)?;
                    match v.as_const() {
                        Some(p) => match p.str_text() {
                            Some(t) => t,
                            None => return self.refuse(part, "an f-string of this constant"),
                        },
                        None if value.is_none() => {
                            value = Some(v);
                            continue;
                        }
                        None => {
                            return self.refuse(part, "an f-string of more than one event value")
                        }
                    }
                }
                _ => return self.refuse(part, "this f-string part"),
            };
            if value.is_some() {
                after.push_str(&text);
            } else {
                before.push_str(&text);
            }
        }
        match value {
            None => Ok(Value::constant(Py::Str(before))),
            Some(v) => self.concat(&before, &v, &after, true, e),
        }
    }

    /// A built string (f-string or `+`) where only literals and fields are read: refused, so it
    /// is never taken for a value that raises.
    pub(super) fn reject_concat(&self, v: &Value, node: &ast::Expr, what: &str) -> Translated<()> {
        if v.alts.iter().any(|(_, a)| matches!(a, Atom::Concat { .. })) {
            return self.refuse(node, format!("{what} of a built string (f-string or +)"));
        }
        Ok(())
    }

    /// `before + v + after`: an f-string (`str()` of the value: a string as itself, `None`,
    /// `True`, `False`) or `+` (strings only: anything else raises `TypeError`). A number, object
    /// or list in an f-string, whose Python text rulecast does not reproduce, reads as an error
    /// (no match).
    pub(super) fn concat(
        &self,
        before: &str,
        v: &Value,
        after: &str,
        fstring: bool,
        node: &ast::Expr,
    ) -> Translated<Value> {
        let mut alts = Vec::new();
        let mut bad = Vec::new();
        let around = |t: &str| Atom::Const(Py::Str(format!("{before}{t}{after}")));
        for (g, a) in &v.alts {
            match a {
                Atom::Const(Py::Str(t)) => alts.push((g.clone(), around(t))),
                Atom::Const(p) if fstring => match p.str_text() {
                    Some(t) => alts.push((g.clone(), around(&t))),
                    None => return self.refuse(node, "an f-string of this constant"),
                },
                Atom::Const(_) => bad.push(g.clone()),
                Atom::Json(l) => {
                    // `g` holds only where the value is present and not null; a branch the
                    // shape table rules out (a Boolean `recipientAccountId`) is left out.
                    let string = self.present_is_type(l, JsonType::String);
                    if string != Expr::Const(false) {
                        alts.push((
                            and(g.clone(), string.clone()),
                            Atom::Concat {
                                before: before.to_owned(),
                                loc: l.clone(),
                                after: after.to_owned(),
                            },
                        ));
                    }
                    let mut fine = vec![string];
                    let boolean = self.present_is_type(l, JsonType::Boolean);
                    if fstring && boolean != Expr::Const(false) {
                        for b in [true, false] {
                            let t = and(
                                boolean.clone(),
                                self.pred(l, Test::Is(serde_json::Value::Bool(b))),
                            );
                            alts.push((
                                and(g.clone(), t.clone()),
                                around(if b { "True" } else { "False" }),
                            ));
                            fine.push(t);
                        }
                    }
                    bad.push(and(g.clone(), not(Expr::or(fine))));
                }
                Atom::Concat {
                    before: b0,
                    loc,
                    after: a0,
                } => alts.push((
                    g.clone(),
                    Atom::Concat {
                        before: format!("{before}{b0}"),
                        loc: loc.clone(),
                        after: format!("{a0}{after}"),
                    },
                )),
                _ => {
                    return self.refuse(
                        node,
                        if fstring {
                            "an f-string of this value"
                        } else {
                            "concatenation with this value"
                        },
                    )
                }
            }
        }
        Ok(Value {
            alts,
            ok: and(v.ok.clone(), not(Expr::or(bad))),
        }
        .tidy())
    }

    /// `s.startswith(arg)` / `s.endswith(arg)`, `arg` a string, a tuple of strings, or a field.
    pub(super) fn anchored(
        &self,
        recv: &Value,
        arg: &Value,
        start: bool,
        node: &ast::Expr,
    ) -> Translated<Value> {
        self.pairwise(recv, arg, |r, a| self.anchored_atoms(r, a, start), node)
    }

    /// One pair of alternatives of `r.startswith(a)` (`start`) or `r.endswith(a)`: (value, ok).
    fn anchored_atoms(&self, r: &Atom, a: &Atom, start: bool) -> Result<(Expr, Expr), String> {
        let make = |s: &str| {
            let p = Pattern::literal(s.to_owned());
            if start {
                p.any_suffix()
            } else {
                p.any_prefix()
            }
        };
        let lits: Vec<String> = match a {
            Atom::Const(Py::Str(s)) => vec![s.clone()],
            Atom::Const(Py::Seq(v)) if v.iter().all(|x| matches!(x, Py::Str(_))) => v
                .iter()
                .filter_map(|x| {
                    if let Py::Str(s) = x {
                        Some(s.clone())
                    } else {
                        None
                    }
                })
                .collect(),
            Atom::Json(f) => return self.anchored_on_field(r, f, start),
            // Theirs is a string (the alternative's guard says so).
            Atom::Concat { before, loc, after } => {
                return self.anchored_on_built(r, before, loc, after, start)
            }
            _ => return Ok((Expr::Const(false), Expr::Const(false))),
        };
        Ok(match r {
            Atom::Json(l) => (
                Expr::or(
                    lits.iter()
                        .map(|s| {
                            self.pred(
                                l,
                                Test::Str {
                                    pattern: make(s),
                                    fold: false,
                                },
                            )
                        })
                        .collect(),
                ),
                self.is_type(l, JsonType::String),
            ),
            Atom::Case(l, upper) => (
                Expr::or(
                    lits.iter()
                        .map(|s| self.case_match(l, *upper, make(s), s))
                        .collect(),
                ),
                Expr::Const(true),
            ),
            Atom::Const(Py::Str(s)) => (
                Expr::Const(lits.iter().any(|x| {
                    if start {
                        s.starts_with(x.as_str())
                    } else {
                        s.ends_with(x.as_str())
                    }
                })),
                Expr::Const(true),
            ),
            Atom::Concat { .. } => {
                return Err("startswith/endswith of a built string (f-string or +)".into())
            }
            _ => (Expr::Const(false), Expr::Const(false)),
        })
    }

    /// `r.startswith(event_field)` / `r.endswith(event_field)`, the argument the string field `f`.
    fn anchored_on_field(&self, r: &Atom, f: &Loc, start: bool) -> Result<(Expr, Expr), String> {
        match r {
            Atom::Json(l) => {
                same_base(l, f)?;
                let both = and(
                    self.is_type(l, JsonType::String),
                    self.is_type(f, JsonType::String),
                );
                Ok((
                    and(
                        both.clone(),
                        self.pred(
                            l,
                            Test::FieldRef(crate::ir::FieldRef {
                                other: f.field(),
                                anchor: anchor(start),
                                cased: true,
                                before: String::new(),
                                after: String::new(),
                            }),
                        ),
                    ),
                    both,
                ))
            }
            // A constant string starts (ends) with exactly its prefixes (suffixes).
            Atom::Const(Py::Str(s)) => {
                let cuts: Vec<Expr> = (0..=s.len())
                    .filter(|i| s.is_char_boundary(*i))
                    .map(|i| if start { &s[..i] } else { &s[i..] })
                    .map(|p| self.pred(f, Test::Is(serde_json::Value::String(p.to_owned()))))
                    .collect();
                Ok((Expr::or(cuts), self.is_type(f, JsonType::String)))
            }
            Atom::Const(_) => Ok((Expr::Const(false), Expr::Const(false))),
            _ => Err("startswith/endswith with a field argument on this value".into()),
        }
    }

    /// `r.startswith(before + loc + after)` / `r.endswith(...)`, the argument a built string (a
    /// string, by the alternative's guard).
    fn anchored_on_built(
        &self,
        r: &Atom,
        before: &str,
        loc: &Loc,
        after: &str,
        start: bool,
    ) -> Result<(Expr, Expr), String> {
        match r {
            Atom::Json(l) => {
                same_base(l, loc)?;
                let mine = self.is_type(l, JsonType::String);
                Ok((
                    and(
                        mine.clone(),
                        self.pred(
                            l,
                            Test::FieldRef(crate::ir::FieldRef {
                                other: loc.field(),
                                anchor: anchor(start),
                                cased: true,
                                before: before.to_owned(),
                                after: after.to_owned(),
                            }),
                        ),
                    ),
                    mine,
                ))
            }
            // A constant ends with before + x + after for exactly the x
            // that fill one of its tails (heads for startswith).
            Atom::Const(Py::Str(s)) => {
                let eqs = built_string_middles(s, before, after, start)
                    .into_iter()
                    .map(|x| self.pred(loc, Test::Is(serde_json::Value::String(x.to_owned()))))
                    .collect();
                Ok((Expr::or(eqs), Expr::Const(true)))
            }
            Atom::Const(_) => Ok((Expr::Const(false), Expr::Const(false))),
            _ => Err("startswith/endswith with a built string on this value".into()),
        }
    }
}

/// The anchor of a field-to-field `startswith` (`start`) or `endswith` test.
fn anchor(start: bool) -> Anchor {
    if start {
        Anchor::Prefix
    } else {
        Anchor::Suffix
    }
}

/// The distinct `x` for which the constant `s` starts with (`start`) or ends with
/// `before + x + after`, in the order they are first found.
fn built_string_middles<'s>(s: &'s str, before: &str, after: &str, start: bool) -> Vec<&'s str> {
    let mut xs = Vec::new();
    let n = s.len();
    for i in 0..=n {
        for j in i..=n {
            if !s.is_char_boundary(i) || !s.is_char_boundary(j) {
                continue;
            }
            // The built string is s[k..] (or s[..k]).
            let (head, x, tail) = (&s[..i], &s[i..j], &s[j..]);
            let fits = if start {
                head == before && tail.starts_with(after)
            } else {
                head.ends_with(before) && tail == after
            };
            if fits && !xs.contains(&x) {
                xs.push(x);
            }
        }
    }
    xs
}
