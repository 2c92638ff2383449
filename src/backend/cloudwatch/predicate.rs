//! The renderer of one predicate ([`Renderer`]): its state, the dispatch on the test, and the
//! tests that need no module of their own (presence, null, CIDR, regex, comparison, field
//! reference). Other `impl Renderer` blocks live beside what they use: [`super::fields`] (paths
//! to field names), [`super::text`] (text patterns), [`super::typed`] (Python-style tests) and
//! [`super::message`] (`@message` searches).

use crate::backend::{ElementScope, Needs, RenderCx};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{
    Anchor, CompareOp, FieldPath, FieldRef, Number, Predicate, Quantifier, RegexFlags, Subject,
    Test,
};

use super::quote::{number_text, quote};
use super::referee;
use super::text::BOOL_NOTE;
use super::{array_max, SYNTAX};
use crate::cloudtrail::{Elem, Kind};
use crate::portable_regex::PortableRegex;

/// Renders one predicate of a rule as a CWLI condition, collecting the notes and helpers the query
/// needs on the way.
pub(super) struct Renderer<'a> {
    /// `--array-max`: how many elements of a list a path crossing it is expanded to.
    pub(super) array_max: usize,
    /// The notes and helpers of the query being rendered.
    pub(super) needs: &'a mut Needs,
    /// The element the predicate's paths are relative to, inside an expanded
    /// [`crate::ir::Expr::Elements`].
    pub(super) scope: Option<&'a ElementScope>,
    /// Python's reading ([`Quantifier::Exact`]): a path walks objects only and nothing is expanded.
    pub(super) exact: bool,
}

impl<'a> Renderer<'a> {
    /// A renderer inside `cx` (its innermost element scope, if any), under Python's reading when
    /// `exact`. Fails when `--array-max` is 0.
    pub(super) fn new(cx: &'a mut RenderCx, exact: bool) -> Result<Self, Diagnostic> {
        let n = array_max(cx)?;
        Ok(Renderer {
            array_max: n,
            needs: &mut cx.needs,
            scope: cx.elements.last(),
            exact,
        })
    }
}

