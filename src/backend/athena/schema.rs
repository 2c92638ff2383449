//! Table schemas for the Athena target, as data: a column list in Athena DDL syntax
//! (`schemas/athena/*.ddl`) and, for tables that rename CloudTrail's fields, a field map
//! (`schemas/athena/*.fields`). Nothing here knows a column by name: the SQL the backend emits
//! for a rule field follows from the column's type alone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::ddl::parse_ddl;
use crate::ir::{FieldPath, JsonType};

/// A column's (or struct field's) type, as far as reading values goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// `STRING`, `VARCHAR`, `CHAR`: text as is (for Python-style tests: a JSON string).
    Varchar,
    /// A `STRING` that holds the text of a JSON boolean or number (`COMMENT 'boolean'`,
    /// `COMMENT 'number'`): the SerDe stored `true` as `'true'`, so the table lost the type and
    /// the DDL says what it was (CloudTrail's `readOnly`). Text tests read it as `Varchar`.
    TextOf(JsonType),
    /// A `STRING` holding a JSON document (`COMMENT 'json'`): sub-fields are read with JSON
    /// functions.
    Json,
    /// Any other scalar (`BOOLEAN`, `BIGINT`, `TIMESTAMP`, ...), lowercased: its text is a cast.
    Scalar(String),
    /// `ARRAY<T>`: a path through it continues into every element.
    Array(Box<Ty>),
    /// `MAP<STRING, T>`: the next path segment is a key.
    Map(Box<Ty>),
    /// `STRUCT<a: T, ...>`: the next path segment is a field.
    Struct(Vec<Column>),
}

/// A named column or struct field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The name as the DDL writes it (the record's spelling for the built-in CloudTrail table).
    pub name: String,
    pub ty: Ty,
    /// The record may hold an explicit `null` here (`COMMENT '... nullable'`): SQL NULL is then
    /// either a null or a missing key. Elsewhere SQL NULL is a missing key.
    pub nullable: bool,
}

impl Column {
    /// The identifier Athena knows the column by.
    pub fn sql_name(&self) -> String {
        self.name.to_ascii_lowercase()
    }
}

/// How a schema's time column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeKind {
    /// ISO 8601 text in UTC with a `Z` (`2024-05-01T10:15:30Z`): compares as text.
    IsoText,
    /// A `TIMESTAMP` column.
    Timestamp,
}

/// One table shape rulecast can query, with the choices that are not in its DDL.
#[derive(Debug)]
pub struct SchemaDef {
    /// The `--schema` value.
    pub name: &'static str,
    /// Where the column list comes from (for messages).
    pub ddl_path: &'static str,
    pub ddl: &'static str,
    /// The field map (CloudTrail field → column path), when the table renames fields.
    pub fields_path: Option<&'static str>,
    pub fields: Option<&'static str>,
    /// Whether a rule field must match the DDL's spelling exactly (true when the DDL spells
    /// names the way the record does).
    pub exact_case: bool,
    /// The table when `--table` is not given, and a warning to print then (when the default is
    /// only an example).
    pub default_table: &'static str,
    pub default_table_warning: Option<&'static str>,
    /// The record field that holds the event time, and how its column stores it.
    pub time_field: &'static str,
    pub time_kind: TimeKind,
    /// The `--partitions` layouts this table can have; the first is the default.
    pub partitions: &'static [&'static str],
    /// Days an event can sit in a later time partition than its own (CloudTrail files land in
    /// the folder of their delivery day, minutes after the event).
    pub partition_lag_days: i64,
    /// Selected when the rule names no `fields`.
    pub default_columns: &'static [&'static str],
    /// `STRING` columns that hold JSON even when a DDL does not mark them (AWS's own DDL says
    /// plain `STRING`).
    pub json_columns: &'static [&'static str],
    /// `STRING` columns that hold a JSON boolean's or number's text even when a DDL does not
    /// mark them (`readOnly` is a JSON boolean in every CloudTrail record).
    pub text_columns: &'static [(&'static str, JsonType)],
    /// Columns the record may hold as an explicit `null`, even when a DDL does not mark them
    /// (CloudTrail writes `"requestParameters": null`).
    pub null_columns: &'static [&'static str],
}

/// The record fields selected by default, after the issue: who did what, where, and whether it
/// failed.
const DEFAULT_COLUMNS: &[&str] = &[
    "eventTime",
    "eventSource",
    "eventName",
    "userIdentity.arn",
    "sourceIPAddress",
    "awsRegion",
    "errorCode",
];

