"""Each server refuses a share it has seen before, whatever id, partition or date a copy carries.

The attacker here controls the ingest side (or publishes to the ping topic): it copies one
client's encrypted ping under fresh document ids, in the same partition, in later partitions
and on other dates, so that the victim's bit vector would move the published counts by the
number of copies. Both servers must count the copies 0 times, each by its own shares, and
agree on the reason (REPLAYED).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from services.aggregator.agreement import Agreement
from services.ingest import pings
from services.ingest.partitions import PartitionWriter
from services.protocol import layout, pb, status
from services.protocol.layout import BatchKey
from tests.services.harness import BATCH, DATE, Cluster

KEY = BatchKey(BATCH, DATE)
OTHER_DATE = (dt.date.fromisoformat(DATE) + dt.timedelta(days=1)).isoformat()


@pytest.fixture
def cluster(tmp_path):
    return Cluster(tmp_path)


def _values(i: int) -> list[int]:
    return [(i >> bit) & 1 for bit in range(8)]


def _relabelled(ping: bytes, document_id: str, date: str = DATE) -> bytes:
    """The same encrypted shares, under a new document id (and date): a copy, not a report."""
    body = json.loads(ping)
    body["id"] = document_id
    body["submission_timestamp"] = f"{date}T12:00:00Z"
    return json.dumps(body).encode()


def _write(cluster, key: BatchKey, pid: str, ping_bodies: list[bytes]) -> None:
    reports = [r for body in ping_bodies for r in pings.parse(body, {}, {BATCH: 8})[0]]
    PartitionWriter(cluster.contexts["ingest"]).write(key, pid, reports)


def _publish(cluster, key: BatchKey) -> dict[str, dict]:
    Agreement(cluster.contexts["aggregator-A"]).close(key)
    cluster.run_servers()
    return {s: json.loads(cluster.storage.read(cluster.settings[s].private_bucket,
                                               layout.result(key))) for s in "AB"}


def _reports(cluster, server: str, key: BatchKey) -> dict:
    return status.batch_status(cluster.storage, cluster.settings[server], key)["reports"]


def test_copies_in_the_same_and_later_partitions_count_once(cluster):
    genuine = [cluster.ping(f"doc-{i}", _values(i)) for i in range(1, 6)]
    victim = genuine[0]
    copies = [_relabelled(victim, f"copy-{i}") for i in range(150)]
    _write(cluster, KEY, "p1", genuine + copies[:50])
    cluster.run_servers()
    _write(cluster, KEY, "p2", copies[50:])
    cluster.run_servers()
    results = _publish(cluster, KEY)
    expected = [sum(_values(i)[b] for i in range(1, 6)) for b in range(8)]
    for server in "AB":
        assert results[server]["payload"] == expected
        assert _reports(cluster, server, KEY) == {
            "verified": 155, "valid": 5, "late": 0, "rejected": {"REPLAYED": 150}}


def test_copies_on_another_date_count_zero_times(cluster):
    genuine = [cluster.ping(f"doc-{i}", _values(i)) for i in range(1, 4)]
    _write(cluster, KEY, "p1", genuine)
    cluster.run_servers()
    other = BatchKey(BATCH, OTHER_DATE)
    fresh = cluster.ping("doc-9", _values(9))
    copies = [_relabelled(genuine[1], f"copy-{i}", OTHER_DATE) for i in range(20)]
    _write(cluster, other, "p1", [_relabelled(fresh, "doc-9", OTHER_DATE), *copies])
    cluster.run_servers()
    results = _publish(cluster, other)
    for server in "AB":
        assert results[server]["payload"] == _values(9)
        assert _reports(cluster, server, other)["rejected"] == {"REPLAYED": 20}


def test_a_copy_loaded_by_another_process_at_the_same_moment_is_taken_out_at_the_close(
        cluster):
    """Two verifier processes load two partitions at once: neither sees the other's record.
    The close takes the later copy out, on both servers alike."""
    genuine = [cluster.ping(f"doc-{i}", _values(i)) for i in range(1, 4)]
    _write(cluster, KEY, "p1", genuine)
    _write(cluster, KEY, "p2", [_relabelled(genuine[2], "copy")])
    # p2 is loaded by a fresh process on each server before p1's records exist there.
    from services.verifier.verification import Verification

    for server in "AB":
        second = Verification(cluster.contexts[f"verifier-{server}"])
        notice = pb.PartitionNotice.FromString(cluster.storage.read(
            cluster.settings[server].inbox_bucket, layout.notice(KEY, "p2")))
        second._own_verify1(notice)
    cluster.run_servers()
    results = _publish(cluster, KEY)
    expected = [sum(_values(i)[b] for i in range(1, 4)) for b in range(8)]
    for server in "AB":
        assert results[server]["payload"] == expected
        assert _reports(cluster, server, KEY)["rejected"] == {"REPLAYED": 1}


def test_a_redelivered_partition_is_not_a_replay_of_itself(cluster):
    genuine = [cluster.ping(f"doc-{i}", _values(i)) for i in range(1, 4)]
    _write(cluster, KEY, "p1", genuine)
    cluster.run_servers(twice=True)
    results = _publish(cluster, KEY)
    for server in "AB":
        assert _reports(cluster, server, KEY)["rejected"] == {}
        assert results[server]["payload"] == [
            sum(_values(i)[b] for i in range(1, 4)) for b in range(8)]


def test_a_notice_pointing_elsewhere_is_refused(cluster):
    """A notice names the bucket and object of its shares; the verifier reads only its own
    inbox at the name the layout derives, and refuses a notice naming anything else."""
    from services.verifier.verification import PartitionMismatch, Verification

    _write(cluster, KEY, "p1", [cluster.ping("doc-1", _values(1))])
    verification = Verification(cluster.contexts["verifier-A"])
    stored = pb.PartitionNotice.FromString(cluster.storage.read(
        "prio-a-inbox", layout.notice(KEY, "p1")))
    moved = pb.PartitionNotice()
    moved.CopyFrom(stored)
    moved.partition.submission_date = OTHER_DATE  # counted again under another date
    with pytest.raises(PartitionMismatch, match="notice refused"):
        verification.on_partition(moved)
    for bucket, name in [("prio-a-private", layout.internal("verify1", KEY, "p1")),
                         ("prio-b-inbox", layout.raw(KEY, "p1"))]:
        forged = pb.PartitionNotice()
        forged.CopyFrom(stored)
        forged.bucket, forged.object_name = bucket, name
        with pytest.raises(PartitionMismatch, match="notice refused"):
            verification.on_partition(forged)
    assert not cluster.storage.list("prio-a-private",
                                    f"intermediate/internal/verify1/batch_id={BATCH}/"
                                    f"submission_date={OTHER_DATE}/")


@pytest.mark.parametrize("pid", ["a/b", "", ".", "..", "x" * 300, "p\x00", "../raw"])
def test_invalid_partition_ids_are_refused(cluster, pid):
    from services.verifier.verification import PartitionMismatch, Verification

    notice = pb.PartitionNotice(
        partition=pb.PartitionRef(batch_id=BATCH, submission_date=DATE, partition_id=pid),
        bucket="prio-a-inbox", object_name=f"raw/{KEY.folder}/{pid}.ndjson",
        report_count=1, schema_version=1)
    with pytest.raises(PartitionMismatch, match="invalid partition id"):
        Verification(cluster.contexts["verifier-A"]).on_partition(notice)


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-03", "2020-01-01"])
def test_a_partition_of_a_date_out_of_the_window_counts_nothing(cluster, date):
    """Ingest's word on dates is not trusted either: a copy labelled with a date outside the
    anti-replay window (where the original's shard would be gone, or one in the far future
    that no window ever reaches again) is refused by each server itself."""
    key = BatchKey(BATCH, date)
    # Written as an ingest that lies about dates would write them (ingest refuses them too).
    reports = [dataclasses.replace(r, date=date) for i in range(1, 4) for r in pings.parse(
        cluster.ping(f"doc-{i}", _values(i)), {}, {BATCH: 8})[0]]
    PartitionWriter(cluster.contexts["ingest"]).write(key, "p1", reports)
    cluster.run_servers()
    for server in "AB":
        assert _reports(cluster, server, key) == {
            "verified": 3, "valid": 0, "late": 0, "rejected": {"DATE_OUT_OF_WINDOW": 3}}


def test_the_verdict_of_a_partition_is_kept_across_the_window_moving(cluster, tmp_path):
    """A partition retried after midnight gets the verdict stored at its first load."""
    import datetime as dt_

    from services.verifier.anti_replay import AntiReplay

    index = AntiReplay(cluster.storage, "prio-a-private", retention_days=7)
    day = dt_.datetime.fromisoformat(f"{DATE}T23:59:00+00:00")
    first = index.decide(KEY, "p9", [5, 6, 5], now=day)
    index.record(KEY, "p9", [5, 6, 5], first, [True, True, True])
    later = index.decide(KEY, "p9", [5, 6, 5], now=day + dt_.timedelta(days=30))
    assert first == later == [0, 0, 2]