impl Renderer<'_> {
    /// The OR of `atoms`, grouped; false when there are none.
    pub(super) fn disjunction(atoms: Vec<String>) -> String {
        if atoms.is_empty() {
            return SYNTAX.false_.to_owned();
        }
        format!("({})", atoms.join(" or "))
    }

    /// One predicate: a keyword when it has no field, else the test on the field's values.
    pub(super) fn predicate(&mut self, p: &Predicate) -> Result<String, Diagnostic> {
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
                self.python_test(path, &p.test)
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
            Test::Text { pattern, cased } => self.text_test(path, pattern, *cased),
            Test::Regex { regex, flags } => self.regex_test(path, regex, *flags),
            Test::Cidr(c) => {
                let names = self.field_names(path, true)?;
                Ok(Self::disjunction(
                    names
                        .iter()
                        .map(|f| format!("isIpInSubnet({f}, \"{c}\")"))
                        .collect(),
                ))
            }
            Test::Compare { op, value } => self.compare(path, *op, value),
            Test::FieldRef(r) => self.field_ref(path, r),
        }
    }

    /// Some value at `path` is present and not null.
    pub(super) fn exists(&mut self, path: &FieldPath) -> Result<String, Diagnostic> {
        if self.exact && !self.reachable(path) {
            return Ok(SYNTAX.false_.to_owned());
        }
        if self.object_element(path) {
            // The list holds objects (see SHAPES): an element is never null.
            return Ok(SYNTAX.true_.to_owned());
        }
        if self.container(path).is_some() {
            // An object or a list is no field: only @message shows it.
            let key = self.noted_key_regex(path);
            return Ok(format!("(@message =~ /{key}\\s*:\\s*[^n\\s]/)"));
        }
        let names = self.field_names(path, false)?;
        Ok(Self::disjunction(
            names.iter().map(|f| format!("ispresent({f})")).collect(),
        ))
    }

    /// A regex test (the rule's regex, checked to be portable) on the values at `path`, and on its
    /// JSON text in `@message` when it can be an object or a list.
    fn regex_test(
        &mut self,
        path: &FieldPath,
        regex: &str,
        flags: RegexFlags,
    ) -> Result<String, Diagnostic> {
        let (body, anchored) = self.checked_body(regex, flags)?;
        let body = if body.is_empty() {
            "(?:)".to_owned()
        } else {
            body
        };
        let names = self.field_names(path, true)?;
        let mut atoms: Vec<String> = names.iter().map(|f| format!("{f} =~ /{body}/")).collect();
        match self.container(path) {
            Some(Kind::List(Elem::Scalar)) if !self.exact => self.needs.note(format!(
                "the regex on {path} is tested on each list element, not on the list's JSON text"
            )),
            Some(_) => {
                if anchored {
                    return Err(Diagnostic::unsupported(
                        "cloudwatch",
                        format!(
                            "an anchored regex on {path}, which can be an object or a list (its \
                             JSON text is only reachable in @message)"
                        ),
                    ));
                }
                let key = self.noted_key_regex(path);
                atoms.push(format!("@message =~ /(?s){key}\\s*:.*{body}/"));
            }
            None => {}
        }
        Ok(Self::disjunction(atoms))
    }

    /// Several regex tests with the same flags on one field, as one alternation.
    pub(super) fn any_regex(
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
            match self.checked_body(re, flags) {
                Ok((b, _)) => bodies.push(format!("(?:{b})")),
                Err(e) => return Some(Err(e)),
            }
        }
        if self.container(path).is_some() {
            self.needs.note(format!(
                "the regex on {path} is tested on each list element, not on the list's JSON text"
            ));
        }
        let names = match self.field_names(path, true) {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        let body = bodies.join("|");
        Some(Ok(Self::disjunction(
            names.iter().map(|f| format!("{f} =~ /{body}/")).collect(),
        )))
    }

    /// A rule regex as a regex literal body: its flag-free portable rendering (see
    /// [`crate::portable_regex`]), checked against the subset Logs Insights reads; and whether it
    /// has a text or line anchor.
    fn checked_body(
        &mut self,
        regex: &str,
        flags: RegexFlags,
    ) -> Result<(String, bool), Diagnostic> {
        let re = PortableRegex::parse(regex, flags).map_err(|e| {
            Diagnostic::new(
                Code::BadRegex,
                format!("invalid or non-portable regular expression '{regex}': {e}"),
            )
        })?;
        let unsupported = |e: String| {
            Diagnostic::new(
                Code::Unsupported,
                format!("the regular expression '{regex}' is unsupported by cloudwatch: {e}"),
            )
        };
        let body = re.cloudwatch().map_err(unsupported)?;
        referee::regex::check(&body).map_err(unsupported)?;
        Ok((body, re.anchored()))
    }

    /// A numeric comparison of the values at `path` with `value`.
    fn compare(
        &mut self,
        path: &FieldPath,
        op: CompareOp,
        value: &Number,
    ) -> Result<String, Diagnostic> {
        let bools = op.holds(0.0, value.value) || op.holds(1.0, value.value);
        let num = number_text(value);
        let names = self.field_names(path, true)?;
        let atoms = Self::disjunction(
            names
                .iter()
                .map(|f| format!("{f} {} {num}", op.symbol()))
                .collect(),
        );
        if bools && self.exact && !names.is_empty() {
            // One value: that it is a number or a string, not true/false (1/0), is in @message.
            return Ok(self.with_json_type(path, atoms, r"[-0-9\x22]"));
        }
        if bools {
            self.needs.note(BOOL_NOTE.to_owned());
        }
        Ok(atoms)
    }

    /// A comparison of the values at `path` with the value at `other` (whole, prefix, suffix or
    /// substring), with literal text `before` and `after` the other value.
    fn field_ref(&mut self, path: &FieldPath, r: &FieldRef) -> Result<String, Diagnostic> {
        let (other, anchor, cased) = (&r.other, r.anchor, r.cased);
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
        let mine = self.field_names(path, true)?;
        let theirs = self.field_names(other, false)?;
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
        let around = if !r.is_affixed() {
            None
        } else {
            let lit = |t: &str| {
                if t.is_empty() {
                    Ok(None)
                } else {
                    affix(t).map(Some)
                }
            };
            Some((lit(&r.before)?, lit(&r.after)?))
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
        Ok(Self::disjunction(atoms))
    }
}
