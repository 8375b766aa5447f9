"""Evaluation datasets (`mlflow.genai.datasets`) with the official client: create, get, search,
delete, tags, experiment links, `merge_records` from dicts and DataFrames, re-merging, `to_df`,
deleting records, `mlflow.genai.evaluate` over a dataset, and the REST shapes underneath
(several fields are JSON text)."""

from __future__ import annotations

import json
import time

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.genai import datasets
from mlflow.genai.scorers import scorer

from conftest import assert_mlflow_error, unique_name

API = "/api/3.0/mlflow/datasets"


def new_dataset(experiment_id: str, **kwargs) -> datasets.EvaluationDataset:
    return datasets.create_dataset(
        name=kwargs.pop("name", None) or unique_name("ds"),
        experiment_id=experiment_id,
        **kwargs,
    )


def test_create_get_tags_and_experiment_links(experiment_id, client):
    name = unique_name("ds")
    dataset = datasets.create_dataset(name=name, experiment_id=experiment_id, tags={"team": "qa"})
    assert dataset.dataset_id.startswith("d-") and len(dataset.dataset_id) == 34
    assert dataset.name == name
    assert dataset.tags["team"] == "qa"
    assert dataset.experiment_ids == [experiment_id]
    assert dataset.schema is None and dataset.profile is None
    assert len(dataset.digest) == 8

    fetched = datasets.get_dataset(dataset_id=dataset.dataset_id)
    assert (fetched.name, fetched.digest) == (name, dataset.digest)
    assert fetched.created_time == dataset.created_time
    assert fetched.experiment_ids == [experiment_id]

    datasets.set_dataset_tags(dataset_id=dataset.dataset_id, tags={"env": "prod", "team": "ml"})
    tags = datasets.get_dataset(dataset_id=dataset.dataset_id).tags
    assert (tags["env"], tags["team"]) == ("prod", "ml")
    datasets.delete_dataset_tag(dataset_id=dataset.dataset_id, key="env")
    assert "env" not in datasets.get_dataset(dataset_id=dataset.dataset_id).tags

    other = client.create_experiment(unique_name("exp"))
    datasets.add_dataset_to_experiments(dataset.dataset_id, [other])
    linked = datasets.get_dataset(dataset_id=dataset.dataset_id).experiment_ids
    assert sorted(linked) == sorted([experiment_id, other])
    datasets.remove_dataset_from_experiments(dataset.dataset_id, [experiment_id])
    assert datasets.get_dataset(dataset_id=dataset.dataset_id).experiment_ids == [other]


def test_merge_records_from_dicts_and_dataframe(experiment_id):
    dataset = new_dataset(experiment_id)
    digest_before = dataset.digest
    dataset.merge_records([
        {"inputs": {"question": "What is MLflow?"}, "expectations": {"answer": "A platform"}},
        {"inputs": {"question": "What is Judgeflow?"}, "expectations": {"answer": "A server"}},
    ])
    frame = pd.DataFrame([
        {"inputs": {"question": "Is it fast?"}, "expectations": {"answer": "Yes", "score": 0.9}},
    ])
    dataset.merge_records(frame)

    df = dataset.to_df()
    assert len(df) == 3
    assert {"inputs", "outputs", "expectations", "tags", "source_type", "dataset_record_id"} <= set(
        df.columns
    )
    by_question = {row["inputs"]["question"]: row for _, row in df.iterrows()}
    assert by_question["Is it fast?"]["expectations"] == {"answer": "Yes", "score": 0.9}
    assert by_question["What is MLflow?"]["source_type"] == "HUMAN"
    assert all(rid.startswith("dr-") for rid in df["dataset_record_id"])

    fetched = datasets.get_dataset(dataset_id=dataset.dataset_id)
    assert json.loads(fetched.profile) == {"num_records": 3}
    schema = json.loads(fetched.schema)
    assert schema["inputs"] == {"question": "string"}
    assert schema["expectations"] == {"answer": "string", "score": "float"}
    assert fetched.digest != digest_before


def test_remerge_updates_expectations_instead_of_adding(experiment_id):
    dataset = new_dataset(experiment_id)
    dataset.merge_records([{"inputs": {"q": "a", "n": 1}, "expectations": {"x": 1}}])
    # Same inputs (key order does not matter): the record is updated, expectations merged.
    dataset.merge_records([
        {"inputs": {"n": 1, "q": "a"}, "expectations": {"x": 2, "y": 3}},
        {"inputs": {"q": "b", "n": 2}},
    ])
    df = datasets.get_dataset(dataset_id=dataset.dataset_id).to_df()
    assert len(df) == 2
    a = next(row for _, row in df.iterrows() if row["inputs"]["q"] == "a")
    assert a["expectations"] == {"x": 2, "y": 3}
    b = next(row for _, row in df.iterrows() if row["inputs"]["q"] == "b")
    assert b["source_type"] == "CODE"
    fetched = datasets.get_dataset(dataset_id=dataset.dataset_id)
    assert json.loads(fetched.profile) == {"num_records": 2}


