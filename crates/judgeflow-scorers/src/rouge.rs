//! ROUGE-N, ROUGE-L and ROUGE-Lsum, equal to the `rouge-score` Python package 0.1.2 with
//! its default tokenizer and `use_stemmer=False`.
//!
//! Tokenization: the text is lowercased (Unicode lowercase, as `str.lower()`), every
//! character outside `[a-z0-9]` separates tokens, and the tokens are the non-empty runs
//! between. So `"Don't"` is `["don", "t"]`, and non-ASCII letters are separators (`"café"`
//! is `["caf"]`), except the two characters whose lowercase is ASCII (`İ` to `i̇`, and the
//! Kelvin sign to `k`). The package's optional Porter stemmer is not implemented.
//!
//! Scores follow the package's argument names: `target` is the reference text and
//! `prediction` the text being scored; precision is relative to the prediction, recall to
//! the target, and `fmeasure` is their harmonic mean (0.0 when both are 0).
//!
//! Speed: tokens are interned to integers once per pair, n-grams are counted in dense
//! arrays, and ROUGE-L's LCS length is computed bit-parallel, 64 cells of the DP table per
//! word operation (only ROUGE-Lsum, which reads one LCS back, builds whole tables).

use crate::intern::{Interner, overlap};

/// Precision, recall and F-measure, each in `[0, 1]`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RougeScore {
    pub precision: f64,
    pub recall: f64,
    pub fmeasure: f64,
}

impl RougeScore {
    fn new(precision: f64, recall: f64) -> Self {
        Self {
            precision,
            recall,
            fmeasure: fmeasure(precision, recall),
        }
    }
}

/// The package's `fmeasure`, with its operation order so the values are bit-identical.
fn fmeasure(precision: f64, recall: f64) -> f64 {
    if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

/// ROUGE-1, ROUGE-2 and ROUGE-L of one pair, from a single tokenization.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RougeScores {
    pub rouge1: RougeScore,
    pub rouge2: RougeScore,
    pub rouge_l: RougeScore,
}

/// A reusable ROUGE scorer: keep one per worker thread and call it for every row, so the
/// token buffers and tables are allocated once.
#[derive(Default)]
pub struct Rouge {
    interner: Interner,
    token: Vec<u8>,
    target: Vec<u32>,
    prediction: Vec<u32>,
    target_ngrams: Vec<u32>,
    prediction_ngrams: Vec<u32>,
    counts: Vec<u32>,
    lcs: LcsBits,
    lsum: LsumBuffers,
}

/// Buffers of ROUGE-Lsum, which needs whole LCS tables to read back one LCS per sentence.
#[derive(Default)]
struct LsumBuffers {
    target_tokens: Vec<u32>,
    target_sentences: Vec<(usize, usize)>,
    prediction_tokens: Vec<u32>,
    prediction_sentences: Vec<(usize, usize)>,
    table: Vec<u32>,
    union: Vec<bool>,
    target_counts: Vec<u32>,
    prediction_counts: Vec<u32>,
}

impl Rouge {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// ROUGE-N: overlap of the n-gram multisets. `rouge_n(1, …)` is ROUGE-1.
    ///
    /// # Panics
    /// If `n` is 0 (the package raises `ValueError`).
    pub fn rouge_n(&mut self, n: usize, target: &str, prediction: &str) -> RougeScore {
        assert!(n > 0, "ROUGE-N needs n >= 1");
        self.tokenize_pair(target, prediction);
        self.ngram_score(n)
    }

    /// ROUGE-L: the longest common subsequence of the two token sequences.
    pub fn rouge_l(&mut self, target: &str, prediction: &str) -> RougeScore {
        self.tokenize_pair(target, prediction);
        self.lcs_score()
    }

    /// ROUGE-1, ROUGE-2 and ROUGE-L together, tokenizing once.
    pub fn score(&mut self, target: &str, prediction: &str) -> RougeScores {
        self.tokenize_pair(target, prediction);
        RougeScores {
            rouge1: self.ngram_score(1),
            rouge2: self.ngram_score(2),
            rouge_l: self.lcs_score(),
        }
    }

