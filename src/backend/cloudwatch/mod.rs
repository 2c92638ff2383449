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

use crate::diagnostic::{Code, Diagnostic};
use crate::eval::wildcard_match;
use crate::ir::{
    Anchor, CompareOp, Count, Elements, Expr, FieldPath, Number, Part, Pattern, Predicate,
    Quantifier, RegexFlags, Shape, Subject, Test,
};
use crate::rule::Rule;

use super::{
    join_group, negate, render_operand, Backend, ElementScope, Needs, RenderCx, RenderOptions,
    Syntax, Target,
};

pub mod referee;

pub struct CloudwatchBackend;

/// How many list elements an any-element test checks when `--array-max` is not given.
pub const DEFAULT_ARRAY_MAX: usize = 5;

/// The most field alternatives one predicate may expand to.
const MAX_ALTERNATIVES: usize = 200;

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

static SYNTAX: Syntax = Syntax {
    and: "and",
    or: "or",
    not: "not {}",
    true_: "(1 = 1)",
    false_: "(1 = 0)",
    max_width: 100,
};

/// What a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    Scalar,
    Object,
}

/// A CloudTrail path that does not hold a scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    /// Always a list.
    List(Elem),
    /// One element or a list of them (XML-derived S3 parameters).
    OneOrList(Elem),
}

/// Where CloudTrail records hold objects and lists, from the CloudTrail record reference and
/// recorded events (the Stratus Red Team detonation logs). Paths not listed (and not extending a
/// listed one) are taken to hold scalars. Any `items` key under `requestParameters` or
/// `responseElements` is a list of objects (EC2's list wrapper).
pub const SHAPES: &[(&str, Kind)] = &[
    ("userIdentity", Kind::Object),
    ("userIdentity.sessionContext", Kind::Object),
    ("userIdentity.sessionContext.attributes", Kind::Object),
    ("userIdentity.sessionContext.sessionIssuer", Kind::Object),
    (
        "userIdentity.sessionContext.webIdFederationData",
        Kind::Object,
    ),
    ("userIdentity.onBehalfOf", Kind::Object),
    ("requestParameters", Kind::Object),
    ("responseElements", Kind::Object),
    ("additionalEventData", Kind::Object),
    ("serviceEventDetails", Kind::Object),
    ("tlsDetails", Kind::Object),
    ("insightDetails", Kind::Object),
    ("edgeDeviceDetails", Kind::Object),
    ("resources", Kind::List(Elem::Object)),
    // EC2
    ("requestParameters.instanceIds", Kind::List(Elem::Scalar)),
    ("requestParameters.filters", Kind::List(Elem::Object)),
    ("requestParameters.filters.values", Kind::List(Elem::Scalar)),
    ("requestParameters.createVolumePermission", Kind::Object),
    ("requestParameters.launchPermission", Kind::Object),
    ("requestParameters.ipPermissions", Kind::Object),
    // ECS
    (
        "requestParameters.containerDefinitions",
        Kind::List(Elem::Object),
    ),
    (
        "requestParameters.containerDefinitions.command",
        Kind::List(Elem::Scalar),
    ),
    (
        "requestParameters.containerDefinitions.entryPoint",
        Kind::List(Elem::Scalar),
    ),
    (
        "requestParameters.containerDefinitions.environment",
        Kind::List(Elem::Object),
    ),
    // SSM
    ("requestParameters.parameters", Kind::Object),
    (
        "requestParameters.parameters.commands",
        Kind::List(Elem::Scalar),
    ),
    ("requestParameters.names", Kind::List(Elem::Scalar)),
    ("requestParameters.targets", Kind::List(Elem::Object)),
    // Lambda
    ("requestParameters.layers", Kind::List(Elem::Scalar)),
    ("responseElements.layers", Kind::List(Elem::Object)),
    ("responseElements.architectures", Kind::List(Elem::Scalar)),
    // RDS
    ("requestParameters.valuesToAdd", Kind::List(Elem::Scalar)),
    ("requestParameters.valuesToRemove", Kind::List(Elem::Scalar)),
    (
        "responseElements.dBSnapshotAttributes",
        Kind::List(Elem::Object),
    ),
    (
        "responseElements.dBSnapshotAttributes.attributeValues",
        Kind::List(Elem::Scalar),
    ),
    // CloudTrail
    ("requestParameters.eventSelectors", Kind::List(Elem::Object)),
    (
        "requestParameters.eventSelectors.dataResources",
        Kind::List(Elem::Object),
    ),
    (
        "requestParameters.eventSelectors.dataResources.values",
        Kind::List(Elem::Scalar),
    ),
    (
        "requestParameters.eventSelectors.excludeManagementEventSources",
        Kind::List(Elem::Scalar),
    ),
    (
        "requestParameters.advancedEventSelectors",
        Kind::List(Elem::Object),
    ),
    (
        "requestParameters.advancedEventSelectors.fieldSelectors",
        Kind::List(Elem::Object),
    ),
    ("responseElements.eventSelectors", Kind::List(Elem::Object)),
    // S3 (headers are lists; XML lists of one element are objects)
    ("requestParameters.x-amz-acl", Kind::List(Elem::Scalar)),
    ("requestParameters.bucketPolicy", Kind::Object),
    ("requestParameters.AccessControlPolicy", Kind::Object),
    (
        "requestParameters.AccessControlPolicy.AccessControlList",
        Kind::Object,
    ),
    (
        "requestParameters.AccessControlPolicy.AccessControlList.Grant",
        Kind::OneOrList(Elem::Object),
    ),
    ("requestParameters.LifecycleConfiguration", Kind::Object),
    (
        "requestParameters.LifecycleConfiguration.Rule",
        Kind::OneOrList(Elem::Object),
    ),
    (
        "requestParameters.PublicAccessBlockConfiguration",
        Kind::Object,
    ),
    // SageMaker
    ("requestParameters.onCreate", Kind::List(Elem::Object)),
    ("requestParameters.onStart", Kind::List(Elem::Object)),
    // Tags, IAM Roles Anywhere, Secrets Manager
    ("requestParameters.tags", Kind::List(Elem::Object)),
    ("requestParameters.roleArns", Kind::List(Elem::Scalar)),
    ("requestParameters.secretIdList", Kind::List(Elem::Scalar)),
];

/// What CloudTrail holds at `path`, if not a scalar.
pub fn kind(path: &[String]) -> Option<Kind> {
    let joined = path.join(".");
    if let Some((_, k)) = SHAPES.iter().find(|(p, _)| *p == joined) {
        return Some(*k);
    }
    if path.len() >= 2
        && path.last().is_some_and(|s| s == "items")
        && matches!(path[0].as_str(), "requestParameters" | "responseElements")
    {
        return Some(Kind::List(Elem::Object));
    }
    let prefix = format!("{joined}.");
    if SHAPES.iter().any(|(p, _)| p.starts_with(&prefix)) {
        return Some(Kind::Object);
    }
    None
}

