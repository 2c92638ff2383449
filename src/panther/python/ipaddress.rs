//! `ipaddress.ip_address()`: address objects, their `is_global`/`is_private` attributes, and
//! the one `try: ... except ValueError:` rulecast follows, around an `ip_address()` call.

use rustpython_parser::ast;

use crate::ir::Expr;
use crate::panther::{is_global_ip, is_ip, is_private_ip};

use super::value::{Atom, Py, Value};
use super::{and, not, Env, Translated, Translator};

/// A `try:` block whose only possible exception is the `ValueError` of one
/// `ipaddress.ip_address()` call in its first statement.
pub(super) struct TryIp<'a> {
    /// The call parses its argument (no `ValueError`).
    pub(super) valid: Expr,
    /// The value the first statement returns when it is a `return`.
    pub(super) first: Option<Value>,
    /// The name the first statement assigns, and its value.
    pub(super) bind: Option<(String, Value)>,
    /// The try block's other statements (none of which can raise).
    pub(super) rest: &'a [ast::Stmt],
}

impl<'m> Translator<'m> {
    /// `try: <stmt with one ip_address() call> <if ...: return <constant>>... except ValueError:`:
    /// the block's parts, and the handler's statements. Anything else is refused, since which
    /// exception a handler catches cannot be followed in general.
    pub(super) fn try_ip_address(
        &mut self,
        t: &'m ast::StmtTry,
        stmt: &ast::Stmt,
        env: &Env,
    ) -> Translated<(TryIp<'m>, &'m [ast::Stmt])> {
        const WHY: &str = "try/except other than around one ipaddress.ip_address() call \
                           catching ValueError (which exceptions are caught cannot be followed)";
        if !t.orelse.is_empty() || !t.finalbody.is_empty() {
            return self.refuse(stmt, WHY);
        }
        let [ast::ExceptHandler::ExceptHandler(h)] = t.handlers.as_slice() else {
            return self.refuse(stmt, WHY);
        };
        let is_value_error = |x: &ast::Expr| {
            matches!(x, ast::Expr::Name(n)
                if matches!(n.id.as_str(), "ValueError" | "Exception" | "BaseException"))
        };
        let catches = match h.type_.as_deref() {
            None => true,
            Some(ast::Expr::Tuple(tu)) => tu.elts.iter().any(is_value_error),
            Some(x) => is_value_error(x),
        };
        if h.name.is_some() || !catches {
            return self.refuse(stmt, WHY);
        }
        let Some((first, rest)) = t.body.split_first() else {
            return self.refuse(stmt, WHY);
        };
        let (expr, name, returns) = match first {
            ast::Stmt::Expr(e) => (e.value.as_ref(), None, false),
            ast::Stmt::Assign(a) => match a.targets.as_slice() {
                [ast::Expr::Name(n)] => (a.value.as_ref(), Some(n.id.to_string()), false),
                _ => return self.refuse(stmt, WHY),
            },
            ast::Stmt::Return(r) => match &r.value {
                Some(v) => (v.as_ref(), None, true),
                None => return self.refuse(stmt, WHY),
            },
            _ => return self.refuse(stmt, WHY),
        };
        let before = self.ip_checks.len();
        let v = self.expr(expr, env)?;
        let checks: Vec<(Expr, Expr)> = self.ip_checks.drain(before..).collect();
        // One call, whose argument cannot raise, and nothing else in the statement that can.
        let [(arg_ok, call_ok)] = checks.as_slice() else {
            return self.refuse(stmt, WHY);
        };
        if *arg_ok != Expr::Const(true) || v.ok != *call_ok {
            return self.refuse(stmt, WHY);
        }
        let parsed = Value {
            ok: Expr::Const(true),
            ..v
        };
        let mut env_a = env.clone();
        if let Some(n) = &name {
            env_a.insert(n.clone(), parsed.clone());
        }
        for s in rest {
            let fine = match s {
                ast::Stmt::Pass(_) => true,
                ast::Stmt::If(i) if i.orelse.is_empty() => match i.body.as_slice() {
                    [ast::Stmt::Return(r)] => {
                        let c = self.expr(&i.test, &env_a)?;
                        let (_, ok) = self.truth(&c);
                        let returned = match &r.value {
                            Some(x) => self.expr(x, &env_a)?,
                            None => Value::constant(Py::None),
                        };
                        crate::passes::simplify(&ok) == Expr::Const(true)
                            && returned.as_const().is_some()
                    }
                    _ => false,
                },
                _ => false,
            };
            if !fine {
                return self.refuse(s, WHY);
            }
        }
        Ok((
            TryIp {
                valid: call_ok.clone(),
                first: returns.then(|| parsed.clone()),
                bind: name.map(|n| (n, parsed)),
                rest,
            },
            &h.body,
        ))
    }

    /// `ipaddress.ip_address(v)`: an address object when `v` is a string holding an IPv4 or IPv6
    /// address; anything else raises `ValueError` (rulecast reads a number, which Python takes as
    /// an integer address, as not an address).
    pub(super) fn ip_address(&mut self, v: &Value, node: &ast::Expr) -> Translated<Value> {
        let mut alts = Vec::new();
        let mut invalid = Vec::new();
        for (g, a) in &v.alts {
            match a {
                Atom::Json(l) | Atom::Case(l, _) => {
                    let ip = is_ip(&l.field(), true, true, self.span);
                    alts.push((and(g.clone(), ip.clone()), Atom::Ip(l.clone())));
                    invalid.push(and(g.clone(), not(ip)));
                }
                Atom::Const(Py::Str(s)) if s.parse::<std::net::IpAddr>().is_ok() => {
                    return self.refuse(node, "ip_address() of a constant address")
                }
                // None, "", a default that is not an address: ValueError.
                Atom::Const(_) => invalid.push(g.clone()),
                _ => return self.refuse(node, "ip_address() of this value"),
            }
        }
        let ok = and(v.ok.clone(), not(Expr::or(invalid)));
        self.ip_checks.push((v.ok.clone(), ok.clone()));
        Ok(Value { alts, ok })
    }

    /// An attribute of an `ip_address()` object: `is_global`, `is_private`.
    pub(super) fn ip_attribute(
        &self,
        v: &Value,
        attr: &str,
        node: &ast::Expr,
    ) -> Translated<Value> {
        let mut alts = Vec::new();
        for (g, a) in &v.alts {
            let Atom::Ip(l) = a else {
                return self.refuse(node, format!("the attribute '.{attr}' used as a value"));
            };
            let t = match attr {
                "is_global" => is_global_ip(&l.field(), self.span),
                "is_private" => and(
                    is_ip(&l.field(), true, true, self.span),
                    is_private_ip(&l.field(), self.span),
                ),
                other => {
                    return self.refuse(node, format!("the address attribute '.{other}'"));
                }
            };
            alts.push((g.clone(), Atom::Bool(t)));
        }
        Ok(Value {
            alts,
            ok: v.ok.clone(),
        }
        .tidy())
    }
}
