#!/usr/bin/env python3
"""Judgeflow vs `mlflow server`: the same official-client workload against both, in one run.

    python bench/tracking_bench.py                # both servers, Markdown table on stdout
    python bench/tracking_bench.py --skip-mlflow  # judgeflow only (same as --only judgeflow)
    python bench/tracking_bench.py --only mlflow

Run it with the suite's venv (it has mlflow): `.venv/bin/python bench/tracking_bench.py`.
Judgeflow is the release binary, `${CARGO_TARGET_DIR:-target}/release/judgeflow`.
See bench/README.md for what each number means.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import benchlib  # sets the client's environment before mlflow is imported
import mlflow
import requests
from mlflow.entities import Metric, Param

# Workload sizes (fixed so numbers compare across runs and machines).
RUNS = 200
PARAMS_PER_RUN = 10
TAGS_PER_RUN = 5
BATCHES = 20
RAW_BATCHES = 100
NATIVE_BATCHES = 200
METRICS_PER_BATCH = 1000
SINGLE_METRICS = 500
SEARCHES = 20
HISTORY_POINTS = 10_000
HISTORY_READS = 5
IDLE_SETTLE_S = 2.0

SEARCH_FILTER = "params.p0 = '3' AND tags.t0 = 'odd'"  # matches 20 of the 200 runs


def run_workload(server: benchlib.Server) -> dict[str, float]:
    results: dict[str, float] = {"startup_ms": server.startup_s * 1000}
    time.sleep(IDLE_SETTLE_S)
    results["idle_rss_mib"] = server.rss_bytes() / 2**20

    client = mlflow.MlflowClient(tracking_uri=server.url)
    exp_id = client.create_experiment(f"bench-{int(time.time() * 1000)}")

    # 1. Runs with params and tags, the way a training script starts.
    started = time.perf_counter()
    for i in range(RUNS):
        run = client.create_run(
            exp_id,
            run_name=f"run-{i}",
            tags={"t0": "odd" if i % 2 else "even", **{f"t{k}": f"tag-{k}" for k in range(1, TAGS_PER_RUN)}},
        )
        client.log_batch(
            run.info.run_id,
            params=[Param("p0", str(i % 10))] + [Param(f"p{k}", f"value-{k}-{i}") for k in range(1, PARAMS_PER_RUN)],
        )
    results["create_runs_per_s"] = RUNS / (time.perf_counter() - started)

    # 2. Bulk metrics: 20 batches of 1,000 points, 10,000 points for each of two keys.
    run_id = client.create_run(exp_id, run_name="metrics").info.run_id
    now = int(time.time() * 1000)
    batches = []
    for b in range(BATCHES):
        key = "history" if b < BATCHES // 2 else "other"
        base = (b % (BATCHES // 2)) * METRICS_PER_BATCH
        batches.append([Metric(key, float(base + j) / 7, now + base + j, base + j) for j in range(METRICS_PER_BATCH)])
    started = time.perf_counter()
    for batch in batches:
        client.log_batch(run_id, metrics=batch)
    results["log_batch_points_per_s"] = BATCHES * METRICS_PER_BATCH / (time.perf_counter() - started)

    # 3. One call per point, as `mlflow.log_metric` in a training loop.
    started = time.perf_counter()
    for step in range(SINGLE_METRICS):
        client.log_metric(run_id, "single", step * 0.5, timestamp=now + step, step=step)
    results["log_metric_calls_per_s"] = SINGLE_METRICS / (time.perf_counter() - started)

    # 4. Searches with a two-clause filter over the 200 runs.
    timings = []
    for _ in range(SEARCHES):
        started = time.perf_counter()
        found = client.search_runs([exp_id], filter_string=SEARCH_FILTER)
        timings.append((time.perf_counter() - started) * 1000)
        if len(found) != RUNS // 10:
            sys.exit(f"{server.kind}: search returned {len(found)} runs, expected {RUNS // 10}")
    results["search_ms_mean"] = statistics.fmean(timings)
    results["search_ms_p50"] = benchlib.percentile(timings, 50)

    # 5. Reading back a 10,000-point metric history.
    timings = []
    for _ in range(HISTORY_READS):
        started = time.perf_counter()
        history = client.get_metric_history(run_id, "history")
        timings.append((time.perf_counter() - started) * 1000)
        if len(history) != HISTORY_POINTS:
            sys.exit(f"{server.kind}: history has {len(history)} points, expected {HISTORY_POINTS}")
    results["history_ms_p50"] = benchlib.percentile(timings, 50)

    results.update(run_raw_workload(server, exp_id))
    results["rss_after_mib"] = server.rss_bytes() / 2**20
    return results


def run_raw_workload(server: benchlib.Server, exp_id: str) -> dict[str, float]:
    """The same operations over raw REST with request bodies serialized up front, so that the
    numbers are the server's: the Python client spends ~50 ms building each 1,000-metric batch
    and parsing a 10,000-point history, which hides the server behind it."""
    session = requests.Session()
    api = f"{server.url}/api/2.0/mlflow"
    headers = {"Content-Type": "application/json"}

    def post(path: str, body: bytes) -> requests.Response:
        response = session.post(f"{api}/{path}", data=body, headers=headers, timeout=120)
        if response.status_code != 200:
            sys.exit(f"{server.kind}: {path} answered {response.status_code}: {response.text[:300]}")
        return response

    def new_run() -> str:
        return post("runs/create", json.dumps({"experiment_id": exp_id, "start_time": 1}).encode()).json()["run"]["info"]["run_id"]

    run_id = new_run()
    bodies = []
    history_batches = HISTORY_POINTS // METRICS_PER_BATCH
    for b in range(RAW_BATCHES):
        # The first batches make the 10,000-point history read below; the rest go to "other".
        key = "history" if b < history_batches else "other"
        base = b * METRICS_PER_BATCH
        metrics = [
            {"key": key, "value": (base + j) / 7, "timestamp": 1_700_000_000_000 + base + j, "step": base + j}
            for j in range(METRICS_PER_BATCH)
        ]
        bodies.append(json.dumps({"run_id": run_id, "metrics": metrics}).encode())
    started = time.perf_counter()
    for body in bodies:
        post("runs/log-batch", body)
    out = {"raw_log_batch_points_per_s": RAW_BATCHES * METRICS_PER_BATCH / (time.perf_counter() - started)}
    out.update(native_log_batch(server, new_run))

    singles = [
        json.dumps({"run_id": run_id, "key": "single", "value": step * 0.5, "timestamp": 1_700_000_000_000 + step, "step": step}).encode()
        for step in range(SINGLE_METRICS)
    ]
    started = time.perf_counter()
    for body in singles:
        post("runs/log-metric", body)
    out["raw_log_metric_calls_per_s"] = SINGLE_METRICS / (time.perf_counter() - started)

    search = json.dumps({"experiment_ids": [exp_id], "filter": SEARCH_FILTER, "max_results": 1000}).encode()
    timings = []
    for _ in range(SEARCHES):
        started = time.perf_counter()
        found = post("runs/search", search).json().get("runs", [])
        timings.append((time.perf_counter() - started) * 1000)
        if len(found) != RUNS // 10:
            sys.exit(f"{server.kind}: raw search returned {len(found)} runs, expected {RUNS // 10}")
    out["raw_search_ms_p50"] = benchlib.percentile(timings, 50)

    timings = []
    params = {"run_id": run_id, "metric_key": "history", "max_results": 25000}
    for _ in range(HISTORY_READS):
        started = time.perf_counter()
        response = session.get(f"{api}/metrics/get-history", params=params, timeout=120)
        points = response.json().get("metrics", [])
        timings.append((time.perf_counter() - started) * 1000)
        if len(points) != HISTORY_POINTS:
            sys.exit(f"{server.kind}: raw history has {len(points)} points, expected {HISTORY_POINTS}")
    out["raw_history_ms_p50"] = benchlib.percentile(timings, 50)
    return out


def native_log_batch(server: benchlib.Server, new_run) -> dict[str, float]:
    """log-batch from a native client (`log_batch_load`, bodies built before the clock
    starts): the server's own rate, without `requests`' ~1 ms per 88 KB post. One connection
    (one batch at a time, as a client's loop sends them), then four."""
    loader = benchlib.release_binary().parent / "examples" / "log_batch_load"
    if not loader.is_file():
        print(f"  ({loader} not found: cargo build --release -p judgeflow-server --example log_batch_load)", file=sys.stderr)
        return {}
    out = {}
    for connections in (1, 4):
        run_id = new_run()
        command = [str(loader), "--url", server.url, "--run-id", run_id, "--batches", str(NATIVE_BATCHES)]
        command += ["--metrics", str(METRICS_PER_BATCH), "--connections", str(connections)]
        result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
        if result["failures"]:
            sys.exit(f"{server.kind}: {result['failures']} native log-batch requests failed")
        out[f"native_log_batch_c{connections}_points_per_s"] = result["points_per_s"]
    return out


# (key, label, higher_is_better, format)
ROWS = [
    ("startup_ms", "start to healthy (ms)", False, "{:.0f}"),
    ("idle_rss_mib", "idle RSS, process tree (MiB)", False, "{:.1f}"),
    ("create_runs_per_s", f"create {RUNS} runs, {PARAMS_PER_RUN} params + {TAGS_PER_RUN} tags (runs/s)", True, "{:.0f}"),
    ("log_batch_points_per_s", f"{BATCHES} x log_batch of {METRICS_PER_BATCH} metrics (points/s)", True, "{:.0f}"),
    ("log_metric_calls_per_s", f"{SINGLE_METRICS} single log_metric (calls/s)", True, "{:.0f}"),
    ("search_ms_mean", f"{SEARCHES} x search_runs, 2-clause filter (ms, mean)", False, "{:.1f}"),
    ("search_ms_p50", f"{SEARCHES} x search_runs, 2-clause filter (ms, p50)", False, "{:.1f}"),
    ("history_ms_p50", f"get_metric_history, {HISTORY_POINTS:,} points (ms, p50 of {HISTORY_READS})", False, "{:.1f}"),
    ("raw_log_batch_points_per_s", f"raw REST: {RAW_BATCHES} x log-batch of {METRICS_PER_BATCH} metrics (points/s)", True, "{:.0f}"),
    ("native_log_batch_c1_points_per_s", f"native client: log-batch of {METRICS_PER_BATCH} metrics, 1 connection (points/s)", True, "{:.0f}"),
    ("native_log_batch_c4_points_per_s", f"native client: log-batch of {METRICS_PER_BATCH} metrics, 4 connections (points/s)", True, "{:.0f}"),
    ("raw_log_metric_calls_per_s", "raw REST: log-metric, one connection (calls/s)", True, "{:.0f}"),
    ("raw_search_ms_p50", "raw REST: runs/search, 2-clause filter (ms, p50)", False, "{:.1f}"),
    ("raw_history_ms_p50", f"raw REST: get-history, {HISTORY_POINTS:,} points (ms, p50)", False, "{:.1f}"),
    ("rss_after_mib", "RSS after the workload (MiB)", False, "{:.1f}"),
]


def report(results: dict[str, dict[str, float]]) -> str:
    kinds = list(results)
    headers = ["metric", *kinds]
    both = "judgeflow" in results and "mlflow" in results
    if both:
        headers.append("judgeflow vs mlflow")
    rows = []
    for key, label, higher_is_better, fmt in ROWS:
        if any(key not in results[k] for k in kinds):
            continue  # e.g. the native rows when the load generator is not built
        row = [label, *(fmt.format(results[k][key]) for k in kinds)]
        if both:
            jf, ml = results["judgeflow"][key], results["mlflow"][key]
            # Always "how many times better judgeflow is": >1 means judgeflow wins.
            ratio = (jf / ml) if higher_is_better else (ml / jf)
            row.append(f"{ratio:.1f}x better" if ratio >= 1 else f"{1 / ratio:.1f}x worse")
        rows.append(row)
    return benchlib.markdown_table(headers, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["judgeflow", "mlflow"], help="benchmark one server")
    parser.add_argument("--skip-mlflow", action="store_true", help="same as --only judgeflow")
    parser.add_argument("--judgeflow-bin", type=Path, default=benchlib.release_binary())
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument("--keep", action="store_true", help="keep the servers' temp dirs and logs")
    args = parser.parse_args()

    kinds = ["judgeflow", "mlflow"]
    if args.skip_mlflow:
        kinds = ["judgeflow"]
    if args.only:
        kinds = [args.only]

    results: dict[str, dict[str, float]] = {}
    for kind in kinds:
        print(f"benchmarking {kind} ...", file=sys.stderr)
        server = benchlib.start_server(kind, args.judgeflow_bin)
        try:
            results[kind] = run_workload(server)
        finally:
            server.stop()
            if not args.keep:
                shutil.rmtree(server.workdir, ignore_errors=True)
        print(f"  {kind} done", file=sys.stderr)

    print(report(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
