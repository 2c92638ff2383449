//! Tags: MITRE ATT&CK Enterprise (v18.1, `data/attack-enterprise-v18.1.tsv`, plus the newer
//! tactics `stealth` and `defense-impairment` that SigmaHQ already uses) and the other namespaces
//! of the Sigma tags specification: `tlp`, `cve`, `car`, `detection`, `d3fend`, `stp`.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::{Finding, Lint};
use crate::source::{SourceFile, Span};

/// The ATT&CK technique table: `id \t name \t tactics \t subtechnique \t revoked_or_deprecated`.
const TECHNIQUES_TSV: &str = include_str!("../../data/attack-enterprise-v18.1.tsv");

/// Tactics newer than the table (ATT&CK split Defense Evasion into these), already in SigmaHQ.
pub const NEWER_TACTICS: [&str; 2] = ["stealth", "defense-impairment"];

/// A technique of the table.
#[derive(Debug, Clone)]
pub struct Technique {
    pub name: String,
    pub deprecated: bool,
}

/// The table, read once: techniques by lowercase id (`t1078.004`), and the tactic short names.
struct Attack {
    techniques: HashMap<String, Technique>,
    tactics: Vec<String>,
    /// The highest technique number in the table (`T1681` → 1681).
    newest: u32,
}

fn attack() -> &'static Attack {
    static TABLE: OnceLock<Attack> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut techniques = HashMap::new();
        let mut newest = 0;
        let mut tactics: Vec<String> = NEWER_TACTICS.iter().map(|t| (*t).to_owned()).collect();
        for line in TECHNIQUES_TSV.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let [id, name, tacts, _sub, dep] = cols.as_slice() else {
                continue;
            };
            if let Some(n) = id.get(1..5).and_then(|n| n.parse::<u32>().ok()) {
                newest = newest.max(n);
            }
            for t in tacts.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                if !tactics.iter().any(|x| x == t) {
                    tactics.push(t.to_owned());
                }
            }
            techniques.insert(
                id.to_ascii_lowercase(),
                Technique {
                    name: (*name).to_owned(),
                    deprecated: *dep == "yes",
                },
            );
        }
        tactics.sort();
        Attack {
            techniques,
            tactics,
            newest,
        }
    })
}

/// The technique with this id (`T1078.004`, any case).
pub fn technique(id: &str) -> Option<&'static Technique> {
    attack().techniques.get(&id.to_ascii_lowercase())
}

/// Is `t1685` (or `t1685.002`) numbered past the table's newest technique? ATT&CK numbers
/// techniques in order, so such a tag names a technique newer than v18.1 (SigmaHQ tags the
/// techniques of the Defense Evasion split already): it cannot be checked and is accepted.
pub fn newer_than_table(id: &str) -> bool {
    id.get(1..5)
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| n > attack().newest)
}

/// Is this a tactic short name (`privilege-escalation`; `privilege_escalation` too)?
pub fn is_tactic(name: &str) -> bool {
    let name = name.replace('_', "-");
    attack().tactics.contains(&name)
}

/// Every tactic short name, sorted.
pub fn tactics() -> &'static [String] {
    &attack().tactics
}

/// `prefix` followed by exactly `n` ASCII digits.
fn digits_after(s: &str, prefix: &str, n: usize) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|d| d.len() == n && d.bytes().all(|b| b.is_ascii_digit()))
}

/// The tactic ids (`ta0003`) tags may name.
const TACTIC_IDS: [&str; 14] = [
    "ta0001", "ta0002", "ta0003", "ta0004", "ta0005", "ta0006", "ta0007", "ta0008", "ta0009",
    "ta0010", "ta0011", "ta0040", "ta0042", "ta0043",
];

