//! Sentence BLEU, equal to `sacrebleu` 2.6.0's `sentence_bleu` (and `BLEU.sentence_score`).
//!
//! Defaults are sacrebleu's for sentence BLEU: the `13a` tokenizer, case-sensitive, n-grams
//! up to 4, `exp` smoothing and effective order. With several references, each n-gram's
//! count is clipped by its largest count in any one reference, and the brevity penalty uses
//! the reference length closest to the hypothesis (the shorter one on a tie).
//!
//! The score is sacrebleu's divided by 100, so it is in `[0, 1]` like every score in this
//! crate; so are the n-gram precisions.
//!
//! The `13a` tokenizer (mteval-v13a, as sacrebleu runs it): strip trailing whitespace;
//! delete `<skipped>` and `-` + newline; newlines become spaces; unescape `&quot;`, `&amp;`,
//! `&lt;`, `&gt;`; put spaces around the ASCII symbols `{|}~ [\]^_` `` ` `` `!"#$%&`
//! `()*+ :;<=>?@ /` (and space itself); split `.` and `,` off unless both neighbours are
//! digits; split `-` after a digit; then split on whitespace. Each step is a linear byte
//! pass over reused buffers rather than a regex substitution.

use std::borrow::Cow;

use crate::error::ScorerError;
use crate::intern::Interner;
use crate::unicode::{is_py_whitespace, py_split_bytes};

/// The highest n-gram order, as sacrebleu's default `max_ngram_order`.
pub const MAX_NGRAM_ORDER: usize = 4;

/// How zero n-gram matches are smoothed (Chen and Cherry, 2014), as sacrebleu names them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Smoothing {
    /// No smoothing: a zero precision makes the score 0.
    None,
    /// Method 1: a zero match count counts as this value (sacrebleu's default is 0.1).
    Floor(f64),
    /// Method 2: add this value to the matches and totals of orders 2 and up (default 1).
    AddK(f64),
    /// Method 3, NIST's: the k-th zero precision becomes `1 / (2^k * total)`.
    Exp,
}

/// Which tokenizer runs before n-grams are counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BleuTokenizer {
    /// sacrebleu's default, `13a`.
    #[default]
    Thirteen,
    /// sacrebleu's `none`: the text is only split on whitespace.
    None,
}

/// Options of [`Bleu`]; the default is sacrebleu's `sentence_bleu`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BleuOptions {
    pub lowercase: bool,
    pub tokenizer: BleuTokenizer,
    pub smoothing: Smoothing,
    /// Average the precisions only up to the highest order the hypothesis has n-grams of,
    /// so a short sentence is not 0 by construction.
    pub effective_order: bool,
}

impl Default for BleuOptions {
    fn default() -> Self {
        Self {
            lowercase: false,
            tokenizer: BleuTokenizer::Thirteen,
            smoothing: Smoothing::Exp,
            effective_order: true,
        }
    }
}

/// A BLEU score with the statistics it was computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BleuScore {
    /// In `[0, 1]`: sacrebleu's `score / 100`.
    pub score: f64,
    /// Clipped n-gram matches per order (1 to 4).
    pub counts: [usize; MAX_NGRAM_ORDER],
    /// Hypothesis n-grams per order.
    pub totals: [usize; MAX_NGRAM_ORDER],
    /// Smoothed precisions per order, in `[0, 1]` (sacrebleu's divided by 100).
    pub precisions: [f64; MAX_NGRAM_ORDER],
    pub brevity_penalty: f64,
    /// Hypothesis length in tokens.
    pub sys_len: usize,
    /// The reference length the brevity penalty used.
    pub ref_len: usize,
}

/// A reusable BLEU scorer: keep one per worker thread so buffers are allocated once.
#[derive(Default)]
pub struct Bleu {
    options: BleuOptions,
    tokenizer: Tokenizer13a,
    interner: Interner,
    tokens: Vec<u32>,
    /// N-gram ids of every order of one text, orders back to back.
    ngrams: Vec<u32>,
    order_ids: Vec<u32>,
    /// The current reference's n-grams that the hypothesis has too.
    ref_ngrams: Vec<u32>,
    ref_lens: Vec<usize>,
    counts: Vec<u32>,
    clip: Vec<u32>,
}

