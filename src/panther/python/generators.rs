//! Quantifiers over event arrays: `any()`/`all()` of generators, and `for` loops over event
//! data that return early.
//!
//! Iterating over a constant unrolls the iteration. Iterating over an event array binds the loop
//! variable to a fresh element (a [`Loc`] numbered by `elements_bound`, whose field paths have
//! the root [`Root::Element`]), translates the body once for that element, and makes its paths
//! element-relative ([`element_relative`]) for the per-element condition of an
//! [`Expr::Elements`]. An element's path that survives to the rule's condition (a loop variable
//! used outside its loop) is refused by [`check_no_element_refs`].

use rustpython_parser::ast::{self, Ranged};

use crate::ir::{Count, Expr, FieldPath, JsonType, Pattern, Root, Test};
use crate::panther::elements;

use super::stmt::Frame;
use super::value::{Atom, Loc, Py, Value};
use super::{and, not, not_translatable, or, Env, Translated, Translator};

impl<'m> Translator<'m> {
    /// `for var in <event array>:` followed by the rest of the stack. The body must be
    /// `if C: continue` and `if B: return R` statements, every R the same constant: the loop
    /// returns R exactly when some element reaches a return, so it reads as
    /// `if any((not C1 and B1) or (not C1 and not C2 and B2) ...): return R` (each return after
    /// the continues before it; an earlier return that fires returns the same R), an
    /// [`Expr::Elements`] over the array. Returns the joined value and the condition the loop
    /// raises no exception.
    pub(super) fn for_over_event_array(
        &mut self,
        f: &ast::StmtFor,
        stmt: &ast::Stmt,
        var: &str,
        iter: &Value,
        stack: Vec<Frame<'m>>,
        env: Env,
    ) -> Translated<(Value, Expr)> {
        let (test, r) = self.early_return(f, stmt, &env)?;
        let found = self.quantify(true, var, iter, &[], &test, &env, f.iter.as_ref())?;
        let (t, ok) = self.truth(&found);
        let b = self.run(stack, env)?;
        Ok((self.join(t, r, b, stmt)?, ok))
    }

    /// The body of a loop over event data as Python syntax: the condition under which an element
    /// reaches a `return`, and the constant returned (see [`Translator::for_over_event_array`]).
    fn early_return(
        &mut self,
        f: &ast::StmtFor,
        stmt: &ast::Stmt,
        env: &Env,
    ) -> Translated<(ast::Expr, Value)> {
        const WHY: &str = "a for loop over event data whose body is other than \
                           'if ...: continue' and 'if ...: return <one constant>'";
        let mut skips: Vec<ast::Expr> = Vec::new();
        let mut fires: Vec<ast::Expr> = Vec::new();
        let mut r: Option<Value> = None;
        for s in &f.body {
            let ast::Stmt::If(i) = s else {
                return self.refuse(s, WHY);
            };
            if !i.orelse.is_empty() {
                return self.refuse(s, WHY);
            }
            match i.body.as_slice() {
                [ast::Stmt::Continue(_)] => skips.push(ast::Expr::UnaryOp(ast::ExprUnaryOp {
                    range: i.test.range(),
                    op: ast::UnaryOp::Not,
                    operand: i.test.clone(),
                })),
                [ast::Stmt::Return(ret)] => {
                    let v = match &ret.value {
                        Some(e) => self.expr(e, env)?,
                        None => Value::constant(Py::None),
                    };
                    let Some(k) = v.as_const() else {
                        return self.refuse(
                            ret,
                            "a return inside a loop over event data that is not a constant",
                        );
                    };
                    if let Some(prev) = r.as_ref().and_then(Value::as_const) {
                        if prev != k {
                            return self.refuse(
                                ret,
                                "returns of different values inside a loop over event data",
                            );
                        }
                    }
                    r = Some(v.clone());
                    let mut parts = skips.clone();
                    parts.push((*i.test).clone());
                    fires.push(bool_op(ast::BoolOp::And, parts, i.test.range()));
                }
                _ => return self.refuse(s, WHY),
            }
        }
        let Some(r) = r else {
            return self.refuse(stmt, WHY);
        };
        Ok((bool_op(ast::BoolOp::Or, fires, f.iter.range()), r))
    }

