//! Regex dialects: the rule regexes whose text engines read differently (a `$` before a final
//! newline, `(?m)^` at the very end, `\d \w \s \b` on non-ASCII text, `(?i)` with ß, ſ, the Kelvin
//! sign or ǅ, `(?U)`, `(?x)`, named groups, POSIX and Unicode classes...) are rendered by
//! `rulecast::portable_regex` so that every target selects what the reference evaluator selects.
//!
//! Each regex of the table runs over every subject on the evaluator, on the jq filter in jaq
//! (in-process), on the same filter in the system `jq` (Debian's 1.6 in CI; skipped without one)
//! and on the Logs Insights query in the CWLI referee. Athena's rendering is checked for its
//! spelling here; `scripts/check-athena` runs the shipped rule `rules/sigma/general/
//! regex_dialects.yml` in DuckDB, and `scripts/check-jq` runs it under libjq 1.8.
//!
//! `RULECAST_REGEX_CASES=path` also writes every case (regex, renderings, subjects, the
//! evaluator's verdicts) as JSON lines, for checking the renderings on engines the tests cannot
//! run (Joni, libjq, RE2, Hyperscan).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use rulecast::backend::cloudwatch::referee;
use rulecast::backend::jq::exec::JqProgram;
use rulecast::backend::{self, RenderOptions, Target};
use rulecast::diagnostic::Code;
use rulecast::eval::Evaluator;
use rulecast::ir::{Expr, FieldPath, Predicate, Quantifier, RegexFlags, Subject, Test};
use rulecast::portable_regex::{JqRegex, PortableRegex};
use rulecast::rule::{Format, Meta, Rule};
use rulecast::source::Span;
use serde_json::{json, Value};

fn flags(s: &str) -> RegexFlags {
    RegexFlags {
        ignore_case: s.contains('i'),
        multi_line: s.contains('m'),
        dot_all: s.contains('s'),
    }
}

fn rule_for(regex: &str, f: RegexFlags) -> Rule {
    rule_on("f", regex, f)
}

fn rule_on(field: &str, regex: &str, f: RegexFlags) -> Rule {
    Rule {
        format: Format::Sigma,
        meta: Meta {
            title: "regex".to_owned(),
            ..Default::default()
        },
        detections: vec![],
        condition_text: vec![],
        condition: Expr::Pred(Predicate {
            subject: Subject::Field(FieldPath::parse(field)),
            quantifier: Quantifier::Any,
            test: Test::Regex {
                regex: regex.to_owned(),
                flags: f,
            },
            span: Span::default(),
        }),
        span: Span::default(),
        logsource_span: Span::default(),
        raises: None,
        correlation: None,
    }
}

