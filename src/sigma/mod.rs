//! The Sigma front end: rule documents (spec v2.1, plus legacy `action:` collections) to [`Rule`]s.

pub mod condition;
pub mod detection;
pub mod filter;
pub mod meta;
pub mod modifier;

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Expr;
use crate::rule::{Detection, Format, Meta, Rule};
use crate::source::{SourceFile, Span};
use crate::yaml::{Document, Node, MAX_VALUES};
use condition::{Cond, Quantifier};

use std::cell::Cell;
use std::collections::HashMap;

use detection::{lower_detection, Context, MAX_IR_NODES};

/// Placeholder values for the `expand` modifier, by name.
pub type Placeholders = indexmap::IndexMap<String, Vec<String>>;

/// Convert every rule document of a Sigma file, with `placeholders` giving the values of each
/// `expand` placeholder (None: it has none). Legacy `action: global` documents are merged into
/// the documents after them, `action: reset` clears that, and `action: repeat` re-uses the previous
/// rule with changes.
pub fn load(
    file: &SourceFile,
    docs: &[Document],
    placeholders: &dyn Fn(&str) -> Option<Vec<String>>,
) -> Vec<Result<Rule, Diagnostic>> {
    let mut out = Vec::new();
    let mut global: Option<Node> = None;
    let mut previous: Option<Node> = None;
    // The last document with an `action`: plain rules after it are never repeated, so they need
    // no copy (asking "is there an action later?" per document was quadratic).
    let last_action = docs.iter().rposition(|d| d.node.get("action").is_some());
    let mut values_left: Option<usize> = None;
    // IR nodes the file's rules may still build (see detection::MAX_IR_NODES).
    let budget = Cell::new(MAX_IR_NODES);
    for (i, doc) in docs.iter().enumerate() {
        if filter::is_filter(&doc.node) {
            // A meta filter: read by filter::load, applied to the rules of the run.
            continue;
        }
        let action = doc.node.get("action").and_then(Node::as_str);
        if action.is_none() && global.is_none() {
            // The common case: a plain rule document, converted as it is.
            if last_action.is_some_and(|last| last > i) {
                previous = Some(doc.node.clone());
            }
            out.push(load_rule(file, doc, placeholders, &budget));
            continue;
        }
        let body = without_key(&doc.node, "action");
        let merged = match action {
            Some("global") => {
                global = Some(match global.take() {
                    Some(g) => merge(&g, &body),
                    None => body,
                });
                continue;
            }
            Some("reset") => {
                global = None;
                continue;
            }
            Some("repeat") => match &previous {
                Some(p) => merge(p, &body),
                None => {
                    out.push(Err(Diagnostic::new(
                        Code::NotARule,
                        "'action: repeat' with no rule before it",
                    )
                    .with_span(doc.keys.key(&["action"]).unwrap_or(Span::at(doc.start)))));
                    continue;
                }
            },
            Some(other) => {
                out.push(Err(Diagnostic::new(
                    Code::NotARule,
                    format!("unknown action '{other}'; expected global, reset or repeat"),
                )
                .with_span(doc.keys.key(&["action"]).unwrap_or(Span::at(doc.start)))));
                continue;
            }
            None => match &global {
                Some(g) => merge(g, &body),
                None => body,
            },
        };
        // Merging copies the global part into every document: that counts against the file's
        // value budget like an alias does.
        let left = values_left.get_or_insert_with(|| {
            MAX_VALUES.saturating_sub(docs.iter().map(|d| d.node.values()).sum())
        });
        let size = merged.values();
        if size > *left {
            out.push(Err(Diagnostic::new(
                Code::Yaml,
                format!(
                    "with 'action: global' merged in, the file amounts to more than {MAX_VALUES} values (the limit per file)"
                ),
            )
            .with_span(Span::at(doc.start))));
            continue;
        }
        *left -= size;
        previous = Some(merged.clone());
        let merged_doc = Document {
            node: merged,
            start: doc.start,
            keys: doc.keys.clone(),
        };
        out.push(load_rule(file, &merged_doc, placeholders, &budget));
    }
    out
}

fn without_key(node: &Node, key: &str) -> Node {
    match node {
        Node::Map(m) => Node::Map(m.iter().filter(|(k, _)| k != key).cloned().collect()),
        other => other.clone(),
    }
}

/// Deep-merge two mappings; `over` wins for everything but nested mappings. Keys are found by
/// hashing, so merging two large mappings is not quadratic.
fn merge(base: &Node, over: &Node) -> Node {
    match (base, over) {
        (Node::Map(b), Node::Map(o)) => {
            let mut out = b.clone();
            let mut at: std::collections::HashMap<&str, usize> = b
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.as_str(), i))
                .collect();
            for (k, v) in o {
                match at.get(k.as_str()) {
                    Some(&i) => {
                        let old = std::mem::replace(&mut out[i].1, Node::Null);
                        out[i].1 = merge(&old, v);
                    }
                    None => {
                        at.insert(k, out.len());
                        out.push((k.clone(), v.clone()));
                    }
                }
            }
            Node::Map(out)
        }
        (_, o) => o.clone(),
    }
}