    /// `any(...)` / `all(...)` of a generator or a list.
    ///
    /// A generator or list comprehension is quantified over its iterable ([`Translator::quantify`]);
    /// a list, tuple or set display evaluates every item; any other argument must be a constant.
    pub(super) fn any_all(
        &mut self,
        is_any: bool,
        arg: &ast::Expr,
        env: &Env,
    ) -> Translated<Value> {
        let (elt, generators) = match arg {
            ast::Expr::GeneratorExp(g) => (&g.elt, &g.generators),
            ast::Expr::ListComp(g) => (&g.elt, &g.generators),
            ast::Expr::List(_) | ast::Expr::Tuple(_) | ast::Expr::Set(_) => {
                let elts = match arg {
                    ast::Expr::List(l) => &l.elts,
                    ast::Expr::Tuple(l) => &l.elts,
                    ast::Expr::Set(l) => &l.elts,
                    _ => unreachable!(),
                };
                // A list is built whole first: every item is evaluated.
                let mut vals = Vec::new();
                let mut oks = Vec::new();
                for x in elts {
                    let v = self.expr(x, env)?;
                    let (t, ok) = self.truth(&v);
                    vals.push(t);
                    oks.push(ok);
                }
                let v = if is_any {
                    Expr::or(vals)
                } else {
                    Expr::and(vals)
                };
                return Ok(Value::boolean(v, Expr::and(oks)));
            }
            other => {
                let v = self.expr(other, env)?;
                return match v.as_const().and_then(Py::elements) {
                    Some(items) => {
                        let t: Vec<bool> = items.iter().map(Py::truthy).collect();
                        Ok(Value::constant(Py::Bool(if is_any {
                            t.iter().any(|x| *x)
                        } else {
                            t.iter().all(|x| *x)
                        })))
                    }
                    None => self.refuse(
                        other,
                        format!(
                            "{}() of event data other than a generator",
                            if is_any { "any" } else { "all" }
                        ),
                    ),
                };
            }
        };
        let [gen] = generators.as_slice() else {
            return self.refuse(arg, "a generator with several 'for' clauses");
        };
        let ast::Expr::Name(var) = &gen.target else {
            return self.refuse(&gen.target, "a generator target other than a name");
        };
        let iter = self.expr(&gen.iter, env)?;
        self.quantify(
            is_any,
            var.id.as_str(),
            &iter,
            &gen.ifs,
            elt,
            env,
            &gen.iter,
        )
    }