impl Bleu {
    #[must_use]
    pub fn new(options: BleuOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    /// BLEU of `hypothesis` against one or more `references`.
    pub fn sentence_score<R: AsRef<str>>(
        &mut self,
        hypothesis: &str,
        references: &[R],
    ) -> Result<BleuScore, ScorerError> {
        if references.is_empty() {
            return Err(ScorerError::NoReferences { metric: "BLEU" });
        }
        // The hypothesis is interned first; references are then only looked up, since a
        // reference n-gram the hypothesis lacks can never be a match.
        self.interner.clear();
        let sys_len = self.hypothesis_ngrams(hypothesis);

        // clip[id] = the largest count of hypothesis n-gram `id` in any one reference.
        let ids = self.interner.len();
        for buffer in [&mut self.counts, &mut self.clip] {
            buffer.clear();
            buffer.resize(ids, 0);
        }
        self.ref_lens.clear();
        for reference in references {
            let len = self.reference_ngrams(reference.as_ref());
            self.ref_lens.push(len);
            for &id in &self.ref_ngrams {
                self.counts[id as usize] += 1;
            }
            for &id in &self.ref_ngrams {
                let id = id as usize;
                self.clip[id] = self.clip[id].max(self.counts[id]);
                self.counts[id] = 0;
            }
        }

        // Hypothesis n-grams are laid out by order: `sys_len` unigrams, then bigrams, ….
        let mut counts = [0; MAX_NGRAM_ORDER];
        let mut totals = [0; MAX_NGRAM_ORDER];
        let mut offset = 0;
        for order in 0..MAX_NGRAM_ORDER {
            totals[order] = sys_len.saturating_sub(order);
            for &id in &self.ngrams[offset..offset + totals[order]] {
                let slot = &mut self.clip[id as usize];
                if *slot > 0 {
                    *slot -= 1;
                    counts[order] += 1;
                }
            }
            offset += totals[order];
        }

        let ref_len = closest_ref_len(sys_len, &self.ref_lens);
        Ok(compute_bleu(
            counts,
            totals,
            sys_len,
            ref_len,
            &self.options,
        ))
    }

    /// Tokenizes `text` (lowercased first if asked) and calls `token` for each token.
    fn for_each_token(
        options: &BleuOptions,
        tokenizer: &mut Tokenizer13a,
        text: &str,
        token: impl FnMut(&[u8]),
    ) {
        let lowered;
        let text = if options.lowercase {
            lowered = text.to_lowercase();
            lowered.as_str()
        } else {
            text
        };
        let spaced = match options.tokenizer {
            BleuTokenizer::Thirteen => tokenizer.tokenize(text),
            BleuTokenizer::None => text.as_bytes(),
        };
        py_split_bytes(spaced, token);
    }

    /// Interns the hypothesis and leaves the ids of all its n-grams (orders 1 to 4, back to
    /// back) in `self.ngrams`; returns its length in tokens.
    fn hypothesis_ngrams(&mut self, text: &str) -> usize {
        let Self {
            options,
            tokenizer,
            interner,
            tokens,
            ..
        } = self;
        tokens.clear();
        Self::for_each_token(options, tokenizer, text, |token| {
            tokens.push(interner.token(token));
        });
        self.ngrams.clear();
        self.ngrams.extend_from_slice(&self.tokens);
        self.order_ids.clear();
        self.order_ids.extend_from_slice(&self.tokens);
        for order in 1..MAX_NGRAM_ORDER {
            self.interner
                .extend_ngrams(&mut self.order_ids, &self.tokens, order);
            self.ngrams.extend_from_slice(&self.order_ids);
        }
        self.tokens.len()
    }

    /// Leaves in `self.ref_ngrams` the ids of the reference's n-grams (any order) that the
    /// hypothesis also has; returns the reference's length in tokens.
    fn reference_ngrams(&mut self, text: &str) -> usize {
        const ABSENT: u32 = u32::MAX;
        let Self {
            options,
            tokenizer,
            interner,
            tokens,
            ..
        } = self;
        tokens.clear();
        Self::for_each_token(options, tokenizer, text, |token| {
            tokens.push(interner.find_token(token).unwrap_or(ABSENT));
        });
        let present = |id: &&u32| **id != ABSENT;
        self.ref_ngrams.clear();
        self.ref_ngrams
            .extend(self.tokens.iter().filter(present).copied());
        self.order_ids.clear();
        self.order_ids.extend_from_slice(&self.tokens);
        for order in 1..MAX_NGRAM_ORDER {
            let windows = self.tokens.len().saturating_sub(order);
            self.order_ids.truncate(windows);
            for (i, id) in self.order_ids.iter_mut().enumerate() {
                let last = self.tokens[i + order];
                // An n-gram whose prefix the hypothesis lacks is absent too.
                if *id != ABSENT && last != ABSENT {
                    *id = self.interner.find_pair(*id, last).unwrap_or(ABSENT);
                } else {
                    *id = ABSENT;
                }
            }
            self.ref_ngrams
                .extend(self.order_ids.iter().filter(present).copied());
        }
        self.tokens.len()
    }
}

/// BLEU of one hypothesis with sacrebleu's `sentence_bleu` defaults; see [`Bleu`].
pub fn sentence_bleu<R: AsRef<str>>(
    hypothesis: &str,
    references: &[R],
) -> Result<BleuScore, ScorerError> {
    Bleu::new(BleuOptions::default()).sentence_score(hypothesis, references)
}

/// The reference length closest to the hypothesis length; the shorter one on a tie.
fn closest_ref_len(sys_len: usize, ref_lens: &[usize]) -> usize {
    ref_lens
        .iter()
        .copied()
        .min_by_key(|&len| (len.abs_diff(sys_len), len))
        .unwrap_or(0)
}

/// sacrebleu's `BLEU.compute_bleu` on the statistics of one sentence, in its operation order
/// so that the value is the same float.
fn compute_bleu(
    counts: [usize; MAX_NGRAM_ORDER],
    totals: [usize; MAX_NGRAM_ORDER],
    sys_len: usize,
    ref_len: usize,
    options: &BleuOptions,
) -> BleuScore {
    let brevity_penalty = if sys_len < ref_len {
        if sys_len > 0 {
            (1.0 - ref_len as f64 / sys_len as f64).exp()
        } else {
            0.0
        }
    } else {
        1.0
    };
    let mut score = BleuScore {
        score: 0.0,
        counts,
        totals,
        precisions: [0.0; MAX_NGRAM_ORDER],
        brevity_penalty,
        sys_len,
        ref_len,
    };
    // No match at any order is 0 whatever the smoothing (sacrebleu's early return).
    if counts.iter().all(|&c| c == 0) {
        return score;
    }

    let mut precisions = [0.0_f64; MAX_NGRAM_ORDER];
    let mut smooth_mteval = 1.0_f64;
    let mut eff_order = MAX_NGRAM_ORDER;
    for n in 0..MAX_NGRAM_ORDER {
        let mut correct = counts[n] as f64;
        let mut total = totals[n] as f64;
        if let Smoothing::AddK(k) = options.smoothing {
            if n > 0 {
                correct += k;
                total += k;
            }
        }
        if total == 0.0 {
            break;
        }
        if options.effective_order {
            eff_order = n + 1;
        }
        if correct == 0.0 {
            match options.smoothing {
                Smoothing::Exp => {
                    smooth_mteval *= 2.0;
                    precisions[n] = 100.0 / (smooth_mteval * total);
                }
                Smoothing::Floor(floor) => precisions[n] = 100.0 * floor / total,
                Smoothing::None | Smoothing::AddK(_) => {}
            }
        } else {
            precisions[n] = 100.0 * correct / total;
        }
    }
    // sacrebleu's `my_log`: log(0) is a large negative number, not -inf.
    let log = |p: f64| if p == 0.0 { -9_999_999_999.0 } else { p.ln() };
    let log_sum = precisions[..eff_order]
        .iter()
        .fold(0.0_f64, |sum, &p| sum + log(p));
    let bleu = brevity_penalty * (log_sum / eff_order as f64).exp();

    score.score = bleu / 100.0;
    score.precisions = precisions.map(|p| p / 100.0);
    score
}

/// The `13a` tokenizer's buffers; the passes ping-pong between them.
#[derive(Default)]
struct Tokenizer13a {
    a: Vec<u8>,
    b: Vec<u8>,
}

/// The symbols the first 13a rule surrounds with spaces: the regex class
/// ``[\{-\~\[-\` -\&\(-\+\:-\@\/]``.
const fn is_13a_symbol(byte: u8) -> bool {
    matches!(byte, b'{'..=b'~' | b'['..=b'`' | b' '..=b'&' | b'('..=b'+' | b':'..=b'@' | b'/')
}

impl Tokenizer13a {
    /// The tokenized text, whose whitespace-separated pieces are the tokens.
    fn tokenize(&mut self, line: &str) -> &[u8] {
        let line = line.trim_end_matches(is_py_whitespace);
        // The language-independent part: Python `str.replace`s in sacrebleu's order (a
        // deletion can create the next pattern, so the order matters). All patterns start
        // with `<`, `-` + newline, newline or `&`, which one scan rules out in most texts.
        let text: Cow<'_, str> = if memchr::memchr3(b'<', b'\n', b'&', line.as_bytes()).is_none() {
            line.into()
        } else {
            let mut text = line.replace("<skipped>", "");
            if text.contains('\n') {
                text = text.replace("-\n", "").replace('\n', " ");
            }
            if text.contains('&') {
                text = text
                    .replace("&quot;", "\"")
                    .replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">");
            }
            text.into()
        };

