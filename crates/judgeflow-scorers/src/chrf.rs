//! chrF and chrF++, equal to `sacrebleu` 2.6.0's `sentence_chrf` (and `CHRF.sentence_score`).
//!
//! Defaults are sacrebleu's: character n-grams of orders 1 to 6 with whitespace removed,
//! no word n-grams (`word_order = 2` gives chrF++), beta 2, case-sensitive, and the
//! "effective order" averaging of sacrebleu 2 (`eps_smoothing = false`): precision and
//! recall are averaged over the orders both texts have n-grams of, then combined into one
//! F-beta. With several references the one with the best score is kept.
//!
//! The score is sacrebleu's divided by 100, in `[0, 1]`.

use crate::error::ScorerError;
use crate::intern::{Interner, overlap};
use crate::unicode::{is_py_whitespace, py_split};

/// Options of [`Chrf`]; the default is sacrebleu's `sentence_chrf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChrfOptions {
    /// Character n-gram orders 1 to `char_order`.
    pub char_order: usize,
    /// Word n-gram orders 1 to `word_order` (2 for chrF++).
    pub word_order: usize,
    /// Recall counts `beta` times as much as precision.
    pub beta: u32,
    pub lowercase: bool,
    /// Keep whitespace characters in the character n-grams (sacrebleu's `whitespace`).
    pub whitespace: bool,
    /// chrF++.py's smoothing: average the F-scores of all orders, an order without n-grams
    /// counting as 1e-16.
    pub eps_smoothing: bool,
}

impl Default for ChrfOptions {
    fn default() -> Self {
        Self {
            char_order: 6,
            word_order: 0,
            beta: 2,
            lowercase: false,
            whitespace: false,
            eps_smoothing: false,
        }
    }
}

impl ChrfOptions {
    /// chrF++: the defaults plus word unigrams and bigrams.
    #[must_use]
    pub fn chrf_plus_plus() -> Self {
        Self {
            word_order: 2,
            ..Self::default()
        }
    }
}

/// A chrF score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChrfScore {
    /// In `[0, 1]`: sacrebleu's `score / 100`.
    pub score: f64,
}

/// The n-grams of one text: ids of every order back to back, with each order's range.
#[derive(Default)]
struct TextNgrams {
    ids: Vec<u32>,
    orders: Vec<(usize, usize)>,
}

impl TextNgrams {
    fn order(&self, order: usize) -> &[u32] {
        let (start, end) = self.orders[order];
        &self.ids[start..end]
    }
}

/// A reusable chrF scorer: keep one per worker thread so buffers are allocated once.
pub struct Chrf {
    options: ChrfOptions,
    interner: Interner,
    items: Vec<u32>,
    order_ids: Vec<u32>,
    hypothesis: TextNgrams,
    reference: TextNgrams,
    stats: Vec<[usize; 3]>,
    counts: Vec<u32>,
}

impl Chrf {
    pub fn new(options: ChrfOptions) -> Result<Self, ScorerError> {
        if options.char_order + options.word_order == 0 {
            return Err(ScorerError::InvalidOption {
                metric: "chrF",
                message: "char_order + word_order must be at least 1".into(),
            });
        }
        Ok(Self {
            options,
            interner: Interner::default(),
            items: Vec::new(),
            order_ids: Vec::new(),
            hypothesis: TextNgrams::default(),
            reference: TextNgrams::default(),
            stats: Vec::new(),
            counts: Vec::new(),
        })
    }

