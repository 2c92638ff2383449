//! Tidying the conditions the Panther front ends build: Python's semantics are spelled out with
//! explicit guards ("is present", "is a string", "raises unless..."), most of which other tests on
//! the same field already imply. This removes what is implied, using only facts that hold for
//! exact (`deep_get`) reads, so the meaning never changes.

use std::collections::HashMap;

use crate::ir::{Expr, FieldPath, JsonType, Predicate, Quantifier, Subject, Test};

/// What is known about one exact field.
#[derive(Debug, Clone, Default)]
struct Fact {
    /// Some(true): present and not null; Some(false): absent or null.
    present: Option<bool>,
    /// The possible types when present (None: any).
    types: Option<Vec<JsonType>>,
    /// Predicates known true / false.
    yes: Vec<Test>,
    no: Vec<Test>,
}

/// What is known: facts per exact field, and whole conditions known to hold or to fail (so that
/// a repeated compound condition, such as a membership test, is decided as a unit).
#[derive(Debug, Clone, Default)]
struct Facts {
    fields: HashMap<FieldPath, Fact>,
    holds: Vec<Expr>,
    fails: Vec<Expr>,
}

impl Facts {
    fn entry(&mut self, path: FieldPath) -> std::collections::hash_map::Entry<'_, FieldPath, Fact> {
        self.fields.entry(path)
    }

    fn get(&self, path: &FieldPath) -> Option<&Fact> {
        self.fields.get(path)
    }
}

fn field(p: &Predicate) -> Option<&FieldPath> {
    match (&p.subject, p.quantifier) {
        (Subject::Field(f), Quantifier::Exact) => Some(f),
        _ => None,
    }
}

