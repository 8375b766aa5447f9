"""Experiments and runs, through the fluent API and `MlflowClient`, as an MLflow user writes them."""

from __future__ import annotations

import math
import re
import time
from concurrent.futures import ThreadPoolExecutor

import mlflow
import pandas as pd
import pytest
from mlflow.entities import LifecycleStage, Metric, Param, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException

from conftest import unique_name

RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------------------------
# Experiments


def test_default_experiment_exists(client):
    default = client.get_experiment("0")
    assert default.experiment_id == "0"
    assert default.name == "Default"
    assert default.lifecycle_stage == LifecycleStage.ACTIVE
    by_name = client.get_experiment_by_name("Default")
    assert by_name is not None and by_name.experiment_id == "0"


def test_start_run_without_experiment_uses_default(server):
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == "0"
    assert mlflow.get_run(run.info.run_id).info.experiment_id == "0"


def test_create_and_get_experiment(client):
    name = unique_name("create")
    before = now_ms()
    exp_id = client.create_experiment(name, tags={"team": "search", "owner": "ana"})
    assert isinstance(exp_id, str) and exp_id != "0"

    exp = client.get_experiment(exp_id)
    assert exp.experiment_id == exp_id
    assert exp.name == name
    assert exp.lifecycle_stage == LifecycleStage.ACTIVE
    assert exp.tags == {"team": "search", "owner": "ana"}
    assert exp.artifact_location.rstrip("/").endswith(exp_id)
    assert before - 5_000 <= exp.creation_time <= now_ms() + 5_000
    assert exp.last_update_time >= exp.creation_time

    by_name = client.get_experiment_by_name(name)
    assert by_name.experiment_id == exp_id
    assert by_name.tags == exp.tags


def test_get_experiment_by_unknown_name_is_none(client):
    assert client.get_experiment_by_name(unique_name("missing")) is None
    assert mlflow.get_experiment_by_name(unique_name("missing")) is None


def test_set_experiment_creates_then_reuses(server):
    name = unique_name("fluent")
    created = mlflow.set_experiment(name)
    assert created.name == name
    assert created.lifecycle_stage == LifecycleStage.ACTIVE
    again = mlflow.set_experiment(name)
    assert again.experiment_id == created.experiment_id
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == created.experiment_id


def test_search_experiments_filter_and_order(client):
    prefix = unique_name("srch")
    ids = {}
    for suffix, team in [("b", "x"), ("a", "y"), ("c", "x")]:
        ids[suffix] = client.create_experiment(f"{prefix}-{suffix}", tags={"team": team})

    found = client.search_experiments(filter_string=f"name LIKE '{prefix}%'", order_by=["name DESC"])
    assert [e.name for e in found] == [f"{prefix}-c", f"{prefix}-b", f"{prefix}-a"]

    found = client.search_experiments(
        filter_string=f"name LIKE '{prefix}%' AND tags.team = 'x'", order_by=["name ASC"]
    )
    assert [e.experiment_id for e in found] == [ids["b"], ids["c"]]

    found = mlflow.search_experiments(filter_string=f"name = '{prefix}-a'")
    assert [e.experiment_id for e in found] == [ids["a"]]

    # The default order is newest first.
    found = client.search_experiments(filter_string=f"name LIKE '{prefix}%'")
    assert [e.experiment_id for e in found] == [ids["c"], ids["a"], ids["b"]]


def test_search_experiments_pages(client):
    prefix = unique_name("page")
    created = [client.create_experiment(f"{prefix}-{i}") for i in range(5)]
    seen, token, pages = [], None, 0
    while True:
        page = client.search_experiments(
            filter_string=f"name LIKE '{prefix}-%'",
            order_by=["name"],
            max_results=2,
            page_token=token,
        )
        pages += 1
        seen.extend(e.experiment_id for e in page)
        token = page.token
        if not token:
            break
        assert pages < 10, "pagination does not terminate"
    assert seen == created
    assert pages == 3


