"""`search_runs`: filters, ordering, view types and paging, in both the pandas and list forms."""

from __future__ import annotations

import math

import mlflow
import pandas as pd
import pytest
from mlflow.entities import ViewType

from conftest import unique_name

# name, model param, acc metric (None = not logged), team tag
RUNS = [
    ("r0", "lr", 0.60, "a"),
    ("r1", "lr", 0.80, "b"),
    ("r2", "tree", 0.90, "a"),
    ("r3", "tree", 0.40, "b"),
    ("r4", "lr", 0.95, "a"),
    ("r5", "svm", None, "c"),
]


@pytest.fixture(scope="module")
def populated(server):
    """One experiment holding the runs above (read-only for the tests of this module)."""
    client = mlflow.MlflowClient(tracking_uri=server.url)
    exp_id = client.create_experiment(unique_name("search"))
    ids = {}
    for i, (name, model, acc, team) in enumerate(RUNS):
        # Distinct, increasing start times make the default order (start_time DESC) certain.
        run = client.create_run(exp_id, run_name=name, start_time=1_700_000_000_000 + i * 1000)
        run_id = run.info.run_id
        client.log_param(run_id, "model", model)
        client.log_param(run_id, "index", str(i))
        if acc is not None:
            client.log_metric(run_id, "acc", acc, step=0)
        client.log_metric(run_id, "i", float(i))
        client.set_tag(run_id, "team", team)
        client.set_terminated(run_id, "FINISHED" if i % 2 == 0 else "FAILED")
        ids[name] = run_id
    return exp_id, ids


def names(runs) -> list[str]:
    return [r.info.run_name for r in runs]


def test_search_runs_pandas_two_clause_filter(populated):
    exp_id, ids = populated
    df = mlflow.search_runs(
        experiment_ids=[exp_id],
        filter_string="metrics.acc > 0.7 and params.model = 'lr'",
        order_by=["metrics.acc DESC"],
    )
    assert isinstance(df, pd.DataFrame)
    assert list(df["run_id"]) == [ids["r4"], ids["r1"]]
    assert list(df["metrics.acc"]) == [0.95, 0.80]
    assert list(df["params.model"]) == ["lr", "lr"]
    assert list(df["tags.team"]) == ["a", "b"]
    assert list(df["tags.mlflow.runName"]) == ["r4", "r1"]
    assert list(df["status"]) == ["FINISHED", "FAILED"]
    assert list(df["experiment_id"]) == [exp_id, exp_id]
    assert pd.api.types.is_datetime64_any_dtype(df["start_time"])


def test_search_runs_pandas_whole_experiment(populated):
    exp_id, ids = populated
    df = mlflow.search_runs(experiment_ids=[exp_id])
    # Default order: newest start_time first.
    assert list(df["run_id"]) == [ids[f"r{i}"] for i in reversed(range(6))]
    # A run without the metric has NaN in that column.
    r5 = df[df["run_id"] == ids["r5"]].iloc[0]
    assert math.isnan(r5["metrics.acc"])


def test_search_runs_list_form(populated):
    exp_id, ids = populated
    runs = mlflow.search_runs(
        experiment_ids=[exp_id],
        filter_string="tags.team = 'a' AND metrics.acc >= 0.9",
        order_by=["metrics.acc ASC"],
        output_format="list",
    )
    assert names(runs) == ["r2", "r4"]
    assert runs[0].data.metrics["acc"] == 0.90
    assert runs[0].data.params == {"model": "tree", "index": "2"}
    assert runs[0].data.tags["team"] == "a"


