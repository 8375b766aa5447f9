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
//! digits; split `-` after a digit; then split on whitespace. One linear pass over the bytes
//! finds the tokens; only a word holding `.`, `,` or `-` goes through those three rules, on
//! its own (see `Tokenizer13a::for_each_token`).

use std::borrow::Cow;

use crate::error::ScorerError;
use crate::intern::Interner;
use crate::unicode::{is_py_whitespace, py_split_bytes, py_whitespace_width};

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
        match options.tokenizer {
            BleuTokenizer::Thirteen => tokenizer.for_each_token(text, token),
            BleuTokenizer::None => py_split_bytes(text.as_bytes(), token),
        }
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

/// The `13a` tokenizer's buffers, for a word too long for `rule_gaps`: the rule passes
/// ping-pong between them.
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
    /// Calls `token` for each token of `line`, in order.
    ///
    /// The rules only ever insert spaces, so every token is a piece of the unescaped line,
    /// and one pass finds them: whitespace ends a word, a symbol of the first rule is a token
    /// of its own, and everything else belongs to the current word. The `.`, `,` and `-`
    /// rules cannot reach across whitespace or a symbol (both are non-digits on either side,
    /// and neither is ever consumed as the `.`, `,` or `-` of a match), so a word that holds
    /// one of those three bytes goes through the rules on its own, padded with a space each
    /// side as it would be in the whole line; every other word is a token as it stands.
    fn for_each_token(&mut self, line: &str, mut token: impl FnMut(&[u8])) {
        let text = unescape(line.trim_end_matches(is_py_whitespace));
        let bytes = text.as_bytes();
        let mut start = 0;
        // Which of `PERIOD_COMMA` and `DASH` the current word holds.
        let mut special = 0_u8;
        let mut i = 0;
        while i < bytes.len() {
            let class = BYTE_CLASS[usize::from(bytes[i])];
            // Inside a word: ordinary bytes and `.`, `,`, `-`, flagged without a branch.
            if class < SYMBOL {
                special |= class;
                i += 1;
                continue;
            }
            let width = if class == MAYBE_SPACE {
                match py_whitespace_width(&bytes[i..]) {
                    0 => {
                        i += 1;
                        continue;
                    }
                    width => width,
                }
            } else {
                1
            };
            if start < i {
                self.word(&bytes[start..i], special, &mut token);
            }
            if class == SYMBOL {
                token(&bytes[i..=i]);
            }
            special = 0;
            i += width;
            start = i;
        }
        if start < bytes.len() {
            self.word(&bytes[start..], special, &mut token);
        }
    }

    /// The tokens of one whitespace- and symbol-free word: itself, unless it holds a `.`,
    /// `,` or `-`, which the last three rules may split off.
    fn word(&mut self, word: &[u8], special: u8, token: &mut impl FnMut(&[u8])) {
        if special == 0 {
            token(word);
            return;
        }
        if let Some(gaps) = rule_gaps(word) {
            // Pieces between the gaps; bit k + 1 is the gap before `word[k]`.
            let mut start = 0;
            for end in 1..=word.len() {
                if gaps & (1 << (end + 1)) != 0 {
                    if start < end {
                        token(&word[start..end]);
                    }
                    start = end;
                }
            }
            if start < word.len() {
                token(&word[start..]);
            }
            return;
        }
        // A word too long for the gap mask: the rules as byte passes.
        let (a, b) = (&mut self.a, &mut self.b);
        a.clear();
        a.push(b' ');
        a.extend_from_slice(word);
        a.push(b' ');
        if special & PERIOD_COMMA != 0 {
            split_period_comma_after_non_digit(a, b);
            split_period_comma_before_non_digit(b, a);
        }
        if special & DASH != 0 {
            split_dash_after_digit(a, b);
            std::mem::swap(a, b);
        }
        // Only the rules' ASCII spaces can separate pieces here.
        for piece in a.split(|&byte| byte == b' ') {
            if !piece.is_empty() {
                token(piece);
            }
        }
    }

    /// The whole line with every rule applied, as sacrebleu builds it (up to the number of
    /// spaces in a run); the tests check the one-pass tokenizer against this.
    #[cfg(test)]
    fn spaced(&mut self, line: &str) -> &[u8] {
        let text = unescape(line.trim_end_matches(is_py_whitespace));
        let (a, b) = (&mut self.a, &mut self.b);
        a.clear();
        a.push(b' ');
        for &byte in text.as_bytes() {
            if SPACED_SYMBOLS[usize::from(byte)] {
                a.extend_from_slice(&[b' ', byte, b' ']);
            } else {
                a.push(byte);
            }
        }
        a.push(b' ');
        split_period_comma_after_non_digit(a, b);
        split_period_comma_before_non_digit(b, a);
        split_dash_after_digit(a, b);
        std::mem::swap(a, b);
        a
    }
}

