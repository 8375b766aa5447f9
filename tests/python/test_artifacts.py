"""Run artifacts through the proxied `mlflow-artifacts` service."""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlflow
import pytest
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from conftest import assert_mlflow_error


def artifact_http_path(artifact_uri: str, relative: str = "") -> str:
    """The HTTP path the client uses for an artifact of a run (`mlflow-artifacts:/…` or URL)."""
    marker = "/api/2.0/mlflow-artifacts/artifacts"
    if artifact_uri.startswith("mlflow-artifacts:"):
        root = artifact_uri[len("mlflow-artifacts:") :].lstrip("/")
        path = f"{marker}/{root}"
    else:
        path = marker + artifact_uri.split(marker, 1)[1]
    return f"{path}/{relative}" if relative else path


@pytest.fixture
def run(experiment_id):
    with mlflow.start_run() as active:
        yield active


def listing(client, run_id, path=None):
    return sorted((f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id, path))


def test_log_text_and_dict(client, run):
    mlflow.log_text("hello, world\n", "notes/hello.txt")
    mlflow.log_dict({"a": 1, "nested": {"b": [1, 2]}}, "config.json")
    mlflow.log_dict({"k": "v"}, "config.yaml")
    run_id = run.info.run_id

    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/hello.txt") == "hello, world\n"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json") == {
        "a": 1,
        "nested": {"b": [1, 2]},
    }
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/config.yaml") == "k: v\n"

    config_size = len(json.dumps({"a": 1, "nested": {"b": [1, 2]}}, indent=2))
    assert listing(client, run_id) == [
        ("config.json", False, config_size),
        ("config.yaml", False, len("k: v\n")),
        ("notes", True, None),
    ]
    assert listing(client, run_id, "notes") == [("notes/hello.txt", False, 13)]


def test_log_artifact_file(client, run, tmp_path):
    src = tmp_path / "model summary.txt"
    src.write_text("layers: 3\n")
    mlflow.log_artifact(str(src))
    mlflow.log_artifact(str(src), artifact_path="reports/daily")
    run_id = run.info.run_id

    assert listing(client, run_id) == [
        ("model summary.txt", False, 10),
        ("reports", True, None),
    ]
    assert listing(client, run_id, "reports/daily") == [
        ("reports/daily/model summary.txt", False, 10)
    ]
    out = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="reports/daily/model summary.txt", dst_path=str(tmp_path / "dl")
    )
    assert Path(out).read_text() == "layers: 3\n"


def test_log_artifacts_directory_round_trip(client, run, tmp_path):
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_text("A")
    (src / "sub" / "b.csv").write_text("x,y\n1,2\n")
    (src / "sub" / "deeper" / "c.bin").write_bytes(bytes(range(256)) * 1024)
    (src / "ünï cødé.txt").write_text("unicode name")
    mlflow.log_artifacts(str(src), artifact_path="tree")
    run_id = run.info.run_id

    assert listing(client, run_id) == [("tree", True, None)]
    assert listing(client, run_id, "tree") == [
        ("tree/a.txt", False, 1),
        ("tree/sub", True, None),
        ("tree/ünï cødé.txt", False, len("unicode name".encode())),
    ]
    assert listing(client, run_id, "tree/sub/deeper") == [
        ("tree/sub/deeper/c.bin", False, 256 * 1024)
    ]

    dst = tmp_path / "dst"
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="tree", dst_path=str(dst)
    )
    local = Path(local)
    assert local.name == "tree"
    got = sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    want = sorted(str(p.relative_to(src)) for p in src.rglob("*") if p.is_file())
    assert got == want
    for rel in want:
        assert (local / rel).read_bytes() == (src / rel).read_bytes(), rel

    # Downloading the whole run gives the same tree under the destination.
    everything = Path(client.download_artifacts(run_id, "", str(tmp_path / "all")))
    assert (everything / "tree" / "sub" / "deeper" / "c.bin").read_bytes() == bytes(range(256)) * 1024


def test_large_binary_artifact_is_byte_exact(client, run, tmp_path):
    # Bigger than any sensible JSON body limit: artifact uploads must not be capped like API calls.
    payload = os.urandom(64 * 1024 * 1024 + 17)
    src = tmp_path / "blob.bin"
    src.write_bytes(payload)
    mlflow.log_artifact(str(src))
    out = client.download_artifacts(run.info.run_id, "blob.bin", str(tmp_path / "out"))
    assert Path(out).read_bytes() == payload
    assert listing(client, run.info.run_id) == [("blob.bin", False, len(payload))]


def test_file_names_that_need_url_encoding(client, run):
    # '#' and '?' are left out: the client itself does not encode them.
    names = ["100%.txt", "plus+sign.txt", "sp ace.txt", "semi;colon.txt", "ünï.txt", "a=b&c.txt"]
    for name in names:
        mlflow.log_text(f"content of {name}", f"odd/{name}")
    listed = sorted(f.path for f in client.list_artifacts(run.info.run_id, "odd"))
    assert listed == sorted(f"odd/{name}" for name in names)
    for name in names:
        text = mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/odd/{name}")
        assert text == f"content of {name}"


