//! The alert's output fields, read from `alert_context()`: best effort, never part of matching.

use rustpython_parser::ast;

use crate::panther::canonical_key;

use super::module::positional_params;

/// The alert's output fields, from `alert_context()`: `aws_rule_context(event)` gives its fields,
/// and keys read with `event.get` / `deep_get` / `event.deep_get` are added (best effort; this
/// never affects matching).
pub(super) fn output_fields(module: &[ast::Stmt]) -> Vec<String> {
    let mut out = Vec::new();
    for s in module {
        if let ast::Stmt::FunctionDef(f) = s {
            if f.name.as_str() == "alert_context" {
                let Some(event) = positional_params(f).into_iter().next() else {
                    continue;
                };
                for st in &f.body {
                    stmt_fields(st, &event, &mut out);
                }
            }
        }
    }
    out
}

/// The event fields an `alert_context` statement reads (`event` names the function's parameter:
/// reads from other objects, such as a local alias, are not fields of the record's top level).
fn stmt_fields(s: &ast::Stmt, event: &str, out: &mut Vec<String>) {
    match s {
        ast::Stmt::Return(r) => {
            if let Some(v) = &r.value {
                expr_fields(v, event, out);
            }
        }
        ast::Stmt::Assign(a) => expr_fields(&a.value, event, out),
        ast::Stmt::Expr(e) => expr_fields(&e.value, event, out),
        ast::Stmt::If(i) => {
            i.body
                .iter()
                .chain(&i.orelse)
                .for_each(|x| stmt_fields(x, event, out));
        }
        _ => {}
    }
}

/// The event fields an expression of `alert_context` reads (see [`stmt_fields`]).
fn expr_fields(e: &ast::Expr, event: &str, out: &mut Vec<String>) {
    let is_event = |x: &ast::Expr| matches!(x, ast::Expr::Name(n) if n.id.as_str() == event);
    let mut add = |f: String| {
        if !f.is_empty() && !f.starts_with("p_") && !out.contains(&f) {
            out.push(f);
        }
    };
    let string_args = |args: &[ast::Expr]| -> Vec<String> {
        args.iter()
            .filter_map(|a| match a {
                ast::Expr::Constant(c) => match &c.value {
                    ast::Constant::Str(s) => Some(s.clone()),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    };
    match e {
        ast::Expr::Call(c) => {
            // `event.get(..)`, `event.deep_get(..)`, `deep_get(event, ..)`, `aws_rule_context(..)`.
            let name = match c.func.as_ref() {
                ast::Expr::Name(n)
                    if n.id.as_str() != "deep_get" || c.args.first().is_some_and(is_event) =>
                {
                    n.id.to_string()
                }
                ast::Expr::Attribute(a) if is_event(&a.value) => a.attr.to_string(),
                _ => String::new(),
            };
            match name.as_str() {
                "aws_rule_context" => AWS_CONTEXT_FIELDS.iter().for_each(|f| add((*f).to_owned())),
                "get" | "deep_get" => {
                    let mut keys = string_args(&c.args);
                    if let Some(first) = keys.first_mut() {
                        *first = canonical_key(first);
                    }
                    if !keys.is_empty() && (name == "deep_get" || keys.len() <= 2) {
                        let keys = if name == "get" {
                            vec![keys[0].clone()]
                        } else {
                            keys
                        };
                        add(keys.join("."));
                    }
                }
                _ => {}
            }
            c.args.iter().for_each(|a| expr_fields(a, event, out));
        }
        ast::Expr::Dict(d) => d.values.iter().for_each(|v| expr_fields(v, event, out)),
        ast::Expr::BinOp(b) => {
            expr_fields(&b.left, event, out);
            expr_fields(&b.right, event, out);
        }
        ast::Expr::BoolOp(b) => b.values.iter().for_each(|v| expr_fields(v, event, out)),
        _ => {}
    }
}

const AWS_CONTEXT_FIELDS: &[&str] = crate::panther::AWS_RULE_CONTEXT_FIELDS;
