"""`judgeflow eval run` writes straight into a SQLite store; a `judgeflow server` on that same
store then serves the run to the official `mlflow` client exactly as if `mlflow.genai.evaluate`
had produced it: the run, its metrics, one trace per row and their assessments, and the
results table as an artifact."""

from __future__ import annotations

import json
import subprocess

import mlflow
import pytest

from conftest import judgeflow_binary, start_server, stop_process

pytestmark = pytest.mark.judgeflow_only

SUITE = """
name: python-compat
experiment: eval-engine-compat
dataset: {path: data.jsonl}
target: {kind: recorded}
scorers:
  - kind: exact_match
  - kind: token_f1
gate:
  exact_match: {min_mean: 0.5}
"""

ROWS = [
    {"inputs": {"question": "capital of France?"}, "expectations": {"expected_response": "Paris"}, "outputs": "Paris"},
    {"inputs": {"question": "2 + 2?"}, "expectations": {"expected_response": "4"}, "outputs": "4"},
    {"inputs": {"question": "largest planet?"}, "expectations": {"expected_response": "Jupiter"}, "outputs": "Saturn"},
]


def test_native_eval_run_is_readable_with_the_mlflow_client(tmp_path, server):
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    (tmp_path / "suite.yaml").write_text(SUITE)
    done = subprocess.run(
        [
            str(judgeflow_binary()), "eval", "run", str(tmp_path / "suite.yaml"),
            "--tracking-uri", f"sqlite:///{tmp_path}/judgeflow.db",
            "--artifacts-destination", str(tmp_path / "artifacts"),
            "--json",
        ],  # fmt: skip
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    run_id = report["run_id"]

    handle = start_server(tmp_path, log_name="eval-engine-server.log")
    try:
        client = mlflow.MlflowClient(tracking_uri=handle.url)
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.runType"] == "genai_evaluate"
        assert run.data.tags["judgeflow.suite.name"] == "python-compat"
        assert run.data.metrics["exact_match/mean"] == pytest.approx(2 / 3)
        assert run.data.metrics["exact_match/pass_rate"] == pytest.approx(2 / 3)
        assert "token_f1/mean" in run.data.metrics
        assert "latency/p95" in run.data.metrics

        mlflow.set_tracking_uri(handle.url)
        traces = mlflow.search_traces(
            locations=[run.info.experiment_id], run_id=run_id, return_type="list"
        )
        assert len(traces) == 3
        by_row = {int(t.info.tags["judgeflow.eval.row_index"]): t for t in traces}
        assert sorted(by_row) == [0, 1, 2]
        for index, trace in by_row.items():
            assert trace.info.trace_metadata["mlflow.sourceRun"] == run_id
            assert trace.data.spans, "the root span is readable"
            root = trace.data.spans[0]
            assert root.inputs == ROWS[index]["inputs"]
            feedback = {a.name: a for a in trace.info.assessments if a.feedback is not None}
            assert feedback["exact_match"].value is (index != 2)
            assert feedback["exact_match"].source.source_type == "CODE"
            expectations = [a for a in trace.info.assessments if a.expectation is not None]
            assert expectations[0].name == "expected_response"
            assert expectations[0].value == ROWS[index]["expectations"]["expected_response"]

        local = client.download_artifacts(run_id, "eval_results.json", str(tmp_path / "dl"))
        with open(local) as f:
            results = json.load(f)
        assert sorted(r["row_index"] for r in results) == [0, 1, 2]
        names = {a.path for a in client.list_artifacts(run_id)}
        assert {"eval_results.json", "eval_results.parquet"} <= names
    finally:
        mlflow.set_tracking_uri(server.url)
        stop_process(handle.process)
