//! The reference evaluator of correlation rules: events in, alert rows out (the meaning stated in
//! `docs/semantics.md`, "Correlation rules"). Every target is tested to give these rows.
//!
//! Per group, the base events sorted by time are swept once: each event enters the window at its
//! time, leaves it `timespan + 1` seconds later, and is checked at its time after every event of
//! that second has entered. Operations at one second run as leave, enter, check, each in event
//! order; the jq target runs the same sweep, so even floating-point sums add up alike.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{BaseKind, Correlation, Kind, Source};
use crate::eval::{resolve_exact, Evaluator};
use crate::rule::Rule;

/// One output row: the group's values, the first and last alert point, the value at the first.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub group: Vec<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub value: f64,
}

/// A base event as the window sees it.
#[derive(Debug, Clone)]
struct Item {
    t: i64,
    /// Which bases it matched.
    m: Vec<bool>,
    g: Vec<String>,
    /// The value fields: texts for value_count, numbers (or null) for value_sum/value_avg.
    v: Vec<Value>,
}

/// One group's alert points: `(time, value)` in time order.
type Points = Vec<(i64, f64)>;

/// `eventTime` as seconds since the epoch, when it is `YYYY-MM-DDTHH:MM:SSZ` and a real time.
pub fn event_time(event: &Value) -> Option<i64> {
    let s = event.get("eventTime")?.as_str()?;
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d == 0 || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let days = crate::backend::athena::window::days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    // A day past the month's end (02-30) does not read back as itself.
    (crate::backend::athena::window::iso(secs) == s).then_some(secs)
}

/// A group or distinct value's text: strings as they are, booleans `true`/`false`, numbers with
/// an integer value below 2^53 in magnitude as that integer; anything else takes no part.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0).then(|| format!("{}", f as i64))
        }
        _ => None,
    }
}