/// The regexes: (rule text, flags).
const REGEXES: &[(&str, &str)] = &[
    // End anchors: `$` is `\Z` in Oniguruma, Joni and Hyperscan.
    ("a$", ""),
    ("^$", ""),
    (r"a\z", ""),
    ("^a$", "m"),
    ("(?m)^$", ""),
    (r"(?m)^\s*$", ""),
    ("(?m)^", ""),
    ("(?m)^a$\n^b$", ""),
    ("(?m)^(?:b|)$", ""),
    (r#"^\s*"AWS"\s*:\s*"\*"\s*,?\s*$"#, "m"),
    (r"(?:^|,)b", "m"),
    // `.` and line terminators.
    ("a.b", ""),
    ("a.b", "s"),
    ("^.$", ""),
    // Perl classes: ASCII everywhere (the evaluator too).
    (r"^\d+$", ""),
    (r"^\D$", ""),
    (r"^\w+$", ""),
    (r"^\W$", ""),
    (r"^\s$", ""),
    (r"^\S+$", ""),
    (r"^[\d\s]+$", ""),
    (r"^[^\w]$", ""),
    (r"\w", "i"),
    // Word boundaries: look-around in Oniguruma, `\b` in jaq.
    (r"\bb", ""),
    (r"\Ba", ""),
    (r"a\b", ""),
    (r"\bword\b", ""),
    (r"\bword\b$", ""),
    (r"\bb\z", ""),
    // Case-insensitivity folded into classes.
    ("é", "i"),
    ("k", "i"),
    ("s", "i"),
    ("ß", "i"),
    ("^ss$", "i"),
    ("ǅ", "i"),
    ("^[^k]$", "i"),
    ("𐐀", "i"),
    ("(?i)a(?-i)b", ""),
    ("(?-i)a", "i"),
    // Syntax only some engines take.
    ("(?U)a+", ""),
    ("(?x)^[a b]$", ""),
    (r"(?x) ^ a \  b $ # comment", ""),
    ("^a*+$", ""),
    ("(?P<n>a)b", ""),
    ("(?<n>a)b", ""),
    (r"^\p{Nd}$", ""),
    (r"^\pL+$", ""),
    (r"^[[:alpha:]]+$", ""),
    (r"^\x{e9}$", ""),
    (r"^\u{41}$", ""),
    (r"^\xe9$", ""),
    (r"^\v$", ""),
    (r"^[a&&[^b]]$", ""),
    (r"^[[a]]$", ""),
    (r"^[a-c--b]+$", ""),
    (r"^a{2}$", ""),
    (r"\.\*\+\?\(\)\[\]\{\}\\|\^\$", ""),
    (r"^[\^\-\]\\&~]+$", ""),
    (r#"^'"/#$"#, ""),
    ("^\t\u{2028}$", ""),
];

/// The subjects every regex runs over.
const SUBJECTS: &[&str] = &[
    "",
    "a",
    "b",
    "a\n",
    "\n",
    "a\nb",
    "b\na\n",
    "a\r\nb",
    "a\rb",
    "a\u{2028}b",
    "a\u{85}b",
    "ab",
    "aa",
    "aab",
    "ba",
    "a b",
    "a,b",
    "7",
    "12",
    "\u{663}",
    "\u{661}\u{662}",
    "\u{ff11}",
    "é",
    "É",
    "éb",
    "aé",
    "\u{a0}",
    "\u{2028}",
    "\u{b}",
    " ",
    "\t",
    "\t\u{2028}",
    "1 2",
    "K",
    "k",
    "\u{212a}",
    "s",
    "S",
    "ſ",
    "ß",
    "ẞ",
    "ss",
    "SS",
    "Ǆ",
    "ǅ",
    "ǆ",
    "𐐀",
    "𐐨",
    "aB",
    "AB",
    "Ab",
    "word",
    "a word!",
    "swordfish",
    "éwordé",
    "word\n",
    "bb",
    "&",
    "<",
    "a{,2}",
    "abc",
    "abbc",
    "_x1",
    "a{2}",
    ".*+?()[]{}\\|^$",
    "^-]\\&~",
    "'\"/#",
    "  \"AWS\" : \"*\",",
    "{\n  \"AWS\": \"*\"\n}",
    "{\n  \"AWS\": \"*\"}",
];

fn event(i: usize, s: &str) -> Value {
    json!({"i": i, "f": s})
}

/// Which subjects the system jq selects with `filter` (one run over them all as JSON lines).
fn system_jq_hits(filter: &str, events: &[Value]) -> Result<Vec<bool>, String> {
    let dir = std::env::temp_dir().join(format!("rulecast-regex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join("f.jq");
    std::fs::write(&path, filter).map_err(|e| e.to_string())?;
    let mut child = Command::new("jq")
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let input: String = events.iter().map(|e| format!("{e}\n")).collect();
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(input.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let mut hits = vec![false; events.len()];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let i = v["i"].as_u64().ok_or("no index")? as usize;
        hits[i] = true;
    }
    Ok(hits)
}

#[test]
fn every_engine_agrees_with_the_evaluator() {
    let use_jq = common::system_jq();
    if !use_jq {
        eprintln!("note: no system jq on PATH; checking jaq and the CWLI referee only");
    }
    let events: Vec<Value> = SUBJECTS
        .iter()
        .enumerate()
        .map(|(i, s)| event(i, s))
        .collect();
    let mut dump = std::env::var_os("RULECAST_REGEX_CASES")
        .map(|p| std::fs::File::create(p).expect("the cases file can be written"));
    let mut failures = Vec::new();
    let mut checks = 0;
    for &(re, f) in REGEXES {
        let rule = rule_for(re, flags(f));
        let eval = Evaluator::new(&rule.condition).unwrap_or_else(|e| panic!("{re}: {e}"));
        let want: Vec<bool> = events.iter().map(|e| eval.matches(e)).collect();
        let jq = backend::render(Target::Jq.backend(), &rule, &RenderOptions::default())
            .unwrap_or_else(|e| panic!("{re}: {}", e.message));
        let program = JqProgram::compile(&jq).unwrap_or_else(|e| panic!("{re}: {e}\n{jq}"));
        let cwli = backend::render(
            Target::Cloudwatch.backend(),
            &rule,
            &RenderOptions::default(),
        );
        let query = match &cwli {
            Ok(q) => Some(referee::parse(q).unwrap_or_else(|e| panic!("{re}: {e}\n{q}"))),
            Err(e) => {
                // Logs Insights has no portable word boundary.
                assert!(
                    re.contains(r"\b") || re.contains(r"\B"),
                    "{re}: {}",
                    e.message
                );
                None
            }
        };
        let by_jq = if use_jq {
            Some(system_jq_hits(&jq, &events).unwrap_or_else(|e| panic!("{re}: jq: {e}\n{jq}")))
        } else {
            None
        };
        for (i, e) in events.iter().enumerate() {
            let s = SUBJECTS[i];
            let jaq = !program.run(e).expect("jaq runs").is_empty();
            checks += 1;
            if jaq != want[i] {
                failures.push(format!(
                    "{re:?} ({f}) on {s:?}: jaq {jaq}, evaluator {}",
                    want[i]
                ));
            }
            if let Some(hits) = &by_jq {
                checks += 1;
                if hits[i] != want[i] {
                    failures.push(format!(
                        "{re:?} ({f}) on {s:?}: system jq {}, evaluator {}",
                        hits[i], want[i]
                    ));
                }
            }
            if let Some(q) = &query {
                checks += 1;
                if q.matches(e) != want[i] {
                    failures.push(format!(
                        "{re:?} ({f}) on {s:?}: CWLI referee {}, evaluator {}",
                        !want[i], want[i]
                    ));
                }
            }
        }
        if let Some(out) = dump.as_mut() {
            let p = PortableRegex::parse(re, flags(f)).expect("parses");
            let (onig, plain) = match p.jq().expect("renders") {
                JqRegex::One(s) => (s.clone(), s),
                JqRegex::ByEngine { onig, plain } => (onig, plain),
            };
            let line = json!({
                "regex": re, "flags": f, "jq": jq, "jq_onig": onig, "jq_plain": plain,
                "athena": p.athena().expect("renders"), "cloudwatch": p.cloudwatch().ok(),
                "subjects": SUBJECTS, "expected": want,
            });
            writeln!(out, "{line}").expect("written");
        }
    }
    eprintln!("{checks} checks over {} regexes", REGEXES.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Athena gets the Oniguruma spelling (Joni's `\b` is Unicode and its `(?m)^` misses the end
/// after a final newline), flag-free, with quotes doubled.
#[test]
fn athena_spellings() {
    let w = "[0-9A-Za-z_]";
    for (re, f, want) in [
        ("a$", "", r"regexp_like(f, 'a\z')".to_owned()),
        ("^a$", "m", r"regexp_like(f, '(?m:^)a(?m:$)')".to_owned()),
        (
            "(?m)^$",
            "",
            r"regexp_like(f, '(?<![^\x0A])(?m:$)')".to_owned(),
        ),
        (
            r"^\d\w\s",
            "",
            r"regexp_like(f, '\A[0-9][0-9A-Z_a-z][\x09-\x0D ]')".to_owned(),
        ),
        ("ß's", "i", "regexp_like(f, '[ßẞ]''[Ssſ]')".to_owned()),
        (
            r"\bb",
            "",
            format!("regexp_like(f, '(?:(?<={w})(?!{w})|(?<!{w})(?={w}))b')"),
        ),
    ] {
        // The default table has no column `f`: render on `eventName`.
        let r = rule_on("eventName", re, flags(f));
        let q = backend::render(Target::Athena.backend(), &r, &RenderOptions::default())
            .unwrap_or_else(|e| panic!("{re}: {}", e.message))
            .replace("regexp_like(eventname,", "regexp_like(f,");
        assert!(q.contains(&want), "{re}: want {want}\n{q}");
    }
}

/// What no rendering can make every engine agree on is E306 at the regex, on every target; the
/// jq 1.6 look-behind case only on jq.
#[test]
fn refused_constructs_are_bad_regexes() {
    for re in [
        r"\<word",
        r"word\>",
        r"\b{start}word",
        r"word\b{end}",
        r"\b{start-half}word",
        r"word\b{end-half}",
        r"(?Rm)^a$",
        r"\p{L}+\p{L}",
    ] {
        let d = rulecast::sigma::detection::check_regex(re, RegexFlags::default()).expect_err(re);
        assert_eq!(d.code, Code::BadRegex, "{re}");
        for t in [Target::Jq, Target::Athena, Target::Cloudwatch] {
            let e = backend::render(
                t.backend(),
                &rule_on("eventName", re, RegexFlags::default()),
                &RenderOptions::default(),
            )
            .expect_err(re);
            assert_eq!(e.code, Code::BadRegex, "{re} on {t}: {}", e.message);
        }
    }
    for re in [r"\b\z", r"x?\B\z", r"(?m)^\z", r"(?:^|x)\z"] {
        let f = if re.starts_with("(?:") {
            flags("m")
        } else {
            flags("")
        };
        assert!(
            rulecast::sigma::detection::check_regex(re, f).is_ok(),
            "{re}"
        );
        let e = backend::render(
            Target::Jq.backend(),
            &rule_for(re, f),
            &RenderOptions::default(),
        )
        .expect_err(re);
        assert_eq!(e.code, Code::BadRegex, "{re}: {}", e.message);
        assert!(e.message.contains("jq 1.6"), "{}", e.message);
    }
}

/// A refused regex in a Sigma rule is reported at the regex value.
#[test]
fn a_refusal_points_at_the_regex() {
    let text = "title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    sel:\n        eventName|re: 'Create\\>'\n    condition: sel\n";
    let file = rulecast::source_from_bytes("t.yml", text.as_bytes().to_vec()).expect("text");
    let lf = rulecast::load_source(file, &Default::default());
    let d = lf.rules[0].as_ref().expect_err("refused");
    assert_eq!(d.code, Code::BadRegex);
    let fd = d.clone().in_file(&lf.file);
    let shown = fd.render(false);
    assert!(shown.contains("t.yml:5:"), "{shown}");
    assert!(shown.contains("E306"), "{shown}");
}
