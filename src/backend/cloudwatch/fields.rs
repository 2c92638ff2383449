//! The Logs Insights field names a path reaches from the renderer's scope (expanded over list
//! indices where a list is on the way, from the CloudTrail shape table in [`crate::cloudtrail`]).

use crate::cloudtrail::{kind, Elem, Kind};
use crate::diagnostic::Diagnostic;
use crate::ir::FieldPath;

use super::predicate::Renderer;
use super::quote::field_name;

/// The most field alternatives one predicate may expand to.
const MAX_ALTERNATIVES: usize = 200;

/// The note of a query that checks only elements `0..n` of `list`.
pub(super) fn list_note(list: &str, n: usize) -> String {
    format!(
        "{list} is a list: only its elements 0 to {} are checked (--array-max {n})",
        n - 1
    )
}

impl Renderer<'_> {
    /// The path from the event root (without element indices) and the Logs Insights name it
    /// starts from: an element's name inside a scope.
    pub(super) fn scope_base(&self) -> (Vec<String>, Option<String>) {
        match self.scope {
            Some(s) => (s.path.segments().to_vec(), Some(s.name.clone())),
            None => (Vec::new(), None),
        }
    }

    /// What CloudTrail holds at `path` (relative to the scope's element), if not a scalar.
    pub(super) fn container(&self, path: &FieldPath) -> Option<Kind> {
        let (mut full, _) = self.scope_base();
        if path.segments().is_empty() && self.scope.is_some() {
            // The element itself.
            return match kind(&full) {
                Some(Kind::List(Elem::Object) | Kind::OneOrList(Elem::Object)) => {
                    Some(Kind::Object)
                }
                _ => None,
            };
        }
        full.extend(path.segments().iter().cloned());
        kind(&full)
    }

    /// Is `path` the scope's element itself, an object by the list's known shape?
    pub(super) fn object_element(&self, path: &FieldPath) -> bool {
        self.scope.is_some() && path.segments().is_empty() && self.container(path).is_some()
    }

    /// Can Python's reading reach `path` (through objects only)? A list known on the way stops it.
    pub(super) fn reachable(&self, path: &FieldPath) -> bool {
        let (mut full, _) = self.scope_base();
        let segs = path.segments();
        for seg in segs.iter().take(segs.len().saturating_sub(1)) {
            full.push(seg.clone());
            if matches!(kind(&full), Some(Kind::List(_))) {
                return false;
            }
        }
        true
    }

    /// The Logs Insights names of the scalars a path reaches. Under Sigma's reading, lists known on
    /// the way (and, when `cross_end`, a list of scalars at the end) expand over indices `0..n`;
    /// under Python's, the path names one field, or none when it cannot reach a scalar.
    pub(super) fn field_names(
        &mut self,
        path: &FieldPath,
        cross_end: bool,
    ) -> Result<Vec<String>, Diagnostic> {
        let segs = path.segments();
        if segs.iter().any(String::is_empty) {
            return Err(Diagnostic::unsupported(
                "cloudwatch",
                format!("the field name '{path}' (an empty segment)"),
            ));
        }
        if self.container(path) == Some(Kind::Object) {
            // Always an object: no field holds it (callers look in @message instead).
            return Ok(Vec::new());
        }
        let (base_path, base_name) = self.scope_base();
        if self.exact {
            if segs.iter().any(|s| s.bytes().all(|b| b.is_ascii_digit())) {
                return Err(Diagnostic::unsupported(
                    "cloudwatch",
                    format!(
                        "the path '{path}' read through objects only: a numeric step names a list \
                         element in Logs Insights"
                    ),
                ));
            }
            // A list of scalars is no field, but where an event holds a scalar instead, its
            // plain name is one.
            let scalar_list = matches!(
                self.container(path),
                Some(Kind::List(Elem::Scalar) | Kind::OneOrList(Elem::Scalar))
            );
            if !self.reachable(path) || (self.container(path).is_some() && !scalar_list) {
                return Ok(Vec::new());
            }
            let name = match base_name {
                Some(b) if segs.is_empty() => b,
                Some(b) => format!("{b}.{}", segs.join(".")),
                // The event itself: an object.
                None if segs.is_empty() => return Ok(Vec::new()),
                None if segs[0].starts_with('@') => format!("@{}", segs.join(".")),
                None => segs.join("."),
            };
            return Ok(vec![field_name(&name)?]);
        }
        let mut out = vec![base_name.clone().unwrap_or_default()];
        let mut shape = base_path;
        for k in 0..segs.len() {
            for name in &mut out {
                if k == 0 && base_name.is_none() {
                    if segs[0].starts_with('@') {
                        // Logs Insights shows a discovered `@key` as `@@key`.
                        name.push('@');
                    }
                } else {
                    name.push('.');
                }
                name.push_str(&segs[k]);
            }
            shape.push(segs[k].clone());
            let last = k + 1 == segs.len();
            let (indexed, keep_plain) = match kind(&shape) {
                Some(Kind::List(e)) => (!last || (cross_end && e == Elem::Scalar), false),
                Some(Kind::OneOrList(e)) => (!last || (cross_end && e == Elem::Scalar), true),
                _ => (false, true),
            };
            if indexed {
                let list = shape.join(".");
                let n = self.array_max;
                self.needs.helpers.insert("lists");
                self.needs.note(list_note(&list, n));
                let mut next = Vec::with_capacity(out.len() * (n + 1));
                for name in &out {
                    if keep_plain {
                        next.push(name.clone());
                    }
                    for i in 0..n {
                        next.push(format!("{name}.{i}"));
                    }
                }
                out = next;
                if out.len() > MAX_ALTERNATIVES {
                    return Err(Diagnostic::unsupported(
                        "cloudwatch",
                        format!(
                            "'{path}' with --array-max {n} ({} field names; lower --array-max)",
                            out.len()
                        ),
                    ));
                }
            }
        }
        out.iter().map(|s| field_name(s)).collect()
    }

    /// A path as notes show it: from the event root, `[]` for the elements of a list.
    pub(super) fn shown_path(&self, path: &FieldPath) -> String {
        let mut segs: Vec<String> = match self.scope {
            Some(s) => vec![format!("{}[]", s.path)],
            None => Vec::new(),
        };
        segs.extend(path.segments().iter().cloned());
        segs.join(".")
    }
}
