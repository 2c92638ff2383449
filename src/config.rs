//! The project configuration, `rulecast.toml`: found by walking up from the first rule path (as
//! `.editorconfig` or `ruff.toml` are), it names what a rules repository always needs (the
//! placeholders file, a mapping or pySigma pipelines, templates, default targets and Athena
//! options, the output directory) and what to leave out (`exclude` globs, a `[skip]` list of
//! rules with the reason). Command-line flags override it.
//!
//! ```toml
//! placeholders = "rules/placeholders.yml"
//! exclude = ["global_helpers", "rules/wip/**"]
//!
//! [convert]
//! targets = ["athena", "jq"]
//! output-dir = "queries"
//! since = "1d"
//!
//! [skip]
//! "AWS.IAM.AccessKeyCompromised" = "reads a cache (E310)"
//!
//! [skip-target.cloudwatch]
//! "rules/correlation/ordered.yml" = "temporal order needs jq or Athena"
//! ```
//!
//! Every path in the file is relative to its directory and must stay inside it: a repository's
//! configuration cannot make rulecast read or write elsewhere.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::backend::{RenderOptions, Target};
use crate::diagnostic::{Code, Diagnostic, FileDiagnostic};
use crate::source::{SourceFile, Span};

/// The configuration file's name.
pub const FILE_NAME: &str = "rulecast.toml";

/// A loaded `rulecast.toml`, its paths resolved against its directory.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file itself, as found.
    pub path: PathBuf,
    /// Its directory: every path in it is relative to this one.
    pub dir: PathBuf,
    pub placeholders: Option<PathBuf>,
    pub mapping: Option<PathBuf>,
    /// pySigma processing pipelines, applied in order.
    pub pipelines: Vec<PathBuf>,
    pub templates: Option<PathBuf>,
    /// Rule files left out of every run (globs, relative to [`Config::dir`]).
    pub exclude: Exclude,
    /// Rules left out of every run, by id (Sigma `id` or `name`, Panther `RuleID`) or by path
    /// relative to [`Config::dir`], with the reason.
    pub skip: BTreeMap<String, String>,
    /// Rules one target leaves out (`[skip-target.cloudwatch]`), keyed as `skip`: for what only
    /// some targets can express.
    pub skip_target: BTreeMap<Target, BTreeMap<String, String>>,
    pub convert: ConvertConfig,
}

/// The `[convert]` table: defaults for `rulecast convert`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConvertConfig {
    pub targets: Option<Vec<Target>>,
    pub output_dir: Option<PathBuf>,
    /// The query options it sets (`limit`, `table`, `since`, ...).
    pub options: RenderOptions,
}

/// The `exclude` globs, compiled. A pattern without `/` matches a file or directory name at any
/// depth (`global_helpers`); one with `/` matches from the configuration's directory
/// (`rules/wip/**`); a matching directory excludes everything under it.
#[derive(Debug, Clone, Default)]
pub struct Exclude {
    set: globset::GlobSet,
    /// The absolute directory the globs are relative to.
    base: PathBuf,
}

impl Exclude {
    /// Whether `path` (as the run names it) is excluded.
    pub fn matches(&self, path: &Path) -> bool {
        if self.set.is_empty() {
            return false;
        }
        let Ok(abs) = std::path::absolute(path) else {
            return false;
        };
        abs.strip_prefix(&self.base)
            .is_ok_and(|rel| self.set.is_match(rel))
    }
}

