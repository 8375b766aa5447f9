"""The model registry with the official client: registering logged models, loading them by
alias and version, stages, tags, search, rename and delete, prompts, and the error codes the
client depends on."""

from __future__ import annotations

import json
import time

import mlflow
import mlflow.pyfunc
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from conftest import assert_mlflow_error, unique_name
from test_models import log_add_model

API = "/api/2.0/mlflow"


def test_log_model_registers_and_loads_by_alias_and_version(experiment_id, client):
    name = unique_name("reg")
    with mlflow.start_run() as run:
        info = log_add_model(5, registered_model_name=name)
    assert str(info.registered_model_version) == "1"

    version = client.get_model_version(name, "1")
    assert version.name == name
    assert version.version == "1"
    assert version.run_id == run.info.run_id
    assert version.source == f"models:/{info.model_id}"
    assert version.status == "READY"
    assert version.current_stage == "None"
    uri = client.get_model_version_download_uri(name, "1")
    assert uri.rstrip("/").endswith(f"{info.model_id}/artifacts")

    client.set_registered_model_alias(name, "champion", "1")
    assert client.get_model_version(name, "1").aliases == ["champion"]
    by_alias = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    assert list(by_alias.predict(pd.DataFrame({"x": [1, 2]}))) == [6, 7]
    by_version = mlflow.pyfunc.load_model(f"models:/{name}/1")
    assert list(by_version.predict(pd.DataFrame({"x": [10]}))) == [15]

    # Registering the same name again adds version 2 (create answers RESOURCE_ALREADY_EXISTS).
    with mlflow.start_run():
        second = log_add_model(50, registered_model_name=name)
    assert str(second.registered_model_version) == "2"
    latest = mlflow.pyfunc.load_model(f"models:/{name}/latest")
    assert list(latest.predict(pd.DataFrame({"x": [1]}))) == [51]
    registered = mlflow.register_model(f"models:/{info.model_id}", name)
    assert registered.version == "3"
    assert client.get_model_version(name, "3").run_id == run.info.run_id
    registrations = json.loads(client.get_logged_model(info.model_id).tags["mlflow.modelVersions"])
    assert {"name": name, "version": "1"} in registrations
    assert {"name": name, "version": "3"} in registrations


def test_registered_model_crud(client):
    name = unique_name("crud")
    created = client.create_registered_model(name, tags={"team": "ml"}, description="first")
    assert created.name == name
    assert created.description == "first"
    assert created.tags == {"team": "ml"}
    assert created.creation_timestamp > 0

    updated = client.update_registered_model(name, description="second")
    assert updated.description == "second"
    client.set_registered_model_tag(name, "owner", "ana")
    client.set_registered_model_tag(name, "number", 12345)
    client.delete_registered_model_tag(name, "team")
    got = client.get_registered_model(name)
    assert got.tags == {"owner": "ana", "number": "12345"}
    assert got.description == "second"

    client.create_model_version(name, "s3://bucket/model")
    client.create_model_version(name, "s3://bucket/model")
    client.set_registered_model_alias(name, "prod", "2")
    new_name = unique_name("renamed")
    client.rename_registered_model(name, new_name)
    assert client.get_registered_model(new_name).name == new_name
    assert client.get_model_version(new_name, "2").aliases == ["prod"]
    assert client.get_registered_model(new_name).aliases == {"prod": "2"}
    with pytest.raises(MlflowException) as err:
        client.get_registered_model(name)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    client.delete_model_version(new_name, "2")
    assert client.get_registered_model(new_name).aliases == {}
    # Version numbers are never reused.
    assert client.create_model_version(new_name, "s3://bucket/model").version == "3"

    client.delete_registered_model(new_name)
    with pytest.raises(MlflowException) as err:
        client.get_model_version(new_name, "1")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # The name is free again and numbering starts over.
    client.create_registered_model(new_name)
    assert client.create_model_version(new_name, "s3://bucket/model").version == "1"


