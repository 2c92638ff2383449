//! `isinstance(x, classes)`: which JSON types an event value of those classes can have, and
//! whether a constant is an instance.

use rustpython_parser::ast;

use crate::ir::{Expr, JsonType};

use super::value::{Atom, Py, Value};
use super::{and, Env, Translated, Translator};

impl Translator<'_> {
    /// `isinstance(x, classes)`: a bool, true for the JSON types an event value of those classes
    /// has ([`isinstance_json_types`]); a constant is checked directly.
    pub(super) fn isinstance(
        &mut self,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> Translated<Value> {
        let [first, _] = c.args.as_slice() else {
            return self.refuse(node, "isinstance() with other than two arguments");
        };
        let v = &self.expr(first, env)?;
        let unknown = "isinstance() against types other than str, bool, (int, float), \
                       Mapping, Sequence, dict, list, tuple";
        let classes = isinstance_classes(&c.args[1])
            .ok_or(())
            .or_else(|_| self.refuse(node, unknown))?;
        let types = isinstance_json_types(&classes)
            .ok_or(())
            .or_else(|_| self.refuse(node, unknown))?;
        let mut alts = Vec::new();
        for (g, a) in &v.alts {
            let t = match a {
                Atom::Json(l) => Expr::or(types.iter().map(|t| self.is_type(l, *t)).collect()),
                Atom::Case(..) => Expr::Const(types.contains(&JsonType::String)),
                Atom::Const(p) => match isinstance_const(&classes, p) {
                    Some(b) => Expr::Const(b),
                    None => return self.refuse(node, "isinstance() of a constant list or tuple"),
                },
                Atom::Bool(_) => Expr::Const(types.contains(&JsonType::Boolean)),
                _ => return self.refuse(node, "isinstance() of this value"),
            };
            alts.push(and(g.clone(), t));
        }
        Ok(Value::boolean(Expr::or(alts), v.ok.clone()))
    }
}

/// The classes `isinstance()`'s second argument names (`Mapping`, `collections.abc.Mapping`,
/// `(str, bool)`), when rulecast knows them all.
fn isinstance_classes(e: &ast::Expr) -> Option<Vec<&'static str>> {
    const KNOWN: &[&str] = &[
        "str",
        "bool",
        "int",
        "float",
        "dict",
        "list",
        "tuple",
        "Mapping",
        "MutableMapping",
        "Sequence",
        "MagicMock",
    ];
    let one = |x: &ast::Expr| -> Option<&'static str> {
        let name = match x {
            ast::Expr::Name(n) => n.id.as_str(),
            ast::Expr::Attribute(a) => a.attr.as_str(),
            _ => return None,
        };
        KNOWN.iter().find(|k| **k == name).copied()
    };
    match e {
        ast::Expr::Tuple(t) => t.elts.iter().map(one).collect(),
        x => one(x).map(|c| vec![c]),
    }
}

/// The JSON types of an event value that is an instance of one of the classes. Panther hands
/// `rule()` objects as a read-only `Mapping` and arrays as a read-only `Sequence`: never a
/// `dict`, `list`, `tuple` or mock. None when the classes split JSON numbers (`int` without
/// `float`, or the reverse).
fn isinstance_json_types(classes: &[&str]) -> Option<Vec<JsonType>> {
    let has = |n: &str| classes.contains(&n);
    let mut out = Vec::new();
    let mut add = |t: JsonType| {
        if !out.contains(&t) {
            out.push(t);
        }
    };
    if has("str") || has("Sequence") {
        add(JsonType::String);
    }
    if has("bool") {
        add(JsonType::Boolean);
    }
    match (has("int"), has("float")) {
        (true, true) => {
            add(JsonType::Number);
            add(JsonType::Boolean);
        }
        (false, false) => {}
        _ => return None,
    }
    if has("Mapping") {
        add(JsonType::Object);
    }
    if has("Sequence") {
        add(JsonType::Array);
    }
    Some(out)
}

/// Is a Python constant an instance of one of the classes? None when rulecast cannot tell (a
/// list or a tuple).
fn isinstance_const(classes: &[&str], p: &Py) -> Option<bool> {
    let has = |n: &str| classes.contains(&n);
    Some(match p {
        Py::Str(_) => has("str") || has("Sequence"),
        Py::Bool(_) => has("bool") || has("int"),
        Py::Num(crate::eval::Num::Int(_)) => has("int"),
        Py::Num(crate::eval::Num::Float(_)) => has("float"),
        Py::Dict(_) => has("dict") || has("Mapping") || has("MutableMapping"),
        Py::Seq(_) => match (has("list"), has("tuple")) {
            (true, true) => true,
            (false, false) => has("Sequence"),
            _ => return None,
        },
        Py::Set(_) | Py::None | Py::Match => false,
    })
}
