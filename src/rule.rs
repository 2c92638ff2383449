//! A rule as every front end delivers it: shared metadata plus one IR condition.

use serde::Serialize;

use crate::ir::Expr;
use crate::source::Span;

/// Which rule language a rule was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Sigma,
    Panther,
}

/// A rule lowered to the IR, with the metadata templates and reports use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub format: Format,
    pub meta: Meta,
    /// The named detections (Sigma selections) in source order, each lowered on its own: the
    /// stages `explain` shows.
    pub detections: Vec<Detection>,
    /// The condition as written (one entry per `condition` list item).
    pub condition_text: Vec<String>,
    /// The whole rule's meaning.
    pub condition: Expr,
    /// Where the rule's document starts in its file.
    #[serde(skip)]
    pub span: Span,
    /// Where its `logsource` key is (the document's start when it has none).
    #[serde(skip)]
    pub logsource_span: Span,
    /// A Panther Python rule: the condition under which `rule(event)` raises an exception
    /// (Panther reports a test whose event makes it raise as failed). None for other rules.
    #[serde(skip)]
    pub raises: Option<Expr>,
    /// A Sigma correlation rule's `correlation:` section; its `condition` above is then the OR of
    /// its base rules' conditions (through chains), for reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<Box<crate::correlation::Correlation>>,
}

/// One named detection (`selection:`, `filter_main:`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub name: String,
    pub expr: Expr,
}

/// Rule metadata, named after Sigma's keys (Panther keys map onto them).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Meta {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub logsource: Vec<(String, String)>,
    /// Fields of interest (Sigma `fields`, Panther output fields).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub falsepositives: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<(String, String)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Keys the rule format does not define, kept as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom: Vec<(String, serde_json::Value)>,
    /// Remarks every target prints with the rule's query: what its front end knows that the
    /// query cannot say (a Python rule's module-level dict, spelled out in the query).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}