def test_search_registered_models(client):
    prefix = unique_name("search")
    for suffix, team in [("a", "x"), ("b", "y"), ("c", "y")]:
        client.create_registered_model(f"{prefix}-{suffix}", tags={"team": team})
    time.sleep(0.01)  # a distinct timestamp for the order-by check
    client.create_registered_model(f"{prefix}-untagged")

    def names(filter_string=None, **kwargs):
        return [m.name for m in client.search_registered_models(filter_string, **kwargs)]

    tagged = [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    assert set(tagged) <= set(names())
    assert names(f"name LIKE '{prefix}-%'") == [*tagged, f"{prefix}-untagged"]
    assert names(f"name ILIKE '{prefix.upper()}-_'", order_by=["name DESC"]) == tagged[::-1]
    assert names(f"name LIKE '{prefix}-%'", order_by=["timestamp DESC"])[0] == f"{prefix}-untagged"
    assert names(f"name = '{prefix}-b'") == [f"{prefix}-b"]
    assert names(f"name LIKE '{prefix}-%' AND tags.team = 'y'") == [f"{prefix}-b", f"{prefix}-c"]
    # As in MLflow, `!=` on an ordinary tag needs the tag to be there; only the prompt tag is
    # special (models lack it, and the client's appended `!= 'true'` must keep them).
    assert names(f"name LIKE '{prefix}-%' AND tag.`team` != 'y'") == [f"{prefix}-a"]
    assert names(f"name = '{prefix}-nothing'") == []

    page = client.search_registered_models(f"name LIKE '{prefix}-_'", max_results=2)
    assert [m.name for m in page] == tagged[:2]
    assert page.token
    rest = client.search_registered_models(
        f"name LIKE '{prefix}-_'", max_results=2, page_token=page.token
    )
    assert [m.name for m in rest] == tagged[2:]
    assert not rest.token


def test_search_model_versions(client):
    name = unique_name("versions")
    other = unique_name("versions")
    client.create_registered_model(name)
    client.create_registered_model(other)
    run_a = "a" * 32
    run_b = "b" * 32
    client.create_model_version(name, f"runs:/{run_a}/model", run_id=run_a, tags={"k": "v"})
    client.create_model_version(name, f"runs:/{run_b}/model", run_id=run_b)
    client.create_model_version(other, f"runs:/{run_b}/model", run_id=run_b)

    def found(filter_string, **kwargs):
        return [(v.name, v.version) for v in client.search_model_versions(filter_string, **kwargs)]

    assert sorted(found(f"name = '{name}'")) == [(name, "1"), (name, "2")]
    assert found(f"name = '{name}'", order_by=["version_number ASC"]) == [(name, "1"), (name, "2")]
    assert sorted(found(f"run_id = '{run_b}'")) == sorted([(name, "2"), (other, "1")])
    assert found(f"name = '{name}' AND tags.k = 'v'") == [(name, "1")]
    assert found(f"name IN ('{name}', '{other}') AND run_id = '{run_a}'") == [(name, "1")]
    versions = client.search_model_versions(f"name = '{name}'", order_by=["version_number DESC"])
    assert versions[0].tags == {}
    assert versions[1].tags == {"k": "v"}


def test_stages_latest_versions_and_timestamps(client):
    name = unique_name("stages")
    created = client.create_registered_model(name)
    time.sleep(0.01)
    for _ in range(3):
        client.create_model_version(name, "s3://bucket/model")
    after_versions = client.get_registered_model(name)
    assert after_versions.last_updated_timestamp > created.last_updated_timestamp

    time.sleep(0.01)
    client.update_model_version(name, "1", description="described")
    assert client.get_model_version(name, "1").description == "described"
    assert (
        client.get_registered_model(name).last_updated_timestamp
        == after_versions.last_updated_timestamp
    )

    time.sleep(0.01)
    staged = client.transition_model_version_stage(name, "1", "production")
    assert staged.current_stage == "Production"
    assert (
        client.get_registered_model(name).last_updated_timestamp
        > after_versions.last_updated_timestamp
    )
    client.transition_model_version_stage(name, "2", "Production", archive_existing_versions=True)
    assert client.get_model_version(name, "1").current_stage == "Archived"

    latest = {v.current_stage: v.version for v in client.get_latest_versions(name)}
    assert latest == {"None": "3", "Production": "2", "Archived": "1"}
    assert [v.version for v in client.get_latest_versions(name, stages=["Production"])] == ["2"]
    assert client.get_latest_versions(name, stages=["Staging"]) == []
    model = client.get_registered_model(name)
    assert sorted(v.version for v in model.latest_versions) == ["1", "2", "3"]

    time.sleep(0.01)
    before_delete = client.get_registered_model(name).last_updated_timestamp
    client.delete_model_version(name, "3")
    assert client.get_registered_model(name).last_updated_timestamp > before_delete


def test_model_version_tags_and_aliases(client):
    name = unique_name("tags")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/model", tags={"a": "1"})
    client.create_model_version(name, "s3://bucket/model")
    client.set_model_version_tag(name, "1", "b", "2")
    client.delete_model_version_tag(name, "1", "a")
    assert client.get_model_version(name, "1").tags == {"b": "2"}

    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "challenger", "2")
    client.set_registered_model_alias(name, "champion", "2")
    by_alias = client.get_model_version_by_alias(name, "champion")
    assert by_alias.version == "2"
    assert sorted(by_alias.aliases) == ["challenger", "champion"]
    assert client.get_registered_model(name).aliases == {"champion": "2", "challenger": "2"}
    client.delete_registered_model_alias(name, "challenger")
    assert client.get_model_version(name, "2").aliases == ["champion"]
    with pytest.raises(MlflowException) as err:
        client.get_model_version_by_alias(name, "challenger")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_prompts(client):
    name = unique_name("prompt")
    first = mlflow.genai.register_prompt(name, "Hello, {{name}}!", commit_message="first")
    assert first.version == 1
    second = mlflow.genai.register_prompt(name, "Hi, {{name}}.")
    assert second.version == 2
    mlflow.genai.set_prompt_alias(name, "production", 1)

    by_alias = mlflow.genai.load_prompt(f"prompts:/{name}@production")
    assert by_alias.version == 1
    assert by_alias.template == "Hello, {{name}}!"
    assert by_alias.format(name="Ana") == "Hello, Ana!"
    by_version = mlflow.genai.load_prompt(f"prompts:/{name}/2")
    assert by_version.format(name="Bo") == "Hi, Bo."

    assert [p.name for p in mlflow.genai.search_prompts(f"name = '{name}'")] == [name]

    # Prompts are registered models with a tag, hidden from model searches.
    assert name not in [m.name for m in client.search_registered_models()]
    assert client.search_registered_models(f"name = '{name}'") == []
    assert client.search_model_versions(f"name = '{name}'") == []


