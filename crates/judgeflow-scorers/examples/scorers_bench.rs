//! Times the overlap kernels on the benchmark corpus, single-threaded, for
//! `bench/scorers_vs_python.py`, which times the Python packages on the same pairs.
//!
//!     cargo run --release -p judgeflow-scorers --example scorers_bench -- PAIRS.jsonl
//!
//! Writes the corpus (20,000 generated pairs) to `PAIRS.jsonl` and prints one JSON object
//! with the best of five passes per kernel, in seconds, on stdout.

use std::hint::black_box;
use std::time::{Duration, Instant};

use judgeflow_scorers::{Bleu, BleuOptions, Chrf, ChrfOptions, Rouge};

#[path = "../tests/it/corpus.rs"]
#[expect(
    dead_code,
    reason = "shared with the parity test, which also uses the edge-case corpus"
)]
mod corpus;

/// The corpus shared with the criterion bench: same seed, same size.
const SEED: u64 = 20_000;
const PAIRS: usize = 20_000;
const PASSES: usize = 5;

fn best_of(passes: usize, mut pass: impl FnMut() -> f64) -> Duration {
    (0..passes)
        .map(|_| {
            let start = Instant::now();
            black_box(pass());
            start.elapsed()
        })
        .min()
        .expect("at least one pass")
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: scorers_bench PAIRS.jsonl");
    let pairs = corpus::answer_pairs(SEED, PAIRS);
    corpus::write_jsonl(path.as_ref(), &pairs).expect("write the corpus");

    let mut rouge = Rouge::new();
    let rouge_l = best_of(PASSES, || {
        pairs
            .iter()
            .map(|p| rouge.rouge_l(&p.references[0], &p.hypothesis).fmeasure)
            .sum()
    });
    let rouge_all = best_of(PASSES, || {
        pairs
            .iter()
            .map(|p| {
                rouge
                    .score(&p.references[0], &p.hypothesis)
                    .rouge_l
                    .fmeasure
            })
            .sum()
    });
    let mut bleu = Bleu::new(BleuOptions::default());
    let bleu_time = best_of(PASSES, || {
        pairs
            .iter()
            .map(|p| {
                bleu.sentence_score(&p.hypothesis, &p.references)
                    .expect("refs")
                    .score
            })
            .sum()
    });
    let mut chrf = Chrf::new(ChrfOptions::default()).expect("default options");
    let chrf_time = best_of(PASSES, || {
        pairs
            .iter()
            .map(|p| {
                chrf.sentence_score(&p.hypothesis, &p.references)
                    .expect("refs")
                    .score
            })
            .sum()
    });
    println!(
        "{}",
        serde_json::json!({
            "pairs": pairs.len(),
            "rouge_l": rouge_l.as_secs_f64(),
            "rouge_1_2_l": rouge_all.as_secs_f64(),
            "bleu": bleu_time.as_secs_f64(),
            "chrf": chrf_time.as_secs_f64(),
        })
    );
}