fn load_rule(
    file: &SourceFile,
    doc: &Document,
    placeholders: &dyn Fn(&str) -> Option<Vec<String>>,
    budget: &Cell<usize>,
) -> Result<Rule, Diagnostic> {
    let at = |path: &[&str]| doc.keys.key(path).unwrap_or(Span::at(doc.start));
    let Node::Map(entries) = &doc.node else {
        return Err(Diagnostic::new(
            Code::NotARule,
            format!("not a Sigma rule: expected a mapping with title, logsource and detection, found {}", doc.node.kind()),
        )
        .with_span(Span::at(doc.start)));
    };
    if doc.node.get("correlation").is_some() {
        return crate::correlation::parse::load(doc);
    }
    for required in ["title", "logsource", "detection"] {
        if doc.node.get(required).is_none() {
            return Err(Diagnostic::new(
                Code::NotARule,
                format!("not a Sigma rule: the required key '{required}' is missing"),
            )
            .with_span(Span::at(doc.start)));
        }
    }
    let mut meta = Meta::default();
    let mut detection_node = None;
    for (key, value) in entries {
        if meta::read_key(&mut meta, key, value, at(&[key]))? {
            continue;
        }
        match key.as_str() {
            "detection" => detection_node = Some(value),
            _ => meta.custom.push((key.clone(), value.to_json())),
        }
    }
    let Some(Node::Map(det)) = detection_node else {
        return Err(Diagnostic::new(
            Code::NotARule,
            "'detection' must be a mapping of detections and a condition",
        )
        .with_span(at(&["detection"])));
    };
    let (detections, conditions, condition) =
        lower_section(file, doc, det, "detection", &[], placeholders, budget)?;
    Ok(Rule {
        format: Format::Sigma,
        meta,
        detections,
        condition_text: conditions,
        condition,
        span: Span::at(doc.start),
        logsource_span: at(&["logsource"]),
        raises: None,
        correlation: None,
    })
}

/// Lower a detection section (`detection:` of a rule, `filter:` of a meta filter): its named
/// detections, the condition as written, and the condition's meaning. Keys in `skip` are not
/// detections (a filter's `rules`).
fn lower_section(
    file: &SourceFile,
    doc: &Document,
    det: &[(String, Node)],
    root: &str,
    skip: &[&str],
    placeholders: &dyn Fn(&str) -> Option<Vec<String>>,
    budget: &Cell<usize>,
) -> Result<(Vec<Detection>, Vec<String>, Expr), Diagnostic> {
    let at = |path: &[&str]| doc.keys.key(path).unwrap_or(Span::at(doc.start));
    let roots = [root];
    let cx = Context {
        root: &roots,
        doc,
        placeholders,
        budget,
    };
    let mut detections = Vec::new();
    let mut condition_node = None;
    for (name, node) in det {
        match name.as_str() {
            "condition" => condition_node = Some(node),
            // Legacy aggregation window; meaningful only with the obsolete pipe syntax.
            "timeframe" => {}
            other if skip.contains(&other) => {}
            _ => detections.push(Detection {
                name: name.clone(),
                expr: lower_detection(&cx, name, node)?,
            }),
        }
    }
    let cond_span = at(&[root, "condition"]);
    let conditions: Vec<String> = match condition_node {
        None => {
            return Err(
                Diagnostic::new(Code::NotARule, "the detection has no 'condition'")
                    .with_span(at(&[root])),
            )
        }
        Some(Node::Str(s)) => vec![s.clone()],
        Some(Node::Seq(items)) if !items.is_empty() => {
            let mut v = Vec::new();
            for i in items {
                match i {
                    Node::Str(s) => v.push(s.clone()),
                    other => {
                        return Err(Diagnostic::new(
                            Code::NotARule,
                            format!(
                                "'condition' list items must be strings, found {}",
                                other.kind()
                            ),
                        )
                        .with_span(cond_span))
                    }
                }
            }
            v
        }
        Some(other) => {
            return Err(Diagnostic::new(
                Code::NotARule,
                format!(
                    "'condition' must be a string or a list of strings, found {}",
                    other.kind()
                ),
            )
            .with_span(cond_span))
        }
    };
    let base = if conditions.len() == 1 {
        condition_offset(file, doc, root, &conditions[0])
    } else {
        None
    };
    let shift = |s: Span| base.map_or(cond_span, |b| Span::new(b + s.start, b + s.end));
    // One resolver for every entry of a condition list: it sizes every detection once.
    let resolver = Resolver::new(&detections, budget, &shift);
    let mut alts = Vec::new();
    for c in &conditions {
        let parsed = condition::parse(c).map_err(|d| match d.location {
            Some(crate::diagnostic::Location::Span(s)) => Diagnostic {
                location: Some(crate::diagnostic::Location::Span(shift(s))),
                ..d
            },
            _ => d.or_span(cond_span),
        })?;
        resolver.charge(&parsed)?;
        alts.push(resolver.resolve(&parsed)?);
    }
    Ok((
        detections,
        conditions,
        crate::passes::lower_keeping_negations(&Expr::or(alts)),
    ))
}

