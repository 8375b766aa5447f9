//! Deterministic scoring kernels for Judgeflow evaluations: pure functions from text to a
//! typed score, with no I/O, no async and no global state.
//!
//! The evaluation engine wraps each kernel as a scorer; this crate only computes values:
//!
//! - [`text`]: exact match, contains / contains-any / contains-all, starts-with and regex
//!   match, each a `bool`;
//! - [`json`]: JSON validity and JSON Schema validation (the first violation's path and
//!   message);
//! - [`squad`]: SQuAD's answer normalisation, exact match and token F1;
//! - [`edit`]: character Levenshtein distance and its similarity ratio in `[0, 1]`;
//! - [`rouge`]: ROUGE-N, ROUGE-L and ROUGE-Lsum, equal to the `rouge-score` 0.1.2 Python
//!   package (default tokenizer, no stemmer);
//! - [`bleu`] and [`chrf`]: sentence BLEU and chrF / chrF++, equal to `sacrebleu` 2.6.0.
//!
//! "Equal" is proven, not assumed: the integration test scores a generated corpus with the
//! Python packages themselves and compares every value (`tests/it/parity.rs`).
//!
//! The overlap metrics are hot loops in an evaluation over many rows, so each has a
//! reusable scorer ([`rouge::Rouge`], [`bleu::Bleu`], [`chrf::Chrf`]) that keeps its buffers
//! between calls and interns tokens to integers; the free functions of the same name build a
//! fresh one per call for convenience. Every score that is a ratio is in `[0, 1]`, including
//! BLEU and chrF, which `sacrebleu` reports in `[0, 100]`.

pub mod bleu;
pub mod chrf;
pub mod edit;
pub mod error;
pub mod json;
pub mod rouge;
pub mod squad;
pub mod text;

mod intern;
mod unicode;

pub use bleu::{Bleu, BleuOptions, BleuScore, BleuTokenizer, Smoothing, sentence_bleu};
pub use chrf::{Chrf, ChrfOptions, ChrfScore, sentence_chrf};
pub use edit::{edit_distance, edit_similarity};
pub use error::ScorerError;
pub use json::{JsonSchema, SchemaCheck, SchemaViolation, json_valid};
pub use rouge::{Rouge, RougeScore, RougeScores, rouge_l, rouge_lsum, rouge_n};
pub use squad::{squad_exact_match, squad_normalize, token_f1};
pub use text::{
    CaseSensitivity, ExactMatchOptions, RegexMatcher, Whitespace, contains, contains_all,
    contains_any, exact_match, starts_with,
};
