//! Reading a Sigma correlation document (`title`, metadata and `correlation:`) into a [`Rule`]
//! whose [`Correlation`] still names its rules as text; [`super::resolve`] finds them.

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Expr;
use crate::rule::{Format, Meta, Rule};
use crate::source::Span;
use crate::yaml::{Document, Node};

use super::{Alias, Bound, Correlation, Kind, Named, Op, MAX_TIMESPAN};

/// Output column names a group-by may not take.
const RESERVED: [&str; 3] = ["first_seen", "last_seen", "value"];

/// The most entries of `rules`, `group-by`, `field` or `aliases` a correlation may list.
const MAX_LIST: usize = 64;

/// Read a correlation document.
pub fn load(doc: &Document) -> Result<Rule, Diagnostic> {
    let at = |path: &[&str]| doc.keys.key(path).unwrap_or(Span::at(doc.start));
    let Node::Map(entries) = &doc.node else {
        return Err(
            Diagnostic::new(Code::NotARule, "a correlation rule must be a mapping")
                .with_span(Span::at(doc.start)),
        );
    };
    let mut meta = Meta::default();
    let mut body = None;
    for (key, value) in entries {
        if crate::sigma::meta::read_key(&mut meta, key, value, at(&[key]))? {
            continue;
        }
        match key.as_str() {
            "correlation" => body = Some(value),
            _ => meta.custom.push((key.clone(), value.to_json())),
        }
    }
    if meta.title.is_empty() {
        return Err(Diagnostic::new(
            Code::NotARule,
            "not a Sigma correlation rule: the required key 'title' is missing",
        )
        .with_span(Span::at(doc.start)));
    }
    let Some(body) = body else {
        return Err(Diagnostic::new(Code::NotARule, "'correlation' is missing")
            .with_span(Span::at(doc.start)));
    };
    let corr = correlation(doc, body)?;
    Ok(Rule {
        format: Format::Sigma,
        meta,
        detections: Vec::new(),
        condition_text: Vec::new(),
        condition: Expr::Const(false),
        span: Span::at(doc.start),
        logsource_span: Span::at(doc.start),
        raises: None,
        correlation: Some(Box::new(corr)),
    })
}

fn shape(message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::new(Code::CorrelationShape, message).with_span(span)
}

/// A list of names (or one scalar), each with its span: `rules`, `group-by`, `field`.
fn named_list(doc: &Document, path: &[&str], node: &Node) -> Result<Vec<Named>, Diagnostic> {
    let key = doc.keys.key(path).unwrap_or(Span::at(doc.start));
    let item_span = |i: usize| {
        doc.keys
            .item_offset(path, i)
            .map_or(key, |o| Span::new(o, o + 1))
    };
    let value_span = doc.keys.value_offset(path).map_or(key, Span::at);
    let items: Vec<(Option<String>, Span)> = match node {
        Node::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, n)| (n.scalar_text().filter(|_| *n != Node::Null), item_span(i)))
            .collect(),
        Node::Null => Vec::new(),
        n => vec![(n.scalar_text(), value_span)],
    };
    if items.len() > MAX_LIST {
        return Err(shape(
            format!(
                "'{}' lists more than {MAX_LIST} entries (the limit)",
                path.last().unwrap_or(&"")
            ),
            key,
        ));
    }
    items
        .into_iter()
        .map(|(t, span)| match t {
            Some(text) if !text.is_empty() => Ok(Named { text, span }),
            _ => Err(shape(
                format!(
                    "'{}' must be a string or a list of strings",
                    path.last().unwrap_or(&"")
                ),
                span,
            )),
        })
        .collect()
}