    /// chrF of `hypothesis` against one or more `references`.
    pub fn sentence_score<R: AsRef<str>>(
        &mut self,
        hypothesis: &str,
        references: &[R],
    ) -> Result<ChrfScore, ScorerError> {
        if references.is_empty() {
            return Err(ScorerError::NoReferences { metric: "chrF" });
        }
        self.interner.clear();
        let mut hyp = std::mem::take(&mut self.hypothesis);
        self.text_ngrams(hypothesis, &mut hyp);
        let mut best = -1.0_f64;
        for reference in references {
            let mut reference_ngrams = std::mem::take(&mut self.reference);
            self.text_ngrams(reference.as_ref(), &mut reference_ngrams);
            self.counts.clear();
            self.counts.resize(self.interner.len(), 0);
            self.stats.clear();
            for order in 0..hyp.orders.len() {
                let (h, r) = (hyp.order(order), reference_ngrams.order(order));
                let matched = overlap(r, h, &mut self.counts);
                // sacrebleu counts no hypothesis n-grams for an order the reference lacks.
                let hyp_count = if r.is_empty() { 0 } else { h.len() };
                self.stats.push([hyp_count, r.len(), matched]);
            }
            self.reference = reference_ngrams;
            // The first reference always wins over the initial -1, later ones only if
            // strictly better.
            let f = f_score(&self.stats, &self.options);
            if f > best {
                best = f;
            }
        }
        self.hypothesis = hyp;
        Ok(ChrfScore {
            score: best / 100.0,
        })
    }

    /// Fills `out` with the character n-grams (orders 1 to `char_order`) and then the word
    /// n-grams (orders 1 to `word_order`) of `text`.
    fn text_ngrams(&mut self, text: &str, out: &mut TextNgrams) {
        let lowered;
        let text = if self.options.lowercase {
            lowered = text.to_lowercase();
            lowered.as_str()
        } else {
            text
        };
        out.ids.clear();
        out.orders.clear();

        self.items.clear();
        for c in text.chars() {
            if self.options.whitespace || !is_py_whitespace(c) {
                self.items.push(self.interner.char(c));
            }
        }
        self.push_orders(self.options.char_order, out);

        if self.options.word_order > 0 {
            self.items.clear();
            for word in py_split(text) {
                for piece in split_punctuation(word).into_iter().flatten() {
                    self.items.push(self.interner.token(piece.as_bytes()));
                }
            }
            self.push_orders(self.options.word_order, out);
        }
    }

    /// Appends the n-grams of `self.items` of orders 1 to `max_order` to `out`.
    fn push_orders(&mut self, max_order: usize, out: &mut TextNgrams) {
        self.order_ids.clear();
        self.order_ids.extend_from_slice(&self.items);
        for order in 1..=max_order {
            if order > 1 {
                self.interner
                    .extend_ngrams(&mut self.order_ids, &self.items, order - 1);
            }
            let start = out.ids.len();
            out.ids.extend_from_slice(&self.order_ids);
            out.orders.push((start, out.ids.len()));
        }
    }
}

/// chrF of one hypothesis with sacrebleu's `sentence_chrf` defaults; see [`Chrf`].
pub fn sentence_chrf<R: AsRef<str>>(
    hypothesis: &str,
    references: &[R],
) -> Result<ChrfScore, ScorerError> {
    Chrf::new(ChrfOptions::default())?.sentence_score(hypothesis, references)
}

/// sacrebleu's word split for chrF++: a word of two or more characters sheds one ASCII
/// punctuation mark at its end or, failing that, at its start (`"(hi)"` becomes `"(hi"` and
/// `")"`, as sacrebleu documents).
fn split_punctuation(word: &str) -> [Option<&str>; 2] {
    let mut chars = word.chars();
    let (Some(first), Some(last)) = (chars.next(), chars.next_back()) else {
        return [Some(word), None];
    };
    if last.is_ascii_punctuation() {
        let cut = word.len() - last.len_utf8();
        [Some(&word[..cut]), Some(&word[cut..])]
    } else if first.is_ascii_punctuation() {
        let cut = first.len_utf8();
        [Some(&word[..cut]), Some(&word[cut..])]
    } else {
        [Some(word), None]
    }
}

