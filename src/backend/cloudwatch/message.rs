//! Regexes over `@message`, the event's raw compact JSON text: where Logs Insights has no field
//! for a value (an object, a list, a JSON type, a keyword anywhere in the event), the renderer
//! looks for it in `@message` after its key or among its value tokens.

use crate::diagnostic::Diagnostic;
use crate::eval::wildcard_match;
use crate::ir::{FieldPath, Part, Pattern, Shape, Test};

use super::predicate::Renderer;
use super::quote::{case_for, fold_flag, pattern_literals, regex_literal, wildcard_regex, Case};
use crate::cloudtrail::kind;
use crate::cloudtrail::Kind;

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
/// A bare number token.
const NUMBER_TOKEN: &str = r"[0-9-][0-9.eE+-]*";

/// A string's text inside JSON (what `@message` holds): `"`, `\` and control characters escaped.
fn json_inner(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted[1..quoted.len().saturating_sub(1).max(1)].to_owned()
}

impl Renderer<'_> {
    /// The regex for `"key"` (before its `:`) in `@message`, noting the approximation. When the
    /// path has a parent key below a top-level object, the key must be a member of an object
    /// under it, after simple members only (`"add":{"items"`, `"p":{"a":1,"k"`).
    pub(super) fn noted_key_regex(&mut self, path: &FieldPath) -> String {
        let (re, key, parent) = self.key_regex(path);
        let shown = self.shown_path(path);
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

    /// The key regex of [`Renderer::noted_key_regex`], the key and its parent key, if used.
    pub(super) fn key_regex(&self, path: &FieldPath) -> (String, String, Option<String>) {
        let (mut full, _) = self.scope_base();
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
        let key_regex = format!(r"\x22{}\x22", regex_literal(&json_inner(&key), Case::Exact));
        // A key's opening quote follows `{` or `,`; a quote inside a string follows `\`.
        let re = match &parent {
            Some(parent) => format!(
                r"{KEY_START}\x22{}\x22\s*:\s*\{{\s*(?:{MEMBER}\s*,\s*)*{key_regex}",
                regex_literal(&json_inner(parent), Case::Exact)
            ),
            None => format!("{KEY_START}{key_regex}"),
        };
        (re, key, parent)
    }

    /// `@message` holds the key of `path` followed by a value starting with `tail` (a regex).
    pub(super) fn after_key(&mut self, path: &FieldPath, tail: &str) -> String {
        let key = self.noted_key_regex(path);
        format!("(@message =~ /{key}\\s*:\\s*{tail}/)")
    }

    /// A text test on an object's (or list's) JSON text, through `@message`: only a pattern
    /// unanchored at both ends can be, as a superset.
    pub(super) fn text_in_message(
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
        let case = case_for(pattern_literals(pattern), fold);
        let key = self.noted_key_regex(path);
        Ok(format!(
            "@message =~ /(?s){key}\\s*:.*{}{}/",
            fold_flag(case),
            wildcard_regex(inner, case, ".*", ".")
        ))
    }

    /// A keyword: some string, number or boolean anywhere in the event matches the pattern. Matched
    /// against the value tokens of `@message`: a string token followed by `,` `}` `]` (not a key),
    /// or a bare number/boolean token.
    pub(super) fn keyword(&mut self, test: &Test) -> Result<String, Diagnostic> {
        let Test::Text { pattern, cased } = test else {
            return Err(Diagnostic::unsupported(
                "cloudwatch",
                format!("a keyword (field-less) {}", test.describe()),
            ));
        };
        Ok(self.keywords(&[pattern], *cased))
    }

    /// Keywords: some string, number or Boolean anywhere in the event matches one of the patterns.
    /// Matched against the value tokens of `@message`: a string token followed by `,` `}` `]` (so
    /// not a key), or a bare number or Boolean token.
    pub(super) fn keywords(&mut self, patterns: &[&Pattern], cased: bool) -> String {
        let fold = !cased;
        let case = case_for(patterns.iter().flat_map(|p| pattern_literals(p)), fold);
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
            strings.push(wildcard_regex(&escaped, case, IN_STRING_ANY, IN_STRING_ONE));
            if pattern.shape() == Shape::Anything {
                bare.push(NUMBER_TOKEN.to_owned());
            } else if !wildcard_match(&pattern.0, "", fold)
                && pattern_literals(pattern).all(number_chars)
            {
                bare.push(wildcard_regex(
                    &pattern.0,
                    case,
                    IN_NUMBER_ANY,
                    IN_NUMBER_ONE,
                ));
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
            fold_flag(case),
            group(&alternatives)
        )
    }
}
