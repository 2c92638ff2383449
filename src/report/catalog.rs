//! The catalog over a rules tree: every rule of every format, how many rules share each indicator,
//! which rules detect each action (eventSource + eventName), and totals by level and MITRE tactic.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::explain::{explain, Explanation, Indicator};
use super::{md_cell, md_code, md_heading, md_inline, md_item};
use crate::rule::{Format, Rule};

/// The MITRE ATT&CK enterprise tactics: (id, Sigma tag name, display name). The two tactics
/// ATT&CK split Defense Evasion into are newer than the ids here: they are matched by name only.
const TACTICS: [(&str, &str, &str); 16] = [
    ("TA0043", "reconnaissance", "Reconnaissance"),
    ("TA0042", "resource_development", "Resource Development"),
    ("TA0001", "initial_access", "Initial Access"),
    ("TA0002", "execution", "Execution"),
    ("TA0003", "persistence", "Persistence"),
    ("TA0004", "privilege_escalation", "Privilege Escalation"),
    ("TA0005", "defense_evasion", "Defense Evasion"),
    ("TA0006", "credential_access", "Credential Access"),
    ("TA0007", "discovery", "Discovery"),
    ("TA0008", "lateral_movement", "Lateral Movement"),
    ("TA0009", "collection", "Collection"),
    ("TA0011", "command_and_control", "Command and Control"),
    ("TA0010", "exfiltration", "Exfiltration"),
    ("TA0040", "impact", "Impact"),
    ("", "stealth", "Stealth"),
    ("", "defense_impairment", "Defense Impairment"),
];

/// The tactics a rule's tags name (`attack.persistence`, `attack.ta0003`, Panther `TA0003:T1098`).
pub fn tactics(tags: &[String]) -> Vec<&'static str> {
    let mut out = BTreeSet::new();
    for t in tags {
        let t = t.to_ascii_lowercase();
        let body = t.strip_prefix("attack.").unwrap_or(&t);
        for (id, name, display) in TACTICS {
            let id = id.to_ascii_lowercase();
            let by_id = !id.is_empty() && (body == id || body.starts_with(&format!("{id}:")));
            if body == name || body == name.replace('_', "-") || by_id {
                out.insert(display);
            }
        }
    }
    out.into_iter().collect()
}

/// One rule's line in the catalog.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub path: String,
    pub format: Format,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub level: String,
    pub tactics: Vec<&'static str>,
    pub actions: Vec<String>,
    /// Each indicator with the number of rules in the catalog that use the same field, kind and value.
    pub indicators: Vec<CountedIndicator>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CountedIndicator {
    pub field: String,
    pub kind: String,
    pub value: String,
    pub corpus: usize,
}

/// The whole catalog.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    pub rules: Vec<Entry>,
    /// `eventsource:eventname` (lowercase) → the rules that detect it.
    pub actions: BTreeMap<String, Vec<String>>,
    pub without_action: Vec<String>,
    pub by_level: BTreeMap<String, usize>,
    pub by_tactic: BTreeMap<String, usize>,
}

/// The key an indicator is counted under: values fold case unless the kind is case-sensitive.
fn key(i: &Indicator, v: &str) -> (String, String, String) {
    (i.field.clone(), i.kind.clone(), v.to_ascii_lowercase())
}

/// How the catalog lists a rule: its title and file.
fn rule_label(e: &Explanation) -> String {
    format!("{} ({})", e.title, e.path)
}

/// The actions a rule filters on: every eventSource × eventName its positive indicators name.
fn actions(e: &Explanation) -> Vec<String> {
    match &e.correlation {
        Some(c) => c.actions.clone(),
        None => actions_from(&e.indicators),
    }
}

/// The actions named by positive `eq` indicators on eventSource and eventName.
pub(crate) fn actions_from(indicators: &[Indicator]) -> Vec<String> {
    let vals = |field: &str| -> Vec<String> {
        indicators
            .iter()
            .filter(|i| i.field == field && i.kind == "eq" && !i.negated)
            .flat_map(|i| i.values.iter().map(|v| v.to_ascii_lowercase()))
            .collect()
    };
    let names = vals("eventName");
    if names.is_empty() {
        return vec![];
    }
    let mut sources = vals("eventSource");
    if sources.is_empty() {
        sources.push("*".into());
    }
    let mut out = BTreeSet::new();
    for s in &sources {
        for n in &names {
            out.insert(format!("{s}:{n}"));
        }
    }
    out.into_iter().collect()
}