def test_rename_experiment(client):
    old, new = unique_name("old"), unique_name("new")
    exp_id = client.create_experiment(old)
    client.rename_experiment(exp_id, new)
    assert client.get_experiment(exp_id).name == new
    assert client.get_experiment_by_name(new).experiment_id == exp_id
    assert client.get_experiment_by_name(old) is None


def test_delete_and_restore_experiment(client):
    name = unique_name("del")
    exp_id = client.create_experiment(name)
    client.delete_experiment(exp_id)

    deleted = client.get_experiment(exp_id)
    assert deleted.lifecycle_stage == LifecycleStage.DELETED
    pattern = f"name = '{name}'"
    assert client.search_experiments(filter_string=pattern) == []
    assert [e.experiment_id for e in client.search_experiments(ViewType.DELETED_ONLY, filter_string=pattern)] == [exp_id]
    assert [e.experiment_id for e in client.search_experiments(ViewType.ALL, filter_string=pattern)] == [exp_id]

    # A deleted experiment keeps its name reserved.
    with pytest.raises(MlflowException) as err:
        client.create_experiment(name)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"

    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == LifecycleStage.ACTIVE
    assert [e.experiment_id for e in client.search_experiments(filter_string=pattern)] == [exp_id]


def test_experiment_tags(client):
    exp_id = client.create_experiment(unique_name("tags"), tags={"keep": "1"})
    client.set_experiment_tag(exp_id, "stage", "dev")
    client.set_experiment_tag(exp_id, "stage", "prod")  # upsert
    assert client.get_experiment(exp_id).tags == {"keep": "1", "stage": "prod"}
    client.delete_experiment_tag(exp_id, "stage")
    assert client.get_experiment(exp_id).tags == {"keep": "1"}

    mlflow.set_experiment(experiment_id=exp_id)
    mlflow.set_experiment_tags({"a": "x", "b": "y"})
    assert client.get_experiment(exp_id).tags == {"keep": "1", "a": "x", "b": "y"}


# --------------------------------------------------------------------------------------------
# Runs through the fluent API


def test_fluent_run_lifecycle(experiment_id, client):
    before = now_ms()
    with mlflow.start_run(run_name="first-run") as run:
        run_id = run.info.run_id
        assert RUN_ID.match(run_id)
        assert run.info.status == "RUNNING"
        assert run.info.run_name == "first-run"
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"layers": 3, "optimizer": "adam", "empty": ""})
        mlflow.log_metric("loss", 0.9, step=0)
        mlflow.log_metric("loss", 0.5, step=1)
        mlflow.log_metrics({"acc": 0.75, "f1": 0.5}, step=1)
        mlflow.set_tag("stage", "dev")
        mlflow.set_tags({"team": "ml", "priority": 2})

    finished = client.get_run(run_id)
    info, data = finished.info, finished.data
    assert info.experiment_id == experiment_id
    assert info.status == "FINISHED"
    assert info.lifecycle_stage == LifecycleStage.ACTIVE
    assert info.run_name == "first-run"
    assert before - 5_000 <= info.start_time <= info.end_time <= now_ms() + 5_000
    assert info.artifact_uri.rstrip("/").endswith(f"{run_id}/artifacts")
    assert data.params == {"lr": "0.01", "layers": "3", "optimizer": "adam", "empty": ""}
    assert data.metrics == {"loss": 0.5, "acc": 0.75, "f1": 0.5}
    assert data.tags["stage"] == "dev"
    assert data.tags["team"] == "ml"
    assert data.tags["priority"] == "2"
    assert data.tags["mlflow.runName"] == "first-run"
    assert "mlflow.user" in data.tags
    assert data.tags["mlflow.source.type"] == "LOCAL"

    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.5)]


def test_end_run_with_status(experiment_id, client):
    run = mlflow.start_run()
    mlflow.end_run(status="KILLED")
    assert mlflow.active_run() is None
    got = client.get_run(run.info.run_id)
    assert got.info.status == "KILLED"
    assert got.info.end_time is not None and got.info.end_time >= got.info.start_time


def test_failed_run_in_context_manager_is_marked_failed(experiment_id, client):
    with pytest.raises(ZeroDivisionError):
        with mlflow.start_run() as run:
            1 / 0  # noqa: B018
    assert client.get_run(run.info.run_id).info.status == "FAILED"


