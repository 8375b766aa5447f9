#!/usr/bin/env python3
"""Search at scale: fill a judgeflow server with 100,000 runs, then time `search_runs`.

    .venv/bin/python bench/search_100k.py                 # starts the release binary
    .venv/bin/python bench/search_100k.py --runs 20000    # smaller, quicker
    .venv/bin/python bench/search_100k.py --uri http://127.0.0.1:5000   # an existing server

The fill goes over raw REST from a few threads (runs/create with tags, then one log-batch of
params and metrics per run); the timed searches use the official client. Each query is timed
20 times and reported as p50/p95 in ms.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import benchlib  # sets the client's environment before mlflow is imported
import mlflow
import requests

MODELS = ["lr", "tree", "svm"]
QUERIES = [
    ("2-clause filter", "metrics.acc > 0.9 AND params.model = 'lr'", None),
    ("2-clause filter + order_by", "metrics.acc > 0.9 AND params.model = 'lr'", ["metrics.acc DESC"]),
    ("tag + param filter", "tags.team = 'team-7' AND params.model = 'svm'", None),
]
REPEATS = 20

_local = threading.local()


def session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def post(url: str, body: dict) -> dict:
    response = session().post(url, json=body, timeout=60)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
    return response.json()


def fill(base: str, exp_id: str, runs: int, threads: int) -> float:
    api = f"{base}/api/2.0/mlflow"
    start_ms = int(time.time() * 1000) - runs  # distinct start times, all in the past

    def create(i: int) -> None:
        rng = random.Random(i)  # per-run seed: the data is the same at any thread count
        run = post(
            f"{api}/runs/create",
            {
                "experiment_id": exp_id,
                "run_name": f"run-{i}",
                "start_time": start_ms + i,
                "tags": [{"key": "team", "value": f"team-{i % 20}"}],
            },
        )
        run_id = run["run"]["info"]["run_id"]
        ts = start_ms + i
        post(
            f"{api}/runs/log-batch",
            {
                "run_id": run_id,
                "params": [
                    {"key": "model", "value": MODELS[i % 3]},
                    {"key": "lr", "value": str(rng.choice([0.1, 0.01, 0.001]))},
                ],
                "metrics": [
                    {"key": "acc", "value": rng.random(), "timestamp": ts, "step": 0},
                    {"key": "loss", "value": rng.random() * 3, "timestamp": ts, "step": 0},
                ],
            },
        )

    started = time.perf_counter()
    done = 0
    with ThreadPoolExecutor(threads) as pool:
        # Bounded chunks keep memory flat and give progress.
        chunk = 5000
        for first in range(0, runs, chunk):
            list(pool.map(create, range(first, min(first + chunk, runs))))
            done = min(first + chunk, runs)
            rate = done / (time.perf_counter() - started)
            print(f"  {done:,}/{runs:,} runs ({rate:.0f} runs/s)", file=sys.stderr)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--max-results", type=int, default=100)
    parser.add_argument("--uri", help="use this running server (127.0.0.1) instead of starting one")
    parser.add_argument("--judgeflow-bin", type=Path, default=benchlib.release_binary())
    parser.add_argument("--keep", action="store_true", help="keep the server's temp dir")
    parser.add_argument(
        "--experiment-id",
        help="search this already-filled experiment of the --uri server instead of filling a new one",
    )
    args = parser.parse_args()

    server = None
    if args.uri:
        if not args.uri.startswith(("http://127.0.0.1", "http://localhost")):
            sys.exit("--uri must point at this machine")
        base = args.uri.rstrip("/")
    else:
        server = benchlib.start_server("judgeflow", args.judgeflow_bin)
        base = server.url
    try:
        client = mlflow.MlflowClient(tracking_uri=base)
        rows = []
        if args.experiment_id:
            exp_id = args.experiment_id
        else:
            exp_id = client.create_experiment(f"search-{args.runs}-{int(time.time() * 1000)}")
            print(f"filling {args.runs:,} runs into experiment {exp_id} ...", file=sys.stderr)
            fill_s = fill(base, exp_id, args.runs, args.threads)
            rows.append(["fill (runs/s)", f"{args.runs / fill_s:.0f}", "", "", ""])
        for label, filter_string, order_by in QUERIES:
            # The server's share: the same request over raw REST, without the client's parsing.
            body = {"experiment_ids": [exp_id], "filter": filter_string, "max_results": args.max_results}
            if order_by:
                body["order_by"] = order_by
            raw = []
            for _ in range(REPEATS):
                started = time.perf_counter()
                post(f"{base}/api/2.0/mlflow/runs/search", body)
                raw.append((time.perf_counter() - started) * 1000)
            timings, hits = [], 0
            for _ in range(REPEATS):
                started = time.perf_counter()
                found = client.search_runs(
                    [exp_id], filter_string, order_by=order_by, max_results=args.max_results
                )
                timings.append((time.perf_counter() - started) * 1000)
                hits = len(found)
            rows.append([
                f"{label}: `{filter_string}`" + (f" order by {order_by[0]}" if order_by else ""),
                f"{benchlib.percentile(timings, 50):.1f}",
                f"{benchlib.percentile(timings, 95):.1f}",
                f"{benchlib.percentile(raw, 50):.1f}",
                str(hits),
            ])
        if server:
            rows.append(["RSS after (MiB)", f"{server.rss_bytes() / 2**20:.1f}", "", "", ""])
    finally:
        if server:
            server.stop()
            if not args.keep:
                shutil.rmtree(server.workdir, ignore_errors=True)

    print(f"search_runs over {args.runs:,} runs, max_results={args.max_results}, {REPEATS} repeats each\n")
    print(benchlib.markdown_table(["query", "client p50 ms", "client p95 ms", "raw REST p50 ms", "runs returned"], rows))


if __name__ == "__main__":
    main()
