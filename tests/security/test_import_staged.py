"""The import route as an attacker calls it: only staging buckets, only configured batches,
bounded objects, and a reply that says what was written."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.common.runtime import build_app
from services.ingest import pings
from services.protocol import layout, shares
from services.protocol.layout import BatchKey
from tests.services.harness import BATCH, DATE, N_DATA, Cluster

STAGING = "staging-imports"
KEY = BatchKey(BATCH, DATE)


def _cluster(tmp_path, **settings) -> Cluster:
    cluster = Cluster(tmp_path, **settings)
    for bucket in (STAGING, "prio-a-private"):
        cluster.storage.ensure_bucket(bucket)
    return cluster


def _client(cluster: Cluster) -> TestClient:
    app = build_app(cluster.services["ingest"], cluster.contexts["ingest"],
                    run_background=False)
    return TestClient(app)


def _stage(cluster: Cluster, count: int, start: int = 0, prefix: str = "files") -> dict:
    """Stages two share files of count reports in STAGING; returns the import request body."""
    found = []
    for i in range(start, start + count):
        found += pings.parse(cluster.ping(f"doc-{i}", [i % 2] * N_DATA), {}, {BATCH: N_DATA})[0]
    body = {"bucket": STAGING}
    for server in "ab":
        name = f"{prefix}/server_{server}.ndjson"
        cluster.storage.create(STAGING, name, shares.encode(
            shares.ShareLine(r.report_id, getattr(r, f"share_{server}")) for r in found))
        body[f"server_{server}_object"] = name
    return body


def _import(client: TestClient, body: dict, batch_id: str = BATCH):
    return client.post(f"/batches/{batch_id}/{DATE}/import", json=body)


def _written(cluster: Cluster) -> list[str]:
    """Every object ingest wrote to either inbox or its own bucket."""
    return [*cluster.storage.list("prio-a-inbox", ""), *cluster.storage.list("prio-b-inbox", ""),
            *cluster.storage.list(cluster.settings["ingest"].ingest_bucket, "")]


def test_import_is_disabled_until_staging_buckets_are_configured(tmp_path):
    cluster = _cluster(tmp_path)
    body = _stage(cluster, 3)
    with _client(cluster) as client:
        response = _import(client, body)
    assert response.status_code == 403
    assert "STAGING_BUCKETS" in response.json()["detail"]
    assert _written(cluster) == []


def test_a_bucket_not_configured_is_refused_the_same_whether_its_objects_exist(tmp_path):
    """A server's private bucket (readable by the local identity) is not an oracle."""
    cluster = _cluster(tmp_path, staging_buckets=[STAGING])
    cluster.storage.create("prio-a-private", "secret.ndjson", b'{"id": "x", "payload": "AAAA"}\n')
    with _client(cluster) as client:
        present = _import(client, {"bucket": "prio-a-private", "server_a_object": "secret.ndjson",
                                   "server_b_object": "secret.ndjson"})
        absent = _import(client, {"bucket": "prio-a-private", "server_a_object": "nope.ndjson",
                                  "server_b_object": "nope.ndjson"})
        no_bucket = _import(client, {"bucket": "no-such-bucket", "server_a_object": "a",
                                     "server_b_object": "b"})
    assert present.status_code == absent.status_code == no_bucket.status_code == 403
    assert present.content == absent.content
    assert "STAGING_BUCKETS" in no_bucket.json()["detail"]
    assert _written(cluster) == []


def test_a_batch_id_not_in_data_config_is_refused_before_anything_is_written(tmp_path):
    cluster = _cluster(tmp_path, staging_buckets=[STAGING])
    body = _stage(cluster, 3)
    with _client(cluster) as client:
        response = _import(client, body, batch_id="not-configured")
    assert response.status_code == 404
    assert response.json()["detail"] == \
        "batch id 'not-configured' is not in DATA_CONFIG: nothing imported"
    assert _written(cluster) == []


