"""The storage heartbeat probes only the bucket the service owns (least privilege)."""

from __future__ import annotations

import types

import pytest

from services.common import admin
from services.common.storage_local import LocalStorage


class ProbedStorage(LocalStorage):
    def __init__(self, root):
        super().__init__(root)
        self.probed: list[str] = []

    def exists(self, bucket: str, name: str) -> bool:
        self.probed.append(bucket)
        return super().exists(bucket, name)


@pytest.mark.parametrize(
    "service, bucket",
    [("ingest", "prio-ingest"), ("verifier", "prio-b-private"), ("publisher", "prio-b-private")],
)
def test_heartbeat_probes_own_bucket(tmp_path, service, bucket):
    settings = types.SimpleNamespace(
        ingest_bucket="prio-ingest", private_bucket="prio-b-private", inbox_bucket="prio-a-inbox"
    )
    storage = ProbedStorage(tmp_path)
    admin.check_storage(types.SimpleNamespace(settings=settings, storage=storage), service)
    assert storage.probed == [bucket]
