//! The intermediate representation every front end lowers to and every backend renders from.
//!
//! Values are typed (literal/wildcard string parts, regexes, networks, numbers): no modifier name
//! survives lowering. The meaning of each node is defined by [`crate::eval`] and documented in
//! `docs/semantics.md`.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::source::Span;

/// A rule's boolean condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    /// All must hold (`a and b`, the entries of a detection map, `all of x*`, `|all` lists).
    And(Vec<Expr>),
    /// One must hold (`a or b`, value lists, lists of maps, `1 of x*`).
    Or(Vec<Expr>),
    /// Two-valued, null-safe negation (`not a`, `|neq`).
    Not(Box<Expr>),
    /// A constant (an empty `and` is true, an empty `or` false).
    Const(bool),
    /// One test on one field.
    Pred(Predicate),
    /// A condition on each element of an array (Python `any(x.get("k") == v for x in arr)`,
    /// Panther `AnyElement`/`AllElements`/`OnlyOneElement` with `Expressions`): the path walks
    /// objects only (as [`Quantifier::Exact`]) to an array, and `body` is tested on each direct
    /// element with its fields read relative to the element (an empty path is the element
    /// itself). A missing value or a non-array never passes.
    Elements(Elements),
}

/// See [`Expr::Elements`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Elements {
    pub path: FieldPath,
    pub count: Count,
    pub body: Box<Expr>,
    pub span: Span,
}

/// How many elements must pass an [`Expr::Elements`] body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Count {
    /// At least one (Python `any()`, Panther `AnyElement`).
    Some,
    /// All of them; an empty array passes (Python `all()`, Panther `AllElements`).
    Every,
    /// Exactly one (Panther `OnlyOneElement`).
    One,
}

impl Expr {
    /// AND of `items`, flattening nested ANDs; one item stays itself.
    pub fn and(items: Vec<Expr>) -> Expr {
        let mut out = Vec::with_capacity(items.len());
        for e in items {
            match e {
                Expr::And(inner) => out.extend(inner),
                Expr::Const(true) => {}
                other => out.push(other),
            }
        }
        if out.contains(&Expr::Const(false)) {
            return Expr::Const(false);
        }
        match out.len() {
            0 => Expr::Const(true),
            1 => out.pop().unwrap_or(Expr::Const(true)),
            _ => Expr::And(out),
        }
    }

    /// OR of `items`, flattening nested ORs; one item stays itself.
    pub fn or(items: Vec<Expr>) -> Expr {
        let mut out = Vec::with_capacity(items.len());
        for e in items {
            match e {
                Expr::Or(inner) => out.extend(inner),
                Expr::Const(false) => {}
                other => out.push(other),
            }
        }
        if out.contains(&Expr::Const(true)) {
            return Expr::Const(true);
        }
        match out.len() {
            0 => Expr::Const(false),
            1 => out.pop().unwrap_or(Expr::Const(false)),
            _ => Expr::Or(out),
        }
    }

    /// NOT of `e`, cancelling a double negation and folding constants.
    #[allow(clippy::should_implement_trait)]
    pub fn not(e: Expr) -> Expr {
        match e {
            Expr::Not(inner) => *inner,
            Expr::Const(b) => Expr::Const(!b),
            other => Expr::Not(Box::new(other)),
        }
    }

    /// Every predicate in the tree, depth first (also those inside [`Expr::Elements`] bodies,
    /// whose paths are relative to an element).
    pub fn predicates(&self) -> Vec<&Predicate> {
        let mut out = Vec::new();
        self.walk(&mut |p| out.push(p));
        out
    }

    /// Every field path the tree reads: predicate subjects, the other fields of field
    /// references, and the arrays of [`Expr::Elements`] (with the paths inside their bodies).
    pub fn paths(&self) -> Vec<&FieldPath> {
        let mut out = Vec::new();
        self.walk_paths(&mut out);
        out
    }

