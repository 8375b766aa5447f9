"""ROUGE, BLEU and chrF: the Rust kernels (crates/judgeflow-scorers) against the Python
reference packages on the same 20,000 pairs, one thread each.

    .venv/bin/python bench/scorers_vs_python.py [--rounds 2] [--no-build]

The Rust side is `examples/scorers_bench.rs` (release build): it writes the corpus to a
JSONL file, then times each kernel, best of five passes. The Python side reads that file and
times `rouge-score` 0.1.2 and `sacrebleu` 2.6.0 on it, one pass per round, with sacrebleu's
tokenizer caches cleared before each pass (the Rust kernels cache nothing across pairs).
Rounds alternate Rust and Python so both see the same machine load; each side's best round
is reported. Python is called the way an evaluation loop would: one reused scorer object,
and for BLEU also the `sacrebleu.sentence_bleu` convenience function (a new BLEU per call).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def rust_example() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    if not target.is_absolute():
        target = REPO / target
    return target / "release" / "examples" / "scorers_bench"


def time_python(pairs: list[dict]) -> dict[str, float]:
    from rouge_score import rouge_scorer
    import sacrebleu
    from sacrebleu.metrics import BLEU, CHRF
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
    from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp

    def clear_caches() -> None:
        Tokenizer13a.__call__.cache_clear()
        TokenizerRegexp.__call__.cache_clear()

    def timed(fn) -> float:
        clear_caches()
        start = time.perf_counter()
        for pair in pairs:
            fn(pair["hypothesis"], pair["references"])
        return time.perf_counter() - start

    rouge_l = rouge_scorer.RougeScorer(["rougeL"])
    rouge_all = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    bleu = BLEU(effective_order=True)
    chrf = CHRF()
    return {
        "rouge_l": timed(lambda h, r: rouge_l.score(r[0], h)),
        "rouge_1_2_l": timed(lambda h, r: rouge_all.score(r[0], h)),
        "bleu": timed(lambda h, r: bleu.sentence_score(h, r)),
        "sentence_bleu": timed(lambda h, r: sacrebleu.sentence_bleu(h, r)),
        "chrf": timed(lambda h, r: chrf.sentence_score(h, r)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-build", action="store_true", help="use the existing example binary")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    if not args.no_build:
        subprocess.run(
            ["cargo", "build", "--release", "-p", "judgeflow-scorers", "--example", "scorers_bench"],
            cwd=REPO,
            check=True,
        )
    binary = rust_example()
    rust: dict[str, float] = {}
    python: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "pairs.jsonl"
        for round_no in range(1, args.rounds + 1):
            out = subprocess.run([binary, corpus], check=True, capture_output=True, text=True)
            timings = json.loads(out.stdout)
            n_pairs = timings.pop("pairs")
            for key, seconds in timings.items():
                rust[key] = min(seconds, rust.get(key, float("inf")))
            pairs = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
            assert len(pairs) == n_pairs
            for key, seconds in time_python(pairs).items():
                python[key] = min(seconds, python.get(key, float("inf")))
            print(f"round {round_no}: rust {timings}  python {python}", file=sys.stderr)

    rows = [
        ("ROUGE-L", "rouge_l", "rouge_l", "`RougeScorer(['rougeL']).score`"),
        ("ROUGE-1, -2, -L together", "rouge_1_2_l", "rouge_1_2_l", "`RougeScorer([...3 types]).score`"),
        ("sentence BLEU", "bleu", "bleu", "`BLEU(effective_order=True).sentence_score`"),
        ("sentence BLEU", "bleu", "sentence_bleu", "`sacrebleu.sentence_bleu`"),
        ("sentence chrF", "chrf", "chrf", "`CHRF().sentence_score`"),
    ]
    print(f"{n_pairs} pairs, one thread, best of {args.rounds} rounds "
          f"({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()})\n")
    print("| kernel | Python call | Python s | Rust s | Rust pairs/s | speed-up |")
    print("|---|---|---|---|---|---|")
    for label, rust_key, py_key, call in rows:
        r, p = rust[rust_key], python[py_key]
        print(f"| {label} | {call} | {p:.2f} | {r:.3f} | {n_pairs / r:,.0f} | **{p / r:.0f}×** |")


if __name__ == "__main__":
    main()