/// A rule that filters on an eventName without naming its eventSource (`*:name`, as Panther rules
/// usually do) detects that call from whichever service makes it: it joins every group of the
/// same eventName with a known source. `*:name` stays a group of its own only when no rule names
/// a source for that call.
fn merge_any_source(actions: &mut BTreeMap<String, Vec<String>>) {
    let wildcard: Vec<(String, Vec<String>)> = actions
        .iter()
        .filter(|(k, _)| k.starts_with("*:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, rules) in wildcard {
        let name = &key[2..];
        let concrete: Vec<String> = actions
            .keys()
            .filter(|k| !k.starts_with("*:") && k.split_once(':').is_some_and(|(_, n)| n == name))
            .cloned()
            .collect();
        if concrete.is_empty() {
            continue;
        }
        for k in concrete {
            if let Some(v) = actions.get_mut(&k) {
                v.extend(rules.iter().cloned());
            }
        }
        actions.remove(&key);
    }
}

/// Build the catalog from (path, rule) pairs.
pub fn build(rules: &[(String, &Rule)]) -> Catalog {
    let views: Vec<Explanation> = rules.iter().map(|(p, r)| explain(r, p)).collect();
    let mut counts: BTreeMap<(String, String, String), BTreeSet<usize>> = BTreeMap::new();
    for (n, e) in views.iter().enumerate() {
        for i in e.indicators.iter().chain(&e.exclusions) {
            for v in &i.values {
                counts.entry(key(i, v)).or_default().insert(n);
            }
        }
    }
    let mut entries = Vec::new();
    let mut actions_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut without_action = Vec::new();
    let mut by_level: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_tactic: BTreeMap<String, usize> = BTreeMap::new();
    for ((_, rule), e) in rules.iter().zip(&views) {
        let acts = actions(e);
        if acts.is_empty() {
            without_action.push(rule_label(e));
        }
        for a in &acts {
            actions_map
                .entry(a.clone())
                .or_default()
                .push(rule_label(e));
        }
        let level = e.level.clone().unwrap_or_else(|| "unspecified".into());
        *by_level.entry(level.clone()).or_default() += 1;
        let tacts = tactics(&rule.meta.tags);
        for t in &tacts {
            *by_tactic.entry((*t).to_owned()).or_default() += 1;
        }
        let indicators = e
            .indicators
            .iter()
            .flat_map(|i| {
                let vals = if i.values.is_empty() {
                    vec![String::new()]
                } else {
                    i.values.clone()
                };
                vals.into_iter().map(move |v| (i, v))
            })
            .map(|(i, v)| CountedIndicator {
                field: i.field.clone(),
                kind: if i.negated {
                    format!("not {}", i.kind)
                } else {
                    i.kind.clone()
                },
                corpus: counts.get(&key(i, &v)).map_or(1, BTreeSet::len),
                value: v,
            })
            .collect();
        entries.push(Entry {
            path: e.path.clone(),
            format: e.format,
            title: e.title.clone(),
            id: e.id.clone(),
            level,
            tactics: tacts,
            actions: acts,
            indicators,
        });
    }
    merge_any_source(&mut actions_map);
    for v in actions_map.values_mut() {
        v.sort();
        v.dedup();
    }
    without_action.sort();
    Catalog {
        rules: entries,
        actions: actions_map,
        without_action,
        by_level,
        by_tactic,
    }
}

/// The catalog as a Markdown page. Rule text is escaped for Markdown (see [`super`]).
pub fn render_markdown(c: &Catalog) -> String {
    let mut s = String::from("# Detection catalog\n\n");
    s.push_str(&format!("{} rules.\n\n", c.rules.len()));
    s.push_str("## Totals by level\n\n| Level | Rules |\n|---|---|\n");
    for (l, n) in &c.by_level {
        s.push_str(&format!("| {} | {n} |\n", md_cell(l)));
    }
    s.push_str("\n## Totals by MITRE ATT&CK tactic\n\n| Tactic | Rules |\n|---|---|\n");
    for (t, n) in &c.by_tactic {
        s.push_str(&format!("| {t} | {n} |\n"));
    }
    s.push_str("\n## Rules detecting the same action\n\n| Action (eventSource:eventName) | Rules |\n|---|---|\n");
    for (a, rules) in &c.actions {
        s.push_str(&format!(
            "| {} | {} |\n",
            md_code(a, true),
            rules
                .iter()
                .map(|r| md_cell(r))
                .collect::<Vec<_>>()
                .join("<br>")
        ));
    }
    s.push_str("\n## Rules with no action filter\n\n");
    if c.without_action.is_empty() {
        s.push_str("(none)\n");
    }
    for r in &c.without_action {
        s.push_str(&format!("- {}\n", md_item(r)));
    }
    s.push_str("\n## Rules\n");
    for r in &c.rules {
        s.push_str(&format!(
            "\n### {}\n\n- format: {}\n- level: {}\n- source: {}\n",
            md_heading(&r.title),
            match r.format {
                Format::Sigma => "sigma",
                Format::Panther => "panther",
            },
            md_inline(&r.level),
            md_code(&r.path, false)
        ));
        if !r.tactics.is_empty() {
            s.push_str(&format!("- tactics: {}\n", r.tactics.join(", ")));
        }
        if !r.indicators.is_empty() {
            s.push_str("\n| Field | Kind | Value | Corpus |\n|---|---|---|---|\n");
            for i in &r.indicators {
                s.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    md_cell(&i.field),
                    md_cell(&i.kind),
                    md_cell(&i.value),
                    i.corpus
                ));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tactics_from_sigma_and_panther_tags() {
        let tags = vec![
            "attack.persistence".to_owned(),
            "attack.t1098".to_owned(),
            "TA0005:T1562".to_owned(),
        ];
        assert_eq!(tactics(&tags), vec!["Defense Evasion", "Persistence"]);
        assert_eq!(
            tactics(&[
                "attack.stealth".to_owned(),
                "attack.defense-impairment".to_owned()
            ]),
            vec!["Defense Impairment", "Stealth"]
        );
        assert_eq!(
            tactics(&["attack.privilege-escalation".to_owned()]),
            vec!["Privilege Escalation"]
        );
    }
}