    /// `any()`/`all()` over `iter` of `elt` with `var` bound to each item, filtered by `ifs`: a
    /// constant iterable is unrolled (stopping at the first decisive item, as Python does); an event
    /// array becomes an [`Expr::Elements`] with `Count::Some` (any) or `Count::Every` (all), ok only
    /// when the field is an array and no item raises.
    #[allow(clippy::too_many_arguments)]
    fn quantify(
        &mut self,
        is_any: bool,
        var: &str,
        iter: &Value,
        ifs: &[ast::Expr],
        elt: &ast::Expr,
        env: &Env,
        node: &ast::Expr,
    ) -> Translated<Value> {
        let mut vals = Vec::new();
        let mut oks = vec![iter.ok.clone()];
        for (g, a) in &iter.alts {
            let (v, ok) = match a {
                Atom::Const(p) => {
                    let Some(items) = p.elements() else {
                        oks.push(not(g.clone()));
                        continue;
                    };
                    // Python's order: stop at the first decisive item.
                    let mut ts = Vec::with_capacity(items.len());
                    let mut item_oks = Vec::with_capacity(items.len());
                    for item in items {
                        let mut item_env = env.clone();
                        item_env.insert(var.to_owned(), Value::constant(item));
                        let (t, item_ok) = self.generator_item(is_any, ifs, elt, &item_env)?;
                        ts.push(t);
                        item_oks.push(item_ok);
                    }
                    let ok = Self::chain_ok(!is_any, &ts, item_oks);
                    let acc = if is_any { Expr::or(ts) } else { Expr::and(ts) };
                    (acc, ok)
                }
                Atom::Json(l) => {
                    self.elements_bound += 1;
                    let id = self.elements_bound + 1000 * (l.elem + 1);
                    let element = Loc {
                        elem: id,
                        path: vec![],
                    };
                    let item = Value {
                        alts: vec![
                            (
                                self.pred(&element, Test::Exists),
                                Atom::Json(element.clone()),
                            ),
                            (self.pred(&element, Test::Null), Atom::Const(Py::None)),
                        ],
                        ok: Expr::Const(true),
                    };
                    let mut item_env = env.clone();
                    item_env.insert(var.to_owned(), item);
                    let (t, item_ok) = self.generator_item(is_any, ifs, elt, &item_env)?;
                    let body_v = element_relative(&t, id).map_err(|w| self.refusal(node, w))?;
                    let body_ok =
                        element_relative(&item_ok, id).map_err(|w| self.refusal(node, w))?;
                    let path = l.field();
                    let count = if is_any { Count::Some } else { Count::Every };
                    let v_list = elements(&path, count, body_v.clone(), self.span);
                    let ok_list = and(
                        self.is_type(l, JsonType::Array),
                        elements(&path, Count::Every, body_ok.clone(), self.span),
                    );
                    // Python iterates a string's characters and a dict's keys too.
                    let mut v_alts = vec![v_list.clone()];
                    let mut ok_alts = Vec::new();
                    for over in [Over::Chars, Over::Keys] {
                        let (v, ok) = match self.iterate_scalars(l, over, is_any, &body_v, &body_ok)
                        {
                            Ok(x) => x,
                            // Refused where the value can be a string or dict here.
                            Err(w) => {
                                // Two unknowns: the value, and whether it raises.
                                let t = self.is_type(l, over.json_type());
                                let v = and(t.clone(), self.deferred_refusal(node, &w));
                                (v, and(t, self.deferred_refusal(node, &w)))
                            }
                        };
                        v_alts.push(v);
                        ok_alts.push(ok);
                    }
                    // The string and dict cases exclude a list that passes: saying so (`¬v_list`)
                    // lets the simplifier drop them where the rule goes on to require v_list. Not
                    // inside a per-element condition, where it would only repeat v_list.
                    let others = Expr::or(ok_alts);
                    let others = if l.elem == 0 {
                        and(not(v_list), others)
                    } else {
                        others
                    };
                    let ok = or(ok_list, others);
                    (Expr::or(v_alts), ok)
                }
                _ => return self.refuse(node, "iterating over this value"),
            };
            vals.push(and(g.clone(), v));
            oks.push(or(not(g.clone()), ok));
        }
        Ok(Value::boolean(Expr::or(vals), Expr::and(oks)))
    }

    /// One item's (truth, ok): with `if` filters, any() needs filter ∧ elt, all() ¬filter ∨ elt.
    fn generator_item(
        &mut self,
        is_any: bool,
        ifs: &[ast::Expr],
        elt: &ast::Expr,
        env: &Env,
    ) -> Translated<(Expr, Expr)> {
        let mut cond = Expr::Const(true);
        let mut ok = Expr::Const(true);
        for f in ifs {
            let v = self.expr(f, env)?;
            let (t, tok) = self.truth(&v);
            ok = and(ok, or(not(cond.clone()), tok));
            cond = and(cond, t);
        }
        let v = self.expr(elt, env)?;
        let (t, tok) = self.truth(&v);
        let ok = and(ok, or(not(cond.clone()), tok));
        Ok(if is_any {
            (and(cond, t), ok)
        } else {
            (or(not(cond), t), ok)
        })
    }
}

/// What iterating a string or a dict goes through: its characters, or its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Over {
    Chars,
    Keys,
}

impl Over {
    fn json_type(self) -> JsonType {
        match self {
            Over::Chars => JsonType::String,
            Over::Keys => JsonType::Object,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Over::Chars => "a string's characters",
            Over::Keys => "a dict's keys",
        }
    }
}