    fn walk_paths<'a>(&'a self, out: &mut Vec<&'a FieldPath>) {
        match self {
            Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| x.walk_paths(out)),
            Expr::Not(x) => x.walk_paths(out),
            Expr::Const(_) => {}
            Expr::Pred(p) => {
                if let Subject::Field(f) = &p.subject {
                    out.push(f);
                }
                if let Test::FieldRef(r) = &p.test {
                    out.push(&r.other);
                }
            }
            Expr::Elements(e) => {
                out.push(&e.path);
                e.body.walk_paths(out);
            }
        }
    }

    fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Predicate)) {
        match self {
            Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| x.walk(f)),
            Expr::Not(x) => x.walk(f),
            Expr::Const(_) => {}
            Expr::Pred(p) => f(p),
            Expr::Elements(e) => e.body.walk(f),
        }
    }
}

/// What a predicate looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A dotted field path (`userIdentity.arn`); arrays on the way are crossed element-wise.
    Field(FieldPath),
    /// Any scalar anywhere in the event (a Sigma keyword, written without a field name).
    Anywhere,
}

/// A dotted path of object keys, as written in the rule (`requestParameters.userName`), from the
/// event (inside an [`Expr::Elements`] body: from the element).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath {
    root: Root,
    segs: Vec<String>,
}

/// Where a [`FieldPath`] starts. Only [`Root::Event`] reaches a backend or the evaluator: the
/// other roots live while the Panther translator builds a condition, and it rewrites or refuses
/// every path that has one before the condition leaves it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Root {
    /// The event (inside an [`Expr::Elements`] body, the element).
    #[default]
    Event,
    /// The element a Python generator (`for x in ...`) binds, by the generator's number: the
    /// translator makes the path element-relative when it builds the per-element condition.
    Element(usize),
    /// Not a path: a deferred refusal, by number (a construct the translator cannot translate,
    /// which refuses the rule unless the rest of the rule makes it unreachable).
    Refusal(usize),
}

impl FieldPath {
    /// The path of these keys from the event.
    pub fn new(segs: Vec<String>) -> FieldPath {
        FieldPath {
            root: Root::Event,
            segs,
        }
    }

    /// The path of these keys from `root`.
    pub fn from_root(root: Root, segs: Vec<String>) -> FieldPath {
        FieldPath { root, segs }
    }

    /// Split a rule's field name on dots. Empty segments are kept, so `a..b` stays visible.
    pub fn parse(name: &str) -> FieldPath {
        FieldPath::new(name.split('.').map(str::to_owned).collect())
    }

    pub fn segments(&self) -> &[String] {
        &self.segs
    }

    pub fn root(&self) -> Root {
        self.root
    }

    /// The same keys from the event (an element's path made element-relative).
    pub fn from_event(&self) -> FieldPath {
        FieldPath::new(self.segs.clone())
    }

    /// The path of the first `n` keys, from the same root.
    pub fn prefix(&self, n: usize) -> FieldPath {
        FieldPath {
            root: self.root,
            segs: self.segs[..n.min(self.segs.len())].to_vec(),
        }
    }

    /// The path one key further, from the same root.
    pub fn child(&self, key: impl Into<String>) -> FieldPath {
        let mut segs = self.segs.clone();
        segs.push(key.into());
        FieldPath {
            root: self.root,
            segs,
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.root {
            Root::Event => {}
            Root::Element(n) => write!(f, "<element {n}>.")?,
            Root::Refusal(n) => return write!(f, "<refusal {n}>"),
        }
        f.write_str(&self.segs.join("."))
    }
}

impl Serialize for FieldPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How a path reaches values and how they are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantifier {
    /// Sigma's reading: arrays on the way are crossed element by element, an array at the end is
    /// tested as its compact JSON text and as each element; some value must pass.
    #[default]
    Any,
    /// Python's `event.get` / `deep_get` reading: the path walks objects only, and the one value
    /// it reaches (if any) is tested as it is: no array is crossed or expanded. (A test of each
    /// element of the array it reaches is an [`Expr::Elements`] whose body tests the element.)
    Exact,
}

/// One test on one subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Predicate {
    pub subject: Subject,
    #[serde(skip_serializing_if = "is_any")]
    pub quantifier: Quantifier,
    pub test: Test,
    /// Where in the rule source this predicate came from.
    pub span: Span,
}