def test_search_runs_by_experiment_name(populated, client):
    exp_id, _ = populated
    name = client.get_experiment(exp_id).name
    runs = mlflow.search_runs(experiment_names=[name], output_format="list")
    assert len(runs) == 6


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc < 0.7", ["r3", "r0"]),
        ("metrics.acc != 0.6 AND metrics.acc <= 0.9", ["r3", "r2", "r1"]),
        ("metrics.acc = 0.95", ["r4"]),
        ("params.model != 'lr'", ["r5", "r3", "r2"]),
        ("params.model LIKE 't%'", ["r3", "r2"]),
        ("params.model ILIKE 'SV%'", ["r5"]),
        ("params.model LIKE 'LR'", []),  # LIKE is case-sensitive (SQLite's default is not)
        ("params.model = 'LR'", []),
        ("params.model ILIKE 'LR'", ["r4", "r1", "r0"]),
        ("params.model LIKE '_r%'", ["r4", "r3", "r2", "r1", "r0"]),
        ("params.missing != 'x'", []),  # a run without the param does not match
        ("tags.team = 'b' AND params.model = 'tree'", ["r3"]),
        ("tags.`mlflow.runName` = 'r2'", ["r2"]),
        ('tags."team" = \'c\'', ["r5"]),
        ("attributes.run_name = 'r1'", ["r1"]),
        ("attributes.status = 'FAILED'", ["r5", "r3", "r1"]),
        ("attributes.status != 'FAILED' AND params.model = 'lr'", ["r4", "r0"]),
        ("attributes.start_time >= 1700000003000", ["r5", "r4", "r3"]),
        ("run_name LIKE 'r%' AND metrics.i > 3.5", ["r5", "r4"]),
        ("attribute.run_name != 'r0' AND attr.run_name != 'r5'", ["r4", "r3", "r2", "r1"]),
        ("attributes.run_name ILIKE 'R1'", ["r1"]),
        ("attributes.`run name` = 'r2'", ["r2"]),
        ("param.index = '4'", ["r4"]),
        ("metric.i >= 4", ["r5", "r4"]),
        ("tag.team = 'a' and param.model = 'lr'", ["r4", "r0"]),
        ("params.model = 'nothing'", []),
        ("metrics.acc >= 0", ["r4", "r3", "r2", "r1", "r0"]),
        ("tags.team IS NOT NULL AND params.model = 'svm'", ["r5"]),
        ("params.missing IS NULL AND metrics.i < 1", ["r0"]),
        ("tags.missing IS NOT NULL", []),
        ("metrics.`i` > 4.5", ["r5"]),
        ("params.`model` = 'svm'", ["r5"]),
        ("", ["r5", "r4", "r3", "r2", "r1", "r0"]),
    ],
)
def test_search_runs_filter_grammar(populated, client, filter_string, expected):
    exp_id, _ = populated
    runs = client.search_runs([exp_id], filter_string=filter_string)
    assert names(runs) == expected


def test_search_runs_by_run_id(populated, client):
    exp_id, ids = populated
    runs = client.search_runs([exp_id], filter_string=f"attributes.run_id = '{ids['r3']}'")
    assert names(runs) == ["r3"]
    wanted = f"('{ids['r1']}', '{ids['r4']}')"
    runs = client.search_runs([exp_id], filter_string=f"attributes.run_id IN {wanted}")
    assert names(runs) == ["r4", "r1"]
    runs = client.search_runs([exp_id], filter_string=f"attributes.run_id NOT IN {wanted}")
    assert names(runs) == ["r5", "r3", "r2", "r0"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["metrics.acc DESC"], ["r4", "r2", "r1", "r0", "r3", "r5"]),  # missing value last
        (["metrics.acc"], ["r3", "r0", "r1", "r2", "r4", "r5"]),
        (["params.model ASC", "metrics.acc DESC"], ["r4", "r1", "r0", "r5", "r2", "r3"]),
        (["tags.team DESC", "attributes.start_time ASC"], ["r5", "r1", "r3", "r0", "r2", "r4"]),
        (["attributes.run_name DESC"], ["r5", "r4", "r3", "r2", "r1", "r0"]),
        (["start_time ASC"], ["r0", "r1", "r2", "r3", "r4", "r5"]),
    ],
)
def test_search_runs_order_by(populated, client, order_by, expected):
    exp_id, _ = populated
    assert names(client.search_runs([exp_id], order_by=order_by)) == expected


def test_search_runs_paging(populated, client):
    exp_id, _ = populated
    seen, token, pages = [], None, 0
    while True:
        page = client.search_runs(
            [exp_id], order_by=["metrics.i ASC"], max_results=4, page_token=token
        )
        pages += 1
        assert len(page) <= 4
        seen.extend(names(page))
        token = page.token
        if not token:
            break
        assert pages < 10, "pagination does not terminate"
    assert seen == ["r0", "r1", "r2", "r3", "r4", "r5"]
    assert pages == 2


def test_search_runs_exact_page_boundary_has_no_extra_page(populated, client):
    exp_id, _ = populated
    first = client.search_runs([exp_id], order_by=["metrics.i ASC"], max_results=3)
    assert names(first) == ["r0", "r1", "r2"]
    assert first.token
    second = client.search_runs(
        [exp_id], order_by=["metrics.i ASC"], max_results=3, page_token=first.token
    )
    assert names(second) == ["r3", "r4", "r5"]
    if second.token:  # MLflow may hand out a token that leads to an empty page
        third = client.search_runs(
            [exp_id], order_by=["metrics.i ASC"], max_results=3, page_token=second.token
        )
        assert list(third) == [] and not third.token


