//! The first day with rulecast: a rules repository that configures itself (`rulecast.toml`, a
//! `placeholders.yml` in the tree), options that are checked once and say no, output
//! directories CI can keep in sync, Panther repositories as they are, pySigma pipelines.

mod common;

use common::run::{rulecast, rulecast_in, s, temp_dir, text, write};

const RULE: &str = "title: Key created\nid: 11111111-2222-4333-8444-555555555555\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    eventSource: iam.amazonaws.com\n    eventName: CreateAccessKey\n  condition: sel\nlevel: low\n";
const EXPAND: &str = "title: Outside accounts\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    recipientAccountId|expand: '%trusted%'\n  condition: not sel\n";
const BROKEN: &str = "title: Broken\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    eventName: X\n  condition: sel and nope\n";

/// The README's day-one commands exit 0 in this repository with no flags: the placeholders file
/// in `rules/` is found by itself.
#[test]
fn test_and_catalog_of_the_shipped_rules_need_no_flags() {
    let root = common::root();
    let o = rulecast_in(&root, &["test"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains(" passed, 0 failed"),
        "{}",
        text(&o.stdout)
    );
    let o = rulecast_in(&root, &["catalog", "rules"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The quick start: every target, into a directory. CloudWatch leaves out the temporal
    // correlations rules/rulecast.toml lists, and says so; without it they are E401 errors.
    let out = temp_dir("quick-start");
    let o = rulecast_in(&root, &["convert", "rules", "-t", "all", "-o", s(&out)]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains(
            "note: skipped for cloudwatch (rulecast.toml [skip-target.cloudwatch]): temporal"
        ),
        "{err}"
    );
    assert!(err.contains("0 rules failed (ok)"), "{err}");
    let o = rulecast_in(
        &root,
        &["--no-config", "convert", "rules", "-t", "cloudwatch"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("unsupported by cloudwatch"),
        "{}",
        text(&o.stderr)
    );
}

/// A `placeholders.yml` at the top of a rules tree feeds `expand` for rules below it; without
/// it the rule is an E308 error.
#[test]
fn placeholders_file_in_the_tree_is_used() {
    let d = temp_dir("ph-tree");
    let rule = write(&d, "rules/sub/outside.yml", EXPAND);
    let o = rulecast(&["convert", "--no-config", s(&rule)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("E308"), "{}", text(&o.stderr));
    write(
        &d,
        "rules/placeholders.yml",
        "placeholders:\n  trusted: ['111122223333']\n",
    );
    let o = rulecast_in(&d, &["convert", "--no-config", "rules/sub/outside.yml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("111122223333"));
    // Two trees with different files: a run has one set of placeholders, so it asks.
    write(
        &d,
        "other/placeholders.yml",
        "placeholders:\n  trusted: ['444455556666']\n",
    );
    write(&d, "other/r.yml", EXPAND);
    let o = rulecast_in(&d, &["convert", "--no-config", "rules", "other"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("name one with --placeholders"),
        "{}",
        text(&o.stderr)
    );
}

/// Bad option values are usage errors: exit 2, said once (not once per rule file), with the
/// accepted values; options no selected target reads are refused.
#[test]
fn options_are_checked_once_before_any_rule() {
    let d = temp_dir("opts");
    for i in 0..5 {
        write(&d, &format!("r{i}.yml"), RULE);
    }
    let cases: &[(&[&str], &str)] = &[
        (&["-t", "athena", "--since", "7days"], "span like 24h or 7d"),
        (
            &["-t", "athena", "--schema", "bogus"],
            "expected one of cloudtrail, security-lake",
        ),
        (
            &["-t", "athena", "--partitions", "bogus"],
            "expected one of projection, ymd, none",
        ),
        (
            &["-t", "athena", "--since", "1d", "--until", "2d"],
            "is not before --until",
        ),
        (
            &["-t", "jq", "--since", "1d"],
            "--since applies to -t athena, not to -t jq",
        ),
        (
            &["-t", "jq", "--table", "t"],
            "--table applies to -t athena",
        ),
        (
            &["-t", "cloudwatch", "--since", "1d"],
            "aws logs start-query --start-time",
        ),
    ];
    for (args, want) in cases {
        let mut argv = vec!["convert", "--no-config", s(&d)];
        argv.extend_from_slice(args);
        let o = rulecast(&argv);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: once: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(want),
            "{args:?}: {err}"
        );
        assert!(o.stdout.is_empty());
    }
    // The same option from the configuration, for a run of another target, is fine.
    write(&d, "rulecast.toml", "[convert]\nsince = '1d'\n");
    let o = rulecast(&["convert", "-t", "jq", s(&d)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = rulecast(&["convert", "-t", "athena", s(&d)]);
    assert!(text(&o.stdout).contains("current_timestamp - INTERVAL '1' DAY"));
}

/// A diagnostic that does not depend on the target is printed once with `-t all`, and is one
/// JSON line without a target with `-f json`; `-f markdown -t athena` shows Athena only.
#[test]
fn target_independent_errors_once_and_markdown_honours_t() {
    let d = temp_dir("once");
    write(&d, "a.yml", RULE);
    write(&d, "b.yml", BROKEN);
    let o = rulecast(&["convert", "--no-config", "-t", "all", s(&d)]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr).matches("error[E301]").count(),
        1,
        "{}",
        text(&o.stderr)
    );
    let o = rulecast(&["convert", "--no-config", "-t", "all", "-f", "json", s(&d)]);
    let errors: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .filter(|v: &serde_json::Value| v.get("error").is_some())
        .collect();
    assert_eq!(errors.len(), 1, "{}", text(&o.stdout));
    assert!(errors[0].get("target").is_none());
    let o = rulecast(&[
        "convert",
        "--no-config",
        "-f",
        "markdown",
        "-t",
        "athena",
        &format!("{}/a.yml", s(&d)),
    ]);
    let md = text(&o.stdout);
    assert!(md.contains("```sql") && !md.contains("```jq"), "{md}");
}

/// `-o` in CI: unchanged files are left alone, `--prune` removes what no rule produces,
/// `--check` tells a changed query from a rule that failed, `-o file.sql` is refused.
#[test]
fn output_dir_prune_check_and_summary() {
    let d = temp_dir("outdir");
    let rules = d.join("rules");
    write(&rules, "a.yml", RULE);
    write(
        &rules,
        "b.yml",
        RULE.replace("Key created", "Other")
            .replace(
                "11111111-2222-4333-8444-555555555555",
                "22222222-2222-4333-8444-555555555555",
            )
            .as_str(),
    );
    let out = d.join("out");
    let o = rulecast(&["convert", "--no-config", s(&rules), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        text(&o.stderr).trim_end(),
        format!(
            "{}: 2 written, 0 unchanged, 0 rules failed (ok)",
            out.display()
        )
    );
    // b is deleted, a breaks: b's output is extra, a's output is kept and reported as failed.
    std::fs::remove_file(rules.join("b.yml")).expect("rm");
    write(&rules, "a.yml", BROKEN);
    let o = rulecast(&[
        "convert",
        "--no-config",
        s(&rules),
        "-o",
        s(&out),
        "--check",
        "-f",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("not checked: ") && stdout.contains("a.jq (its rule file did not convert"),
        "{stdout}"
    );
    assert!(
        stdout.contains("extra file: ") && stdout.contains("b.jq"),
        "{stdout}"
    );
    let last: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("json");
    assert_eq!(
        last["summary"]["outcome"],
        "queries differ and rules failed"
    );
    assert_eq!(last["summary"]["differ"], 1);
    let o = rulecast(&[
        "convert",
        "--no-config",
        s(&rules),
        "-o",
        s(&out),
        "--prune",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.join("jq/b.jq").exists(), "pruned");
    assert!(
        out.join("jq/a.jq").exists(),
        "a failed rule's last output is kept"
    );
    assert!(
        text(&o.stderr).contains("1 pruned, 1 rules failed (rules failed)"),
        "{}",
        text(&o.stderr)
    );
    // Fixed: up to date.
    write(&rules, "a.yml", RULE);
    let o = rulecast(&[
        "convert",
        "--no-config",
        s(&rules),
        "-o",
        s(&out),
        "--check",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains("1 up to date, 0 differ, 0 rules failed (ok)"));
    for bad in ["queries.sql", "q.jq"] {
        let o = rulecast(&["convert", "--no-config", s(&rules), "-o", s(&d.join(bad))]);
        assert_eq!(o.status.code(), Some(2));
        assert!(
            text(&o.stderr).contains("looks like a file name"),
            "{}",
            text(&o.stderr)
        );
        assert!(!d.join(bad).exists());
    }
    let o = rulecast(&["convert", "--no-config", s(&rules), "--prune"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `rulecast.toml` is found from the rule path upward; its targets, output directory and
/// `exclude` apply; a misspelled key is an E002 error at its line with the near key.
#[test]
fn configuration_is_found_and_applied() {
    let d = temp_dir("config");
    write(&d, "rules/a.yml", RULE);
    write(&d, "rules/wip/draft.yml", BROKEN);
    write(
        &d,
        "rulecast.toml",
        "exclude = ['wip']\n[convert]\ntargets = ['athena', 'jq']\noutput-dir = 'queries'\n",
    );
    let o = rulecast(&["convert", s(&d.join("rules"))]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(d.join("queries/athena/a.sql").is_file() && d.join("queries/jq/a.jq").is_file());
    assert!(text(&o.stderr).contains("left out: 1 file excluded by rulecast.toml"));
    // Flags win over the file.
    let o = rulecast(&[
        "convert",
        s(&d.join("rules/a.yml")),
        "-t",
        "cloudwatch",
        "-o",
        s(&d.join("cw")),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(d.join("cw/cloudwatch/a.cwl").is_file());
    write(&d, "rulecast.toml", "[convert]\ntarget = 'jq'\n");
    let o = rulecast(&["convert", s(&d.join("rules/a.yml"))]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains(
            "rulecast.toml:2:1: error[E002]: unknown key 'target'; did you mean 'targets'?"
        ),
        "{err}"
    );
    write(
        &d,
        "rulecast.toml",
        "[convert]\noutput-dir = '../elsewhere'\n",
    );
    let o = rulecast(&["convert", s(&d.join("rules/a.yml"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("stay inside it"),
        "{}",
        text(&o.stderr)
    );
    // --no-config reads none; init writes the starter file, once.
    let o = rulecast(&["--no-config", "convert", s(&d.join("rules/a.yml"))]);
    assert_eq!(o.status.code(), Some(0));
    std::fs::remove_file(d.join("rulecast.toml")).expect("rm");
    let o = rulecast(&["init", s(&d)]);
    assert_eq!(o.status.code(), Some(0));
    let o = rulecast(&["init", s(&d)]);
    assert_eq!(o.status.code(), Some(2));
    let o = rulecast(&["convert", s(&d.join("rules/a.yml"))]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "the starter file is valid: {}",
        text(&o.stderr)
    );
}

/// A Panther repository as panther_analysis_tool lays it out converts and tests green:
/// helpers, data models and packs are counted, not errors; the rule that reads a cache is in
/// `[skip]` with its reason. Without the configuration that rule fails the run.
#[test]
fn panther_repository_converts_and_tests_green() {
    let repo = common::root().join("tests/fixtures/panther-repo");
    let out = temp_dir("panther-repo");
    let o = rulecast(&["convert", s(&repo), "-t", "all", "-o", s(&out)]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("note: skipped (rulecast.toml [skip]): reads a Panther cache"),
        "{err}"
    );
    assert!(
        err.contains(
            "4 files that are not rules (1 Panther datamodel, 1 Panther global, 1 Panther pack, 1 YAML without rule keys)"
        ),
        "{err}"
    );
    // Named on the command line, YAML that is no rule is still an error.
    let o = rulecast(&["convert", s(&repo.join("docker-compose.yml"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("error[E103]"),
        "{}",
        text(&o.stderr)
    );
    assert!(out.join("athena/aws_cloudtrail_stop_logging.sql").is_file());
    let o = rulecast(&["test", s(&repo)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(text(&o.stdout).starts_with("2 passed, 0 failed"));
    let o = rulecast(&["--no-config", "convert", s(&repo)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stderr).contains("error[E310]"));
}

/// Renaming a field to a column of one's own table needs no DDL file: the mapping names the
/// column and its type. `rulecast schema` prints the built-in DDL; messages name --schema.
#[test]
fn typed_column_renames_and_the_schema_command() {
    let d = temp_dir("columns");
    let rule = write(&d, "r.yml", &RULE.replace("eventSource", "sourceIPAddress"));
    let m = write(
        &d,
        "m.yml",
        "fields:\n  sourceIPAddress:\n    athena: src_ip\n",
    );
    let o = rulecast(&[
        "convert",
        "--no-config",
        "-t",
        "athena",
        s(&rule),
        "--mapping",
        s(&m),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("rulecast schema cloudtrail"),
        "{}",
        text(&o.stderr)
    );
    let m = write(
        &d,
        "m.yml",
        "fields:\n  sourceIPAddress:\n    athena: {column: src_ip, type: string}\n",
    );
    let o = rulecast(&[
        "convert",
        "--no-config",
        "-t",
        "athena",
        s(&rule),
        "--mapping",
        s(&m),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("lower(src_ip) = 'iam.amazonaws.com'"),
        "{}",
        text(&o.stdout)
    );
    let m = write(
        &d,
        "m.yml",
        "fields:\n  sourceIPAddress:\n    jq: {column: src_ip, type: string}\n",
    );
    let o = rulecast(&["convert", "--no-config", s(&rule), "--mapping", s(&m)]);
    assert_eq!(o.status.code(), Some(2));
    let o = rulecast(&["schema"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("requestParameters STRING COMMENT 'json nullable'"));
    let o = rulecast(&["schema", "security-lake"]);
    assert!(text(&o.stdout).contains("-- Field map"));
    let o = rulecast(&["schema", "bogus"]);
    assert_eq!(o.status.code(), Some(2));
}

/// sigma-cli users' pipelines: the renames and added conditions rulecast expresses are read,
/// anything else is refused by name at its line.
#[test]
fn pysigma_pipelines() {
    let d = temp_dir("pipeline");
    let rule = write(&d, "r.yml", &RULE.replace("eventSource", "EventSource"));
    let p = write(
        &d,
        "p.yml",
        "name: cloudtrail\npriority: 10\ntransformations:\n  - id: names\n    type: field_name_mapping\n    mapping:\n      EventSource: eventSource\n    rule_conditions:\n      - type: logsource\n        product: aws\n  - type: add_condition\n    conditions:\n      recipientAccountId: '111122223333'\n",
    );
    let o = rulecast(&["convert", "--no-config", s(&rule), "-p", s(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let q = text(&o.stdout);
    assert!(
        q.contains("\"eventSource\"") && q.contains("111122223333"),
        "{q}"
    );
    let p = write(&d, "p.yml", "name: x\ntransformations:\n  - type: field_name_mapping\n    mapping: {a: b}\n  - type: replace_string\n    regex: x\n");
    let o = rulecast(&["convert", "--no-config", s(&rule), "-p", s(&p)]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains(
            "p.yml:5:5: error[E002]: pipeline transformation 'replace_string' is not supported"
        ),
        "{err}"
    );
}

/// The words a new user reads first: help that says what the commands do and what the defaults
/// are, a near-miss modifier named.
#[test]
fn help_and_near_misses() {
    let o = rulecast(&["--help"]);
    let help = text(&o.stdout);
    assert!(
        help.contains("Sigma and Panther") && help.contains("init") && help.contains("schema"),
        "{help}"
    );
    let o = rulecast(&["convert", "--help"]);
    let help = text(&o.stdout);
    assert!(help.contains("one or more targets"), "{help}");
    assert!(
        help.contains("`ymd` (year/month/day columns) or `none`"),
        "{help}"
    );
    let d = temp_dir("words");
    let rule = write(
        &d,
        "r.yml",
        &RULE.replace("eventName:", "eventName|endswit:"),
    );
    let o = rulecast(&["convert", "--no-config", s(&rule)]);
    assert!(
        text(&o.stderr).contains("unknown modifier 'endswit'; did you mean 'endswith'?"),
        "{}",
        text(&o.stderr)
    );
}

/// `--no-shapes` (and `no-shapes = true` in `[convert]`) keeps Athena's shape-free reading of
/// documented scalars; it is an Athena option, refused for a run without Athena.
#[test]
fn no_shapes_from_the_flag_and_the_configuration() {
    let d = temp_dir("no-shapes");
    let rule = write(
        &d,
        "rules/mfa.yml",
        "title: t\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n    sel:\n        additionalEventData.MFAUsed: 'No'\n    condition: sel\n",
    );
    let inline = "lower(json_extract_scalar(additionaleventdata, '$.MFAUsed')) = 'no'";
    let any = "any_match(\"additionalEventData.MFAUsed\", v -> lower(v) = 'no')";
    let o = rulecast(&["--no-config", "convert", "-t", "athena", s(&rule)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains(inline), "{}", text(&o.stdout));
    let o = rulecast(&[
        "--no-config",
        "convert",
        "-t",
        "athena",
        "--no-shapes",
        s(&rule),
    ]);
    assert!(text(&o.stdout).contains(any), "{}", text(&o.stdout));
    let o = rulecast(&[
        "--no-config",
        "convert",
        "-t",
        "jq",
        "--no-shapes",
        s(&rule),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("--no-shapes applies to -t athena, not to -t jq"),
        "{}",
        text(&o.stderr)
    );
    write(&d, "rulecast.toml", "[convert]\nno-shapes = true\n");
    let o = rulecast(&["convert", "-t", "athena", s(&rule)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains(any), "{}", text(&o.stdout));
    // The configuration's setting does not stop other targets.
    let o = rulecast(&["convert", "-t", "jq", s(&rule)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}