// The file as written. (Plain comments: these are not user-facing docs.)
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    placeholders: Option<String>,
    mapping: Option<String>,
    #[serde(default)]
    pipelines: Vec<String>,
    templates: Option<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    skip: BTreeMap<String, String>,
    #[serde(default)]
    skip_target: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    convert: RawConvert,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConvert {
    targets: Option<OneOrMany>,
    output_dir: Option<String>,
    limit: Option<u64>,
    table: Option<String>,
    schema: Option<String>,
    since: Option<String>,
    until: Option<String>,
    partitions: Option<String>,
    #[serde(default)]
    log_groups: Vec<String>,
    array_max: Option<usize>,
    #[serde(default)]
    no_shapes: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// The nearest `rulecast.toml` at or above `start` (a rule file or directory, as given on the
/// command line; the current directory when None), shown relative when `start` is.
pub fn find(start: Option<&Path>) -> Option<PathBuf> {
    let start = start.unwrap_or(Path::new(""));
    let dir = if start.as_os_str().is_empty() || start.is_dir() {
        start
    } else {
        start.parent().unwrap_or(Path::new(""))
    };
    for d in dir.ancestors() {
        let c = d.join(FILE_NAME);
        if c.is_file() {
            return Some(c);
        }
    }
    // A relative start ran out at the current directory: go on above it.
    if dir.is_relative() {
        let cwd = std::env::current_dir().ok()?;
        for d in cwd.ancestors().skip(1) {
            let c = d.join(FILE_NAME);
            if c.is_file() {
                return Some(c);
            }
        }
    }
    None
}

impl Config {
    /// Read and check a configuration file. Unknown keys, bad values and paths that leave the
    /// file's directory are errors with their line.
    pub fn load(path: &Path) -> Result<Config, FileDiagnostic> {
        let text = crate::read_text_limited(path).map_err(|e| {
            Diagnostic::new(Code::Config, format!("cannot read the configuration: {e}"))
                .at_path(path)
        })?;
        let file = SourceFile::new(path, text);
        Self::parse(path, &file).map_err(|d| d.in_file(&file))
    }

    fn parse(path: &Path, file: &SourceFile) -> Result<Config, Diagnostic> {
        let raw: RawConfig = toml::from_str(&file.text).map_err(|e| toml_error(&e))?;
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let at = |key: &str| key_span(&file.text, key);
        let inside = |key: &str, v: &str| {
            inside(&dir, v).map_err(|m| {
                Diagnostic::new(Code::Config, format!("{key} = '{v}': {m}")).with_span_opt(at(key))
            })
        };
        let opt = |key: &str, v: &Option<String>| v.as_ref().map(|v| inside(key, v)).transpose();
        let c = raw.convert;
        let targets = match c.targets {
            None => None,
            Some(t) => Some(targets(t).map_err(|m| {
                Diagnostic::new(Code::Config, format!("targets: {m}")).with_span_opt(at("targets"))
            })?),
        };
        let mut skip_target = BTreeMap::new();
        for (name, rules) in raw.skip_target {
            let target: Target = name.parse().map_err(|m: String| {
                Diagnostic::new(Code::Config, format!("[skip-target.{name}]: {m}"))
                    .with_span_opt(at("skip-target"))
            })?;
            skip_target.insert(target, rules);
        }
        let base = std::path::absolute(&dir).unwrap_or_else(|_| dir.clone());
        let exclude = Exclude {
            set: globs(&raw.exclude).map_err(|m| {
                Diagnostic::new(Code::Config, format!("exclude: {m}")).with_span_opt(at("exclude"))
            })?,
            base,
        };
        Ok(Config {
            path: path.to_path_buf(),
            placeholders: opt("placeholders", &raw.placeholders)?,
            mapping: opt("mapping", &raw.mapping)?,
            pipelines: raw
                .pipelines
                .iter()
                .map(|p| inside("pipelines", p))
                .collect::<Result<_, _>>()?,
            templates: opt("templates", &raw.templates)?,
            exclude,
            skip: raw.skip,
            skip_target,
            convert: ConvertConfig {
                targets,
                output_dir: opt("output-dir", &c.output_dir)?,
                options: RenderOptions {
                    limit: c.limit,
                    table: c.table,
                    schema: c.schema,
                    since: c.since,
                    until: c.until,
                    partitions: c.partitions,
                    log_groups: c.log_groups,
                    array_max: c.array_max,
                    no_shapes: c.no_shapes,
                    ..RenderOptions::default()
                },
            },
            dir,
        })
    }
}

/// `targets = "all"`, `"jq,athena"` or `["jq", "athena"]`.
fn targets(t: OneOrMany) -> Result<Vec<Target>, String> {
    let names: Vec<String> = match t {
        OneOrMany::One(s) if s == "all" => return Ok(Target::ALL.to_vec()),
        OneOrMany::One(s) => s.split(',').map(|p| p.trim().to_owned()).collect(),
        OneOrMany::Many(v) => v,
    };
    let mut out = Vec::new();
    for n in names {
        let t: Target = n.parse()?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// `rel` joined to `dir`, refused when it is absolute or climbs out with `..`.
fn inside(dir: &Path, rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    if rel.is_empty() {
        return Err("an empty path".to_owned());
    }
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(
            "paths in rulecast.toml are relative to its directory and stay inside it (no absolute path, no '..')"
                .to_owned(),
        );
    }
    Ok(dir.join(p))
}

/// The `exclude` patterns as one glob set (see [`Exclude`]).
fn globs(patterns: &[String]) -> Result<globset::GlobSet, String> {
    let mut b = globset::GlobSetBuilder::new();
    for p in patterns {
        let p = p.trim_end_matches('/');
        let p = p.strip_prefix("./").unwrap_or(p);
        let base = if p.contains('/') {
            p.to_owned()
        } else {
            format!("**/{p}")
        };
        for g in [base.clone(), format!("{base}/**")] {
            let glob = globset::GlobBuilder::new(&g)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("'{p}': {e}"))?;
            b.add(glob);
        }
    }
    b.build().map_err(|e| e.to_string())
}

/// A TOML error as a diagnostic at its place, with a did-you-mean for a misspelled key.
fn toml_error(e: &toml::de::Error) -> Diagnostic {
    let msg = e.message().trim().to_owned();
    let msg = match unknown_key(&msg) {
        Some((key, expected)) => format!(
            "unknown key '{key}'{}",
            crate::suggest::did_you_mean(&key, expected.iter().map(String::as_str))
        ),
        None => msg,
    };
    let d = Diagnostic::new(Code::Config, msg);
    match e.span() {
        Some(r) => d.with_span(Span::new(r.start, r.end)),
        None => d,
    }
}

/// serde's "unknown field `x`, expected one of `a`, `b`": the key and the expected ones.
fn unknown_key(msg: &str) -> Option<(String, Vec<String>)> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((key.to_owned(), expected))
}

