"""MLflow 3 logged models: `pyfunc.log_model` + `load_model`, and the `MlflowClient` model APIs."""

from __future__ import annotations

import re

import mlflow
import mlflow.pyfunc
import pandas as pd
import pytest
from mlflow.entities import LoggedModelStatus
from mlflow.exceptions import MlflowException

MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")


class AddN(mlflow.pyfunc.PythonModel):
    """A tiny model whose predictions are easy to check."""

    def __init__(self, n: int):
        self.n = n

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return model_input["x"] + self.n


def log_add_model(n: int = 7, **kwargs):
    # Explicit requirements: inferring them spawns a subprocess and is not what is tested here.
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=AddN(n),
        pip_requirements=["pandas"],
        **kwargs,
    )


def test_pyfunc_log_and_load_by_model_id(experiment_id, client):
    with mlflow.start_run() as run:
        info = log_add_model(7, input_example=pd.DataFrame({"x": [1]}))
        mlflow.log_metric("val_loss", 0.25, model_id=info.model_id)

    assert MODEL_ID.match(info.model_id)
    assert info.model_uri == f"models:/{info.model_id}"

    model = client.get_logged_model(info.model_id)
    assert model.model_id == info.model_id
    assert model.experiment_id == experiment_id
    assert model.name == "model"
    assert model.source_run_id == run.info.run_id
    assert model.status == LoggedModelStatus.READY
    assert model.artifact_location.rstrip("/").endswith(f"{info.model_id}/artifacts")

    got_run = client.get_run(run.info.run_id)
    assert [o.model_id for o in got_run.outputs.model_outputs] == [info.model_id]

    artifacts = {f.path for f in client.list_logged_model_artifacts(info.model_id)}
    assert {"MLmodel", "python_model.pkl", "requirements.txt"} <= artifacts

    loaded = mlflow.pyfunc.load_model(info.model_uri)
    predictions = loaded.predict(pd.DataFrame({"x": [1, 2, 40]}))
    assert list(predictions) == [8, 9, 47]
    assert loaded.metadata.model_id == info.model_id


def test_pyfunc_load_by_runs_uri(experiment_id):
    with mlflow.start_run() as run:
        log_add_model(100)
    loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert list(loaded.predict(pd.DataFrame({"x": [1, 2]}))) == [101, 102]


def test_model_metrics_are_linked(experiment_id, client):
    with mlflow.start_run():
        info = log_add_model(1)
        mlflow.log_metric("accuracy", 0.875, step=3, model_id=info.model_id)
    model = client.get_logged_model(info.model_id)
    metrics = {m.key: (m.value, m.step) for m in model.metrics}
    assert metrics["accuracy"] == (0.875, 3)


def test_logged_model_client_apis(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    created = client.create_logged_model(
        experiment_id,
        name="agent-v1",
        source_run_id=run_id,
        tags={"owner": "ana", "temp": "x"},
        params={"temperature": "0.2"},
        model_type="agent",
    )
    model_id = created.model_id
    assert MODEL_ID.match(model_id)
    assert created.status == LoggedModelStatus.PENDING
    assert created.name == "agent-v1"
    assert created.model_type == "agent"
    assert created.source_run_id == run_id
    assert created.tags["owner"] == "ana"
    assert created.params == {"temperature": "0.2"}
    assert created.artifact_location.rstrip("/").endswith(f"{model_id}/artifacts")

    got = client.get_logged_model(model_id)
    assert got.model_id == model_id
    assert got.experiment_id == experiment_id
    assert got.creation_timestamp == created.creation_timestamp

    finalized = client.finalize_logged_model(model_id, LoggedModelStatus.READY)
    assert finalized.status == LoggedModelStatus.READY
    assert client.get_logged_model(model_id).status == LoggedModelStatus.READY

    client.set_logged_model_tags(model_id, {"stage": "prod", "owner": "bo"})
    client.delete_logged_model_tag(model_id, "temp")
    tags = client.get_logged_model(model_id).tags
    assert tags["stage"] == "prod"
    assert tags["owner"] == "bo"
    assert "temp" not in tags

    client.log_model_params(model_id, {"top_k": "5", "retriever": "bm25"})
    assert client.get_logged_model(model_id).params == {
        "temperature": "0.2",
        "top_k": "5",
        "retriever": "bm25",
    }

    client.delete_logged_model(model_id)
    assert client.search_logged_models([experiment_id]) == []


def test_finalize_logged_model_as_failed(experiment_id, client):
    model = client.create_logged_model(experiment_id, name="broken")
    failed = client.finalize_logged_model(model.model_id, "FAILED")
    assert failed.status == LoggedModelStatus.FAILED


def test_search_logged_models(experiment_id, client):
    made = {}
    for name, kind, tag in [("alpha", "agent", "x"), ("beta", "classifier", "y"), ("gamma", "agent", "y")]:
        model = client.create_logged_model(experiment_id, name=name, model_type=kind, tags={"t": tag})
        made[name] = model.model_id
    client.finalize_logged_model(made["alpha"], "READY")
    client.finalize_logged_model(made["gamma"], "READY")

    def search(filter_string=None, **kwargs):
        return [m.name for m in client.search_logged_models([experiment_id], filter_string, **kwargs)]

    # Default order: newest first.
    assert search() == ["gamma", "beta", "alpha"]
    assert search("name = 'beta'") == ["beta"]
    assert search("model_type = 'agent'", order_by=[{"field_name": "name", "ascending": True}]) == [
        "alpha",
        "gamma",
    ]
    assert search("tags.t = 'y' AND model_type = 'agent'") == ["gamma"]
    assert search("name LIKE '%a'", order_by=[{"field_name": "name", "ascending": False}]) == [
        "gamma",
        "beta",
        "alpha",
    ]
    assert search("name = 'nothing'") == []

    page = client.search_logged_models(
        [experiment_id], order_by=[{"field_name": "name", "ascending": True}], max_results=2
    )
    assert [m.name for m in page] == ["alpha", "beta"]
    assert page.token
    rest = client.search_logged_models(
        [experiment_id],
        order_by=[{"field_name": "name", "ascending": True}],
        max_results=2,
        page_token=page.token,
    )
    assert [m.name for m in rest] == ["gamma"]
    assert not rest.token


def test_search_logged_models_by_metric(experiment_id, client):
    with mlflow.start_run():
        good = log_add_model(1)
        mlflow.log_metric("auc", 0.9, model_id=good.model_id)
    with mlflow.start_run():
        bad = log_add_model(2)
        mlflow.log_metric("auc", 0.6, model_id=bad.model_id)
    found = client.search_logged_models([experiment_id], "metrics.auc > 0.8")
    assert [m.model_id for m in found] == [good.model_id]
    found = mlflow.search_logged_models(
        experiment_ids=[experiment_id],
        order_by=[{"field_name": "metrics.auc", "ascending": False}],
        output_format="list",
    )
    assert [m.model_id for m in found] == [good.model_id, bad.model_id]


def test_get_missing_logged_model(client):
    with pytest.raises(MlflowException) as err:
        client.get_logged_model("m-" + "0" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_logged_model_in_unknown_experiment(client):
    with pytest.raises(MlflowException) as err:
        client.create_logged_model("987654321")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
