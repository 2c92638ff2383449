//! Regular expressions: `re.match/search/fullmatch`, `re.compile` and compiled patterns.
//!
//! A constant Python pattern is rewritten to the portable regex subset ([`python_regex`]),
//! anchored for `match` (start) and `fullmatch` (both ends), checked like a Sigma regex, and
//! applied to the subject as an IR regex test (which the targets render through
//! [`crate::portable_regex`]). The result is a match object where it matches, None elsewhere.
//! `\d \w \s \b` have the IR's ASCII meaning, not Python's Unicode one on `str` patterns (as if
//! `re.ASCII` were given).

use rustpython_parser::ast;

use crate::diagnostic::Code;
use crate::ir::{Expr, JsonType, RegexFlags, Test};
use crate::portable_regex::PortableRegex;

use super::value::{Atom, Py, Value};
use super::{and, not, start_offset, Env, PyErr, Translated, Translator};

impl<'m> Translator<'m> {
    /// `re.match/search/fullmatch(pattern, subject[, flags])` with a constant pattern: see
    /// [`Translator::regex_call`].
    pub(super) fn re_match(
        &mut self,
        name: &str,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> Translated<Value> {
        let args = self.positional_args(c, env)?;
        let (pat, subject, flags) = match args.as_slice() {
            [p, s] => (p, s, None),
            [p, s, f] => (p, s, Some(f)),
            _ => return self.refuse(node, format!("re.{name}() with these arguments")),
        };
        let flags = match flags.or(self.keyword_arg(c, "flags", env)?.as_ref()) {
            Some(f) => regex_flags(f).ok_or(()).or_else(|_| {
                self.refuse(node, "re flags other than IGNORECASE, MULTILINE, DOTALL")
            })?,
            None => RegexFlags::default(),
        };
        let Some(Py::Str(p)) = pat.as_const() else {
            return self.refuse(node, "a regular expression that is not a constant string");
        };
        self.regex_call(name, p, flags, subject, node)
    }

    /// `re.compile(pattern[, flags])` of a constant pattern: an [`Atom::Regex`], whose methods
    /// [`Translator::pattern_method`] translates.
    pub(super) fn re_compile(
        &mut self,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> Translated<Value> {
        let args = self.positional_args(c, env)?;
        let flags = match args.get(1) {
            Some(f) => regex_flags(f).ok_or(()).or_else(|_| {
                self.refuse(node, "re flags other than IGNORECASE, MULTILINE, DOTALL")
            })?,
            None => RegexFlags::default(),
        };
        match args.first().and_then(Value::as_const) {
            Some(Py::Str(p)) => Ok(Value::of(Atom::Regex(p.clone(), flags))),
            _ => self.refuse(
                node,
                "re.compile() of something other than a constant string",
            ),
        }
    }

    /// `compiled.match/search/fullmatch(subject)` on a pattern from `re.compile()`.
    pub(super) fn pattern_method(
        &mut self,
        p: &str,
        flags: RegexFlags,
        name: &str,
        c: &ast::ExprCall,
        env: &Env,
        node: &ast::Expr,
    ) -> Translated<Value> {
        if !matches!(name, "match" | "search" | "fullmatch") {
            return self.refuse(node, format!("the compiled-pattern method .{name}()"));
        }
        let args = self.positional_args(c, env)?;
        let [subject] = args.as_slice() else {
            return self.refuse(node, "a pattern method with other than one argument");
        };
        self.regex_call(name, p, flags, subject, node)
    }

    /// `re.<kind>(re, subject)` (`kind` one of `match`, `search`, `fullmatch`) with flags: a
    /// match object ([`Py::Match`]) where the string subject matches, None elsewhere; a subject that is
    /// not a string raises `TypeError`. A pattern rulecast cannot express is `BadRegex`.
    fn regex_call(
        &self,
        kind: &str,
        re: &str,
        flags: RegexFlags,
        subject: &Value,
        node: &ast::Expr,
    ) -> Translated<Value> {
        self.reject_concat(subject, node, "a regex match")?;
        let body = python_regex(re, flags).map_err(|m| PyErr {
            code: Code::BadRegex,
            msg: m,
            at: self.site.unwrap_or_else(|| start_offset(node)),
        })?;
        let full = match kind {
            "match" => format!(r"\A(?:{body})"),
            "fullmatch" => format!(r"\A(?:{body})\z"),
            _ => body,
        };
        crate::sigma::detection::check_regex(&full, flags).map_err(|d| PyErr {
            code: Code::BadRegex,
            msg: format!("{} (from the Python pattern '{re}')", d.message),
            at: self.site.unwrap_or_else(|| start_offset(node)),
        })?;
        let mut found = Vec::new();
        let mut bad = Vec::new();
        let mut absent = Vec::new();
        for (g, a) in &subject.alts {
            match a {
                Atom::Json(l) => {
                    let m = and(
                        self.is_type(l, JsonType::String),
                        self.pred(
                            l,
                            Test::Regex {
                                regex: full.clone(),
                                flags,
                            },
                        ),
                    );
                    found.push(and(g.clone(), m.clone()));
                    absent.push(and(g.clone(), not(m)));
                    bad.push(and(g.clone(), not(self.is_type(l, JsonType::String))));
                }
                Atom::Const(Py::Str(s)) => {
                    let hit = PortableRegex::parse(&full, flags)
                        .and_then(|r| r.compile())
                        .is_ok_and(|r| r.is_match(s));
                    found.push(and(g.clone(), Expr::Const(hit)));
                    absent.push(and(g.clone(), Expr::Const(!hit)));
                }
                _ => bad.push(g.clone()),
            }
        }
        Ok(Value {
            alts: vec![
                (Expr::or(found), Atom::Const(Py::Match)),
                (Expr::or(absent), Atom::Const(Py::None)),
            ],
            ok: and(subject.ok.clone(), not(Expr::or(bad))),
        })
    }
}

/// The flags of a `re` call from their text (`re.I | re.M` reads as `"re.I|re.M"`): None for
/// flags other than IGNORECASE, MULTILINE and DOTALL.
pub(super) fn regex_flags(v: &Value) -> Option<RegexFlags> {
    let Some(Py::Str(s)) = v.as_const() else {
        return None;
    };
    let mut f = RegexFlags::default();
    for part in s.split('|') {
        match part.trim_start_matches("re.") {
            "I" | "IGNORECASE" => f.ignore_case = true,
            "M" | "MULTILINE" => f.multi_line = true,
            "S" | "DOTALL" => f.dot_all = true,
            _ => return None,
        }
    }
    Some(f)
}

/// A Python `re` pattern in the portable subset: named groups become plain groups, `\Z` is `\z`,
/// and `$` outside MULTILINE (end, or before a final newline) is `\n?\z`.
fn python_regex(re: &str, flags: RegexFlags) -> Result<String, String> {
    let re = crate::sigma::detection::unname_groups(re);
    if re.contains("(?P=") {
        return Err(format!(
            "not translatable: the back-reference in the regular expression '{re}'"
        ));
    }
    let mut out = String::with_capacity(re.len());
    let mut chars = re.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let n = chars.next().unwrap_or('\\');
                if n == 'Z' && !in_class {
                    out.push_str(r"\z");
                } else {
                    out.push('\\');
                    out.push(n);
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str(r"\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '$' if !in_class && !flags.multi_line => out.push_str(r"(?:\n?\z)"),
            c => out.push(c),
        }
    }
    Ok(out)
}