fn correlation(doc: &Document, node: &Node) -> Result<Correlation, Diagnostic> {
    let at = |k: &str| {
        doc.keys
            .key(&["correlation", k])
            .or_else(|| doc.keys.key(&["correlation"]))
            .unwrap_or(Span::at(doc.start))
    };
    let top = at("");
    let Node::Map(entries) = node else {
        return Err(shape(
            format!(
                "'correlation' must be a mapping (type, rules, group-by, timespan, condition), found {}",
                node.kind()
            ),
            top,
        ));
    };
    let mut kind = None;
    let mut rules = Vec::new();
    let mut group_by = Vec::new();
    let mut timespan = None;
    let mut condition = None;
    let mut aliases = Vec::new();
    let mut generate = false;
    for (key, value) in entries {
        let span = at(key);
        match key.as_str() {
            "type" => {
                kind = Some(parse_kind(value, span)?);
            }
            "rules" => rules = named_list(doc, &["correlation", "rules"], value)?,
            "group-by" => group_by = named_list(doc, &["correlation", "group-by"], value)?,
            "timespan" => timespan = Some(parse_timespan(value, span)?),
            "condition" => condition = Some((value, span)),
            "aliases" => aliases = parse_aliases(doc, value, span)?,
            "generate" => match value {
                Node::Bool(b) => generate = *b,
                other => {
                    return Err(shape(
                        format!("'generate' must be true or false, found {}", other.kind()),
                        span,
                    ))
                }
            },
            // Keys of later spec versions or other tools are kept out of the meaning.
            _ => {}
        }
    }
    let Some(kind) = kind else {
        return Err(shape("the correlation has no 'type'", top));
    };
    if rules.is_empty() {
        return Err(shape("the correlation has no 'rules'", top));
    }
    let Some((timespan, timespan_text)) = timespan else {
        return Err(shape("the correlation has no 'timespan'", top));
    };
    check_group_by(&group_by, &aliases)?;
    let (bounds, fields) = match condition {
        Some((node, span)) => parse_condition(doc, node, span)?,
        None => (Vec::new(), Vec::new()),
    };
    let bounds = checked_bounds(kind, bounds, rules.len(), at("condition"))?;
    check_fields(kind, &fields, node, &at)?;
    Ok(Correlation {
        kind,
        rules,
        group_by,
        timespan,
        timespan_text,
        condition: bounds,
        fields,
        aliases,
        generate,
        bases: Vec::new(),
        notes: Vec::new(),
        unresolved: None,
    })
}

/// The correlation `type`.
fn parse_kind(value: &Node, span: Span) -> Result<Kind, Diagnostic> {
    let t = value.as_str().unwrap_or("");
    Ok(match t {
        "event_count" => Kind::EventCount,
        "value_count" => Kind::ValueCount,
        "temporal" => Kind::Temporal,
        "temporal_ordered" => Kind::TemporalOrdered,
        "value_sum" => Kind::ValueSum,
        "value_avg" => Kind::ValueAvg,
        "value_percentile" => {
            return Err(Diagnostic::new(
                Code::Unsupported,
                "value_percentile correlations are not supported: the spec names no \
                     percentile, and pySigma's backends read an extra 'percentile:' key \
                     each their own way (continuous interpolation in one, nearest rank in \
                     another), so no reading would agree with the tools rules are written for",
            )
            .with_span(span));
        }
        _ => {
            return Err(shape(
                format!(
                    "unknown correlation type '{}'; expected event_count, value_count, \
                         temporal, temporal_ordered, value_sum, value_avg or value_percentile",
                    value
                        .scalar_text()
                        .unwrap_or_else(|| value.kind().to_owned())
                ),
                span,
            ))
        }
    })
}

/// Group-by names are not output columns and not repeated; every alias names one of them.
fn check_group_by(group_by: &[Named], aliases: &[Alias]) -> Result<(), Diagnostic> {
    for g in group_by {
        if RESERVED.contains(&g.text.as_str()) {
            return Err(shape(
                format!(
                    "'{}' cannot be a group-by name: it is an output column (first_seen, last_seen, value)",
                    g.text
                ),
                g.span,
            ));
        }
        if group_by.iter().filter(|h| h.text == g.text).count() > 1 {
            return Err(shape(format!("'{}' is grouped by twice", g.text), g.span));
        }
    }
    for a in aliases {
        if !group_by.iter().any(|g| g.text == a.name) {
            return Err(shape(
                format!("the alias '{}' is not in 'group-by'", a.name),
                a.span,
            ));
        }
    }
    Ok(())
}

/// The count bounds of the condition: temporal types default to "every rule" (`gte: n`), and
/// temporal_ordered allows nothing else; the other types need a condition (`at` is where).
fn checked_bounds(
    kind: Kind,
    bounds: Vec<Bound>,
    rules: usize,
    at: Span,
) -> Result<Vec<Bound>, Diagnostic> {
    let ordered = matches!(kind, Kind::Temporal | Kind::TemporalOrdered);
    let bounds = if bounds.is_empty() {
        if !ordered {
            return Err(shape(
                format!(
                    "a {} correlation needs a 'condition' (gt, gte, lt, lte, eq or neq)",
                    kind.name()
                ),
                at,
            ));
        }
        vec![Bound {
            op: Op::Gte,
            value: rules as f64,
        }]
    } else {
        bounds
    };
    if kind == Kind::TemporalOrdered
        && bounds
            != [Bound {
                op: Op::Gte,
                value: rules as f64,
            }]
    {
        return Err(shape(
            format!(
                "a temporal_ordered correlation needs every rule in order: its condition can only be \
                 'gte: {}' (the default)",
                rules
            ),
            at,
        ));
    }
    Ok(bounds)
}

