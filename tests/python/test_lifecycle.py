"""The server process itself: restarts keep everything, SIGTERM shuts down cleanly.

These tests start their own server (not the session one) on a directory they own.
"""

from __future__ import annotations

import math
import signal
import time

import mlflow
import pytest
import requests

from conftest import SERVER_KIND, start_server, stop_process, unique_name


@pytest.fixture
def own_server(tmp_path):
    handles = []

    def start():
        handle = start_server(tmp_path, log_name="lifecycle-server.log")
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        stop_process(handle.process)


def test_data_survives_a_restart(own_server, tmp_path):
    first = own_server()
    client = mlflow.MlflowClient(tracking_uri=first.url)
    exp_id = client.create_experiment(unique_name("durable"), tags={"k": "v"})
    run_id = client.create_run(exp_id, run_name="durable-run").info.run_id
    client.log_param(run_id, "p", "1")
    client.log_metric(run_id, "m", 0.5, step=3)
    client.log_metric(run_id, "nan", float("nan"))
    client.set_tag(run_id, "t", "x")
    client.log_text(run_id, "persisted", "notes/a.txt")
    client.set_terminated(run_id)
    model = client.create_logged_model(exp_id, name="durable-model", params={"a": "b"})
    before = client.get_run(run_id)

    stop_process(first.process)
    assert first.process.returncode is not None

    # Same database and artifacts, new process (migrations must be idempotent).
    second = own_server()
    client = mlflow.MlflowClient(tracking_uri=second.url)
    exp = client.get_experiment(exp_id)
    assert exp.tags == {"k": "v"}
    after = client.get_run(run_id)
    assert after.info.run_name == "durable-run"
    assert after.info.status == "FINISHED"
    assert after.info.end_time == before.info.end_time
    assert after.data.params == {"p": "1"}
    assert after.data.metrics["m"] == 0.5
    assert math.isnan(after.data.metrics["nan"])
    assert after.data.tags["t"] == "x"
    assert [(m.step, m.value) for m in client.get_metric_history(run_id, "m")] == [(3, 0.5)]
    path = client.download_artifacts(run_id, "notes/a.txt", str(tmp_path / "dl"))
    assert open(path).read() == "persisted"
    assert client.get_logged_model(model.model_id).params == {"a": "b"}

    # New ids keep being unique after the restart.
    new_exp = client.create_experiment(unique_name("after-restart"))
    assert new_exp != exp_id
    assert client.get_experiment("0").name == "Default"


def test_sigterm_shuts_down_promptly(own_server):
    handle = own_server()
    assert requests.get(f"{handle.url}/health", timeout=5).text.strip() == "OK"
    handle.process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    try:
        handle.process.wait(timeout=10)
    except Exception:
        pytest.fail("server still running 10 s after SIGTERM")
    assert time.monotonic() - started < 10
    if SERVER_KIND == "judgeflow":
        assert handle.process.returncode == 0, handle.log_path.read_text(errors="replace")[-2000:]


def test_sigkill_under_concurrent_writes_keeps_every_acknowledged_batch_whole(own_server):
    """Kill -9 while 8 threads log batches. After a restart, each batch that was answered 200
    is there in full, and every batch is either all there or not there at all."""
    import threading

    first = own_server()
    api = f"{first.url}/api/2.0/mlflow"
    run_id = requests.post(f"{api}/runs/create", json={"experiment_id": "0"}, timeout=10).json()["run"]["info"]["run_id"]
    acknowledged: set[int] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def writer(thread_no: int) -> None:
        session = requests.Session()
        batch = thread_no * 100_000
        while not stop.is_set():
            batch += 1
            body = {
                "run_id": run_id,
                "metrics": [{"key": f"b{batch}", "value": float(i), "timestamp": 1, "step": i} for i in range(50)],
                "tags": [{"key": f"tag-b{batch}", "value": "x"}],
            }
            try:
                response = session.post(f"{api}/runs/log-batch", json=body, timeout=10)
            except requests.RequestException:
                return  # the server is gone
            if response.status_code == 200:
                with lock:
                    acknowledged.add(batch)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 100 and time.monotonic() < deadline:
        time.sleep(0.05)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    assert len(acknowledged) >= 100, "the writers made too little progress to test anything"

    second = own_server()
    run = requests.get(f"{second.url}/api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=10).json()["run"]
    latest = {m["key"]: m for m in run["data"].get("metrics", [])}
    tags = {t["key"] for t in run["data"].get("tags", [])}
    stored = {int(key[1:]) for key in latest}
    assert acknowledged <= stored, f"acknowledged batches lost: {sorted(acknowledged - stored)[:10]}"
    for batch in stored:
        # Whole or nothing: the last point of the batch and its tag came with the first.
        assert latest[f"b{batch}"]["step"] == 49, batch
        assert f"tag-b{batch}" in tags, batch
    history = requests.get(
        f"{second.url}/api/2.0/mlflow/metrics/get-history",
        params={"run_id": run_id, "metric_key": f"b{min(stored)}"},
        timeout=10,
    ).json()["metrics"]
    assert [m["step"] for m in history] == list(range(50))
