//! The CloudWatch Logs Insights target: a CWLI QL query over CloudTrail delivered to CloudWatch
//! Logs (`fields … | filter … | sort @timestamp desc | limit …`).
//!
//! Logs Insights sees an event as its scalar leaves, flattened by dotted path with array indices
//! (`resources.0.ARN`); objects and arrays are not fields, booleans are 1/0, and `=`, `like "…"`
//! and `in` are case-sensitive. The renderer keeps the IR's meaning where the language can say it:
//!
//! - Case-insensitive text tests become anchored `(?i)` regexes (`=~ /^(?i)…$/`); `=`/`in` and
//!   `like "…"` are used only when `cased` or when the value has no ASCII letter. A value with a
//!   non-ASCII letter that has case variants is matched without `(?i)`, ASCII letters written
//!   `[aA]`, because `(?i)` would fold that letter too (the IR folds ASCII only).
//! - Strings have no escapes in CWLI, so a value is quoted with `"` or `'` (whichever it lacks);
//!   one with both quotes, a backslash or a control character is matched by a regex instead, with
//!   `\x22`, `\x27` and `\xHH` escapes. Regexes escape every metacharacter and `/`.
//! - A path crossing a list is expanded over indices `0..N` (`--array-max`, default
//!   [`DEFAULT_ARRAY_MAX`]) where CloudTrail is known to hold lists (see [`SHAPES`]); the query
//!   says so in a `# note:`. Elsewhere a path is taken to reach a scalar.
//! - A field that can hold an object or a list (which is not a Logs Insights field) is looked for in
//!   `@message` after its key; keywords (field-less values) are matched against the string and
//!   scalar tokens of `@message`. Both are stated in notes.
//! - NOT is `not (…)`, which keeps events without the field; every compound is parenthesised.
//! - What cannot be said is an error (`Diagnostic::unsupported`), never a silently different query.
//!
//! Known approximations, stated in each query that has them: list elements past `N`; JSON
//! booleans being the numbers 1/0; `tolower()` folding non-ASCII letters; `\d \w \s` being ASCII;
//! `@message` matches of objects. One is not stated per query: a `(?i)` regex also folds the Kelvin
//! sign and the long s onto `k` and `s` in event values.
//!
//! The code is split by concern: `fields.rs` (the CloudTrail shape table and the field names a
//! path reaches), `quote.rs` (names, strings, regexes and numbers as CWLI text), `message.rs`
//! (regexes over the raw `@message` JSON), `predicate.rs` (the renderer of one predicate),
//! `text.rs` (text pattern tests), `typed.rs` (Python-style tests), `elements.rs` (per-element
//! conditions over list indices), `saved_query.rs` (put-query-definition JSON) and [`referee`]
//! (the offline model of Logs Insights the tests check every query against).

mod correlation;
mod elements;
mod fields;
mod message;
mod predicate;
mod quote;
pub mod referee;
mod saved_query;
mod text;
mod typed;

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Elements, Predicate, Quantifier, Subject, Test};
use crate::rule::Rule;

use super::{Backend, RenderCx, RenderOptions, Syntax, Target};
use predicate::Renderer;
use quote::field_name;

pub use crate::cloudtrail::{kind, Elem, Kind, SHAPES};
pub use saved_query::query_definition;

/// The CloudWatch Logs Insights target.
pub struct CloudwatchBackend;

/// How many list elements an any-element test checks when `--array-max` is not given.
pub const DEFAULT_ARRAY_MAX: usize = 5;

/// The largest `--array-max`: every list is expanded element by element (a list inside a list
/// by the square), so the query, and the time and memory to build it, grow with it. Queries over
/// the 10,000-character limit are refused anyway.
pub const MAX_ARRAY_MAX: usize = 100;

/// `limit` when none is given: the most rows a query returns.
const DEFAULT_LIMIT: u64 = 10_000;