/// Where `key = ` is first written, for messages about its value.
fn key_span(text: &str, key: &str) -> Option<Span> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        if t.strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with('='))
        {
            let start = offset + (line.len() - t.len());
            return Some(Span::new(start, start + key.len()));
        }
        offset += line.len();
    }
    None
}

/// The starter file `rulecast init` writes: every key, commented, with what it does.
pub const STARTER: &str = r#"# rulecast.toml: the project configuration. rulecast finds it by walking up from the rule
# paths it is given; command-line flags override it. Paths are relative to this file's directory.

# Values for Sigma `expand` placeholders (%name%). Without this key, a placeholders.yml in the
# rules tree is used.
# placeholders = "rules/placeholders.yml"

# Field renames, an added condition and tables per logsource (see docs/mappings/), or pySigma
# processing pipelines (field_name_mapping, field_name_prefix_mapping, add_condition).
# mapping = "mapping.yml"
# pipelines = ["pipelines/cloudtrail.yml"]

# Templates overriding the built-in ones by relative name (athena/query.sql.j2, ...).
# templates = "templates"

# Files that are not rules, or not for rulecast: a name matches at any depth, a path with '/'
# from this directory; a matching directory excludes everything under it.
exclude = ["global_helpers", "data_models", "packs"]

[convert]
# targets = ["jq", "athena", "cloudwatch"]   # or "all"
# output-dir = "queries"
# since = "1d"                               # relative windows follow the query's run time
# table = "cloudtrail_logs"
# schema = "cloudtrail"                       # cloudtrail | security-lake | a .ddl file
# partitions = "projection"                   # projection | ymd | none
# limit = 1000
# array-max = 5                               # cloudwatch
# no-shapes = true                            # athena: read documented scalars as lists too
# log-groups = ["aws-cloudtrail-logs"]        # cloudwatch saved queries