impl Translator<'_> {
    /// `any()`/`all()` (`is_any`) over the string or dict at `l` (`over` says which) of the
    /// element-relative `body_v`, ok when every item's `body_ok` holds (as for lists: an item
    /// that raises makes the call raise). Returns (value, ok), each false unless the value at `l`
    /// is a string (Chars) or a dict (Keys).
    ///
    /// An item is a one-character string (Chars) or a key (Keys), and the body sees nothing else
    /// of it: it reads the item's own text, and any deeper path is missing. So the body depends
    /// only on which of the finitely many strings its tests name the item is, or that it is none
    /// of them ([`distinguished`]); each case is decided by the evaluator, and "some item is `a`"
    /// is a substring test (Chars) or a key test (Keys). A body whose tests name infinitely many
    /// strings (a regex, a wildcard over keys) cannot be read this way and is refused.
    fn iterate_scalars(
        &self,
        l: &Loc,
        over: Over,
        is_any: bool,
        body_v: &Expr,
        body_ok: &Expr,
    ) -> Result<(Expr, Expr), String> {
        let typed = |e: Expr| and(self.is_type(l, over.json_type()), e);
        // ok: no item raises, that is, not (some item raises).
        let raises = self.some_item(l, over, &not(body_ok.clone()))?;
        // Where every item raises, only an empty string or dict is ok, and its any() is False,
        // its all() True (written "empty", which a known non-empty value folds away): the body's
        // value is never needed.
        if raises == self.pred(l, Test::Truthy) {
            let empty = typed(not(raises));
            let v = if is_any {
                Expr::Const(false)
            } else {
                empty.clone()
            };
            let ok = match over {
                Over::Chars => self.pred(l, Test::Is(serde_json::Value::String(String::new()))),
                Over::Keys => empty,
            };
            return Ok((v, ok));
        }
        let ok = typed(not(raises));
        let v = if is_any {
            self.some_item(l, over, body_v)?
        } else {
            not(self.some_item(l, over, &not(body_v.clone()))?)
        };
        Ok((typed(v), ok))
    }

    /// Some item of the string or dict at `l` passes the element-relative `body`.
    fn some_item(&self, l: &Loc, over: Over, body: &Expr) -> Result<Expr, String> {
        let named = distinguished(body, over)?;
        let ev = crate::eval::Evaluator::new(body)?;
        let passes = |s: &str| ev.matches(&serde_json::Value::String(s.to_owned()));
        let mut alts = Vec::new();
        for a in &named {
            if passes(a) {
                alts.push(match over {
                    Over::Chars => self.pred(
                        l,
                        Test::Str {
                            pattern: Pattern::literal(a.clone()).any_prefix().any_suffix(),
                            fold: false,
                        },
                    ),
                    Over::Keys => self.pred(l, Test::HasKey(a.clone())),
                });
            }
        }
        // An item none of the body's tests names: they all read it alike.
        let other = ('\u{1}'..='\u{7f}')
            .map(String::from)
            .find(|c| !named.contains(c))
            .ok_or("too many characters named")?;
        if passes(&other) {
            alts.push(match over {
                // Some item at all: a non-empty string or dict.
                _ if named.is_empty() => self.pred(l, Test::Truthy),
                // A character none of the tests names.
                Over::Chars => self.pred(
                    l,
                    Test::Regex {
                        regex: char_outside(&named),
                        flags: crate::ir::RegexFlags::default(),
                    },
                ),
                Over::Keys => {
                    return Err(format!(
                        "iterating over {} with a condition that holds for keys other than \
                         those it names (Python iterates a dict's keys)",
                        over.what()
                    ))
                }
            });
        }
        Ok(Expr::or(alts))
    }
}

/// A regex search for a character outside `chars` (one-character strings): `[^...]`, with the
/// class's special characters escaped and `-` last.
fn char_outside(chars: &std::collections::BTreeSet<String>) -> String {
    let mut class = String::new();
    let mut dash = false;
    for c in chars {
        match c.as_str() {
            "-" => dash = true,
            c => class.push_str(&crate::ir::regex_escape(c)),
        }
    }
    if dash {
        class.push('-');
    }
    format!("[^{class}]")
}