/// The types a present value must have for the test to hold; None when any type can pass.
fn types_for(t: &Test) -> Option<Vec<JsonType>> {
    use JsonType::*;
    match t {
        Test::Str { .. } | Test::Cidr(_) => Some(vec![String]),
        Test::Type(t) => Some(vec![*t]),
        Test::HasKey(_) => Some(vec![Object]),
        Test::Is(serde_json::Value::String(_)) => Some(vec![String]),
        Test::Is(serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => {
            Some(vec![Number, Boolean])
        }
        _ => None,
    }
}

/// Does the test hold only on a present, non-null value?
fn needs_presence(t: &Test) -> bool {
    !matches!(t, Test::Null | Test::Is(serde_json::Value::Null))
}

fn learn(e: &Expr, positive: bool, facts: &mut Facts) {
    if !matches!(e, Expr::Const(_) | Expr::Not(_)) {
        let known = if positive {
            &mut facts.holds
        } else {
            &mut facts.fails
        };
        if !known.contains(e) {
            known.push(e.clone());
        }
    }
    match e {
        Expr::Pred(p) => {
            let Some(f) = field(p) else { return };
            let fact = facts.entry(f.clone()).or_default();
            if positive {
                fact.yes.push(p.test.clone());
                match &p.test {
                    Test::Null => fact.present = Some(false),
                    t if needs_presence(t) => {
                        fact.present = Some(true);
                        // A value reached through objects only: every step before it is an object.
                        let segs = f.segments();
                        for n in 0..segs.len() {
                            let parent = facts.entry(FieldPath(segs[..n].to_vec())).or_default();
                            parent.present = Some(true);
                            parent.types = Some(vec![JsonType::Object]);
                        }
                        let fact = facts.entry(f.clone()).or_default();
                        fact.present = Some(true);
                        if let Some(ts) = types_for(t) {
                            fact.types = Some(match &fact.types {
                                Some(old) => {
                                    old.iter().copied().filter(|x| ts.contains(x)).collect()
                                }
                                None => ts,
                            });
                        }
                    }
                    _ => {}
                }
            } else {
                fact.no.push(p.test.clone());
                match &p.test {
                    Test::Null => fact.present = Some(true),
                    Test::Exists => fact.present = Some(false),
                    _ => {}
                }
            }
        }
        Expr::Not(x) => learn(x, !positive, facts),
        Expr::And(xs) if positive => xs.iter().for_each(|x| learn(x, true, facts)),
        Expr::Or(xs) if !positive => xs.iter().for_each(|x| learn(x, false, facts)),
        Expr::Or(xs) | Expr::And(xs) => {
            // Some alternative holds: what every alternative says about presence and types.
            let mut each = xs.iter().map(|x| {
                let mut f = Facts::default();
                learn(x, positive, &mut f);
                f
            });
            let Some(first) = each.next() else { return };
            let rest: Vec<Facts> = each.collect();
            for (path, f0) in first.fields {
                if f0.present != Some(true) {
                    continue;
                }
                let all = rest
                    .iter()
                    .all(|f| f.get(&path).is_some_and(|x| x.present == Some(true)));
                if all {
                    let mut types = f0.types.clone();
                    for f in &rest {
                        let t = f.get(&path).and_then(|x| x.types.clone());
                        types = match (types, t) {
                            (Some(mut a), Some(b)) => {
                                a.extend(
                                    b.into_iter().filter(|x| !a.contains(x)).collect::<Vec<_>>(),
                                );
                                Some(a)
                            }
                            _ => None,
                        };
                    }
                    let fact = facts.entry(path).or_default();
                    fact.present = Some(true);
                    if fact.types.is_none() {
                        fact.types = types;
                    }
                }
            }
        }
        _ => {}
    }
}

/// The truth of a predicate under the facts, when they decide it.
fn decide(p: &Predicate, facts: &Facts) -> Option<bool> {
    if let (Test::HasKey(k), Some(f)) = (&p.test, field(p)) {
        let mut child = f.segments().to_vec();
        child.push(k.clone());
        if facts
            .get(&FieldPath(child))
            .is_some_and(|c| c.present == Some(true))
        {
            return Some(true);
        }
    }
    let fact = facts.get(field(p)?)?;
    if fact.yes.contains(&p.test) {
        return Some(true);
    }
    if fact.no.contains(&p.test) {
        return Some(false);
    }
    if let (Test::HasKey(k), Some(f)) = (&p.test, field(p)) {
        let mut child = f.segments().to_vec();
        child.push(k.clone());
        if facts
            .get(&FieldPath(child))
            .is_some_and(|c| c.present == Some(true))
        {
            return Some(true);
        }
    }
    match &p.test {
        Test::Exists => fact.present,
        Test::Null => fact.present.map(|b| !b),
        t => {
            if fact.present == Some(false) && needs_presence(t) {
                return Some(false);
            }
            let have = fact.types.as_ref()?;
            match (t, types_for(t)) {
                (Test::Type(want), _) if fact.present == Some(true) && have == &vec![*want] => {
                    Some(true)
                }
                (_, Some(need)) if !have.iter().any(|h| need.contains(h)) => Some(false),
                _ => None,
            }
        }
    }
}

fn rebuild(e: &Expr, facts: &Facts) -> Expr {
    if facts.holds.contains(e) {
        return Expr::Const(true);
    }
    if facts.fails.contains(e) {
        return Expr::Const(false);
    }
    match e {
        Expr::Pred(p) => match decide(p, facts) {
            Some(b) => Expr::Const(b),
            None => e.clone(),
        },
        Expr::Not(x) => Expr::not(rebuild(x, facts)),
        Expr::And(xs) => {
            // Each conjunct under the facts of those before it, then drop the ones the others imply.
            let mut facts = facts.clone();
            let mut out = Vec::with_capacity(xs.len());
            for x in xs {
                let y = rebuild(x, &facts);
                learn(&y, true, &mut facts);
                out.push(y);
            }
            let mut out = match Expr::and(out) {
                Expr::And(v) => v,
                other => return other,
            };
            if out.iter().any(|x| out.contains(&Expr::not(x.clone()))) {
                return Expr::Const(false);
            }
            let mut i = 0;
            while i < out.len() {
                let mut others = Facts::default();
                for (j, y) in out.iter().enumerate() {
                    if j != i {
                        learn(y, true, &mut others);
                    }
                }
                match rebuild(&out[i], &others) {
                    Expr::Const(true) => {
                        out.remove(i);
                    }
                    // The others imply this conjunct is false: so is the conjunction.
                    Expr::Const(false) => return Expr::Const(false),
                    _ => i += 1,
                }
            }
            dedup(Expr::and(out))
        }
        Expr::Or(xs) => {
            // Each disjunct under the negation of those before it.
            let facts_base = facts.clone();
            let mut facts = facts.clone();
            let mut out = Vec::with_capacity(xs.len());
            for x in xs {
                let y = rebuild(x, &facts);
                learn(&y, false, &mut facts);
                out.push(y);
            }
            // Then each under the negation of those after it (A ∨ B = (A given ¬B) ∨ B).
            let mut out = match Expr::or(out) {
                Expr::Or(v) => v,
                other => return other,
            };
            for i in (0..out.len()).rev() {
                let mut later = facts_base.clone();
                for y in &out[i + 1..] {
                    learn(y, false, &mut later);
                }
                out[i] = rebuild(&out[i], &later);
            }
            if out.iter().any(|x| out.contains(&Expr::not(x.clone()))) {
                return Expr::Const(true);
            }
            dedup(Expr::or(out))
        }
        Expr::Const(_) => e.clone(),
        Expr::Elements(el) => {
            let body = simplify(&el.body);
            let mut el = el.clone();
            el.body = Box::new(body);
            Expr::Elements(el)
        }
    }
}

fn dedup(e: Expr) -> Expr {
    let and = matches!(e, Expr::And(_));
    match e {
        Expr::And(xs) | Expr::Or(xs) if xs.len() > 1 => {
            let mut seen: Vec<Expr> = Vec::new();
            for x in xs {
                if !seen.contains(&x) {
                    seen.push(x);
                }
            }
            if and {
                Expr::and(seen)
            } else {
                Expr::or(seen)
            }
        }
        other => other,
    }
}

/// The same condition without the guards its other tests imply; `¬Exists` reads as `Null`.
pub fn simplify(e: &Expr) -> Expr {
    let mut cur = e.clone();
    for _ in 0..4 {
        let next = factor(&normalise(&rebuild(&cur, &Facts::default())));
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

/// `not exists(f)` is `null(f)` and `not null(f)` is `exists(f)` for exact reads.
fn normalise(e: &Expr) -> Expr {
    match e {
        Expr::Not(x) => match x.as_ref() {
            Expr::Pred(p) if field(p).is_some() && matches!(p.test, Test::Exists | Test::Null) => {
                let test = if p.test == Test::Exists {
                    Test::Null
                } else {
                    Test::Exists
                };
                Expr::Pred(Predicate { test, ..p.clone() })
            }
            // `not (a or b)` is `not a and not b`: the early `return False` guards of a rule
            // become top-level conjuncts (exclusions, and the action filter the catalog sees).
            Expr::Or(xs) => Expr::and(
                xs.iter()
                    .map(|x| normalise(&Expr::not(x.clone())))
                    .collect(),
            ),
            other => Expr::not(normalise(other)),
        },
        Expr::And(xs) => Expr::and(xs.iter().map(normalise).collect()),
        Expr::Or(xs) => Expr::or(xs.iter().map(normalise).collect()),
        Expr::Elements(el) => {
            let mut el = el.clone();
            el.body = Box::new(normalise(&el.body));
            Expr::Elements(el)
        }
        other => other.clone(),
    }
}

/// `not (c and a) and not (c and b)` is `not (c and (a or b))`: the "raises" conditions Python's
/// value semantics attach to each alternative share their conjuncts, written once instead.
fn factor(e: &Expr) -> Expr {
    match e {
        Expr::And(xs) => {
            let mut xs: Vec<Expr> = xs.iter().map(factor).collect();
            while let Some(next) = factor_once(&xs) {
                xs = next;
            }
            Expr::and(xs)
        }
        Expr::Or(xs) => Expr::or(xs.iter().map(factor).collect()),
        Expr::Not(x) => Expr::not(factor(x)),
        Expr::Elements(el) => {
            let mut el = el.clone();
            el.body = Box::new(factor(&el.body));
            Expr::Elements(el)
        }
        other => other.clone(),
    }
}

/// One factoring step over the conjuncts of an And, if two negated conjunctions share a conjunct.
fn factor_once(xs: &[Expr]) -> Option<Vec<Expr>> {
    let negated: Vec<(usize, &Vec<Expr>)> = xs
        .iter()
        .enumerate()
        .filter_map(|(i, x)| match x {
            Expr::Not(inner) => match inner.as_ref() {
                Expr::And(ys) => Some((i, ys)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    // The conjunct shared by the most negated conjunctions (the first such, for determinism).
    let mut best: Vec<(usize, &Vec<Expr>)> = Vec::new();
    for (_, ys) in &negated {
        for c in ys.iter() {
            let group: Vec<(usize, &Vec<Expr>)> = negated
                .iter()
                .filter(|(_, zs)| zs.contains(c))
                .copied()
                .collect();
            if group.len() >= 2 && group.len() > best.len() {
                best = group;
            }
        }
    }
    let (first, _) = *best.first()?;
    let common: Vec<Expr> = best[0]
        .1
        .iter()
        .filter(|c| best.iter().all(|(_, ys)| ys.contains(c)))
        .cloned()
        .collect();
    let rests: Vec<Expr> = best
        .iter()
        .map(|(_, ys)| Expr::and(ys.iter().filter(|y| !common.contains(y)).cloned().collect()))
        .collect();
    let mut merged = common;
    merged.push(Expr::or(rests));
    let mut out = Vec::with_capacity(xs.len());
    for (i, x) in xs.iter().enumerate() {
        if i == first {
            out.push(Expr::not(Expr::and(std::mem::take(&mut merged))));
        } else if !best.iter().any(|(j, _)| *j == i) {
            out.push(x.clone());
        }
    }
    Some(out)
}
