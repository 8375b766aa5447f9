"""Compatibility suite: the official `mlflow` Python client against the real `judgeflow` binary.

One server is started per test session (see `server`). Tests isolate themselves by working in
experiments with unique names, never by restarting the server, so the suite stays fast.

Environment knobs:

* `JUDGEFLOW_BIN` — the binary to test (default `${CARGO_TARGET_DIR:-<repo>/target}/debug/judgeflow`).
* `JUDGEFLOW_TEST_SERVER=mlflow` — start the reference `mlflow server` from this Python
  environment instead. This checks the *tests* against MLflow itself: a test that fails there is
  a wrong test, not a Judgeflow bug. Tests marked `judgeflow_only` pin places where Judgeflow is
  deliberately stricter than MLflow (e.g. malformed JSON is a 400 here, a 500 in MLflow).
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

# Set before any client call: a server 5xx must fail the test at once instead of being retried
# with backoff for minutes, and no request may leave the machine (telemetry).
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"

import mlflow  # noqa: E402  (must come after the environment above)

REPO_ROOT = Path(__file__).resolve().parents[2]
HEALTH_TIMEOUT_S = 30.0
SERVER_KIND = os.environ.get("JUDGEFLOW_TEST_SERVER", "judgeflow")

# The running server, for the reporting hooks below (fixtures cannot reach into hooks).
_SERVER: ServerHandle | None = None


@dataclasses.dataclass
class ServerHandle:
    kind: str
    url: str
    port: int
    process: subprocess.Popen
    log_path: Path
    artifacts_dir: Path
    data_dir: Path


def cargo_target_dir() -> Path:
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    # Cargo resolves a relative CARGO_TARGET_DIR against the working directory.
    return target_dir if target_dir.is_absolute() else Path.cwd() / target_dir


def judgeflow_binary() -> Path:
    if explicit := os.environ.get("JUDGEFLOW_BIN"):
        return Path(explicit)
    return cargo_target_dir() / "debug" / "judgeflow"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(kind: str, data_dir: Path, artifacts_dir: Path, port: int) -> list[str]:
    if kind == "judgeflow":
        binary = judgeflow_binary()
        if not binary.is_file():
            pytest.exit(
                f"judgeflow binary not found at {binary}; run `cargo build -p judgeflow-cli` "
                "or set JUDGEFLOW_BIN",
                returncode=2,
            )
        return [
            str(binary), "server",
            "--backend-store-uri", f"sqlite:///{data_dir}/judgeflow.db",
            "--artifacts-destination", str(artifacts_dir),
            "--host", "127.0.0.1",
            "--port", str(port),
        ]  # fmt: skip
    if kind == "mlflow":
        return [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", f"sqlite:///{data_dir}/mlflow.db",
            "--default-artifact-root", "mlflow-artifacts:/",
            "--serve-artifacts",
            "--artifacts-destination", str(artifacts_dir),
            "--host", "127.0.0.1",
            "--port", str(port),
            "--workers", "1",
        ]  # fmt: skip
    raise pytest.UsageError(f"JUDGEFLOW_TEST_SERVER must be judgeflow or mlflow, got {kind!r}")


class ServerStartError(Exception):
    """The server did not come up; the message carries its log."""


def wait_until_healthy(process: subprocess.Popen, url: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(
                f"server exited early with status {process.returncode}; stderr:\n"
                f"{log_path.read_text(errors='replace')}"
            )
        try:
            response = requests.get(f"{url}/health", timeout=2)
            if response.status_code == 200 and response.text.strip() == "OK":
                return
            last_error = f"HTTP {response.status_code}: {response.text[:200]!r}"
        except requests.RequestException as err:
            last_error = str(err)
        time.sleep(0.1)
    stop_process(process)
    raise ServerStartError(
        f"server not healthy after {timeout:.0f}s ({last_error}); stderr:\n"
        f"{log_path.read_text(errors='replace')}"
    )


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    if process.poll() is not None:
        return
    # The server runs in its own process group so that MLflow's worker children go too.
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def start_server(data_dir: Path, log_name: str | None = None) -> ServerHandle:
    """Start a server of SERVER_KIND storing everything under `data_dir`; wait until healthy.

    Reusing a `data_dir` restarts a server on the same database and artifacts."""
    artifacts_dir = data_dir / "artifacts"
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = data_dir / (log_name or f"{SERVER_KIND}-server.log")
    env = dict(os.environ)
    env.setdefault("RUST_BACKTRACE", "1")
    env.setdefault("NO_COLOR", "1")  # a log file, not a terminal
    if SERVER_KIND == "mlflow":
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            server_command(SERVER_KIND, data_dir, artifacts_dir, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
            env=env,
            start_new_session=True,
        )
    handle = ServerHandle(SERVER_KIND, url, port, process, log_path, artifacts_dir, data_dir)
    wait_until_healthy(process, url, log_path, HEALTH_TIMEOUT_S)
    return handle


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    """The server under test, listening on 127.0.0.1, with the client pointed at it."""
    global _SERVER
    data_dir = tmp_path_factory.mktemp("server")
    try:
        handle = start_server(data_dir)
    except ServerStartError as err:
        pytest.exit(str(err), returncode=3)
    _SERVER = handle
    try:
        os.environ["MLFLOW_TRACKING_URI"] = handle.url
        mlflow.set_tracking_uri(handle.url)
        yield handle
    finally:
        stop_process(handle.process)


@pytest.fixture(autouse=True)
def _clean_client_state(server: ServerHandle, request: pytest.FixtureRequest):
    """No active run or experiment leaks from one test into the next."""
    request.node.stash[_LOG_OFFSET] = _log_size(server)
    yield
    while mlflow.active_run() is not None:
        mlflow.end_run()
    # The fluent API remembers the last experiment; tests that rely on it set it themselves.
    mlflow.tracking.fluent._active_experiment_id = None
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    os.environ.pop("MLFLOW_EXPERIMENT_NAME", None)


@pytest.fixture
def client(server: ServerHandle) -> mlflow.MlflowClient:
    return mlflow.MlflowClient(tracking_uri=server.url)


def unique_name(prefix: str = "jf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def experiment_id(client: mlflow.MlflowClient) -> str:
    """A fresh experiment, also made the fluent API's active experiment."""
    exp_id = client.create_experiment(unique_name("exp"))
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


