"""OTLP ingest throughput and trace search at 100,000 stored traces, on `judgeflow server`.

1. Ingest: the native load generator (`cargo run --release -p judgeflow-server --example
   otlp_load`) sends protobuf exports of fresh traces to `/v1/traces` from 16 connections;
   spans per second sustained, for two batch shapes (one trace of 20 spans per request, and 10
   traces of 10 spans per request, as an OTel SDK's batch processor sends them).
2. Fill: more exports until the experiment holds `--traces` traces (default 100,000).
3. Search: `POST /api/3.0/mlflow/traces/search` (the call behind `mlflow.search_traces`) for a
   first page of 100 with the default order and with filters, timed over plain HTTP (server
   time plus loopback), median of 20; plus the same first page through
   `MlflowClient.search_traces` (which also fetches each trace's spans).

    cargo build --release -p judgeflow-cli -p judgeflow-server --example otlp_load
    .venv/bin/python bench/traces_bench.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import markdown_table, release_binary, start_server  # noqa: E402


def load_generator() -> Path:
    return release_binary().parent / "examples" / "otlp_load"


def run_load(url: str, experiment_id: str, requests_: int, traces: int, spans: int, connections: int = 16) -> dict:
    output = subprocess.run(
        [
            str(load_generator()), "--url", url, "--experiment-id", experiment_id,
            "--requests", str(requests_), "--connections", str(connections),
            "--traces-per-request", str(traces), "--spans-per-trace", str(spans),
        ],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result = json.loads(output.stdout.strip().splitlines()[-1])
    if result["failures"]:
        sys.exit(f"load generator saw {result['failures']} failures: {output.stderr[-2000:]}")
    return result


def timed_search(url: str, experiment_id: str, filter_string: str | None, repeats: int = 20) -> tuple[float, int]:
    body = {
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}],
        "max_results": 100,
    }
    if filter_string:
        body["filter"] = filter_string
    session = requests.Session()
    times, hits = [], 0
    for _ in range(repeats + 2):
        started = time.perf_counter()
        response = session.post(f"{url}/api/3.0/mlflow/traces/search", json=body, timeout=60)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        hits = len(response.json().get("traces", []))
    return statistics.median(times[2:]), hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--judgeflow-bin", type=Path, default=release_binary())
    args = parser.parse_args()
    if not load_generator().is_file():
        sys.exit(f"{load_generator()} not found: cargo build --release -p judgeflow-server --example otlp_load")

    server = start_server("judgeflow", args.judgeflow_bin)
    try:
        experiment_id = requests.post(
            f"{server.url}/api/2.0/mlflow/experiments/create", json={"name": "traces-bench"}, timeout=30
        ).json()["experiment_id"]
        ingest_rows = []
        stored = 0
        for label, (requests_, traces, spans) in {
            "1 trace × 20 spans per request": (4000, 1, 20),
            "10 traces × 10 spans per request": (1000, 10, 10),
        }.items():
            result = run_load(server.url, experiment_id, requests_, traces, spans)
            stored += requests_ * traces
            ingest_rows.append([
                label, f"{result['spans_per_s']:,.0f}", f"{result['requests_per_s']:,.0f}",
                f"{result['p50_ms']:.1f}", f"{result['p99_ms']:.1f}",
            ])  # fmt: skip
        print("OTLP ingest (16 connections, protobuf):\n")
        print(markdown_table(["batch shape", "spans/s", "requests/s", "p50 ms", "p99 ms"], ingest_rows))

        remaining = args.traces - stored
        if remaining > 0:
            started = time.perf_counter()
            run_load(server.url, experiment_id, (remaining + 9) // 10, 10, 5)
            print(f"\nfilled to {args.traces:,} traces in {time.perf_counter() - started:.0f} s")

        search_rows = []
        for label, filter_string in [
            ("newest 100 (default order)", None),
            ("trace.status = 'OK'", "trace.status = 'OK'"),
            ("span.name = 'tool-3' (span filter)", "span.name = 'tool-3'"),
            ("trace.timestamp_ms > 0 AND span.type = 'TOOL'", "trace.timestamp_ms > 0 AND span.type = 'TOOL'"),
            # Worst cases: nothing matches, so every stored trace is probed.
            ("span.name = 'missing' (no hits: full scan)", "span.name = 'missing'"),
            ("tags.team = 'missing' (no hits: full scan)", "tags.team = 'missing'"),
        ]:
            median_ms, hits = timed_search(server.url, experiment_id, filter_string)
            search_rows.append([label, str(hits), f"{median_ms:.1f}"])

        import mlflow

        client = mlflow.MlflowClient(tracking_uri=server.url)
        times = []
        for _ in range(5):
            started = time.perf_counter()
            page = client.search_traces(locations=[experiment_id], max_results=100)
            times.append((time.perf_counter() - started) * 1000)
        search_rows.append(
            ["MlflowClient.search_traces, 100 with spans", str(len(page)), f"{statistics.median(times):.1f}"]
        )
        print(f"\nsearch_traces at {args.traces:,} traces (median of 20, ms):\n")
        print(markdown_table(["query (first page of 100)", "hits", "ms"], search_rows))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
