use rustpython_parser::ast;

use crate::ir::JsonType;

use super::value::Py;

/// The classes `isinstance()`'s second argument names (`Mapping`, `collections.abc.Mapping`,
/// `(str, bool)`), when rulecast knows them all.
pub(super) fn isinstance_classes(e: &ast::Expr) -> Option<Vec<&'static str>> {
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
pub(super) fn isinstance_json_types(classes: &[&str]) -> Option<Vec<JsonType>> {
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
/// list or a tuple, an int or a float).
pub(super) fn isinstance_const(classes: &[&str], p: &Py) -> Option<bool> {
    let has = |n: &str| classes.contains(&n);
    Some(match p {
        Py::Str(_) => has("str") || has("Sequence"),
        Py::Bool(_) => has("bool") || has("int"),
        Py::Num(_) => match (has("int"), has("float")) {
            (true, true) => true,
            (false, false) => false,
            _ => return None,
        },
        Py::Dict(_) => has("dict") || has("Mapping") || has("MutableMapping"),
        Py::Seq(_) => match (has("list"), has("tuple")) {
            (true, true) => true,
            (false, false) => has("Sequence"),
            _ => return None,
        },
        Py::Set(_) | Py::None | Py::Match => false,
    })
}