/// The language-independent part of 13a: Python `str.replace`s in sacrebleu's order (a
/// deletion can create the next pattern, so the order matters). All patterns start with `<`,
/// `-` + newline, newline or `&`, which one scan rules out in most texts.
fn unescape(line: &str) -> Cow<'_, str> {
    if memchr::memchr3(b'<', b'\n', b'&', line.as_bytes()).is_none() {
        return line.into();
    }
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
}

/// Byte classes of the one-pass tokenizer. The rules only look at ASCII bytes, so a
/// multi-byte character is ordinary unless it is Python whitespace. The classes inside a
/// word are bit flags below `SYMBOL`, so the hot loop ORs them in and compares once.
const ORDINARY: u8 = 0;
/// `.` and `,`, which two of the last three rules may split off.
const PERIOD_COMMA: u8 = 1;
/// `-`, which the last rule may split off.
const DASH: u8 = 2;
/// A byte the first rule surrounds with spaces: a token of its own.
const SYMBOL: u8 = 4;
/// ASCII whitespace (as Python's `str.split` sees it), which ends a word.
const ASCII_SPACE: u8 = 5;
/// A lead byte of a multi-byte character that may be whitespace.
const MAYBE_SPACE: u8 = 6;

static BYTE_CLASS: [u8; 256] = {
    let mut table = [ORDINARY; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = match b {
            b'.' | b',' => PERIOD_COMMA,
            b'-' => DASH,
            9..=13 | 0x1c..=0x20 => ASCII_SPACE,
            0xc2 | 0xe1 | 0xe2 | 0xe3 => MAYBE_SPACE,
            _ if is_13a_symbol(b) => SYMBOL,
            _ => ORDINARY,
        };
        byte += 1;
    }
    table
};

/// The bytes the first rule spaces, minus the space itself (for `Tokenizer13a::spaced`).
#[cfg(test)]
static SPACED_SYMBOLS: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = byte != b' ' as usize && is_13a_symbol(byte as u8);
        byte += 1;
    }
    table
};

fn is_period_or_comma(byte: u8) -> bool {
    matches!(byte, b'.' | b',')
}

/// Where the last three rules put spaces in one word, without building the text: bit `p` is
/// set when a space goes before byte `p` of the padded word `' ' + word + ' '` (so bit
/// `k + 1` is the gap before `word[k]`). `None` for a word of over 61 bytes.
///
/// Each rule only inserts spaces, so its matches can be found on the padded word and the
/// gaps of the rules before it:
/// - `([^0-9])([.,])`: a match consumes both bytes, so a `.` or `,` right after a matched one
///   cannot match as its `\2`.
/// - `([.,])([^0-9])` runs on that output: a byte's successor is a space if the first rule
///   put a gap there, and a match consumes its successor, which then cannot be a `\1`.
/// - `([0-9])(-)`: a `-` whose predecessor, after the two rules, is a digit. Only a digit
///   can be its `\1`, and a match consumes a `-`, so nothing is ever blocked.
fn rule_gaps(word: &[u8]) -> Option<u64> {
    let n = word.len();
    if n + 2 >= 64 {
        return None;
    }
    let bit = |p: usize| 1_u64 << p;
    let mut padded = [b' '; 64];
    padded[1..=n].copy_from_slice(word);
    let at = |p: usize| padded[p];

    // The common case, one `.`, `,` or `-` in the word: the three rules come down to
    // whether its neighbours are digits.
    let mut specials = 0;
    let mut last = 0;
    for (p, &byte) in word.iter().enumerate() {
        let special = BYTE_CLASS[usize::from(byte)] & (PERIOD_COMMA | DASH) != 0;
        specials += usize::from(special);
        if special {
            last = p + 1;
        }
    }
    if specials == 1 {
        let (before, after) = (at(last - 1).is_ascii_digit(), at(last + 1).is_ascii_digit());
        let split = if at(last) == b'-' {
            before
        } else {
            // Both `.`/`,` rules miss only between two digits.
            !(before && after)
        };
        return Some(if split { bit(last) | bit(last + 1) } else { 0 });
    }

    let mut gaps = 0;
    let mut matched_before = false;
    for p in 1..=n {
        let matched = !matched_before && is_period_or_comma(at(p)) && !at(p - 1).is_ascii_digit();
        if matched {
            gaps |= bit(p) | bit(p + 1);
        }
        matched_before = matched;
    }

    let after_first = gaps;
    let mut consumed = false;
    for p in 1..=n {
        if consumed {
            consumed = false;
            continue;
        }
        if is_period_or_comma(at(p)) {
            let spaced = after_first & bit(p + 1) != 0;
            let next = if spaced { b' ' } else { at(p + 1) };
            if !next.is_ascii_digit() {
                gaps |= bit(p) | bit(p + 1);
                consumed = !spaced;
            }
        }
    }

    for p in 2..=n {
        if at(p) == b'-' && gaps & bit(p) == 0 && at(p - 1).is_ascii_digit() {
            gaps |= bit(p) | bit(p + 1);
        }
    }
    Some(gaps)
}

