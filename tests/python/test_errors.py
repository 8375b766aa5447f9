"""Errors: what the client raises, and the HTTP status and MLflow error body underneath.

The client maps a response to an exception by the body's `error_code`; it retries 5xx, so a
client mistake answered with 5xx costs minutes. Every case here must be a 4xx with a JSON body.
"""

from __future__ import annotations

import json
import time
import uuid

import mlflow
import pytest
from mlflow.exceptions import MlflowException, RestException

from conftest import assert_mlflow_error, unique_name

API = "/api/2.0/mlflow"


def missing_run_id() -> str:
    return uuid.uuid4().hex


# --------------------------------------------------------------------------------------------
# Through the client


def test_missing_run(client):
    run_id = missing_run_id()
    with pytest.raises(RestException) as err:
        client.get_run(run_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert err.value.get_http_status_code() == 404
    assert run_id in str(err.value)


def test_missing_run_raw(rest):
    run_id = missing_run_id()
    response = rest.get(f"{API}/runs/get", params={"run_id": run_id, "run_uuid": run_id})
    body = assert_mlflow_error(response, 404, "RESOURCE_DOES_NOT_EXIST")
    assert run_id in body["message"]


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("log_param", ("k", "v")),
        ("log_metric", ("k", 1.0)),
        ("set_tag", ("k", "v")),
        ("update_run", ("FINISHED",)),
        ("delete_run", ()),
    ],
)
def test_writes_to_missing_run(client, call, args):
    with pytest.raises(RestException) as err:
        getattr(client, call)(missing_run_id(), *args)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_missing_experiment(client, rest):
    with pytest.raises(RestException) as err:
        client.get_experiment("987654321")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    response = rest.get(f"{API}/experiments/get", params={"experiment_id": "987654321"})
    assert_mlflow_error(response, 404, "RESOURCE_DOES_NOT_EXIST")

    response = rest.get(f"{API}/experiments/get-by-name", params={"experiment_name": unique_name()})
    assert_mlflow_error(response, 404, "RESOURCE_DOES_NOT_EXIST")


def test_create_run_in_missing_experiment(client):
    with pytest.raises(RestException) as err:
        client.create_run("987654321")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_duplicate_experiment(client, rest):
    name = unique_name("dup")
    client.create_experiment(name)
    with pytest.raises(RestException) as err:
        client.create_experiment(name)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    response = rest.post(f"{API}/experiments/create", json={"name": name})
    assert_mlflow_error(response, 400, "RESOURCE_ALREADY_EXISTS")


def test_rename_to_existing_name(client):
    taken = unique_name("taken")
    client.create_experiment(taken)
    other = client.create_experiment(unique_name("other"))
    with pytest.raises(RestException) as err:
        client.rename_experiment(other, taken)
    # MLflow's SQL store says BAD_REQUEST here; both are a 400.
    assert err.value.error_code in ("RESOURCE_ALREADY_EXISTS", "BAD_REQUEST")
    assert client.get_experiment(other).name != taken


def test_param_overwrite_with_different_value(experiment_id, client, rest):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "lr", "0.1")
    with pytest.raises(MlflowException) as err:
        client.log_param(run_id, "lr", "0.2")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params == {"lr": "0.1"}

    response = rest.post(
        f"{API}/runs/log-parameter",
        json={"run_id": run_id, "run_uuid": run_id, "key": "lr", "value": "0.3"},
    )
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


def test_param_overwrite_inside_log_batch(experiment_id, client):
    with mlflow.start_run() as run:
        mlflow.log_params({"a": "1"})
        with pytest.raises(MlflowException) as err:
            mlflow.log_params({"a": "2", "b": "3"})
        assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run.info.run_id).data.params["a"] == "1"


