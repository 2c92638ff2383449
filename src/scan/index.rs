//! The rule index of `scan`: which rules an event can match, by its `eventName` and
//! `eventSource`.
//!
//! Most CloudTrail rules require one of a few event names (or sources). [`required`] reads that
//! requirement off a rule's condition, conservatively: only literal equality tests in positive
//! position count (`eventName: X`, `eventName|cased: X`, Panther `== "X"`), keyed
//! ASCII-lowercased as the case-insensitive tests compare. A rule with no such requirement is
//! tested against every event; an event whose `eventName` is not a string (an array, a number)
//! is tested against every rule. So the index only ever skips rules that cannot match: scanning
//! with it gives exactly the alerts of scanning without it (a test checks both).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::ir::{Expr, Part, Subject, Test};

/// The fields the index knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    EventName,
    EventSource,
}

impl Key {
    fn field(self) -> &'static str {
        match self {
            Key::EventName => "eventName",
            Key::EventSource => "eventSource",
        }
    }
}

/// The values (ASCII-lowercased) one of which `key` must equal for `e` to hold; None when `e`
/// does not require it.
pub fn required(e: &Expr, key: Key) -> Option<BTreeSet<String>> {
    required_at(e, &[key.field().to_owned()])
}

/// The field (its path) and the values (ASCII-lowercased) one of which some value of it must
/// equal for `e` to hold, when `e` requires such a field: the requirement with the fewest values,
/// the first of them on a tie; None when it requires none. What a bundle guards a rule with when
/// it requires no `eventName` or `eventSource`.
pub fn requirement(e: &Expr) -> Option<(Vec<String>, BTreeSet<String>)> {
    let mut best: Option<(Vec<String>, BTreeSet<String>)> = None;
    let mut tried: Vec<&[String]> = Vec::new();
    for p in e.predicates() {
        let Subject::Field(path) = &p.subject else {
            continue;
        };
        if tried.contains(&path.segments()) {
            continue;
        }
        tried.push(path.segments());
        if let Some(values) = required_at(e, path.segments()) {
            if best.as_ref().is_none_or(|(_, b)| values.len() < b.len()) {
                best = Some((path.segments().to_vec(), values));
            }
        }
    }
    best
}

/// The values (ASCII-lowercased) one of which the field at `path` must equal for `e` to hold.
fn required_at(e: &Expr, want: &[String]) -> Option<BTreeSet<String>> {
    match e {
        Expr::Pred(p) => {
            let Subject::Field(path) = &p.subject else {
                return None;
            };
            if path.segments() != want {
                return None;
            }
            let literal = match &p.test {
                Test::Text { pattern, .. } | Test::Str { pattern, .. } => literal(&pattern.0)?,
                Test::Is(Value::String(s)) => s.clone(),
                _ => return None,
            };
            Some(BTreeSet::from([literal.to_ascii_lowercase()]))
        }
        // Any one conjunct's requirement is the whole's: the smallest is the sharpest.
        Expr::And(xs) => xs
            .iter()
            .filter_map(|x| required_at(x, want))
            .min_by_key(BTreeSet::len),
        // Every disjunct must require it; the whole requires one of their values.
        Expr::Or(xs) => {
            let mut all = BTreeSet::new();
            for x in xs {
                all.extend(required_at(x, want)?);
            }
            Some(all)
        }
        Expr::Const(false) => Some(BTreeSet::new()),
        Expr::Not(_) | Expr::Const(true) | Expr::Elements(_) => None,
    }
}

/// The text of a pattern without wildcards.
fn literal(parts: &[Part]) -> Option<String> {
    let mut s = String::new();
    for p in parts {
        match p {
            Part::Lit(t) => s.push_str(t),
            Part::AnyRun | Part::OneChar => return None,
        }
    }
    Some(s)
}

/// Rules (by their number in the run) by the value they require.
#[derive(Debug, Default)]
pub struct Index {
    by_name: HashMap<String, Vec<usize>>,
    by_source: HashMap<String, Vec<usize>>,
    /// Rules indexed under each key (tested against every event whose value is not a string).
    named: Vec<usize>,
    sourced: Vec<usize>,
    /// Rules with no requirement: tested against every event.
    always: Vec<usize>,
}

impl Index {
    /// Index `conditions` (the rules of the run, in order); with `enabled` false every rule is
    /// tested against every event.
    pub fn new<'e>(conditions: impl IntoIterator<Item = &'e Expr>, enabled: bool) -> Index {
        let mut ix = Index::default();
        for (i, e) in conditions.into_iter().enumerate() {
            let (key, values) = match (
                enabled.then(|| required(e, Key::EventName)).flatten(),
                enabled.then(|| required(e, Key::EventSource)).flatten(),
            ) {
                (Some(v), _) => (Key::EventName, v),
                (None, Some(v)) => (Key::EventSource, v),
                (None, None) => {
                    ix.always.push(i);
                    continue;
                }
            };
            let (map, all) = match key {
                Key::EventName => (&mut ix.by_name, &mut ix.named),
                Key::EventSource => (&mut ix.by_source, &mut ix.sourced),
            };
            all.push(i);
            for v in values {
                map.entry(v).or_default().push(i);
            }
        }
        ix
    }

    /// The rules `event` can match, in rule order, into `out` (cleared first).
    pub fn candidates(&self, event: &Value, out: &mut Vec<usize>) {
        out.clear();
        out.extend_from_slice(&self.always);
        let mut add = |field: &str, map: &HashMap<String, Vec<usize>>, all: &[usize]| {
            match event.get(field) {
                // Absent or null: no equality test on it can hold.
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => {
                    if let Some(rules) = map.get(&s.to_ascii_lowercase()) {
                        out.extend_from_slice(rules);
                    }
                }
                Some(_) => out.extend_from_slice(all),
            }
        };
        add("eventName", &self.by_name, &self.named);
        add("eventSource", &self.by_source, &self.sourced);
        out.sort_unstable();
        out.dedup();
    }

    /// How many rules are indexed (not tested against every event).
    pub fn indexed(&self) -> usize {
        self.named.len() + self.sourced.len()
    }
}