/// sacrebleu's `CHRF._compute_f_score` (times 100), in its operation order.
fn f_score(stats: &[[usize; 3]], options: &ChrfOptions) -> f64 {
    const EPS: f64 = 1e-16;
    let factor = f64::from(options.beta) * f64::from(options.beta);
    let mut eps_score = 0.0;
    let mut mean_precision = 0.0;
    let mut mean_recall = 0.0;
    let mut effective_order = 0_usize;
    for &[n_hyp, n_ref, n_match] in stats {
        let prec = if n_hyp > 0 {
            n_match as f64 / n_hyp as f64
        } else {
            EPS
        };
        let rec = if n_ref > 0 {
            n_match as f64 / n_ref as f64
        } else {
            EPS
        };
        let denom = factor * prec + rec;
        eps_score += if denom > 0.0 {
            (1.0 + factor) * prec * rec / denom
        } else {
            EPS
        };
        if n_hyp > 0 && n_ref > 0 {
            mean_precision += prec;
            mean_recall += rec;
            effective_order += 1;
        }
    }
    if options.eps_smoothing {
        return 100.0 * eps_score / stats.len() as f64;
    }
    if effective_order == 0 {
        return 0.0;
    }
    mean_precision /= effective_order as f64;
    mean_recall /= effective_order as f64;
    if mean_precision + mean_recall == 0.0 {
        return 0.0;
    }
    let mut score = (1.0 + factor) * mean_precision * mean_recall;
    score /= (factor * mean_precision) + mean_recall;
    100.0 * score
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_texts_score_one() {
        let s = sentence_chrf("The cat sat.", &["The cat sat."]).unwrap();
        assert!((s.score - 1.0).abs() < 1e-12, "{s:?}");
        // Whitespace is ignored by default.
        let s = sentence_chrf("Thecat  sat.", &["The cat sat."]).unwrap();
        assert!((s.score - 1.0).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn empty_and_disjoint_texts_score_zero() {
        assert!(sentence_chrf("", &["abc"]).unwrap().score.abs() < f64::EPSILON);
        assert!(sentence_chrf("abc", &[""]).unwrap().score.abs() < f64::EPSILON);
        assert!(sentence_chrf("abc", &["xyz"]).unwrap().score.abs() < f64::EPSILON);
        assert!(matches!(
            sentence_chrf::<&str>("abc", &[]),
            Err(ScorerError::NoReferences { .. })
        ));
    }

    #[test]
    fn hand_checked_two_characters() {
        // "ab" vs "ac": order 1 has precision = recall = 1/2, order 2 has 0/1; orders 3-6
        // have no n-grams on either side. Averages over 2 orders: 1/4 and 1/4, F = 1/4.
        let s = sentence_chrf("ab", &["ac"]).unwrap();
        assert!((s.score - 0.25).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn best_reference_wins() {
        let one = sentence_chrf("kitten", &["sitting"]).unwrap();
        let both = sentence_chrf("kitten", &["sitting", "kitten"]).unwrap();
        assert!(one.score < 1.0);
        assert!((both.score - 1.0).abs() < 1e-12);
    }

    #[test]
    fn chrf_plus_plus_splits_punctuation_off_words() {
        assert_eq!(split_punctuation("(hi)"), [Some("(hi"), Some(")")]);
        assert_eq!(split_punctuation("(hi"), [Some("("), Some("hi")]);
        assert_eq!(split_punctuation("!"), [Some("!"), None]);
        assert_eq!(split_punctuation("é."), [Some("é"), Some(".")]);
        let mut chrf = Chrf::new(ChrfOptions::chrf_plus_plus()).unwrap();
        let s = chrf
            .sentence_score("Hello, world", &["Hello, world"])
            .unwrap();
        assert!((s.score - 1.0).abs() < 1e-12);
    }

    #[test]
    fn zero_orders_is_an_error() {
        let options = ChrfOptions {
            char_order: 0,
            ..ChrfOptions::default()
        };
        assert!(Chrf::new(options).is_err());
    }
}
