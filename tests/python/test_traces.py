"""Tracing with the official client: `@mlflow.trace` spans exported over OTLP and stored by the
server, trace info and tags, feedback and expectations (with overrides, updates, deletes),
search with the trace grammar, link-to-run, delete, and the errors of the OTLP endpoint."""

from __future__ import annotations

import gzip
import json
import os
import time
import zlib

import mlflow
import pytest
from mlflow.entities import AssessmentSource, AssessmentSourceType
from mlflow.exceptions import MlflowException
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtelSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from conftest import assert_mlflow_error, unique_name

V3 = "/api/3.0/mlflow/traces"


def flush() -> None:
    """Spans and trace infos are exported in the background; wait as a user would."""
    mlflow.flush_trace_async_logging()


@mlflow.trace
def retrieve(question: str) -> list[str]:
    return [f"doc about {question}"]


@mlflow.trace(span_type="CHAIN")
def answer(question: str, tag: str = "none") -> str:
    mlflow.update_current_trace(tags={"team": tag}, metadata={"app.version": "v7"})
    docs = retrieve(question)
    return f"{question}? see {docs[0]}"


def traced(question: str, tag: str = "none") -> str:
    answer(question, tag)
    trace_id = mlflow.get_last_active_trace_id()
    flush()
    return trace_id


def test_nested_spans_are_stored_and_read_back(experiment_id):
    trace_id = traced("what is judgeflow", tag="search")
    trace = mlflow.get_trace(trace_id)
    info = trace.info
    assert info.trace_id == trace_id
    assert info.experiment_id == experiment_id
    assert info.state.value == "OK"
    assert info.tags["mlflow.traceName"] == "answer"
    assert info.tags["team"] == "search"
    assert info.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE"
    assert info.tags["mlflow.artifactLocation"].endswith(f"/traces/{trace_id}/artifacts")
    assert info.trace_metadata["app.version"] == "v7"
    assert json.loads(info.request_preview) == {"question": "what is judgeflow", "tag": "search"}
    assert info.execution_duration is not None and info.execution_duration >= 0

    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"answer", "retrieve"}
    root, child = spans["answer"], spans["retrieve"]
    assert root.parent_id is None
    assert child.parent_id == root.span_id
    assert root.span_type == "CHAIN"
    assert child.inputs == {"question": "what is judgeflow"}
    assert child.outputs == ["doc about what is judgeflow"]
    assert root.outputs == "what is judgeflow? see doc about what is judgeflow"
    assert root.start_time_ns <= child.start_time_ns <= child.end_time_ns <= root.end_time_ns


def test_an_error_in_the_traced_function_is_an_error_trace(experiment_id):
    @mlflow.trace
    def broken():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        broken()
    trace_id = mlflow.get_last_active_trace_id()
    flush()
    trace = mlflow.get_trace(trace_id)
    assert trace.info.state.value == "ERROR"
    (span,) = trace.data.spans
    assert span.status.status_code.value == "ERROR"
    assert any(e.name == "exception" for e in span.events)
    found = mlflow.search_traces(
        locations=[experiment_id], filter_string="trace.status = 'ERROR'", return_type="list"
    )
    assert [t.info.trace_id for t in found] == [trace_id]


def test_feedback_and_expectations_are_stored_with_the_trace(experiment_id):
    trace_id = traced("q1")
    source = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="ana")
    feedback = mlflow.log_feedback(
        trace_id=trace_id, name="quality", value=True, rationale="clear", source=source
    )
    mlflow.log_feedback(trace_id=trace_id, name="score", value=0.75, metadata={"judge": "x"})
    mlflow.log_expectation(trace_id=trace_id, name="expected_facts", value=["a", "b"])
    mlflow.log_expectation(trace_id=trace_id, name="expected_response", value="q1!")

    info = mlflow.get_trace(trace_id).info
    by_name = {a.name: a for a in info.assessments}
    assert set(by_name) == {"quality", "score", "expected_facts", "expected_response"}
    quality = by_name["quality"]
    assert quality.assessment_id == feedback.assessment_id
    assert quality.value is True
    assert quality.rationale == "clear"
    assert quality.source.source_type == "HUMAN"
    assert quality.source.source_id == "ana"
    assert quality.valid is True
    assert by_name["score"].value == 0.75
    assert by_name["score"].metadata == {"judge": "x"}
    assert by_name["expected_facts"].value == ["a", "b"]
    assert by_name["expected_response"].value == "q1!"

    fetched = mlflow.get_assessment(trace_id, feedback.assessment_id)
    assert fetched.value is True and fetched.name == "quality"