def test_writes_to_finished_run_are_allowed_but_deleted_run_is_not(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    client.set_terminated(run_id)
    client.log_metric(run_id, "late", 1.0)  # MLflow accepts writes to terminated runs
    assert client.get_run(run_id).data.metrics["late"] == 1.0
    client.delete_run(run_id)
    with pytest.raises(RestException) as err:
        client.log_metric(run_id, "after_delete", 1.0)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_bad_filter_string(experiment_id, client, rest):
    with pytest.raises(MlflowException) as err:
        client.search_runs([experiment_id], filter_string="metrics.x >> 1")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"

    response = rest.post(
        f"{API}/runs/search",
        json={"experiment_ids": [experiment_id], "filter": "metrics.x >> 1"},
    )
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    "filter_string",
    [
        "metrics.acc > 0.5 OR params.x = 'y'",
        "unknown_entity.x = 'y'",
        "params.x = unquoted",
        "metrics.acc > 'text'",
        "attributes.nonexistent = 'x'",
        "params.x",
        "(metrics.acc > 1)",
    ],
)
def test_invalid_run_filters(experiment_id, client, filter_string):
    with pytest.raises(MlflowException) as err:
        client.search_runs([experiment_id], filter_string=filter_string)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_invalid_order_by(experiment_id, client):
    with pytest.raises(MlflowException) as err:
        client.search_runs([experiment_id], order_by=["metrics.acc SIDEWAYS"])
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_max_results_limit(experiment_id, rest):
    response = rest.post(
        f"{API}/runs/search", json={"experiment_ids": [experiment_id], "max_results": 60000}
    )
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


def test_invalid_page_token(experiment_id, rest):
    response = rest.post(
        f"{API}/runs/search",
        json={"experiment_ids": [experiment_id], "page_token": "not a real token!"},
    )
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


# --------------------------------------------------------------------------------------------
# Limits of log-batch, sent raw (the client would split these)


def metric(i: int, run_id: str) -> dict:
    return {"key": f"m{i}", "value": float(i), "timestamp": int(time.time() * 1000), "step": 0}


def test_log_batch_of_1001_metrics_is_rejected(experiment_id, client, rest):
    run_id = client.create_run(experiment_id).info.run_id
    body = {"run_id": run_id, "metrics": [metric(i, run_id) for i in range(1001)]}
    response = rest.post(f"{API}/runs/log-batch", json=body)
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")
    assert client.get_run(run_id).data.metrics == {}  # nothing half-written

    body["metrics"] = body["metrics"][:1000]
    response = rest.post(f"{API}/runs/log-batch", json=body)
    assert response.status_code == 200, response.text
    assert len(client.get_run(run_id).data.metrics) == 1000


def test_log_batch_of_101_params_is_rejected(experiment_id, client, rest):
    run_id = client.create_run(experiment_id).info.run_id
    params = [{"key": f"p{i}", "value": "v"} for i in range(101)]
    response = rest.post(f"{API}/runs/log-batch", json={"run_id": run_id, "params": params})
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


def test_log_batch_duplicate_param_keys_are_rejected(experiment_id, client, rest):
    run_id = client.create_run(experiment_id).info.run_id
    params = [{"key": "p", "value": "1"}, {"key": "p", "value": "2"}]
    response = rest.post(f"{API}/runs/log-batch", json={"run_id": run_id, "params": params})
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


def test_param_value_length_limit(experiment_id, client, rest):
    run_id = client.create_run(experiment_id).info.run_id
    response = rest.post(
        f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "max", "value": "x" * 6000}
    )
    assert response.status_code == 200, response.text
    assert client.get_run(run_id).data.params["max"] == "x" * 6000

    response = rest.post(
        f"{API}/runs/log-parameter", json={"run_id": run_id, "key": "over", "value": "y" * 6001}
    )
    # MLflow truncates to the limit (MLFLOW_TRUNCATE_LONG_VALUES, on by default); rejecting is
    # also acceptable. Storing more than the limit is not.
    if response.status_code == 200:
        assert client.get_run(run_id).data.params["over"] == "y" * 6000
    else:
        assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("key", ["../escape", "/abs", "a/../b", "bad\nkey", "x" * 251])
def test_invalid_metric_keys_are_rejected(experiment_id, client, rest, key):
    run_id = client.create_run(experiment_id).info.run_id
    response = rest.post(
        f"{API}/runs/log-metric",
        json={"run_id": run_id, "key": key, "value": 1.0, "timestamp": 1, "step": 0},
    )
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


# --------------------------------------------------------------------------------------------
# Malformed requests