fn is_any(q: &Quantifier) -> bool {
    *q == Quantifier::Any
}

/// The test itself, with typed values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// The value's text matches a wildcard pattern over the whole text (`field: 'a*b'`,
    /// `contains`, `startswith`, `endswith`); case-insensitive unless `cased` (`|cased`).
    Text { pattern: Pattern, cased: bool },
    /// An unanchored regular-expression search (`field|re: ...`, with `|i`, `|m`, `|s`), in Rust
    /// `regex` syntax with ASCII `\d \w \s \b` (see [`crate::portable_regex`]).
    Regex { regex: String, flags: RegexFlags },
    /// The value's text is an IP address inside the network (`field|cidr: 10.0.0.0/8`).
    Cidr(Cidr),
    /// A numeric comparison (`field|gt: 5`); numeric strings count as numbers.
    Compare { op: CompareOp, value: Number },
    /// Absent or JSON null (`field: null`).
    Null,
    /// Present and not null (`field|exists: true`).
    Exists,
    /// Compares with another field's text (`field|fieldref: other`, with contains/startswith/endswith;
    /// Panther `arn.endswith(f"/{userName}")`): see [`FieldRef`].
    FieldRef(FieldRef),
    /// Python `==` with a literal (Panther `x == "v"`, `Equals`): strings compare exactly, numbers
    /// and booleans by numeric value (`True == 1`), a string never equals a number.
    Is(serde_json::Value),
    /// The value is a string whose whole text matches the pattern, ASCII-lowercased first when
    /// `fold` (Panther `.startswith()`, `.endswith()`, `"x" in s`, `fnmatch`, `.lower() == "v"`).
    Str { pattern: Pattern, fold: bool },
    /// Python truthiness: present and not null, false, 0, "", [] or {} (Panther `if x:`, `bool(x)`).
    Truthy,
    /// The value has this JSON type (what a Python operation needs in order not to raise).
    Type(JsonType),
    /// The value is an object with this key (Panther `"k" in d`).
    HasKey(String),
}

impl Test {
    /// A Python-style test (Panther): it reads the value's JSON type, not its text.
    pub fn reads_json_type(&self) -> bool {
        matches!(
            self,
            Test::Is(_) | Test::Str { .. } | Test::Truthy | Test::Type(_) | Test::HasKey(_)
        )
    }

    /// What the test is, for a message ("... is not supported by <target>").
    pub fn describe(&self) -> &'static str {
        match self {
            Test::Text { .. } => "a text match",
            Test::Regex { .. } => "a regex match (re)",
            Test::Cidr(_) => "a network match (cidr)",
            Test::Compare { .. } => "a numeric comparison",
            Test::Null => "a null test",
            Test::Exists => "a presence test (exists)",
            Test::FieldRef(_) => "a comparison with another field (fieldref)",
            Test::Is(_) => "Python '=='",
            Test::Str { .. } => "a string-only match",
            Test::Truthy => "Python truthiness",
            Test::Type(_) => "a JSON type check",
            Test::HasKey(_) => "Python 'key in object'",
        }
    }
}

/// A comparison with another field's text ([`Test::FieldRef`]). The other field is read with the
/// predicate's quantifier (`Exact` stays exact).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldRef {
    /// The field whose text the value is compared with.
    pub other: FieldPath,
    /// Which part of the value's text must equal the other field's text.
    pub anchor: Anchor,
    /// Compared exactly; otherwise ASCII letters fold on both sides.
    pub cased: bool,
    /// Literal text before the other field's text: the value is compared with
    /// `before + other + after` (empty for Sigma).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub before: String,
    /// Literal text after the other field's text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub after: String,
}

impl FieldRef {
    /// A plain reference to `other` with no literal text around it (Sigma's `|fieldref`).
    pub fn plain(other: FieldPath, anchor: Anchor, cased: bool) -> FieldRef {
        FieldRef {
            other,
            anchor,
            cased,
            before: String::new(),
            after: String::new(),
        }
    }