/// Fields shown when the rule names none.
const DEFAULT_FIELDS: &[&str] = &[
    "@timestamp",
    "eventSource",
    "eventName",
    "userIdentity.arn",
    "sourceIPAddress",
    "awsRegion",
    "errorCode",
];

/// How CWLI spells the Boolean operators and constants.
pub(super) static SYNTAX: Syntax = Syntax {
    and: "and",
    or: "or",
    not: "not {}",
    true_: "(1 = 1)",
    false_: "(1 = 0)",
    max_width: 100,
};

/// The hint of a too-long query that fewer list elements would shorten.
const SHRINKS_WITH_ARRAY_MAX: &str = "a smaller --array-max shortens list expansions";

/// The options that shape a Logs Insights query, checked once per run.
struct Settings {
    /// `--array-max`: how many list elements an any-element test checks.
    array_max: usize,
}

impl Settings {
    fn from_options(opts: &RenderOptions) -> Result<Settings, Diagnostic> {
        match opts.array_max.unwrap_or(DEFAULT_ARRAY_MAX) {
            0 => Err(Diagnostic::new(
                Code::Unsupported,
                "--array-max must be at least 1",
            )),
            n if n > MAX_ARRAY_MAX => Err(Diagnostic::new(
                Code::Unsupported,
                format!("--array-max {n}: at most {MAX_ARRAY_MAX}"),
            )),
            array_max => Ok(Settings { array_max }),
        }
    }
}

/// `--limit` (default 10,000), checked against what Logs Insights' `limit` command takes.
pub(super) fn checked_limit(cx: &RenderCx) -> Result<u64, Diagnostic> {
    let limit = cx.opts.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > referee::MAX_LIMIT {
        return Err(Diagnostic::new(
            Code::Unsupported,
            format!(
                "--limit {limit}: Logs Insights' limit command takes 1 to {}",
                referee::MAX_LIMIT
            ),
        ));
    }
    Ok(limit)
}

/// `--array-max`, as [`Backend::prepare`] checked it.
fn array_max(cx: &RenderCx) -> Result<usize, Diagnostic> {
    Ok(cx.settings::<Settings>()?.array_max)
}

impl Backend for CloudwatchBackend {
    /// Event counts, distinct counts, sums and means per fixed `bin()` bucket, with the
    /// approximation stated (see `correlation.rs`); other correlations are refused.
    fn correlation(
        &self,
        _rule: &Rule,
        corr: &crate::correlation::Correlation,
        cx: &mut RenderCx,
    ) -> Result<Vec<(&'static str, minijinja::Value)>, Diagnostic> {
        correlation::render(self, corr, cx)
    }

    fn target(&self) -> Target {
        Target::Cloudwatch
    }

    /// `--array-max`, checked.
    fn prepare(&self, opts: &RenderOptions) -> Result<super::Settings, Diagnostic> {
        Ok(std::sync::Arc::new(Settings::from_options(opts)?))
    }