def test_random_run_name_is_assigned(experiment_id, client):
    with mlflow.start_run() as run:
        pass
    got = client.get_run(run.info.run_id)
    assert got.info.run_name
    assert got.data.tags["mlflow.runName"] == got.info.run_name


def test_nested_runs(experiment_id, client):
    with mlflow.start_run() as parent:
        with mlflow.start_run(nested=True) as child:
            pass
    got = client.get_run(child.info.run_id)
    assert got.data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_relogging_same_param_value_is_allowed(experiment_id, client):
    with mlflow.start_run() as run:
        mlflow.log_param("p", "1")
        mlflow.log_param("p", "1")
    assert client.get_run(run.info.run_id).data.params == {"p": "1"}


def test_many_metrics_params_and_tags_are_chunked_by_client(experiment_id, client):
    with mlflow.start_run() as run:
        mlflow.log_metrics({f"m{i}": float(i) for i in range(2500)})
        mlflow.log_params({f"p{i}": str(i) for i in range(250)})
        mlflow.set_tags({f"t{i}": str(i) for i in range(150)})
    data = client.get_run(run.info.run_id).data
    assert len(data.metrics) == 2500 and data.metrics["m2499"] == 2499.0
    assert len(data.params) == 250 and data.params["p249"] == "249"
    assert {k: v for k, v in data.tags.items() if re.fullmatch(r"t\d+", k)} == {
        f"t{i}": str(i) for i in range(150)
    }


# --------------------------------------------------------------------------------------------
# Runs through MlflowClient


def test_client_run_lifecycle(experiment_id, client):
    run = client.create_run(experiment_id, run_name="client-run", tags={"origin": "client"})
    run_id = run.info.run_id
    assert RUN_ID.match(run_id)
    assert run.info.status == "RUNNING"
    assert run.info.run_name == "client-run"
    assert run.info.end_time is None
    assert run.data.tags["origin"] == "client"
    assert run.data.tags["mlflow.runName"] == "client-run"

    got = client.get_run(run_id)
    assert got.info.run_id == run_id
    assert got.info.start_time == run.info.start_time

    client.update_run(run_id, status="FINISHED", name="renamed")
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "renamed"
    assert got.data.tags["mlflow.runName"] == "renamed"

    client.set_terminated(run_id, status="FAILED", end_time=run.info.start_time + 1234)
    got = client.get_run(run_id)
    assert got.info.status == "FAILED"
    assert got.info.end_time == run.info.start_time + 1234

    client.delete_run(run_id)
    got = client.get_run(run_id)  # a soft delete: still readable
    assert got.info.lifecycle_stage == LifecycleStage.DELETED
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == LifecycleStage.ACTIVE


def test_client_create_run_with_explicit_start_time(experiment_id, client):
    run = client.create_run(experiment_id, start_time=1_700_000_000_000)
    assert client.get_run(run.info.run_id).info.start_time == 1_700_000_000_000


def test_set_terminated_defaults_to_finished(experiment_id, client):
    run = client.create_run(experiment_id)
    client.set_terminated(run.info.run_id)
    got = client.get_run(run.info.run_id)
    assert got.info.status == RunStatus.to_string(RunStatus.FINISHED)
    assert got.info.end_time >= got.info.start_time


