"""Shared-secret versions: a batch's evaluation points come from the version in force on its
date, and servers holding different versions see it as SHARED_SECRET_MISMATCH with a hint
naming the setting, not as every proof failing.

The shared secret keeps clients from predicting the evaluation point (a client that could
would forge proofs of invalid data), so it is rotated like a key; the rotation must neither
lose reports on either side of the change nor let a misconfigured server silently reject a
day of reports.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging

import pytest

import libprio_ctypes as prio
from services.aggregator.agreement import Agreement
from services.common.config import ConfigError, load_settings
from services.ingest import pings
from services.ingest.partitions import PartitionWriter
from services.protocol import layout, status
from services.protocol.keys import ServerKeys, commitment
from services.protocol.layout import BatchKey
from tests.services.harness import BATCH, DATE, Cluster

NEXT_DATE = (dt.date.fromisoformat(DATE) + dt.timedelta(days=1)).isoformat()
OLD, NEW = prio.generate_shared_secret(), prio.generate_shared_secret()
VERSIONS = f"{base64.b64encode(OLD).decode()},{NEXT_DATE}:{base64.b64encode(NEW).decode()}"


def _values(i: int) -> list[int]:
    return [(i >> bit) & 1 for bit in range(8)]


def _write(cluster, key: BatchKey, pid: str, first: int, count: int) -> None:
    bodies = [cluster.ping(f"doc-{key.submission_date}-{i}", _values(i))
              for i in range(first, first + count)]
    reports = [r for body in bodies for r in pings.parse(body, {}, {BATCH: 8})[0]]
    PartitionWriter(cluster.contexts["ingest"]).write(key, pid, reports)


def _close(cluster, key: BatchKey) -> None:
    Agreement(cluster.contexts["aggregator-A"]).close(key)
    cluster.run_servers()


def _expected(first: int, count: int) -> list[int]:
    return [sum(_values(i)[b] for i in range(first, first + count)) for b in range(8)]


def test_the_version_in_force_on_a_date():
    keys = ServerKeys(load_settings(shared_secrets=VERSIONS))
    assert keys.shared_secret("2000-01-01") == OLD  # the first: from the beginning
    assert keys.shared_secret(DATE) == OLD
    assert keys.shared_secret(NEXT_DATE) == NEW
    assert keys.shared_secret("2999-12-31") == NEW
    assert keys.secret_commitment(DATE) == commitment(OLD) != commitment(NEW)
    assert len(keys.secret_commitment(DATE)) == 8


@pytest.mark.parametrize("value, message", [
    ("x", "SHARED_SECRETS: Value error, version 1: must be base64"),
    (f"{base64.b64encode(OLD).decode()},{base64.b64encode(NEW).decode()}",
     "SHARED_SECRETS: Value error, version 2 needs the date it applies from"),
    (f"2027-01-01:{base64.b64encode(OLD).decode()},2026-01-01:{base64.b64encode(NEW).decode()}",
     "SHARED_SECRETS: Value error, version 2: dates must rise"),
    (f"{base64.b64encode(OLD).decode()},2026-02-30:{base64.b64encode(NEW).decode()}",
     "SHARED_SECRETS: Value error, version 2: the date must be YYYY-MM-DD"),
])
def test_a_malformed_version_list_is_one_line_quoting_no_secret(value, message):
    with pytest.raises(ConfigError) as raised:
        load_settings(shared_secrets=value)
    assert message in str(raised.value)
    assert base64.b64encode(OLD).decode() not in str(raised.value)


def test_both_settings_at_once_are_refused():
    with pytest.raises(ConfigError, match="SHARED_SECRET .* or SHARED_SECRETS .*not both"):
        load_settings(shared_secrets=VERSIONS, shared_secret=base64.b64encode(OLD).decode())


def test_a_batch_spanning_a_version_change_is_counted_exactly(tmp_path):
    cluster = Cluster(tmp_path, per_server={s: {"shared_secrets": VERSIONS} for s in "AB"})
    before, after = BatchKey(BATCH, DATE), BatchKey(BATCH, NEXT_DATE)
    _write(cluster, before, "p1", 0, 7)
    _write(cluster, after, "p1", 7, 9)
    _write(cluster, after, "p2", 16, 4)
    cluster.run_servers()
    for key in (before, after):
        _close(cluster, key)
    for server in "AB":
        bucket = cluster.settings[server].private_bucket
        for key, first, count in ((before, 0, 7), (after, 7, 13)):
            result = json.loads(cluster.storage.read(bucket, layout.result(key)))
            assert result["payload"] == _expected(first, count)
            assert (result["valid"], result["rejected"]) == (count, {})


def test_servers_holding_different_versions_show_the_mismatch(tmp_path, caplog):
    # A rotated on NEXT_DATE; B was never given the new version.
    cluster = Cluster(tmp_path, per_server={
        "A": {"shared_secrets": VERSIONS},
        "B": {"shared_secrets": base64.b64encode(OLD).decode()}})
    before, after = BatchKey(BATCH, DATE), BatchKey(BATCH, NEXT_DATE)
    _write(cluster, before, "p1", 0, 6)
    _write(cluster, after, "p1", 6, 5)
    with caplog.at_level(logging.ERROR, logger="prio_stream.verifier"):
        cluster.run_servers()
    for server in "AB":
        settings = cluster.settings[server]
        assert status.batch_status(cluster.storage, settings, before)["reports"] == {
            "verified": 6, "valid": 6, "late": 0, "rejected": {}}
        shown = status.batch_status(cluster.storage, settings, after)
        assert shown["reports"] == {
            "verified": 5, "valid": 0, "late": 0, "rejected": {"SHARED_SECRET_MISMATCH": 5}}
        assert shown["likely_cause"] == (
            "5 of 5 reports SHARED_SECRET_MISMATCH: the servers hold different versions of the "
            "shared secret for this date (SHARED_SECRET / SHARED_SECRETS)")
        # No verify2 was computed: there was no proof to check.
        assert cluster.storage.list(settings.private_bucket,
                                    layout.internal_prefix("verify2", after)) == []
    hints = [r for r in caplog.records if "SHARED_SECRETS" in r.getMessage()]
    assert len(hints) == 2  # once per server, for its one mismatched partition
    assert {r.partition_id for r in hints} == {"p1"}
    assert all(r.submission_date == NEXT_DATE for r in hints)

