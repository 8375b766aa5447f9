#!/usr/bin/env python3
"""Server capacity under a native load generator (`wrk`, Debian package `wrk`).

    .venv/bin/python bench/load_bench.py                    # judgeflow only
    .venv/bin/python bench/load_bench.py --with-mlflow      # and `mlflow server --workers 1`
    .venv/bin/python bench/load_bench.py --duration 20 --connections 64

For each server: one run is created over REST, then `wrk` drives three endpoints in turn, each
for `--duration` seconds from `--threads` threads over `--connections` kept-alive connections:

* `POST runs/log-metric`: every request a distinct point (the Lua script numbers them per
  thread), so each one is a real insert into the history and the latest-value table;
* `GET runs/get` of a run with 10 params, 10 tags and 10 metrics;
* `POST runs/search` with a 2-clause filter over 200 runs.

wrk reports requests per second and latency percentiles; non-2xx answers are counted and make
the row fail loudly (a fast error is not throughput). The load goes to 127.0.0.1 only.

Before each measured endpoint, the same load runs for `--warmup` seconds (default 5) and is
discarded: a fresh server's first seconds include the database file and WAL growing from
nothing, which is not its steady capacity. The log-metric warm-up writes into a run of its own,
so the measured points are all new inserts, never duplicates of warm-up ones.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import benchlib
import requests

API = "/api/2.0/mlflow"

LOG_METRIC_LUA = """
-- `setup` runs once per thread in the main state; `thread_no` becomes a global of that thread,
-- so the points of different threads never collide.
local threads = 0
function setup(thread)
  thread:set("thread_no", threads)
  threads = threads + 1
end
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local body = string.format(
    '{"run_id":"%s","key":"m%d","value":%d.5,"timestamp":%d,"step":%d}',
    RUN_ID, counter % 10, counter, 1700000000000 + counter, (thread_no or 0) * 100000000 + counter)
  return wrk.format(nil, PATH, nil, body)
end
"""

SEARCH_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"experiment_ids":["EXP"],"filter":"params.p0 = \\'3\\' and tags.t0 = \\'odd\\'","max_results":100}'
"""


def populate(url: str) -> tuple[str, str]:
    """An experiment with 200 runs (10 params, 10 tags, 10 metrics each); returns (exp, run)."""
    session = requests.Session()

    def post(path: str, body: dict) -> dict:
        response = session.post(f"{url}{API}/{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    experiment_id = post("experiments/create", {"name": "load"})["experiment_id"]
    first = None
    for i in range(200):
        run_id = post("runs/create", {"experiment_id": experiment_id, "start_time": 1_700_000_000_000 + i})["run"]["info"]["run_id"]
        post(
            "runs/log-batch",
            {
                "run_id": run_id,
                "params": [{"key": f"p{k}", "value": str((i + k) % 10)} for k in range(10)],
                "tags": [{"key": f"t{k}", "value": "odd" if i % 2 else "even"} for k in range(10)],
                "metrics": [{"key": f"m{k}", "value": i * 0.1, "timestamp": 1, "step": 0} for k in range(10)],
            },
        )
        first = first or run_id
    return experiment_id, first


def run_wrk(url: str, path: str, lua: str | None, args: argparse.Namespace, duration: int | None = None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua or "")
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration or args.duration}s", "--latency",
        "-s", script.name, f"{url}{path}",
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    Path(script.name).unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.MULTILINE))
    if errors:
        sys.exit(f"wrk saw {errors.group(1)} error responses from {path}:\n{output}")
    return {"rps": rps, "p50": latency.get("50", "?"), "p99": latency.get("99", "?")}


def bench(kind: str, args: argparse.Namespace) -> dict[str, dict]:
    server = benchlib.start_server(kind, args.judgeflow_bin)
    try:
        experiment_id, run_id = populate(server.url)
        warmup_run = requests.post(
            f"{server.url}{API}/runs/create", json={"experiment_id": experiment_id, "start_time": 1}, timeout=30
        ).json()["run"]["info"]["run_id"]

        def log_metric_lua(run: str) -> str:
            return LOG_METRIC_LUA.replace("RUN_ID", json.dumps(run)).replace("PATH", json.dumps(f"{API}/runs/log-metric"))

        loads = {
            "log-metric": (f"{API}/runs/log-metric", log_metric_lua(warmup_run), log_metric_lua(run_id)),
            "runs/get": (f"{API}/runs/get?run_id={run_id}", None, None),
            "runs/search": (f"{API}/runs/search", SEARCH_LUA.replace("EXP", experiment_id), SEARCH_LUA.replace("EXP", experiment_id)),
        }
        results = {}
        for endpoint, (path, warmup_lua, lua) in loads.items():
            if args.warmup > 0:
                run_wrk(server.url, path, warmup_lua, args, duration=args.warmup)
            results[endpoint] = run_wrk(server.url, path, lua, args)
        results["rss_mib"] = {"rps": server.rss_bytes() / 2**20}
        return results
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(server.workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judgeflow-bin", type=Path, default=benchlib.release_binary())
    parser.add_argument("--with-mlflow", action="store_true")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5, help="seconds of the same load before each measurement, discarded")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")

    kinds = ["judgeflow"] + (["mlflow"] if args.with_mlflow else [])
    results = {kind: bench(kind, args) for kind in kinds}
    headers = ["endpoint"] + [f"{kind} req/s (p50 / p99)" for kind in kinds]
    if args.with_mlflow:
        headers.append("ratio")
    rows = []
    for endpoint in ["log-metric", "runs/get", "runs/search"]:
        row = [endpoint]
        for kind in kinds:
            r = results[kind][endpoint]
            row.append(f"{r['rps']:,.0f} ({r['p50']} / {r['p99']})")
        if args.with_mlflow:
            row.append(f"{results['judgeflow'][endpoint]['rps'] / results['mlflow'][endpoint]['rps']:.0f}x")
        rows.append(row)
    rows.append(["server RSS after, MiB"] + [f"{results[k]['rss_mib']['rps']:.0f}" for k in kinds] + ([""] if args.with_mlflow else []))
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s after {args.warmup}s of warm-up, 127.0.0.1")
    print(benchlib.markdown_table(headers, rows))


if __name__ == "__main__":
    main()
