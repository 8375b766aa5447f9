//! Character edit distance and its similarity ratio.
//!
//! The distance is Levenshtein's (insertions, deletions and substitutions each cost 1) over
//! Unicode scalar values, not bytes or grapheme clusters: `"é"` written precomposed is one
//! character, written as `e` plus a combining accent it is two.

/// Levenshtein distance between `a` and `b`, in characters.
#[must_use]
pub fn edit_distance(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

/// `1 - distance / max(len_a, len_b)` with lengths in characters, so 1.0 for equal texts,
/// 0.0 when no character can be kept, and 1.0 for two empty strings (they are equal).
#[must_use]
pub fn edit_similarity(a: &str, b: &str) -> f64 {
    strsim::normalized_levenshtein(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_characters() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("café", "cafe"), 1);
        assert_eq!(edit_distance("日本語", "日本"), 1);
    }

    #[test]
    fn similarity_is_normalised_by_the_longer_text() {
        assert!((edit_similarity("kitten", "sitting") - (1.0 - 3.0 / 7.0)).abs() < 1e-15);
        assert!((edit_similarity("", "") - 1.0).abs() < f64::EPSILON);
        assert!(edit_similarity("abc", "").abs() < f64::EPSILON);
        assert!((edit_similarity("same", "same") - 1.0).abs() < f64::EPSILON);
        assert!(edit_similarity("ab", "cd").abs() < f64::EPSILON);
    }
}