/// The strings an element-relative condition tells apart when its element is a one-character
/// string (Chars) or a dict key (Keys): every item outside the set gives the condition the same
/// truth. Tests of deeper paths (missing on a string) and of per-element conditions (a string is
/// no list) read every item alike. A test that tells apart infinitely many items is refused.
fn distinguished(body: &Expr, over: Over) -> Result<std::collections::BTreeSet<String>, String> {
    use crate::ir::{Part, Subject};
    let refuse = |what: &str| {
        Err(format!(
            "iterating over {} with {what} (Python iterates a string's characters and a dict's \
             keys)",
            over.what()
        ))
    };
    let mut out = std::collections::BTreeSet::new();
    let mut stack = vec![body];
    while let Some(e) = stack.pop() {
        let p = match e {
            Expr::And(xs) | Expr::Or(xs) => {
                stack.extend(xs);
                continue;
            }
            Expr::Not(x) => {
                stack.push(x);
                continue;
            }
            Expr::Const(_) | Expr::Elements(_) => continue,
            Expr::Pred(p) => p,
        };
        match &p.subject {
            Subject::Anywhere => return refuse("a test of any value in the event"),
            Subject::Field(f) if !f.segments().is_empty() => continue,
            Subject::Field(_) => {}
        }
        let (pattern, fold) = match &p.test {
            Test::Null | Test::Exists | Test::Type(_) | Test::HasKey(_) => continue,
            Test::Truthy => {
                if over == Over::Keys {
                    out.insert(String::new());
                }
                continue;
            }
            Test::Is(serde_json::Value::String(lit)) => {
                if over == Over::Keys || lit.chars().count() == 1 {
                    out.insert(lit.clone());
                }
                continue;
            }
            Test::Is(_) => continue,
            // No one-character string is an IP address; a digit is a number.
            Test::Cidr(_) if over == Over::Chars => continue,
            Test::Compare { .. } if over == Over::Chars => {
                out.extend(('0'..='9').map(String::from));
                continue;
            }
            Test::Str { pattern, fold } => (pattern, *fold),
            Test::Text { pattern, cased } => (pattern, !*cased),
            _ => return refuse("a test rulecast cannot decide for each item"),
        };
        let variants = |c: char| {
            let mut v = vec![c];
            if fold {
                v.push(c.to_ascii_lowercase());
                v.push(c.to_ascii_uppercase());
            }
            v
        };
        match over {
            Over::Chars => {
                // One character matches a pattern of exactly one fixed item: that item.
                let mut fixed = Vec::new();
                for part in &pattern.0 {
                    match part {
                        Part::Lit(s) => fixed.extend(s.chars().map(Some)),
                        Part::OneChar => fixed.push(None),
                        Part::AnyRun => {}
                    }
                }
                if let [Some(c)] = fixed.as_slice() {
                    out.extend(variants(*c).into_iter().map(String::from));
                }
            }
            Over::Keys => match pattern.as_literal() {
                Some(lit) if !(fold && lit.chars().any(|c| c.is_ascii_alphabetic())) => {
                    out.insert(lit);
                }
                _ if pattern.0.iter().all(|x| *x == Part::AnyRun) => {}
                _ => return refuse("a text test that many keys can pass"),
            },
        }
    }
    Ok(out)
}

/// `a and b and ...` (`or`) as Python syntax, or the one operand itself.
fn bool_op(
    op: ast::BoolOp,
    mut values: Vec<ast::Expr>,
    range: rustpython_parser::text_size::TextRange,
) -> ast::Expr {
    if values.len() == 1 {
        return values.remove(0);
    }
    ast::Expr::BoolOp(ast::ExprBoolOp { range, op, values })
}

/// The element-relative form of a generator body: paths from element `id` start from the
/// element instead; any other path (the event, an outer element) cannot be read per element.
fn element_relative(e: &Expr, id: usize) -> Result<Expr, String> {
    let strip = |f: &FieldPath| -> Result<FieldPath, String> {
        match f.root() {
            Root::Element(n) if n == id => Ok(f.from_event()),
            // A deferred refusal reads nothing.
            Root::Refusal(_) => Ok(f.clone()),
            _ => Err(
                "a condition on each array element that also reads the event or an outer element"
                    .into(),
            ),
        }
    };
    Ok(match e {
        Expr::And(xs) => Expr::and(
            xs.iter()
                .map(|x| element_relative(x, id))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Or(xs) => Expr::or(
            xs.iter()
                .map(|x| element_relative(x, id))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Not(x) => Expr::not(element_relative(x, id)?),
        Expr::Const(b) => Expr::Const(*b),
        Expr::Pred(p) => {
            let mut p = p.clone();
            if let crate::ir::Subject::Field(f) = &p.subject {
                p.subject = crate::ir::Subject::Field(strip(f)?);
            }
            if let Test::FieldRef(crate::ir::FieldRef { other, .. }) = &mut p.test {
                *other = strip(other)?;
            }
            Expr::Pred(p)
        }
        Expr::Elements(el) => {
            let mut el = el.clone();
            el.path = strip(&el.path)?;
            Expr::Elements(el)
        }
    })
}

/// No element's path may survive to the rule's condition.
pub(super) fn check_no_element_refs(e: &Expr, node: &impl Ranged) -> Translated<()> {
    let bad = e
        .paths()
        .iter()
        .any(|f| matches!(f.root(), Root::Element(_)));
    if bad {
        return not_translatable(node, "a loop variable used outside its loop");
    }
    Ok(())
}
