"""Scores a JSONL corpus with the Python reference packages, for the parity test.

    python reference_scores.py IN.jsonl OUT.jsonl

Each input line is {"hypothesis": str, "references": [str, ...]}; each output line holds,
for the same pair, every value the Rust kernels must reproduce. ROUGE uses the first
reference as the target. BLEU and chrF scores are divided by 100 here, exactly as the Rust
side does, so both sides do the same float operations.
"""

import json
import sys

from rouge_score import rouge_scorer
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF


def rouge(score):
    return [score.precision, score.recall, score.fmeasure]


def bleu(score):
    return {
        "score": score.score / 100,
        "counts": list(score.counts),
        "totals": list(score.totals),
        "sys_len": score.sys_len,
        "ref_len": score.ref_len,
        "bp": score.bp,
    }


def main(in_path, out_path):
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"])
    variants = {
        "bleu_lowercase": BLEU(lowercase=True, effective_order=True),
        "bleu_none": BLEU(smooth_method="none", effective_order=True),
        "bleu_floor": BLEU(smooth_method="floor", effective_order=True),
        "bleu_add_k": BLEU(smooth_method="add-k", effective_order=True),
        "bleu_no_effective_order": BLEU(effective_order=False),
        "bleu_tokenize_none": BLEU(tokenize="none", effective_order=True),
    }
    chrf_pp = CHRF(word_order=2)
    chrf_eps = CHRF(eps_smoothing=True)
    chrf_ws_lc = CHRF(whitespace=True, lowercase=True)
    with open(in_path, encoding="utf-8") as inp, open(out_path, "w", encoding="utf-8") as out:
        for line in inp:
            pair = json.loads(line)
            hyp, refs = pair["hypothesis"], pair["references"]
            r = scorer.score(refs[0], hyp)
            row = {
                "rouge1": rouge(r["rouge1"]),
                "rouge2": rouge(r["rouge2"]),
                "rougeL": rouge(r["rougeL"]),
                "rougeLsum": rouge(r["rougeLsum"]),
                "bleu": bleu(sacrebleu.sentence_bleu(hyp, refs)),
                "chrf": sacrebleu.sentence_chrf(hyp, refs).score / 100,
                "chrf_pp": chrf_pp.sentence_score(hyp, refs).score / 100,
                "chrf_eps": chrf_eps.sentence_score(hyp, refs).score / 100,
                "chrf_ws_lc": chrf_ws_lc.sentence_score(hyp, refs).score / 100,
            }
            for name, metric in variants.items():
                row[name] = bleu(metric.sentence_score(hyp, refs))
            out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
