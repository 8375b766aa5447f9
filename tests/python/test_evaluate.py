"""`mlflow.genai.evaluate` against the server: a run of type genai_evaluate, one trace per row
with its spans, one assessment per scorer (and per expectation) on each trace, and
`<scorer>/mean` metrics; data as a list of dicts, a DataFrame, and existing traces. The
predict function calls an OpenAI-compatible endpoint through the `openai` package, served by
a local stand-in."""

from __future__ import annotations

import json

import mlflow
import openai
import pandas as pd
import pytest
from mlflow.genai.scorers import scorer

QUESTIONS = ["what is mlflow", "what is judgeflow", "what is a trace", "what is a span"]


@scorer
def echoes_question(inputs, outputs) -> bool:
    return outputs == f"echo: {inputs['question']}"


@scorer
def word_count(outputs) -> int:
    return len(outputs.split())


@scorer
def matches_expected(outputs, expectations) -> bool:
    return outputs == expectations["expected_response"]


def make_predict(standin):
    client = openai.OpenAI(base_url=standin.base_url, api_key="test-key")

    def predict(question: str) -> str:
        reply = client.chat.completions.create(
            model="stand-in", messages=[{"role": "user", "content": question}]
        )
        return reply.choices[0].message.content

    return predict


def rows() -> list[dict]:
    # The last row's expectation is deliberately wrong, so `matches_expected` averages 0.75.
    expected = [f"echo: {q}" for q in QUESTIONS[:-1]] + ["something else"]
    return [
        {"inputs": {"question": q}, "expectations": {"expected_response": e}}
        for q, e in zip(QUESTIONS, expected)
    ]


def check_result(result, experiment_id: str, with_expectations: bool = True) -> list:
    run = mlflow.get_run(result.run_id)
    assert run.info.experiment_id == experiment_id
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.runType"] == "genai_evaluate"
    metrics = run.data.metrics
    assert metrics["echoes_question/mean"] == 1.0
    assert metrics["word_count/mean"] == pytest.approx(sum(len(q.split()) + 1 for q in QUESTIONS) / 4)
    if with_expectations:
        assert metrics["matches_expected/mean"] == 0.75
    assert result.metrics["echoes_question/mean"] == 1.0

    traces = mlflow.search_traces(run_id=result.run_id, return_type="list")
    assert len(traces) == len(QUESTIONS)
    for trace in traces:
        full = mlflow.get_trace(trace.info.trace_id)
        assert full.data.spans, "every row's trace has its spans"
        feedback = {
            a.name: a
            for a in full.info.assessments
            if isinstance(a, mlflow.entities.Feedback)
        }
        assert {"echoes_question", "word_count"} <= set(feedback)
        assert feedback["echoes_question"].value is True
        assert feedback["echoes_question"].source.source_type == "CODE"
        assert feedback["echoes_question"].metadata["mlflow.assessment.sourceRunId"] == result.run_id
        if with_expectations:
            expectations = {
                a.name: a.value
                for a in full.info.assessments
                if isinstance(a, mlflow.entities.Expectation)
            }
            assert "expected_response" in expectations
    table = result.result_df
    assert len(table) == len(QUESTIONS)
    return traces


def test_evaluate_a_list_of_dicts_with_an_openai_predict_fn(experiment_id, openai_standin):
    result = mlflow.genai.evaluate(
        data=rows(),
        predict_fn=make_predict(openai_standin),
        scorers=[echoes_question, word_count, matches_expected],
    )
    traces = check_result(result, experiment_id)
    # evaluate calls predict_fn once more up front, to check it works before the rows run.
    assert openai_standin.calls >= len(QUESTIONS)
    # The row's trace holds the model call: its request and the reply (the openai package is
    # autologged inside evaluate, so the call itself is the root span).
    spans = mlflow.get_trace(traces[0].info.trace_id).data.spans
    text = json.dumps([(s.inputs, s.outputs) for s in spans], default=str)
    assert any(q in text for q in QUESTIONS)
    assert "echo: " in text


def test_evaluate_a_dataframe(experiment_id, openai_standin):
    result = mlflow.genai.evaluate(
        data=pd.DataFrame(rows()),
        predict_fn=make_predict(openai_standin),
        scorers=[echoes_question, word_count, matches_expected],
    )
    check_result(result, experiment_id)


def test_evaluate_existing_traces_from_search_traces(experiment_id, openai_standin):
    predict = mlflow.trace(make_predict(openai_standin), name="predict")
    for question in QUESTIONS:
        predict(question)
    mlflow.flush_trace_async_logging()
    existing = mlflow.search_traces(locations=[experiment_id])
    assert len(existing) == len(QUESTIONS)

    result = mlflow.genai.evaluate(data=existing, scorers=[echoes_question, word_count])
    check_result(result, experiment_id, with_expectations=False)
    # No new traces: the scores landed on the traces that were there.
    after = mlflow.search_traces(locations=[experiment_id], return_type="list")
    assert {t.info.trace_id for t in after} == set(existing["trace_id"])