    /// Is there literal text around the other field's text?
    pub fn is_affixed(&self) -> bool {
        !self.before.is_empty() || !self.after.is_empty()
    }
}

/// A JSON value's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonType {
    String,
    Number,
    Boolean,
    Array,
    Object,
}

impl JsonType {
    /// The name jq's `type` gives it.
    pub fn jq_name(self) -> &'static str {
        match self {
            JsonType::String => "string",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }

    pub fn of(v: &serde_json::Value) -> Option<JsonType> {
        use serde_json::Value as J;
        Some(match v {
            J::Null => return None,
            J::Bool(_) => JsonType::Boolean,
            J::Number(_) => JsonType::Number,
            J::String(_) => JsonType::String,
            J::Array(_) => JsonType::Array,
            J::Object(_) => JsonType::Object,
        })
    }
}

/// Which part of the text a field reference must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    Whole,
    Prefix,
    Suffix,
    Substring,
}

/// Regular-expression flags (`|i`, `|m`, `|s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RegexFlags {
    pub ignore_case: bool,
    pub multi_line: bool,
    pub dot_all: bool,
}

impl RegexFlags {
    /// The inline-flag prefix `(?ims)` with only the set letters, to show a regex with its flags
    /// (targets never get it: [`crate::portable_regex`] folds the flags into the regex).
    pub fn inline_prefix(self) -> String {
        let mut s = String::new();
        if self.ignore_case {
            s.push('i');
        }
        if self.multi_line {
            s.push('m');
        }
        if self.dot_all {
            s.push('s');
        }
        if s.is_empty() {
            s
        } else {
            format!("(?{s})")
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Gt => ">",
            CompareOp::Gte => ">=",
            CompareOp::Lt => "<",
            CompareOp::Lte => "<=",
        }
    }

    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            CompareOp::Gt => a > b,
            CompareOp::Gte => a >= b,
            CompareOp::Lt => a < b,
            CompareOp::Lte => a <= b,
        }
    }
}

/// A number as the rule wrote it: its value and its canonical text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Number {
    pub value: f64,
    pub text: String,
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Parse `a.b.c.d/n` or `x::y/n`; a bare address is a host network. Host bits must be zero.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| format!("'{a}' is not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("prefix length '{p}' is not 0..={max}"))?,
            None => max,
        };
        let c = Cidr { addr, prefix };
        if c.first() != addr {
            return Err(format!(
                "'{s}' has host bits set; did you mean {}/{prefix}?",
                c.first()
            ));
        }
        Ok(c)
    }

    fn bits(addr: IpAddr) -> (u128, u32) {
        match addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        }
    }

    fn mask(&self) -> u128 {
        let (_, width) = Self::bits(self.addr);
        let host = width - u32::from(self.prefix);
        if host >= 128 {
            0
        } else {
            let all = if width == 128 {
                u128::MAX
            } else {
                (1u128 << width) - 1
            };
            all & !((1u128 << host) - 1)
        }
    }

    fn from_bits(v4: bool, b: u128) -> IpAddr {
        if v4 {
            IpAddr::V4(std::net::Ipv4Addr::from(b as u32))
        } else {
            IpAddr::V6(std::net::Ipv6Addr::from(b))
        }
    }

    /// The first address of the network.
    pub fn first(&self) -> IpAddr {
        let (b, _) = Self::bits(self.addr);
        Self::from_bits(self.addr.is_ipv4(), b & self.mask())
    }

    /// The last address of the network.
    pub fn last(&self) -> IpAddr {
        let (b, width) = Self::bits(self.addr);
        let all = if width == 128 {
            u128::MAX
        } else {
            (1u128 << width) - 1
        };
        Self::from_bits(
            self.addr.is_ipv4(),
            (b & self.mask()) | (all & !self.mask()),
        )
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let (b, _) = Self::bits(ip);
        let (n, _) = Self::bits(self.addr);
        b & self.mask() == n & self.mask()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A string pattern: literal runs and wildcards, after Sigma's escaping rules are applied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pattern(pub Vec<Part>);

/// One piece of a [`Pattern`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text (`abc`, or an escaped `\*`).
    Lit(String),
    /// `*`: any run of characters, also empty.
    AnyRun,
    /// `?`: exactly one character.
    OneChar,
}

