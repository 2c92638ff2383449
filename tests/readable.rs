//! Queries a person reads: over every shipped rule and the SigmaHQ corpus, in every target, no
//! query repeats an operand inside one AND/OR group, negates a negated presence test
//! (`not (not ispresent(x))`), or wraps a test that is never NULL in a null-safe NOT
//! (`NOT COALESCE(x IS NULL, FALSE)`); and no Athena query extracts every element of a path the
//! CloudTrail shape table calls a scalar (a column of the `events` block) instead of reading it
//! inline. The agreement tests say the shorter forms mean the same.

mod common;

use std::path::PathBuf;

use rulecast::discover;

/// Every rule file of the shipped rules and (when present) the SigmaHQ corpus.
fn rule_files() -> Vec<PathBuf> {
    let mut files = common::rule_files();
    if let Some(corpus) = common::shared_corpus("sigmahq-cloudtrail") {
        let (more, errors) = discover::rule_files(&[corpus]);
        assert!(errors.is_empty(), "{errors:?}");
        files.extend(more);
    }
    files
}

/// The lines of the condition groups in `query` that repeat the line before them at the same
/// indentation (`AND x` twice in a row, or `or (...)` twice): an operand printed twice.
fn repeated_lines(query: &str) -> Vec<String> {
    let lines: Vec<&str> = query.lines().collect();
    lines
        .windows(2)
        .filter(|w| {
            let t = w[1].trim_start();
            let joins = ["AND ", "OR ", "and ", "or "]
                .iter()
                .any(|k| t.starts_with(k));
            joins && w[0].trim_start() == t && !t.ends_with('(')
        })
        .map(|w| w[1].to_owned())
        .collect()
}

/// The fields an Athena query reads as lists of every value a path reaches: the columns of its
/// `events` block (`transform(...) AS "requestParameters.userName"`) and the lists its condition
/// ranges over (`any_match("requestParameters.userName", v -> ...)`).
fn any_element_fields(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in query.lines() {
        let t = line.trim_start();
        if t.starts_with("transform(") {
            if let Some(i) = t.rfind(" AS \"") {
                let name = t[i + 5..].trim_end_matches(',').trim_end_matches('"');
                out.push(name.to_owned());
            }
        }
    }
    let mut rest = query;
    while let Some(i) = rest.find("any_match(\"") {
        let after = &rest[i + "any_match(\"".len()..];
        if let Some(end) = after.find('"') {
            out.push(after[..end].to_owned());
        }
        rest = after;
    }
    out.sort();
    out.dedup();
    out
}

/// The fields of [`any_element_fields`] that the shape table calls scalars.
fn scalars_read_as_lists(query: &str) -> Vec<String> {
    any_element_fields(query)
        .into_iter()
        .filter(|f| {
            let segs: Vec<String> = f.split('.').map(str::to_owned).collect();
            rulecast::cloudtrail::documented_scalar(&segs)
        })
        .collect()
}

/// `NOT COALESCE(<one name> IS [NOT] NULL, FALSE)`: a null-safe NOT around a test that is never
/// NULL.
fn coalesced_null_test(query: &str) -> Option<String> {
    let mut rest = query;
    while let Some(i) = rest.find("NOT COALESCE(") {
        let after = &rest[i + "NOT COALESCE(".len()..];
        if let Some(end) = after.find(", FALSE)") {
            let inner = &after[..end];
            let name = inner
                .strip_suffix(" IS NULL")
                .or_else(|| inner.strip_suffix(" IS NOT NULL"));
            if name.is_some_and(|n| {
                n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            }) {
                return Some(format!("NOT COALESCE({inner}, FALSE)"));
            }
        }
        rest = after;
    }
    None
}

#[test]
fn no_repeats_no_double_negations_no_dead_null_guards() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in rule_files() {
        let lf = common::load(&path);
        for target in common::built_targets() {
            for query in common::render_file(&lf, target).into_iter().flatten() {
                checked += 1;
                let at = format!("{} [{target}]", common::rel(&path));
                for line in repeated_lines(&query) {
                    problems.push(format!("{at}: repeated operand: {}", line.trim()));
                }
                if query.contains("not (not ") {
                    problems.push(format!("{at}: not (not ...)"));
                }
                if let Some(x) = coalesced_null_test(&query) {
                    problems.push(format!("{at}: {x}"));
                }
                if target == rulecast::backend::Target::Athena {
                    for f in scalars_read_as_lists(&query) {
                        problems.push(format!(
                            "{at}: {f} is a documented scalar but is read as a list"
                        ));
                    }
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} queries were checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checks above find what they look for (so the test above can fail).
#[test]
fn the_checks_catch_their_patterns() {
    let q = "WHERE\n  a = 'x'\n  AND b IS NULL\n  AND b IS NULL\n";
    assert_eq!(repeated_lines(q), vec!["  AND b IS NULL".to_owned()]);
    assert!(repeated_lines("  AND (\n  AND (\n").is_empty());
    assert_eq!(
        coalesced_null_test("x AND NOT COALESCE(errorcode IS NOT NULL, FALSE)").as_deref(),
        Some("NOT COALESCE(errorcode IS NOT NULL, FALSE)")
    );
    assert_eq!(
        coalesced_null_test("NOT COALESCE(lower(a) = 'b', FALSE)"),
        None
    );
    let block = "WITH events AS (\n  SELECT\n    *,\n    transform(concat(ARRAY[json_extract(additionaleventdata, '$.MFAUsed')], ARRAY[]), j -> j) AS \"additionalEventData.MFAUsed\",\n    transform(x, j -> j) AS \"requestParameters.name\"\n  FROM t\n)\nSELECT * FROM events WHERE any_match(\"responseElements.ConsoleLogin\", v -> v = 'x')";
    assert_eq!(
        any_element_fields(block),
        vec![
            "additionalEventData.MFAUsed",
            "requestParameters.name",
            "responseElements.ConsoleLogin"
        ]
    );
    assert_eq!(
        scalars_read_as_lists(block),
        vec![
            "additionalEventData.MFAUsed",
            "responseElements.ConsoleLogin"
        ]
    );
}

/// Every rule's condition is a fixed point of the passes it went through: running them again
/// finds no guard another test implies, no repeat and no contradiction left to decide.
#[test]
fn the_passes_leave_nothing_they_can_decide() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in rule_files() {
        let lf = common::load(&path);
        for rule in lf.rules.iter().flatten() {
            if rule.correlation.is_some() {
                continue;
            }
            checked += 1;
            let again = match rule.format {
                rulecast::rule::Format::Sigma => {
                    rulecast::passes::lower_keeping_negations(&rule.condition)
                }
                rulecast::rule::Format::Panther => rulecast::passes::lower(&rule.condition),
            };
            if again != rule.condition {
                problems.push(format!("{}: {}", common::rel(&path), rule.meta.title));
            }
        }
    }
    assert!(checked > 100, "only {checked} rules were checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
