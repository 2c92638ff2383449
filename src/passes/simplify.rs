//! Tidying the conditions the Panther front ends build: Python's semantics are spelled out with
//! explicit guards ("is present", "is a string", "raises unless..."), most of which other tests on
//! the same field already imply. This removes what is implied, using only facts that hold for
//! exact (`deep_get`) reads, so the meaning never changes.
//!
//! The cost is bounded, so that a huge or deeply nested condition (a long Python `elif` chain,
//! membership in a 20,000-element list) simplifies in about linear time: what is known is looked
//! up by hash; the second look at each part of an `and`/`or` (under what its siblings imply)
//! takes no second looks inside and rebuilds only [`SECOND_LOOK_DEPTH`] levels; alternatives
//! inside alternatives teach nothing past [`ALTERNATIVE_DEPTH`]; only conditions up to
//! [`REMEMBER_NODES`] are remembered whole. And all of it draws on a [`Work`] budget: once that
//! is spent the rest is kept as it is, less simplified but never wrong.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use crate::ir::{Expr, FieldPath, JsonType, Predicate, Quantifier, Subject, Test};

/// A fast hasher for [`Fingerprint`]s (the multiply-rotate step of rustc's FxHasher).
struct Fx(u64);

impl Fx {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(b));
        }
        self.add(bytes.len() as u64);
    }

    fn write_u64(&mut self, x: u64) {
        self.add(x);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::fmt::Write for Fx {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.write(s.as_bytes());
        Ok(())
    }
}

/// A hash that equal values share, for looking a value up in a [`Set`].
trait Fingerprint: PartialEq {
    fn fingerprint(&self) -> u64;
}

/// How many nodes of a condition its fingerprint reads (the first ones, depth first): a lookup
/// costs the same for a condition of any size.
const FINGERPRINT_NODES: usize = 24;

impl Fingerprint for Test {
    fn fingerprint(&self) -> u64 {
        let mut h = Fx(0);
        hash_test(self, &mut h);
        h.finish()
    }
}

impl Fingerprint for Expr {
    fn fingerprint(&self) -> u64 {
        walk_fingerprint(false, self)
    }
}

/// The fingerprint of `Not(e)` when `not` (which [`Expr::not`] makes of a condition that is not
/// itself a negation or a constant), of `e` otherwise.
fn walk_fingerprint(not: bool, e: &Expr) -> u64 {
    let mut h = Fx(1);
    let mut n = 0;
    if not {
        std::mem::discriminant(&Expr::Not(Box::new(Expr::Const(true)))).hash(&mut h);
        n += 1;
    }
    let mut todo = vec![e];
    while let Some(e) = todo.pop() {
        n += 1;
        if n > FINGERPRINT_NODES {
            break;
        }
        std::mem::discriminant(e).hash(&mut h);
        match e {
            Expr::And(xs) | Expr::Or(xs) => {
                h.write_u64(xs.len() as u64);
                todo.extend(xs.iter().rev());
            }
            Expr::Not(x) => todo.push(x),
            Expr::Const(b) => b.hash(&mut h),
            Expr::Pred(p) => {
                std::mem::discriminant(&p.quantifier).hash(&mut h);
                match &p.subject {
                    Subject::Field(f) => f.hash(&mut h),
                    Subject::Anywhere => h.write_u64(0),
                }
                hash_test(&p.test, &mut h);
            }
            Expr::Elements(el) => {
                el.path.hash(&mut h);
                todo.push(&el.body);
            }
        }
    }
    h.finish()
}

/// The fingerprint of [`Expr::not`] of `e`, without building it.
fn negation_fingerprint(e: &Expr) -> u64 {
    match e {
        Expr::Not(x) => x.fingerprint(),
        Expr::Const(b) => Expr::Const(!b).fingerprint(),
        other => walk_fingerprint(true, other),
    }
}

/// `a` is [`Expr::not`] of `b`.
fn is_negation(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (a, Expr::Not(x)) => a == x.as_ref(),
        (Expr::Const(x), Expr::Const(y)) => x != y,
        (Expr::Not(x), b) => x.as_ref() == b,
        _ => false,
    }
}