/// The shape of a pattern, which decides the cheapest form a backend can emit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape<'a> {
    /// No wildcards: whole-text equality.
    Exact(&'a str),
    /// `lit*`.
    Prefix(&'a str),
    /// `*lit`.
    Suffix(&'a str),
    /// `*lit*`.
    Contains(&'a str),
    /// Only `*`s (or empty runs): any text at all.
    Anything,
    /// Anything else: needs a full wildcard match.
    General,
}

impl Pattern {
    /// A pattern of one literal.
    pub fn literal(s: impl Into<String>) -> Pattern {
        let s = s.into();
        if s.is_empty() {
            Pattern(vec![])
        } else {
            Pattern(vec![Part::Lit(s)])
        }
    }

    /// Parse Sigma wildcard syntax: `*`, `?`, and `\*` `\?` `\\` escapes; any other backslash is
    /// literal.
    pub fn parse_sigma(s: &str) -> Pattern {
        let mut p = Pattern::default();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => p.push(Part::AnyRun),
                '?' => p.push(Part::OneChar),
                '\\' => match chars.peek() {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        p.push_char(n);
                    }
                    _ => p.push_char('\\'),
                },
                c => p.push_char(c),
            }
        }
        p
    }

    pub fn push(&mut self, part: Part) {
        match (self.0.last_mut(), part) {
            (Some(Part::AnyRun), Part::AnyRun) => {}
            (Some(Part::Lit(a)), Part::Lit(b)) => a.push_str(&b),
            (_, Part::Lit(b)) if b.is_empty() => {}
            (_, part) => self.0.push(part),
        }
    }

    fn push_char(&mut self, c: char) {
        if let Some(Part::Lit(a)) = self.0.last_mut() {
            a.push(c);
        } else {
            self.0.push(Part::Lit(c.to_string()));
        }
    }

    /// Add a leading `*` unless there is one.
    pub fn any_prefix(mut self) -> Pattern {
        if self.0.first() != Some(&Part::AnyRun) {
            self.0.insert(0, Part::AnyRun);
        }
        self
    }

    /// Add a trailing `*` unless there is one.
    pub fn any_suffix(mut self) -> Pattern {
        self.push(Part::AnyRun);
        self
    }

    pub fn has_wildcards(&self) -> bool {
        self.0.iter().any(|p| !matches!(p, Part::Lit(_)))
    }

    /// The literal text when there are no wildcards.
    pub fn as_literal(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.0 {
            match p {
                Part::Lit(l) => s.push_str(l),
                _ => return None,
            }
        }
        Some(s)
    }

    pub fn shape(&self) -> Shape<'_> {
        use Part::{AnyRun, Lit};
        match self.0.as_slice() {
            [] => Shape::Exact(""),
            [Lit(a)] => Shape::Exact(a),
            [Lit(a), AnyRun] => Shape::Prefix(a),
            [AnyRun, Lit(a)] => Shape::Suffix(a),
            [AnyRun, Lit(a), AnyRun] => Shape::Contains(a),
            parts if parts.iter().all(|p| *p == AnyRun) => Shape::Anything,
            _ => Shape::General,
        }
    }

    /// ASCII-lowercase every literal part (case-insensitive matching folds at compile time).
    pub fn ascii_lowercase(&self) -> Pattern {
        Pattern(
            self.0
                .iter()
                .map(|p| match p {
                    Part::Lit(s) => Part::Lit(s.to_ascii_lowercase()),
                    other => other.clone(),
                })
                .collect(),
        )
    }

    /// An anchored regex over the whole text, with literals escaped. `any` and `one` are the
    /// target's spellings of "any run" and "one character" (they differ in how they treat newlines).
    pub fn to_regex(&self, any: &str, one: &str) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Lit(s) => out.push_str(&regex_escape(s)),
                Part::AnyRun => out.push_str(any),
                Part::OneChar => out.push_str(one),
            }
        }
        out
    }
}

