"""`mlflow.genai.evaluate` against `judgeflow server` and `mlflow server`, same script, same run.

Each server gets the same workload: 200 rows, a `predict_fn` that calls an OpenAI-compatible
endpoint through the `openai` package (a local stand-in answering after 50 ms), and three code
scorers. The client runs in a fresh Python process per server, so nothing is cached between
them. Reported: the wall-clock of the `evaluate` call, and its ratio to the ideal (rows ×
latency ÷ the client's worker threads).

    .venv/bin/python bench/evaluate_bench.py            # both servers
    .venv/bin/python bench/evaluate_bench.py --skip-mlflow
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))

from benchlib import markdown_table, release_binary, start_server  # noqa: E402


def worker(url: str, rows: int, latency_s: float) -> None:
    """Runs in the child process: one evaluate call, printed as JSON."""
    import mlflow
    import openai
    from mlflow.genai.scorers import scorer
    from openai_standin import StandIn

    @scorer
    def echoes(inputs, outputs) -> bool:
        return outputs == f"echo: {inputs['question']}"

    @scorer
    def length(outputs) -> int:
        return len(outputs)

    @scorer
    def matches(outputs, expectations) -> bool:
        return outputs == expectations["expected_response"]

    mlflow.set_tracking_uri(url)
    mlflow.set_experiment(f"evaluate-bench-{time.time_ns()}")
    data = [
        {
            "inputs": {"question": f"question {i}"},
            "expectations": {"expected_response": f"echo: question {i}"},
        }
        for i in range(rows)
    ]
    with StandIn(latency_s=latency_s) as standin:
        client = openai.OpenAI(base_url=standin.base_url, api_key="bench")

        def predict(question: str) -> str:
            reply = client.chat.completions.create(
                model="stand-in", messages=[{"role": "user", "content": question}]
            )
            return reply.choices[0].message.content

        started = time.perf_counter()
        result = mlflow.genai.evaluate(data=data, predict_fn=predict, scorers=[echoes, length, matches])
        elapsed = time.perf_counter() - started
    traces = mlflow.search_traces(run_id=result.run_id, return_type="list", max_results=rows + 10)
    assert len(traces) == rows, f"{len(traces)} traces for {rows} rows"
    assert result.metrics["echoes/mean"] == 1.0, result.metrics
    workers = int(os.environ.get("MLFLOW_GENAI_EVAL_MAX_WORKERS", "10"))
    print(json.dumps({"seconds": elapsed, "rows": rows, "workers": workers, "traces": len(traces)}))


def run_against(kind: str, judgeflow_bin: Path, rows: int, latency_s: float) -> dict:
    server = start_server(kind, judgeflow_bin)
    try:
        env = {**os.environ, "MLFLOW_TRACKING_URI": server.url}
        output = subprocess.run(
            [sys.executable, __file__, "--worker", server.url, "--rows", str(rows), "--latency", str(latency_s)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        line = output.stdout.strip().splitlines()[-1]
        return json.loads(line)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--judgeflow-bin", type=Path, default=release_binary())
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.rows, args.latency)
        return

    kinds = ["judgeflow"] + ([] if args.skip_mlflow else ["mlflow"])
    results = {kind: run_against(kind, args.judgeflow_bin, args.rows, args.latency) for kind in kinds}
    ideal = args.rows * args.latency / results["judgeflow"]["workers"]
    rows = []
    for kind, result in results.items():
        rows.append([kind, f"{result['seconds']:.2f} s", f"{result['seconds'] / ideal:.1f}×"])
    if "mlflow" in results:
        ratio = results["mlflow"]["seconds"] / results["judgeflow"]["seconds"]
        rows.append(["mlflow ÷ judgeflow", f"{ratio:.1f}×", ""])
    print(f"{args.rows} rows, stand-in latency {args.latency * 1000:.0f} ms, ideal {ideal:.2f} s\n")
    print(markdown_table(["server", "evaluate wall-clock", "÷ ideal"], rows))


if __name__ == "__main__":
    main()