def test_overwriting_an_artifact_replaces_it(client, run):
    mlflow.log_text("first version, longer", "same.txt")
    mlflow.log_text("second", "same.txt")
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/same.txt") == "second"


def test_empty_file_artifact(client, run, tmp_path):
    src = tmp_path / "empty.txt"
    src.write_bytes(b"")
    mlflow.log_artifact(str(src))
    (entry,) = client.list_artifacts(run.info.run_id)
    assert entry.path == "empty.txt" and not entry.is_dir
    assert entry.file_size in (0, None)  # protobuf JSON may omit a zero size
    out = client.download_artifacts(run.info.run_id, "empty.txt", str(tmp_path / "o"))
    assert Path(out).read_bytes() == b""


def test_list_artifacts_of_run_without_artifacts(client, run):
    assert client.list_artifacts(run.info.run_id) == []
    assert client.list_artifacts(run.info.run_id, "missing/dir") == []


def test_list_artifacts_on_a_file_path_is_empty(client, run):
    mlflow.log_text("x", "only.txt")
    assert client.list_artifacts(run.info.run_id, "only.txt") == []


def test_delete_artifacts_through_the_artifact_repository(server, client, run):
    mlflow.log_text("keep", "keep.txt")
    mlflow.log_text("drop", "trash/drop.txt")
    mlflow.log_text("drop too", "trash/inner/drop2.txt")
    artifact_uri = client.get_run(run.info.run_id).info.artifact_uri
    repo = get_artifact_repository(artifact_uri, tracking_uri=server.url)
    repo.delete_artifacts("trash")
    assert listing(client, run.info.run_id) == [("keep.txt", False, 4)]
    repo.delete_artifacts("keep.txt")
    assert client.list_artifacts(run.info.run_id) == []


def test_runs_do_not_share_artifacts(client, experiment_id):
    with mlflow.start_run() as first:
        mlflow.log_text("1", "x.txt")
    with mlflow.start_run() as second:
        mlflow.log_text("2", "x.txt")
    assert mlflow.artifacts.load_text(f"runs:/{first.info.run_id}/x.txt") == "1"
    assert mlflow.artifacts.load_text(f"runs:/{second.info.run_id}/x.txt") == "2"
    assert first.info.artifact_uri != second.info.artifact_uri


# --------------------------------------------------------------------------------------------
# The HTTP contract under the client: headers, listing shape, missing files.


def test_download_headers(client, run, rest):
    mlflow.log_text("<html>not for the browser</html>", "page.html")
    artifact_uri = client.get_run(run.info.run_id).info.artifact_uri
    response = rest.get(artifact_http_path(artifact_uri, "page.html"))
    assert response.status_code == 200
    assert response.content == b"<html>not for the browser</html>"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "page.html" in disposition


def test_raw_list_shape(client, run, rest):
    mlflow.log_text("abc", "d/one.txt")
    mlflow.log_text("abcd", "two.txt")
    artifact_uri = client.get_run(run.info.run_id).info.artifact_uri
    root = artifact_http_path(artifact_uri).removeprefix("/api/2.0/mlflow-artifacts/artifacts/")

    response = rest.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": root})
    assert response.status_code == 200
    files = sorted(response.json()["files"], key=lambda f: f["path"])
    assert files[0] == {"path": "d", "is_dir": True}
    assert files[1]["path"] == "two.txt" and files[1]["is_dir"] is False
    assert int(files[1]["file_size"]) == 4

    response = rest.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{root}/nope"})
    assert response.status_code == 200
    assert response.json().get("files", []) == []


def test_raw_put_then_get(rest):
    path = "/api/2.0/mlflow-artifacts/artifacts/0/raw-upload/deep/file.json"
    body = b'{"k": [1, 2, 3]}'
    put = rest.put(path, data=body, headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 200, put.text
    got = rest.get(path)
    assert got.status_code == 200
    assert got.content == body


def test_missing_artifact_is_404(client, run, rest):
    artifact_uri = client.get_run(run.info.run_id).info.artifact_uri
    response = rest.get(artifact_http_path(artifact_uri, "does/not/exist.txt"))
    assert_mlflow_error(response, 404, "RESOURCE_DOES_NOT_EXIST")
    with pytest.raises(Exception):
        mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/does/not/exist.txt")


def test_experiment_with_custom_artifact_location(client, tmp_path):
    location = f"mlflow-artifacts:/custom-{os.urandom(4).hex()}/place"
    exp_id = client.create_experiment(f"custom-{os.urandom(6).hex()}", artifact_location=location)
    assert client.get_experiment(exp_id).artifact_location == location
    run = client.create_run(exp_id)
    assert run.info.artifact_uri == f"{location}/{run.info.run_id}/artifacts"
    client.log_text(run.info.run_id, "custom place", "where.txt")
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["where.txt"]
    out = client.download_artifacts(run.info.run_id, "where.txt", str(tmp_path))
    assert Path(out).read_text() == "custom place"