    /// ROUGE-Lsum: summary-level LCS over sentences, which are the non-empty lines of each
    /// text (the package's default, `split_summaries=False`). For each target sentence the
    /// union of its LCS with every prediction sentence counts as hits, each token at most
    /// as often as it occurs on both sides.
    pub fn rouge_lsum(&mut self, target: &str, prediction: &str) -> RougeScore {
        self.interner.clear();
        let b = &mut self.lsum;
        split_sentences(
            &mut self.interner,
            &mut self.token,
            target,
            &mut b.target_tokens,
            &mut b.target_sentences,
        );
        split_sentences(
            &mut self.interner,
            &mut self.token,
            prediction,
            &mut b.prediction_tokens,
            &mut b.prediction_sentences,
        );
        let m = b.target_tokens.len();
        let n = b.prediction_tokens.len();
        if m == 0 || n == 0 {
            // Also covers "no sentences at all", which the package checks separately.
            return RougeScore::default();
        }

        let ids = self.interner.len();
        for counts in [&mut b.target_counts, &mut b.prediction_counts] {
            counts.clear();
            counts.resize(ids, 0);
        }
        for &t in &b.target_tokens {
            b.target_counts[t as usize] += 1;
        }
        for &t in &b.prediction_tokens {
            b.prediction_counts[t as usize] += 1;
        }

        let mut hits = 0_usize;
        for &(start, end) in &b.target_sentences {
            let sentence = &b.target_tokens[start..end];
            b.union.clear();
            b.union.resize(sentence.len(), false);
            for &(p_start, p_end) in &b.prediction_sentences {
                mark_lcs(
                    sentence,
                    &b.prediction_tokens[p_start..p_end],
                    &mut b.table,
                    &mut b.union,
                );
            }
            // The union is read in target order, as the package sorts its index set.
            for (&token, _) in sentence.iter().zip(&b.union).filter(|(_, in_lcs)| **in_lcs) {
                let token = token as usize;
                if b.prediction_counts[token] > 0 && b.target_counts[token] > 0 {
                    hits += 1;
                    b.prediction_counts[token] -= 1;
                    b.target_counts[token] -= 1;
                }
            }
        }
        RougeScore::new(hits as f64 / n as f64, hits as f64 / m as f64)
    }

    fn tokenize_pair(&mut self, target: &str, prediction: &str) {
        self.interner.clear();
        self.target.clear();
        self.prediction.clear();
        tokenize_into(
            &mut self.interner,
            &mut self.token,
            target,
            &mut self.target,
        );
        tokenize_into(
            &mut self.interner,
            &mut self.token,
            prediction,
            &mut self.prediction,
        );
    }

    fn ngram_score(&mut self, n: usize) -> RougeScore {
        ngrams_into(&mut self.interner, &self.target, n, &mut self.target_ngrams);
        ngrams_into(
            &mut self.interner,
            &self.prediction,
            n,
            &mut self.prediction_ngrams,
        );
        self.counts.clear();
        self.counts.resize(self.interner.len(), 0);
        let matched = overlap(
            &self.target_ngrams,
            &self.prediction_ngrams,
            &mut self.counts,
        );
        // The package divides by max(count, 1), so an empty side scores 0, not NaN.
        let precision = matched as f64 / self.prediction_ngrams.len().max(1) as f64;
        let recall = matched as f64 / self.target_ngrams.len().max(1) as f64;
        RougeScore::new(precision, recall)
    }

    fn lcs_score(&mut self) -> RougeScore {
        if self.target.is_empty() || self.prediction.is_empty() {
            return RougeScore::default();
        }
        let ids = self.interner.len();
        let lcs = lcs_length(&self.target, &self.prediction, ids, &mut self.lcs) as f64;
        RougeScore::new(
            lcs / self.prediction.len() as f64,
            lcs / self.target.len() as f64,
        )
    }
}

/// ROUGE-N of one pair; see [`Rouge::rouge_n`].
///
/// # Panics
/// If `n` is 0.
#[must_use]
pub fn rouge_n(n: usize, target: &str, prediction: &str) -> RougeScore {
    Rouge::new().rouge_n(n, target, prediction)
}

/// ROUGE-L of one pair; see [`Rouge::rouge_l`].
#[must_use]
pub fn rouge_l(target: &str, prediction: &str) -> RougeScore {
    Rouge::new().rouge_l(target, prediction)
}

/// ROUGE-Lsum of one pair; see [`Rouge::rouge_lsum`].
#[must_use]
pub fn rouge_lsum(target: &str, prediction: &str) -> RougeScore {
    Rouge::new().rouge_lsum(target, prediction)
}

/// Appends the token ids of `text` to `out` (the package's `tokenize.tokenize`).
fn tokenize_into(interner: &mut Interner, token: &mut Vec<u8>, text: &str, out: &mut Vec<u32>) {
    token.clear();
    let mut flush = |token: &mut Vec<u8>| {
        if !token.is_empty() {
            out.push(interner.token(token));
            token.clear();
        }
    };
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte.is_ascii() {
            if byte.is_ascii_alphanumeric() {
                token.push(byte.to_ascii_lowercase());
            } else {
                flush(token);
            }
            i += 1;
            continue;
        }
        // A non-ASCII character separates tokens, except the two whose lowercase has an
        // ASCII letter (`ascii_lowercases_are_exactly_two` checks that there are no others):
        // U+0130 lowercases to "i" + U+0307 (a separator), U+212A (Kelvin) to "k".
        let width = match byte {
            0xf0.. => 4,
            0xe0.. => 3,
            _ => 2,
        };
        match bytes[i..i + width] {
            [0xc4, 0xb0] => {
                token.push(b'i');
                flush(token);
            }
            [0xe2, 0x84, 0xaa] => token.push(b'k'),
            _ => flush(token),
        }
        i += width;
    }
    flush(token);
}

