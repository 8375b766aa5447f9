//! SQuAD's answer comparison: the normalisation of the official evaluation script, exact
//! match and token-level F1 over normalised tokens.
//!
//! Normalisation lowercases, deletes ASCII punctuation (Python's `string.punctuation`),
//! replaces the words "a", "an" and "the" with a space, and splits on whitespace. A "word"
//! for the article rule is a maximal run of alphanumeric characters (the script's `\b` in a
//! Unicode regex); we use Rust's `char::is_alphanumeric`, which differs from Python's
//! `str.isalnum` only for rare combining marks.

use std::collections::HashMap;

use crate::unicode::py_split;

/// The normalised tokens of `text`.
#[must_use]
pub fn squad_normalize(text: &str) -> Vec<String> {
    let lowered = text.to_lowercase();
    let mut kept = String::with_capacity(lowered.len());
    let mut word = String::new();
    // Deleting punctuation first is what lets "the," count as an article below.
    for c in lowered.chars().filter(|c| !c.is_ascii_punctuation()) {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        flush_word(&mut kept, &mut word);
        kept.push(c);
    }
    flush_word(&mut kept, &mut word);
    py_split(&kept).map(str::to_owned).collect()
}

fn flush_word(kept: &mut String, word: &mut String) {
    if matches!(word.as_str(), "a" | "an" | "the") {
        kept.push(' ');
    } else {
        kept.push_str(word);
    }
    word.clear();
}

/// Whether the two answers are equal after normalisation.
#[must_use]
pub fn squad_exact_match(prediction: &str, ground_truth: &str) -> bool {
    squad_normalize(prediction) == squad_normalize(ground_truth)
}

/// Token F1 between the normalised answers: the harmonic mean of the precision and recall
/// of the multiset of common tokens.
///
/// When either side normalises to no tokens, the score is 1.0 if both do and 0.0 otherwise,
/// as in the SQuAD 2.0 script (the 1.1 script gave 0.0 to two empty answers, which
/// contradicts their exact match).
#[must_use]
pub fn token_f1(prediction: &str, ground_truth: &str) -> f64 {
    let prediction = squad_normalize(prediction);
    let ground_truth = squad_normalize(ground_truth);
    if prediction.is_empty() || ground_truth.is_empty() {
        return if prediction.is_empty() && ground_truth.is_empty() {
            1.0
        } else {
            0.0
        };
    }
    let mut truth_counts: HashMap<&str, usize> = HashMap::new();
    for token in &ground_truth {
        *truth_counts.entry(token).or_default() += 1;
    }
    let mut common = 0_usize;
    for token in &prediction {
        if let Some(count) = truth_counts.get_mut(token.as_str()).filter(|c| **c > 0) {
            *count -= 1;
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / prediction.len() as f64;
    let recall = common as f64 / ground_truth.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_follows_the_squad_script() {
        assert_eq!(squad_normalize("The  Eiffel-Tower!"), ["eiffeltower"]);
        assert_eq!(
            squad_normalize("a cat, an owl and THE dog."),
            ["cat", "owl", "and", "dog"]
        );
        // Articles only as whole words, also after punctuation is deleted.
        assert_eq!(
            squad_normalize("theory (the) anthem a."),
            ["theory", "anthem"]
        );
        assert_eq!(squad_normalize("Ünïcödé  Straße"), ["ünïcödé", "straße"]);
        assert!(squad_normalize("").is_empty());
        assert!(squad_normalize("?!... the").is_empty());
    }

    #[test]
    fn exact_match_ignores_case_articles_and_punctuation() {
        assert!(squad_exact_match("The Beatles!", "beatles"));
        assert!(!squad_exact_match("Beatles", "Rolling Stones"));
        assert!(squad_exact_match("", "the"));
    }

    #[test]
    fn token_f1_counts_common_tokens_once() {
        assert!((token_f1("the cat sat", "a cat sat down") - 0.8).abs() < 1e-12);
        // Repeated tokens are matched at most as often as they appear on the other side.
        let f1 = token_f1("cat cat cat", "cat dog");
        let (p, r) = (1.0 / 3.0, 1.0 / 2.0);
        assert!((f1 - 2.0 * p * r / (p + r)).abs() < 1e-12);
        assert!((token_f1("Paris", "paris.") - 1.0).abs() < f64::EPSILON);
        assert!(token_f1("London", "Paris").abs() < f64::EPSILON);
        assert!((token_f1("", "...") - 1.0).abs() < f64::EPSILON);
        assert!(token_f1("", "Paris").abs() < f64::EPSILON);
    }
}