# --------------------------------------------------------------------------------------------
# Raw HTTP, for what the client hides: status codes, error bodies, headers, exact paths.


class RawResponse:
    """The subset of `requests.Response` the tests use, for replies read via http.client."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status_code = status
        self.headers = requests.structures.CaseInsensitiveDict(headers)
        self.content = body
        self.text = body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class Rest:
    """Direct calls to the REST API of the server under test."""

    def __init__(self, server: ServerHandle):
        self.server = server
        self.base = server.url
        self.session = requests.Session()

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, f"{self.base}{path}", **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def verbatim(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> RawResponse:
        """Send `path` byte for byte. `requests` would resolve `..` segments before sending,
        which hides exactly the traversal attempts the server must refuse."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return RawResponse(response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()


@pytest.fixture
def rest(server: ServerHandle) -> Rest:
    return Rest(server)


def assert_mlflow_error(response, status: int, error_code: str) -> dict:
    """The response is an MLflow error: the given HTTP status and a JSON body with the code."""
    detail = f"{response.status_code} {response.text[:500]!r}"
    assert response.status_code == status, detail
    try:
        body = response.json()
    except ValueError:
        pytest.fail(f"error body is not JSON: {detail}")
    assert body.get("error_code") == error_code, detail
    assert isinstance(body.get("message"), str) and body["message"], detail
    return body


# --------------------------------------------------------------------------------------------
# Reporting: point at the server log, and show what the server said during a failing test.

_LOG_OFFSET = pytest.StashKey[int]()


def _log_size(server: ServerHandle | None) -> int:
    try:
        return server.log_path.stat().st_size if server else 0
    except OSError:
        return 0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "judgeflow_only: Judgeflow is deliberately stricter than MLflow here"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SERVER_KIND != "mlflow":
        return
    skip = pytest.mark.skip(reason="MLflow itself differs here (see the test's docstring)")
    for item in items:
        if item.get_closest_marker("judgeflow_only"):
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed and _SERVER is not None:
        start = item.stash.get(_LOG_OFFSET, 0)
        try:
            with _SERVER.log_path.open("rb") as log:
                log.seek(start)
                during_test = log.read().decode("utf-8", errors="replace")
        except OSError:
            during_test = ""
        tail = during_test[-6000:] or "(nothing logged during this test)"
        report.sections.append((f"{_SERVER.kind} server log ({_SERVER.log_path})", tail))
    return report


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _SERVER is None:
        return
    if exitstatus != 0:
        # The pytest temp dir is pruned after a few sessions; keep the log where it can be found.
        kept = cargo_target_dir() / f"{_SERVER.kind}-compat-server.log"
        try:
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_SERVER.log_path, kept)
        except OSError:
            kept = _SERVER.log_path
        terminalreporter.write_line(f"{_SERVER.kind} server log: {kept}")


@pytest.fixture
def openai_standin():
    """A local OpenAI-compatible server; `.base_url` is what `openai.OpenAI(base_url=…)` takes."""
    from openai_standin import StandIn

    with StandIn() as standin:
        yield standin
