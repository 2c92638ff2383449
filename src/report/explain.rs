//! The catalog view of one rule: its stages and predicates, exclusions (top-level NOT conjuncts),
//! indicators (field, kind, values), output fields and MITRE tags, computed from the IR.

use serde::Serialize;

use super::{md_cell, md_code, md_heading, md_inline, md_item};
use crate::escape::visible;
use crate::ir::{Anchor, Expr, Predicate, Shape, Subject, Test};
use crate::rule::{Format, Rule};
use crate::sigma::condition::{self, Cond};

/// One field, the kind of test on it, and the values it looks for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Indicator {
    pub field: String,
    pub kind: String,
    pub values: Vec<String>,
    /// Inside a NOT (below the top level).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub negated: bool,
}

/// One stage: the condition, or one named detection with its predicates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    pub name: String,
    /// The detection is used under a NOT in the condition.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub negated: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub text: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub predicates: Vec<Indicator>,
}

/// The whole view of one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub path: String,
    pub format: Format,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    pub stages: Vec<Stage>,
    pub exclusions: Vec<Indicator>,
    pub indicators: Vec<Indicator>,
    pub output_fields: Vec<String>,
    pub mitre: Vec<String>,
    /// A correlation rule's type, rules, group-by, window and condition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationView>,
}

/// What a correlation rule correlates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrelationView {
    #[serde(rename = "type")]
    pub kind: String,
    /// Each entry of `rules`: the reference and the title of the rule it names.
    pub rules: Vec<(String, String)>,
    pub group_by: Vec<String>,
    pub timespan: String,
    pub condition: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub field: Vec<String>,
    /// The actions (`eventSource:eventName`) of its base rules, through chains: where the
    /// catalog counts it.
    pub actions: Vec<String>,
}

