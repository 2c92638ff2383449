//! The Athena target: every query parses as SQL (sqlparser round trip), hostile rule values stay
//! inside their literals, fields the table cannot hold are errors, and the SigmaHQ corpus
//! converts without a dot into a JSON-string column. Semantics against test events are checked
//! by `scripts/check-athena` (Trino's grammar, sqlglot, DuckDB).

mod common;

use std::path::Path;

use common::*;
use rulecast::backend::{self, RenderOptions, Target};
use rulecast::diagnostic::Code;
use rulecast::eval::Evaluator;
use rulecast::ir::{
    Anchor, Cidr, CompareOp, Count, Elements, Expr, FieldPath, JsonType, Number, Pattern,
    Predicate, Quantifier, RegexFlags, Subject, Test,
};
use rulecast::rule::{Format, Meta, Rule};
use rulecast::source::{SourceFile, Span};
use serde_json::{json, Value};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

fn athena() -> &'static dyn backend::Backend {
    Target::Athena.backend()
}

fn opts() -> RenderOptions {
    RenderOptions {
        source_path: "test.yml".into(),
        now: Some("2026-11-22T00:00:00Z".into()),
        ..Default::default()
    }
}

/// Convert every rule of a YAML text; each query or error message.
fn convert_text(yaml: &str, opts: &RenderOptions) -> Vec<Result<String, String>> {
    let lf = rulecast::load_source(SourceFile::new("test.yml", yaml), &load_options());
    lf.rules
        .iter()
        .map(|r| {
            r.as_ref()
                .map_err(|d| d.clone().in_file(&lf.file).to_string())
                .and_then(|rule| {
                    backend::render(athena(), rule, opts)
                        .map_err(|d| d.in_file(&lf.file).to_string())
                })
        })
        .collect()
}

fn one(yaml: &str) -> String {
    one_with(yaml, &opts())
}

fn one_with(yaml: &str, o: &RenderOptions) -> String {
    let mut r = convert_text(yaml, o);
    assert_eq!(r.len(), 1);
    r.remove(0).unwrap_or_else(|e| panic!("{e}"))
}

fn error(yaml: &str, o: &RenderOptions) -> String {
    let mut r = convert_text(yaml, o);
    assert_eq!(r.len(), 1);
    match r.remove(0) {
        Ok(q) => panic!("expected an error, got\n{q}"),
        Err(e) => e,
    }
}

fn rule(detection: &str) -> String {
    format!("title: t\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n{detection}\n")
}

/// Parse with sqlparser's generic dialect: exactly one query, whose printed form parses back to
/// the same tree.
fn round_trip(sql: &str) -> Result<(), String> {
    let d = GenericDialect {};
    let stmts = Parser::parse_sql(&d, sql).map_err(|e| format!("{e}\n{sql}"))?;
    if stmts.len() != 1 {
        return Err(format!("{} statements in\n{sql}", stmts.len()));
    }
    if !matches!(stmts[0], sqlparser::ast::Statement::Query(_)) {
        return Err(format!("not a query:\n{sql}"));
    }
    let printed = stmts[0].to_string();
    if sql.contains("\\''") {
        // sqlparser prints a quote after a backslash undoubled (it takes `\'` for an escape), so
        // its own output does not parse back; the query itself parsed above.
        return Ok(());
    }
    let again = Parser::parse_sql(&d, &printed).map_err(|e| format!("{e}\n{printed}"))?;
    if again != stmts {
        return Err(format!(
            "round trip changed the tree:\n{sql}\n---\n{printed}"
        ));
    }
    Ok(())
}

/// The SQL with string literals and quoted identifiers blanked out.
fn code_only(sql: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => {
                if chars.peek() == Some(&q) {
                    chars.next();
                } else {
                    quote = None;
                    out.push(c);
                }
            }
            Some(_) => {}
            None if c == '-' && chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None => out.push(c),
        }
    }
    out
}

const JSON_COLUMNS: [&str; 5] = [
    "requestparameters",
    "responseelements",
    "additionaleventdata",
    "serviceeventdetails",
    "edgedevicedetails",
];

/// No `.` straight after a JSON-string column, outside literals.
fn no_dot_into_json(sql: &str) -> Result<(), String> {
    let code = code_only(sql).to_ascii_lowercase();
    for col in JSON_COLUMNS {
        let mut from = 0;
        while let Some(i) = code[from..].find(col) {
            let end = from + i + col.len();
            let before = code[..from + i].chars().last();
            let word_start = !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            if word_start && code[end..].starts_with('.') {
                return Err(format!("dot into {col}:\n{sql}"));
            }
            from = end;
        }
    }
    Ok(())
}

/// The first `LIKE '...'` whose pattern holds a backslash (an escape) without `ESCAPE '\'`
/// after it: without the clause, a backslash is a plain character and the escaped `%` or `_`
/// after it a wildcard. A pattern that is not a literal (`LIKE p`, over a list of literals) is
/// checked where its literals are: in the `ARRAY[...]` the same `any_match` gives `p`.
fn unescaped_like(sql: &str) -> Option<String> {
    let mut rest = sql;
    while let Some(i) = rest.find(" LIKE ") {
        rest = &rest[i + " LIKE ".len()..];
        let (pattern, after) = if rest.starts_with('\'') {
            // A literal: up to the quote that is not doubled.
            let b = rest.as_bytes();
            let mut j = 1;
            loop {
                match b.get(j) {
                    Some(b'\'') if b.get(j + 1) == Some(&b'\'') => j += 2,
                    Some(b'\'') | None => break,
                    Some(_) => j += 1,
                }
            }
            (
                &rest[..(j + 1).min(rest.len())],
                &rest[(j + 1).min(rest.len())..],
            )
        } else {
            // `any_match(ARRAY['a', ...], p -> t LIKE p ...)`: its list's literals.
            let list_start = sql[..sql.len() - rest.len()].rfind("ARRAY[")?;
            let list = &sql[list_start..sql.len() - rest.len()];
            let var_end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (list, &rest[var_end..])
        };
        if pattern.contains('\\') && !after.starts_with(" ESCAPE '\\'") {
            return Some(pattern.to_owned());
        }
    }
    None
}

#[test]
fn an_escaping_like_pattern_needs_its_escape_clause() {
    assert!(unescaped_like(r"WHERE x LIKE 'a\%b'").is_some());
    assert!(unescaped_like(r"WHERE x LIKE 'a\%b' ESCAPE '\'").is_none());
    assert!(unescaped_like(r"WHERE x LIKE 'it''s%'").is_none());
    assert!(unescaped_like(r"any_match(ARRAY['a\_', 'b%'], p -> x LIKE p)").is_some());
    assert!(unescaped_like(r"any_match(ARRAY['a\_', 'b%'], p -> x LIKE p ESCAPE '\')").is_none());
}