        // The regex rules, one linear pass each. They only insert ASCII spaces next to ASCII
        // bytes, so working on bytes is the same as on characters: a multi-byte character
        // only ever plays the part of "[^0-9]", and is never split.
        let (a, b) = (&mut self.a, &mut self.b);
        a.clear();
        // sacrebleu pads the line with a space on each side and then spaces every symbol,
        // spaces included. Only the number of spaces in a run differs if a space is written
        // once instead of three times, and neither the later rules (which look at digits,
        // `.`, `,` and `-`) nor the split on whitespace can tell.
        a.push(b' ');
        for &byte in text.as_bytes() {
            if SPACED_SYMBOLS[usize::from(byte)] {
                a.extend_from_slice(&[b' ', byte, b' ']);
            } else {
                a.push(byte);
            }
        }
        a.push(b' ');
        let text = text.as_bytes();
        if memchr::memchr2(b'.', b',', text).is_some() {
            split_period_comma_after_non_digit(a, b);
            split_period_comma_before_non_digit(b, a);
        }
        if memchr::memchr(b'-', text).is_some() {
            split_dash_after_digit(a, b);
            std::mem::swap(a, b);
        }
        a
    }
}

/// The bytes the first rule spaces, minus the space itself (see `tokenize`).
static SPACED_SYMBOLS: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = byte != b' ' as usize && is_13a_symbol(byte as u8);
        byte += 1;
    }
    table
};

