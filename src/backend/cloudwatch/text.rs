//! Whole-text pattern tests (Sigma's equals, contains, startswith, endswith and wildcards):
//! patterns sorted into `=`/`in`, `like` and regex forms, and the Renderer's text tests on one
//! field or several patterns at once.

use crate::diagnostic::Diagnostic;
use crate::eval::wildcard_match;
use crate::ir::{FieldPath, Part, Pattern, Shape};

use super::predicate::Renderer;
use super::quote::{
    canonical_int, case_for, pattern_literals, quote, regex_literal, wildcard_regex, Case,
};
use crate::cloudtrail::{Elem, Kind};

/// The note of a query whose text or number test can meet a JSON Boolean.
pub(super) const BOOL_NOTE: &str =
    "JSON booleans are the numbers 1 and 0 in Logs Insights: `= 1`/`= 0` \
    stand for true/false and also match 1 and 0 written as numbers or strings (and a test for 1 or \
    0 also matches true/false)";

/// A regex piece of one pattern: anchored at the start and/or end, needing `(?s)`.
struct RegexPiece {
    /// Anchored at the start (`^`).
    start: bool,
    /// Anchored at the end (`$`).
    end: bool,
    /// Needs `(?s)` (`.` matching a line break).
    dotall: bool,
    /// The regex text, unanchored.
    body: String,
}

/// Whole-text patterns sorted by the form that tests them.
#[derive(Default)]
struct TextForms {
    /// Quoted literals (and the bare integers) for `=` / `in`.
    exact: Vec<String>,
    /// Quoted literals for `like`.
    likes: Vec<String>,
    /// Regex pieces, by case mode.
    pieces: Vec<(Case, RegexPiece)>,
}

/// Sort one whole-text pattern into `forms`: a quotable exact value for `=`/`in`, a quotable
/// substring for `like`, everything else a regex piece in its case mode.
fn classify_pattern(p: &Pattern, fold: bool, forms: &mut TextForms) {
    let case = case_for(pattern_literals(p), fold);
    let piece = |start, end, dotall, body| RegexPiece {
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
            _ => piece(true, true, false, regex_literal(s, case)),
        },
        Shape::Contains(s) => match quote(s) {
            Some(q) if case == Case::Exact && !s.is_empty() => {
                forms.likes.push(q);
                return;
            }
            _ => piece(false, false, false, regex_literal(s, case)),
        },
        Shape::Prefix(s) => piece(true, false, false, regex_literal(s, case)),
        Shape::Suffix(s) => piece(false, true, false, regex_literal(s, case)),
        Shape::Anything | Shape::General => {
            piece(true, true, true, wildcard_regex(&p.0, case, ".*", "."))
        }
    };
    forms.pieces.push((case, f));
}

/// The atoms testing field `f` against sorted patterns.
fn text_form_atoms(f: &str, forms: &TextForms) -> Vec<String> {
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
        let group: Vec<&RegexPiece> = forms
            .pieces
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
        let anchored = |x: &RegexPiece| {
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

impl Renderer<'_> {
    /// A whole-text pattern test on the values at `path` (case-insensitive unless `cased`): the
    /// fields it reaches, 1/0 where the pattern matches `true`/`false`, and `@message` where the
    /// value can be an object or a list.
    pub(super) fn text_test(
        &mut self,
        path: &FieldPath,
        pattern: &Pattern,
        cased: bool,
    ) -> Result<String, Diagnostic> {
        let fold = !cased;
        if pattern.shape() == Shape::Anything {
            return self.exists(path);
        }
        let names = self.field_names(path, true)?;
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
                    && matches!(pattern.shape(), Shape::Contains(s) if free_of_json_punctuation(s));
                if !covered {
                    atoms.push(self.text_in_message(path, pattern, fold)?);
                }
            }
        }
        Ok(Self::disjunction(atoms))
    }

    /// Tests of one scalar field against a whole-text pattern.
    pub(super) fn text_atoms(&mut self, f: &str, pattern: &Pattern, fold: bool) -> Vec<String> {
        let mut forms = TextForms::default();
        classify_pattern(pattern, fold, &mut forms);
        text_form_atoms(f, &forms)
    }

    /// Several text tests (one `cased` mode) on one field, as few atoms as possible: one `=`/`in`
    /// for the literals that can be quoted, one regex per case mode for the rest.
    pub(super) fn any_text(
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
                        && matches!(p.shape(), Shape::Contains(s) if free_of_json_punctuation(s)))
            });
            if !all_covered {
                return None;
            }
        }
        let names = match self.field_names(path, true) {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        let mut forms = TextForms::default();
        let (mut trues, mut falses) = (false, false);
        for p in patterns {
            classify_pattern(p, fold, &mut forms);
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
            atoms.extend(text_form_atoms(f, &forms));
        }
        for f in &names {
            if trues {
                atoms.push(format!("{f} = 1"));
            }
            if falses {
                atoms.push(format!("{f} = 0"));
            }
        }
        Some(Ok(Self::disjunction(atoms)))
    }
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
fn free_of_json_punctuation(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| matches!(c, '"' | '\\' | '[' | ']' | '{' | '}' | ',' | ':') || c.is_control())
}