/// The built-in schemas; the first is the default.
pub static SCHEMAS: &[SchemaDef] = &[
    SchemaDef {
        name: "cloudtrail",
        ddl_path: "--schema cloudtrail, printed by `rulecast schema cloudtrail`",
        ddl: include_str!("../../../schemas/athena/cloudtrail.ddl"),
        fields_path: None,
        fields: None,
        exact_case: true,
        default_table: "cloudtrail_logs",
        default_table_warning: None,
        time_field: "eventTime",
        time_kind: TimeKind::IsoText,
        partitions: &["projection", "ymd", "none"],
        partition_lag_days: 1,
        default_columns: DEFAULT_COLUMNS,
        json_columns: &[
            "requestParameters",
            "responseElements",
            "additionalEventData",
            "serviceEventDetails",
            "edgeDeviceDetails",
        ],
        text_columns: &[("readOnly", JsonType::Boolean)],
        null_columns: &["requestParameters", "responseElements"],
    },
    SchemaDef {
        name: "security-lake",
        ddl_path: "--schema security-lake, printed by `rulecast schema security-lake`",
        ddl: include_str!("../../../schemas/athena/security-lake.ddl"),
        fields_path: Some("the security-lake field map, printed by `rulecast schema security-lake`"),
        fields: Some(include_str!("../../../schemas/athena/security-lake.fields")),
        exact_case: true,
        default_table: "amazon_security_lake_glue_db_us_east_1.amazon_security_lake_table_us_east_1_cloud_trail_mgmt_2_0",
        default_table_warning: Some(
            "the table is Security Lake's us-east-1 CloudTrail table (source version 2); pass --table for yours",
        ),
        time_field: "eventTime",
        time_kind: TimeKind::Timestamp,
        partitions: &["eventday", "none"],
        partition_lag_days: 0,
        default_columns: DEFAULT_COLUMNS,
        json_columns: &[],
        text_columns: &[],
        null_columns: &[],
    },
];

/// A record field path and the column path that holds it.
pub type Rename = (Vec<String>, Vec<String>);

/// A parsed schema.
#[derive(Debug)]
pub struct Schema {
    pub def: &'static SchemaDef,
    pub columns: Vec<Column>,
    /// CloudTrail field path → column path, longest first.
    pub renames: Vec<Rename>,
}

impl Schema {
    /// The built-in schema called `name`.
    pub fn builtin(name: &str) -> Result<&'static Schema, String> {
        /// Each built-in schema, parsed once (one slot per entry of [`SCHEMAS`]).
        static PARSED: [OnceLock<Result<Schema, String>>; 2] = [OnceLock::new(), OnceLock::new()];
        let Some(i) = SCHEMAS.iter().position(|s| s.name == name) else {
            return Err(format!(
                "unknown schema '{name}'; expected one of {}, or a column-list file (x.ddl)",
                SCHEMAS
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        let slot = PARSED
            .get(i)
            .ok_or_else(|| format!("schema '{name}' has no slot"))?;
        slot.get_or_init(|| Schema::parse(&SCHEMAS[i]))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A schema given as a file: the CloudTrail table with the file's columns (say, the
    /// `CREATE TABLE` column list of your own table). Names match rule fields ignoring case, since
    /// such DDLs are usually lowercase; CloudTrail's JSON-string columns are JSON even when the
    /// file says plain `STRING`. Parsed once per path.
    pub fn from_file(path: &Path) -> Result<&'static Schema, String> {
        /// Schema files parsed so far, by path.
        static FILES: OnceLock<Mutex<HashMap<PathBuf, &'static Schema>>> = OnceLock::new();
        let cache = FILES.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some(s) = cache.lock().ok().and_then(|m| m.get(path).copied()) {
            return Ok(s);
        }
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read schema file {shown}: {e}"))?;
        let base = &SCHEMAS[0];
        // One leak per distinct file for the life of the process: schemas are `'static`.
        let def: &'static SchemaDef = Box::leak(Box::new(SchemaDef {
            name: base.name,
            ddl_path: Box::leak(shown.into_boxed_str()),
            ddl: Box::leak(text.into_boxed_str()),
            exact_case: false,
            ..*base
        }));
        let schema: &'static Schema = Box::leak(Box::new(Schema::parse(def)?));
        if let Ok(mut m) = cache.lock() {
            m.insert(path.to_path_buf(), schema);
        }
        Ok(schema)
    }

    /// This schema with more columns (`(name, DDL type)`, from a mapping's `{column, type}`),
    /// parsed once per schema and column list.
    pub fn with_columns(
        &'static self,
        extra: &[(String, String)],
    ) -> Result<&'static Schema, String> {
        /// Extended schemas so far, by base DDL source and columns.
        type Cache = Mutex<HashMap<(String, Vec<(String, String)>), &'static Schema>>;
        static EXTENDED: OnceLock<Cache> = OnceLock::new();
        let key = (self.def.ddl_path.to_owned(), extra.to_vec());
        let cache = EXTENDED.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some(s) = cache.lock().ok().and_then(|m| m.get(&key).copied()) {
            return Ok(s);
        }
        let mut ddl = self.def.ddl.trim_end().to_owned();
        for (name, ty) in extra {
            ddl.push_str(&format!(",\n{name} {ty}"));
        }
        let shown = format!("{} and the mapping's columns", self.def.ddl_path);
        // One leak per distinct column list for the life of the process: schemas are `'static`.
        let def: &'static SchemaDef = Box::leak(Box::new(SchemaDef {
            ddl_path: Box::leak(shown.into_boxed_str()),
            ddl: Box::leak(ddl.into_boxed_str()),
            ..*self.def
        }));
        let schema: &'static Schema = Box::leak(Box::new(Schema::parse(def)?));
        if let Ok(mut m) = cache.lock() {
            m.insert(key, schema);
        }
        Ok(schema)
    }

    /// Parse a schema's DDL and field map, applying its JSON, text and nullable columns.
    fn parse(def: &'static SchemaDef) -> Result<Schema, String> {
        let mut columns = parse_ddl(def.ddl).map_err(|e| format!("{}: {e}", def.ddl_path))?;
        for c in &mut columns {
            if def
                .null_columns
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&c.name))
            {
                c.nullable = true;
            }
            if c.ty != Ty::Varchar {
                continue;
            }
            if def
                .json_columns
                .iter()
                .any(|j| j.eq_ignore_ascii_case(&c.name))
            {
                c.ty = Ty::Json;
            } else if let Some((_, t)) = def
                .text_columns
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&c.name))
            {
                c.ty = Ty::TextOf(*t);
            }
        }
        let renames = match def.fields {
            Some(text) => parse_fields(text)
                .map_err(|e| format!("{}: {e}", def.fields_path.unwrap_or("fields")))?,
            None => Vec::new(),
        };
        Ok(Schema {
            def,
            columns,
            renames,
        })
    }

    /// The column path a rule field lives at: through the field map when the schema has one
    /// (the longest mapped prefix wins), else the field itself.
    pub fn column_path(&self, field: &FieldPath) -> Option<Vec<String>> {
        let segs = field.segments();
        if self.def.fields.is_none() {
            return Some(segs.to_vec());
        }
        self.renames.iter().find_map(|(from, to)| {
            segs.starts_with(from).then(|| {
                let mut out = to.clone();
                out.extend(segs[from.len()..].iter().cloned());
                out
            })
        })
    }
}