// The three rules below run on one padded word at a time (see `Tokenizer13a::word`), a few
// bytes long, so they are plain loops: a `memchr` call costs more than it saves there.

/// `re.sub(r'([^0-9])([\.,])', r'\1 \2 ', …)`. Matches never overlap and are found left to
/// right.
fn split_period_comma_after_non_digit(src: &[u8], dst: &mut Vec<u8>) {
    dst.clear();
    let mut copied = 0; // src[..copied] is written (or consumed by a match)
    for j in 1..src.len() {
        // A match needs its first character unconsumed and not a digit.
        if is_period_or_comma(src[j]) && j > copied && !src[j - 1].is_ascii_digit() {
            dst.extend_from_slice(&src[copied..j - 1]);
            dst.extend_from_slice(&[src[j - 1], b' ', src[j], b' ']);
            copied = j + 1;
        }
    }
    dst.extend_from_slice(&src[copied..]);
}

/// `re.sub(r'([\.,])([^0-9])', r' \1 \2', …)`.
fn split_period_comma_before_non_digit(src: &[u8], dst: &mut Vec<u8>) {
    dst.clear();
    let mut copied = 0;
    let mut i = 0;
    while i + 1 < src.len() {
        let next = src[i + 1];
        if is_period_or_comma(src[i]) && !next.is_ascii_digit() {
            dst.extend_from_slice(&src[copied..i]);
            dst.extend_from_slice(&[b' ', src[i], b' ', next]);
            copied = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    dst.extend_from_slice(&src[copied..]);
}

/// `re.sub(r'([0-9])(-)', r'\1 \2 ', …)`.
fn split_dash_after_digit(src: &[u8], dst: &mut Vec<u8>) {
    dst.clear();
    let mut copied = 0;
    for j in 1..src.len() {
        if src[j] == b'-' && j > copied && src[j - 1].is_ascii_digit() {
            dst.extend_from_slice(&src[copied..j - 1]);
            dst.extend_from_slice(&[src[j - 1], b' ', b'-', b' ']);
            copied = j + 1;
        }
    }
    dst.extend_from_slice(&src[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        let mut tokenizer = Tokenizer13a::default();
        let mut tokens = Vec::new();
        tokenizer.for_each_token(text, |t| {
            tokens.push(String::from_utf8(t.to_vec()).expect("13a keeps UTF-8"));
        });
        let mut whole = Vec::new();
        py_split_bytes(tokenizer.spaced(text), |t| {
            whole.push(String::from_utf8(t.to_vec()).expect("13a keeps UTF-8"));
        });
        assert_eq!(
            tokens, whole,
            "one pass and whole-line rules differ on {text:?}"
        );
        tokens
    }

    #[test]
    fn one_pass_equals_the_whole_line_rules() {
        // Every interaction of digits, `.`, `,`, `-`, symbols and whitespace, up to length 6
        // over a small alphabet, and longer random strings over it.
        const ALPHABET: &[&str] = &["a", "1", ".", ",", "-", "(", " ", "\u{a0}", "é", "&lt;"];
        let mut stack = vec![String::new()];
        while let Some(text) = stack.pop() {
            tokens(&text);
            if text.chars().count() < 5 {
                for piece in ALPHABET {
                    stack.push(format!("{text}{piece}"));
                }
            }
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for round in 0..20_000 {
            let mut text = String::new();
            // Some words longer than the gap mask, to cover the byte-pass fallback.
            let (len, pool) = if round % 10 == 0 {
                (70 + state % 30, &ALPHABET[..5])
            } else {
                (state % 24, ALPHABET)
            };
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pool[(state % pool.len() as u64) as usize]);
            }
            tokens(&text);
        }
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