def test_registry_errors(client, rest):
    name = unique_name("errors")
    missing = rest.get(f"{API}/registered-models/get", params={"name": name})
    body = assert_mlflow_error(missing, 404, "RESOURCE_DOES_NOT_EXIST")
    assert body["message"] == f"Registered Model with name={name} not found"

    client.create_registered_model(name)
    duplicate = rest.post(f"{API}/registered-models/create", json={"name": name})
    assert_mlflow_error(duplicate, 400, "RESOURCE_ALREADY_EXISTS")
    with pytest.raises(MlflowException) as err:
        client.create_registered_model(name)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"

    client.create_model_version(name, "s3://bucket/model")
    not_a_number = rest.get(f"{API}/model-versions/get", params={"name": name, "version": "one"})
    body = assert_mlflow_error(not_a_number, 400, "INVALID_PARAMETER_VALUE")
    assert "Parameter 'version' must be an integer, got 'one'" in body["message"]
    no_version = rest.get(f"{API}/model-versions/get", params={"name": name, "version": "7"})
    assert_mlflow_error(no_version, 404, "RESOURCE_DOES_NOT_EXIST")

    unknown_alias = rest.get(
        f"{API}/registered-models/alias", params={"name": name, "alias": "champion"}
    )
    body = assert_mlflow_error(unknown_alias, 400, "INVALID_PARAMETER_VALUE")
    assert "Registered model alias champion not found" in body["message"]

    with pytest.raises(MlflowException) as err:
        client.set_registered_model_alias(name, "latest", "1")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        client.create_model_version(unique_name("nobody"), "s3://bucket/model")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as err:
        client.create_model_version(name, f"runs:/{'a' * 32}/model", run_id="b" * 32)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        client.transition_model_version_stage(name, "1", "Shipped")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"

    # DELETE carries its fields in a JSON body.
    deleted = rest.delete(f"{API}/registered-models/delete", json={"name": name})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {}
    again = rest.delete(f"{API}/registered-models/delete", json={"name": name})
    assert_mlflow_error(again, 404, "RESOURCE_DOES_NOT_EXIST")