/// The result of looking a name up among columns or struct fields.
pub enum Lookup<'a> {
    Found(&'a Column),
    /// Only a spelling that differs in case exists.
    WrongCase(&'a Column),
    Missing,
}

/// Find `name` among `cols`; with `exact`, a match that ignores case is reported, not taken.
pub fn lookup<'a>(cols: &'a [Column], name: &str, exact: bool) -> Lookup<'a> {
    if let Some(c) = cols.iter().find(|c| c.name == name) {
        return Lookup::Found(c);
    }
    match cols.iter().find(|c| c.name.eq_ignore_ascii_case(name)) {
        Some(c) if exact => Lookup::WrongCase(c),
        Some(c) => Lookup::Found(c),
        None => Lookup::Missing,
    }
}

/// Parse a field map: `recordField  column.path` per line, `#` comments.
fn parse_fields(text: &str) -> Result<Vec<Rename>, String> {
    let mut out: Vec<Rename> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(from), Some(to), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "line {}: expected 'recordField column.path'",
                n + 1
            ));
        };
        let split = |s: &str| s.split('.').map(str::to_owned).collect::<Vec<_>>();
        out.push((split(from), split(to)));
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.0.len()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_schemas_parse() {
        for def in SCHEMAS {
            let s = Schema::builtin(def.name).unwrap();
            assert!(!s.columns.is_empty());
            for (_, to) in &s.renames {
                assert!(
                    lookup(&s.columns, &to[0], true).is_found(),
                    "{}: {to:?}",
                    def.name
                );
            }
        }
        let ct = Schema::builtin("cloudtrail").unwrap();
        let rp = ct
            .columns
            .iter()
            .find(|c| c.name == "requestParameters")
            .unwrap();
        assert_eq!(rp.ty, Ty::Json);
        assert!(rp.nullable);
        let ro = ct.columns.iter().find(|c| c.name == "readOnly").unwrap();
        assert_eq!(ro.ty, Ty::TextOf(JsonType::Boolean));
        assert!(!ro.nullable);
        assert!(Schema::builtin("nope").is_err());
    }

    impl Lookup<'_> {
        fn is_found(&self) -> bool {
            matches!(self, Lookup::Found(_))
        }
    }
}