def test_missing_required_field(rest):
    response = rest.post(f"{API}/experiments/create", json={})
    body = assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")
    assert "name" in body["message"]

    response = rest.get(f"{API}/runs/get")
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.judgeflow_only
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/experiments/create", b'{"name": "unterminated'),
        ("/runs/log-batch", b"[1, 2"),
        ("/runs/search", b"not json at all"),
    ],
)
def test_malformed_json_body(rest, path, body):
    """MLflow itself answers 500 (an HTML page) here, which the client would retry for minutes.
    Either 400 code is fine: the client maps both to a 400 error."""
    response = rest.post(f"{API}{path}", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["error_code"] in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"), response.text
    assert error["message"]


def test_wrong_json_types(rest):
    response = rest.post(f"{API}/experiments/create", json={"name": {"nested": "object"}})
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST")

    response = rest.post(f"{API}/runs/search", json={"experiment_ids": "0", "max_results": "many"})
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST")


def test_non_json_content_type(rest):
    response = rest.post(
        f"{API}/experiments/create", data=b"name=x", headers={"Content-Type": "text/plain"}
    )
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


def test_invalid_query_parameter_type(rest):
    response = rest.get(f"{API}/experiments/search", params={"max_results": "lots"})
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/2.0/mlflow/does-not-exist"),
        ("POST", "/api/2.0/mlflow/runs/does-not-exist"),
        ("GET", "/api/9.0/mlflow/experiments/get?experiment_id=0"),
        ("GET", "/definitely/not/a/route"),
    ],
)
def test_unknown_route_is_404(rest, method, path):
    response = rest.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == 404, response.text


# --------------------------------------------------------------------------------------------
# Artifact paths must stay inside the artifact root


TRAVERSALS = [
    "0/../x",
    "0/../../etc/passwd",
    "0/%2e%2e/x",
    "0/%2E%2E/%2e%2e/x",
    "0/%2F../x",
    "0/a/%2F..%2F..%2Fx",
    "0%2F..%2F..%2Fx",
    "%2Fetc/passwd",
    "%2F%2Fetc/passwd",
    "0/..%2F..%2Fx",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_artifact_path_traversal_put_is_rejected(server, rest, path):
    response = rest.verbatim(
        "PUT",
        f"/api/2.0/mlflow-artifacts/artifacts/{path}",
        body=b"owned",
        headers={"Content-Type": "application/octet-stream"},
    )
    body = assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")
    assert body["message"] == "Invalid path"
    escaped = [p for p in server.data_dir.rglob("*") if p.is_file() and p.read_bytes() == b"owned"]
    assert escaped == [], "traversal wrote a file"


@pytest.mark.parametrize("path", TRAVERSALS)
def test_artifact_path_traversal_get_is_rejected(rest, path):
    response = rest.verbatim("GET", f"/api/2.0/mlflow-artifacts/artifacts/{path}")
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("path", ["../x", "0/../../x", "/etc", "0/%2e%2e/x"])
def test_artifact_list_traversal_is_rejected(rest, path):
    response = rest.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": path})
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


def test_artifact_delete_traversal_is_rejected(rest):
    response = rest.verbatim("DELETE", "/api/2.0/mlflow-artifacts/artifacts/0/%2e%2e/%2e%2e/x")
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


# --------------------------------------------------------------------------------------------
# Non-API endpoints and the UI's path prefix


def test_health(rest):
    response = rest.get("/health")
    assert response.status_code == 200
    assert response.text.strip() == "OK"


def test_version(rest):
    response = rest.get("/version")
    assert response.status_code == 200
    assert response.text.strip()
    # The client compares it as a version (>= 3.4 means OTLP span export is available).
    from packaging.version import Version

    Version(response.text.strip())


def test_ajax_api_prefix(rest):
    response = rest.get("/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": "0"})
    assert response.status_code == 200, response.text
    experiment = response.json()["experiment"]
    assert experiment["experiment_id"] == "0"
    assert experiment["name"] == "Default"
    assert experiment["lifecycle_stage"] == "active"


