"""LocalStorage and GcsStorage (on fake-gcs-server) behave the same."""

from __future__ import annotations

import threading

import pytest

from services.common.storage import ObjectNotFound
from services.common.storage_local import LocalStorage


@pytest.fixture(params=["local", pytest.param("gcs", marks=pytest.mark.emulator)])
def store(request, tmp_path, unique_name):
    """(storage, bucket) with an empty bucket."""
    if request.param == "gcs":
        from services.common.storage_gcs import GcsStorage

        emulator = request.getfixturevalue("gcs_emulator")
        storage = GcsStorage("test", emulator.host)
    else:
        storage = LocalStorage(tmp_path / "store")
    bucket = unique_name("bucket")
    storage.ensure_bucket(bucket)
    return storage, bucket


def test_create_is_create_only(store):
    storage, bucket = store
    name = "intermediate/internal/verify1/batch_id=b/submission_date=2026-11-22/p1.pb"
    assert storage.create(bucket, name, b"first") is True
    assert storage.create(bucket, name, b"second") is False
    assert storage.read(bucket, name) == b"first"


def test_read_missing_raises_object_not_found(store):
    storage, bucket = store
    with pytest.raises(ObjectNotFound):
        storage.read(bucket, "raw/nothing.ndjson")
    assert storage.read_or_none(bucket, "raw/nothing.ndjson") is None


def test_exists_and_delete(store):
    storage, bucket = store
    assert not storage.exists(bucket, "a/b")
    storage.create(bucket, "a/b", b"")
    assert storage.exists(bucket, "a/b")
    assert storage.read(bucket, "a/b") == b""
    storage.delete(bucket, "a/b")
    storage.delete(bucket, "a/b")  # absent: no error
    assert not storage.exists(bucket, "a/b")
    assert storage.create(bucket, "a/b", b"again") is True


def test_list_with_prefix_is_sorted_and_string_prefixed(store):
    storage, bucket = store
    names = [
        "raw/batch_id=x/submission_date=2026-11-22/p2.ndjson",
        "raw/batch_id=x/submission_date=2026-11-22/p10.ndjson",
        "raw/batch_id=x/submission_date=2026-11-23/p1.ndjson",
        "raw/batch_id=xy/submission_date=2026-11-22/p1.ndjson",
        "processed/batch_id=x/submission_date=2026-11-22/result.json",
    ]
    for name in names:
        assert storage.create(bucket, name, name.encode())
    assert storage.list(bucket, "raw/batch_id=x/") == sorted(names[:3])
    assert storage.list(bucket, "raw/batch_id=x") == sorted(names[:4])
    assert storage.list(bucket, "raw/batch_id=x/submission_date=2026-11-22/p1") == [names[1]]
    assert storage.list(bucket, "") == sorted(names)
    assert storage.list(bucket, "nothing/") == []


def test_binary_data_round_trips(store):
    storage, bucket = store
    data = bytes(range(256)) * 4096  # 1 MiB
    storage.create(bucket, "blob.pb", data)
    assert storage.read(bucket, "blob.pb") == data


def test_concurrent_creators_exactly_one_wins(store):
    storage, bucket = store
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def race(i: int) -> None:
        barrier.wait()
        results.append(storage.create(bucket, "contended.pb", f"writer {i}".encode() * 1000))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    content = storage.read(bucket, "contended.pb")
    assert content in {f"writer {i}".encode() * 1000 for i in range(8)}


def test_local_storage_rejects_names_escaping_the_bucket(tmp_path):
    storage = LocalStorage(tmp_path)
    for name in ("../other/x", "a/../../x", "/abs", "a//b", ""):
        with pytest.raises(ValueError):
            storage.create("bucket", name, b"x")
    with pytest.raises(ValueError):
        storage.create("../bucket", "x", b"x")


def test_local_storage_never_shows_partial_objects(tmp_path):
    storage = LocalStorage(tmp_path)
    storage.create("bucket", "a/b.pb", b"x" * 1000)
    assert storage.list("bucket", "") == ["a/b.pb"]
    assert not any(p.name.startswith(".") for p in (tmp_path / "bucket").rglob("*"))
