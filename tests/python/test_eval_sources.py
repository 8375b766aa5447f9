"""`judgeflow eval run` over stored sources on the server under test (judgeflow, or a real
`mlflow server` with JUDGEFLOW_TEST_SERVER=mlflow): an evaluation dataset made with
`mlflow.genai.datasets`, and traces made with `@mlflow.trace` and `mlflow.log_expectation`,
selected by a filter. The official client reads the results back."""

from __future__ import annotations

import json
import time

import mlflow
from mlflow.genai import datasets

from conftest import unique_name
from test_eval_http import eval_run


def write_suite(tmp_path, experiment: str, dataset: str, target: str) -> None:
    (tmp_path / "suite.yaml").write_text(
        f"name: sources\nexperiment: {experiment}\ndataset: {dataset}\ntarget: {target}\n"
        "scorers:\n  - kind: exact_match\n"
    )


def run_traces(run_id: str):
    experiment_id = mlflow.get_run(run_id).info.experiment_id
    traces = mlflow.search_traces(locations=[experiment_id], run_id=run_id, return_type="list")
    return {int(t.info.tags["judgeflow.eval.row_index"]): t for t in traces}


def test_eval_run_over_an_evaluation_dataset(tmp_path, server, experiment_id, openai_standin):
    name = unique_name("ds")
    dataset = datasets.create_dataset(name=name, experiment_id=experiment_id)
    questions = ["q0", "q1", "q2"]
    dataset.merge_records(
        [
            {"inputs": {"question": q},
             "expectations": {"expected_response": f"echo: {q}" if q != "q2" else "no"}}
            for q in questions
        ]
    )  # fmt: skip
    order = [r["inputs"]["question"] for r in datasets.get_dataset(name=name).to_df().to_dict("records")]
    evals = unique_name("evals")
    target = f'{{kind: openai, base_url: "{openai_standin.base_url}", model: app}}'
    for source in [f"{{evaluation_dataset: {name}}}",
                   f"{{evaluation_dataset_id: {dataset.dataset_id}}}"]:  # fmt: skip
        write_suite(tmp_path, evals, source, target)
        done = eval_run(tmp_path, server)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["rows"] == 3
        run = mlflow.get_run(report["run_id"])
        assert run.data.metrics["exact_match/mean"] == 2 / 3
        logged = run.inputs.dataset_inputs[0].dataset
        assert (logged.name, logged.source_type) == (name, "mlflow_evaluation_dataset")
        assert json.loads(logged.source) == {"dataset_id": dataset.dataset_id}
        assert logged.digest == datasets.get_dataset(dataset_id=dataset.dataset_id).digest
        rows = run_traces(report["run_id"])
        assert sorted(rows) == [0, 1, 2]
        for index, trace in rows.items():
            full = mlflow.get_trace(trace.info.trace_id)
            root = next(s for s in full.data.spans if s.parent_id is None)
            # Rows follow the store's record order, as to_df() lists the records.
            assert root.inputs == {"question": order[index]}
            expected = [a.value for a in trace.info.assessments if a.expectation is not None]
            assert expected == ["no" if order[index] == "q2" else f"echo: {order[index]}"]

    write_suite(tmp_path, evals, "{evaluation_dataset: no-such-dataset}", target)
    done = eval_run(tmp_path, server)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no evaluation dataset named 'no-such-dataset'" in lines[0], lines


def test_eval_run_over_traces_selected_by_a_filter(tmp_path, server):
    production = unique_name("prod")
    mlflow.set_experiment(production)

    @mlflow.trace
    def app(question: str) -> str:
        return f"answer to {question}"

    labels = [("prod", "answer to q0"), ("prod", "something else"), ("dev", "answer to q2")]
    sources = []
    for i in range(len(labels)):
        app(f"q{i}")
        sources.append(mlflow.get_last_active_trace_id())
        # A trace's time is kept in milliseconds and ties are broken by trace id (random), so
        # "oldest first" is only this order when no two traces share a millisecond.
        time.sleep(0.005)
    # Traces export in the background: they must be stored before they are labelled.
    mlflow.flush_trace_async_logging()
    for trace_id, (env, expected) in zip(sources, labels):
        mlflow.set_trace_tag(trace_id, "env", env)
        mlflow.log_expectation(trace_id=trace_id, name="expected_response", value=expected)

    evals = unique_name("evals")
    write_suite(
        tmp_path, evals,
        f"{{traces: {{experiment: {production}, filter: \"tags.env = 'prod'\"}}}}",
        "{kind: recorded}",
    )  # fmt: skip
    done = eval_run(tmp_path, server)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rows"] == 2
    run = mlflow.get_run(report["run_id"])
    assert run.data.metrics["exact_match/mean"] == 0.5
    assert run.inputs.dataset_inputs[0].dataset.source_type == "mlflow_traces"
    rows = run_traces(report["run_id"])
    assert sorted(rows) == [0, 1]
    for index, trace in rows.items():
        # Oldest first: row i is the i-th trace made above.
        assert trace.info.tags["judgeflow.eval.row_id"] == sources[index]
        full = mlflow.get_trace(trace.info.trace_id)
        root = next(s for s in full.data.spans if s.parent_id is None)
        assert root.inputs == {"question": f"q{index}"}
        assert root.outputs["outputs"] == f"answer to q{index}"
        feedback = {a.name: a.value for a in trace.info.assessments if a.feedback is not None}
        assert feedback["exact_match"] is (index == 0)

    write_suite(
        tmp_path, evals,
        f"{{traces: {{experiment: {production}, filter: \"tags.env = = 'x'\"}}}}",
        "{kind: recorded}",
    )  # fmt: skip
    done = eval_run(tmp_path, server)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "dataset.traces.filter" in lines[0], lines