/// The stages of a correlation rule: its definition, then each referenced rule's predicates.
fn correlation_stages(c: &crate::correlation::Correlation, stages: &mut Vec<Stage>) {
    let texts = |xs: &[crate::correlation::Named]| {
        xs.iter()
            .map(|x| x.text.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = vec![
        format!("type: {}", c.kind.name()),
        format!("rules: {}", texts(&c.rules)),
    ];
    if !c.group_by.is_empty() {
        text.push(format!("group-by: {}", texts(&c.group_by)));
    }
    text.push(format!("timespan: {}", c.timespan_text));
    text.push(format!("condition: {}", c.condition_text()));
    if !c.fields.is_empty() {
        text.push(format!("field: {}", texts(&c.fields)));
    }
    for a in &c.aliases {
        let per: Vec<String> = a.fields.iter().map(|(r, f)| format!("{r}: {f}")).collect();
        text.push(format!("alias {}: {}", a.name, per.join(", ")));
    }
    stages.push(Stage {
        name: "correlation".into(),
        negated: false,
        text,
        predicates: vec![],
    });
    for b in &c.bases {
        let mut preds = Vec::new();
        let text = match &b.kind {
            crate::correlation::BaseKind::Rule(e) => {
                collect_indicators(e, false, &mut preds);
                vec![]
            }
            crate::correlation::BaseKind::Correlation(r) => r
                .correlation
                .as_deref()
                .map(|ic| {
                    vec![format!(
                        "a correlation: {} by {} within {}, {}",
                        ic.kind.name(),
                        texts(&ic.group_by),
                        ic.timespan_text,
                        ic.condition_text()
                    )]
                })
                .unwrap_or_default(),
        };
        stages.push(Stage {
            name: format!("rule {} ({})", b.reference, b.title),
            negated: false,
            text,
            predicates: merge(preds, false),
        });
    }
}

/// The actions of every base rule of a correlation, through chains.
fn correlation_actions(c: &crate::correlation::Correlation) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for e in c.base_conditions() {
        let conjuncts: Vec<&Expr> = match e {
            Expr::And(xs) => xs.iter().collect(),
            other => vec![other],
        };
        let mut indicators = Vec::new();
        for x in conjuncts {
            if !matches!(x, Expr::Not(_)) {
                collect_indicators(x, false, &mut indicators);
            }
        }
        out.extend(super::catalog::actions_from(&merge(indicators, true)));
    }
    out.into_iter().collect()
}

/// Build the view of a rule.
pub fn explain(rule: &Rule, path: &str) -> Explanation {
    let mut stages = Vec::new();
    if !rule.condition_text.is_empty() {
        stages.push(Stage {
            name: "condition".into(),
            negated: false,
            text: rule.condition_text.clone(),
            predicates: vec![],
        });
    }
    if let Some(c) = rule.correlation.as_deref() {
        correlation_stages(c, &mut stages);
    }
    let negated = negated_detections(rule);
    for d in &rule.detections {
        let neg = negated.contains(&d.name);
        let mut preds = Vec::new();
        collect_indicators(&d.expr, false, &mut preds);
        stages.push(Stage {
            name: if neg {
                format!("not {}", d.name)
            } else {
                d.name.clone()
            },
            negated: neg,
            text: vec![],
            predicates: merge(preds, false),
        });
    }
    if rule.detections.is_empty() && rule.correlation.is_none() {
        // A rule without named detections (Panther): one stage with the whole condition.
        let mut preds = Vec::new();
        collect_indicators(&rule.condition, false, &mut preds);
        stages.push(Stage {
            name: "rule".into(),
            negated: false,
            text: vec![],
            predicates: merge(preds, false),
        });
    }
    let conjuncts: Vec<&Expr> = match &rule.condition {
        Expr::And(xs) => xs.iter().collect(),
        other => vec![other],
    };
    let mut exclusions = Vec::new();
    let mut indicators = Vec::new();
    for c in conjuncts {
        match c {
            Expr::Not(inner) => collect_indicators(inner, false, &mut exclusions),
            other => collect_indicators(other, false, &mut indicators),
        }
    }
    Explanation {
        path: path.to_owned(),
        format: rule.format,
        title: rule.meta.title.clone(),
        id: rule.meta.id.clone(),
        level: rule.meta.level.clone(),
        stages,
        exclusions: merge(exclusions, true),
        indicators: merge(indicators, true),
        correlation: rule.correlation.as_deref().map(|c| CorrelationView {
            kind: c.kind.name().to_owned(),
            rules: c
                .bases
                .iter()
                .map(|b| (b.reference.clone(), b.title.clone()))
                .collect(),
            group_by: c.group_by.iter().map(|g| g.text.clone()).collect(),
            timespan: c.timespan_text.clone(),
            condition: c.condition_text(),
            field: c.fields.iter().map(|f| f.text.clone()).collect(),
            actions: correlation_actions(c),
        }),
        output_fields: rule.meta.fields.clone(),
        mitre: rule
            .meta
            .tags
            .iter()
            .filter(|t| t.starts_with("attack."))
            .cloned()
            .collect(),
    }
}

/// Names of detections the condition uses under an odd number of NOTs.
fn negated_detections(rule: &Rule) -> Vec<String> {
    let mut out = Vec::new();
    for text in &rule.condition_text {
        if let Ok(c) = condition::parse(text) {
            collect_negated(&c, false, rule, &mut out);
        }
    }
    out
}

/// Add to `out` the detections `c` uses under NOT (`neg`: `c` itself is under an odd number of
/// NOTs); a selector (`1 of filter_*`) stands for every detection its pattern names.
fn collect_negated(c: &Cond, neg: bool, rule: &Rule, out: &mut Vec<String>) {
    match c {
        Cond::Or(xs) | Cond::And(xs) => xs.iter().for_each(|x| collect_negated(x, neg, rule, out)),
        Cond::Not(x) => collect_negated(x, !neg, rule, out),
        Cond::Ident(name, _) => {
            if neg && !out.contains(name) {
                out.push(name.clone());
            }
        }
        Cond::Selector { pattern, .. } => {
            if neg {
                for d in &rule.detections {
                    if crate::sigma::selector_matches(pattern.as_deref(), &d.name)
                        && !out.contains(&d.name)
                    {
                        out.push(d.name.clone());
                    }
                }
            }
        }
    }
}

/// Add to `out` an indicator for every predicate in `e` (`neg`: `e` is under an odd number of
/// NOTs, and so are its indicators).
fn collect_indicators(e: &Expr, neg: bool, out: &mut Vec<Indicator>) {
    match e {
        Expr::And(xs) | Expr::Or(xs) => xs.iter().for_each(|x| collect_indicators(x, neg, out)),
        Expr::Not(x) => collect_indicators(x, !neg, out),
        Expr::Const(_) => {}
        Expr::Pred(p) => out.push(indicator(p, neg)),
        Expr::Elements(el) => {
            // Element fields show as `array[].field`, with the count in the kind.
            let count = match el.count {
                crate::ir::Count::Some => "any_element",
                crate::ir::Count::Every => "all_elements",
                crate::ir::Count::One => "one_element",
            };
            let mut inner = Vec::new();
            collect_indicators(&el.body, neg, &mut inner);
            for mut i in inner {
                i.field = if i.field.is_empty() {
                    format!("{}[]", el.path)
                } else {
                    format!("{}[].{}", el.path, i.field)
                };
                i.kind = format!("{count} {}", i.kind);
                out.push(i);
            }
        }
    }
}

/// Merge rows with the same field, kind and polarity; optionally sort them by field and kind.
fn merge(rows: Vec<Indicator>, sort: bool) -> Vec<Indicator> {
    let mut out: Vec<Indicator> = Vec::new();
    for r in rows {
        match out
            .iter_mut()
            .find(|o| o.field == r.field && o.kind == r.kind && o.negated == r.negated)
        {
            Some(o) => {
                for v in r.values {
                    if !o.values.contains(&v) {
                        o.values.push(v);
                    }
                }
            }
            None => out.push(r),
        }
    }
    if sort {
        out.sort_by(|a, b| (&a.field, &a.kind, a.negated).cmp(&(&b.field, &b.kind, b.negated)));
    }
    out
}

/// The kind and values of one predicate, in catalog terms.
pub fn indicator(p: &Predicate, negated: bool) -> Indicator {
    let field = match &p.subject {
        Subject::Field(f) => f.to_string(),
        Subject::Anywhere => "(keyword)".to_owned(),
    };
    let (kind, values): (&str, Vec<String>) = match &p.test {
        Test::Text { pattern, .. } | Test::Str { pattern, .. } => match pattern.shape() {
            Shape::Exact(s) => ("eq", vec![s.to_owned()]),
            Shape::Prefix(s) => ("startswith", vec![s.to_owned()]),
            Shape::Suffix(s) => ("endswith", vec![s.to_owned()]),
            Shape::Contains(s) if p.subject == Subject::Anywhere => ("keyword", vec![s.to_owned()]),
            Shape::Contains(s) => ("contains", vec![s.to_owned()]),
            Shape::Anything => ("is_not_null", vec![]),
            Shape::General => ("wildcard", vec![pattern.to_string()]),
        },
        Test::Regex { regex, flags } => {
            ("regex", vec![format!("{}{regex}", flags.inline_prefix())])
        }
        Test::Cidr(c) => ("cidr", vec![c.to_string()]),
        Test::Compare { op, value } => (
            match op {
                crate::ir::CompareOp::Gt => "gt",
                crate::ir::CompareOp::Gte => "gte",
                crate::ir::CompareOp::Lt => "lt",
                crate::ir::CompareOp::Lte => "lte",
            },
            vec![value.text.clone()],
        ),
        Test::Null => ("is_null", vec![]),
        Test::Exists => ("is_not_null", vec![]),
        Test::FieldRef(r) => (
            match r.anchor {
                Anchor::Whole => "fieldref",
                Anchor::Prefix => "fieldref_startswith",
                Anchor::Suffix => "fieldref_endswith",
                Anchor::Substring => "fieldref_contains",
            },
            // Literal text around the other field reads `user/{userName}`.
            vec![if r.is_affixed() {
                format!("{}{{{}}}{}", r.before, r.other, r.after)
            } else {
                r.other.to_string()
            }],
        ),
        Test::Is(v) => (
            "eq",
            vec![v.as_str().map_or_else(|| v.to_string(), str::to_owned)],
        ),
        Test::Truthy => ("truthy", vec![]),
        Test::Type(t) => ("type", vec![t.jq_name().to_owned()]),
        Test::HasKey(k) => ("has_key", vec![k.clone()]),
    };
    let kind = kind.to_owned();
    Indicator {
        field,
        kind,
        values,
        negated,
    }
}

/// An indicator's values as one line, `NOT ` first when it is negated.
fn values_text(i: &Indicator) -> String {
    let v = i.values.join(", ");
    if i.negated {
        format!("NOT {v}").trim_end().to_owned()
    } else {
        v
    }
}

/// `a, b, c`, or `(none)`.
fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

/// Aligned `field  kind  values` lines (rule text written [visibly](visible)).
fn rows(r: &[Indicator], indent: &str, s: &mut String) {
    let shown: Vec<(String, String, String)> = r
        .iter()
        .map(|p| {
            (
                visible(&p.field).into_owned(),
                visible(&p.kind).into_owned(),
                visible(&values_text(p)).into_owned(),
            )
        })
        .collect();
    let fw = shown.iter().map(|p| p.0.chars().count()).max().unwrap_or(0);
    let kw = shown.iter().map(|p| p.1.chars().count()).max().unwrap_or(0);
    for (field, kind, values) in &shown {
        let line = format!("{indent}{field:<fw$}  {kind:<kw$}  {values}");
        s.push_str(line.trim_end());
        s.push('\n');
    }
}

/// Plain text, for a terminal. Rule text is written [visibly](visible): each value stays on its
/// line and no control or bidirectional character reaches the terminal.
pub fn render_text(e: &Explanation) -> String {
    let mut s = String::new();
    s.push_str(&format!("{}\n", visible(&e.title)));
    s.push_str(&format!(
        "  format: {}   level: {}   id: {}\n  source: {}\n",
        match e.format {
            Format::Sigma => "sigma",
            Format::Panther => "panther",
        },
        visible(e.level.as_deref().unwrap_or("-")),
        visible(e.id.as_deref().unwrap_or("-")),
        visible(&e.path)
    ));
    s.push_str("\nStages and predicates\n");
    for (i, st) in e.stages.iter().enumerate() {
        s.push_str(&format!("  Stage {i}: {}\n", visible(&st.name)));
        for t in &st.text {
            s.push_str(&format!("    {}\n", visible(t)));
        }
        rows(&st.predicates, "    ", &mut s);
    }
    let table = |title: &str, r: &[Indicator], s: &mut String| {
        s.push_str(&format!("\n{title}\n"));
        if r.is_empty() {
            s.push_str("  (none)\n");
        }
        rows(r, "  ", s);
    };
    table(
        "Exclusions (top-level NOT conjuncts)",
        &e.exclusions,
        &mut s,
    );
    table("Indicators", &e.indicators, &mut s);
    s.push_str("\nMITRE ATT&CK\n");
    s.push_str(&format!("  {}\n", visible(&list_or_none(&e.mitre))));
    s.push_str("\nOutput fields\n");
    s.push_str(&format!("  {}\n", visible(&list_or_none(&e.output_fields))));
    s
}

/// Markdown, for a catalog page. Rule text is escaped for Markdown (see [`super`]).
pub fn render_markdown(e: &Explanation) -> String {
    let mut s = String::new();
    s.push_str(&format!("## {}\n\n", md_heading(&e.title)));
    s.push_str(&format!(
        "- format: {}\n- level: {}\n- id: {}\n- source: {}\n\n",
        match e.format {
            Format::Sigma => "sigma",
            Format::Panther => "panther",
        },
        md_inline(e.level.as_deref().unwrap_or("-")),
        md_inline(e.id.as_deref().unwrap_or("-")),
        md_code(&e.path, false)
    ));
    s.push_str("### Stages and predicates\n\n");
    for (i, st) in e.stages.iter().enumerate() {
        s.push_str(&format!(
            "**Stage {i}: {}**\n\n",
            md_inline(&st.name).replace('*', "\\*")
        ));
        for t in &st.text {
            // An indented code block: every line indented, so none ends it.
            for line in t.replace("\r\n", "\n").split(['\n', '\r']) {
                s.push_str(&format!("    {}\n", visible(line)));
            }
            s.push('\n');
        }
        if !st.predicates.is_empty() {
            s.push_str("| Field | Kind | Values |\n|---|---|---|\n");
            for p in &st.predicates {
                s.push_str(&format!(
                    "| {} | {} | {} |\n",
                    md_cell(&p.field),
                    md_cell(&p.kind),
                    md_cell(&values_text(p))
                ));
            }
            s.push('\n');
        }
    }
    let table = |title: &str, rows: &[Indicator], s: &mut String| {
        s.push_str(&format!("### {title}\n\n"));
        if rows.is_empty() {
            s.push_str("(none)\n\n");
            return;
        }
        s.push_str("| Field | Kind | Values |\n|---|---|---|\n");
        for p in rows {
            s.push_str(&format!(
                "| {} | {} | {} |\n",
                md_cell(&p.field),
                md_cell(&p.kind),
                md_cell(&values_text(p))
            ));
        }
        s.push('\n');
    };
    table("Exclusions", &e.exclusions, &mut s);
    table("Indicators", &e.indicators, &mut s);
    s.push_str("### MITRE ATT&CK\n\n");
    s.push_str(&format!("{}\n\n", md_item(&list_or_none(&e.mitre))));
    s.push_str("### Output fields\n\n");
    if e.output_fields.is_empty() {
        s.push_str("(none)\n");
    } else {
        for f in &e.output_fields {
            s.push_str(&format!("- {}\n", md_item(f)));
        }
    }
    s
}