/// Hash a test: its kind and the values that tell tests of a kind apart.
fn hash_test(t: &Test, h: &mut Fx) {
    std::mem::discriminant(t).hash(h);
    match t {
        Test::Is(v) => match v {
            serde_json::Value::String(s) => s.hash(h),
            serde_json::Value::Bool(b) => b.hash(h),
            serde_json::Value::Number(n) => hash_number(n.as_f64(), h),
            _ => {}
        },
        Test::Compare { op, value } => {
            op.symbol().hash(h);
            hash_number(Some(value.value), h);
        }
        Test::HasKey(k) => k.hash(h),
        Test::Type(t) => t.jq_name().hash(h),
        Test::Null | Test::Exists | Test::Truthy => {}
        // Patterns, regexes, networks, field references: by their debug text.
        other => {
            let _ = std::fmt::write(h, format_args!("{other:?}"));
        }
    }
}

/// Hash a number by its value (`-0.0` as `0.0`, which equals it).
fn hash_number(n: Option<f64>, h: &mut Fx) {
    if let Some(n) = n {
        h.write_u64(if n == 0.0 { 0 } else { n.to_bits() });
    }
}

/// A set of tests or conditions, looked up by [`Fingerprint`]; cheap to clone (no allocation per
/// member).
#[derive(Debug, Clone)]
struct Set<T> {
    items: HashMap<u64, Bucket<T>>,
}

/// The members of a [`Set`] that share a fingerprint: almost always one.
#[derive(Debug, Clone)]
enum Bucket<T> {
    One(Rc<T>),
    Many(Vec<Rc<T>>),
}

impl<T: PartialEq> Bucket<T> {
    fn contains(&self, x: &T) -> bool {
        match self {
            Bucket::One(y) => **y == *x,
            Bucket::Many(ys) => ys.iter().any(|y| **y == *x),
        }
    }
}

impl<T> Default for Set<T> {
    fn default() -> Self {
        Set {
            items: HashMap::new(),
        }
    }
}

impl<T: Fingerprint> Set<T> {
    fn contains(&self, x: &T) -> bool {
        !self.items.is_empty()
            && self
                .items
                .get(&x.fingerprint())
                .is_some_and(|b| b.contains(x))
    }

    /// Add `x` (made by `make` only when it is not in the set yet).
    fn insert_with(&mut self, x: &T, make: impl FnOnce() -> T) {
        match self.items.entry(x.fingerprint()) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(Bucket::One(Rc::new(make())));
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                if o.get().contains(x) {
                    return;
                }
                let new = Rc::new(make());
                let b = o.get_mut();
                *b = match std::mem::replace(b, Bucket::Many(Vec::new())) {
                    Bucket::One(y) => Bucket::Many(vec![y, new]),
                    Bucket::Many(mut ys) => {
                        ys.push(new);
                        Bucket::Many(ys)
                    }
                };
            }
        }
    }
}

/// What is known about one exact field.
#[derive(Debug, Clone, Default)]
struct Fact {
    /// Some(true): present and not null; Some(false): absent or null.
    present: Option<bool>,
    /// The possible types when present (None: any).
    types: Option<Vec<JsonType>>,
    /// Predicates known true / false.
    yes: Set<Test>,
    no: Set<Test>,
}

/// What is known: facts per exact field, and whole conditions known to hold or to fail (so that
/// a repeated compound condition, such as a membership test, is decided as a unit).
#[derive(Debug, Clone, Default)]
struct Facts {
    fields: HashMap<FieldPath, Fact>,
    holds: Set<Expr>,
    fails: Set<Expr>,
    /// Learn only the presence and types of fields (what [`learn`] reads from the facts of
    /// each alternative of an `or`), not which tests and conditions hold.
    presence_only: bool,
    /// How many alternatives (of an `or` known to hold, ...) these facts are inside.
    alternative_depth: usize,
    /// How many things have been learned (what a copy costs, roughly).
    learned: usize,
}

impl Facts {
    /// A copy, paid for from `work`.
    fn copy(&self, work: &mut Work) -> Facts {
        work.spend(self.learned + 1);
        self.clone()
    }
}

/// How deeply [`learn`] looks into alternatives inside alternatives (what a field must be in
/// every alternative of an `or` that holds): deeper ones teach nothing, which keeps learning a
/// deeply nested condition linear.
const ALTERNATIVE_DEPTH: usize = 8;