def test_an_object_above_the_size_cap_is_refused_unread(tmp_path):
    cluster = _cluster(tmp_path, staging_buckets=[STAGING], staging_max_bytes=1000)
    body = _stage(cluster, 20)
    size = len(cluster.storage.read(STAGING, body["server_a_object"]))
    assert size > 1000
    with _client(cluster) as client:
        response = _import(client, body)
    assert response.status_code == 413
    assert response.json()["detail"] == (
        f"{STAGING}/{body['server_a_object']} is larger than STAGING_MAX_BYTES (1000 bytes)")
    assert _written(cluster) == []


def test_bounded_read_returns_at_most_one_byte_past_the_limit(tmp_path):
    cluster = _cluster(tmp_path)
    cluster.storage.create(STAGING, "big", b"x" * 5000)
    assert cluster.storage.read_at_most(STAGING, "big", 100) == b"x" * 101
    assert cluster.storage.read_at_most(STAGING, "big", 5000) == b"x" * 5000


@pytest.mark.emulator
def test_bounded_read_on_gcs_is_a_ranged_read(gcs_emulator, unique_name):
    from services.common.storage_gcs import GcsStorage

    storage, bucket = GcsStorage("test", gcs_emulator.host), unique_name("staging")
    storage.ensure_bucket(bucket)
    storage.create(bucket, "big", b"x" * 5000)
    storage.create(bucket, "empty", b"")
    assert storage.read_at_most(bucket, "big", 100) == b"x" * 101
    assert storage.read_at_most(bucket, "big", 9999) == b"x" * 5000
    assert storage.read_at_most(bucket, "empty", 100) == b""


@pytest.mark.parametrize("name", ["../prio-a-private/secret", "a/../../b", "", "x\0y"])
def test_object_names_are_checked(tmp_path, name):
    cluster = _cluster(tmp_path, staging_buckets=[STAGING])
    with _client(cluster) as client:
        response = _import(client, {"bucket": STAGING, "server_a_object": name,
                                    "server_b_object": "b"})
    assert response.status_code in (400, 422)
    assert _written(cluster) == []


def test_the_reply_says_what_was_written(tmp_path):
    cluster = _cluster(tmp_path, staging_buckets=[STAGING], partition_max_reports=2)
    first = _stage(cluster, 5)
    # The first three reports again, as other files: nothing new to write. Encoded afresh
    # (another content under the same ids), they are replays.
    subset = {"bucket": STAGING}
    for server in "ab":
        lines = cluster.storage.read(STAGING, first[f"server_{server}_object"]).splitlines()
        cluster.storage.create(STAGING, f"again/{server}", b"\n".join(lines[:3]) + b"\n")
        subset[f"server_{server}_object"] = f"again/{server}"
    relabelled = _stage(cluster, 2, prefix="relabelled")
    with _client(cluster) as client:
        written = _import(client, first)
        repeated = _import(client, subset)
        same_files = _import(client, first)
        replays = _import(client, relabelled)
    assert written.status_code == repeated.status_code == same_files.status_code == 200
    assert replays.json()["rejected"] == {"REPLAYED": 2}
    assert (replays.json()["partitions"], replays.json()["reports"]) == (0, 0)
    assert written.json() == {
        "batch_id": BATCH, "submission_date": DATE, "partitions": 3, "reports": 5,
        "already_imported": {"partitions": 0, "reports": 0}, "duplicates": 0, "rejected": {}}
    assert repeated.json() == {
        "batch_id": BATCH, "submission_date": DATE, "partitions": 0, "reports": 0,
        "already_imported": {"partitions": 0, "reports": 0}, "duplicates": 3, "rejected": {}}
    assert same_files.json() == {
        "batch_id": BATCH, "submission_date": DATE, "partitions": 0, "reports": 0,
        "already_imported": {"partitions": 3, "reports": 5}, "duplicates": 0, "rejected": {}}
    assert len(cluster.storage.list("prio-a-inbox", layout.raw_prefix(KEY))) == 3
