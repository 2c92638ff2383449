//! YAML reading, kept behind this one module so the archived `serde_yaml` can be swapped for a
//! maintained fork without touching the front ends.
//!
//! A file is read into [`Document`]s: a [`Node`] tree plus a [`KeyIndex`] that finds the line and
//! column of a key path (`detection.selection.eventName|contains`), because serde values carry no
//! positions. The index reads block-style YAML by indentation; a key it cannot find falls back to
//! its nearest located parent, so a diagnostic always has a position.
//!
//! Rule files are untrusted, so what one file can make the reader do is bounded (docs/errors.md,
//! "Limits"): [`MAX_DEPTH`] levels of nesting, checked on the raw text before the parser runs;
//! [`MAX_DOCUMENTS`] documents; [`MAX_VALUES`] values, aliases counted each time they are used.

/// The deepest a rule file's YAML may nest (block and flow collections together).
pub const MAX_DEPTH: usize = 64;
/// The most YAML documents one file may hold.
pub const MAX_DOCUMENTS: usize = 10_000;
/// The most values (scalars and collections) one file may amount to, counting a value reached
/// through an alias each time; a few times what any real rule file holds, and far below what an
/// alias bomb makes of a few lines.
pub const MAX_VALUES: usize = 1_000_000;

mod depth;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::diagnostic::{Code, Diagnostic};
use crate::source::Span;

/// A YAML value with mapping order kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer beyond i64 (up to 128 bits), as its decimal text: Sigma compares values by
    /// their text, which a float would round.
    BigInt(String),
    /// Floats (and integers too long even for 128 bits).
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    /// A list of scalars as strings: one scalar is a list of one, null an empty list; None when
    /// an item is not a scalar.
    pub fn string_list(&self) -> Option<Vec<String>> {
        match self {
            Node::Seq(items) => items.iter().map(Node::scalar_text).collect(),
            Node::Null => Some(vec![]),
            scalar => scalar.scalar_text().map(|s| vec![s]),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of value this is, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Int(_) | Node::BigInt(_) | Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    /// The scalar's text as YAML wrote it in plain form (`22`, `true`, `abc`); None for collections.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Node::Null => Some("null".into()),
            Node::Bool(b) => Some(b.to_string()),
            Node::Int(i) => Some(i.to_string()),
            Node::BigInt(s) => Some(s.clone()),
            Node::Float(f) => Some(float_text(*f)),
            Node::Str(s) => Some(s.clone()),
            Node::Seq(_) | Node::Map(_) => None,
        }
    }

    /// How many values this is: itself and everything inside (what [`MAX_VALUES`] counts).
    pub fn values(&self) -> usize {
        match self {
            Node::Seq(items) => 1 + items.iter().map(Node::values).sum::<usize>(),
            Node::Map(m) => 1 + m.iter().map(|(_, v)| v.values()).sum::<usize>(),
            _ => 1,
        }
    }

    /// The JSON value this YAML denotes (test events are written in YAML or JSON).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Node::Null => J::Null,
            Node::Bool(b) => J::Bool(*b),
            Node::Int(i) => J::from(*i),
            Node::BigInt(s) => match s.parse::<u64>() {
                Ok(u) => J::from(u),
                Err(_) => s
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(J::Null, J::Number),
            },
            Node::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Node::Str(s) => J::String(s.clone()),
            Node::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Node::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
}

/// JSON-style text of a float: integral values without a fraction, like JSON encoders print them.
pub fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Reads one [`Node`], spending one unit of a per-file budget on every value it builds: a value
/// reached through an alias is built again each time, so this is what bounds an alias bomb.
#[derive(Clone, Copy)]
struct NodeSeed<'b>(&'b Cell<usize>);

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Node;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor(self.0))
    }
}

struct NodeVisitor<'b>(&'b Cell<usize>);