/// Evaluate a correlation rule over events: its alert rows, sorted by first_seen then group.
pub fn rows(rule: &Rule, events: &[Value]) -> Result<Vec<Row>, String> {
    let corr = rule
        .correlation
        .as_deref()
        .ok_or("not a correlation rule")?;
    corr.check_resolved().map_err(|d| d.message)?;
    let mut rows: Vec<Row> = alerts(corr, events)?
        .into_iter()
        .filter_map(|(g, pts)| {
            let (first, value) = *pts.first()?;
            let last = pts.last()?.0;
            Some(Row {
                group: g,
                first_seen: first,
                last_seen: last,
                value,
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.first_seen, &a.group)
            .partial_cmp(&(b.first_seen, &b.group))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Ok(rows)
}

/// Rows as the targets print them: the group-by names, `first_seen`, `last_seen`, `value`.
pub fn rows_json(corr: &Correlation, rows: &[Row]) -> Vec<Value> {
    rows.iter()
        .map(|r| {
            let mut m = Map::new();
            for (g, v) in corr.group_by.iter().zip(&r.group) {
                m.insert(g.text.clone(), Value::String(v.clone()));
            }
            let iso = crate::backend::athena::window::iso;
            m.insert("first_seen".into(), Value::String(iso(r.first_seen)));
            m.insert("last_seen".into(), Value::String(iso(r.last_seen)));
            m.insert("value".into(), number(r.value));
            Value::Object(m)
        })
        .collect()
}

/// A value as a JSON number: an integer when it is one.
pub fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// Each group's alert points, groups in order.
fn alerts(corr: &Correlation, events: &[Value]) -> Result<Vec<(Vec<String>, Points)>, String> {
    let n = corr.bases.len();
    let evaluators = corr
        .bases
        .iter()
        .map(|b| match &b.kind {
            BaseKind::Rule(e) => Evaluator::new(e).map(Some),
            BaseKind::Correlation(_) => Ok(None),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut items = Vec::new();
    for event in events {
        if !event.is_object() {
            continue;
        }
        let Some(t) = event_time(event) else {
            continue;
        };
        let m: Vec<bool> = evaluators
            .iter()
            .map(|e| e.as_ref().is_some_and(|e| e.matches(event)))
            .collect();
        let Some(first) = m.iter().position(|x| *x) else {
            continue;
        };
        let base = &corr.bases[first];
        let read = |s: &Source| match s {
            Source::Path(p) => resolve_exact(event, p).cloned(),
            Source::Inner(_) => None,
        };
        let Some(g) = base
            .group
            .iter()
            .map(|s| read(s).as_ref().and_then(value_text))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        let v = base
            .values
            .iter()
            .map(|s| value_of(corr.kind, read(s)))
            .collect();
        items.push(Item { t, m, g, v });
    }
    for (j, base) in corr.bases.iter().enumerate() {
        let BaseKind::Correlation(inner) = &base.kind else {
            continue;
        };
        let Some(ic) = inner.correlation.as_deref() else {
            continue;
        };
        for (ig, pts) in alerts(ic, events)? {
            let pick = |s: &Source| match s {
                Source::Inner(i) => ig.get(*i).cloned(),
                Source::Path(_) => None,
            };
            let Some(g) = base.group.iter().map(pick).collect::<Option<Vec<_>>>() else {
                continue;
            };
            let v: Vec<Value> = base
                .values
                .iter()
                .map(|s| value_of(corr.kind, pick(s).map(Value::String)))
                .collect();
            for (t, _) in pts {
                let mut m = vec![false; n];
                m[j] = true;
                items.push(Item {
                    t,
                    m,
                    g: g.clone(),
                    v: v.clone(),
                });
            }
        }
    }
    // Stable: ties keep the order above (events in input order, then chained alert points).
    items.sort_by(|a, b| a.g.cmp(&b.g).then(a.t.cmp(&b.t)));
    let mut out = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let end = start
            + items[start..]
                .iter()
                .take_while(|x| x.g == items[start].g)
                .count();
        let group = &items[start..end];
        let pts = window(corr, group);
        if !pts.is_empty() {
            out.push((group[0].g.clone(), pts));
        }
        start = end;
    }
    Ok(out)
}

/// A value field as the window keeps it: its text (value_count) or its number (value_sum,
/// value_avg); null when it takes no part.
fn value_of(kind: Kind, v: Option<Value>) -> Value {
    match (kind, v) {
        (Kind::ValueCount, Some(v)) => value_text(&v).map_or(Value::Null, Value::String),
        (Kind::ValueSum | Kind::ValueAvg, Some(v @ Value::Number(_))) => v,
        _ => Value::Null,
    }
}

/// The window's running state.
#[derive(Default)]
struct State {
    lo: usize,
    hi: usize,
    seen: HashMap<String, usize>,
    distinct: usize,
    sum: f64,
    numbers: usize,
    rules: Vec<usize>,
}

/// The alert points of one group (items sorted by time).
fn window(corr: &Correlation, xs: &[Item]) -> Points {
    let nb = corr.bases.len();
    let span = corr.timespan as i64;
    // (time, kind, index): kind 0 leave, 1 enter, 2 check.
    let mut ops: Vec<(i64, u8, usize)> = Vec::with_capacity(xs.len() * 3);
    for (i, x) in xs.iter().enumerate() {
        ops.push((x.t + span + 1, 0, i));
        ops.push((x.t, 1, i));
        ops.push((x.t, 2, i));
    }
    ops.sort_unstable();
    let mut s = State {
        rules: vec![0; nb],
        ..State::default()
    };
    let mut pts = Vec::new();
    for (_, op, i) in ops {
        let x = &xs[i];
        match op {
            0 => {
                s.lo += 1;
                change(corr.kind, &mut s, x, false);
            }
            1 => {
                s.hi += 1;
                change(corr.kind, &mut s, x, true);
            }
            _ => {
                if let Some(v) = value(corr, &s, x, &xs[s.lo..s.hi]) {
                    if corr.meets(v) {
                        pts.push((x.t, v));
                    }
                }
            }
        }
    }
    pts
}

/// An item enters (`add`) or leaves the window.
fn change(kind: Kind, s: &mut State, x: &Item, add: bool) {
    match kind {
        Kind::ValueCount => {
            let Some(key) = tuple_key(&x.v) else {
                return;
            };
            let c = s.seen.entry(key).or_insert(0);
            if add {
                if *c == 0 {
                    s.distinct += 1;
                }
                *c += 1;
            } else {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    s.distinct = s.distinct.saturating_sub(1);
                }
            }
        }
        Kind::Temporal | Kind::TemporalOrdered => {
            for (b, hit) in x.m.iter().enumerate() {
                if *hit {
                    if add {
                        s.rules[b] += 1;
                    } else {
                        s.rules[b] = s.rules[b].saturating_sub(1);
                    }
                }
            }
        }
        Kind::ValueSum | Kind::ValueAvg => {
            if let Some(n) = x.v.first().and_then(Value::as_f64) {
                if add {
                    s.sum += n;
                    s.numbers += 1;
                } else {
                    s.sum -= n;
                    s.numbers = s.numbers.saturating_sub(1);
                }
            }
        }
        Kind::EventCount => {}
    }
}

/// The distinct key of a value tuple: None when one of its fields takes no part.
fn tuple_key(v: &[Value]) -> Option<String> {
    if v.iter().any(Value::is_null) {
        return None;
    }
    Some(Value::Array(v.to_vec()).to_string())
}

/// The window's value at the check of `x`; None when there is none (a mean over no numbers,
/// an order not seen).
fn value(corr: &Correlation, s: &State, x: &Item, w: &[Item]) -> Option<f64> {
    let nb = corr.bases.len();
    Some(match corr.kind {
        Kind::EventCount => (s.hi - s.lo) as f64,
        Kind::ValueCount => s.distinct as f64,
        Kind::Temporal => s.rules.iter().filter(|c| **c > 0).count() as f64,
        Kind::TemporalOrdered => {
            if !x.m.get(nb.checked_sub(1)?).copied().unwrap_or(false) {
                return None;
            }
            let mut c = i64::MIN;
            for j in 0..nb - 1 {
                c = w.iter().find(|y| y.m[j] && y.t >= c)?.t;
            }
            nb as f64
        }
        Kind::ValueSum => s.sum,
        Kind::ValueAvg => {
            if s.numbers == 0 {
                return None;
            }
            s.sum / s.numbers as f64
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times_are_strict() {
        let t = |s: &str| event_time(&serde_json::json!({ "eventTime": s }));
        assert_eq!(t("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(t("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        assert_eq!(t("2023-02-29T00:00:00Z"), None);
        assert_eq!(t("2024-01-01T00:00:00.5Z"), None);
        assert_eq!(t("2024-01-01T24:00:00Z"), None);
        assert_eq!(t("2024-01-01 00:00:00Z"), None);
        assert_eq!(event_time(&serde_json::json!({ "eventTime": 5 })), None);
    }

    #[test]
    fn value_texts() {
        use serde_json::json;
        assert_eq!(value_text(&json!("1")), Some("1".into()));
        assert_eq!(value_text(&json!(1)), Some("1".into()));
        assert_eq!(value_text(&json!(1.0)), Some("1".into()));
        assert_eq!(value_text(&json!(1.5)), None);
        assert_eq!(value_text(&json!(true)), Some("true".into()));
        assert_eq!(value_text(&json!(null)), None);
        assert_eq!(value_text(&json!({"a": 1})), None);
    }
}
