//! A deterministic corpus of (hypothesis, references) pairs for the parity test and the
//! benchmarks: seeded, so a failure names a pair that can be regenerated.
//!
//! It aims at the places where a re-implementation drifts from the reference packages:
//! case, punctuation glued to words, numbers with `.` `,` `-`, HTML entities and
//! `<skipped>` (13a), non-ASCII letters and the few whose lowercase is ASCII (ROUGE's
//! tokenizer), Unicode whitespace Python splits on, newlines (ROUGE-Lsum sentences),
//! repeated words (clipping), empty, whitespace-only and one-word texts, identical pairs,
//! and several references of different lengths, some of them empty.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

/// One scored pair: the first reference is ROUGE's target.
#[derive(Debug, Clone)]
pub struct Pair {
    pub hypothesis: String,
    pub references: Vec<String>,
}

const WORDS: &[&str] = &[
    "the",
    "a",
    "an",
    "cat",
    "dog",
    "sat",
    "on",
    "mat",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "model",
    "answer",
    "question",
    "is",
    "was",
    "not",
    "Paris",
    "France",
    "capital",
    "of",
    "and",
    "or",
    "it",
    "its",
    "it's",
    "don't",
    "New",
    "York",
    "THE",
    "Cat",
    "evaluation",
    "LLM",
    "GPT-4",
    "well-known",
    "state-of-the-art",
    "e.g.",
    "U.S.",
    "Dr.",
    "run",
    "running",
    "runs",
    "ran",
    "data",
    "set",
    "dataset",
    "x",
    "y",
    "z",
    "I",
    "you",
];
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "42",
    "3.14",
    "3,000",
    "3,000.50",
    "1-2",
    "2024-01-05",
    "10%",
    "$5",
    "1.",
    ".5",
    "7,",
    "v1.2.3",
    "-3",
    "1e10",
];
const SYMBOLS: &[&str] = &[
    ",",
    ".",
    "!",
    "?",
    ";",
    ":",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "-",
    "--",
    "—",
    "…",
    "/",
    "\\",
    "&",
    "&amp;",
    "&quot;",
    "&lt;",
    "&gt;",
    "<skipped>",
    "@",
    "#",
    "*",
    "_",
    "|",
    "~",
    "^",
    "`",
    "+",
    "=",
    "<",
    ">",
    "...",
    "?!",
    "“",
    "”",
    "«",
    "»",
];
const UNICODE: &[&str] = &[
    "café",
    "naïve",
    "Straße",
    "İstanbul",
    "\u{212a}elvin",
    "Ελλάδα",
    "σοφός",
    "日本語",
    "中文",
    "한국어",
    "Москва",
    "e\u{301}cole",
    "🙂",
    "👍🏽",
    "ǅemal",
    "ﬁne",
    "Ⅻ",
    "²",
    "٣",
    "\u{200b}zero",
    "ÀÉÎÕÜ",
];
const SPACES: &[&str] = &[
    " ", " ", " ", " ", " ", " ", "  ", "\t", "\n", "\n", "\u{a0}", "\u{3000}", "\u{2009}",
    "\u{1f}", "\u{85}", "\r\n", "-\n", "",
];

fn token(rng: &mut StdRng) -> String {
    let pool = match rng.random_range(0..100) {
        0..70 => WORDS,
        70..80 => NUMBERS,
        80..92 => SYMBOLS,
        _ => UNICODE,
    };
    let mut token = (*pool.choose(rng).expect("non-empty pool")).to_owned();
    match rng.random_range(0..20) {
        0 => token = token.to_uppercase(),
        1 => token.push_str(SYMBOLS.choose(rng).expect("symbols")),
        2 => token.insert_str(0, SYMBOLS.choose(rng).expect("symbols")),
        _ => {}
    }
    token
}

fn join(rng: &mut StdRng, tokens: &[String]) -> String {
    let mut text = String::new();
    if rng.random_range(0..10) == 0 {
        text.push_str(SPACES.choose(rng).expect("spaces"));
    }
    for (i, token) in tokens.iter().enumerate() {
        if i > 0 {
            text.push_str(SPACES.choose(rng).expect("spaces"));
        }
        text.push_str(token);
    }
    if rng.random_range(0..10) == 0 {
        text.push_str(SPACES.choose(rng).expect("spaces"));
    }
    text
}

fn sentence(rng: &mut StdRng, max_len: usize) -> Vec<String> {
    let len = rng.random_range(0..=max_len);
    (0..len).map(|_| token(rng)).collect()
}