/// `field` is given exactly where the type aggregates one (value_count: one or more).
fn check_fields(
    kind: Kind,
    fields: &[Named],
    node: &Node,
    at: &dyn Fn(&str) -> Span,
) -> Result<(), Diagnostic> {
    if kind.needs_field() && fields.is_empty() {
        // `field` beside `condition` is a common slip: say where it goes.
        let misplaced = node.get("field").is_some();
        return Err(shape(
            format!(
                "a {} correlation needs 'field' in its condition (the field it aggregates){}",
                kind.name(),
                if misplaced {
                    "; 'field' is written beside 'condition': move it under 'condition'"
                } else {
                    ""
                }
            ),
            at(if misplaced { "field" } else { "condition" }),
        ));
    }
    if !kind.needs_field() && !fields.is_empty() {
        return Err(shape(
            format!("'field' has no meaning for a {} correlation", kind.name()),
            fields[0].span,
        ));
    }
    if matches!(kind, Kind::ValueSum | Kind::ValueAvg) && fields.len() > 1 {
        return Err(shape(
            format!("a {} correlation aggregates one field", kind.name()),
            fields[1].span,
        ));
    }
    Ok(())
}

/// `<digits><s|m|h|d>`, at least a second and at most [`MAX_TIMESPAN`].
fn parse_timespan(node: &Node, span: Span) -> Result<(u64, String), Diagnostic> {
    let text = node.scalar_text().unwrap_or_default();
    let bad = || {
        shape(
            format!(
                "bad timespan '{text}': expected a whole number and a unit s, m, h or d (such as 10m), \
                 of at least 1s and at most 3650d"
            ),
            span,
        )
    };
    let unit = text.chars().last().ok_or_else(bad)?;
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(bad()),
    };
    let secs = n.checked_mul(scale).ok_or_else(bad)?;
    if secs == 0 || secs > MAX_TIMESPAN {
        return Err(bad());
    }
    Ok((secs, text))
}

fn parse_condition(
    doc: &Document,
    node: &Node,
    span: Span,
) -> Result<(Vec<Bound>, Vec<Named>), Diagnostic> {
    let Node::Map(entries) = node else {
        return Err(shape(
            format!(
                "'condition' must be a mapping such as {{gte: 10}} or {{gt: 100, lte: 200}}, found {}",
                node.kind()
            ),
            span,
        ));
    };
    let mut bounds = Vec::new();
    let mut fields = Vec::new();
    for (key, value) in entries {
        let kspan = doc
            .keys
            .key(&["correlation", "condition", key])
            .unwrap_or(span);
        let op = match key.as_str() {
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "field" => {
                fields = named_list(doc, &["correlation", "condition", "field"], value)?;
                continue;
            }
            other => {
                return Err(shape(
                    format!(
                        "unknown condition '{other}'; expected gt, gte, lt, lte, eq, neq or field"
                    ),
                    kspan,
                ))
            }
        };
        let n = match value {
            Node::Int(i) => *i as f64,
            Node::Float(f) if f.is_finite() => *f,
            other => {
                return Err(shape(
                    format!("'{key}' must be a number, found {}", other.kind()),
                    kspan,
                ))
            }
        };
        if n.abs() >= 9_007_199_254_740_992.0 {
            return Err(shape(
                format!("'{key}' must be below 2^53 in magnitude"),
                kspan,
            ));
        }
        bounds.push(Bound { op, value: n });
    }
    if bounds.len() > 2 {
        return Err(shape(
            "a condition holds one comparison, or two for a range (gt: 100, lte: 200)",
            span,
        ));
    }
    Ok((bounds, fields))
}

fn parse_aliases(doc: &Document, node: &Node, span: Span) -> Result<Vec<Alias>, Diagnostic> {
    let Node::Map(entries) = node else {
        return Err(shape(
            format!(
                "'aliases' must map each alias to {{rule name: field}}, found {}",
                node.kind()
            ),
            span,
        ));
    };
    if entries.len() > MAX_LIST {
        return Err(shape(
            format!("'aliases' lists more than {MAX_LIST} entries (the limit)"),
            span,
        ));
    }
    let mut out = Vec::new();
    for (name, value) in entries {
        let aspan = doc
            .keys
            .key(&["correlation", "aliases", name])
            .unwrap_or(span);
        let Node::Map(m) = value else {
            return Err(shape(
                format!("the alias '{name}' must map rule names to fields"),
                aspan,
            ));
        };
        let mut fields = Vec::new();
        for (rule, f) in m.iter().take(MAX_LIST + 1) {
            match f.scalar_text() {
                Some(t) if *f != Node::Null && !t.is_empty() => fields.push((rule.clone(), t)),
                _ => {
                    return Err(shape(
                        format!("the alias '{name}': the field for '{rule}' must be a string"),
                        aspan,
                    ))
                }
            }
        }
        if fields.len() > MAX_LIST {
            return Err(shape(
                format!("the alias '{name}' lists more than {MAX_LIST} rules (the limit)"),
                aspan,
            ));
        }
        out.push(Alias {
            name: name.clone(),
            fields,
            span: aspan,
        });
    }
    Ok(out)
}