fn find_period_or_comma(src: &[u8], from: usize) -> Option<usize> {
    let rest = src.get(from..)?;
    memchr::memchr2(b'.', b',', rest).map(|at| from + at)
}

/// `re.sub(r'([^0-9])([\.,])', r'\1 \2 ', …)`. Matches never overlap and are found left to
/// right; the scan jumps from one `.` or `,` to the next and copies the bytes between.
fn split_period_comma_after_non_digit(src: &[u8], dst: &mut Vec<u8>) {
    dst.clear();
    let mut copied = 0; // src[..copied] is written (or consumed by a match)
    let mut from = 1;
    while let Some(j) = find_period_or_comma(src, from) {
        // A match needs its first character unconsumed and not a digit.
        if j > copied && !src[j - 1].is_ascii_digit() {
            dst.extend_from_slice(&src[copied..j - 1]);
            dst.extend_from_slice(&[src[j - 1], b' ', src[j], b' ']);
            copied = j + 1;
        }
        from = j + 1;
    }
    dst.extend_from_slice(&src[copied..]);
}

/// `re.sub(r'([\.,])([^0-9])', r' \1 \2', …)`.
fn split_period_comma_before_non_digit(src: &[u8], dst: &mut Vec<u8>) {
    dst.clear();
    let mut copied = 0;
    let mut from = 0;
    while let Some(i) = find_period_or_comma(src, from) {
        match src.get(i + 1) {
            Some(&next) if !next.is_ascii_digit() => {
                dst.extend_from_slice(&src[copied..i]);
                dst.extend_from_slice(&[b' ', src[i], b' ', next]);
                copied = i + 2;
                from = i + 2;
            }
            _ => from = i + 1,
        }
    }
    dst.extend_from_slice(&src[copied..]);
}