/// Shape checks every query must pass.
fn well_formed(sql: &str) -> Result<(), String> {
    if let Some(c) = sql
        .chars()
        .find(|&c| c != '\n' && rulecast::escape::is_hidden(c))
    {
        return Err(format!("a raw {c:?} in\n{sql}"));
    }
    round_trip(sql)?;
    no_dot_into_json(sql)?;
    let code = code_only(sql).to_ascii_uppercase();
    for bad in ["ILIKE", "IS NOT TRUE", "IS TRUE", "`", ";"] {
        if code.contains(bad) {
            return Err(format!("{bad} in\n{sql}"));
        }
    }
    if let Some(pattern) = unescaped_like(sql) {
        return Err(format!(
            "a LIKE pattern {pattern} with a backslash but no ESCAPE in\n{sql}"
        ));
    }
    if code.contains("NOT ")
        && code.matches("NOT COALESCE(").count() < code.matches("NOT (").count()
    {
        return Err(format!("a bare NOT in\n{sql}"));
    }
    for line in sql
        .lines()
        .take_while(|l| !l.starts_with("WITH") && !l.starts_with("SELECT"))
    {
        if !line.starts_with("-- ") {
            return Err(format!("header line outside a comment: {line:?}"));
        }
    }
    Ok(())
}

fn variants() -> Vec<RenderOptions> {
    let base = opts();
    vec![
        base.clone(),
        RenderOptions {
            since: Some("7d".into()),
            limit: Some(100),
            ..base.clone()
        },
        RenderOptions {
            since: Some("2026-10-30T12:00:00Z".into()),
            until: Some("2026-11-02T00:00:00Z".into()),
            partitions: Some("ymd".into()),
            ..base.clone()
        },
        RenderOptions {
            since: Some("24h".into()),
            partitions: Some("none".into()),
            table: Some("security.cloudtrail_logs_pp".into()),
            ..base.clone()
        },
    ]
}

