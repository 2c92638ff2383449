//! Per-element conditions ([`Elements`]) expanded over list indices: Logs Insights has no
//! per-element test, so the body is repeated for elements `0..N` (`--array-max`) of the list.

use crate::backend::{join_group, negate, render_operand, ElementScope, RenderCx};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Count, Elements, Expr, FieldPath, Subject};

use super::fields::list_note;
use super::predicate::Renderer;
use super::{array_max, CloudwatchBackend, SYNTAX};
use crate::cloudtrail::{always_scalar, kind, Elem, Kind};

/// The fields a per-element body reads directly (not inside a nested per-element condition), and
/// whether it has such a nested condition.
fn body_fields(e: &Expr, out: &mut Vec<FieldPath>) -> bool {
    match e {
        Expr::And(xs) | Expr::Or(xs) => {
            let mut nested = false;
            for x in xs {
                nested |= body_fields(x, out);
            }
            nested
        }
        Expr::Not(x) => body_fields(x, out),
        Expr::Const(_) => false,
        Expr::Pred(p) => {
            if let Subject::Field(f) = &p.subject {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
            false
        }
        Expr::Elements(_) => true,
    }
}

/// The list a per-element condition ranges over.
struct ListTarget {
    /// The list's path from the event root, without element indices.
    path: FieldPath,
    /// The list's Logs Insights name; element `i` is `{name}.{i}`.
    name: String,
}

impl CloudwatchBackend {
    /// A per-element condition, repeated for elements `0..n` of the list: an OR of the copies
    /// (some element passes) or, for every element, an AND of "past the end or passes" after the
    /// list is seen in `@message`.
    pub(super) fn expand_list(
        &self,
        el: &Elements,
        cx: &mut RenderCx,
        indent: usize,
    ) -> Result<String, Diagnostic> {
        let n = array_max(cx)?;
        let Some(list) = list_target(el, cx)? else {
            // A list on the way (objects only are walked), or no list at the end.
            return Ok(SYNTAX.false_.to_owned());
        };
        cx.needs.helpers.insert("lists");
        cx.needs.note(list_note(&list.path.segments().join("."), n));
        let every = el.count == Count::Every;
        let guard_fields = guard_fields(el, &list.path, every)?;
        let mut copies = Vec::with_capacity(n);
        for i in 0..n {
            cx.elements.push(ElementScope {
                path: list.path.clone(),
                name: format!("{}.{i}", list.name),
            });
            cx.depth += 1;
            let body = render_operand(self, &el.body, cx, indent + 1);
            let guard = match (&guard_fields, &body) {
                (Some(fields), Ok(_)) => element_guard(cx, fields, &list.path, every).map(Some),
                _ => Ok(None),
            };
            cx.depth -= 1;
            cx.elements.pop();
            let body = body?;
            copies.push(match guard? {
                // Every: past the end, or passes; some: there, and passes.
                Some(g) => join_group(&SYNTAX, !every, vec![format!("({g})"), body], indent + 1),
                None => body,
            });
        }
        join_copies(el, copies, cx, indent)
    }
}

/// The list `el` ranges over (its path relative to the innermost element scope of `cx`, if any).
/// None when Python's reading, which walks objects only, cannot reach a list there: a known list on
/// the way, or a known scalar or object at the end.
fn list_target(el: &Elements, cx: &RenderCx) -> Result<Option<ListTarget>, Diagnostic> {
    let (base_path, base_name) = match cx.elements.last() {
        Some(s) => (s.path.segments().to_vec(), Some(s.name.clone())),
        None => (Vec::new(), None),
    };
    let rel = el.path.segments();
    if rel.is_empty() || rel.iter().any(String::is_empty) {
        return Err(Diagnostic::unsupported(
            "cloudwatch",
            format!("the list path '{}' (an empty segment)", el.path),
        ));
    }
    if rel.iter().any(|s| s.bytes().all(|b| b.is_ascii_digit())) {
        return Err(Diagnostic::unsupported(
            "cloudwatch",
            format!(
                "the list path '{}': a numeric step names a list element in Logs Insights",
                el.path
            ),
        ));
    }
    let mut full = base_path.clone();
    for (i, seg) in rel.iter().enumerate() {
        full.push(seg.clone());
        let last = i + 1 == rel.len();
        let k = kind(&full);
        if (!last && matches!(k, Some(Kind::List(_))))
            || (last && base_name.is_none() && always_scalar(&full.join(".")))
            || (last && k == Some(Kind::Object))
        {
            return Ok(None);
        }
    }
    let name = match &base_name {
        Some(b) => format!("{b}.{}", rel.join(".")),
        None if rel[0].starts_with('@') => format!("@{}", rel.join(".")),
        None => rel.join("."),
    };
    Ok(Some(ListTarget {
        path: FieldPath::new(full),
        name,
    }))
}

/// The fields whose presence tells that an element of `list` is there, when each copy of the body
/// must be guarded by it (None when it need not be).
fn guard_fields(
    el: &Elements,
    list: &FieldPath,
    every: bool,
) -> Result<Option<Vec<FieldPath>>, Diagnostic> {
    let object_elements = matches!(
        kind(list.segments()),
        Some(Kind::List(Elem::Object) | Kind::OneOrList(Elem::Object))
    );
    let mut fields = Vec::new();
    let nested = body_fields(&el.body, &mut fields);
    // Every element: an index past the end must pass, so each copy is guarded unless the
    // body already holds for an element without any of the fields it reads.
    // An index past the list's end reads as an element without fields. Where the body's
    // verdict on that differs from what the count needs there (false for "some", true for
    // "every"), each copy is guarded by the element being there.
    let holds_when_empty = crate::eval::matches(&el.body, &serde_json::json!({}))
        .map_err(|e| Diagnostic::new(Code::Unsupported, e))?;
    // An object element is no field: only a scalar element itself tells it is there.
    let itself = !object_elements && fields.iter().any(|f| f.segments().is_empty());
    fields.retain(|f| !f.segments().is_empty() || itself);
    if !itself && holds_when_empty == every {
        Ok(None)
    } else if nested {
        Err(Diagnostic::unsupported(
            "cloudwatch",
            format!("a condition on the elements of {list} that tests a list inside each element"),
        ))
    } else {
        Ok(Some(fields))
    }
}

/// The guard of one copy of the body, rendered in its element's scope (pushed on `cx`): some of
/// `fields` is present (the element is there) or, for every element, none is (past the end).
fn element_guard(
    cx: &mut RenderCx,
    fields: &[FieldPath],
    list: &FieldPath,
    every: bool,
) -> Result<String, Diagnostic> {
    let mut r = Renderer::new(cx, true)?;
    let mut present = Vec::new();
    for f in fields {
        if r.container(f).is_none() && r.reachable(f) {
            present.extend(r.field_names(f, false)?);
        }
    }
    if present.is_empty() {
        return Err(Diagnostic::unsupported(
            "cloudwatch",
            format!(
                "a condition on every element of {list} that reads no field Logs Insights can see"
            ),
        ));
    }
    if !fields.iter().any(|f| f.segments().is_empty()) {
        let shown: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        r.needs.note(format!(
            "an element of {list} without any of {} is taken to be past its end",
            shown.join(", ")
        ));
    }
    let present = present
        .iter()
        .map(|f| format!("ispresent({f})"))
        .collect::<Vec<_>>()
        .join(" or ");
    Ok(if every {
        format!("not ({present})")
    } else {
        present
    })
}

/// The copies of the body (one per element) joined as `el`'s count says: some passes (an OR),
/// exactly one passes, or every one passes (an AND, after the list is seen in `@message`).
fn join_copies(
    el: &Elements,
    copies: Vec<String>,
    cx: &mut RenderCx,
    indent: usize,
) -> Result<String, Diagnostic> {
    match el.count {
        Count::Some => Ok(join_group(&SYNTAX, false, copies, indent)),
        // Exactly one: one copy passes (guarded as for "some") and every other fails.
        Count::One => {
            let alts = (0..copies.len())
                .map(|i| {
                    let mut parts = vec![copies[i].clone()];
                    parts.extend(
                        copies
                            .iter()
                            .enumerate()
                            .filter(|(j, _)| *j != i)
                            .map(|(_, c)| negate(&SYNTAX, c)),
                    );
                    join_group(&SYNTAX, true, parts, indent + 1)
                })
                .collect();
            Ok(join_group(&SYNTAX, false, alts, indent))
        }
        Count::Every => {
            let mut r = Renderer::new(cx, true)?;
            let is_list = r.after_key(&FieldPath::new(el.path.segments().to_vec()), r"\[");
            let mut parts = vec![is_list];
            parts.extend(copies);
            Ok(join_group(&SYNTAX, true, parts, indent))
        }
    }
}