/// The non-empty lines of `text`, tokenized, as ranges into `tokens`.
fn split_sentences(
    interner: &mut Interner,
    token: &mut Vec<u8>,
    text: &str,
    tokens: &mut Vec<u32>,
    sentences: &mut Vec<(usize, usize)>,
) {
    tokens.clear();
    sentences.clear();
    let mut sentence = Vec::new();
    for line in text.split('\n').filter(|line| !line.is_empty()) {
        sentence.clear();
        tokenize_into(interner, token, line, &mut sentence);
        let start = tokens.len();
        tokens.extend_from_slice(&sentence);
        sentences.push((start, tokens.len()));
    }
}

/// The ids of the n-grams of `tokens`, one per starting position.
fn ngrams_into(interner: &mut Interner, tokens: &[u32], n: usize, out: &mut Vec<u32>) {
    out.clear();
    out.extend_from_slice(tokens);
    for order in 1..n {
        interner.extend_ngrams(out, tokens, order);
    }
    out.truncate((tokens.len() + 1).saturating_sub(n));
}

/// Length of the longest common subsequence, bit-parallel (Hyyrö's formulation of the
/// Allison-Dix algorithm): one bit per position of `a`, one pass of word operations per
/// token of `b`, so 64 DP cells per instruction instead of one. `ids` bounds the token ids.
fn lcs_length(a: &[u32], b: &[u32], ids: usize, bits: &mut LcsBits) -> usize {
    let words = a.len().div_ceil(64);
    let LcsBits { masks, row } = bits;
    // masks[id * words ..][w]: where token `id` occurs in `a`.
    masks.clear();
    masks.resize(ids * words, 0);
    for (i, &x) in a.iter().enumerate() {
        masks[x as usize * words + i / 64] |= 1 << (i % 64);
    }
    // A zero bit in `row` marks a position of `a` that is the end of a match on the LCS so
    // far; all ones is the empty prefix of `b`.
    row.clear();
    row.resize(words, u64::MAX);
    for &y in b {
        let mask = &masks[y as usize * words..(y as usize + 1) * words];
        let mut carry = false;
        for (v, &m) in row.iter_mut().zip(mask) {
            let u = *v & m;
            let (sum, c1) = v.overflowing_add(u);
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            carry = c1 || c2;
            *v = sum | (*v & !m);
        }
    }
    let tail = a.len() % 64;
    row.iter()
        .enumerate()
        .map(|(w, &v)| {
            let valid = if w + 1 == words && tail != 0 {
                (1_u64 << tail) - 1
            } else {
                u64::MAX
            };
            (!v & valid).count_ones() as usize
        })
        .sum()
}

/// Buffers of [`lcs_length`].
#[derive(Default)]
struct LcsBits {
    masks: Vec<u64>,
    row: Vec<u64>,
}