# Rules left out of every run, by id (Sigma id or name, Panther RuleID) or by path, with why.
[skip]
# "AWS.IAM.Example" = "reads a Panther cache (E310)"

# Rules one target leaves out: what only some targets can express.
# [skip-target.cloudwatch]
# "rules/sigma/correlation/user_created_then_key.yml" = "temporal order needs jq or Athena"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, Diagnostic> {
        let f = SourceFile::new("rulecast.toml", text);
        Config::parse(Path::new("proj/rulecast.toml"), &f)
    }

    #[test]
    fn paths_are_relative_to_the_file_and_stay_inside() {
        let c = parse("placeholders = 'rules/p.yml'\n[convert]\noutput-dir = 'out'\n").unwrap();
        assert_eq!(c.placeholders, Some(PathBuf::from("proj/rules/p.yml")));
        assert_eq!(c.convert.output_dir, Some(PathBuf::from("proj/out")));
        for bad in ["'/etc/passwd'", "'../x'", "'a/../../x'", "''"] {
            let e = parse(&format!("mapping = {bad}\n")).unwrap_err();
            assert_eq!(e.code, Code::Config, "{bad}");
            assert!(
                matches!(e.location, Some(crate::diagnostic::Location::Span(s)) if s.start == 0),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_keys_suggest_the_near_one() {
        let e = parse("placeholder = 'x'\n").unwrap_err();
        assert!(
            e.message.contains("did you mean 'placeholders'"),
            "{}",
            e.message
        );
        let e = parse("[convert]\ntarget = 'jq'\n").unwrap_err();
        assert!(
            e.message.contains("did you mean 'targets'"),
            "{}",
            e.message
        );
        let e = parse("[convert]\ntargets = 'sql'\n").unwrap_err();
        assert!(e.message.contains("unknown target 'sql'"), "{}", e.message);
    }

    #[test]
    fn targets_and_the_starter_file() {
        let c = parse("[convert]\ntargets = 'all'\n").unwrap();
        assert_eq!(c.convert.targets, Some(Target::ALL.to_vec()));
        let c = parse("[convert]\ntargets = ['athena', 'jq', 'athena']\n").unwrap();
        assert_eq!(c.convert.targets, Some(vec![Target::Athena, Target::Jq]));
        let c = parse(STARTER).unwrap();
        assert!(c.convert == ConvertConfig::default() && c.skip.is_empty());
        let c = parse("[skip-target.cloudwatch]\n'a.yml' = 'why'\n").unwrap();
        assert_eq!(c.skip_target[&Target::Cloudwatch]["a.yml"], "why");
        let e = parse("[skip-target.sql]\n'a.yml' = 'why'\n").unwrap_err();
        assert!(e.message.contains("unknown target 'sql'"), "{}", e.message);
    }

    #[test]
    fn exclude_patterns() {
        let c = parse("exclude = ['global_helpers', 'rules/wip/**', '*.draft.yml']\n").unwrap();
        let base = std::path::absolute("proj").unwrap();
        let m = |p: &str| c.exclude.matches(&base.join(p));
        assert!(m("global_helpers/a.yml"));
        assert!(m("rules/panther/global_helpers/sub/a.yml"));
        assert!(m("rules/wip/a.yml"));
        assert!(m("rules/x.draft.yml"));
        assert!(!m("rules/sigma/a.yml"));
        assert!(!m("rules/global_helpers_not.yml"));
        assert!(!c
            .exclude
            .matches(&std::path::absolute("elsewhere/global_helpers/a").unwrap()));
    }
}