def test_delete_records_updates_the_profile(experiment_id):
    dataset = new_dataset(experiment_id)
    dataset.merge_records([{"inputs": {"i": i}, "expectations": {"ok": True}} for i in range(4)])
    ids = list(dataset.to_df()["dataset_record_id"])
    assert dataset.delete_records(ids[:3]) == 3
    fetched = datasets.get_dataset(dataset_id=dataset.dataset_id)
    assert json.loads(fetched.profile) == {"num_records": 1}
    assert list(fetched.to_df()["dataset_record_id"]) == ids[3:]


def test_search_datasets_filters_orders_and_pages(experiment_id):
    prefix = unique_name("search")
    created = []
    for i, team in enumerate(["red", "blue", "red"]):
        created.append(new_dataset(experiment_id, name=f"{prefix}-{i}", tags={"team": team}))
        time.sleep(0.005)  # distinct created_time, so the default order is fixed

    found = datasets.search_datasets(filter_string=f"name LIKE '{prefix}%'")
    assert [d.name for d in found] == [f"{prefix}-2", f"{prefix}-1", f"{prefix}-0"]
    red = datasets.search_datasets(
        filter_string=f"name LIKE '{prefix}%' AND tags.team = 'red'", order_by=["name ASC"]
    )
    assert [d.name for d in red] == [f"{prefix}-0", f"{prefix}-2"]
    assert [d.name for d in datasets.search_datasets(experiment_ids=[experiment_id])] == [
        f"{prefix}-2",
        f"{prefix}-1",
        f"{prefix}-0",
    ]
    since = datasets.search_datasets(
        filter_string=f"name LIKE '{prefix}%' AND created_time >= {created[1].created_time}"
    )
    assert {d.name for d in since} == {f"{prefix}-1", f"{prefix}-2"}

    client = mlflow.MlflowClient()
    page = client.search_datasets(experiment_ids=[experiment_id], max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_datasets(experiment_ids=[experiment_id], max_results=2, page_token=page.token)
    assert [d.name for d in rest] == [f"{prefix}-0"] and not rest.token

    with pytest.raises(MlflowException, match="INVALID_PARAMETER_VALUE|Invalid"):
        datasets.search_datasets(filter_string="digest = 'x'")


def test_delete_dataset(experiment_id):
    dataset = new_dataset(experiment_id)
    dataset.merge_records([{"inputs": {"q": "gone"}}])
    datasets.delete_dataset(dataset_id=dataset.dataset_id)
    with pytest.raises(MlflowException) as err:
        datasets.get_dataset(dataset_id=dataset.dataset_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    # Deleting again is not an error.
    datasets.delete_dataset(dataset_id=dataset.dataset_id)


def test_json_text_fields_and_record_pages_on_the_wire(rest, experiment_id):
    response = rest.post(
        f"{API}/create",
        json={"name": unique_name("wire"), "experiment_ids": [experiment_id],
              "tags": json.dumps({"team": "a", "mlflow.user": "root"})},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    dataset = response.json()["dataset"]
    assert json.loads(dataset["tags"]) == {"team": "a", "mlflow.user": "root"}
    assert dataset["created_by"] == "root" and dataset["experiment_ids"] == [experiment_id]
    dataset_id = dataset["dataset_id"]

    records = [
        {"inputs": {"q": str(i)}, "expectations": {"a": i}, "tags": {"mlflow.user": "root"},
         "source": {"source_type": "HUMAN", "source_data": {}}}
        for i in range(5)
    ]  # fmt: skip
    response = rest.post(f"{API}/{dataset_id}/records", json={"records": json.dumps(records)})
    assert response.json() == {"inserted_count": 5, "updated_count": 0}
    response = rest.post(f"{API}/{dataset_id}/records", json={"records": json.dumps(records[:2])})
    assert response.json() == {"inserted_count": 0, "updated_count": 2}

    got = rest.get(f"{API}/{dataset_id}").json()["dataset"]
    assert isinstance(got["schema"], str) and isinstance(got["profile"], str)
    assert json.loads(got["profile"]) == {"num_records": 5}
    assert json.loads(got["schema"])["inputs"] == {"q": "string"}

    seen, token = [], None
    while True:
        params = {"max_results": 2, **({"page_token": token} if token else {})}
        page = rest.get(f"{API}/{dataset_id}/records", params=params).json()
        assert isinstance(page["records"], str)
        batch = json.loads(page["records"])
        assert len(batch) <= 2
        seen.extend(batch)
        token = page.get("next_page_token")
        if not token:
            break
    assert sorted(r["inputs"]["q"] for r in seen) == ["0", "1", "2", "3", "4"]
    first = seen[0]
    assert first["dataset_id"] == dataset_id and first["source_type"] == "HUMAN"
    assert first["source"] == {"source_type": "HUMAN", "source_data": {}}
    assert first["created_by"] == "root" and first["outputs"] == {}

    ids = rest.get(f"{API}/{dataset_id}/experiment-ids").json()
    assert ids == {"experiment_ids": [experiment_id]}
    response = rest.delete(f"{API}/{dataset_id}/records", json={"dataset_record_ids": [first["dataset_record_id"]]})
    assert response.json() == {"deleted_count": 1}
    response = rest.patch(f"{API}/{dataset_id}/tags", json={"tags": json.dumps({"env": "prod"})})
    assert response.status_code == 200 and response.json() == {}
    assert rest.delete(f"{API}/{dataset_id}/tags/env").json() == {}
    searched = rest.get(f"{API}/search", params={"filter_string": f"name = '{dataset['name']}'"})
    assert [d["dataset_id"] for d in searched.json()["datasets"]] == [dataset_id]


def test_error_codes(rest):
    assert_mlflow_error(rest.get(f"{API}/d-{'0' * 32}"), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_mlflow_error(rest.post(f"{API}/create", json={}), 400, "INVALID_PARAMETER_VALUE")
    assert_mlflow_error(
        rest.post(f"{API}/search", json={"filter_string": "foo.bar = 1"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert_mlflow_error(
        rest.post(f"{API}/search", json={"max_results": 60000}), 400, "INVALID_PARAMETER_VALUE"
    )
    missing = f"d-{'0' * 32}"
    assert_mlflow_error(
        rest.patch(f"{API}/{missing}/tags", json={"tags": "{}"}), 404, "RESOURCE_DOES_NOT_EXIST"
    )
    assert_mlflow_error(
        rest.post(f"{API}/{missing}/add-experiments", json={"experiment_ids": ["0"]}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )


@pytest.mark.judgeflow_only
def test_bad_json_text_and_unknown_datasets_are_client_errors(rest, experiment_id):
    """MLflow answers malformed `records`/`tags` JSON with a 500 (the client then retries),
    and an upsert into an unknown dataset with a 400 that carries its SQL; Judgeflow answers
    400 INVALID_PARAMETER_VALUE and 404 RESOURCE_DOES_NOT_EXIST."""
    dataset = new_dataset(experiment_id)
    for body in ({"records": "[{"}, {"records": "{}"}, {"records": '[{"inputs": "q"}]'}):
        assert_mlflow_error(
            rest.post(f"{API}/{dataset.dataset_id}/records", json=body),
            400,
            "INVALID_PARAMETER_VALUE",
        )
    assert_mlflow_error(
        rest.patch(f"{API}/{dataset.dataset_id}/tags", json={"tags": "nope"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    assert_mlflow_error(
        rest.post(f"{API}/create", json={"name": "x", "tags": "[1]"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )
    missing = f"d-{'0' * 32}"
    assert_mlflow_error(
        rest.post(f"{API}/{missing}/records", json={"records": "[]"}),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert_mlflow_error(
        rest.get(f"{API}/{dataset.dataset_id}/records", params={"page_token": "garbage"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )


def test_evaluate_reads_a_dataset(experiment_id, client):
    dataset = new_dataset(experiment_id)
    dataset.merge_records([
        {"inputs": {"q": "a"}, "expectations": {"expected": "A"}},
        {"inputs": {"q": "b"}, "expectations": {"expected": "B"}},
        {"inputs": {"q": "c"}, "expectations": {"expected": "x"}},
    ])
    digest = datasets.get_dataset(dataset_id=dataset.dataset_id).digest

    @scorer
    def exact(outputs, expectations):
        return outputs == expectations["expected"]

    result = mlflow.genai.evaluate(
        data=datasets.get_dataset(dataset_id=dataset.dataset_id),
        predict_fn=lambda q: q.upper(),
        scorers=[exact],
    )
    assert result.metrics["exact/mean"] == pytest.approx(2 / 3)
    run = client.get_run(result.run_id)
    digests = [d.dataset.digest for d in run.inputs.dataset_inputs]
    assert digest in digests