/// Escape the classic regex metacharacters `\\.+*?()|[]{}^$` with a backslash: the escapes every
/// engine we target (Rust regex, Oniguruma, RE2, Java) reads the same way.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Pattern {
    /// Sigma syntax, escaped so that parsing it again gives the same pattern.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            match p {
                Part::Lit(s) => {
                    for c in s.chars() {
                        if matches!(c, '*' | '?' | '\\') {
                            write!(f, "\\{c}")?;
                        } else {
                            write!(f, "{c}")?;
                        }
                    }
                }
                Part::AnyRun => f.write_str("*")?,
                Part::OneChar => f.write_str("?")?,
            }
        }
        Ok(())
    }
}

impl Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_their_root() {
        let el = FieldPath::from_root(Root::Element(2), vec!["a".into(), "b".into()]);
        assert_eq!(el.prefix(1).root(), Root::Element(2));
        assert_eq!(el.child("c").root(), Root::Element(2));
        assert_eq!(el.child("c").segments(), ["a", "b", "c"]);
        assert_ne!(
            el,
            FieldPath::parse("a.b"),
            "an element's path is not the event's"
        );
        assert_eq!(el.from_event(), FieldPath::parse("a.b"));
        assert_eq!(el.to_string(), "<element 2>.a.b");
        let refusal = FieldPath::from_root(Root::Refusal(0), Vec::new());
        assert_eq!(refusal.to_string(), "<refusal 0>");
    }

    #[test]
    fn only_paths_from_the_event_are_evaluated() {
        let p = |path: FieldPath| {
            Expr::Pred(Predicate {
                subject: Subject::Field(FieldPath::parse("x")),
                quantifier: Quantifier::Exact,
                test: Test::FieldRef(FieldRef::plain(path, Anchor::Whole, true)),
                span: Span::default(),
            })
        };
        assert!(crate::eval::Evaluator::new(&p(FieldPath::parse("y"))).is_ok());
        let inner = FieldPath::from_root(Root::Element(1), vec!["y".into()]);
        let err = crate::eval::Evaluator::new(&p(inner))
            .err()
            .unwrap_or_default();
        assert!(err.contains("<element 1>.y"), "{err}");
    }

    #[test]
    fn sigma_escapes() {
        let p = Pattern::parse_sigma(r"a\*b*c?d\\e\x\");
        assert_eq!(
            p.0,
            vec![
                Part::Lit("a*b".into()),
                Part::AnyRun,
                Part::Lit("c".into()),
                Part::OneChar,
                Part::Lit(r"d\e\x\".into()),
            ]
        );
        assert_eq!(Pattern::parse_sigma(&p.to_string()), p);
    }

    #[test]
    fn shapes() {
        assert_eq!(Pattern::parse_sigma("ab*").shape(), Shape::Prefix("ab"));
        assert_eq!(Pattern::parse_sigma("*ab").shape(), Shape::Suffix("ab"));
        assert_eq!(Pattern::parse_sigma("*ab*").shape(), Shape::Contains("ab"));
        assert_eq!(Pattern::parse_sigma("**").shape(), Shape::Anything);
        assert_eq!(Pattern::parse_sigma("a?b").shape(), Shape::General);
        assert_eq!(Pattern::parse_sigma("").shape(), Shape::Exact(""));
    }

    #[test]
    fn cidr_ranges() {
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert_eq!(c.first().to_string(), "10.1.0.0");
        assert_eq!(c.last().to_string(), "10.1.255.255");
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.0".parse().unwrap()));
        assert!(!c.contains("::ffff:10.1.2.3".parse().unwrap()));
        let c6 = Cidr::parse("2001:db8::/32").unwrap();
        assert_eq!(
            c6.last().to_string(),
            "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
        );
        assert!(Cidr::parse("10.1.0.1/16").is_err());
        assert!(Cidr::parse("10.1.0.0/33").is_err());
        assert_eq!(
            Cidr::parse("0.0.0.0/0").unwrap().last().to_string(),
            "255.255.255.255"
        );
        assert!(Cidr::parse("::/0")
            .unwrap()
            .contains("::1".parse().unwrap()));
    }
}