def test_json_wire_shapes(experiment_id, client, rest):
    """Raw JSON as the client parses it: ids as strings, enums as names, snake_case fields."""
    run_id = client.create_run(experiment_id, run_name="wire").info.run_id
    client.log_metric(run_id, "m", float("nan"))
    response = rest.get(f"{API}/runs/get", params={"run_id": run_id})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    run = response.json()["run"]
    info = run["info"]
    assert info["run_id"] == run_id
    assert info["run_uuid"] == run_id
    assert info["experiment_id"] == experiment_id
    assert info["status"] == "RUNNING"
    assert info["lifecycle_stage"] == "active"
    assert info["run_name"] == "wire"
    assert int(info["start_time"]) > 0
    (m,) = run["data"]["metrics"]
    assert m["key"] == "m" and m["value"] == "NaN" and int(m["step"]) == 0

    response = rest.get(f"{API}/experiments/get", params={"experiment_id": experiment_id})
    experiment = response.json()["experiment"]
    assert experiment["experiment_id"] == experiment_id
    assert isinstance(experiment["experiment_id"], str)

    response = rest.post(f"{API}/runs/set-tag", json={"run_id": run_id, "key": "k", "value": "v"})
    assert response.status_code == 200
    assert response.json() == {}


def test_get_requests_accept_legacy_run_uuid(experiment_id, client, rest):
    run_id = client.create_run(experiment_id).info.run_id
    response = rest.get(f"{API}/runs/get", params={"run_uuid": run_id})
    assert response.status_code == 200, response.text
    assert response.json()["run"]["info"]["run_id"] == run_id


def test_search_via_get(rest):
    response = rest.get(f"{API}/experiments/search", params={"max_results": 5, "filter": "name = 'Default'"})
    assert response.status_code == 200, response.text
    names = [e["name"] for e in response.json()["experiments"]]
    assert names == ["Default"]


def test_error_body_is_json_for_every_client_error(rest):
    # A sample of client mistakes: none may leak HTML or a stack trace.
    responses = [
        rest.get(f"{API}/runs/get", params={"run_id": "zzz"}),
        rest.post(f"{API}/runs/create", json={"experiment_id": "987654321"}),
        rest.get(f"{API}/experiments/get", params={"experiment_id": "987654321"}),
    ]
    for response in responses:
        assert 400 <= response.status_code < 500, response.text
        body = json.loads(response.text)
        assert body["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
        assert "Traceback" not in body["message"]


# --------------------------------------------------------------------------------------------
# Protobuf-JSON leniency other clients (Java, R, older Python) rely on


def test_unknown_request_fields_are_ignored(experiment_id, client, rest):
    run_id = client.create_run(experiment_id).info.run_id
    response = rest.post(
        f"{API}/runs/set-tag",
        json={"run_id": run_id, "key": "k", "value": "v", "field_from_a_newer_client": {"x": 1}},
    )
    assert response.status_code == 200, response.text
    assert client.get_run(run_id).data.tags["k"] == "v"


def test_int64_and_double_fields_as_strings(experiment_id, client, rest):
    run_id = client.create_run(experiment_id).info.run_id
    response = rest.post(
        f"{API}/runs/log-metric",
        json={"run_id": run_id, "key": "s", "value": "1.5", "timestamp": "1700000000000", "step": "3"},
    )
    assert response.status_code == 200, response.text
    (point,) = client.get_metric_history(run_id, "s")
    assert (point.value, point.timestamp, point.step) == (1.5, 1700000000000, 3)

    response = rest.post(
        f"{API}/runs/log-batch",
        json={"run_id": run_id, "metrics": [{"key": "inf", "value": "Infinity", "timestamp": 1}]},
    )
    assert response.status_code == 200, response.text
    assert client.get_run(run_id).data.metrics["inf"] >= 1.797e308


def test_metric_history_pages(experiment_id, client, rest):
    run_id = client.create_run(experiment_id).info.run_id
    for i in range(25):
        client.log_metric(run_id, "m", float(i), timestamp=1000 + i, step=i)
    seen, token, pages = [], None, 0
    while True:
        params = {"run_id": run_id, "metric_key": "m", "max_results": 10}
        if token:
            params["page_token"] = token
        response = rest.get(f"{API}/metrics/get-history", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.extend(int(m["step"]) for m in body.get("metrics", []))
        token = body.get("next_page_token")
        pages += 1
        if not token:
            break
        assert pages < 10
    assert seen == list(range(25))
    assert pages == 3


@pytest.mark.parametrize("max_results", [0, -1, 50001])
def test_search_runs_max_results_out_of_range(experiment_id, rest, max_results):
    response = rest.post(
        f"{API}/runs/search", json={"experiment_ids": [experiment_id], "max_results": max_results}
    )
    assert_mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")
