//! `fnmatch(name, pattern)`: shell-style globs (`*`, `?`, `[...]`) against a string.
//!
//! A glob without classes becomes an IR wildcard pattern (which also serves a lowercased
//! field); one with `[...]` classes becomes an anchored regex.

use rustpython_parser::ast;

use crate::ir::{Expr, JsonType, Part, Pattern, RegexFlags, Test};

use super::value::{Atom, Loc, Py, Value};
use super::{and, not, Translated, Translator};

impl<'m> Translator<'m> {
    /// `fnmatch(name, pattern)` with a constant pattern: a bool, true when the string `name`
    /// matches; `name` not a string raises `TypeError`.
    pub(super) fn fnmatch(&self, name: &Value, pat: &Value, node: &ast::Expr) -> Translated<Value> {
        self.reject_concat(name, node, "fnmatch()")?;
        let Some(Py::Str(p)) = pat.as_const() else {
            return self.refuse(
                node,
                "fnmatch() with a pattern that is not a constant string",
            );
        };
        let glob = Glob::parse(p);
        let mut vals = Vec::new();
        let mut bad = Vec::new();
        for (g, a) in &name.alts {
            match a {
                Atom::Json(l) => {
                    vals.push(and(g.clone(), glob.test(self, l, false)));
                    bad.push(and(g.clone(), not(self.is_type(l, JsonType::String))));
                }
                Atom::Case(l, upper) => {
                    let t = match &glob {
                        Glob::Simple(pt) => {
                            let lit: String =
                                pt.0.iter()
                                    .filter_map(|x| {
                                        if let Part::Lit(s) = x {
                                            Some(s.as_str())
                                        } else {
                                            None
                                        }
                                    })
                                    .collect();
                            self.case_match(l, *upper, pt.clone(), &lit)
                        }
                        Glob::Regex(_) => {
                            return self.refuse(node, "fnmatch() with [...] on a lowercased field")
                        }
                    };
                    vals.push(and(g.clone(), t));
                }
                Atom::Const(Py::Str(s)) => vals.push(and(g.clone(), Expr::Const(glob.matches(s)))),
                _ => bad.push(g.clone()),
            }
        }
        Ok(Value::boolean(
            Expr::or(vals),
            Expr::and(vec![name.ok.clone(), pat.ok.clone(), not(Expr::or(bad))]),
        ))
    }
}

/// An `fnmatch` pattern: `*`, `?` and `[...]` classes.
enum Glob {
    Simple(Pattern),
    Regex(String),
}

impl Glob {
    /// The glob as a wildcard pattern, or as a regex when it has `[...]` classes.
    fn parse(p: &str) -> Glob {
        if !p.contains('[') {
            let mut pat = Pattern::default();
            for c in p.chars() {
                match c {
                    '*' => pat.push(Part::AnyRun),
                    '?' => pat.push(Part::OneChar),
                    c => pat.push(Part::Lit(c.to_string())),
                }
            }
            return Glob::Simple(pat);
        }
        let chars: Vec<char> = p.chars().collect();
        let mut re = String::from(r"\A");
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '*' => re.push_str(r"[\s\S]*"),
                '?' => re.push_str(r"[\s\S]"),
                '[' => {
                    // A class runs to the next ']' (a ']' right after '[' or '[!' is literal).
                    let mut j = i + 1;
                    if chars.get(j) == Some(&'!') {
                        j += 1;
                    }
                    if chars.get(j) == Some(&']') {
                        j += 1;
                    }
                    while j < chars.len() && chars[j] != ']' {
                        j += 1;
                    }
                    if j >= chars.len() {
                        re.push_str(r"\[");
                    } else {
                        let mut body: String = chars[i + 1..j].iter().collect();
                        let negate = body.starts_with('!');
                        if negate {
                            body.remove(0);
                        }
                        let body = body
                            .replace('\\', r"\\")
                            .replace('[', r"\[")
                            .replace(']', r"\]")
                            .replace('&', r"\&")
                            .replace('~', r"\~");
                        re.push('[');
                        if negate {
                            re.push('^');
                        }
                        re.push_str(&body);
                        re.push(']');
                        i = j;
                    }
                }
                c => re.push_str(&crate::ir::regex_escape(&c.to_string())),
            }
            i += 1;
        }
        re.push_str(r"\z");
        Glob::Regex(re)
    }

    /// The glob matching the string field at `l` (`fold`: case-insensitively).
    fn test(&self, t: &Translator, l: &Loc, fold: bool) -> Expr {
        match self {
            Glob::Simple(p) => t.pred(
                l,
                Test::Str {
                    pattern: p.clone(),
                    fold,
                },
            ),
            Glob::Regex(r) => and(
                t.is_type(l, JsonType::String),
                t.pred(
                    l,
                    Test::Regex {
                        regex: r.clone(),
                        flags: RegexFlags::default(),
                    },
                ),
            ),
        }
    }

    /// The glob matching a constant string.
    fn matches(&self, s: &str) -> bool {
        match self {
            Glob::Simple(p) => crate::eval::wildcard_match(&p.0, s, false),
            Glob::Regex(r) => regex::Regex::new(r).is_ok_and(|re| re.is_match(s)),
        }
    }
}