/// Where the condition text starts in the file, when it is written on the key's line.
fn condition_offset(file: &SourceFile, doc: &Document, root: &str, cond: &str) -> Option<usize> {
    let off = doc.keys.value_offset(&[root, "condition"])?;
    let rest = file.text.get(off..)?;
    if rest.starts_with(cond) {
        return Some(off);
    }
    let q = rest.chars().next()?;
    if (q == '\'' || q == '"') && rest[1..].starts_with(cond) {
        return Some(off + 1);
    }
    None
}

/// Turns a parsed condition into IR: each detection named (or selected by a pattern) is copied
/// in. The copies are charged to the file's IR budget first ([`Resolver::charge`]), so a short
/// condition cannot multiply a large detection without bound.
struct Resolver<'a> {
    dets: &'a [Detection],
    /// Detection index by name, when there are many (else a scan is cheaper).
    by_name: Option<HashMap<&'a str, usize>>,
    /// Each detection's size in IR nodes.
    sizes: Vec<usize>,
    budget: &'a Cell<usize>,
    shift: &'a dyn Fn(Span) -> Span,
}

impl<'a> Resolver<'a> {
    fn new(
        dets: &'a [Detection],
        budget: &'a Cell<usize>,
        shift: &'a dyn Fn(Span) -> Span,
    ) -> Self {
        Resolver {
            dets,
            by_name: (dets.len() > 16).then(|| {
                dets.iter()
                    .enumerate()
                    .map(|(i, d)| (d.name.as_str(), i))
                    .collect()
            }),
            sizes: dets.iter().map(|d| ir_size(&d.expr)).collect(),
            budget,
            shift,
        }
    }

    /// Charge the copies `c` will make to the budget, before any is made: the error points at
    /// the first use of a detection that goes over.
    fn charge(&self, c: &Cond) -> Result<(), Diagnostic> {
        let mut total = 0usize;
        self.cost(c, &mut total)?;
        detection::charge(self.budget, total).map_err(|()| self.too_large(Span::default()))
    }