def test_set_and_delete_tag(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    client.set_tag(run_id, "k", "v1")
    client.set_tag(run_id, "k", "v2")  # upsert
    client.set_tag(run_id, "long", "x" * 5000)
    tags = client.get_run(run_id).data.tags
    assert tags["k"] == "v2"
    assert tags["long"] == "x" * 5000
    client.delete_tag(run_id, "k")
    assert "k" not in client.get_run(run_id).data.tags
    with pytest.raises(MlflowException) as err:
        client.delete_tag(run_id, "k")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_log_batch(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    ts = now_ms()
    client.log_batch(
        run_id,
        metrics=[
            Metric("rmse", 2.0, ts, 0),
            Metric("rmse", 1.5, ts + 1, 1),
            Metric("rmse", 1.25, ts + 2, 2),
            Metric("mae", 0.5, ts, 0),
        ],
        params=[Param("alpha", "0.5"), Param("l1_ratio", "0.1")],
        tags=[RunTag("framework", "sklearn"), RunTag("mlflow.note.content", "a *note*")],
    )
    data = client.get_run(run_id).data
    assert data.metrics == {"rmse": 1.25, "mae": 0.5}
    assert data.params == {"alpha": "0.5", "l1_ratio": "0.1"}
    assert data.tags["framework"] == "sklearn"
    assert data.tags["mlflow.note.content"] == "a *note*"
    history = client.get_metric_history(run_id, "rmse")
    assert [(m.value, m.timestamp, m.step) for m in history] == [
        (2.0, ts, 0),
        (1.5, ts + 1, 1),
        (1.25, ts + 2, 2),
    ]


def test_latest_metric_is_the_one_with_the_highest_step(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    ts = now_ms()
    client.log_metric(run_id, "m", 1.0, timestamp=ts, step=0)
    client.log_metric(run_id, "m", 3.0, timestamp=ts + 1, step=2)
    client.log_metric(run_id, "m", 5.0, timestamp=ts + 2, step=1)
    assert client.get_run(run_id).data.metrics["m"] == 3.0

    history = client.get_metric_history(run_id, "m")
    # Ordered by timestamp, then step.
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (2, 3.0), (1, 5.0)]
    assert all(m.key == "m" for m in history)

    # Same step: the later timestamp wins.
    client.log_metric(run_id, "same", 1.0, timestamp=ts + 10, step=4)
    client.log_metric(run_id, "same", 2.0, timestamp=ts + 5, step=4)
    assert client.get_run(run_id).data.metrics["same"] == 1.0


def test_metric_history_of_unknown_key_is_empty(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    assert client.get_metric_history(run_id, "never-logged") == []


def test_metric_history_is_complete_for_many_points(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    ts = now_ms()
    points = [Metric("curve", i * 0.5, ts + i, i) for i in range(3000)]
    for start in range(0, len(points), 1000):
        client.log_batch(run_id, metrics=points[start : start + 1000])
    history = client.get_metric_history(run_id, "curve")
    assert [(m.step, m.value) for m in history] == [(i, i * 0.5) for i in range(3000)]
    assert client.get_run(run_id).data.metrics["curve"] == 2999 * 0.5


def test_nan_and_infinite_metric_values(experiment_id, client):
    with mlflow.start_run() as run:
        mlflow.log_metric("nan", float("nan"))
        mlflow.log_metric("pos_inf", float("inf"))
        mlflow.log_metric("neg_inf", float("-inf"))
        mlflow.log_metric("tiny", 5e-324)
        mlflow.log_metric("negative", -42.125)
    metrics = client.get_run(run.info.run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["pos_inf"] >= 1.797e308
    assert metrics["neg_inf"] <= -1.797e308
    assert metrics["tiny"] == 5e-324
    assert metrics["negative"] == -42.125
    (point,) = client.get_metric_history(run.info.run_id, "nan")
    assert math.isnan(point.value)
    (point,) = client.get_metric_history(run.info.run_id, "pos_inf")
    assert point.value >= 1.797e308


def test_float_precision_round_trips(experiment_id, client):
    values = [0.1, 1 / 3, 123456789.123456789, 1e-300, 2.0**53 + 2]
    with mlflow.start_run() as run:
        for i, v in enumerate(values):
            mlflow.log_metric("v", v, step=i)
    history = client.get_metric_history(run.info.run_id, "v")
    assert [m.value for m in history] == values


def test_unicode_keys_and_values(experiment_id, client):
    with mlflow.start_run() as run:
        mlflow.log_param("model name", "größe/模型 ✓")
        mlflow.set_tag("note", "naïve — ünïcode \"quoted\" 'single' \n newline")
    data = client.get_run(run.info.run_id).data
    assert data.params["model name"] == "größe/模型 ✓"
    assert data.tags["note"] == "naïve — ünïcode \"quoted\" 'single' \n newline"


def test_log_input_dataset(experiment_id, client):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(df, name="train-set", targets="y")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training", tags={"split": "v1"})

    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    logged = inputs[0].dataset
    assert logged.name == "train-set"
    assert logged.digest == dataset.digest
    assert logged.source_type == dataset.source._get_source_type()
    assert logged.schema and "x" in logged.schema
    assert logged.profile and '"num_rows": 3' in logged.profile
    tags = {t.key: t.value for t in inputs[0].tags}
    assert tags["mlflow.data.context"] == "training"
    assert tags["split"] == "v1"

    # The dataset can be read back and matched through the run.
    run_dataset = mlflow.data.get_source(inputs[0].dataset)
    assert run_dataset is not None


def test_log_same_dataset_twice_is_recorded_once(experiment_id, client):
    df = pd.DataFrame({"a": [1, 2]})
    dataset = mlflow.data.from_pandas(df, name="twice")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
        mlflow.log_input(dataset, context="training")
    assert len(client.get_run(run.info.run_id).inputs.dataset_inputs) == 1


def test_runs_of_an_experiment_survive_rename(client):
    exp_id = client.create_experiment(unique_name("ren"))
    run_id = client.create_run(exp_id).info.run_id
    client.rename_experiment(exp_id, unique_name("renamed"))
    assert client.get_run(run_id).info.experiment_id == exp_id
    assert [r.info.run_id for r in client.search_runs([exp_id])] == [run_id]


def test_deleting_an_experiment_hides_its_runs_from_default_search(client):
    exp_id = client.create_experiment(unique_name("delexp"))
    run_id = client.create_run(exp_id).info.run_id
    client.delete_experiment(exp_id)
    assert client.get_run(run_id).info.lifecycle_stage == LifecycleStage.DELETED
    client.restore_experiment(exp_id)
    assert client.get_run(run_id).info.lifecycle_stage == LifecycleStage.ACTIVE


def test_update_run_name_only_keeps_status(experiment_id, client):
    run_id = client.create_run(experiment_id, run_name="before").info.run_id
    client.update_run(run_id, name="after")
    got = client.get_run(run_id)
    assert got.info.status == "RUNNING"
    assert got.info.end_time is None
    assert got.info.run_name == "after"


def test_deleted_experiment_by_name_and_set_experiment(client):
    name = unique_name("gone")
    exp_id = client.create_experiment(name)
    client.delete_experiment(exp_id)
    found = client.get_experiment_by_name(name)
    assert found.experiment_id == exp_id
    assert found.lifecycle_stage == LifecycleStage.DELETED
    with pytest.raises(MlflowException) as err:
        mlflow.set_experiment(name)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_identical_metric_points_are_stored_once(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "a", 1.0, timestamp=5, step=1)
    client.log_metric(run_id, "a", 1.0, timestamp=5, step=1)
    client.log_batch(run_id, metrics=[Metric("b", 2.0, 5, 1)] * 3)
    client.log_batch(run_id, metrics=[Metric("b", 2.0, 5, 1)])
    client.log_metric(run_id, "n", float("nan"), timestamp=5, step=1)
    client.log_metric(run_id, "n", float("nan"), timestamp=5, step=1)
    # A different value at the same step and timestamp is a new point.
    client.log_metric(run_id, "a", 1.5, timestamp=5, step=1)
    counts = {k: len(client.get_metric_history(run_id, k)) for k in "abn"}
    assert counts == {"a": 2, "b": 1, "n": 1}
    # Equal step and timestamp: the larger value is the latest.
    assert client.get_run(run_id).data.metrics["a"] == 1.5


def test_metric_keys_with_slashes_dots_and_spaces(experiment_id, client):
    keys = ["train/loss", "val.acc", "top 5", "a-b_c:d"]
    with mlflow.start_run() as run:
        for i, key in enumerate(keys):
            mlflow.log_metric(key, float(i))
    metrics = client.get_run(run.info.run_id).data.metrics
    assert metrics == {key: float(i) for i, key in enumerate(keys)}
    assert [m.value for m in client.get_metric_history(run.info.run_id, "train/loss")] == [0.0]
    found = client.search_runs([experiment_id], "metrics.`train/loss` = 0 AND metrics.`top 5` > 1")
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_async_logging(experiment_id, client):
    with mlflow.start_run() as run:
        for step in range(20):
            mlflow.log_metric("async", step * 2.0, step=step, synchronous=False)
        mlflow.log_param("mode", "async", synchronous=False)
        mlflow.set_tag("flushed", "yes", synchronous=False)
        mlflow.flush_async_logging()
    data = client.get_run(run.info.run_id).data
    assert data.metrics["async"] == 38.0
    assert data.params["mode"] == "async"
    assert data.tags["flushed"] == "yes"
    assert len(client.get_metric_history(run.info.run_id, "async")) == 20


def test_concurrent_writers(experiment_id, client):
    """Several processes' worth of clients logging at once: nothing lost, nothing 5xx."""
    shared = client.create_run(experiment_id, run_name="shared").info.run_id
    threads, rounds = 12, 25

    def work(t: int) -> str:
        own = client.create_run(experiment_id, run_name=f"worker-{t}").info.run_id
        for i in range(rounds):
            client.log_metric(shared, f"k{t}", float(i), step=i)
            client.set_tag(shared, f"tag{t}", str(i))
            client.log_batch(
                own,
                metrics=[Metric("x", float(j), 1000 + i * 50 + j, i * 50 + j) for j in range(50)],
            )
        client.log_param(shared, f"p{t}", str(t))
        return own

    with ThreadPoolExecutor(threads) as pool:
        own_runs = list(pool.map(work, range(threads)))

    data = client.get_run(shared).data
    assert data.metrics == {f"k{t}": float(rounds - 1) for t in range(threads)}
    assert data.params == {f"p{t}": str(t) for t in range(threads)}
    assert {k: v for k, v in data.tags.items() if k.startswith("tag")} == {
        f"tag{t}": str(rounds - 1) for t in range(threads)
    }
    for t in range(threads):
        assert len(client.get_metric_history(shared, f"k{t}")) == rounds
    for run_id in own_runs:
        assert len(client.get_metric_history(run_id, "x")) == rounds * 50
    assert len(client.search_runs([experiment_id])) == threads + 1


@pytest.mark.parametrize(
    ("call", "args"),
    [("log_param", ("p", "v")), ("set_tag", ("t", "v")), ("delete_tag", ("t",)), ("log_metric", ("m", 1.0))],
)
def test_writes_to_a_deleted_run_are_refused(experiment_id, client, call, args):
    run_id = client.create_run(experiment_id, tags={"t": "v"}).info.run_id
    client.delete_run(run_id)
    with pytest.raises(MlflowException) as err:
        getattr(client, call)(run_id, *args)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    client.restore_run(run_id)
    getattr(client, call)(run_id, *args)  # fine again once restored


def test_create_run_in_deleted_experiment_is_refused(client):
    exp_id = client.create_experiment(unique_name("inactive"))
    client.delete_experiment(exp_id)
    with pytest.raises(MlflowException) as err:
        client.create_run(exp_id)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_experiment_name_limits(client):
    long_name = unique_name("n") + "x" * (500 - len(unique_name("n")))
    assert len(long_name) == 500
    assert client.get_experiment(client.create_experiment(long_name)).name == long_name
    with pytest.raises(MlflowException) as err:
        client.create_experiment(long_name + "y")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        client.create_experiment("")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_rename_bumps_last_update_time(client):
    exp_id = client.create_experiment(unique_name("bump"))
    before = client.get_experiment(exp_id).last_update_time
    time.sleep(0.01)
    client.rename_experiment(exp_id, unique_name("bumped"))
    assert client.get_experiment(exp_id).last_update_time > before


def test_negative_steps_are_kept(experiment_id, client):
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "warmup", 0.5, step=-5)
    client.log_metric(run_id, "warmup", 0.7, step=-1)
    assert [m.step for m in client.get_metric_history(run_id, "warmup")] == [-5, -1]
    assert client.get_run(run_id).data.metrics["warmup"] == 0.7
