"""`judgeflow eval run --tracking-uri http://…` writes through the REST API of the server under
test (judgeflow, or a real `mlflow server` with JUDGEFLOW_TEST_SERVER=mlflow), and the official
client reads the run back as if `mlflow.genai.evaluate` had produced it: the run and its metrics,
one trace per row with its spans and assessments, and the results table as artifacts."""

from __future__ import annotations

import json
import os
import subprocess
import time

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


def test_resume_over_http_after_sigkill_recomputes_no_finished_row(tmp_path, server):
    """A run killed mid-way (SIGKILL: nothing gets to clean up) is finished by --resume: rows
    that carry every scorer's assessment are kept, half-written ones are removed and redone."""
    from openai_standin import StandIn

    rows = 16
    (tmp_path / "data.jsonl").write_text(
        "".join(
            json.dumps({"inputs": {"question": f"q{i}"},
                        "expectations": {"expected_response": f"echo: q{i}"}}) + "\n"
            for i in range(rows)
        )
    )  # fmt: skip
    experiment = unique_name("eval-http-kill")
    with StandIn(latency_s=0.3) as standin:
        (tmp_path / "suite.yaml").write_text(
            suite(experiment, standin.base_url) + "concurrency: 2\n"
        )
        env = dict(os.environ)
        env.pop("MLFLOW_HTTP_REQUEST_MAX_RETRIES", None)
        process = subprocess.Popen(
            [
                str(judgeflow_binary()), "eval", "run", str(tmp_path / "suite.yaml"),
                "--tracking-uri", server.url, "--no-cache",
            ],  # fmt: skip
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            deadline = time.monotonic() + 120
            run_id = None
            while True:
                assert time.monotonic() < deadline, "no rows stored in time"
                assert process.poll() is None, "the run ended before it was killed"
                time.sleep(0.2)
                runs = mlflow.search_runs(experiment_names=[experiment], output_format="list")
                if not runs:
                    continue
                run_id = runs[0].info.run_id
                if len(complete_rows(run_id, runs[0].info.experiment_id)) >= 4:
                    break
        finally:
            process.kill()
            process.wait()
        experiment_id = mlflow.get_run(run_id).info.experiment_id
        finished = complete_rows(run_id, experiment_id)
        assert 4 <= len(finished) < rows
        calls = standin.calls

        done = eval_run(tmp_path, server, "--no-cache", "--resume", run_id)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["resumed_rows"] == len(finished)
        assert report["rows"] == rows
        assert standin.calls - calls == rows - len(finished), "only unfinished rows were called"

    traces = mlflow.search_traces(locations=[experiment_id], run_id=run_id, return_type="list")
    indexes = sorted(int(t.info.tags["judgeflow.eval.row_index"]) for t in traces)
    assert indexes == list(range(rows)), "every row exactly once"
    assert complete_rows(run_id, experiment_id) == set(range(rows))
    assert mlflow.get_run(run_id).info.status == "FINISHED"


def complete_rows(run_id: str, experiment_id: str) -> set[int]:
    """Row indexes of the run's traces that carry both scorers' feedback."""
    traces = mlflow.search_traces(
        locations=[experiment_id], run_id=run_id, return_type="list", include_spans=False
    )
    return {
        int(t.info.tags["judgeflow.eval.row_index"])
        for t in traces
        if "judgeflow.eval.row_index" in t.info.tags
        and {a.name for a in t.info.assessments if a.feedback is not None}
        >= {"exact_match", "contains"}
    }
