//! What a reader of a Python rule's query should know that the query cannot say: a module-level
//! dict the rule looks things up in is spelled out in the query, one alternative per key, so the
//! query is longer than `rule()` for a reason that is not in `rule()`.

use rustpython_parser::ast::{self, Ranged};

/// The functions Panther calls besides `rule()` (their reads never reach the condition).
const AUXILIARY: &[&str] = &[
    "title",
    "dedup",
    "alert_context",
    "severity",
    "description",
    "reference",
    "runbook",
    "destinations",
];

/// One note per module-level dict display of two or more entries that a function other than
/// Panther's auxiliary ones names (`SENSITIVE = {...}` read by `rule()` or a helper it may call),
/// in the module's order.
pub(super) fn spelled_out_dicts(module: &[ast::Stmt], text: &str) -> Vec<String> {
    let bodies: Vec<&str> = module
        .iter()
        .filter_map(|s| match s {
            ast::Stmt::FunctionDef(f) if !AUXILIARY.contains(&f.name.as_str()) => {
                text.get(usize::from(f.range().start())..usize::from(f.range().end()))
            }
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for s in module {
        let ast::Stmt::Assign(a) = s else { continue };
        let [ast::Expr::Name(target)] = a.targets.as_slice() else {
            continue;
        };
        let ast::Expr::Dict(d) = a.value.as_ref() else {
            continue;
        };
        let name = target.id.as_str();
        if d.keys.len() >= 2 && bodies.iter().any(|b| names(b, name)) {
            out.push(format!(
                "the rule reads the module's dict {name} ({} entries), which the query spells \
                 out",
                d.keys.len()
            ));
        }
    }
    out
}

/// Whether `body` has `name` as a whole word (an identifier, not part of a longer one).
fn names(body: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    body.match_indices(name).any(|(i, _)| {
        !body[..i].chars().next_back().is_some_and(word)
            && !body[i + name.len()..].chars().next().is_some_and(word)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notes(src: &str) -> Vec<String> {
        let module = super::super::parse(src).expect("parses");
        spelled_out_dicts(&module, src)
    }

    #[test]
    fn a_dict_the_rule_reads_is_noted() {
        let src = "CALLS = {\"a\": [\"x\"], \"b\": [\"y\"]}\nOTHER = {\"a\": 1, \"b\": 2}\nONE = {\"a\": 1}\nLIST = [\"a\", \"b\"]\n\ndef rule(event):\n    return event.get(\"eventName\") in CALLS.get(event.get(\"eventSource\"), []) and LIST and ONE\n\ndef alert_context(event):\n    return OTHER\n";
        let n = notes(src);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(n[0].contains("dict CALLS (2 entries)"), "{n:?}");
    }

    #[test]
    fn a_longer_name_is_not_the_dict() {
        assert!(!names("x = CALLS_2 + MYCALLS", "CALLS"));
        assert!(names("return CALLS.get(k)", "CALLS"));
    }
}
