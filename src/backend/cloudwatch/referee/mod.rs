//! An offline referee for CloudWatch Logs Insights (CWLI QL): a parser for the subset of the
//! language rulecast emits (`grammar/cwli.pest`) and an evaluator for its `filter` commands over
//! CloudTrail events flattened the way Logs Insights flattens JSON.
//!
//! No local Logs Insights exists, so this is a model, written from the AWS documentation and the
//! research notes (`cwli_jq.md`, part A). Where the documentation is silent it takes the narrower
//! reading, so that a query it accepts is one real Logs Insights accepts. The model:
//!
//! - **Fields** are the event's scalar leaves, named by their dotted path with array indices as
//!   segments (`resources.0.ARN`); keys are case-sensitive. Objects and arrays are not fields.
//!   JSON `null` is not a field (treated as absent). Booleans are the numbers 1 and 0. A top-level
//!   key starting with `@` is renamed `@@key`. At most [`MAX_FIELDS`] fields are extracted per event,
//!   in document order; the rest can only be seen through `@message`.
//! - `@message` is the event's compact JSON text.
//! - A comparison with a missing operand is false (`=`, `!=`, `<`, `like`, `not like`, `in`,
//!   `not in`, `=~`); `not` is plain two-valued negation; `ispresent(f)` says whether `f` exists.
//! - `=` and `in` are exact and case-sensitive. Two strings compare as strings, two numbers as
//!   numbers; a string and a number compare by text (the number's JSON text), an assumption: AWS
//!   only says comparisons "accept all data types".
//! - `<`, `<=`, `>`, `>=` compare numbers; a string counts when it is exactly a JSON number literal.
//! - `like "s"` is a case-sensitive substring test; `like /re/` and `=~ /re/` are unanchored regex
//!   searches of the value's text, run as RE2 would (see [`regex`]).
//! - `isIpInSubnet(f, "cidr")` holds for a string that is an IPv4/IPv6 address in the network.
//! - `tolower(x)` lowercases Unicode letters; `strcontains`, `startsWith`, `endsWith` return 1 or 0;
//!   `concat(a, b, ...)` joins texts and has no value when one of its fields is missing (the
//!   queries guard it with `ispresent()`, so this reading is never relied on).
//!
//! The parser also rejects queries over [`MAX_QUERY_CHARS`] characters (the API limit), `limit`
//! outside 1..=10000, CIDR literals that are not networks, and regexes outside the portable subset.

mod eval;
mod parse;
pub mod regex;

pub use eval::{flatten, Record, Val};
pub use parse::parse;

/// The `queryString` limit of StartQuery and PutQueryDefinition.
pub const MAX_QUERY_CHARS: usize = 10_000;

/// Fields Logs Insights extracts from one JSON event.
pub const MAX_FIELDS: usize = 200;

/// The largest `limit` a query may ask for.
pub const MAX_LIMIT: u64 = 10_000;

/// A parsed query.
#[derive(Debug, Clone)]
pub struct Query {
    pub commands: Vec<Command>,
}

/// One command of a query; only `filter` decides which events match.
#[derive(Debug, Clone)]
pub enum Command {
    Fields(Vec<String>),
    Filter(Expr),
    /// `stats <aggregates> by bin(<seconds>) as <bin_name>, <by>...`.
    Stats {
        aggregates: Vec<(Aggregate, String)>,
        bin: u64,
        bin_name: String,
        by: Vec<String>,
    },
    Sort {
        field: String,
        descending: bool,
    },
    Limit(u64),
}

/// An aggregate of `stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aggregate {
    /// `count(*)`: the records.
    Count,
    /// `count_distinct(f)`: the distinct texts of `f` (exact here; Logs Insights estimates it
    /// beyond some thousands of values).
    CountDistinct(String),
    /// `sum(f)`: the sum of the numbers of `f` (strings are not added); no value without one.
    Sum(String),
    /// `avg(f)`: their mean; no value without one.
    Avg(String),
}

/// A Boolean expression of a `filter`.
#[derive(Debug, Clone)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Compare {
        lhs: Operand,
        op: CmpOp,
        rhs: Operand,
    },
    /// `x =~ /re/`, `x like /re/`, `x not like /re/`.
    Regex {
        lhs: Operand,
        source: String,
        regex: ::regex::Regex,
        negated: bool,
    },
    /// `x like "s"`, `x not like "s"`.
    Like {
        lhs: Operand,
        needle: String,
        negated: bool,
    },
    /// `x in [..]`, `x not in [..]`.
    In {
        lhs: Operand,
        list: Vec<Operand>,
        negated: bool,
    },
    IsPresent(String),
    IpInSubnet {
        operand: Operand,
        network: crate::ir::Cidr,
    },
}

/// A comparison operator: `=`, `!=`, `<`, `<=`, `>`, `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A value: a field, a literal, or a value function.
#[derive(Debug, Clone)]
pub enum Operand {
    Field(String),
    Str(String),
    Num {
        value: f64,
        text: String,
    },
    Lower(Box<Operand>),
    StrContains(Box<Operand>, Box<Operand>),
    StartsWith(Box<Operand>, Box<Operand>),
    EndsWith(Box<Operand>, Box<Operand>),
    /// `concat(a, b, ...)`: the texts joined (no value when a field is missing).
    Concat(Vec<Operand>),
}

/// Why a query was rejected, with its 1-based position when the parser knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for Error {}

impl Query {
    /// Does the event pass every `filter` of the query?
    pub fn matches(&self, event: &serde_json::Value) -> bool {
        self.matches_record(&flatten(event))
    }

    /// [`Query::matches`] on an already flattened event.
    pub fn matches_record(&self, record: &Record) -> bool {
        self.commands.iter().all(|c| match c {
            Command::Filter(e) => record.eval(e),
            _ => true,
        })
    }

    /// The rows of a query with `stats` over `events`: each command in order (filters keep the
    /// records they pass, `stats` groups them, `sort` and `limit` order and cut the rows). The
    /// model of `stats`: a record's `@timestamp` is its `eventTime` (CloudTrail writes each event
    /// to CloudWatch Logs at its event time); `bin(p)` puts it in the bucket starting at the last
    /// multiple of `p` seconds since the epoch, shown as `YYYY-MM-DD HH:MM:SS.000`; a record
    /// without a time or without a `by` field is left out; the rows come in bucket order, then
    /// by the `by` values.
    pub fn rows(&self, events: &[serde_json::Value]) -> Vec<Record> {
        let mut records: Vec<(Option<i64>, Record)> = events
            .iter()
            .map(|e| (crate::correlation::eval::event_time(e), flatten(e)))
            .collect();
        for c in &self.commands {
            match c {
                Command::Fields(_) => {}
                Command::Filter(e) => records.retain(|(_, r)| r.eval(e)),
                Command::Stats {
                    aggregates,
                    bin,
                    bin_name,
                    by,
                } => records = eval::stats(&records, aggregates, *bin, bin_name, by),
                Command::Sort { field, descending } => {
                    records.sort_by(|(_, a), (_, b)| {
                        let o = eval::order(a.get(field).as_ref(), b.get(field).as_ref());
                        if *descending {
                            o.reverse()
                        } else {
                            o
                        }
                    });
                }
                Command::Limit(n) => records.truncate(usize::try_from(*n).unwrap_or(usize::MAX)),
            }
        }
        records.into_iter().map(|(_, r)| r).collect()
    }

    /// The filter expressions, in order.
    pub fn filters(&self) -> impl Iterator<Item = &Expr> {
        self.commands.iter().filter_map(|c| match c {
            Command::Filter(e) => Some(e),
            _ => None,
        })
    }
}