def test_search_runs_max_results(populated, client):
    exp_id, _ = populated
    assert names(client.search_runs([exp_id], max_results=2)) == ["r5", "r4"]
    df = mlflow.search_runs([exp_id], max_results=1)
    assert len(df) == 1


def test_search_runs_view_type(server, client):
    exp_id = client.create_experiment(unique_name("view"))
    kept = client.create_run(exp_id, run_name="kept").info.run_id
    gone = client.create_run(exp_id, run_name="gone").info.run_id
    client.delete_run(gone)

    active = mlflow.search_runs([exp_id], run_view_type=ViewType.ACTIVE_ONLY)
    assert list(active["run_id"]) == [kept]
    deleted = mlflow.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)
    assert list(deleted["run_id"]) == [gone]
    everything = client.search_runs([exp_id], run_view_type=ViewType.ALL)
    assert sorted(r.info.run_id for r in everything) == sorted([kept, gone])
    assert client.search_runs([exp_id], "attributes.run_name = 'gone'") == []

    client.restore_run(gone)
    assert sorted(r.info.run_id for r in client.search_runs([exp_id])) == sorted([kept, gone])


def test_search_runs_across_experiments(server, client):
    first = client.create_experiment(unique_name("x1"))
    second = client.create_experiment(unique_name("x2"))
    a = client.create_run(first, run_name="a").info.run_id
    b = client.create_run(second, run_name="b").info.run_id
    client.log_metric(a, "score", 1.0)
    client.log_metric(b, "score", 2.0)
    runs = client.search_runs([first, second], order_by=["metrics.score DESC"])
    assert [r.info.run_id for r in runs] == [b, a]
    df = mlflow.search_runs([first, second], filter_string="metrics.score > 1.5")
    assert list(df["run_id"]) == [b]
    assert list(df["experiment_id"]) == [second]


def test_search_runs_by_dataset(server, client):
    exp_id = client.create_experiment(unique_name("ds"))
    mlflow.set_experiment(experiment_id=exp_id)
    dataset = mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2]}), name="golden")
    with mlflow.start_run(run_name="with-data"):
        mlflow.log_input(dataset, context="eval")
    with mlflow.start_run(run_name="without-data"):
        pass
    runs = client.search_runs([exp_id], "datasets.name = 'golden' AND datasets.context = 'eval'")
    assert names(runs) == ["with-data"]
    runs = client.search_runs([exp_id], f"datasets.digest = '{dataset.digest}'")
    assert names(runs) == ["with-data"]


def test_search_runs_on_experiment_without_runs(server, client):
    exp_id = client.create_experiment(unique_name("empty"))
    assert client.search_runs([exp_id]) == []
    df = mlflow.search_runs([exp_id])
    assert df.empty


@pytest.fixture(scope="module")
def with_nan(server):
    """Runs whose metric `v` is a number, NaN, or missing."""
    client = mlflow.MlflowClient(tracking_uri=server.url)
    exp_id = client.create_experiment(unique_name("nan"))
    ids = {}
    for i, (name, value) in enumerate([("a", 1.0), ("b", float("nan")), ("c", 3.0), ("d", None), ("e", -1.0)]):
        run_id = client.create_run(exp_id, run_name=name, start_time=1_700_000_000_000 + i).info.run_id
        if value is not None:
            client.log_metric(run_id, "v", value)
        ids[name] = run_id
    return exp_id


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.v > 0", ["c", "a"]),
        ("metrics.v < 100", ["e", "c", "a"]),  # NaN compares false
        ("metrics.v != 1", ["e", "c", "b"]),  # ...except with !=, as in MLflow
        ("metrics.v <= -1", ["e"]),
    ],
)
def test_search_runs_filter_with_nan(with_nan, client, filter_string, expected):
    assert names(client.search_runs([with_nan], filter_string)) == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # Numbers in order, then NaN, then runs without the metric, in both directions.
        (["metrics.v ASC"], ["e", "a", "c", "b", "d"]),
        (["metrics.v DESC"], ["c", "a", "e", "b", "d"]),
    ],
)
def test_search_runs_order_by_with_nan(with_nan, client, order_by, expected):
    assert names(client.search_runs([with_nan], order_by=order_by)) == expected