    fn options(&self) -> &'static [super::RenderOption] {
        use super::RenderOption::*;
        &[Limit, ArrayMax, LogGroup]
    }

    /// `not (not ispresent(x))` is `ispresent(x)`, and `not (ispresent(x))` reads as
    /// `not ispresent(x)`: a presence test is true or false, never unknown.
    fn negate_text(&self, inner: &str) -> Option<String> {
        let presence = |t: &str| {
            t.strip_prefix("ispresent(")
                .and_then(|r| r.strip_suffix(')'))
                .is_some_and(|f| !f.is_empty() && !f.contains(['(', ')', '`', ' ']))
        };
        let t = inner.strip_prefix('(')?.strip_suffix(')')?;
        match t.strip_prefix("not ") {
            Some(p) if presence(p) => Some(p.to_owned()),
            None if presence(t) => Some(format!("not {t}")),
            _ => None,
        }
    }

    /// `(x = "a") or (x = "b")` is `x in ["a", "b"]`.
    fn merge_disjuncts(&self, parts: Vec<String>) -> Vec<String> {
        super::merge_equalities(parts, equality, |term, values| {
            format!("({term} in [{}])", values.join(", "))
        })
    }

    /// `(ispresent(x)) and not (x = "v")` is `(x != "v")`: a comparison with a missing field is
    /// false, `!=` included.
    fn merge_conjuncts(&self, parts: Vec<String>) -> Vec<String> {
        super::merge_presence(
            parts,
            |p| {
                p.strip_prefix("(ispresent(")
                    .and_then(|p| p.strip_suffix("))"))
                    .map(str::to_owned)
            },
            |p, x| {
                p.strip_prefix("not ")
                    .and_then(equality)
                    .filter(|(term, _)| term == x)
                    .map(|(_, v)| v)
            },
            |x, v| format!("({x} != {v})"),
        )
    }

    fn option_note(&self, option: super::RenderOption) -> Option<&'static str> {
        use super::RenderOption::*;
        matches!(option, Since | Until).then_some(
            "Logs Insights takes the time range from the console's time picker or from \
             `aws logs start-query --start-time/--end-time`, not from the query text",
        )
    }

    /// A saved query: the JSON `aws logs put-query-definition --cli-input-json` takes.
    fn saved_query(&self) -> Option<super::SavedQuery> {
        Some(query_definition)
    }

    /// A predicate on the values of a field (Sigma's reading, lists expanded) or on the one value
    /// Python's reading reaches.
    fn predicate(&self, p: &Predicate, cx: &mut RenderCx) -> Result<String, Diagnostic> {
        Renderer::new(cx, p.quantifier == Quantifier::Exact)?.predicate(p)
    }

    /// Every per-element condition is repeated over list indices (see `elements.rs`).
    fn expand_elements(
        &self,
        el: &Elements,
        cx: &mut RenderCx,
        indent: usize,
    ) -> Option<Result<String, Diagnostic>> {
        Some(self.expand_list(el, cx, indent))
    }

    /// Several text tests or several regexes on one field as few atoms as possible; keywords as
    /// one `@message` search.
    fn any_of(
        &self,
        subject: &Subject,
        tests: &[&Test],
        cx: &mut RenderCx,
    ) -> Option<Result<String, Diagnostic>> {
        let mut r = match Renderer::new(cx, false) {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        };
        let Subject::Field(path) = subject else {
            // Keywords: one @message search for the list.
            let Test::Text { cased, .. } = tests.first()? else {
                return None;
            };
            let patterns = tests
                .iter()
                .map(|t| match t {
                    Test::Text { pattern, cased: c } if c == cased => Some(pattern),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            return Some(Ok(r.keywords(&patterns, *cased)));
        };
        match tests.first()? {
            Test::Text { cased, .. } => {
                let patterns = tests
                    .iter()
                    .map(|t| match t {
                        Test::Text { pattern, cased: c } if c == cased => Some(pattern),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?;
                r.any_text(path, &patterns, *cased)
            }
            Test::Regex { flags, .. } => {
                let regexes = tests
                    .iter()
                    .map(|t| match t {
                        Test::Regex { regex, flags: f } if f == flags => Some(regex.as_str()),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?;
                r.any_regex(path, &regexes, *flags)
            }
            _ => None,
        }
    }

    /// The `fields` shown (`@timestamp` and the rule's fields, else `DEFAULT_FIELDS`), the
    /// checked `limit` and the log groups.
    fn frame(
        &self,
        rule: &Rule,
        cx: &RenderCx,
    ) -> Result<Vec<(&'static str, minijinja::Value)>, Diagnostic> {
        let limit = checked_limit(cx)?;
        let mut fields: Vec<String> = Vec::new();
        let wanted: Vec<&str> = if rule.meta.fields.is_empty() {
            DEFAULT_FIELDS.to_vec()
        } else {
            std::iter::once("@timestamp")
                .chain(rule.meta.fields.iter().map(String::as_str))
                .collect()
        };
        for f in wanted {
            let name = if f.starts_with('@') {
                f.to_owned()
            } else {
                field_name(f)?
            };
            if !fields.contains(&name) {
                fields.push(name);
            }
        }
        Ok(vec![
            (
                "fields",
                minijinja::Value::from_safe_string(fields.join(", ")),
            ),
            // The same, as a list (a bundle's frame is the union of its rules' lists).
            (
                "field_list",
                minijinja::Value::from(
                    fields
                        .iter()
                        .map(|f| minijinja::Value::from_safe_string(f.clone()))
                        .collect::<Vec<_>>(),
                ),
            ),
            ("limit", minijinja::Value::from(limit)),
            (
                "log_groups",
                minijinja::Value::from(cx.opts.log_groups.clone()),
            ),
        ])
    }

    /// A query too long because of list expansions, with `--array-max` left at its default:
    /// one element fewer, down to 2 (the query's notes say which elements were checked).
    fn shrink(
        &self,
        original: &RenderOptions,
        tried: &RenderOptions,
        err: &Diagnostic,
    ) -> Option<RenderOptions> {
        let n = tried.array_max.unwrap_or(DEFAULT_ARRAY_MAX);
        if original.array_max.is_some() || n <= 2 || !err.message.contains(SHRINKS_WITH_ARRAY_MAX) {
            return None;
        }
        Some(RenderOptions {
            array_max: Some(n - 1),
            ..tried.clone()
        })
    }

    fn bundle_template(&self) -> Option<&'static str> {
        Some("cloudwatch/bundle.cwl.j2")
    }

    fn max_query_len(&self) -> Option<usize> {
        Some(referee::MAX_QUERY_CHARS)
    }

    /// Refuse a query over the Logs Insights length limit, saying what would shorten it.
    fn finish(&self, query: String, cx: &RenderCx) -> Result<String, Diagnostic> {
        let chars = query.chars().count();
        let max = referee::MAX_QUERY_CHARS;
        if chars > max {
            let hint = if cx.needs.helpers.contains("lists") {
                SHRINKS_WITH_ARRAY_MAX
            } else {
                "split the rule's value lists over several rules"
            };
            return Err(Diagnostic::new(
                Code::Unsupported,
                format!(
                    "the query is {chars} characters, {} over the {max}-character limit of Logs \
                     Insights; {hint}",
                    chars - max
                ),
            ));
        }
        Ok(query)
    }

    /// Controls, line and paragraph separators, bidirectional and other invisible format
    /// characters become spaces.
    fn comment(&self, text: &str) -> String {
        crate::escape::comment_text(text).into_owned()
    }
}

/// `(x = "v")` read as (x, "v"), when `x` is a plain field name and `"v"` a plain string literal.
fn equality(p: &str) -> Option<(String, String)> {
    let (x, v) = p.strip_prefix('(')?.strip_suffix(')')?.split_once(" = ")?;
    let name_ok = !x.is_empty()
        && x.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@'));
    (name_ok && super::plain_quoted(v)).then(|| (x.to_owned(), v.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--array-max` is bounded both ways, and the message says by what.
    #[test]
    fn array_max_is_between_1_and_the_maximum() {
        let with = |n| {
            Settings::from_options(&RenderOptions {
                array_max: Some(n),
                ..RenderOptions::default()
            })
            .map(|s| s.array_max)
        };
        assert_eq!(with(1), Ok(1));
        assert_eq!(with(MAX_ARRAY_MAX), Ok(MAX_ARRAY_MAX));
        assert!(with(0).is_err_and(|d| d.message.contains("at least 1")));
        let err = with(100_000).err().map(|d| d.message).unwrap_or_default();
        assert!(err.contains(&format!("at most {MAX_ARRAY_MAX}")), "{err}");
    }
}