impl NodeVisitor<'_> {
    /// One value more: fails once the file's budget is spent.
    fn charge<E: de::Error>(&self) -> Result<(), E> {
        let left = self.0.get();
        if left == 0 {
            return Err(E::custom(format!(
                "the file amounts to more than {MAX_VALUES} values (the limit per file; a value \
                 reached through an alias counts each time)"
            )));
        }
        self.0.set(left - 1);
        Ok(())
    }

    fn spend<E: de::Error>(&self, node: Node) -> Result<Node, E> {
        self.charge().map(|()| node)
    }

    /// An integer as the rule wrote it: beyond i64 it keeps its exact text.
    fn int(&self, v: i128) -> Node {
        i64::try_from(v).map_or_else(|_| Node::BigInt(v.to_string()), Node::Int)
    }
}

impl<'de> Visitor<'de> for NodeVisitor<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        self.spend(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        self.spend(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        NodeSeed(self.0).deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        self.spend(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        self.spend(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        self.spend(self.int(i128::from(v)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        self.spend(self.int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        let node = i128::try_from(v).map_or_else(|_| Node::BigInt(v.to_string()), |v| self.int(v));
        self.spend(node)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        self.spend(Node::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        self.spend(Node::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        self.spend(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        self.charge::<A::Error>()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(NodeSeed(self.0))? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        self.charge::<A::Error>()?;
        let mut entries: Vec<(String, Node)> = Vec::new();
        // Past a few keys, duplicates are found by hashing (comparing each key with all the
        // earlier ones was quadratic in a large mapping).
        let mut seen: Option<HashSet<String>> = None;
        while let Some(Key(key)) = map.next_key::<Key>()? {
            let value: Node = map.next_value_seed(NodeSeed(self.0))?;
            let duplicate = match &mut seen {
                Some(set) => !set.insert(key.clone()),
                None => entries.iter().any(|(k, _)| *k == key),
            };
            if duplicate {
                return Err(de::Error::custom(format!("duplicate key '{key}'")));
            }
            entries.push((key, value));
            if seen.is_none() && entries.len() >= 16 {
                seen = Some(entries.iter().map(|(k, _)| k.clone()).collect());
            }
        }
        Ok(Node::Map(entries))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        // A tagged value (`!tag value`): keep the value, drop the tag.
        let (_, variant) = data.variant::<de::IgnoredAny>()?;
        de::VariantAccess::newtype_variant_seed(variant, NodeSeed(self.0))
    }
}

/// A mapping key: any scalar, as its plain text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar mapping key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(Key(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Key, E> {
        Ok(Key(v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Key, E> {
        Ok(Key(float_text(v)))
    }
    fn visit_unit<E>(self) -> Result<Key, E> {
        Ok(Key("null".to_owned()))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Key, A::Error> {
        let (_, variant) = data.variant::<de::IgnoredAny>()?;
        de::VariantAccess::newtype_variant::<Key>(variant)
    }
}

/// One YAML document of a file: its value, where it starts, and where its keys are.
#[derive(Debug, Clone)]
pub struct Document {
    pub node: Node,
    /// Byte offset of the document's first line.
    pub start: usize,
    pub keys: KeyIndex,
}

/// Parse every document of a YAML stream. Empty documents (a bare `---`) are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, Diagnostic> {
    check_depth(text)?;
    let starts = document_starts(text);
    if let Some(&over) = starts.get(MAX_DOCUMENTS) {
        // Point at the separator that opens the first document over the limit.
        let before = text
            .get(..over)
            .unwrap_or(text)
            .trim_end_matches(['\n', '\r']);
        let separator = before.rfind('\n').map_or(0, |i| i + 1);
        return Err(Diagnostic::new(
            Code::Yaml,
            format!("the file holds more than {MAX_DOCUMENTS} YAML documents (the limit per file)"),
        )
        .with_span(Span::at(separator)));
    }
    let budget = Cell::new(MAX_VALUES);
    let mut docs = Vec::new();
    for (i, de) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let node = NodeSeed(&budget)
            .deserialize(de)
            .map_err(|e| duplicate_at_second(yaml_error(&e), text))?;
        let start = starts.get(i).copied().unwrap_or(0);
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        if node != Node::Null {
            docs.push(Document {
                node,
                start,
                keys: KeyIndex::build(text, start, end),
            });
        }
    }
    Ok(docs)
}

/// Parse one YAML value (a whole file that must hold a single document).
pub fn parse_one(text: &str) -> Result<Node, Diagnostic> {
    check_depth(text)?;
    let budget = Cell::new(MAX_VALUES);
    NodeSeed(&budget)
        .deserialize(serde_yaml::Deserializer::from_str(text))
        .map_err(|e| yaml_error(&e))
}

/// Reject nesting deeper than [`MAX_DEPTH`] before the parser, whose time grows with the depth
/// on every token, sees the text.
fn check_depth(text: &str) -> Result<(), Diagnostic> {
    depth::check(text, MAX_DEPTH).map_err(|offset| {
        Diagnostic::new(
            Code::Yaml,
            format!("YAML nested deeper than {MAX_DEPTH} levels (the limit for a rule file)"),
        )
        .with_span(Span::at(offset))
    })
}

fn yaml_error(e: &serde_yaml::Error) -> Diagnostic {
    let mut msg = e.to_string();
    // serde_yaml appends " at line L column C"; the location goes into the diagnostic instead.
    if let Some(i) = msg.find(" at line ") {
        msg.truncate(i);
    }
    // serde_yaml's own bounds, reached through aliases (nesting is checked before parsing).
    for (theirs, ours) in [
        (
            "repetition limit exceeded",
            "aliases repeat values too many times (more than 100 per value written)",
        ),
        (
            "recursion limit exceeded",
            "nested deeper than 128 levels once aliases are expanded",
        ),
    ] {
        if let Some(path) = msg.strip_suffix(theirs) {
            msg = format!("{path}{ours}");
        }
    }
    let d = Diagnostic::new(Code::Yaml, format!("invalid YAML: {msg}"));
    match e.location() {
        Some(loc) => d.with_line_col(loc.line(), loc.column()),
        None => d,
    }
}

/// serde_yaml places a duplicate-key error at the mapping; point at the second occurrence instead.
fn duplicate_at_second(d: Diagnostic, text: &str) -> Diagnostic {
    let Some(key) = d
        .message
        .split("duplicate key '")
        .nth(1)
        .and_then(|r| r.split('\'').next())
    else {
        return d;
    };
    let Some(crate::diagnostic::Location::LineCol(lc)) = d.location else {
        return d;
    };
    let mut seen = 0;
    for (i, line) in text.lines().enumerate().skip(lc.line.saturating_sub(1)) {
        let trimmed = line.trim_start_matches([' ', '-']);
        let is_key = parse_key(trimmed).is_some_and(|(k, _)| k == key);
        if is_key {
            seen += 1;
            if seen == 2 {
                let col = line.len() - trimmed.len() + 1;
                return d.with_line_col(i + 1, col);
            }
        }
    }
    d
}

/// Byte offsets where each document starts: 0, then the line after every `---` separator.
fn document_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut offset = 0;
    let mut seen_content = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        let is_sep = bare == "---" || bare.starts_with("--- ");
        if is_sep {
            if seen_content {
                starts.push(offset + line.len());
            } else {
                // A leading `---` opens the first document.
                starts[0] = offset + line.len();
                seen_content = true;
            }
        } else if !bare.is_empty() && !bare.starts_with('#') && !bare.starts_with('%') {
            seen_content = true;
        }
        offset += line.len();
    }
    starts
}

/// Positions of block-mapping keys in one document, by key path.
#[derive(Debug, Clone, Default)]
pub struct KeyIndex {
    entries: Vec<KeyEntry>,
    /// For a document with many keys, a table of key paths; a small one is scanned.
    paths: Option<PathTable>,
}

#[derive(Debug, Clone)]
struct KeyEntry {
    name: String,
    /// The entry of the enclosing key, if any.
    parent: Option<usize>,
    depth: usize,
    key: Span,
    value: usize,
    /// Where the scalar items of a block list under this key start (`- value` lines).
    items: Vec<usize>,
}

/// Key paths, numbered (0 is the empty path), so that a lookup costs the path's length rather
/// than the document's size (scanning every key for every lookup is quadratic in a document
/// with tens of thousands of keys).
#[derive(Debug, Clone)]
struct PathTable {
    /// `children[p]` maps a key name to the number of path `p` + name.
    children: Vec<HashMap<String, usize>>,
    /// The entries at each path, in document order.
    at_path: Vec<Vec<usize>>,
}

impl PathTable {
    fn build(entries: &[KeyEntry]) -> PathTable {
        let mut t = PathTable {
            children: vec![HashMap::new()],
            at_path: vec![Vec::new()],
        };
        // Parents come before their children, so their paths are numbered first.
        let mut path_of: Vec<usize> = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let parent = e.parent.and_then(|p| path_of.get(p).copied()).unwrap_or(0);
            let id = match t.children[parent].get(&e.name) {
                Some(&id) => id,
                None => {
                    let id = t.children.len();
                    t.children.push(HashMap::new());
                    t.at_path.push(Vec::new());
                    t.children[parent].insert(e.name.clone(), id);
                    id
                }
            };
            t.at_path[id].push(i);
            path_of.push(id);
        }
        t
    }

    fn at(&self, path: &[&str]) -> &[usize] {
        let mut id = 0;
        for name in path {
            match self.children[id].get(*name) {
                Some(&next) => id = next,
                None => return &[],
            }
        }
        &self.at_path[id]
    }
}

impl KeyIndex {
    /// Up to this many keys a lookup scans them all (cheaper than building a table).
    const SCAN: usize = 64;

    fn build(text: &str, start: usize, end: usize) -> KeyIndex {
        let mut entries: Vec<KeyEntry> = Vec::new();
        // (column, entry index) of the keys enclosing the current line.
        let mut stack: Vec<(usize, usize)> = Vec::new();
        let mut offset = start;
        let mut block_indent: Option<usize> = None;
        for line in text[start..end].split_inclusive('\n') {
            let line_start = offset;
            offset += line.len();
            let content = line.trim_end_matches(['\n', '\r']);
            let indent = content.len() - content.trim_start_matches(' ').len();
            let rest = &content[indent..];
            if rest.is_empty() || rest.starts_with('#') {
                continue;
            }
            // Lines of a block scalar (`key: |`) are text, not keys.
            if let Some(bi) = block_indent {
                if indent > bi {
                    continue;
                }
                block_indent = None;
            }
            let mut col = indent;
            let mut rest = rest;
            while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("-\t")) {
                let trimmed = r.trim_start();
                col += rest.len() - trimmed.len();
                rest = trimmed;
            }
            let Some((key, key_len)) = parse_key(rest) else {
                // `- value`: an item of the list under the nearest key at or left of the dash.
                if col > indent && !rest.is_empty() && !rest.starts_with('#') {
                    if let Some(&(_, parent)) = stack.iter().rev().find(|(c, _)| *c <= indent) {
                        entries[parent].items.push(line_start + col);
                    }
                }
                continue;
            };
            while stack.last().is_some_and(|(i, _)| *i >= col) {
                stack.pop();
            }
            let parent = stack.last().map(|(_, e)| *e);
            let depth = stack.len() + 1;
            stack.push((col, entries.len()));
            let after = &rest[key_len..];
            let value_rel = key_len + (after.len() - after.trim_start().len());
            let value_text = after.trim();
            if value_text.starts_with('|') || value_text.starts_with('>') {
                block_indent = Some(col);
            }
            entries.push(KeyEntry {
                name: key,
                parent,
                depth,
                key: Span::new(line_start + col, line_start + col + key_len - 1),
                value: line_start + col + value_rel,
                items: Vec::new(),
            });
        }
        let paths = (entries.len() > Self::SCAN).then(|| PathTable::build(&entries));
        KeyIndex { entries, paths }
    }

    /// Span of the key at `path`, or of its nearest located ancestor.
    pub fn key(&self, path: &[&str]) -> Option<Span> {
        (1..=path.len())
            .rev()
            .find_map(|n| self.find(&path[..n]).map(|e| e.key))
    }

    /// Byte offset where the value of the key at `path` starts on the key's line, if any.
    pub fn value_offset(&self, path: &[&str]) -> Option<usize> {
        self.find(path).map(|e| e.value)
    }

    /// Byte offset of the `n`-th scalar item of the block list under the key at `path`, if the
    /// list is written one `- value` per line.
    pub fn item_offset(&self, path: &[&str], n: usize) -> Option<usize> {
        self.find(path).and_then(|e| e.items.get(n).copied())
    }

    /// Spans of every key at exactly `path`, in document order: the n-th is the key in the n-th
    /// list item or mapping that has it (block style only; flow-style items are not indexed).
    pub fn keys_at(&self, path: &[&str]) -> Vec<Span> {
        match &self.paths {
            Some(t) => t.at(path).iter().map(|&e| self.entries[e].key).collect(),
            None => self
                .entries
                .iter()
                .filter(|e| self.matches(e, path))
                .map(|e| e.key)
                .collect(),
        }
    }

    fn matches(&self, e: &KeyEntry, path: &[&str]) -> bool {
        if e.depth != path.len() {
            return false;
        }
        let mut cur = Some(e);
        for want in path.iter().rev() {
            match cur {
                Some(c) if c.name == *want => cur = c.parent.and_then(|p| self.entries.get(p)),
                _ => return false,
            }
        }
        true
    }

    fn find(&self, path: &[&str]) -> Option<&KeyEntry> {
        if path.is_empty() {
            return None;
        }
        match &self.paths {
            Some(t) => t.at(path).first().map(|&e| &self.entries[e]),
            None => self.entries.iter().find(|e| self.matches(e, path)),
        }
    }
}

/// A `key:` at the start of `s`: the key's text and the length up to and including the colon.
fn parse_key(s: &str) -> Option<(String, usize)> {
    let first = s.chars().next()?;
    if first == '\'' || first == '"' {
        let close = s[1..].find(first)? + 1;
        let after = &s[close + 1..];
        let after_trim = after.trim_start_matches(' ');
        if !after_trim.starts_with(':') {
            return None;
        }
        let key = s[1..close].replace("''", "'");
        return Some((key, close + 1 + (after.len() - after_trim.len()) + 1));
    }
    if matches!(
        first,
        '[' | '{' | '#' | '&' | '*' | '!' | '|' | '>' | '%' | '@' | '`'
    ) {
        return None;
    }
    let bytes = s.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b':'
            && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t')
        {
            let key = s[..i].trim_end();
            if key.is_empty() {
                return None;
            }
            return Some((key.to_owned(), i + 1));
        }
        if bytes[i] == b'#' && i > 0 && bytes[i - 1] == b' ' {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys_and_list_items() {
        let text = "title: t\ndetection:\n    sel:\n        - eventName|contains: x\n          'odd key': y\n    condition: sel\n";
        let docs = parse_documents(text).unwrap();
        let k = &docs[0].keys;
        let s = k.key(&["detection", "sel", "eventName|contains"]).unwrap();
        assert_eq!(&text[s.start..s.end], "eventName|contains");
        assert!(k.key(&["detection", "sel", "odd key"]).is_some());
        let v = k.value_offset(&["detection", "condition"]).unwrap();
        assert_eq!(&text[v..v + 3], "sel");
    }

    #[test]
    fn locates_list_items() {
        let text = "detection:\n  sel:\n    a:\n      - x1\n      - 'x2'\n    b:\n    - y1\n  kw:\n    - k1\n    - k2: v\n";
        let docs = parse_documents(text).unwrap();
        let k = &docs[0].keys;
        let at = |path: &[&str], n| k.item_offset(path, n).map(|o| &text[o..o + 2]);
        assert_eq!(at(&["detection", "sel", "a"], 0), Some("x1"));
        assert_eq!(at(&["detection", "sel", "a"], 1), Some("'x"));
        assert_eq!(at(&["detection", "sel", "a"], 2), None);
        assert_eq!(at(&["detection", "sel", "b"], 0), Some("y1"));
        assert_eq!(at(&["detection", "kw"], 0), Some("k1"));
        assert_eq!(at(&["detection", "kw"], 1), None);
    }

    #[test]
    fn splits_documents_and_keeps_order() {
        let text = "---\na: 1\nb: [x, 2]\n---\nc: true\n";
        let docs = parse_documents(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].start, text.find("c:").unwrap());
        match &docs[0].node {
            Node::Map(m) => assert_eq!(m[0].0, "a"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_have_positions() {
        let e = parse_documents("a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.code, Code::Yaml);
        assert!(e.message.contains("duplicate key 'a'"), "{}", e.message);
        let e = parse_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.location.is_some());
    }

    /// A duplicate key at the end of a 40,000-key mapping: comparing every key with the earlier
    /// ones took 8 * 10^8 steps; past 16 keys they are hashed.
    #[test]
    fn duplicates_in_a_wide_mapping_are_found_by_hashing() {
        let mut text: String = (0..40_000).map(|i| format!("k{i}: v\n")).collect();
        text.push_str("k17: w\n");
        let e = parse_documents(&text).unwrap_err();
        assert!(e.message.contains("duplicate key 'k17'"), "{}", e.message);
        assert_eq!(
            e.location,
            Some(crate::diagnostic::Location::LineCol(
                crate::source::LineCol {
                    line: 40_001,
                    column: 1
                }
            ))
        );
    }

    /// Looking up every key of a 30,000-key document is linear (each lookup used to scan every
    /// key: 9 * 10^8 steps).
    #[test]
    fn key_lookups_do_not_scan_the_document() {
        let text: String = (0..30_000).map(|i| format!("k{i}:\n  x: 1\n")).collect();
        let index = KeyIndex::build(&text, 0, text.len());
        for i in 0..30_000 {
            let name = format!("k{i}");
            let span = index.key(&[&name, "x"]).expect("found");
            assert_eq!(&text[span.start..span.end], "x");
        }
        assert_eq!(index.keys_at(&["k5"]).len(), 1);
        assert!(index.key(&["nope"]).is_none());
        assert_eq!(index.key(&["k5", "nope"]), index.key(&["k5"]));
    }

    /// The path table (many keys) and the scan (few) find the same keys.
    #[test]
    fn path_table_and_scan_agree() {
        let mut text = String::new();
        for i in 0..30 {
            text.push_str(&format!(
                "k{}:\n  - a: 1\n    b:\n      c: {i}\n  - a: 2\n",
                i % 7
            ));
        }
        let table = KeyIndex::build(&text, 0, text.len());
        assert!(table.paths.is_some());
        let scan = KeyIndex {
            entries: table.entries.clone(),
            paths: None,
        };
        for i in 0..8 {
            let k = format!("k{i}");
            for path in [
                vec![k.as_str()],
                vec![&k, "a"],
                vec![&k, "b", "c"],
                vec![&k, "x"],
            ] {
                assert_eq!(table.key(&path), scan.key(&path), "{path:?}");
                assert_eq!(table.keys_at(&path), scan.keys_at(&path), "{path:?}");
                assert_eq!(
                    table.value_offset(&path),
                    scan.value_offset(&path),
                    "{path:?}"
                );
            }
        }
    }

    #[test]
    fn block_scalars_are_not_keys() {
        let text = "description: |\n    Note: not a key\ndetection:\n    condition: x\n";
        let docs = parse_documents(text).unwrap();
        assert!(docs[0].keys.find(&["description", "Note"]).is_none());
        assert!(docs[0].keys.key(&["detection", "condition"]).is_some());
    }

    fn node_depth(n: &Node) -> usize {
        match n {
            Node::Seq(items) => 1 + items.iter().map(node_depth).max().unwrap_or(0),
            Node::Map(m) => 1 + m.iter().map(|(_, v)| node_depth(v)).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// Block style of our own: JSON scalars (valid YAML double-quoted strings), plain or
    /// single-quoted where `style` says so, flow (JSON) subtrees, and `- ` lists at their key's
    /// indentation.
    fn emit(v: &serde_json::Value, indent: usize, style: &mut dyn FnMut() -> u8, out: &mut String) {
        use serde_json::Value as J;
        let pad = " ".repeat(indent);
        let scalar = |v: &J, style: u8| -> String {
            match v {
                J::String(s)
                    if style % 3 == 1
                        && s.chars().all(|c| c.is_ascii_alphanumeric())
                        && !s.is_empty()
                        && s.parse::<f64>().is_err()
                        && !["true", "false", "null", "y", "n", "yes", "no", "on", "off"]
                            .contains(&s.to_lowercase().as_str()) =>
                {
                    s.clone()
                }
                J::String(s)
                    if style % 3 == 2
                        && !s.contains(['\n', '\r', '\u{2028}', '\u{2029}', '\u{85}']) =>
                {
                    format!("'{}'", s.replace('\'', "''"))
                }
                other => other.to_string(),
            }
        };
        let child = |v: &J, indent: usize, style: &mut dyn FnMut() -> u8, out: &mut String| {
            let st = style();
            let is_coll = matches!(v, J::Array(a) if !a.is_empty())
                || matches!(v, J::Object(o) if !o.is_empty());
            if let (J::String(text), 3 | 7) = (v, st % 8) {
                // A block scalar, its indentation explicit (the text may start with spaces).
                out.push_str(if st % 8 == 3 { " |2" } else { " >2" });
                out.push_str(if st & 16 == 0 { "-\n" } else { "+\n" });
                for line in text.split('\n') {
                    out.push_str(&" ".repeat(indent));
                    out.push_str(line);
                    out.push('\n');
                }
            } else if !is_coll || st % 4 == 0 {
                out.push(' ');
                out.push_str(&scalar(v, st));
                out.push('\n');
            } else {
                out.push('\n');
                emit(v, indent, style, out);
            }
        };
        match v {
            J::Object(m) => {
                for (k, val) in m {
                    out.push_str(&pad);
                    out.push_str(&scalar(&J::String(k.clone()), style()));
                    out.push(':');
                    let lists_indentless = style() % 2 == 0 && matches!(val, J::Array(_));
                    child(
                        val,
                        if lists_indentless { indent } else { indent + 2 },
                        style,
                        out,
                    );
                }
            }
            J::Array(items) => {
                for item in items {
                    out.push_str(&pad);
                    out.push('-');
                    child(item, indent + 2, style, out);
                }
            }
            other => {
                out.push_str(&pad);
                out.push_str(&scalar(other, style()));
                out.push('\n');
            }
        }
    }

    /// The pre-scan's depth is the parsed tree's depth, whatever the style: block, flow, quoted
    /// and plain scalars holding brackets, block scalars, indentless lists.
    #[test]
    fn depth_scan_agrees_with_the_parser() {
        use proptest::prelude::*;
        use serde_json::Value as J;
        let scalar = prop_oneof![
            Just("[[".to_owned()),
            Just("{a: [b".to_owned()),
            Just("it's [".to_owned()),
            Just("say \"hi\" {".to_owned()),
            Just("a # [b".to_owned()),
            Just("x: [y".to_owned()),
            Just("- [z".to_owned()),
            Just("| [".to_owned()),
            Just("multi\nline [\n  {".to_owned()),
            Just("  lead [".to_owned()),
            Just("trail [ ".to_owned()),
            Just("#[".to_owned()),
            Just("---".to_owned()),
            Just("é[ü".to_owned()),
            Just("plain".to_owned()),
            Just("".to_owned()),
            "[a-z\\[\\]{}'\" #:,-]{0,8}",
        ]
        .prop_map(J::String)
        .boxed();
        let leaf = prop_oneof![
            scalar,
            Just(J::Null),
            Just(J::from(12)),
            Just(J::Bool(true))
        ];
        let tree = leaf.prop_recursive(8, 64, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(J::Array),
                prop::collection::vec(("[a-z\\[{ '#:-]{1,5}", inner), 0..4)
                    .prop_map(|kv| J::Object(kv.into_iter().collect())),
            ]
        });
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: 400,
            ..Default::default()
        });
        runner
            .run(&(tree, any::<u64>()), |(v, seed)| {
                let mut state = seed;
                let mut style = move || {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (state >> 40) as u8
                };
                let mut ours = String::new();
                emit(&v, 0, &mut style, &mut ours);
                let texts = [
                    serde_json::to_string(&v).unwrap(),
                    serde_json::to_string_pretty(&v).unwrap(),
                    serde_yaml::to_string(&v).unwrap(),
                    format!(
                        "key:\n{}",
                        serde_yaml::to_string(&J::Array(vec![v.clone()])).unwrap()
                    ),
                    ours,
                ];
                for text in texts {
                    let node = parse_one(&text)
                        .map_err(|d| TestCaseError::fail(format!("{d:?}\n{text}")))?;
                    prop_assert_eq!(depth::max_depth(&text), node_depth(&node), "{}", text);
                }
                Ok(())
            })
            .unwrap();
    }
}
