//! "Did you mean …?": the closest known name to a misspelled one (a modifier, a key, an option),
//! by edit distance, so a message can name the likely fix.

/// The candidate closest to `word` by edit distance (ASCII case ignored), when it is close
/// enough to be the likely intent: at most a third of the word's length, and at least one edit.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(&word, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// `; did you mean 'x'?` for a message, or nothing when no candidate is close.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates)
        .map(|c| format!("; did you mean '{c}'?"))
        .unwrap_or_default()
}

/// Levenshtein distance with adjacent transpositions counted as one edit (optimal string
/// alignment: `contians` is one edit from `contains`), over characters, keeping three rows.
/// Words longer than 64 characters are cut there: never close to a name, and the cost stays
/// small.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("sevrity", "severity"), 1);
        assert_eq!(distance("seevrity", "severity"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance(&"a".repeat(10_000), &"a".repeat(10_000)), 0);
    }

    #[test]
    fn near_misses_find_their_name() {
        let mods = ["contains", "startswith", "endswith", "re", "all"];
        assert_eq!(closest("endswit", mods), Some("endswith"));
        assert_eq!(closest("contians", mods), Some("contains"));
        assert_eq!(closest("StartsWith", mods), Some("startswith"));
        assert_eq!(closest("xyz", mods), None);
        assert_eq!(closest("contains", ["contains"]), Some("contains"));
        assert_eq!(
            did_you_mean("sevrity", ["Severity", "RuleID"]),
            "; did you mean 'Severity'?"
        );
        assert_eq!(did_you_mean("zzzz", ["Severity"]), "");
    }
}