/// `re.sub(r'([0-9])(-)', r'\1 \2 ', …)`.
fn split_dash_after_digit(src: &[u8], dst: &mut Vec<u8>) {
    dst.clear();
    let mut copied = 0;
    let mut from = 1;
    while let Some(j) = src
        .get(from..)
        .and_then(|rest| memchr::memchr(b'-', rest))
        .map(|at| from + at)
    {
        if j > copied && src[j - 1].is_ascii_digit() {
            dst.extend_from_slice(&src[copied..j - 1]);
            dst.extend_from_slice(&[src[j - 1], b' ', b'-', b' ']);
            copied = j + 1;
        }
        from = j + 1;
    }
    dst.extend_from_slice(&src[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut tokenizer = Tokenizer13a::default();
        let mut tokens = Vec::new();
        py_split_bytes(tokenizer.tokenize(text), |t| {
            tokens.push(String::from_utf8(t.to_vec()).expect("13a keeps UTF-8"));
        });
        tokens
    }

    #[test]
    fn tokenizer_13a_rules() {
        assert_eq!(tokens("Hello, world!"), ["Hello", ",", "world", "!"]);
        // Periods and commas between digits stay; others split.
        assert_eq!(
            tokens("It costs $3,000.50."),
            ["It", "costs", "$", "3,000.50", "."]
        );
        assert_eq!(
            tokens("a.b 1.b a.1"),
            ["a", ".", "b", "1", ".", "b", "a", ".", "1"]
        );
        // A dash splits only after a digit.
        assert_eq!(
            tokens("well-known 1-2 x-1"),
            ["well-known", "1", "-", "2", "x-1"]
        );
        assert_eq!(
            tokens("it's (really) \"ok\""),
            ["it's", "(", "really", ")", "\"", "ok", "\""]
        );
        assert_eq!(
            tokens("AT&amp;T &lt;b&gt;"),
            ["AT", "&", "T", "<", "b", ">"]
        );
        assert_eq!(tokens("line-\nbreak\nnext<skipped>"), ["linebreak", "next"]);
        assert_eq!(tokens("Ünïcode… “quotes”"), ["Ünïcode…", "“quotes”"]);
        assert!(tokens("").is_empty());
        assert!(tokens(" \t\n").is_empty());
    }

    #[test]
    fn tokenizer_13a_trailing_dash_newline() {
        // rstrip runs before "-\n" is deleted, so a trailing one stays a dash.
        assert_eq!(tokens("end-\n"), ["end-"]);
    }

    #[test]
    fn identical_sentence_scores_one() {
        let s = sentence_bleu("The cat sat on the mat.", &["The cat sat on the mat."]).unwrap();
        assert!((s.score - 1.0).abs() < 1e-12, "{s:?}");
        assert_eq!(s.counts, [7, 6, 5, 4]);
    }

    #[test]
    fn no_match_is_zero_and_no_reference_is_an_error() {
        let s = sentence_bleu("alpha beta", &["gamma delta"]).unwrap();
        assert!(s.score.abs() < f64::EPSILON);
        assert!(sentence_bleu("", &[""]).unwrap().score.abs() < f64::EPSILON);
        let err = sentence_bleu::<&str>("x", &[]).unwrap_err();
        assert!(matches!(err, ScorerError::NoReferences { .. }));
    }

    #[test]
    fn hand_checked_smoothed_short_sentence() {
        // "the cat" vs "the cat sat": unigrams 2/2, bigrams 1/1, effective order 2,
        // brevity penalty exp(1 - 3/2).
        let s = sentence_bleu("the cat", &["the cat sat"]).unwrap();
        let expected = (1.0_f64 - 1.5).exp();
        assert!((s.score - expected).abs() < 1e-12, "{s:?}");
        assert_eq!((s.sys_len, s.ref_len), (2, 3));
    }

    #[test]
    fn multiple_references_clip_by_the_best_and_pick_the_closest_length() {
        let one = sentence_bleu("a a a b", &["a b"]).unwrap();
        let two = sentence_bleu("a a a b", &["a b", "a a c d e"]).unwrap();
        assert_eq!(one.counts[0], 2);
        assert_eq!(two.counts[0], 3);
        assert_eq!(two.ref_len, 5);
        // Equal distance: the shorter reference length wins.
        assert_eq!(closest_ref_len(4, &[6, 2]), 2);
        assert_eq!(closest_ref_len(4, &[2, 6]), 2);
    }

    #[test]
    fn reused_scorer_gives_the_same_values() {
        let mut bleu = Bleu::new(BleuOptions::default());
        let first = bleu.sentence_score("a b c d", &["a b c e"]).unwrap();
        bleu.sentence_score("something else entirely", &["x"])
            .unwrap();
        assert_eq!(bleu.sentence_score("a b c d", &["a b c e"]).unwrap(), first);
    }
}
