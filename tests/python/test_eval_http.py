"""`judgeflow eval run --tracking-uri http://…` writes through the REST API of the server under
test (judgeflow, or a real `mlflow server` with JUDGEFLOW_TEST_SERVER=mlflow), and the official
client reads the run back as if `mlflow.genai.evaluate` had produced it: the run and its metrics,
one trace per row with its spans and assessments, and the results table as artifacts."""

from __future__ import annotations

import json
import os
import subprocess

import mlflow
import pytest

from conftest import judgeflow_binary, unique_name

ROWS = [
    ("capital of France?", "echo: capital of France?"),
    ("2 + 2?", "echo: 2 + 2?"),
    ("largest planet?", "Jupiter"),
    ("smallest prime?", "echo: smallest prime?"),
]


def suite(experiment: str, base_url: str) -> str:
    return f"""
name: http-compat
experiment: {experiment}
dataset: {{path: data.jsonl}}
target: {{kind: openai, base_url: "{base_url}", model: app}}
scorers:
  - kind: exact_match
  - kind: contains
    value: "echo:"
gate:
  exact_match: {{min_mean: 0.5}}
"""


def eval_run(tmp_path, server, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    # The conftest turns the client's retries off for the tests' own calls; the binary keeps
    # its defaults (a busy SQLite-backed mlflow server may answer a transient 5xx).
    env.pop("MLFLOW_HTTP_REQUEST_MAX_RETRIES", None)
    env.pop("JUDGEFLOW_TRACKING_URI", None)
    env["JUDGEFLOW_CACHE_DB"] = str(tmp_path / "call-cache.db")
    return subprocess.run(
        [
            str(judgeflow_binary()), "eval", "run", str(tmp_path / "suite.yaml"),
            "--tracking-uri", server.url,
            "--json", *extra,
        ],  # fmt: skip
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.fixture
def workspace(tmp_path, openai_standin):
    rows = [
        {"inputs": {"question": q}, "expectations": {"expected_response": expected}}
        for q, expected in ROWS
    ]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    experiment = unique_name("eval-http")
    (tmp_path / "suite.yaml").write_text(suite(experiment, openai_standin.base_url))
    return tmp_path, experiment


def test_eval_run_over_http_is_readable_with_the_mlflow_client(workspace, server, openai_standin):
    tmp_path, experiment = workspace
    done = eval_run(tmp_path, server)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    run_id = report["run_id"]
    assert report["rows"] == len(ROWS)
    assert openai_standin.calls == len(ROWS)

    runs = mlflow.search_runs(experiment_names=[experiment], output_format="list")
    assert [r.info.run_id for r in runs] == [run_id]
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.runType"] == "genai_evaluate"
    assert run.data.tags["judgeflow.suite.name"] == "http-compat"
    assert run.data.metrics["exact_match/mean"] == pytest.approx(3 / 4)
    assert run.data.metrics["contains/pass_rate"] == pytest.approx(1.0)
    assert run.data.metrics["rows"] == len(ROWS)
    assert "latency/p95" in run.data.metrics
    assert run.inputs.dataset_inputs[0].dataset.name == "data.jsonl"

    traces = mlflow.search_traces(
        locations=[run.info.experiment_id], run_id=run_id, return_type="list"
    )
    assert len(traces) == len(ROWS)
    by_row = {int(t.info.tags["judgeflow.eval.row_index"]): t for t in traces}
    assert sorted(by_row) == list(range(len(ROWS)))
    for index, listed in by_row.items():
        question, expected = ROWS[index]
        trace = mlflow.get_trace(listed.info.trace_id)
        assert trace.info.trace_metadata["mlflow.sourceRun"] == run_id
        assert trace.info.state == "OK"
        spans = {span.name: span for span in trace.data.spans}
        assert len(trace.data.spans) == 2, [s.name for s in trace.data.spans]
        root = spans["eval_row"]
        assert root.parent_id is None
        assert root.inputs == {"question": question}
        assert root.outputs["outputs"] == f"echo: {question}"
        target = next(s for s in trace.data.spans if s.parent_id == root.span_id)
        assert target.span_type == "CHAT_MODEL"
        feedback = {a.name: a for a in trace.info.assessments if a.feedback is not None}
        assert feedback["exact_match"].value is (expected.startswith("echo:"))
        assert feedback["exact_match"].source.source_type == "CODE"
        assert feedback["exact_match"].metadata["mlflow.assessment.sourceRunId"] == run_id
        assert feedback["contains"].value is True
        expectations = [a for a in trace.info.assessments if a.expectation is not None]
        assert [(a.name, a.value) for a in expectations] == [("expected_response", expected)]

    client = mlflow.MlflowClient()
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"eval_results.json", "eval_results.parquet"} <= names
    local = client.download_artifacts(run_id, "eval_results.json", str(tmp_path / "dl"))
    with open(local) as f:
        results = json.load(f)
    assert sorted(r["row_index"] for r in results) == list(range(len(ROWS)))


def test_resume_over_http_keeps_finished_rows(workspace, server, openai_standin):
    tmp_path, experiment = workspace
    first = eval_run(tmp_path, server, "--no-cache")
    assert first.returncode == 0, first.stderr
    run_id = json.loads(first.stdout)["run_id"]
    calls = openai_standin.calls

    again = eval_run(tmp_path, server, "--no-cache", "--resume", run_id)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["run_id"] == run_id
    assert report["resumed_rows"] == len(ROWS)
    assert report["rows"] == len(ROWS)
    assert openai_standin.calls == calls, "finished rows are not recomputed"
    scorers = {s["name"]: s for s in report["scorers"]}
    assert scorers["exact_match"]["mean"] == pytest.approx(3 / 4)
    traces = mlflow.search_traces(run_id=run_id, return_type="list",
                                  locations=[mlflow.get_run(run_id).info.experiment_id])
    assert len(traces) == len(ROWS)
    assert mlflow.get_run(run_id).info.status == "FINISHED"


def test_resume_of_a_run_that_is_not_an_evaluation_is_one_clear_error(workspace, server):
    tmp_path, experiment = workspace
    client = mlflow.MlflowClient()
    experiment_id = client.create_experiment(experiment)
    other = client.create_run(experiment_id)
    done = eval_run(tmp_path, server, "--resume", other.info.run_id)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"judgeflow: --resume: run {other.info.run_id} is not an evaluation run"
    ]
