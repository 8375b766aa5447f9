//! ROUGE-L, ROUGE-1/2/L, sentence BLEU and chrF over the 20,000-pair benchmark corpus, one
//! thread. `bench/scorers_vs_python.py` compares the same kernels with the Python packages.
//!
//!     cargo bench -p judgeflow-scorers --bench text_metrics

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use judgeflow_scorers::{Bleu, BleuOptions, Chrf, ChrfOptions, Rouge};

#[path = "../tests/it/corpus.rs"]
#[expect(
    dead_code,
    reason = "shared with the parity test, which also uses the edge-case corpus"
)]
mod corpus;

fn overlap_metrics(c: &mut Criterion) {
    // The same corpus as examples/scorers_bench.rs.
    let pairs = corpus::answer_pairs(20_000, 20_000);
    let mut group = c.benchmark_group("20k_pairs");
    group.sample_size(10);
    group.throughput(Throughput::Elements(pairs.len() as u64));

    let mut rouge = Rouge::new();
    group.bench_function("rouge_l", |b| {
        b.iter(|| {
            for p in &pairs {
                black_box(rouge.rouge_l(&p.references[0], &p.hypothesis));
            }
        });
    });
    group.bench_function("rouge_1_2_l", |b| {
        b.iter(|| {
            for p in &pairs {
                black_box(rouge.score(&p.references[0], &p.hypothesis));
            }
        });
    });
    let mut bleu = Bleu::new(BleuOptions::default());
    group.bench_function("sentence_bleu", |b| {
        b.iter(|| {
            for p in &pairs {
                black_box(bleu.sentence_score(&p.hypothesis, &p.references)).ok();
            }
        });
    });
    let mut chrf = Chrf::new(ChrfOptions::default()).expect("default options");
    group.bench_function("sentence_chrf", |b| {
        b.iter(|| {
            for p in &pairs {
                black_box(chrf.sentence_score(&p.hypothesis, &p.references)).ok();
            }
        });
    });
    group.finish();
}

criterion_group!(benches, overlap_metrics);
criterion_main!(benches);