/// Marks in `union` the positions of `reference` on the LCS with `candidate` that the
/// package's backtrack picks (its tie-break decides which positions, so it is followed
/// exactly: on a mismatch, step left only when the left cell is strictly larger).
fn mark_lcs(reference: &[u32], candidate: &[u32], table: &mut Vec<u32>, union: &mut [bool]) {
    let rows = reference.len();
    let cols = candidate.len();
    let width = cols + 1;
    table.clear();
    table.resize((rows + 1) * width, 0);
    for i in 1..=rows {
        for j in 1..=cols {
            table[i * width + j] = if reference[i - 1] == candidate[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let (mut i, mut j) = (rows, cols);
    while i > 0 && j > 0 {
        if reference[i - 1] == candidate[j - 1] {
            union[i - 1] = true;
            i -= 1;
            j -= 1;
        } else if table[i * width + j - 1] > table[(i - 1) * width + j] {
            j -= 1;
        } else {
            i -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut interner = Interner::default();
        let mut ids = Vec::new();
        tokenize_into(&mut interner, &mut Vec::new(), text, &mut ids);
        ids.iter()
            .map(|&id| String::from_utf8(interner.token_bytes(id)).unwrap())
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn tokenizer_keeps_ascii_alphanumeric_runs() {
        assert_eq!(
            tokens("Don't STOP-me now, 42x!"),
            ["don", "t", "stop", "me", "now", "42x"]
        );
        assert!(tokens("").is_empty());
        assert!(tokens("?!… —").is_empty());
    }

    #[test]
    fn tokenizer_treats_non_ascii_as_separators_except_ascii_lowercases() {
        assert_eq!(tokens("Café naïve"), ["caf", "na", "ve"]);
        // U+0130 lowercases to "i" + U+0307, the Kelvin sign to "k".
        assert_eq!(tokens("\u{130}x \u{212a}M km"), ["i", "x", "km", "km"]);
        assert!(tokens("日本語 ελληνικά").is_empty());
    }

    #[test]
    fn rouge_n_counts_clipped_overlap() {
        let s = rouge_n(1, "the cat sat on the mat", "the cat the the");
        // Overlap: "the" twice (target has two), "cat" once: 3 of 4 predicted, 3 of 6 target.
        assert!(close(s.precision, 0.75) && close(s.recall, 0.5));
        assert!(close(s.fmeasure, 0.6));
        let s = rouge_n(2, "the cat sat", "the cat ran");
        assert!(close(s.precision, 0.5) && close(s.recall, 0.5));
        // One token has no bigrams: zeros, never NaN.
        assert_eq!(rouge_n(2, "word", "word"), RougeScore::default());
    }

    #[test]
    fn rouge_l_uses_the_longest_common_subsequence() {
        let s = rouge_l("police killed the gunman", "police kill the gunman");
        assert!(close(s.precision, 0.75) && close(s.recall, 0.75));
        let s = rouge_l("a b c d e", "e d c b a x");
        assert!(close(s.precision, 1.0 / 6.0) && close(s.recall, 0.2));
        assert_eq!(rouge_l("", "anything"), RougeScore::default());
        assert_eq!(rouge_l("...", "!!!"), RougeScore::default());
        let same = rouge_l("Same text, twice.", "same TEXT twice");
        assert!(close(same.fmeasure, 1.0));
    }

    #[test]
    fn score_bundles_one_tokenization() {
        let mut rouge = Rouge::new();
        let all = rouge.score("the quick brown fox", "the quick red fox");
        assert_eq!(
            all.rouge1,
            rouge.rouge_n(1, "the quick brown fox", "the quick red fox")
        );
        assert_eq!(
            all.rouge2,
            rouge.rouge_n(2, "the quick brown fox", "the quick red fox")
        );
        assert_eq!(
            all.rouge_l,
            rouge.rouge_l("the quick brown fox", "the quick red fox")
        );
    }

    #[test]
    fn rouge_lsum_takes_the_union_over_sentences() {
        // The example of the ROUGE paper (section 3.2): union LCS of r with c1 and c2.
        let s = rouge_lsum("w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5");
        assert!(close(s.recall, 0.8) && close(s.precision, 0.4));
        // Single lines: equal to ROUGE-L.
        let a = "one two three four";
        let b = "one three two four";
        assert_eq!(rouge_lsum(a, b), rouge_l(a, b));
        assert_eq!(rouge_lsum("\n\n", "a"), RougeScore::default());
    }

    #[test]
    fn bit_parallel_lcs_equals_the_dp_table() {
        // Deterministic pseudo-random sequences over small alphabets, across the 64-bit
        // word boundary, against the full DP table that ROUGE-Lsum uses.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |bound: u32| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % u64::from(bound)) as u32
        };
        let mut bits = LcsBits::default();
        let mut table = Vec::new();
        for case in 0..400 {
            let alphabet = 2 + case % 7;
            let a: Vec<u32> = (0..next(150)).map(|_| next(alphabet)).collect();
            let b: Vec<u32> = (0..next(150)).map(|_| next(alphabet)).collect();
            let mut union = vec![false; a.len()];
            mark_lcs(&a, &b, &mut table, &mut union);
            let expected = table[a.len() * (b.len() + 1) + b.len()] as usize;
            let ids = alphabet as usize;
            assert_eq!(lcs_length(&a, &b, ids, &mut bits), expected, "{a:?} {b:?}");
            assert_eq!(lcs_length(&b, &a, ids, &mut bits), expected);
        }
    }

    #[test]
    fn ascii_lowercases_are_exactly_two() {
        // The tokenizer's fast path relies on this: no other non-ASCII character has an
        // ASCII letter or digit in its lowercase.
        let found: Vec<(char, String)> = (0x80..=0x10_ffff_u32)
            .filter_map(char::from_u32)
            .filter(|c| c.to_lowercase().any(|l| l.is_ascii_alphanumeric()))
            .map(|c| (c, c.to_lowercase().collect()))
            .collect();
        assert_eq!(
            found,
            [
                ('\u{130}', "i\u{307}".to_owned()),
                ('\u{212a}', "k".to_owned())
            ]
        );
    }
}