def test_override_update_and_delete_assessments(experiment_id):
    trace_id = traced("q2")
    original = mlflow.log_feedback(trace_id=trace_id, name="correct", value=False)
    override = mlflow.override_feedback(
        trace_id=trace_id, assessment_id=original.assessment_id, value=True, rationale="fixed"
    )
    assessments = {a.assessment_id: a for a in mlflow.get_trace(trace_id).info.assessments}
    assert assessments[original.assessment_id].valid is False
    assert assessments[override.assessment_id].valid is True
    assert assessments[override.assessment_id].overrides == original.assessment_id

    updated = mlflow.update_assessment(
        trace_id=trace_id,
        assessment_id=override.assessment_id,
        assessment=mlflow.entities.Feedback(name="correct", value=True, rationale="re-checked"),
    )
    assert updated.rationale == "re-checked"
    assert mlflow.get_assessment(trace_id, override.assessment_id).rationale == "re-checked"

    # Deleting the override makes the original count again.
    mlflow.delete_assessment(trace_id=trace_id, assessment_id=override.assessment_id)
    remaining = mlflow.get_trace(trace_id).info.assessments
    assert [(a.assessment_id, a.valid) for a in remaining] == [(original.assessment_id, True)]
    with pytest.raises(MlflowException) as err:
        mlflow.get_assessment(trace_id, override.assessment_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_search_traces_with_the_trace_grammar(experiment_id):
    a = traced("alpha", tag="red")
    b = traced("beta", tag="blue")
    c = traced("gamma", tag="red")
    mlflow.log_feedback(trace_id=a, name="rating", value=5)
    mlflow.log_feedback(trace_id=b, name="rating", value=2)
    mlflow.log_feedback(trace_id=c, name="verdict", value="yes")

    def ids(filter_string=None, **kwargs):
        found = mlflow.search_traces(
            locations=[experiment_id], filter_string=filter_string, return_type="list", **kwargs
        )
        return [t.info.trace_id for t in found]

    assert ids() == [c, b, a]  # newest first
    assert ids("tags.team = 'red'") == [c, a]
    assert ids("tag.team != 'red'") == [b]
    assert ids("metadata.`app.version` = 'v7'") == [c, b, a]
    assert ids("trace.name = 'answer' AND tags.team LIKE 'bl%'") == [b]
    assert ids("feedback.rating > 3") == [a]
    assert ids("feedback.rating <= 3") == [b]
    assert ids("feedback.verdict = 'yes'") == [c]
    assert ids("span.name = 'retrieve'") == [c, b, a]
    assert ids("span.type = 'CHAIN' AND tags.team = 'blue'") == [b]
    assert ids("span.name = 'nothing'") == []
    assert ids("trace.status = 'OK'", max_results=2) == [c, b]
    assert ids(order_by=["timestamp_ms ASC"]) == [a, b, c]
    assert ids("tags.team ILIKE 'RED'") == [c, a]
    assert ids("tags.team RLIKE '^r.d$'") == [c, a]

    df = mlflow.search_traces(locations=[experiment_id], filter_string="tags.team = 'red'")
    assert list(df["trace_id"]) == [c, a]
    assert "assessments" in df.columns

    # Paging through the client: two pages of two, then one.
    client = mlflow.MlflowClient()
    first = client.search_traces(locations=[experiment_id], max_results=2)
    assert [t.info.trace_id for t in first] == [c, b] and first.token
    second = client.search_traces(locations=[experiment_id], max_results=2, page_token=first.token)
    assert [t.info.trace_id for t in second] == [a] and not second.token


@pytest.mark.parametrize("bad_filter", ["span.bogus = 'x'", "feedback.rating > 'high'", "tags.a = 'b' OR tags.c = 'd'"])
def test_a_bad_trace_filter_is_invalid_parameter(experiment_id, rest, bad_filter):
    location = {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}
    response = rest.post(f"{V3}/search", json={"locations": [location], "filter": bad_filter})
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


def test_traces_inside_a_run_are_found_by_run_id_and_link_to_run(experiment_id, client):
    with mlflow.start_run() as run:
        inside = traced("inside")
    outside = traced("outside")
    found = mlflow.search_traces(run_id=run.info.run_id, return_type="list")
    assert [t.info.trace_id for t in found] == [inside]
    assert mlflow.get_trace(inside).info.trace_metadata["mlflow.sourceRun"] == run.info.run_id

    client.link_traces_to_run([outside], run_id=run.info.run_id)
    found = mlflow.search_traces(run_id=run.info.run_id, return_type="list")
    assert {t.info.trace_id for t in found} == {inside, outside}


@pytest.mark.judgeflow_only
def test_unknown_traces_and_runs_are_not_found(experiment_id, client):
    # MLflow links and tags unknown trace ids without complaint (or answers 400); a typo in a
    # trace id is a 404 here, so it cannot go unnoticed.
    with mlflow.start_run() as run:
        pass
    with pytest.raises(MlflowException) as err:
        client.link_traces_to_run(["tr-does-not-exist"], run_id=run.info.run_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as err:
        client.link_traces_to_run([traced("x")], run_id="0" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as err:
        client.set_trace_tag("tr-0000000000000000000000000000dead", "k", "v")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_trace_tags_set_and_delete(experiment_id, client):
    trace_id = traced("tags")
    client.set_trace_tag(trace_id, "reviewed", "yes")
    assert mlflow.get_trace(trace_id).info.tags["reviewed"] == "yes"
    client.delete_trace_tag(trace_id, "reviewed")
    assert "reviewed" not in mlflow.get_trace(trace_id).info.tags


def test_delete_traces_by_id_and_by_age(experiment_id, client):
    old = traced("old")
    time.sleep(0.01)
    middle = traced("middle")
    cutoff = int(time.time() * 1000)
    time.sleep(0.01)
    new = traced("new")
    assert client.delete_traces(experiment_id, trace_ids=[middle]) == 1
    assert client.delete_traces(experiment_id, max_timestamp_millis=cutoff) == 1
    remaining = mlflow.search_traces(locations=[experiment_id], return_type="list")
    assert [t.info.trace_id for t in remaining] == [new]
    with pytest.raises(MlflowException) as err:
        client.get_trace(old)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_unknown_trace_ids_are_not_found(rest):
    response = rest.get(f"{V3}/tr-00000000000000000000000000000000")
    assert_mlflow_error(response, 404, "RESOURCE_DOES_NOT_EXIST")
    response = rest.get(f"{V3}/get", params={"trace_id": "tr-00000000000000000000000000000000"})
    assert_mlflow_error(response, 404, "RESOURCE_DOES_NOT_EXIST")
    response = rest.post(
        f"{V3}/tr-00000000000000000000000000000000/assessments",
        json={"assessment": {"assessment_name": "x", "feedback": {"value": 1}, "source": {"source_type": "HUMAN"}}},
    )
    assert_mlflow_error(response, 404, "RESOURCE_DOES_NOT_EXIST")


# ---- OTLP ingest, driven directly -----------------------------------------------------------


def otlp_request(trace_hex: str, spans: int, name: str = "s") -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    root_id = (1).to_bytes(8, "big")
    start = time.time_ns()
    for i in range(spans):
        span = OtelSpan(
            trace_id=bytes.fromhex(trace_hex),
            span_id=(i + 1).to_bytes(8, "big"),
            parent_span_id=b"" if i == 0 else root_id,
            name=f"{name}{i}",
            start_time_unix_nano=start + i,
            end_time_unix_nano=start + spans + 10,
            status=Status(code=Status.STATUS_CODE_OK),
        )
        span.attributes.append(KeyValue(key="mlflow.spanType", value=AnyValue(string_value="TOOL")))
        span.attributes.append(KeyValue(key="index", value=AnyValue(int_value=i)))
        scope.spans.append(span)
    return request


def post_otlp(rest, experiment_id, body: bytes, **headers):
    headers = {"Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": experiment_id, **headers}
    return rest.post("/v1/traces", data=body, headers=headers)


def test_otlp_protobuf_gzip_and_json_bodies_are_ingested(experiment_id, rest, client):
    plain, gz, deflated, as_json = (os.urandom(16).hex() for _ in range(4))
    assert post_otlp(rest, experiment_id, otlp_request(plain, 3).SerializeToString()).status_code == 200
    response = post_otlp(
        rest, experiment_id, gzip.compress(otlp_request(gz, 2).SerializeToString()), **{"Content-Encoding": "gzip"}
    )
    assert response.status_code == 200, response.text
    response = post_otlp(
        rest, experiment_id, zlib.compress(otlp_request(deflated, 2).SerializeToString()), **{"Content-Encoding": "deflate"}
    )
    assert response.status_code == 200, response.text
    json_body = {
        "resourceSpans": [{"scopeSpans": [{"spans": [{
            "traceId": as_json, "spanId": "00000000000000aa", "name": "json-root",
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
            "status": {"code": 1},
        }]}]}]
    }
    response = post_otlp(rest, experiment_id, json.dumps(json_body).encode(), **{"Content-Type": "application/json"})
    assert response.status_code == 200, response.text

    for trace_hex, count in [(plain, 3), (gz, 2), (deflated, 2), (as_json, 1)]:
        trace = client.get_trace(f"tr-{trace_hex}")
        assert len(trace.data.spans) == count
        assert trace.info.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE"
        # Spans alone make a trace: its state comes from the root span.
        assert trace.info.state.value == "OK"
    spans = client.get_trace(f"tr-{plain}").data.spans
    assert [s.span_type for s in spans] == ["TOOL"] * 3
    assert [s.get_attribute("index") for s in spans] == [0, 1, 2]
    assert client.get_trace(f"tr-{as_json}").info.request_time == 1_700_000_000_000


def test_a_large_trace_is_stored_and_read_back_whole(experiment_id, rest, client):
    trace_hex = os.urandom(16).hex()
    total = 0
    for batch in range(4):  # 4 × 2,500 spans, as a long agent run would export them
        request = otlp_request(trace_hex, 2500, name=f"b{batch}-")
        for span in request.resource_spans[0].scope_spans[0].spans:
            span.span_id = (batch * 10_000 + int.from_bytes(span.span_id, "big")).to_bytes(8, "big")
            if span.parent_span_id:
                span.parent_span_id = (1).to_bytes(8, "big")
        if batch > 0:
            # Only the first batch carries the root.
            first = request.resource_spans[0].scope_spans[0].spans[0]
            first.parent_span_id = (1).to_bytes(8, "big")
        assert post_otlp(rest, experiment_id, request.SerializeToString()).status_code == 200
        total += 2500
    trace = client.get_trace(f"tr-{trace_hex}")
    assert len(trace.data.spans) == total
    assert len({s.span_id for s in trace.data.spans}) == total


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"\x0a\xff\xff\xff", {}, 400),  # not an ExportTraceServiceRequest
        (b"", {}, 400),  # no spans at all
        (b"{}", {"Content-Type": "text/plain"}, 400),
        (b"not gzip", {"Content-Encoding": "gzip"}, 400),
    ],
)
def test_bad_otlp_requests_are_rejected_and_store_nothing(experiment_id, rest, body, headers, status):
    trace_hex = os.urandom(16).hex()
    if body is None:
        body = otlp_request(trace_hex, 1).SerializeToString()
    response = post_otlp(rest, experiment_id, body, **headers)
    assert response.status_code == status, response.text
    assert_mlflow_error(rest.get(f"{V3}/tr-{trace_hex}"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_otlp_for_an_unknown_experiment_stores_nothing(rest):
    trace_hex = os.urandom(16).hex()
    response = post_otlp(rest, "987654321", otlp_request(trace_hex, 1).SerializeToString())
    assert response.status_code == 404, response.text
    assert_mlflow_error(rest.get(f"{V3}/tr-{trace_hex}"), 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.judgeflow_only
def test_otlp_without_an_experiment_or_with_a_bad_span_stores_nothing(rest, experiment_id):
    # MLflow accepts an empty experiment header and span ids of any length; both are 422 here.
    good, bad = os.urandom(16).hex(), os.urandom(16).hex()
    response = post_otlp(
        rest, experiment_id, otlp_request(good, 1).SerializeToString(), **{"x-mlflow-experiment-id": ""}
    )
    assert response.status_code == 422, response.text
    # One unconvertible span (a 3-byte span id) rejects the whole batch.
    request = otlp_request(good, 2)
    extra = request.resource_spans[0].scope_spans[0].spans.add()
    extra.CopyFrom(otlp_request(bad, 1).resource_spans[0].scope_spans[0].spans[0])
    extra.span_id = b"abc"
    response = post_otlp(rest, experiment_id, request.SerializeToString())
    assert response.status_code == 422, response.text
    for trace_hex in (good, bad):
        assert_mlflow_error(rest.get(f"{V3}/tr-{trace_hex}"), 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.judgeflow_only
def test_an_oversized_otlp_body_is_413(experiment_id, rest):
    # 40 MiB of zeros compresses to ~40 KiB: the limit applies to the decompressed size.
    bomb = gzip.compress(b"\0" * (40 * 1024 * 1024))
    response = post_otlp(rest, experiment_id, bomb, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413, response.text


def test_prompts_loaded_inside_a_trace_are_linked_and_searchable(experiment_id):
    name = unique_name("prompt")
    mlflow.genai.register_prompt(name=name, template="Hello {{who}}")

    @mlflow.trace
    def greet():
        return mlflow.genai.load_prompt(f"prompts:/{name}/1").format(who="ana")

    greet()
    trace_id = mlflow.get_last_active_trace_id()
    flush()
    # Prompt linking is asynchronous in the client: wait for it as a user would.
    deadline = time.time() + 10
    while time.time() < deadline:
        linked = mlflow.get_trace(trace_id).info.tags.get("mlflow.linkedPrompts")
        if linked:
            break
        time.sleep(0.1)
    assert json.loads(linked) == [{"name": name, "version": "1"}]
    found = mlflow.search_traces(
        locations=[experiment_id], filter_string=f"trace.prompt = '{name}/1'", return_type="list"
    )
    assert [t.info.trace_id for t in found] == [trace_id]