/// Can the value at `path` be an object or a list (whose JSON text the IR tests)?
fn container(path: &[String]) -> Option<Kind> {
    kind(path)
}

/// Words that are never written as bare field names (keywords and commands).
const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "like", "fields", "filter", "sort", "limit", "stats", "display",
    "parse", "dedup", "as", "by", "asc", "desc", "true", "false", "null",
];

/// A field name as Logs Insights reads it: bare when it is letters, digits, `@` and `.` (starting
/// with a letter or `@`), else backticked.
fn field_name(name: &str) -> Result<String, Diagnostic> {
    if name.contains('`') || name.chars().any(char::is_control) {
        return Err(Diagnostic::unsupported(
            "cloudwatch",
            format!("the field name {name:?} (a backtick or control character cannot be quoted)"),
        ));
    }
    let bare = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '@' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '@')
        && !name.ends_with('.')
        && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name));
    Ok(if bare {
        name.to_owned()
    } else {
        format!("`{name}`")
    })
}

/// A CWLI string literal for `s`, if one exists (no escapes exist: a value with both quotes, a
/// backslash or a control character has none).
fn quote(s: &str) -> Option<String> {
    if s.contains('\\') || s.chars().any(unsafe_char) {
        return None;
    }
    if !s.contains('"') {
        Some(format!("\"{s}\""))
    } else if !s.contains('\'') {
        Some(format!("'{s}'"))
    } else {
        None
    }
}

/// Characters written as escapes in regexes and never put in strings or comments.
fn unsafe_char(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// How a case-insensitive match is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// Exactly (cased, or nothing to fold).
    Exact,
    /// With `(?i)`.
    Fold,
    /// ASCII letters as `[aA]`, no `(?i)` (a non-ASCII letter must not fold).
    Classes,
}

fn case_for<'a>(lits: impl Iterator<Item = &'a str> + Clone, fold: bool) -> Case {
    if !fold
        || !lits
            .clone()
            .any(|s| s.chars().any(|c| c.is_ascii_alphabetic()))
    {
        return Case::Exact;
    }
    let cased_non_ascii = lits.flat_map(str::chars).any(|c| {
        !c.is_ascii()
            && (c.to_lowercase().ne(std::iter::once(c)) || c.to_uppercase().ne(std::iter::once(c)))
    });
    if cased_non_ascii {
        Case::Classes
    } else {
        Case::Fold
    }
}

fn flag(case: Case) -> &'static str {
    if case == Case::Fold {
        "(?i)"
    } else {
        ""
    }
}

/// A literal as CWLI regex text: metacharacters and `/` backslash-escaped, quotes and control
/// characters as `\x..` escapes, ASCII letters as `[aA]` classes in [`Case::Classes`].
fn re_lit(s: &str, case: Case) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
            | '/' => {
                out.push('\\');
                out.push(c);
            }
            '"' => out.push_str(r"\x22"),
            '\'' => out.push_str(r"\x27"),
            c if c.is_ascii_alphabetic() && case == Case::Classes => {
                out.push('[');
                out.push(c.to_ascii_lowercase());
                out.push(c.to_ascii_uppercase());
                out.push(']');
            }
            c if unsafe_char(c) => out.push_str(&hex_escape(c)),
            c => out.push(c),
        }
    }
    out
}

fn hex_escape(c: char) -> String {
    let v = u32::from(c);
    if v < 0x80 {
        format!("\\x{v:02X}")
    } else {
        format!("\\x{{{v:X}}}")
    }
}

/// A rule's regex as the body of a CWLI regex literal: `/`, quotes and control characters escaped,
/// everything else as written (the regex was checked to be in the portable subset).
fn re_body(re: &str) -> String {
    let mut out = String::with_capacity(re.len() + 8);
    let mut chars = re.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n @ ('"' | '\'')) => out.push_str(&hex_escape(n)),
                Some(n) if unsafe_char(n) => out.push_str(&hex_escape(n)),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push_str(r"\\"),
            },
            '/' => out.push_str(r"\/"),
            '"' | '\'' => out.push_str(&hex_escape(c)),
            c if unsafe_char(c) => out.push_str(&hex_escape(c)),
            c => out.push(c),
        }
    }
    out
}

/// A wildcard pattern as regex text, `*` and `?` spelled `any` and `one`.
fn pattern_re(parts: &[Part], case: Case, any: &str, one: &str) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Lit(s) => re_lit(s, case),
            Part::AnyRun => any.to_owned(),
            Part::OneChar => one.to_owned(),
        })
        .collect()
}

fn literals(p: &Pattern) -> impl Iterator<Item = &str> + Clone {
    p.0.iter().filter_map(|x| match x {
        Part::Lit(s) => Some(s.as_str()),
        _ => None,
    })
}