/// How much work one [`simplify`] may still do, counted in conditions rebuilt, things learned,
/// facts copied and conditions compared: far more than any rule of ordinary size needs (the
/// shipped rules take under 25,000), and a bound on the time a huge one takes. Once it is spent,
/// what is left is kept as it is.
struct Work {
    left: usize,
    /// How many second looks are under way (a second look takes no second looks inside).
    second: usize,
    /// How deep inside a second look the rebuilding is.
    looked: usize,
    /// Whether `not (a or b)` is written `not a and not b` (see [`normalise`]).
    spread_negations: bool,
}

/// How deep a second look rebuilds: deeper parts are left as they are (the first look has
/// simplified them already), which keeps second looks at a deeply nested condition linear.
const SECOND_LOOK_DEPTH: usize = 8;

/// The [`Work`] one [`simplify`] call may do.
const WORK: usize = 500_000;

impl Work {
    fn new(spread_negations: bool) -> Work {
        Work {
            left: WORK,
            second: 0,
            looked: 0,
            spread_negations,
        }
    }

    /// Spend `n` units; false once the budget is spent.
    fn spend(&mut self, n: usize) -> bool {
        self.left = self.left.saturating_sub(n);
        self.left > 0
    }
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

/// How large a whole condition [`learn`] remembers may be (it keeps a copy).
const REMEMBER_NODES: usize = 256;

/// Learn that `e` holds (`positive`) or fails. A whole condition is remembered (a copy) only when
/// it is small and while `work` lasts; what it says about fields is learned either way.
fn learn(e: &Expr, positive: bool, facts: &mut Facts, work: &mut Work) {
    facts.learned += 1;
    if !facts.presence_only
        && !matches!(e, Expr::Const(_) | Expr::Not(_))
        && size_within(e, REMEMBER_NODES)
        && work.spend(1)
    {
        let known = if positive {
            &mut facts.holds
        } else {
            &mut facts.fails
        };
        known.insert_with(e, || e.clone());
    }
    match e {
        Expr::Pred(p) => {
            let Some(f) = field(p) else { return };
            let presence_only = facts.presence_only;
            let fact = facts.entry(f.clone()).or_default();
            if positive {
                if !presence_only {
                    fact.yes.insert_with(&p.test, || p.test.clone());
                }
                match &p.test {
                    Test::Null => fact.present = Some(false),
                    t if needs_presence(t) => learn_present(facts, f, types_for(t)),
                    _ => {}
                }
            } else {
                if !presence_only {
                    fact.no.insert_with(&p.test, || p.test.clone());
                }
                match &p.test {
                    Test::Null => fact.present = Some(true),
                    Test::Exists => fact.present = Some(false),
                    _ => {}
                }
            }
        }
        // Some, every or exactly one element passes: the path holds an array.
        Expr::Elements(el) if positive && el.path.root() == crate::ir::Root::Event => {
            learn_present(facts, &el.path, Some(vec![JsonType::Array]));
        }
        Expr::Not(x) => learn(x, !positive, facts, work),
        Expr::And(xs) if positive => xs.iter().for_each(|x| learn(x, true, facts, work)),
        Expr::Or(xs) if !positive => xs.iter().for_each(|x| learn(x, false, facts, work)),
        Expr::Or(xs) | Expr::And(xs) => {
            // Some alternative holds: what every alternative says about presence and types.
            if facts.alternative_depth >= ALTERNATIVE_DEPTH {
                return;
            }
            let alternative_depth = facts.alternative_depth + 1;
            let mut each = xs.iter().map(|x| {
                let mut f = Facts {
                    presence_only: true,
                    alternative_depth,
                    ..Facts::default()
                };
                learn(x, positive, &mut f, work);
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

/// The one value at `f` (read through objects only) is present, of one of `types` when given:
/// then every step before it is an object.
fn learn_present(facts: &mut Facts, f: &FieldPath, types: Option<Vec<JsonType>>) {
    let presence_only = facts.presence_only;
    for n in 0..f.segments().len() {
        let parent = facts.entry(f.prefix(n)).or_default();
        parent.present = Some(true);
        parent.types = Some(vec![JsonType::Object]);
        // An object with a key is not empty: Python reads it as true.
        if !presence_only {
            parent.yes.insert_with(&Test::Truthy, || Test::Truthy);
        }
    }
    let fact = facts.entry(f.clone()).or_default();
    fact.present = Some(true);
    if let Some(ts) = types {
        fact.types = Some(match &fact.types {
            Some(old) => old.iter().copied().filter(|x| ts.contains(x)).collect(),
            None => ts,
        });
    }
}

/// The truth of a predicate under the facts, when they decide it.
fn decide(p: &Predicate, facts: &Facts) -> Option<bool> {
    if let (Test::HasKey(k), Some(f)) = (&p.test, field(p)) {
        if facts
            .get(&f.child(k.clone()))
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

fn rebuild(e: &Expr, facts: &Facts, work: &mut Work) -> Expr {
    if !work.spend(1) {
        // Out of work: the rest stays as it is.
        return e.clone();
    }
    if facts.holds.contains(e) {
        return Expr::Const(true);
    }
    if facts.fails.contains(e) {
        return Expr::Const(false);
    }
    if work.second > 0 {
        if work.looked >= SECOND_LOOK_DEPTH {
            return e.clone();
        }
        work.looked += 1;
        let r = rebuild_node(e, facts, work);
        work.looked -= 1;
        return r;
    }
    rebuild_node(e, facts, work)
}

/// [`rebuild`] of `e` once it is not decided as a whole.
fn rebuild_node(e: &Expr, facts: &Facts, work: &mut Work) -> Expr {
    match e {
        Expr::Pred(p) => match decide(p, facts) {
            Some(b) => Expr::Const(b),
            None => e.clone(),
        },
        Expr::Not(x) => Expr::not(rebuild(x, facts, work)),
        Expr::And(xs) => rebuild_and(xs, facts, work),
        Expr::Or(xs) => rebuild_or(xs, facts, work),
        Expr::Const(_) => e.clone(),
        Expr::Elements(el) => {
            let body = simplify_within(&el.body, work);
            match elements_of_a_constant(el, &body) {
                Some(e) => rebuild_node(&e, facts, work),
                None => {
                    let mut el = el.clone();
                    el.body = Box::new(body);
                    Expr::Elements(el)
                }
            }
        }
    }
}

/// A per-element condition whose body is decided: no element passes `false` (some or exactly
/// one: never); every element passes `true` exactly when the path holds an array.
fn elements_of_a_constant(el: &crate::ir::Elements, body: &Expr) -> Option<Expr> {
    use crate::ir::Count;
    match (el.count, body) {
        (Count::Some | Count::One, Expr::Const(false)) => Some(Expr::Const(false)),
        (Count::Every, Expr::Const(true)) => Some(Expr::Pred(Predicate {
            subject: Subject::Field(el.path.clone()),
            quantifier: Quantifier::Exact,
            test: Test::Type(JsonType::Array),
            span: el.span,
        })),
        _ => None,
    }
}

/// A conjunction: each conjunct under the facts of those before it, then (see
/// [`second_look_and`]) under all the others. Its own function, so that the recursion through
/// [`rebuild_node`] keeps small stack frames.
fn rebuild_and(xs: &[Expr], facts: &Facts, work: &mut Work) -> Expr {
    let mut facts = facts.copy(work);
    let mut out = Vec::with_capacity(xs.len());
    for x in xs {
        let y = rebuild(x, &facts, work);
        learn(&y, true, &mut facts, work);
        out.push(y);
    }
    let mut out = match Expr::and(out) {
        Expr::And(v) => v,
        other => return other,
    };
    if has_complement(&out) || !second_look_and(&mut out, work) {
        return Expr::Const(false);
    }
    dedup(Expr::and(out))
}

/// Each conjunct again under the facts of all the others: dropped when they imply it, kept as
/// simplified given them otherwise (`a and b` is `(a given b) and b`). False when the others
/// imply one conjunct fails. Not inside a second look: a second look takes none.
#[inline(never)]
fn second_look_and(out: &mut Vec<Expr>, work: &mut Work) -> bool {
    let cost = if work.second == 0 { size(out) } else { 0 };
    let mut i = 0;
    while i < out.len() && work.second == 0 && work.spend(cost) {
        let mut others = Facts::default();
        for (j, y) in out.iter().enumerate() {
            if j != i {
                learn(y, true, &mut others, work);
            }
        }
        work.second += 1;
        let y = rebuild(&out[i], &others, work);
        work.second -= 1;
        match y {
            Expr::Const(true) => {
                out.remove(i);
            }
            Expr::Const(false) => return false,
            y => {
                out[i] = y;
                i += 1;
            }
        }
    }
    true
}

/// A disjunction: each disjunct under the negation of those before it, then of those after it.
fn rebuild_or(xs: &[Expr], facts: &Facts, work: &mut Work) -> Expr {
    let facts_base = facts.copy(work);
    let mut facts = facts.copy(work);
    let mut out = Vec::with_capacity(xs.len());
    for x in xs {
        let y = rebuild(x, &facts, work);
        learn(&y, false, &mut facts, work);
        out.push(y);
    }
    let mut out = match Expr::or(out) {
        Expr::Or(v) => v,
        other => return other,
    };
    second_look_or(&mut out, &facts_base, work);
    if has_complement(&out) {
        return Expr::Const(true);
    }
    dedup(Expr::or(out))
}

/// Each disjunct under the negation of those after it (`A or B` is `(A given not B) or B`).
#[inline(never)]
fn second_look_or(out: &mut [Expr], facts_base: &Facts, work: &mut Work) {
    let cost = if work.second == 0 { size(out) } else { 0 };
    for i in (0..out.len()).rev() {
        if work.second > 0 || !work.spend(cost) {
            break;
        }
        let mut later = facts_base.copy(work);
        for y in &out[i + 1..] {
            learn(y, false, &mut later, work);
        }
        work.second += 1;
        out[i] = rebuild(&out[i], &later, work);
        work.second -= 1;
    }
}

/// How many nodes the conditions hold (counted without recursion).
fn size(xs: &[Expr]) -> usize {
    let mut n = 0;
    let mut todo: Vec<&Expr> = xs.iter().collect();
    while let Some(e) = todo.pop() {
        n += 1;
        match e {
            Expr::And(ys) | Expr::Or(ys) => todo.extend(ys),
            Expr::Not(y) => todo.push(y),
            Expr::Elements(el) => todo.push(&el.body),
            Expr::Const(_) | Expr::Pred(_) => {}
        }
    }
    n
}

/// `e` has at most `limit` nodes (counted without recursion, stopping past the limit).
fn size_within(e: &Expr, limit: usize) -> bool {
    let mut n = 0;
    let mut todo = vec![e];
    while let Some(e) = todo.pop() {
        n += 1;
        if n > limit {
            return false;
        }
        match e {
            Expr::And(ys) | Expr::Or(ys) => todo.extend(ys),
            Expr::Not(y) => todo.push(y),
            Expr::Elements(el) => todo.push(&el.body),
            Expr::Const(_) | Expr::Pred(_) => {}
        }
    }
    true
}

/// Some condition of `xs` is the negation of another.
fn has_complement(xs: &[Expr]) -> bool {
    let mut by_key: HashMap<u64, Vec<&Expr>> = HashMap::new();
    for x in xs {
        by_key.entry(x.fingerprint()).or_default().push(x);
    }
    xs.iter().any(|x| {
        by_key
            .get(&negation_fingerprint(x))
            .is_some_and(|v| v.iter().any(|y| is_negation(y, x)))
    })
}

fn dedup(e: Expr) -> Expr {
    let and = matches!(e, Expr::And(_));
    match e {
        Expr::And(xs) | Expr::Or(xs) if xs.len() > 1 => {
            let mut seen: Vec<Expr> = Vec::new();
            let mut keys: HashMap<u64, Vec<usize>> = HashMap::new();
            for x in xs {
                let same = keys.entry(x.fingerprint()).or_default();
                if !same.iter().any(|&i| seen[i] == x) {
                    same.push(seen.len());
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

/// The same condition without the guards its other tests imply; `¬Exists` reads as `Null`, and
/// `not (a or b)` as `not a and not b` (a Python rule's early `return False` guards become
/// conjuncts of their own).
pub fn simplify(e: &Expr) -> Expr {
    simplify_within(e, &mut Work::new(true))
}

/// [`simplify`], keeping the negations where the rule put them (a Sigma `not 1 of filter*` stays
/// one negated alternative, which targets print as one `NOT IN` list).
pub fn simplify_keeping_negations(e: &Expr) -> Expr {
    simplify_within(e, &mut Work::new(false))
}

/// [`simplify`] spending from `work`.
fn simplify_within(e: &Expr, work: &mut Work) -> Expr {
    let mut cur = e.clone();
    for _ in 0..4 {
        let rebuilt = rebuild(&cur, &Facts::default(), work);
        let next = factor(&normalise(&rebuilt, work.spread_negations), work);
        if next == cur {
            break;
        }
        cur = next;
    }
    cur
}

/// `not exists(f)` is `null(f)` and `not null(f)` is `exists(f)` for exact reads; with `spread`,
/// `not (a or b)` is `not a and not b`.
fn normalise(e: &Expr, spread: bool) -> Expr {
    let again = |x: &Expr| normalise(x, spread);
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
            Expr::Or(xs) if spread => {
                Expr::and(xs.iter().map(|x| again(&Expr::not(x.clone()))).collect())
            }
            other => Expr::not(again(other)),
        },
        Expr::And(xs) => Expr::and(xs.iter().map(again).collect()),
        Expr::Or(xs) => Expr::or(xs.iter().map(again).collect()),
        Expr::Elements(el) => {
            let mut el = el.clone();
            el.body = Box::new(again(&el.body));
            Expr::Elements(el)
        }
        other => other.clone(),
    }
}

/// `not (c and a) and not (c and b)` is `not (c and (a or b))`: the "raises" conditions Python's
/// value semantics attach to each alternative share their conjuncts, written once instead.
fn factor(e: &Expr, work: &mut Work) -> Expr {
    match e {
        Expr::And(xs) => {
            let mut xs: Vec<Expr> = xs.iter().map(|x| factor(x, work)).collect();
            // Each step compares the conjuncts of the negated conjunctions with each other.
            while work.spend(negated_conjuncts(&xs).saturating_pow(2)) {
                match factor_once(&xs) {
                    Some(next) => xs = next,
                    None => break,
                }
            }
            // Each step compares the alternatives of the disjunctions with each other.
            while work.spread_negations && work.spend(alternatives(&xs).saturating_pow(2)) {
                match shared_alternative(&xs) {
                    Some(next) => xs = next,
                    None => break,
                }
            }
            Expr::and(xs)
        }
        Expr::Or(xs) => Expr::or(xs.iter().map(|x| factor(x, work)).collect()),
        Expr::Not(x) => Expr::not(factor(x, work)),
        Expr::Elements(el) => {
            let mut el = el.clone();
            el.body = Box::new(factor(&el.body, work));
            Expr::Elements(el)
        }
        other => other.clone(),
    }
}

/// How many alternatives the disjunctions among `xs` have in all.
fn alternatives(xs: &[Expr]) -> usize {
    xs.iter()
        .map(|x| match x {
            Expr::Or(ys) => ys.len(),
            _ => 0,
        })
        .sum()
}

/// `(a or x) and (a or y)` is `a or (x and y)`: a Python rule's early `return True` is an
/// alternative of its body and of each "does not raise" condition after it; written once, the
/// rest of the body and of those conditions meet in one conjunction, where what the body tests
/// decides the guards. One step, over the first two disjunctions among `xs` that share an
/// alternative.
fn shared_alternative(xs: &[Expr]) -> Option<Vec<Expr>> {
    for (i, x) in xs.iter().enumerate() {
        let Expr::Or(a) = x else { continue };
        for (j, y) in xs.iter().enumerate().skip(i + 1) {
            let Expr::Or(b) = y else { continue };
            let common: Vec<Expr> = a.iter().filter(|c| b.contains(c)).cloned().collect();
            if common.is_empty() {
                continue;
            }
            let rest = |ys: &[Expr]| {
                Expr::or(ys.iter().filter(|y| !common.contains(y)).cloned().collect())
            };
            let rests = Expr::and(vec![rest(a), rest(b)]);
            let mut alts = common;
            alts.push(rests);
            let mut out = xs.to_vec();
            out[i] = Expr::or(alts);
            out.remove(j);
            return Some(out);
        }
    }
    None
}

/// How many conjuncts the negated conjunctions among `xs` have in all.
fn negated_conjuncts(xs: &[Expr]) -> usize {
    xs.iter()
        .map(|x| match x {
            Expr::Not(inner) => match inner.as_ref() {
                Expr::And(ys) => ys.len(),
                _ => 0,
            },
            _ => 0,
        })
        .sum()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    fn p(field: &str, v: &str) -> Expr {
        crate::panther::exact(
            &FieldPath::new(vec![field.into()]),
            Test::Is(serde_json::json!(v)),
            Span::default(),
        )
    }

    fn own(test: Test) -> Expr {
        crate::panther::exact(&FieldPath::new(vec![]), test, Span::default())
    }

    fn at(path: &str, test: Test) -> Expr {
        crate::panther::exact(&FieldPath::parse(path), test, Span::default())
    }

    fn each(path: &str, count: crate::ir::Count, body: Expr) -> Expr {
        Expr::Elements(crate::ir::Elements {
            path: FieldPath::parse(path),
            count,
            body: Box::new(body),
            span: Span::default(),
        })
    }

    /// Every element passes `true` on an array; no element passes `false`.
    #[test]
    fn elements_of_a_constant_body_are_decided() {
        use crate::ir::Count;
        assert_eq!(
            simplify(&each("a", Count::Every, Expr::Const(true))),
            at("a", Test::Type(JsonType::Array))
        );
        for count in [Count::Some, Count::One] {
            assert_eq!(
                simplify(&each("a", count, Expr::Const(false))),
                Expr::Const(false)
            );
        }
        // Beside a condition on some element, the array is known.
        let some = each("a", Count::Some, at("k", Test::Is(serde_json::json!("x"))));
        assert_eq!(
            simplify(&Expr::and(vec![
                some.clone(),
                each("a", Count::Every, Expr::Const(true))
            ])),
            some
        );
        // Some element passing `true` asks for a non-empty array: kept.
        let kept = each("a", Count::Some, Expr::Const(true));
        assert_eq!(simplify(&kept), kept);
    }

    /// `(a or x) and (a or y)` is `a or (x and y)`; with nothing else, `(a or x) and a` is `a`.
    #[test]
    fn a_shared_alternative_is_written_once() {
        let (a, x, y) = (p("a", "1"), p("x", "1"), p("y", "1"));
        let e = Expr::and(vec![
            Expr::or(vec![a.clone(), x.clone()]),
            Expr::or(vec![y.clone(), a.clone()]),
        ]);
        assert_eq!(
            shared_alternative(match &e {
                Expr::And(xs) => xs,
                _ => unreachable!(),
            }),
            Some(vec![Expr::or(vec![
                a.clone(),
                Expr::and(vec![x.clone(), y.clone()])
            ])])
        );
        assert_eq!(
            simplify(&Expr::and(vec![
                Expr::or(vec![a.clone(), x.clone()]),
                a.clone()
            ])),
            a
        );
        // Disjunctions without a shared alternative stay.
        assert_eq!(
            shared_alternative(&[
                Expr::or(vec![a.clone(), x.clone()]),
                Expr::or(vec![y, p("b", "1")])
            ]),
            None
        );
    }

    /// A rule's early `return True` and the "raises" guard after it: the guard goes once the
    /// shared alternative is written once (the body's test decides it).
    #[test]
    fn a_guard_after_an_early_return_is_decided_by_the_body() {
        let acl = "requestParameters.acl";
        let body = Expr::or(vec![
            p("eventName", "Delete"),
            Expr::and(vec![
                p("eventName", "Put"),
                at(acl, Test::Is(serde_json::json!("public"))),
            ]),
        ]);
        let guard = Expr::or(vec![
            p("eventName", "Delete"),
            Expr::not(at(acl, Test::Type(JsonType::Array))),
        ]);
        assert_eq!(simplify(&Expr::and(vec![body.clone(), guard])), body);
        // Sigma rules keep their shape.
        let kept = Expr::and(vec![
            Expr::or(vec![p("a", "1"), p("x", "1")]),
            Expr::or(vec![p("a", "1"), p("y", "1")]),
        ]);
        assert_eq!(simplify_keeping_negations(&kept), kept);
    }

    /// An object with a key present is not empty: Python reads it as true.
    #[test]
    fn a_present_key_makes_its_object_truthy() {
        let e = Expr::and(vec![
            at("requestParameters", Test::Truthy),
            at(
                "requestParameters.acl",
                Test::Is(serde_json::json!("public")),
            ),
        ]);
        assert_eq!(
            simplify(&e),
            at(
                "requestParameters.acl",
                Test::Is(serde_json::json!("public"))
            )
        );
        // Without a key, truthiness is a question.
        let alone = Expr::and(vec![
            at("requestParameters", Test::Truthy),
            at("requestParameters", Test::Type(JsonType::Object)),
        ]);
        assert_eq!(simplify(&alone), alone);
    }

    /// `not (present and not object) and present` is `object` (Python's "raises unless every
    /// element is a dict", spelled out per element).
    #[test]
    fn guards_inside_an_element_body_simplify() {
        let body = Expr::and(vec![
            Expr::not(Expr::and(vec![
                own(Test::Exists),
                Expr::not(own(Test::Type(JsonType::Object))),
            ])),
            own(Test::Exists),
        ]);
        assert_eq!(simplify(&body), own(Test::Type(JsonType::Object)));
        let every = each("items", crate::ir::Count::Every, body);
        assert_eq!(
            simplify(&every),
            each(
                "items",
                crate::ir::Count::Every,
                own(Test::Type(JsonType::Object))
            )
        );
    }

    /// A condition on the elements of an array implies the path holds an array: a separate
    /// "is an array" guard beside it is dropped, and "is a string" beside it is false.
    #[test]
    fn an_element_condition_implies_an_array() {
        for count in [
            crate::ir::Count::Some,
            crate::ir::Count::Every,
            crate::ir::Count::One,
        ] {
            let el = each("a.items", count, own(Test::Truthy));
            let guarded = Expr::and(vec![at("a.items", Test::Type(JsonType::Array)), el.clone()]);
            assert_eq!(simplify(&guarded), el, "{count:?}");
            let parent = Expr::and(vec![el.clone(), at("a", Test::Type(JsonType::Object))]);
            assert_eq!(simplify(&parent), el, "{count:?}");
            let string = Expr::and(vec![
                el.clone(),
                at("a.items", Test::Type(JsonType::String)),
            ]);
            assert_eq!(simplify(&string), Expr::Const(false), "{count:?}");
        }
    }

    #[test]
    fn negations_are_found_without_building_them() {
        let shapes = [
            p("a", "1"),
            Expr::not(p("a", "1")),
            Expr::Const(true),
            Expr::and(vec![p("a", "1"), Expr::or(vec![p("b", "2"), p("c", "3")])]),
            Expr::not(Expr::or(vec![p("b", "2"), p("c", "3")])),
        ];
        for x in &shapes {
            let n = Expr::not(x.clone());
            assert_eq!(negation_fingerprint(x), n.fingerprint(), "{x:?}");
            assert!(is_negation(&n, x), "{x:?}");
            assert!(has_complement(&[x.clone(), p("z", "0"), n]), "{x:?}");
            for y in &shapes {
                assert_eq!(is_negation(y, x), *y == Expr::not(x.clone()), "{y:?} {x:?}");
            }
        }
        assert!(!has_complement(&shapes[2..]));
    }

    /// A condition nested as deep as the translator allows, and wide ones, simplify in bounded
    /// work (a regression here takes exponential or cubic time).
    #[test]
    fn deep_and_wide_conditions_stay_cheap() {
        let mut e = p("last", "x");
        for i in 0..150 {
            e = Expr::or(vec![
                p("n", &format!("E{i}")),
                Expr::and(vec![Expr::not(p("f", &format!("F{i}"))), e]),
            ]);
        }
        let wide = Expr::or((0..20_000).map(|i| p("n", &format!("E{i}"))).collect());
        let not_wide = Expr::not(wide.clone());
        let both = Expr::and(vec![wide, e.clone(), not_wide.clone()]);
        for x in [e, not_wide, both] {
            let s = std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || simplify(&x))
                .expect("thread")
                .join()
                .expect("no overflow");
            assert!(size(std::slice::from_ref(&s)) > 0);
        }
    }
}