/// Lint one tag at `span`.
pub fn lint_tag(file: &SourceFile, span: Span, tag: &str, out: &mut Vec<Finding>) {
    let mut push = |lint: Lint, message: String, fix: String| {
        out.push(Finding::new(lint, file, span, message, fix));
    };
    let well_formed = tag.split_once('.').is_some_and(|(ns, v)| {
        !ns.is_empty()
            && !v.is_empty()
            && ns
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            && v.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
            })
    });
    if !well_formed {
        let lower = tag.to_ascii_lowercase();
        let fix = if lower != tag && lower.contains('.') {
            format!("write tags in lower case: `{lower}`")
        } else {
            "write the tag as namespace.value in lower case (`attack.t1078`)".to_owned()
        };
        push(
            Lint::UnknownTag,
            format!("tag '{tag}' is not of the form namespace.value (lower case, digits, `_`, `-`, `.`)"),
            fix,
        );
        return;
    }
    let Some((ns, value)) = tag.split_once('.') else {
        return;
    };
    match ns {
        "attack" => lint_attack(value, tag, &mut push),
        "tlp" => {
            if !["clear", "white", "green", "amber", "amber-strict", "red"].contains(&value) {
                push(
                    Lint::NamespaceTag,
                    format!("tag '{tag}' is not a TLP level"),
                    "use tlp.clear, tlp.green, tlp.amber, tlp.amber-strict or tlp.red".into(),
                );
            }
        }
        "cve" => {
            let ok = value.split_once('-').is_some_and(|(y, n)| {
                y.len() == 4
                    && y.bytes().all(|b| b.is_ascii_digit())
                    && n.len() >= 4
                    && n.bytes().all(|b| b.is_ascii_digit())
            });
            if !ok {
                push(
                    Lint::NamespaceTag,
                    format!("tag '{tag}' is not a CVE id"),
                    "write cve.YYYY-NNNN (`cve.2021-44228`)".into(),
                );
            }
        }
        "car" => {
            let parts: Vec<&str> = value.split('-').collect();
            let ok = matches!(parts.as_slice(), [y, m, n]
                if y.len() == 4 && m.len() == 2 && n.len() == 3
                    && [y, m, n].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())));
            if !ok {
                push(
                    Lint::NamespaceTag,
                    format!("tag '{tag}' is not a MITRE CAR analytic id"),
                    "write car.YYYY-MM-NNN (`car.2016-04-005`)".into(),
                );
            }
        }
        "detection" => {
            if !["dfir", "emerging-threats", "threat-hunting"].contains(&value) {
                push(
                    Lint::NamespaceTag,
                    format!("tag '{tag}' is not a Sigma detection type"),
                    "use detection.dfir, detection.emerging-threats or detection.threat-hunting"
                        .into(),
                );
            }
        }
        "d3fend" | "stp" => {}
        _ => push(
            Lint::UnknownTag,
            format!("tag namespace '{ns}' is not one the Sigma tags specification defines"),
            "use attack, car, cve, d3fend, detection, stp or tlp, or drop the tag".into(),
        ),
    }
}

/// `attack.<value>`: a tactic, a technique of the table, a tactic id, a group or software id.
fn lint_attack(value: &str, tag: &str, push: &mut impl FnMut(Lint, String, String)) {
    if is_tactic(value) || TACTIC_IDS.contains(&value) {
        return;
    }
    if digits_after(value, "g", 4) || digits_after(value, "s", 4) {
        return;
    }
    let (base, sub) = value.split_once('.').unwrap_or((value, ""));
    let technique_shaped = digits_after(base, "t", 4) && (sub.is_empty() || sub.len() == 3);
    if technique_shaped {
        match technique(value) {
            Some(t) if t.deprecated => push(
                Lint::AttackDeprecated,
                format!(
                    "tag '{tag}' names '{}', revoked or deprecated in ATT&CK v18.1",
                    t.name
                ),
                "tag the technique that replaced it".into(),
            ),
            Some(_) => {}
            None if newer_than_table(value) => {}
            None => push(
                Lint::AttackTag,
                format!("tag '{tag}' names no ATT&CK Enterprise v18.1 technique"),
                "check the technique id on attack.mitre.org".into(),
            ),
        }
        return;
    }
    let suggestion = super::did_you_mean(
        value,
        &tactics().iter().map(String::as_str).collect::<Vec<_>>(),
    );
    push(
        Lint::AttackTag,
        format!("tag '{tag}' names no ATT&CK tactic or technique"),
        match suggestion {
            Some(s) => format!("did you mean `attack.{s}`?"),
            None => {
                "use a tactic (`attack.persistence`) or a technique (`attack.t1078.004`)".into()
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(tag: &str) -> Vec<&'static str> {
        let file = SourceFile::new("r.yml", "tags: []\n");
        let mut out = Vec::new();
        lint_tag(&file, Span::at(0), tag, &mut out);
        out.iter().map(|f| f.code).collect()
    }

    #[test]
    fn tags() {
        for ok in [
            "attack.persistence",
            "attack.privilege_escalation",
            "attack.stealth",
            "attack.defense-impairment",
            "attack.t1078",
            "attack.t1078.004",
            "attack.g0016",
            "attack.ta0003",
            "tlp.amber-strict",
            "cve.2021-44228",
            "car.2016-04-005",
            "detection.threat-hunting",
        ] {
            assert_eq!(codes(ok), Vec::<&str>::new(), "{ok}");
        }
        assert_eq!(codes("attack.t1000"), ["C109"]);
        assert_eq!(codes("attack.t1078.999"), ["C109"]);
        assert_eq!(codes("attack.t1685.002"), Vec::<&str>::new());
        assert_eq!(codes("attack.persistance"), ["C109"]);
        assert_eq!(codes("attack.t1002"), ["C110"]);
        assert_eq!(codes("tlp.purple"), ["C111"]);
        assert_eq!(codes("cve.2021"), ["C111"]);
        assert_eq!(codes("detection.hunting"), ["C111"]);
        assert_eq!(codes("foo.bar"), ["C112"]);
        assert_eq!(codes("attack.T1078"), ["C112"]);
        assert!(technique("T1078.004").is_some_and(|t| !t.deprecated));
        assert!(tactics().len() >= 16);
    }
}