/// `-?[1-9][0-9]{0,14}` or `0`: an integer a number field can equal exactly.
fn canonical_int(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    s == "0"
        || (!digits.is_empty()
            && digits.len() <= 15
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// A number as a CWLI literal (no exponent form).
fn number_text(n: &Number) -> String {
    let v = n.value;
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

const TYPES_NOTE: &str = "Logs Insights keeps no JSON types: in Python-style tests a string that \
    spells a number is not told apart from the number (nor \"1\"/\"0\" from true/false), and a \
    string type check only tests that the field is present";

const TYPED_NOTE: &str = "Logs Insights keeps no JSON types: where a Python-style test needs one \
    (a string, not a number with the same text), it is read from @message after the field's key, \
    where another value with the same key can stand in for it";

/// The first character of a JSON string token, and of a number or Boolean token.
const STRING_TOKEN: &str = r"\x22";
const BARE_TOKEN: &str = r"[-0-9tf]";

const TRUTHY_NOTE: &str = "truthiness: a field is false when missing, null, \"\", 0 or false; \
    Logs Insights also reads the string \"0\" as 0";

/// A JSON number literal, whole.
const JSON_NUMBER: &str = r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$";

const BOOL_NOTE: &str = "JSON booleans are the numbers 1 and 0 in Logs Insights: `= 1`/`= 0` \
    stand for true/false and also match 1 and 0 written as numbers or strings (and a test for 1 or \
    0 also matches true/false)";

/// Regex pieces over `@message` (compact JSON): a prefix that consumes whole string tokens, so
/// that what follows starts outside a string; the spellings of `*` and `?` inside a string, which
/// consume whole escapes (`\"`, `\u0000`) so a literal can only start at a character boundary; and
/// inside a bare number token.
const OUTSIDE_STRINGS: &str = r"^(?:[^\x22]|\x22(?:[^\x22\\]|\\.)*\x22)*";
const IN_STRING_ANY: &str = r"(?:[^\x22\\]|\\u[0-9A-Fa-f]{4}|\\[^u])*";
const IN_STRING_ONE: &str = r"(?:[^\x22\\]|\\u[0-9A-Fa-f]{4}|\\[^u])";
const IN_NUMBER_ANY: &str = r"[0-9.eE+-]*";
const IN_NUMBER_ONE: &str = r"[0-9.eE+-]";
/// Where a key starts in compact JSON: after `{` or `,` (a quote inside a string follows `\`).
const KEY_START: &str = r"[{,]\s*";

/// One object member whose value is a string, another scalar token, or an object or list of
/// those: `"k":"v"`, `"k":1`, `"k":["a","b"]`.
const MEMBER: &str = r"\x22(?:[^\x22\\]|\\.)*\x22\s*:\s*(?:\x22(?:[^\x22\\]|\\.)*\x22|[^\x22{}\[\],\s]+|[\{\[](?:\x22(?:[^\x22\\]|\\.)*\x22|[^\x22{}\[\]])*[\}\]])";
const NUMBER_TOKEN: &str = r"[0-9-][0-9.eE+-]*";

/// A string's text inside JSON (what `@message` holds): `"`, `\` and control characters escaped.
fn json_inner(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted[1..quoted.len().saturating_sub(1).max(1)].to_owned()
}

/// A regex piece of one pattern: anchored at the start and/or end, needing `(?s)`.
struct Frag {
    start: bool,
    end: bool,
    dotall: bool,
    body: String,
}

/// Whole-text patterns sorted by the form that tests them.
#[derive(Default)]
struct Forms {
    /// Quoted literals (and the bare integers) for `=` / `in`.
    exact: Vec<String>,
    /// Quoted literals for `like`.
    likes: Vec<String>,
    /// Regex pieces, by case mode.
    frags: Vec<(Case, Frag)>,
}

fn classify(p: &Pattern, fold: bool, forms: &mut Forms) {
    let case = case_for(literals(p), fold);
    let frag = |start, end, dotall, body| Frag {
        start,
        end,
        dotall,
        body,
    };
    let f = match p.shape() {
        Shape::Exact(s) => match quote(s) {
            Some(q) if case == Case::Exact => {
                forms.exact.push(q);
                if canonical_int(s) {
                    forms.exact.push(s.to_owned());
                }
                return;
            }
            _ => frag(true, true, false, re_lit(s, case)),
        },
        Shape::Contains(s) => match quote(s) {
            Some(q) if case == Case::Exact && !s.is_empty() => {
                forms.likes.push(q);
                return;
            }
            _ => frag(false, false, false, re_lit(s, case)),
        },
        Shape::Prefix(s) => frag(true, false, false, re_lit(s, case)),
        Shape::Suffix(s) => frag(false, true, false, re_lit(s, case)),
        Shape::Anything | Shape::General => {
            frag(true, true, true, pattern_re(&p.0, case, ".*", "."))
        }
    };
    forms.frags.push((case, f));
}

/// The atoms testing field `f` against sorted patterns.
fn atoms_for(f: &str, forms: &Forms) -> Vec<String> {
    let mut atoms = Vec::new();
    match forms.exact.as_slice() {
        [] => {}
        [one] => atoms.push(format!("{f} = {one}")),
        many => atoms.push(format!("{f} in [{}]", many.join(", "))),
    }
    for q in &forms.likes {
        atoms.push(format!("{f} like {q}"));
    }
    for case in [Case::Exact, Case::Fold, Case::Classes] {
        let group: Vec<&Frag> = forms
            .frags
            .iter()
            .filter(|(c, _)| *c == case)
            .map(|(_, x)| x)
            .collect();
        if group.is_empty() {
            continue;
        }
        let flags = match (case == Case::Fold, group.iter().any(|x| x.dotall)) {
            (true, true) => "(?is)",
            (true, false) => "(?i)",
            (false, true) => "(?s)",
            (false, false) => "",
        };
        let anchored = |x: &Frag| {
            format!(
                "{}{}{}",
                if x.start { "^" } else { "" },
                x.body,
                if x.end { "$" } else { "" }
            )
        };
        let body = match group.as_slice() {
            [one] => format!(
                "{}{flags}{}{}",
                if one.start { "^" } else { "" },
                one.body,
                if one.end { "$" } else { "" }
            ),
            many if many.iter().all(|x| x.start) || many.iter().all(|x| x.end) => {
                // A shared anchor goes outside the group: `^(?i)(?:a|b)$`.
                let start = many.iter().all(|x| x.start);
                let end = many.iter().all(|x| x.end);
                let inner = many
                    .iter()
                    .map(|x| {
                        format!(
                            "{}{}{}",
                            if x.start && !start { "^" } else { "" },
                            x.body,
                            if x.end && !end { "$" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("|");
                format!(
                    "{}{flags}(?:{inner}){}",
                    if start { "^" } else { "" },
                    if end { "$" } else { "" }
                )
            }
            many => format!(
                "{flags}(?:{})",
                many.iter()
                    .map(|x| anchored(x))
                    .collect::<Vec<_>>()
                    .join("|")
            ),
        };
        atoms.push(format!("{f} =~ /{body}/"));
    }
    atoms
}

struct Renderer<'a> {
    n: usize,
    needs: &'a mut Needs,
    /// The element the predicate's paths are relative to, inside an expanded
    /// [`crate::ir::Expr::Elements`].
    scope: Option<&'a ElementScope>,
    /// Python's reading ([`Quantifier::Exact`]): a path walks objects only and nothing is expanded.
    exact: bool,
}

impl<'a> Renderer<'a> {
    fn new(cx: &'a mut RenderCx, exact: bool) -> Result<Self, Diagnostic> {
        let n = array_max(cx.opts)?;
        Ok(Renderer {
            n,
            needs: &mut cx.needs,
            scope: cx.elements.last(),
            exact,
        })
    }

    fn or(atoms: Vec<String>) -> String {
        if atoms.is_empty() {
            return SYNTAX.false_.to_owned();
        }
        format!("({})", atoms.join(" or "))
    }

    /// The path from the event root (without element indices) and the Logs Insights name it
    /// starts from: an element's name inside a scope.
    fn base(&self) -> (Vec<String>, Option<String>) {
        match self.scope {
            Some(s) => (s.path.segments().to_vec(), Some(s.name.clone())),
            None => (Vec::new(), None),
        }
    }

    /// What CloudTrail holds at `path` (relative to the scope's element), if not a scalar.
    fn container(&self, path: &FieldPath) -> Option<Kind> {
        let (mut full, _) = self.base();
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
        container(&full)
    }

    /// Is `path` the scope's element itself, an object by the list's known shape?
    fn object_element(&self, path: &FieldPath) -> bool {
        self.scope.is_some() && path.segments().is_empty() && self.container(path).is_some()
    }

    /// Can Python's reading reach `path` (through objects only)? A list known on the way stops it.
    fn reachable(&self, path: &FieldPath) -> bool {
        let (mut full, _) = self.base();
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
    fn names(&mut self, path: &FieldPath, cross_end: bool) -> Result<Vec<String>, Diagnostic> {
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
        let (base_path, base_name) = self.base();
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
                let n = self.n;
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

    fn predicate(&mut self, p: &Predicate) -> Result<String, Diagnostic> {
        let path = match &p.subject {
            Subject::Field(path) => path,
            Subject::Anywhere if p.quantifier == Quantifier::Any => return self.keyword(&p.test),
            Subject::Anywhere => {
                return Err(Diagnostic::unsupported(
                    "cloudwatch",
                    "a field-less Python-style test",
                ))
            }
        };
        match &p.test {
            Test::Is(_) | Test::Str { .. } | Test::Truthy | Test::Type(_) | Test::HasKey(_) => {
                self.python(path, &p.test)
            }
            Test::Exists => self.exists(path),
            Test::Null => {
                // `(not ispresent(f))`: grouped, so a NOT around it reads `not (not …)`.
                let e = self.exists(path)?;
                if e == SYNTAX.false_ {
                    return Ok(SYNTAX.true_.to_owned());
                }
                let single = e.strip_prefix('(').and_then(|x| x.strip_suffix(')'));
                Ok(match single {
                    Some(atom) if atom.starts_with("ispresent(") && !atom.contains(" or ") => {
                        format!("(not {atom})")
                    }
                    _ => format!("(not {e})"),
                })
            }
            Test::Text { pattern, cased } => self.text(path, pattern, *cased),
            Test::Regex { regex, flags } => self.regex(path, regex, *flags),
            Test::Cidr(c) => {
                let names = self.names(path, true)?;
                Ok(Self::or(
                    names
                        .iter()
                        .map(|f| format!("isIpInSubnet({f}, \"{c}\")"))
                        .collect(),
                ))
            }
            Test::Compare { op, value } => self.compare(path, *op, value),
            Test::FieldRef {
                other,
                anchor,
                cased,
                before,
                after,
            } => self.field_ref(path, other, *anchor, *cased, (before, after)),
        }
    }

    /// Some value at `path` is present and not null.
    fn exists(&mut self, path: &FieldPath) -> Result<String, Diagnostic> {
        if self.exact && !self.reachable(path) {
            return Ok(SYNTAX.false_.to_owned());
        }
        if self.object_element(path) {
            // The list holds objects (see SHAPES): an element is never null.
            return Ok(SYNTAX.true_.to_owned());
        }
        if self.container(path).is_some() {
            // An object or a list is no field: only @message shows it.
            let key = self.key_of(path);
            return Ok(format!("(@message =~ /{key}\\s*:\\s*[^n\\s]/)"));
        }
        let names = self.names(path, false)?;
        Ok(Self::or(
            names.iter().map(|f| format!("ispresent({f})")).collect(),
        ))
    }

    /// The regex for `"key"` (before its `:`) in `@message`, noting the approximation. When the
    /// path has a parent key below a top-level object, the key must be a member of an object
    /// under it, after simple members only (`"add":{"items"`, `"p":{"a":1,"k"`).
    fn key_of(&mut self, path: &FieldPath) -> String {
        let (re, key, parent) = self.key_re(path);
        let shown = self.shown(path);
        self.needs.note(match parent {
            Some(parent) => format!(
                "{shown} can be an object or a list, which Logs Insights does not make a field: \
                 it is looked for in @message as a key \"{key}\" in an object under a key \
                 \"{parent}\" (at any depth)"
            ),
            None => format!(
                "{shown} can be an object or a list, which Logs Insights does not make a field: \
                 it is looked for in @message after a key \"{key}\" (at any depth)"
            ),
        });
        re
    }

    /// The key regex of [`Renderer::key_of`], the key and its parent key, if used.
    fn key_re(&self, path: &FieldPath) -> (String, String, Option<String>) {
        let (mut full, _) = self.base();
        full.extend(path.segments().iter().cloned());
        let key = full.last().cloned().unwrap_or_default();
        // Under a top-level object (requestParameters, ...) many members precede: the key alone.
        // A parent that is a list (or the scope's element) holds the key inside `[{…}]`: the key
        // alone then too.
        let in_element = self.scope.is_some() && path.segments().len() < 2;
        let parent_is_list = full.len() >= 2
            && matches!(
                kind(&full[..full.len() - 1]),
                Some(Kind::List(_) | Kind::OneOrList(_))
            );
        let parent = (full.len() >= 3 && !in_element && !parent_is_list)
            .then(|| full[full.len() - 2].clone());
        let key_re = format!(r"\x22{}\x22", re_lit(&json_inner(&key), Case::Exact));
        // A key's opening quote follows `{` or `,`; a quote inside a string follows `\`.
        let re = match &parent {
            Some(parent) => format!(
                r"{KEY_START}\x22{}\x22\s*:\s*\{{\s*(?:{MEMBER}\s*,\s*)*{key_re}",
                re_lit(&json_inner(parent), Case::Exact)
            ),
            None => format!("{KEY_START}{key_re}"),
        };
        (re, key, parent)
    }

    /// `atom`, and the JSON type of the value at `path` read from `@message` (the token after its
    /// key starts with `token`), which fields do not keep. Not for a list element itself.
    fn typed(&mut self, path: &FieldPath, atom: String, token: &str) -> String {
        if self.scope.is_some() && path.segments().is_empty() {
            self.types_note();
            return atom;
        }
        let (key, _, _) = self.key_re(path);
        self.needs.note(TYPED_NOTE.to_owned());
        format!("({atom} and @message =~ /{key}\\s*:\\s*{token}/)")
    }

    /// A path as notes show it: from the event root, `[]` for the elements of a list.
    fn shown(&self, path: &FieldPath) -> String {
        let mut segs: Vec<String> = match self.scope {
            Some(s) => vec![format!("{}[]", s.path)],
            None => Vec::new(),
        };
        segs.extend(path.segments().iter().cloned());
        segs.join(".")
    }

    /// `@message` holds the key of `path` followed by a value starting with `tail` (a regex).
    fn after_key(&mut self, path: &FieldPath, tail: &str) -> String {
        let key = self.key_of(path);
        format!("(@message =~ /{key}\\s*:\\s*{tail}/)")
    }

    fn types_note(&mut self) {
        self.needs.note(TYPES_NOTE.to_owned());
    }

    /// A Python-style test (Panther `==`, string methods, truthiness, types, keys) on the one value
    /// Python's reading reaches.
    fn python(&mut self, path: &FieldPath, test: &Test) -> Result<String, Diagnostic> {
        let f = if self.reachable(path) {
            self.names(path, false)?.pop()
        } else {
            return Ok(SYNTAX.false_.to_owned());
        };
        let kind = self.container(path);
        let none = || Ok(SYNTAX.false_.to_owned());
        if self.object_element(path) {
            // An element of a list of objects (see SHAPES), which is no field.
            match test {
                Test::Type(crate::ir::JsonType::Object) => return Ok(SYNTAX.true_.to_owned()),
                Test::Type(_) | Test::Is(_) | Test::Str { .. } => return none(),
                Test::Truthy => return Err(Diagnostic::unsupported(
                    "cloudwatch",
                    "the truthiness of a list element that is an object (elements are not fields)",
                )),
                _ => {}
            }
        }
        match test {
            Test::Is(v) => {
                let Some(f) = f else { return none() };
                match v {
                    serde_json::Value::String(s) => {
                        let atom = match quote(s) {
                            Some(q) => format!("({f} = {q})"),
                            None => format!("({f} =~ /^{}$/)", re_lit(s, Case::Exact)),
                        };
                        Ok(if crate::eval::is_json_number(s) {
                            // A number (or true/false) has the same text as a field.
                            self.typed(path, atom, STRING_TOKEN)
                        } else {
                            atom
                        })
                    }
                    serde_json::Value::Number(n) => {
                        let text = match n.as_i64() {
                            Some(i) if i.unsigned_abs() < 1_000_000_000_000_000 => i.to_string(),
                            _ => number_text(&Number {
                                value: n.as_f64().unwrap_or(f64::NAN),
                                text: n.to_string(),
                            }),
                        };
                        Ok(self.typed(path, format!("({f} = {text})"), BARE_TOKEN))
                    }
                    serde_json::Value::Bool(b) => Ok(self.typed(
                        path,
                        format!("({f} = {})", u8::from(*b)),
                        BARE_TOKEN,
                    )),
                    other => Err(Diagnostic::unsupported(
                        "cloudwatch",
                        format!("a Python == with {other} (only strings, numbers and booleans are fields)"),
                    )),
                }
            }
            Test::Str { pattern, fold } => {
                let Some(f) = f else { return none() };
                let number_chars = |l: &str| l.chars().all(|c| "0123456789.-+eE".contains(c));
                let atom = if pattern.shape() == Shape::Anything {
                    format!("ispresent({f})")
                } else {
                    Self::or(self.text_atoms(&f, pattern, *fold))
                };
                Ok(if literals(pattern).all(number_chars) {
                    // Only a string may match, and a number's text could.
                    self.typed(path, atom, STRING_TOKEN)
                } else {
                    atom
                })
            }
            Test::Truthy => {
                // A non-empty object or list, seen in @message; a truthy scalar, as a field.
                let mut atoms = Vec::new();
                if kind.is_some() {
                    atoms.push(self.after_key(path, r"(?:\{\s*[^\s}]|\[\s*[^\s\]])"));
                }
                if let Some(f) = f {
                    self.needs.note(TRUTHY_NOTE.to_owned());
                    atoms.push(format!("(ispresent({f}) and {f} != \"\" and {f} != 0)"));
                }
                Ok(Self::or(atoms))
            }
            Test::Type(t) => {
                use crate::ir::JsonType;
                match (t, f) {
                    (JsonType::Object, _) => Ok(self.after_key(path, r"\{")),
                    (JsonType::Array, _) => Ok(self.after_key(path, r"\[")),
                    (_, None) => none(),
                    (JsonType::String, Some(f)) => {
                        Ok(self.typed(path, format!("ispresent({f})"), STRING_TOKEN))
                    }
                    (JsonType::Number, Some(f)) => {
                        Ok(self.typed(path, format!("({f} =~ /{JSON_NUMBER}/)"), "-?[0-9]"))
                    }
                    (JsonType::Boolean, Some(f)) => {
                        Ok(self.typed(path, format!("({f} in [0, 1])"), "(?:true|false)"))
                    }
                }
            }
            Test::HasKey(k) => {
                if matches!(kind, Some(Kind::List(_))) {
                    return none();
                }
                let mut child = path.segments().to_vec();
                child.push(k.clone());
                let child = FieldPath(child);
                let mut atoms = self.names(&child, false)?;
                atoms
                    .iter_mut()
                    .for_each(|a| *a = format!("ispresent({a})"));
                // A key whose value is null, an object or a list is no field: look in @message.
                atoms.push(self.after_key(&child, r"(?:null|\{|\[)"));
                Ok(Self::or(atoms))
            }
            _ => Err(Diagnostic::unsupported(
                "cloudwatch",
                format!("the test {}", test_name(test)),
            )),
        }
    }

    fn text(
        &mut self,
        path: &FieldPath,
        pattern: &Pattern,
        cased: bool,
    ) -> Result<String, Diagnostic> {
        let fold = !cased;
        if pattern.shape() == Shape::Anything {
            return self.exists(path);
        }
        let names = self.names(path, true)?;
        let mut atoms = Vec::new();
        for f in &names {
            atoms.extend(self.text_atoms(f, pattern, fold));
        }
        let trues = wildcard_match(&pattern.0, "true", fold);
        let falses = wildcard_match(&pattern.0, "false", fold);
        if trues
            || falses
            || wildcard_match(&pattern.0, "1", fold)
            || wildcard_match(&pattern.0, "0", fold)
        {
            self.needs.note(BOOL_NOTE.to_owned());
        }
        for f in &names {
            if trues {
                atoms.push(format!("{f} = 1"));
            }
            if falses {
                atoms.push(format!("{f} = 0"));
            }
        }
        if let Some(k) = self.container(path) {
            if can_match_container_text(pattern) {
                let covered = !self.exact
                    && k == Kind::List(Elem::Scalar)
                    && matches!(pattern.shape(), Shape::Contains(s) if json_safe(s));
                if !covered {
                    atoms.push(self.in_container(path, pattern, fold)?);
                }
            }
        }
        Ok(Self::or(atoms))
    }

    /// Tests of one scalar field against a whole-text pattern.
    fn text_atoms(&mut self, f: &str, pattern: &Pattern, fold: bool) -> Vec<String> {
        let mut forms = Forms::default();
        classify(pattern, fold, &mut forms);
        atoms_for(f, &forms)
    }

    /// Several text tests (one `cased` mode) on one field, as few atoms as possible: one `=`/`in`
    /// for the literals that can be quoted, one regex per case mode for the rest.
    fn any_text(
        &mut self,
        path: &FieldPath,
        patterns: &[&Pattern],
        cased: bool,
    ) -> Option<Result<String, Diagnostic>> {
        let fold = !cased;
        if patterns.iter().any(|p| p.shape() == Shape::Anything) {
            return None;
        }
        if let Some(k) = self.container(path) {
            let all_covered = patterns.iter().all(|p| {
                !can_match_container_text(p)
                    || (k == Kind::List(Elem::Scalar)
                        && matches!(p.shape(), Shape::Contains(s) if json_safe(s)))
            });
            if !all_covered {
                return None;
            }
        }
        let names = match self.names(path, true) {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        let mut forms = Forms::default();
        let (mut trues, mut falses) = (false, false);
        for p in patterns {
            classify(p, fold, &mut forms);
            trues |= wildcard_match(&p.0, "true", fold);
            falses |= wildcard_match(&p.0, "false", fold);
            if wildcard_match(&p.0, "true", fold)
                || wildcard_match(&p.0, "false", fold)
                || wildcard_match(&p.0, "1", fold)
                || wildcard_match(&p.0, "0", fold)
            {
                self.needs.note(BOOL_NOTE.to_owned());
            }
        }
        let mut atoms = Vec::new();
        for f in &names {
            atoms.extend(atoms_for(f, &forms));
        }
        for f in &names {
            if trues {
                atoms.push(format!("{f} = 1"));
            }
            if falses {
                atoms.push(format!("{f} = 0"));
            }
        }
        Some(Ok(Self::or(atoms)))
    }

    /// Several regex tests with the same flags on one field, as one alternation.
    fn any_regex(
        &mut self,
        path: &FieldPath,
        regexes: &[&str],
        flags: RegexFlags,
    ) -> Option<Result<String, Diagnostic>> {
        if self
            .container(path)
            .is_some_and(|k| k != Kind::List(Elem::Scalar))
        {
            return None;
        }
        let mut bodies = Vec::new();
        for re in regexes {
            match self.checked_body(re) {
                Ok(b) => bodies.push(format!("(?:{b})")),
                Err(e) => return Some(Err(e)),
            }
        }
        if self.container(path).is_some() {
            self.needs.note(format!(
                "the regex on {path} is tested on each list element, not on the list's JSON text"
            ));
        }
        let names = match self.names(path, true) {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        let body = format!("{}{}", flags.inline_prefix(), bodies.join("|"));
        Some(Ok(Self::or(
            names.iter().map(|f| format!("{f} =~ /{body}/")).collect(),
        )))
    }

    /// A rule regex checked against the portable subset, as a regex literal body.
    fn checked_body(&mut self, regex: &str) -> Result<String, Diagnostic> {
        let portable = referee::regex::check(regex).map_err(|e| {
            Diagnostic::new(
                Code::Unsupported,
                format!("the regular expression '{regex}' is unsupported by cloudwatch: {e}"),
            )
        })?;
        if portable.perl_classes {
            self.needs.note(
                "\\d, \\w and \\s match ASCII characters only in Logs Insights (Unicode digits, \
                 letters and spaces in the reference)"
                    .to_owned(),
            );
        }
        Ok(re_body(regex))
    }

    /// A text test on an object's (or list's) JSON text, through `@message`: only a pattern
    /// unanchored at both ends can be, as a superset.
    fn in_container(
        &mut self,
        path: &FieldPath,
        pattern: &Pattern,
        fold: bool,
    ) -> Result<String, Diagnostic> {
        let parts = &pattern.0;
        let unanchored =
            parts.first() == Some(&Part::AnyRun) && parts.last() == Some(&Part::AnyRun);
        if !unanchored {
            return Err(Diagnostic::unsupported(
                "cloudwatch",
                format!(
                    "a whole-value match of '{pattern}' on {path}, which can be an object or a \
                     list (Logs Insights has no field for its JSON text; only contains can be \
                     looked for in @message)"
                ),
            ));
        }
        let inner = &parts[1..parts.len() - 1];
        let case = case_for(literals(pattern), fold);
        let key = self.key_of(path);
        Ok(format!(
            "@message =~ /(?s){key}\\s*:.*{}{}/",
            flag(case),
            pattern_re(inner, case, ".*", ".")
        ))
    }

    fn regex(
        &mut self,
        path: &FieldPath,
        regex: &str,
        flags: RegexFlags,
    ) -> Result<String, Diagnostic> {
        let regex = &text_anchors(regex, flags);
        let body = format!("{}{}", flags.inline_prefix(), self.checked_body(regex)?);
        let body = if body.is_empty() {
            "(?:)".to_owned()
        } else {
            body
        };
        let names = self.names(path, true)?;
        let mut atoms: Vec<String> = names.iter().map(|f| format!("{f} =~ /{body}/")).collect();
        match self.container(path) {
            Some(Kind::List(Elem::Scalar)) if !self.exact => self.needs.note(format!(
                "the regex on {path} is tested on each list element, not on the list's JSON text"
            )),
            Some(_) => {
                if regex.contains('^') || regex.contains('$') {
                    return Err(Diagnostic::unsupported(
                        "cloudwatch",
                        format!(
                            "an anchored regex on {path}, which can be an object or a list (its \
                             JSON text is only reachable in @message)"
                        ),
                    ));
                }
                let key = self.key_of(path);
                atoms.push(format!("@message =~ /(?s){key}\\s*:.*{body}/"));
            }
            None => {}
        }
        Ok(Self::or(atoms))
    }

    fn compare(
        &mut self,
        path: &FieldPath,
        op: CompareOp,
        value: &Number,
    ) -> Result<String, Diagnostic> {
        let bools = op.holds(0.0, value.value) || op.holds(1.0, value.value);
        let num = number_text(value);
        let names = self.names(path, true)?;
        let atoms = Self::or(
            names
                .iter()
                .map(|f| format!("{f} {} {num}", op.symbol()))
                .collect(),
        );
        if bools && self.exact && !names.is_empty() {
            // One value: that it is a number or a string, not true/false (1/0), is in @message.
            return Ok(self.typed(path, atoms, r"[-0-9\x22]"));
        }
        if bools {
            self.needs.note(BOOL_NOTE.to_owned());
        }
        Ok(atoms)
    }

    fn field_ref(
        &mut self,
        path: &FieldPath,
        other: &FieldPath,
        anchor: Anchor,
        cased: bool,
        (before, after): (&str, &str),
    ) -> Result<String, Diagnostic> {
        for p in [path, other] {
            match self.container(p) {
                Some(Kind::List(Elem::Scalar)) if p == path && !self.exact => self.needs.note(format!(
                    "the field reference on {p} compares each list element, not the list's JSON text"
                )),
                Some(_) => {
                    return Err(Diagnostic::unsupported(
                        "cloudwatch",
                        format!(
                            "a field reference with {p}, which can be an object or a list (not a \
                             Logs Insights field)"
                        ),
                    ))
                }
                None => {}
            }
        }
        let mine = self.names(path, true)?;
        let theirs = self.names(other, false)?;
        if !cased {
            self.needs.note(
                "tolower() also folds non-ASCII letters (the reference folds ASCII letters only)"
                    .to_owned(),
            );
        }
        let wrap = |f: &str| {
            if cased {
                f.to_owned()
            } else {
                format!("tolower({f})")
            }
        };
        // Literal text around theirs: `concat()`, only where their field is present.
        let affix = |s: &str| {
            quote(s).ok_or_else(|| {
                Diagnostic::unsupported(
                    "cloudwatch",
                    format!(
                        "the text {s:?} around a field reference (a Logs Insights string cannot \
                         hold both quotes, a backslash or a control character)"
                    ),
                )
            })
        };
        // The literal parts, empty ones left out (None: no text around theirs).
        let around = if before.is_empty() && after.is_empty() {
            None
        } else {
            let lit = |t: &str| {
                if t.is_empty() {
                    Ok(None)
                } else {
                    affix(t).map(Some)
                }
            };
            Some((lit(before)?, lit(after)?))
        };
        let mut atoms = Vec::new();
        for a in &mine {
            for b in &theirs {
                let (a, b, guard) = match &around {
                    None => (wrap(a), wrap(b), None),
                    Some((pre, post)) => {
                        let parts: Vec<&str> = [pre.as_deref(), Some(b.as_str()), post.as_deref()]
                            .into_iter()
                            .flatten()
                            .collect();
                        (
                            wrap(a),
                            wrap(&format!("concat({})", parts.join(", "))),
                            Some(format!("ispresent({b})")),
                        )
                    }
                };
                let atom = match anchor {
                    Anchor::Whole => format!("{a} = {b}"),
                    Anchor::Prefix => format!("startsWith({a}, {b}) = 1"),
                    Anchor::Suffix => format!("endsWith({a}, {b}) = 1"),
                    Anchor::Substring => format!("strcontains({a}, {b}) = 1"),
                };
                atoms.push(match guard {
                    None => atom,
                    Some(g) => format!("({g} and {atom})"),
                });
            }
        }
        Ok(Self::or(atoms))
    }

    /// A keyword: some string, number or boolean anywhere in the event matches the pattern. Matched
    /// against the value tokens of `@message`: a string token followed by `,` `}` `]` (not a key),
    /// or a bare number/boolean token.
    fn keyword(&mut self, test: &Test) -> Result<String, Diagnostic> {
        let Test::Text { pattern, cased } = test else {
            return Err(Diagnostic::unsupported(
                "cloudwatch",
                format!("a keyword (field-less) {} test", test_name(test)),
            ));
        };
        Ok(self.keywords(&[pattern], *cased))
    }

    /// Keywords: some string, number or Boolean anywhere in the event matches one of the patterns.
    /// Matched against the value tokens of `@message`: a string token followed by `,` `}` `]` (so
    /// not a key), or a bare number or Boolean token.
    fn keywords(&mut self, patterns: &[&Pattern], cased: bool) -> String {
        let fold = !cased;
        let case = case_for(patterns.iter().flat_map(|p| literals(p)), fold);
        self.needs.note(
            "keywords are matched against the string, number and boolean values in @message (the \
             event's JSON text)"
                .to_owned(),
        );
        let mut strings = Vec::new();
        let mut bare = Vec::new();
        let mut bools = Vec::new();
        // A number token is matched with number characters only, so never as null or a Boolean.
        let number_chars = |s: &str| s.chars().all(|c| "0123456789.-+eE".contains(c));
        for pattern in patterns {
            let escaped: Vec<Part> = pattern
                .0
                .iter()
                .map(|p| match p {
                    Part::Lit(s) => Part::Lit(json_inner(s)),
                    other => other.clone(),
                })
                .collect();
            strings.push(pattern_re(&escaped, case, IN_STRING_ANY, IN_STRING_ONE));
            if pattern.shape() == Shape::Anything {
                bare.push(NUMBER_TOKEN.to_owned());
            } else if !wildcard_match(&pattern.0, "", fold) && literals(pattern).all(number_chars) {
                bare.push(pattern_re(&pattern.0, case, IN_NUMBER_ANY, IN_NUMBER_ONE));
            }
            for b in ["true", "false"] {
                if wildcard_match(&pattern.0, b, fold) && !bools.contains(&b) {
                    bools.push(b);
                }
            }
        }
        bare.extend(bools.iter().map(|b| (*b).to_owned()));
        let group = |xs: &[String]| match xs {
            [one] => one.clone(),
            many => format!("(?:{})", many.join("|")),
        };
        let mut alternatives = vec![format!(r"\x22{}\x22", group(&strings))];
        if !bare.is_empty() {
            alternatives.push(format!(r"[:\[,]\s*{}", group(&bare)));
        }
        format!(
            "(@message =~ /{OUTSIDE_STRINGS}{}{}\\s*[,}}\\]]/)",
            flag(case),
            group(&alternatives)
        )
    }
}

/// `\A` and `\z` (start and end of the text, which Python-style matches use) as `^` and `$`,
/// which mean the same when the regex is not multi-line.
fn text_anchors(re: &str, flags: RegexFlags) -> std::borrow::Cow<'_, str> {
    // An inline flag group (`(?m)`, `(?im:...)`) that turns multi-line on; `(?:` is no flag.
    let inline_m = re.match_indices("(?").any(|(i, _)| {
        let flags: String = re[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic() || *c == '-')
            .collect();
        flags.split('-').next().is_some_and(|on| on.contains('m'))
    });
    if flags.multi_line || inline_m || !re.contains('\\') {
        return std::borrow::Cow::Borrowed(re);
    }
    let mut out = String::with_capacity(re.len());
    let mut chars = re.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('A') => out.push('^'),
            Some('z') => out.push('$'),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Can a whole-text pattern match some JSON object or list text (`{…}` / `[…]`)?
fn can_match_container_text(p: &Pattern) -> bool {
    let starts = match p.0.first() {
        Some(Part::Lit(s)) => s.starts_with(['{', '[']),
        Some(_) => true,
        None => false,
    };
    let ends = match p.0.last() {
        Some(Part::Lit(s)) => s.ends_with(['}', ']']),
        Some(_) => true,
        None => false,
    };
    starts && ends
}

/// A needle that cannot match across the JSON punctuation of a list of strings.
fn json_safe(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| matches!(c, '"' | '\\' | '[' | ']' | '{' | '}' | ',' | ':') || c.is_control())
}

fn test_name(t: &Test) -> &'static str {
    match t {
        Test::Text { .. } => "text",
        Test::Regex { .. } => "regex",
        Test::Cidr(_) => "cidr",
        Test::Compare { .. } => "comparison",
        Test::Null => "null",
        Test::Exists => "exists",
        Test::FieldRef { .. } => "field reference",
        Test::Is(_) => "Python equality (==)",
        Test::Str { .. } => "string-only",
        Test::Truthy => "truthiness",
        Test::Type(_) => "type",
        Test::HasKey(_) => "has-key",
    }
}

/// The longest saved-query name PutQueryDefinition accepts.
const MAX_NAME_CHARS: usize = 255;

/// A saved query as `aws logs put-query-definition --cli-input-json` takes it: the rule's title as
/// its name (cut to 255 characters), the query, and the log groups when any are given.
pub fn query_definition(title: &str, query: &str, log_groups: &[String]) -> serde_json::Value {
    let name: String = title.chars().take(MAX_NAME_CHARS).collect();
    let mut def = serde_json::json!({ "name": name, "queryString": query });
    if !log_groups.is_empty() {
        def["logGroupNames"] = serde_json::json!(log_groups);
    }
    def
}

/// The hint of a too-long query that fewer list elements would shorten.
const SHRINKS_WITH_ARRAY_MAX: &str = "a smaller --array-max shortens list expansions";

/// `--array-max`, checked.
fn array_max(opts: &RenderOptions) -> Result<usize, Diagnostic> {
    match opts.array_max.unwrap_or(DEFAULT_ARRAY_MAX) {
        0 => Err(Diagnostic::new(
            Code::Unsupported,
            "--array-max must be at least 1",
        )),
        n => Ok(n),
    }
}

fn list_note(list: &str, n: usize) -> String {
    format!(
        "{list} is a list: only its elements 0 to {} are checked (--array-max {n})",
        n - 1
    )
}

/// CloudTrail fields that always hold a string, number or Boolean: never a list to range over.
const SCALARS: &[&str] = &[
    "eventVersion",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestID",
    "eventID",
    "eventType",
    "apiVersion",
    "readOnly",
    "managementEvent",
    "recipientAccountId",
    "sharedEventID",
    "vpcEndpointId",
    "eventCategory",
    "sessionCredentialFromConsole",
    "userIdentity.type",
    "userIdentity.principalId",
    "userIdentity.arn",
    "userIdentity.accountId",
    "userIdentity.accessKeyId",
    "userIdentity.userName",
    "userIdentity.invokedBy",
    "userIdentity.sessionContext.attributes.creationDate",
    "userIdentity.sessionContext.attributes.mfaAuthenticated",
    "userIdentity.sessionContext.sessionIssuer.type",
    "userIdentity.sessionContext.sessionIssuer.principalId",
    "userIdentity.sessionContext.sessionIssuer.arn",
    "userIdentity.sessionContext.sessionIssuer.accountId",
    "userIdentity.sessionContext.sessionIssuer.userName",
];

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

impl CloudwatchBackend {
    /// A per-element condition, repeated for elements `0..n` of the list: an OR of the copies
    /// (some element passes) or, for every element, an AND of "past the end or passes" after the
    /// list is seen in `@message`.
    fn expand(
        &self,
        el: &Elements,
        cx: &mut RenderCx,
        indent: usize,
    ) -> Result<String, Diagnostic> {
        let n = array_max(cx.opts)?;
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
                || (last && base_name.is_none() && SCALARS.contains(&full.join(".").as_str()))
                || (last && k == Some(Kind::Object))
            {
                // A list on the way (objects only are walked), or no list at the end.
                return Ok(SYNTAX.false_.to_owned());
            }
        }
        let list = FieldPath(full.clone());
        let raw = match &base_name {
            Some(b) => format!("{b}.{}", rel.join(".")),
            None if rel[0].starts_with('@') => format!("@{}", rel.join(".")),
            None => rel.join("."),
        };
        cx.needs.helpers.insert("lists");
        cx.needs.note(list_note(&full.join("."), n));
        let object_elements = matches!(
            kind(&full),
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
        let every = el.count == Count::Every;
        let guard_fields = if !itself && holds_when_empty == every {
            None
        } else if nested {
            return Err(Diagnostic::unsupported(
                "cloudwatch",
                format!(
                    "a condition on the elements of {list} that tests a list inside each element"
                ),
            ));
        } else {
            Some(fields)
        };
        let mut copies = Vec::with_capacity(n);
        for i in 0..n {
            let name = format!("{raw}.{i}");
            cx.elements.push(ElementScope {
                path: list.clone(),
                name: name.clone(),
            });
            cx.depth += 1;
            let body = render_operand(self, &el.body, cx, indent + 1);
            let guard = match (&guard_fields, &body) {
                (Some(fields), Ok(_)) => {
                    let mut r = Renderer::new(cx, true)?;
                    let mut present = Vec::new();
                    for f in fields {
                        if r.container(f).is_none() && r.reachable(f) {
                            present.extend(r.names(f, false)?);
                        }
                    }
                    if present.is_empty() {
                        Err(Diagnostic::unsupported(
                            "cloudwatch",
                            format!(
                                "a condition on every element of {list} that reads no field Logs \
                                 Insights can see"
                            ),
                        ))
                    } else {
                        if !fields.iter().any(|f| f.segments().is_empty()) {
                            let shown: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
                            r.needs.note(format!(
                                "an element of {list} without any of {} is taken to be past its \
                                 end",
                                shown.join(", ")
                            ));
                        }
                        let present = present
                            .iter()
                            .map(|f| format!("ispresent({f})"))
                            .collect::<Vec<_>>()
                            .join(" or ");
                        Ok(Some(if every {
                            format!("not ({present})")
                        } else {
                            present
                        }))
                    }
                }
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
                let is_list = r.after_key(&FieldPath(rel.to_vec()), r"\[");
                let mut parts = vec![is_list];
                parts.extend(copies);
                Ok(join_group(&SYNTAX, true, parts, indent))
            }
        }
    }
}

impl Backend for CloudwatchBackend {
    fn target(&self) -> Target {
        Target::Cloudwatch
    }

    fn template(&self) -> &'static str {
        "cloudwatch/query.cwl.j2"
    }

    fn extension(&self) -> &'static str {
        "cwl"
    }

    fn syntax(&self) -> &'static Syntax {
        &SYNTAX
    }

    fn predicate(&self, p: &Predicate, cx: &mut RenderCx) -> Result<String, Diagnostic> {
        let count = match p.quantifier {
            Quantifier::Any => return Renderer::new(cx, false)?.predicate(p),
            Quantifier::Exact => return Renderer::new(cx, true)?.predicate(p),
            Quantifier::AnyElement => Count::Some,
            Quantifier::AllElements => Count::Every,
        };
        let Subject::Field(path) = &p.subject else {
            return Err(Diagnostic::unsupported(
                "cloudwatch",
                "a field-less per-element test",
            ));
        };
        // The test on each element: a Python-style test of the element itself.
        let el = Elements {
            path: path.clone(),
            count,
            body: Box::new(Expr::Pred(Predicate {
                subject: Subject::Field(FieldPath(Vec::new())),
                quantifier: Quantifier::Exact,
                ..p.clone()
            })),
            span: p.span,
        };
        self.expand(&el, cx, 1)
    }

    fn expand_elements(
        &self,
        el: &Elements,
        cx: &mut RenderCx,
        indent: usize,
    ) -> Option<Result<String, Diagnostic>> {
        Some(self.expand(el, cx, indent))
    }

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

    fn frame(
        &self,
        rule: &Rule,
        cx: &RenderCx,
    ) -> Result<Vec<(&'static str, minijinja::Value)>, Diagnostic> {
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

    fn comment(&self, text: &str) -> String {
        text.chars()
            .map(|c| {
                if unsafe_char(c) || c == '\u{85}' {
                    ' '
                } else {
                    c
                }
            })
            .collect()
    }
}
