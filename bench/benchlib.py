"""Shared pieces of the benchmarks: starting a tracking server, measuring it, printing tables.

Everything talks to 127.0.0.1 only. Servers run in their own process group and temp dir, and
are always stopped, even when a benchmark fails.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]

# Before the client is used: fail fast on a server error instead of retrying for minutes, and
# keep every request on this machine.
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"


def release_binary() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    if not target.is_absolute():
        target = Path.cwd() / target
    return target / "release" / "judgeflow"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class Server:
    kind: str
    url: str
    process: subprocess.Popen
    workdir: Path
    log_path: Path
    startup_s: float

    def rss_bytes(self) -> int:
        return tree_rss_bytes(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=15)


def server_command(kind: str, workdir: Path, port: int, judgeflow_bin: Path) -> list[str]:
    if kind == "judgeflow":
        if not judgeflow_bin.is_file():
            sys.exit(
                f"{judgeflow_bin} not found: run `cargo build --release -p judgeflow-cli` "
                "(or pass --judgeflow-bin)"
            )
        return [
            str(judgeflow_bin), "server",
            "--backend-store-uri", f"sqlite:///{workdir}/judgeflow.db",
            "--artifacts-destination", str(workdir / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port),
        ]  # fmt: skip
    if kind == "mlflow":
        return [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", f"sqlite:///{workdir}/mlflow.db",
            "--default-artifact-root", "mlflow-artifacts:/",
            "--serve-artifacts",
            "--artifacts-destination", str(workdir / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1",
        ]  # fmt: skip
    raise ValueError(kind)


def start_server(kind: str, judgeflow_bin: Path, timeout_s: float = 120.0) -> Server:
    """Start a server on a free port; `startup_s` is the time until /health answered OK."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    (workdir / "artifacts").mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "server.log"
    env = dict(os.environ)
    if kind == "mlflow":
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    command = server_command(kind, workdir, port, judgeflow_bin)
    session = requests.Session()
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
    server = Server(kind, url, process, workdir, log_path, 0.0)
    deadline = started + timeout_s
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            sys.exit(f"{kind} server exited early:\n{log_path.read_text(errors='replace')}")
        try:
            response = session.get(f"{url}/health", timeout=1)
            if response.status_code == 200 and response.text.strip() == "OK":
                server.startup_s = time.perf_counter() - started
                return server
        except requests.RequestException:
            pass
        time.sleep(0.005)
    server.stop()
    sys.exit(f"{kind} server not healthy after {timeout_s}s:\n{log_path.read_text(errors='replace')}")


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        # The command name may contain spaces and parentheses; fields resume after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def tree_pids(root_pid: int) -> list[int]:
    """A process and all its live descendants (MLflow runs worker children)."""
    children = _children_by_parent()
    pids, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children.get(pid, []))
    return pids


def tree_rss_bytes(root_pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    total = 0
    for pid in tree_pids(root_pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, q in [0, 100]."""
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    def line(cells):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process and its live descendants, from `/proc/<pid>/stat`."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in tree_pids(root_pid):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().decode(errors="replace").rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state is field 0, utime 11, stime 12, cutime 13, cstime 14.
        total += sum(int(v) for v in fields[11:15]) / ticks
    return total