/// An edited copy: drops, insertions, substitutions, swaps and repeats.
fn mutate(rng: &mut StdRng, tokens: &[String]) -> Vec<String> {
    let mut out = tokens.to_vec();
    let edits = rng.random_range(0..=tokens.len().clamp(1, 8));
    for _ in 0..edits {
        let at = rng.random_range(0..=out.len());
        match rng.random_range(0..5) {
            0 if at < out.len() => {
                out.remove(at);
            }
            1 => out.insert(at, token(rng)),
            2 if at < out.len() => out[at] = token(rng),
            3 if at + 1 < out.len() => out.swap(at, at + 1),
            4 if at < out.len() => {
                let repeated = out[at].clone();
                out.insert(at, repeated);
            }
            _ => {}
        }
    }
    out
}

fn text(rng: &mut StdRng, max_len: usize) -> String {
    match rng.random_range(0..40) {
        0 => String::new(),
        1 => (*SPACES.choose(rng).expect("spaces")).repeat(3),
        2 => token(rng),
        3 => {
            let symbols: Vec<String> = (0..rng.random_range(1..=4))
                .map(|_| (*SYMBOLS.choose(rng).expect("symbols")).to_owned())
                .collect();
            join(rng, &symbols)
        }
        _ => {
            let tokens = sentence(rng, max_len);
            join(rng, &tokens)
        }
    }
}

/// `count` pairs from `seed`, texts of up to `max_len` tokens.
pub fn pairs(seed: u64, count: usize, max_len: usize) -> Vec<Pair> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let reference_tokens = sentence(&mut rng, max_len);
            let reference = join(&mut rng, &reference_tokens);
            let hypothesis = match rng.random_range(0..10) {
                0 => reference.clone(),
                1 => text(&mut rng, max_len),
                2 => String::new(),
                _ => {
                    let tokens = mutate(&mut rng, &reference_tokens);
                    join(&mut rng, &tokens)
                }
            };
            let mut references = vec![if rng.random_range(0..25) == 0 {
                text(&mut rng, max_len)
            } else {
                reference
            }];
            // About one pair in three has extra references: edits, unrelated texts, empty.
            if rng.random_range(0..3) == 0 {
                for _ in 0..rng.random_range(1..=3) {
                    let extra = match rng.random_range(0..6) {
                        0 => String::new(),
                        1 => text(&mut rng, max_len),
                        _ => {
                            let tokens = mutate(&mut rng, &reference_tokens);
                            join(&mut rng, &tokens)
                        }
                    };
                    references.push(extra);
                }
            }
            Pair {
                hypothesis,
                references,
            }
        })
        .collect()
}

/// Writes the pairs as JSON lines `{"hypothesis": …, "references": […]}`.
pub fn write_jsonl(path: &std::path::Path, pairs: &[Pair]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for pair in pairs {
        let line = serde_json::json!({
            "hypothesis": pair.hypothesis,
            "references": pair.references,
        });
        writeln!(out, "{line}")?;
    }
    out.flush()
}

/// Pairs shaped like evaluation rows rather than edge cases, for the benchmarks: answers of
/// 8 to 60 words, single spaces, sentence punctuation glued to words, some numbers, rare
/// non-ASCII words; the hypothesis an edited reference; one pair in five with 2 or 3
/// references.
pub fn answer_pairs(seed: u64, count: usize) -> Vec<Pair> {
    let mut rng = StdRng::seed_from_u64(seed);
    let answer_token = |rng: &mut StdRng| -> String {
        let mut word = match rng.random_range(0..100) {
            0..88 => (*WORDS.choose(rng).expect("words")).to_owned(),
            88..97 => (*NUMBERS.choose(rng).expect("numbers")).to_owned(),
            _ => (*UNICODE.choose(rng).expect("unicode")).to_owned(),
        };
        match rng.random_range(0..12) {
            0 => word.push('.'),
            1 => word.push(','),
            2 if rng.random_range(0..3) == 0 => word.push('?'),
            _ => {}
        }
        word
    };
    let sentence = |rng: &mut StdRng| -> Vec<String> {
        let len = rng.random_range(8..=60);
        (0..len).map(|_| answer_token(rng)).collect()
    };
    (0..count)
        .map(|_| {
            let reference = sentence(&mut rng);
            let hypothesis = mutate(&mut rng, &reference).join(" ");
            let mut references = vec![reference.join(" ")];
            if rng.random_range(0..5) == 0 {
                for _ in 0..rng.random_range(1..=2) {
                    references.push(mutate(&mut rng, &reference).join(" "));
                }
            }
            Pair {
                hypothesis,
                references,
            }
        })
        .collect()
}
