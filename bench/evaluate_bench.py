"""`mlflow.genai.evaluate` against `judgeflow server` and `mlflow server`, same script, same run.

Each server gets the same workload: 200 rows, a `predict_fn` that calls an OpenAI-compatible
endpoint through the `openai` package (a stand-in answering after 50 ms), and three code
scorers. The client runs in a fresh Python process per server, so nothing is cached between
them. Reported: the wall-clock of the `evaluate` call, its ratio to the ideal (rows × latency
÷ the client's worker threads), and the CPU the client process and the server's process tree
used during the whole worker (evaluate plus the read-back check).

    .venv/bin/python bench/evaluate_bench.py                     # both servers
    .venv/bin/python bench/evaluate_bench.py --repeats 3         # alternate servers, 3 each
    .venv/bin/python bench/evaluate_bench.py --rate-limit 0      # MLflow's client limiter off
    .venv/bin/python bench/evaluate_bench.py --standin python    # stand-in inside the client

The stand-in is, by default, `judgeflow-mock-llm` in a process of its own (`--standin
process`; `cargo build --release -p judgeflow-test`), as a real endpoint would be. With
`--standin python` it is `tests/python/openai_standin.py`, a thread inside the client process,
whose request handling then competes with the client for its GIL.

`--rate-limit` sets `MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT` for the client; unset, the client
uses its default (`auto`: an AIMD token bucket that starts predict calls at 10/s and scorer
calls at 10/s per scorer, and raises them to at most twice that).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))

from benchlib import markdown_table, release_binary, start_server, tree_cpu_seconds  # noqa: E402


def worker(url: str, rows: int, latency_s: float, standin_url: str | None) -> None:
    """Runs in the child process: one evaluate call, printed as JSON."""
    import contextlib

    import mlflow
    import openai
    from mlflow.genai.scorers import scorer
    from openai_standin import StandIn

    # The in-process stand-in answers "echo: <question>"; judgeflow-mock-llm echoes unchanged.
    prefix = "echo: " if standin_url is None else ""

    @scorer
    def echoes(inputs, outputs) -> bool:
        return outputs == f"{prefix}{inputs['question']}"

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
            "expectations": {"expected_response": f"{prefix}question {i}"},
        }
        for i in range(rows)
    ]
    with contextlib.ExitStack() as stack:
        if standin_url is None:
            standin_url = stack.enter_context(StandIn(latency_s=latency_s)).base_url
        client = openai.OpenAI(base_url=standin_url, api_key="bench")

        def predict(question: str) -> str:
            reply = client.chat.completions.create(
                model="stand-in", messages=[{"role": "user", "content": question}]
            )
            return reply.choices[0].message.content

        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        result = mlflow.genai.evaluate(data=data, predict_fn=predict, scorers=[echoes, length, matches])
        elapsed = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    traces = mlflow.search_traces(run_id=result.run_id, return_type="list", max_results=rows + 10)
    assert len(traces) == rows, f"{len(traces)} traces for {rows} rows"
    assert result.metrics["echoes/mean"] == 1.0, result.metrics
    assert result.metrics["matches/mean"] == 1.0, result.metrics
    workers = int(os.environ.get("MLFLOW_GENAI_EVAL_MAX_WORKERS", "10"))
    client_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    print(
        json.dumps(
            {"seconds": elapsed, "rows": rows, "workers": workers, "traces": len(traces), "client_cpu": client_cpu}
        )
    )


class ProcessStandIn:
    """`judgeflow-mock-llm` as a process; its first stdout line is its base URL."""

    def __init__(self, binary: Path, latency_s: float):
        if not binary.is_file():
            sys.exit(f"{binary} not found: cargo build --release -p judgeflow-test")
        self.process = subprocess.Popen(
            [str(binary), "--latency-ms", str(round(latency_s * 1000))],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http://"):
            self.stop()
            sys.exit(f"judgeflow-mock-llm printed {self.base_url!r}, not its URL")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def run_against(kind: str, args: argparse.Namespace) -> dict:
    standin = ProcessStandIn(args.mock_bin, args.latency) if args.standin == "process" else None
    server = start_server(kind, args.judgeflow_bin)
    try:
        env = {**os.environ, "MLFLOW_TRACKING_URI": server.url}
        if args.rate_limit is not None:
            env["MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT"] = args.rate_limit
        command = [sys.executable, __file__, "--worker", server.url, "--rows", str(args.rows)]
        command += ["--latency", str(args.latency)]
        if standin is not None:
            command += ["--standin-url", standin.base_url]
        server_cpu_before = tree_cpu_seconds(server.process.pid)
        output = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        result = json.loads(output.stdout.strip().splitlines()[-1])
        result["server_cpu"] = tree_cpu_seconds(server.process.pid) - server_cpu_before
        return result
    finally:
        server.stop()
        if standin is not None:
            standin.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=1, help="runs per server, alternating")
    parser.add_argument("--standin", choices=["process", "python"], default="process")
    parser.add_argument("--rate-limit", help="MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT for the client")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--judgeflow-bin", type=Path, default=release_binary())
    parser.add_argument("--mock-bin", type=Path, default=release_binary().with_name("judgeflow-mock-llm"))
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--standin-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.rows, args.latency, args.standin_url)
        return

    kinds = ["judgeflow"] + ([] if args.skip_mlflow else ["mlflow"])
    results: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for _ in range(args.repeats):
        for kind in kinds:
            results[kind].append(run_against(kind, args))
            print(kind, json.dumps(results[kind][-1]), file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": results}))

    workers = results["judgeflow"][0]["workers"]
    ideal = args.rows * args.latency / workers
    median = {kind: statistics.median(r["seconds"] for r in runs) for kind, runs in results.items()}
    rows = []
    for kind, runs in results.items():
        walls = " / ".join(f"{r['seconds']:.2f}" for r in runs)
        cpu = " / ".join(f"{r['client_cpu']:.1f} + {r['server_cpu']:.1f}" for r in runs)
        rows.append([kind, f"{walls} s", f"{median[kind] / ideal:.1f}×", cpu])
    if "mlflow" in median:
        rows.append(["mlflow ÷ judgeflow (medians)", f"{median['mlflow'] / median['judgeflow']:.2f}×", "", ""])
    limit = args.rate_limit if args.rate_limit is not None else "client default (auto)"
    print(
        f"{args.rows} rows, stand-in ({args.standin}) latency {args.latency * 1000:.0f} ms, "
        f"predict rate limit {limit}, ideal {ideal:.2f} s\n"
    )
    print(markdown_table(["server", "evaluate wall-clock", "÷ ideal", "CPU s: client + server"], rows))


if __name__ == "__main__":
    main()