    fn cost(&self, c: &Cond, total: &mut usize) -> Result<(), Diagnostic> {
        let mut add = |i: usize, span: Span| {
            *total = total.saturating_add(self.sizes[i]);
            if *total > self.budget.get() {
                Err(self.too_large(span))
            } else {
                Ok(())
            }
        };
        match c {
            Cond::Or(xs) | Cond::And(xs) => {
                for x in xs {
                    self.cost(x, total)?;
                }
            }
            Cond::Not(x) => self.cost(x, total)?,
            Cond::Ident(name, span) => {
                if let Some(i) = self.index(name) {
                    add(i, *span)?;
                }
            }
            Cond::Selector { pattern, span, .. } => {
                for (i, d) in self.dets.iter().enumerate() {
                    if selector_matches(pattern.as_deref(), &d.name) {
                        add(i, *span)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn index(&self, name: &str) -> Option<usize> {
        match &self.by_name {
            Some(m) => m.get(name).copied(),
            None => self.dets.iter().position(|d| d.name == name),
        }
    }

    fn too_large(&self, span: Span) -> Diagnostic {
        Diagnostic::new(
            Code::ConditionDepth,
            format!(
                "the condition expands to more than {MAX_IR_NODES} IR nodes (the limit per file; each use of a detection copies it)"
            ),
        )
        .with_span((self.shift)(span))
    }

    fn resolve(&self, c: &Cond) -> Result<Expr, Diagnostic> {
        Ok(match c {
            Cond::Or(xs) => Expr::or(
                xs.iter()
                    .map(|x| self.resolve(x))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::And(xs) => Expr::and(
                xs.iter()
                    .map(|x| self.resolve(x))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Not(x) => Expr::not(self.resolve(x)?),
            Cond::Ident(name, span) => match self.index(name) {
                Some(i) => self.dets[i].expr.clone(),
                None => {
                    let known: Vec<&str> = self.dets.iter().map(|d| d.name.as_str()).collect();
                    return Err(Diagnostic::new(
                        Code::UnknownIdentifier,
                        format!(
                            "unknown detection '{name}' in condition; expected one of: {}",
                            known.join(", ")
                        ),
                    )
                    .with_span((self.shift)(*span)));
                }
            },
            Cond::Selector {
                quantifier,
                pattern,
                span,
            } => {
                let matched: Vec<Expr> = self
                    .dets
                    .iter()
                    .filter(|d| selector_matches(pattern.as_deref(), &d.name))
                    .map(|d| d.expr.clone())
                    .collect();
                if matched.is_empty() {
                    return Err(Diagnostic::new(
                        Code::EmptySelector,
                        format!(
                            "'{}' matches no detection",
                            pattern.as_deref().unwrap_or("them")
                        ),
                    )
                    .with_span((self.shift)(*span)));
                }
                match quantifier {
                    Quantifier::One => Expr::or(matched),
                    Quantifier::All => Expr::and(matched),
                }
            }
        })
    }
}

/// The number of IR nodes in `e` (what [`MAX_IR_NODES`] counts).
fn ir_size(e: &Expr) -> usize {
    match e {
        Expr::And(xs) | Expr::Or(xs) => 1 + xs.iter().map(ir_size).sum::<usize>(),
        Expr::Not(x) => 1 + ir_size(x),
        Expr::Elements(el) => 1 + ir_size(&el.body),
        Expr::Const(_) | Expr::Pred(_) => 1,
    }
}

/// `them` and patterns not starting with `_` skip detections whose name starts with `_`.
pub(crate) fn selector_matches(pattern: Option<&str>, name: &str) -> bool {
    match pattern {
        None => !name.starts_with('_'),
        Some(p) => (p.starts_with('_') || !name.starts_with('_')) && glob(p, name),
    }
}

/// `*`-only glob over the whole name, in O(pattern × name) time at worst: literal bytes match
/// greedily and, on a mismatch, only the most recent `*` takes one more byte. (Retrying earlier
/// stars cannot help: whatever they would absorb, the last one can.) Bytes, not characters: the
/// literal parts are whole UTF-8 sequences, so a match never splits a character.
fn glob(p: &str, s: &str) -> bool {
    let (p, s) = (p.as_bytes(), s.as_bytes());
    let (mut pi, mut si) = (0, 0);
    // (pattern index after the last `*`, name index that star's match ends at)
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                pi += 1;
                star = Some((pi, si));
            }
            Some(&c) if c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match star {
                Some((after, end)) => {
                    pi = after;
                    si = end + 1;
                    star = Some((after, end + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("sel_*", "sel_a"));
        assert!(glob("*", "x"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b", "ab_"));
        assert!(selector_matches(None, "sel"));
        assert!(!selector_matches(None, "_sel"));
        assert!(!selector_matches(Some("*"), "_sel"));
        assert!(selector_matches(Some("_s*"), "_sel"));
        assert!(glob("*a*", "bab"));
        assert!(glob("a**b", "ab"));
        assert!(glob("**", ""));
        assert!(!glob("a*", ""));
        assert!(glob("*é*", "café_x"));
        assert!(!glob("sel_*_x", "sel_a_y"));
        assert!(glob("*_x*_y", "a_xb_x_y"));
    }

    /// Many stars are linear: the old recursive matcher took minutes here (x1.7 per star).
    #[test]
    fn many_stars_do_not_backtrack_exponentially() {
        let pattern = format!("{}x", "*".repeat(40));
        assert!(!glob(&pattern, "selection_with_a_long_name_and_no_match"));
        assert!(glob(&pattern, "selection_with_a_long_name_ending_in_x"));
    }

    /// The matcher agrees with a plain dynamic-programming reference on small cases.
    #[test]
    fn glob_agrees_with_reference() {
        fn reference(p: &[u8], s: &[u8]) -> bool {
            let mut m = vec![vec![false; s.len() + 1]; p.len() + 1];
            m[0][0] = true;
            for i in 1..=p.len() {
                for j in 0..=s.len() {
                    m[i][j] = if p[i - 1] == b'*' {
                        m[i - 1][j] || (j > 0 && m[i][j - 1])
                    } else {
                        j > 0 && m[i - 1][j - 1] && p[i - 1] == s[j - 1]
                    };
                }
            }
            m[p.len()][s.len()]
        }
        let alphabet = [b'a', b'b', b'*'];
        let mut seed = 7u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        for _ in 0..5000 {
            let p: String = (0..next(7)).map(|_| alphabet[next(3)] as char).collect();
            let s: String = (0..next(7)).map(|_| alphabet[next(2)] as char).collect();
            assert_eq!(
                glob(&p, &s),
                reference(p.as_bytes(), s.as_bytes()),
                "{p} vs {s}"
            );
        }
    }
}