#[test]
fn every_shipped_rule_round_trips_through_sqlparser() {
    let mut failures = Vec::new();
    let mut queries = 0;
    for path in rule_files() {
        let lf = load(&path);
        for o in variants() {
            for r in &lf.rules {
                let Ok(rule) = r else { continue };
                match backend::render(athena(), rule, &o) {
                    Ok(q) => {
                        queries += 1;
                        if let Err(e) = well_formed(&q) {
                            failures.push(format!("{}: {e}", rel(&path)));
                        }
                    }
                    Err(d) => failures.push(d.in_file(&lf.file).to_string()),
                }
            }
        }
        // Security Lake: a field with no OCSF column is an explicit error; the rest must parse.
        let sl = RenderOptions {
            schema: Some("security-lake".into()),
            since: Some("24h".into()),
            ..opts()
        };
        for rule in lf.rules.iter().flatten() {
            match backend::render(athena(), rule, &sl) {
                Ok(q) => {
                    queries += 1;
                    if let Err(e) = round_trip(&q) {
                        failures.push(format!("{} (security-lake): {e}", rel(&path)));
                    }
                }
                Err(d) if d.code == rulecast::diagnostic::Code::Unsupported => {}
                Err(d) => failures.push(d.in_file(&lf.file).to_string()),
            }
        }
    }
    assert!(queries > 200, "only {queries} queries");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn sigmahq_corpus_converts_without_dots_into_json_columns() {
    let Some(dir) = shared_corpus("sigmahq-cloudtrail") else {
        return;
    };
    let (files, errors) = rulecast::discover::rule_files(&[dir]);
    assert!(errors.is_empty());
    assert_eq!(files.len(), 57);
    let mut failures = Vec::new();
    let mut unsupported = Vec::new();
    let o = RenderOptions {
        since: Some("30d".into()),
        ..opts()
    };
    for f in &files {
        let lf = rulecast::load_path(f, &Default::default()).expect("reads");
        for r in &lf.rules {
            let rule = match r {
                Ok(rule) => rule,
                Err(d) => {
                    failures.push(d.clone().in_file(&lf.file).to_string());
                    continue;
                }
            };
            match backend::render(athena(), rule, &o) {
                Ok(q) => {
                    if let Err(e) = well_formed(&q) {
                        failures.push(format!("{}: {e}", f.display()));
                    }
                }
                Err(d) => unsupported.push(format!(
                    "{}: {}",
                    f.file_name().unwrap_or_default().to_string_lossy(),
                    d.message
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // One SigmaHQ rule tests `status`, which no CloudTrail record has: the table cannot hold it,
    // so it is an explicit error rather than a query that silently never matches.
    assert_eq!(unsupported.len(), 1, "{unsupported:#?}");
    assert!(
        unsupported[0].starts_with("aws_delete_saml_provider.yml: field 'status'"),
        "{unsupported:#?}"
    );
}

#[test]
fn quotes_and_backslashes_stay_in_their_literals() {
    let q = one(&rule(
        r#"    sel:
        userAgent: "o'brien\\'); DROP TABLE x; --"
        errorMessage|contains: "50%_off\\"
        eventName|re: "it's (a|b)\\d+"
        requestParameters.bucketName|startswith: "a'b"
    condition: sel"#,
    ));
    well_formed(&q).unwrap();
    assert!(
        q.contains(r#"lower(useragent) = 'o''brien\''); drop table x; --'"#),
        "{q}"
    );
    assert!(
        q.contains(r#"lower(errormessage) LIKE '%50\%\_off\\%' ESCAPE '\'"#),
        "{q}"
    );
    assert!(
        q.contains(r#"regexp_like(eventname, 'it''s [ab][0-9]+')"#),
        "{q}"
    );
    assert!(
        q.contains(r#"lower(json_extract_scalar(requestparameters, '$.bucketName')) LIKE 'a''b%'"#),
        "{q}"
    );
}

#[test]
fn wildcards_and_escaped_wildcards() {
    let q = one(&rule(
        r#"    sel:
        eventName: 'Get*Policy?'
        userAgent: 'lit\*star'
        errorCode: '*'
    condition: sel"#,
    ));
    well_formed(&q).unwrap();
    assert!(q.contains(r"lower(eventname) LIKE 'get%policy_'"), "{q}");
    assert!(q.contains("lower(useragent) = 'lit*star'"), "{q}");
    assert!(q.contains("errorcode IS NOT NULL"), "{q}");
}

#[test]
fn hostile_metadata_stays_in_comments() {
    let yaml = "title: \"t\\nSELECT 1; --\\r\\u2028x\\u202ey\\u2066z\"\nid: \"a\\nb\"\nlevel: high\nlogsource: {product: aws}\ndetection:\n    sel:\n        eventName: x\n    condition: sel\n";
    let q = one(yaml);
    well_formed(&q).unwrap();
    assert!(q.starts_with("-- t SELECT 1; --  x y z\n"), "{q}");
}

#[test]
fn hostile_field_names_stay_in_json_paths_and_identifiers() {
    let q = one(&rule(
        r#"    sel:
        requestParameters.a'b"c\d: x
        requestParameters.x-y.0: y
    condition: sel"#,
    ));
    well_formed(&q).unwrap();
    assert!(
        q.contains(r#"json_extract(requestparameters, '$["a''b\"c\\d"]')"#),
        "{q}"
    );
    assert!(q.contains(r#"AS "requestParameters.a'b""c\d""#), "{q}");
    assert!(
        q.contains(r#"IF(TRY_CAST(e AS ARRAY<JSON>) IS NULL, json_extract(e, '$["0"]'))"#),
        "{q}"
    );
}

/// The string literals of a query, decoded as Trino reads them: sqlparser's tokenizer reads
/// `'...'` and `U&'...'` (`\XXXX`, `\+XXXXXX`, `\\`) as Trino's parser does.
fn literals(sql: &str) -> Vec<String> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    Tokenizer::new(&GenericDialect {}, sql)
        .tokenize()
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
        .into_iter()
        .filter_map(|t| match t {
            Token::SingleQuotedString(s) | Token::UnicodeStringLiteral(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// Values with the characters of Trojan Source (bidirectional controls, invisible format
/// characters), NUL, DEL, C1 and terminal escapes, next to quotes, backslashes and LIKE
/// wildcards: no query holds one raw, and each literal decodes to exactly the rule's value.
#[test]
fn hidden_characters_are_escaped_in_unicode_literals() {
    let values = [
        "a\u{202e}b",
        "\u{2066}it's\\\u{2069}",
        "nul\u{0}del\u{7f}c1\u{85}\u{9b}",
        "\u{1b}]0;x\u{7}\u{1b}[2J",
        "50%_\u{200f}\u{200b}\u{feff}\u{2028}",
        "\\\u{202a}'",
    ];
    let ev = |name: &str| {
        Expr::Pred(Predicate {
            subject: Subject::Field(FieldPath::parse(name)),
            quantifier: Quantifier::Any,
            test: Test::Exists,
            span: Span::default(),
        })
    };
    for v in values {
        let pred = |field: &str, test: Test| {
            Expr::Pred(Predicate {
                subject: Subject::Field(FieldPath::parse(field)),
                quantifier: Quantifier::Any,
                test,
                span: Span::default(),
            })
        };
        let cases = [
            (
                pred(
                    "eventName",
                    Test::Text {
                        pattern: Pattern::literal(v),
                        cased: true,
                    },
                ),
                v.to_owned(),
            ),
            (
                pred(
                    "requestParameters.key",
                    Test::Text {
                        pattern: Pattern::literal(v).any_prefix().any_suffix(),
                        cased: true,
                    },
                ),
                format!(
                    "%{}%",
                    v.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                ),
            ),
            (
                pred(
                    "userAgent",
                    Test::Regex {
                        regex: rulecast::ir::regex_escape(v),
                        flags: RegexFlags::default(),
                    },
                ),
                // The regex as the Athena target rebuilds it (controls as `\xHH`).
                rulecast::portable_regex::PortableRegex::parse(
                    &rulecast::ir::regex_escape(v),
                    RegexFlags::default(),
                )
                .and_then(|r| r.athena())
                .expect("an escaped literal is a portable regex"),
            ),
            (
                py("requestParameters.v", Quantifier::Exact, Test::Is(json!(v))),
                v.to_owned(),
            ),
            (
                Expr::and(vec![
                    ev("eventName"),
                    py(
                        "requestParameters",
                        Quantifier::Exact,
                        Test::HasKey(v.into()),
                    ),
                ]),
                v.replace('\\', "\\\\").replace('"', "\\\""),
            ),
        ];
        for (cond, want) in cases {
            let rule = py_rule(cond);
            let q = backend::render(athena(), &rule, &opts())
                .unwrap_or_else(|d| panic!("{v:?}: {}", d.message));
            well_formed(&q).unwrap_or_else(|e| panic!("{v:?}: {e}"));
            let lits = literals(&q);
            assert!(
                lits.contains(&want) || lits.iter().any(|l| l.contains(want.as_str())),
                "{v:?}: no literal decodes to {want:?} in {lits:?}\n{q}"
            );
            // A literal holding a hidden character is a Unicode literal (a rebuilt regex writes
            // controls as `\xHH` and may need none).
            assert!(
                !want.chars().any(rulecast::escape::is_hidden) || q.contains("U&'"),
                "{q}"
            );
        }
    }
    // Plain values keep plain literals: existing queries do not change.
    let q = one(&rule(
        "    sel:\n        eventName: \"it's \\\\ 100%\"\n    condition: sel",
    ));
    assert!(!q.contains("U&"), "{q}");
    // A field name with such a character cannot be a column name of the query: refused.
    let e = py_render(
        py(
            "requestParameters.a\u{202e}b",
            Quantifier::Any,
            Test::Exists,
        ),
        &opts(),
    )
    .unwrap_err();
    assert!(
        e.contains("\"requestParameters.a\\u{202e}b\"") && e.contains("unsupported by athena"),
        "{e}"
    );
}

#[test]
fn not_is_null_safe_and_lists_become_in() {
    let q = one(&rule(
        r#"    sel:
        eventName:
            - StopLogging
            - DeleteTrail
    filter:
        errorCode: AccessDenied
    condition: sel and not filter"#,
    ));
    well_formed(&q).unwrap();
    assert!(
        q.contains("lower(eventname) IN ('stoplogging', 'deletetrail')"),
        "{q}"
    );
    // Null-safe: true when errorCode is missing (NULL), in the short form an expert writes.
    assert!(
        q.contains("lower(errorcode) IS DISTINCT FROM 'accessdenied'"),
        "{q}"
    );
    let q = one(&rule(
        r#"    sel:
        eventName: StopLogging
    filter:
        - errorCode: AccessDenied
        - userAgent: x
    condition: sel and not filter"#,
    ));
    assert!(q.contains("NOT COALESCE("), "{q}");
}

#[test]
fn case_folding_only_where_letters_need_it() {
    let q = one(&rule(
        r#"    sel:
        sourceIPAddress: '10.0.0.1'
        userIdentity.userName: 'Émile'
        userAgent|cased: 'Boto3'
    condition: sel"#,
    ));
    well_formed(&q).unwrap();
    assert!(q.contains("sourceipaddress = '10.0.0.1'"), "{q}");
    assert!(
        q.contains("translate(useridentity.username, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') = 'Émile'"),
        "{q}"
    );
    assert!(q.contains("useragent = 'Boto3'"), "{q}");
}

#[test]
fn arrays_cidr_numbers_fieldref_and_keywords() {
    let q = one(&rule(
        r#"    sel:
        resources.ARN|endswith: ':trail/main'
        sourceIPAddress|cidr: '10.0.0.0/8'
        requestParameters.durationSeconds|gt: 3600
        userIdentity.arn|fieldref|endswith: requestParameters.userName
    kw:
        - 'pacu'
    condition: sel and kw"#,
    ));
    well_formed(&q).unwrap();
    assert!(
        q.contains(r"any_match(resources, r -> lower(r.arn) LIKE '%:trail/main')"),
        "{q}"
    );
    assert!(
        q.contains("(strpos(sourceipaddress, ':') = 0 AND contains('10.0.0.0/8', TRY_CAST(sourceipaddress AS IPADDRESS)))"),
        "{q}"
    );
    // Documented scalars inside the JSON-string column are read inline, and the header says so.
    assert!(
        q.contains("TRY_CAST(json_extract_scalar(requestparameters, '$.durationSeconds') AS DOUBLE) > 3600"),
        "{q}"
    );
    assert!(
        q.contains(r#"starts_with(reverse(lower(useridentity.arn)), reverse(lower(json_extract_scalar(requestparameters, '$.userName'))))"#),
        "{q}"
    );
    assert!(
        q.contains("-- note: read as one value, as CloudTrail documents them (--no-shapes also looks into lists there): requestParameters.durationSeconds, requestParameters.userName\n"),
        "{q}"
    );
    assert!(
        !q.contains("any_match(\"requestParameters.userName\""),
        "{q}"
    );
    assert!(
        q.contains(r#"any_match("all values", v -> lower(v) LIKE '%pacu%')"#),
        "{q}"
    );
    // --no-shapes: any element of a list there matches, through the `events` block.
    let q = one_with(
        &rule(
            r#"    sel:
        requestParameters.durationSeconds|gt: 3600
        userIdentity.arn|fieldref|endswith: requestParameters.userName
    condition: sel"#,
        ),
        &RenderOptions {
            no_shapes: true,
            ..opts()
        },
    );
    well_formed(&q).unwrap();
    assert!(q.contains("TRY_CAST(v AS DOUBLE) > 3600"), "{q}");
    assert!(
        q.contains(r#"any_match("requestParameters.userName", v -> starts_with(reverse(lower(useridentity.arn)), reverse(lower(v))))"#),
        "{q}"
    );
    assert!(!q.contains("-- note: read as one value"), "{q}");
}

#[test]
fn time_window_prunes_partitions_and_bounds_eventtime() {
    let r = rule("    sel:\n        eventName: x\n    condition: sel");
    let q = one_with(
        &r,
        &RenderOptions {
            since: Some("2026-11-20T06:30:00Z".into()),
            until: Some("2026-11-21T00:00:00Z".into()),
            ..opts()
        },
    );
    assert!(
        q.contains("WHERE \"timestamp\" BETWEEN '2026/11/20' AND '2026/11/21'\n  AND eventtime >= '2026-11-20T06:30:00Z'\n  AND eventtime < '2026-11-21T00:00:00Z'\n  AND (\n"),
        "{q}"
    );
    let q = one_with(
        &r,
        &RenderOptions {
            since: Some("24h".into()),
            schema: Some("security-lake".into()),
            ..opts()
        },
    );
    assert!(
        q.contains("WHERE eventday >= '20261121'\n  AND time_dt >= from_iso8601_timestamp('2026-11-21T00:00:00Z')"),
        "{q}"
    );
    assert!(q.contains("lower(api.operation) = 'x'"), "{q}");
    let q = one(&r);
    assert!(q.contains("-- warning: no time window"), "{q}");
}

#[test]
fn fields_select_columns() {
    let q = one(&rule(
        "    sel:\n        eventName: x\n    condition: sel\nfields:\n    - eventName\n    - userIdentity.sessionContext.sessionIssuer.arn\n    - requestParameters.bucketName\n    - resources.ARN",
    ));
    well_formed(&q).unwrap();
    assert!(q.contains("SELECT\n  eventname,\n  useridentity.sessioncontext.sessionissuer.arn AS \"userIdentity.sessionContext.sessionIssuer.arn\",\n  json_extract_scalar(requestparameters, '$.bucketName') AS \"requestParameters.bucketName\",\n  transform(resources, r -> r.arn) AS \"resources.ARN\"\nFROM"), "{q}");
    let q = one(&rule(
        "    sel:\n        errorMessage: x\n    condition: sel",
    ));
    assert!(q.contains("SELECT\n  eventtime,\n  eventsource,\n  eventname,\n  useridentity.arn AS \"userIdentity.arn\",\n  sourceipaddress,\n  awsregion,\n  errorcode,\n  errormessage\nFROM cloudtrail_logs"), "{q}");
}

#[test]
fn fields_the_table_cannot_hold_are_errors() {
    let o = opts();
    let cases = [
        ("status: success", "field 'status': no column 'status'"),
        ("eventname: x", "did you mean 'eventName'?"),
        ("userIdentity.foo: x", "userIdentity has no field 'foo'"),
        (
            "userIdentity.sessionContext.sessionissuer.arn: x",
            "did you mean 'sessionIssuer'?",
        ),
        ("eventName.foo: x", "eventName is a STRING column"),
        ("resources.ARN.x: y", "resources.ARN is a STRING column"),
    ];
    for (item, want) in cases {
        let e = error(
            &rule(&format!("    sel:\n        {item}\n    condition: sel")),
            &o,
        );
        assert!(e.contains("error[E401]") && e.contains(want), "{item}: {e}");
        assert!(e.starts_with("test.yml:5:9:"), "{item}: {e}");
    }
    // An output field without a column changes what is shown, not what matches: the rule
    // converts, the field is left out of the SELECT with a warning that cannot leave its comment.
    let q = one_with(
        &rule("    sel:\n        eventName: x\n    condition: sel\nfields:\n    - \"nope\\nDROP TABLE t\"\n    - eventName"),
        &o,
    );
    assert!(
        q.contains(
            "-- warning: output field 'nope DROP TABLE t' has no column in the cloudtrail table"
        ),
        "{q}"
    );
    let select = &q[q.find("\nSELECT").expect("a SELECT")..];
    assert!(!select.contains("nope") && !select.contains("DROP"), "{q}");
    assert!(select.contains("SELECT\n  eventname\nFROM"), "{q}");
    well_formed(&q).expect("well formed");
    // None of them has one: the default columns stand in.
    let q = one_with(
        &rule("    sel:\n        eventName: x\n    condition: sel\nfields:\n    - nope"),
        &o,
    );
    assert!(q.contains("SELECT\n  eventtime,"), "{q}");
    well_formed(&q).expect("well formed");
    let sl = RenderOptions {
        schema: Some("security-lake".into()),
        ..opts()
    };
    let e = error(
        &rule("    sel:\n        additionalEventData.MFAUsed: 'No'\n    condition: sel"),
        &sl,
    );
    assert!(e.contains("has no column in the field map"), "{e}");
}

#[test]
fn bad_options_are_errors() {
    let r = rule("    sel:\n        eventName: x\n    condition: sel");
    let cases: [(RenderOptions, &str); 6] = [
        (
            RenderOptions {
                schema: Some("lake".into()),
                ..opts()
            },
            "unknown schema 'lake'",
        ),
        (
            RenderOptions {
                partitions: Some("eventday".into()),
                ..opts()
            },
            "--partitions 'eventday' does not fit the cloudtrail schema",
        ),
        (
            RenderOptions {
                since: Some("yesterday".into()),
                ..opts()
            },
            "--since: ",
        ),
        (
            RenderOptions {
                since: Some("1d".into()),
                until: Some("2d".into()),
                ..opts()
            },
            "is not before --until",
        ),
        (
            RenderOptions {
                table: Some("a..b".into()),
                ..opts()
            },
            "is not a table name",
        ),
        (
            RenderOptions {
                now: Some("noon".into()),
                since: Some("1d".into()),
                ..opts()
            },
            "--now: ",
        ),
    ];
    for (o, want) in cases {
        let e = error(&r, &o);
        assert!(e.contains(want), "{want}: {e}");
        assert!(e.starts_with("test.yml:1:1: error[E305]: athena: "), "{e}");
    }
    let q = one_with(
        &r,
        &RenderOptions {
            table: Some("my-db.Trail Logs".into()),
            ..opts()
        },
    );
    assert!(q.contains("FROM \"my-db\".\"trail logs\"\n"), "{q}");
}

#[test]
fn a_ddl_file_is_a_schema() {
    let dir = std::env::temp_dir().join(format!("rulecast-athena-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ddl = dir.join("my_trail.ddl");
    // AWS's own spelling: lowercase names, JSON columns as plain STRING.
    std::fs::write(
        &ddl,
        "eventversion STRING,\nuseridentity STRUCT<type:STRING, arn:STRING,\n  sessioncontext:STRUCT<sessionissuer:STRUCT<arn:STRING>>>,\neventtime STRING, eventname STRING,\nrequestparameters STRING, tenant STRING\n",
    )
    .unwrap();
    let o = RenderOptions {
        schema: Some(ddl.display().to_string()),
        ..opts()
    };
    let q = one_with(
        &rule("    sel:\n        eventName: x\n        tenant: acme\n        userIdentity.sessionContext.sessionIssuer.arn|endswith: ':role/a'\n        requestParameters.bucketName: b\n    condition: sel"),
        &o,
    );
    well_formed(&q).unwrap();
    assert!(q.contains("lower(eventname) = 'x'"), "{q}");
    assert!(q.contains("lower(tenant) = 'acme'"), "{q}");
    assert!(
        q.contains("lower(useridentity.sessioncontext.sessionissuer.arn) LIKE"),
        "{q}"
    );
    assert!(
        q.contains(r#"lower(json_extract_scalar(requestparameters, '$.bucketName')) = 'b'"#),
        "{q}"
    );
    // Columns the file lacks are errors, naming the file.
    let e = error(
        &rule("    sel:\n        errorCode: x\n    condition: sel"),
        &o,
    );
    assert!(
        e.contains("no column 'errorCode'") && e.contains("my_trail.ddl"),
        "{e}"
    );
    let missing = RenderOptions {
        schema: Some(dir.join("nope.ddl").display().to_string()),
        ..opts()
    };
    let e = error(
        &rule("    sel:\n        eventName: x\n    condition: sel"),
        &missing,
    );
    assert!(e.contains("cannot read schema file"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn keyword_rules_and_example_rule_parse() {
    let p = root().join("rules/sigma/general/offensive_tooling_artifacts.yml");
    if Path::new(&p).exists() {
        for r in render_file(&load(&p), Target::Athena) {
            well_formed(&r.unwrap()).unwrap();
        }
    }
}

// ---- Python-style predicates (Panther): Exact / AnyElement / AllElements, is, str, truthy, type,
// has_key. The rules are built as IR; `scripts/check-athena` runs every query below in DuckDB
// over `py_events()` and compares with the evaluator's verdicts (written when
// RULECAST_ATHENA_CASES names a file).

fn py_rule(condition: Expr) -> Rule {
    Rule {
        format: Format::Sigma,
        meta: Meta {
            title: "python-style".to_owned(),
            ..Default::default()
        },
        detections: vec![],
        condition_text: vec![],
        condition,
        span: Span::default(),
        logsource_span: Span::default(),
        raises: None,
        correlation: None,
    }
}

/// A path; "" is the empty path (an element itself).
fn path_of(path: &str) -> FieldPath {
    if path.is_empty() {
        FieldPath::new(vec![])
    } else {
        FieldPath::parse(path)
    }
}

fn py(path: &str, quantifier: Quantifier, test: Test) -> Expr {
    Expr::Pred(Predicate {
        subject: Subject::Field(path_of(path)),
        quantifier,
        test,
        span: Span::default(),
    })
}

/// JSON values with every type and the edge cases of Python's `==` and truthiness.
fn py_values() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(1.0),
        json!(0.0),
        json!(-0.0),
        json!(2),
        json!(1.5),
        json!(-3),
        json!(""),
        json!("x"),
        json!("X"),
        json!("1"),
        json!("0"),
        json!("true"),
        json!("a*b"),
        json!("10.1.2.3"),
        json!("\u{130}x"),
        json!("\u{212a}"),
        json!("ab%_\\'\"\n"),
        json!("r\u{202e}l\u{0}\u{7f}"),
        json!("R\u{202e}L\u{0}\u{7f}"),
        json!([]),
        json!([1]),
        json!(["x", null]),
        json!([true, 0]),
        json!([[1]]),
        json!([{}]),
        json!([{"k": 1}, null]),
        json!(["x", "X"]),
        json!([{"k": 1}, {"k": "x"}]),
        json!([{"k": [1]}, {"k": true}, {}]),
        json!([[], [0], ["x"]]),
        json!({}),
        json!({"k": null}),
        json!({"k": 1}),
        json!({"0": "a"}),
        json!({"k": {"k": "x"}}),
    ]
}

/// CloudTrail-shaped events: every value of `py_values()` at `requestParameters.v`,
/// `requestParameters.o.v` and as `requestParameters` itself, with the typed columns cycling
/// through what their DDL types can hold.
fn py_events() -> Vec<Value> {
    let names = [
        json!("ConsoleLogin"),
        json!(""),
        json!("consolelogin"),
        json!(null),
    ];
    let read_only = [json!(true), json!(false), json!(null)];
    let identities = [
        json!({"type": "Root", "arn": "arn:aws:iam::1:root", "userName": "consolelogin"}),
        json!({"type": ""}),
        json!({}),
        json!(null),
    ];
    let resources = [
        json!([]),
        json!([{"ARN": "arn:a", "type": "AWS::S3::Bucket"}]),
        json!([{"ARN": "x"}, {"ARN": "X"}]),
        json!(null),
        json!([{}]),
    ];
    let ips = [
        json!("10.1.2.3"),
        json!("2001:db8::1"),
        json!("example.com"),
        json!(null),
    ];
    let mut out = Vec::new();
    let values = py_values();
    for (i, v) in values.iter().enumerate() {
        let mut e = serde_json::Map::new();
        e.insert("eventTime".into(), json!("2026-11-01T00:00:00Z"));
        let mut put = |k: &str, x: &Value| {
            if !x.is_null() {
                e.insert(k.into(), x.clone());
            }
        };
        put("eventName", &names[i % names.len()]);
        put("readOnly", &read_only[i % read_only.len()]);
        put("userIdentity", &identities[i % identities.len()]);
        put("resources", &resources[i % resources.len()]);
        put("sourceIPAddress", &ips[i % ips.len()]);
        put(
            "requestParameters",
            &json!({"v": v, "o": {"v": v}, "w": values[(i + 7) % values.len()]}),
        );
        out.push(Value::Object(e.clone()));
        // The whole document is the value, too (its text is what the SerDe stores).
        if v.is_object() || v.is_array() {
            e.insert("requestParameters".into(), v.clone());
            out.push(Value::Object(e));
        }
    }
    out.push(json!({"eventTime": "2026-11-01T00:00:00Z"}));
    out.push(json!({"eventTime": "2026-11-01T00:00:00Z", "requestParameters": {"o": [{"v": 1}]}}));
    // Paths the CloudTrail shape table calls scalars, holding every type (lists and objects too).
    // (A whole document that is a list is not crossed by Athena's shape-free form: see
    // docs/athena.md.)
    for (i, v) in values.iter().enumerate() {
        let w = &values[(i + 3) % values.len()];
        out.push(json!({
            "eventTime": "2026-11-01T00:00:00Z",
            "requestParameters": {"userName": v, "fromPort": w, "v": w},
            "additionalEventData": {"MFAUsed": w},
        }));
    }
    out
}

/// Sigma-style tests on paths the CloudTrail shape table calls scalars (read inline by default,
/// in the shape-free form with `--no-shapes`).
fn shape_cases() -> Vec<(String, Expr)> {
    let tests = [
        Test::Null,
        Test::Exists,
        Test::Text {
            pattern: Pattern::parse_sigma("x"),
            cased: false,
        },
        Test::Text {
            pattern: Pattern::parse_sigma("*1*"),
            cased: true,
        },
        Test::Regex {
            regex: "^[0-9x]".into(),
            flags: RegexFlags::default(),
        },
        Test::Compare {
            op: CompareOp::Gte,
            value: num(1.0),
        },
        Test::FieldRef(rulecast::ir::FieldRef::plain(
            FieldPath::parse("requestParameters.v"),
            Anchor::Whole,
            false,
        )),
    ];
    let mut out = Vec::new();
    for path in [
        "requestParameters.userName",
        "requestParameters.fromPort",
        "additionalEventData.MFAUsed",
    ] {
        for test in &tests {
            out.push((
                format!("shapes {path} {test:?}"),
                py(path, Quantifier::Any, test.clone()),
            ));
        }
    }
    // A documented scalar on the other side of a field reference.
    out.push((
        "shapes requestParameters.v fieldref requestParameters.userName".to_owned(),
        py(
            "requestParameters.v",
            Quantifier::Any,
            Test::FieldRef(rulecast::ir::FieldRef::plain(
                FieldPath::parse("requestParameters.userName"),
                Anchor::Whole,
                false,
            )),
        ),
    ));
    out
}

fn num(n: f64) -> Number {
    Number {
        value: n,
        text: n.to_string(),
    }
}

/// The tests a Python-style predicate can make.
fn py_tests() -> Vec<Test> {
    let mut out = vec![
        Test::Null,
        Test::Exists,
        Test::Truthy,
        Test::HasKey("k".into()),
        Test::HasKey("0".into()),
        Test::HasKey("type".into()),
        Test::HasKey("eventName".into()),
        Test::HasKey("requestParameters".into()),
    ];
    for v in [
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(1.5),
        json!(""),
        json!("x"),
        json!("1"),
        json!("true"),
        json!("ConsoleLogin"),
        json!("r\u{202e}l\u{0}\u{7f}"),
    ] {
        out.push(Test::Is(v));
    }
    for (p, fold) in [
        ("x", false),
        ("X", true),
        ("*b", true),
        ("?", false),
        ("", false),
        ("consolelogin", true),
        ("*", false),
        ("k*", true),
        ("*\u{202e}l?\u{7f}", true),
    ] {
        out.push(Test::Str {
            pattern: Pattern::parse_sigma(p),
            fold,
        });
    }
    for t in [
        JsonType::String,
        JsonType::Number,
        JsonType::Boolean,
        JsonType::Array,
        JsonType::Object,
    ] {
        out.push(Test::Type(t));
    }
    out.push(Test::Regex {
        regex: "^[0-9x]".into(),
        flags: RegexFlags::default(),
    });
    out.push(Test::Compare {
        op: CompareOp::Gte,
        value: num(1.0),
    });
    out.push(Test::Cidr(Cidr::parse("10.0.0.0/8").expect("cidr")));
    out.push(Test::Text {
        pattern: Pattern::parse_sigma("x"),
        cased: false,
    });
    out.push(Test::FieldRef(rulecast::ir::FieldRef {
        other: FieldPath::parse("requestParameters.w"),
        anchor: Anchor::Whole,
        cased: false,
        before: String::new(),
        after: String::new(),
    }));
    out.push(Test::FieldRef(rulecast::ir::FieldRef {
        other: FieldPath::parse("requestParameters.w"),
        anchor: Anchor::Suffix,
        cased: true,
        before: "it's/".into(),
        after: "\\'".into(),
    }));
    out
}

/// Every Python-style case: a name and its condition. Unsupported combinations are returned too
/// (the caller checks they are refused for a reason the table forces).
fn py_cases() -> Vec<(String, Expr)> {
    let exact_paths = [
        "",
        "requestParameters.v",
        "requestParameters.o.v",
        "requestParameters.o",
        "requestParameters",
        "requestParameters.v.0",
        "requestParameters.v.k",
        "eventName",
        "readOnly",
        "sourceIPAddress",
        "userIdentity.type",
        "userIdentity",
        "resources",
        "resources.ARN",
    ];
    let element_paths = [
        "requestParameters.v",
        "requestParameters.o.v",
        "requestParameters",
        "resources",
        "eventName",
    ];
    let mut out = Vec::new();
    for test in py_tests() {
        for path in exact_paths {
            out.push((
                format!("exact {path} {test:?}"),
                py(path, Quantifier::Exact, test.clone()),
            ));
        }
        if matches!(
            test,
            Test::Is(_) | Test::Str { .. } | Test::Truthy | Test::Type(_) | Test::HasKey(_)
        ) {
            // Typed tests under Sigma's reading (Panther's deep_walk()).
            for path in exact_paths {
                out.push((
                    format!("any {path} {test:?}"),
                    py(path, Quantifier::Any, test.clone()),
                ));
            }
        }
        for path in element_paths {
            for count in [Count::Some, Count::Every] {
                let own = py("", Quantifier::Exact, test.clone());
                out.push((format!("{count:?} {path} {test:?}"), each(path, count, own)));
            }
        }
    }
    out
}

fn each(path: &str, count: Count, body: Expr) -> Expr {
    Expr::Elements(Elements {
        path: path_of(path),
        count,
        body: Box::new(body),
        span: Span::default(),
    })
}

/// Per-element conditions: bodies on the element itself, on its fields, nested, with a fieldref
/// between two of its fields; over JSON arrays, an array column and a non-array.
/// String matches of one value as one group (`any_match` over LIKE patterns, or one match each):
/// a string column, a JSON value and a struct field, folded or not, with patterns that need
/// escaping.
fn string_set_cases() -> Vec<(String, Expr)> {
    let sets: [&[&str]; 4] = [
        &["console*", "*login", "x"],
        &["CONSOLE*", "*Log?n"],
        &[r"50\%*", "a_b*", r"*\\", "it's*"],
        &["*", "", "?"],
    ];
    let mut out = Vec::new();
    for path in ["eventName", "requestParameters.v", "userIdentity.userName"] {
        for set in sets {
            for fold in [true, false] {
                let alts = set
                    .iter()
                    .map(|p| {
                        py(
                            path,
                            Quantifier::Exact,
                            Test::Str {
                                pattern: Pattern::parse_sigma(p),
                                fold,
                            },
                        )
                    })
                    .collect();
                out.push((format!("{path} one of {set:?} fold {fold}"), Expr::Or(alts)));
            }
        }
    }
    out
}

fn element_cases() -> Vec<(String, Expr)> {
    let exact = |p: &str, t: Test| py(p, Quantifier::Exact, t);
    let bodies = [
        ("itself == 'x'", exact("", Test::Is(json!("x")))),
        ("itself is None", exact("", Test::Null)),
        ("itself truthy", exact("", Test::Truthy)),
        (
            "k == 1 and not k is None",
            Expr::and(vec![
                exact("k", Test::Is(json!(1))),
                Expr::not(exact("k", Test::Null)),
            ]),
        ),
        (
            "k is a string or ARN starts with x",
            Expr::or(vec![
                exact("k", Test::Type(JsonType::String)),
                exact(
                    "ARN",
                    Test::Str {
                        pattern: Pattern::parse_sigma("x*"),
                        fold: true,
                    },
                ),
            ]),
        ),
        ("type is None", exact("type", Test::Null)),
        (
            "any of itself == 1",
            each("", Count::Some, exact("", Test::Is(json!(1)))),
        ),
        (
            "all of k truthy",
            each("k", Count::Every, exact("", Test::Truthy)),
        ),
        (
            "some element of itself is 0",
            each("", Count::Some, exact("", Test::Is(json!(0)))),
        ),
        (
            "k == ARN (fieldref)",
            exact(
                "k",
                Test::FieldRef(rulecast::ir::FieldRef {
                    other: FieldPath::parse("ARN"),
                    anchor: Anchor::Whole,
                    cased: true,
                    before: String::new(),
                    after: String::new(),
                }),
            ),
        ),
        (
            "k ends with 'arn/' + ARN",
            exact(
                "k",
                Test::FieldRef(rulecast::ir::FieldRef {
                    other: FieldPath::parse("ARN"),
                    anchor: Anchor::Suffix,
                    cased: true,
                    before: "arn/".into(),
                    after: String::new(),
                }),
            ),
        ),
    ];
    let mut out = Vec::new();
    for path in [
        "requestParameters.v",
        "requestParameters.o.v",
        "requestParameters",
        "resources",
        "eventName",
        "resources.ARN",
    ] {
        for (name, body) in &bodies {
            for count in [Count::Some, Count::Every, Count::One] {
                out.push((
                    format!("{count:?} of {path}: {name}"),
                    each(path, count, body.clone()),
                ));
            }
        }
    }
    out
}

/// An array directly inside an array anywhere in `v`: Sigma's reading (and `deep_walk()`) crosses
/// those to any depth in the evaluator, one level in SQL (a documented difference).
fn nested_arrays(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|x| x.is_array() || nested_arrays(x)),
        Value::Object(m) => m.values().any(nested_arrays),
        _ => false,
    }
}

/// Why the table forces a refusal, as the message says it.
const REFUSALS: &[&str] = &[
    "'== None' on a column",
    "'== None' on every value a path reaches",
    "in a struct or map column",
    "truthiness of a struct or map column",
    "on a struct, array or map column under a Python-style reading",
    // A struct element's field that the DDL does not name.
    "the element has no field",
    "whose DDL type has no field",
    // `"requestParameters" in event`: CloudTrail writes it as null too.
    "the record may hold as null",
    "truthiness of the whole record",
    "on the whole record (the table does not keep its JSON text)",
    "an empty field name",
];

#[test]
fn python_style_predicates_render_or_are_refused() {
    let mut failures = Vec::new();
    let mut rendered = 0;
    let mut refused = 0;
    let mut dump = Vec::new();
    let events = py_events();
    // Each case in Athena's default reading (documented shapes), and the Sigma-style tests on
    // documented scalars also with --no-shapes: each against the evaluator's same reading.
    let shapes = shape_cases();
    let cases = py_cases()
        .into_iter()
        .chain(element_cases())
        .chain(string_set_cases())
        .chain(shapes.clone())
        .map(|(n, c)| (n, c, true))
        .chain(
            shapes
                .into_iter()
                .map(|(n, c)| (format!("{n} --no-shapes"), c, false)),
        );
    for (name, cond, shaped) in cases {
        let o = RenderOptions {
            no_shapes: !shaped,
            ..opts()
        };
        for (label, c) in [
            (name.clone(), cond.clone()),
            (format!("not {name}"), Expr::not(cond.clone())),
        ] {
            let rule = py_rule(c);
            match backend::render(athena(), &rule, &o) {
                Ok(q) => {
                    rendered += 1;
                    if let Err(e) = well_formed(&q) {
                        failures.push(format!("{label}: {e}"));
                    }
                    let eval = Evaluator::new(&rule.condition)
                        .expect("compiles")
                        .with_shapes(shaped);
                    let expected: Vec<usize> = (0..events.len())
                        .filter(|&i| eval.matches(&events[i]))
                        .collect();
                    let sigma_reading = rule
                        .condition
                        .predicates()
                        .iter()
                        .any(|p| p.quantifier == Quantifier::Any);
                    let ignore: Vec<usize> = (0..events.len())
                        .filter(|&i| sigma_reading && nested_arrays(&events[i]))
                        .collect();
                    dump.push(
                        json!({"name": label, "sql": q, "expected": expected, "ignore": ignore}),
                    );
                }
                Err(d) => {
                    refused += 1;
                    if d.code != Code::Unsupported
                        || !REFUSALS.iter().any(|r| d.message.contains(r))
                    {
                        failures.push(format!("{label}: {}", d.message));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(rendered > 1500, "only {rendered} rendered");
    assert!(refused < rendered / 10, "{refused} refused");
    if let Some(path) = std::env::var_os("RULECAST_ATHENA_CASES") {
        let mut text = json!({ "events": events }).to_string();
        for d in dump {
            text.push('\n');
            text.push_str(&d.to_string());
        }
        text.push('\n');
        std::fs::write(&path, text).expect("writes the cases file");
    }
}

/// Render a Python-style condition; the query or the error message.
fn py_render(cond: Expr, o: &RenderOptions) -> Result<String, String> {
    backend::render(athena(), &py_rule(cond), o).map_err(|d| d.message)
}

#[test]
fn python_style_reads_column_types_from_the_ddl() {
    let exact = |p: &str, t: Test| py(p, Quantifier::Exact, t);
    let ok = |c: Expr, o: &RenderOptions| {
        let q = py_render(c, o).unwrap_or_else(|e| panic!("{e}"));
        well_formed(&q).unwrap();
        q
    };
    // readOnly is a JSON boolean the table stores as 'true'/'false'.
    let q = ok(exact("readOnly", Test::Truthy), &opts());
    assert!(q.contains("readonly = 'true'"), "{q}");
    let q = ok(exact("readOnly", Test::Is(json!(false))), &opts());
    assert!(q.contains("readonly = 'false'"), "{q}");
    let q = ok(exact("readOnly", Test::Is(json!("true"))), &opts());
    assert!(
        q.contains("\n  FALSE\n"),
        "a string never equals a boolean: {q}"
    );
    // A STRING holds a JSON string.
    let q = ok(exact("eventName", Test::Is(json!("ConsoleLogin"))), &opts());
    assert!(q.contains("eventname = 'ConsoleLogin'"), "{q}");
    let q = ok(exact("eventName", Test::Truthy), &opts());
    assert!(q.contains("eventname <> ''"), "{q}");
    let q = ok(exact("errorCode", Test::Type(JsonType::Number)), &opts());
    assert!(q.contains("\n  FALSE\n"), "{q}");
    // Python never walks into an array: a path through `resources` reaches nothing, and says so.
    let q = ok(exact("resources.ARN", Test::Null), &opts());
    assert!(q.contains("\n  TRUE\n") && q.contains("-- note: resources.ARN crosses an array"));
    // Inside a JSON-string column: the typed JSON value.
    let q = ok(exact("requestParameters.a.b", Test::Is(json!(1))), &opts());
    assert!(
        q.contains("TRY_CAST(json_extract(requestparameters, '$.a.b') AS DOUBLE) = 1e0")
            && q.contains("json_format(json_extract(requestparameters, '$.a.b')) = 'true'"),
        "{q}"
    );

    // A DDL file with AWS's plain `readonly STRING` reads readOnly as a boolean too.
    let dir = std::env::temp_dir().join(format!("rulecast-athena-py-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ddl = dir.join("trail.ddl");
    std::fs::write(
        &ddl,
        "eventtime STRING, eventname STRING, readonly STRING, requestparameters STRING, n BIGINT, f DOUBLE, ok BOOLEAN, tags MAP<STRING,STRING>\n",
    )
    .unwrap();
    let file = RenderOptions {
        schema: Some(ddl.display().to_string()),
        ..opts()
    };
    let q = ok(exact("readOnly", Test::Is(json!(1))), &file);
    assert!(q.contains("readonly = 'true'"), "{q}");
    let q = ok(exact("n", Test::Is(json!(true))), &file);
    assert!(q.contains("CAST(n AS DOUBLE) = 1e0"), "{q}");
    let q = ok(exact("ok", Test::Is(json!(0))), &file);
    assert!(q.contains("ok = FALSE"), "{q}");
    let q = ok(
        exact("requestParameters.x", Test::HasKey("k".into())),
        &file,
    );
    assert!(q.contains("json_extract(json_extract(requestparameters, '$.x'), '$.k') IS NOT NULL"));
    let e = py_render(
        exact(
            "f",
            Test::Regex {
                regex: "1".into(),
                flags: RegexFlags::default(),
            },
        ),
        &file,
    )
    .unwrap_err();
    assert!(e.contains("floating-point column"), "{e}");
    let q = ok(exact("tags", Test::HasKey("k".into())), &file);
    assert!(q.contains("element_at(tags, 'k') IS NOT NULL"), "{q}");
    // AWS's DDL says plain STRING: requestParameters is still one the record may hold as null.
    let e = py_render(exact("", Test::HasKey("requestParameters".into())), &file).unwrap_err();
    assert!(e.contains("may hold as null"), "{e}");
    std::fs::remove_dir_all(&dir).ok();

    // Refusals name the construct and the reason.
    let e = py_render(exact("eventName", Test::Is(json!(null))), &opts()).unwrap_err();
    assert!(e.contains("'== None' on a column") && e.contains("unsupported by athena"));
    let e = py_render(exact("userIdentity", Test::Truthy), &opts()).unwrap_err();
    assert!(e.contains("truthiness of a struct or map column"), "{e}");
    // `"k" in event`: the column is not NULL (CloudTrail writes no null there), except for the
    // columns the DDL marks nullable.
    let q = ok(exact("", Test::HasKey("userAgent".into())), &opts());
    assert!(q.contains("\n  useragent IS NOT NULL\n"), "{q}");
    let q = ok(
        exact("userIdentity", Test::HasKey("invokedBy".into())),
        &opts(),
    );
    assert!(q.contains("useridentity.invokedby IS NOT NULL"), "{q}");
    let e = py_render(exact("", Test::HasKey("responseElements".into())), &opts()).unwrap_err();
    assert!(e.contains("the record may hold as null"), "{e}");
    let e = py_render(exact("", Test::HasKey("managementEvent".into())), &opts()).unwrap_err();
    assert!(e.contains("has no field 'managementEvent'"), "{e}");
    // deep_walk(): some value through objects and arrays.
    let q = ok(
        py("resources.ARN", Quantifier::Any, Test::Is(json!("x"))),
        &opts(),
    );
    assert!(q.contains("any_match(resources, r -> r.arn = 'x')"), "{q}");
    let q = ok(
        py("requestParameters.a.b", Quantifier::Any, Test::Truthy),
        &opts(),
    );
    assert!(q.contains("any_match(flatten(transform("), "{q}");
    let e = py_render(
        each(
            "resources",
            Count::Some,
            py(
                "ARN",
                Quantifier::Any,
                Test::Text {
                    pattern: Pattern::literal("x"),
                    cased: false,
                },
            ),
        ),
        &opts(),
    )
    .unwrap_err();
    assert!(e.contains("a Sigma-style (any value) test inside a condition on each element"));

    // Security Lake: strings stay strings; a field the map converts to another OCSF type does not
    // hold the record's JSON value.
    let sl = RenderOptions {
        schema: Some("security-lake".into()),
        table: Some("t".into()),
        ..opts()
    };
    let q = ok(exact("eventName", Test::Is(json!("x"))), &sl);
    assert!(q.contains("api.operation = 'x'"), "{q}");
    let q = ok(exact("requestParameters.bucketName", Test::Truthy), &sl);
    assert!(
        q.contains("json_extract(api.request.data, '$.bucketName')"),
        "{q}"
    );
    let e = py_render(
        exact(
            "userIdentity.sessionContext.attributes.mfaAuthenticated",
            Test::Is(json!("true")),
        ),
        &sl,
    )
    .unwrap_err();
    assert!(e.contains("OCSF BOOLEAN column"), "{e}");
    let q = ok(exact("eventTime", Test::Null), &sl);
    assert!(q.contains("time_dt IS NULL"), "{q}");
}

#[test]
fn python_style_record_keys_through_the_security_lake_field_map() {
    let sl = RenderOptions {
        schema: Some("security-lake".into()),
        table: Some("t".into()),
        ..opts()
    };
    let has = |k: &str| py("", Quantifier::Exact, Test::HasKey(k.into()));
    let q = py_render(has("userAgent"), &sl).unwrap_or_else(|e| panic!("{e}"));
    well_formed(&q).unwrap();
    assert!(
        q.contains("\n  http_request.user_agent IS NOT NULL\n"),
        "{q}"
    );
    let e = py_render(has("requestParameters"), &sl).unwrap_err();
    assert!(e.contains("may hold as null"), "{e}");
    let e = py_render(has("readOnly"), &sl).unwrap_err();
    assert!(e.contains("no column in the field map"), "{e}");
}
