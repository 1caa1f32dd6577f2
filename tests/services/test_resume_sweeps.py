"""The resume sweeps: messages lost after their work was stored (a broker restart loses every
unacked message) are sent again from storage, at the second sweep that finds the work unfinished.

Messages are "lost" by draining a subscription without handling them."""

from __future__ import annotations

import json

import pytest

from services.aggregator.schedule import Schedule
from services.ingest import pings
from services.ingest.partitions import PartitionWriter
from services.protocol import layout, pb, status
from services.protocol.layout import BatchKey
from services.verifier.resume import ResumeSweep
from services.verifier.verification import Verification
from tests.services.harness import BATCH, DATE, Cluster

KEY = BatchKey(BATCH, DATE)


@pytest.fixture
def cluster(tmp_path):
    return Cluster(tmp_path)


def _write(cluster, pid: str, count: int, start: int = 0) -> list[int]:
    """A partition of `count` valid reports, written and notified by ingest; returns their
    plaintext sum."""
    reports, total = [], [0] * 8
    for i in range(start, start + count):
        values = [(i >> bit) & 1 for bit in range(8)]
        reports += pings.parse(cluster.ping(f"doc-{i}", values), {}, {BATCH: 8})[0]
        total = [t + v for t, v in zip(total, values, strict=True)]
    PartitionWriter(cluster.contexts["ingest"]).write(KEY, pid, reports)
    return total


def _lose(cluster, server: str, subscription: str) -> list:
    """Every message waiting on one of the server's subscriptions, gone unhandled."""
    return cluster.drain(cluster.settings[server].project_id, subscription)


def _status(cluster, server: str) -> dict:
    return status.batch_status(cluster.storage, cluster.settings[server], KEY)


def _result(cluster, server: str) -> dict:
    bucket = cluster.settings[server].private_bucket
    return json.loads(cluster.storage.read(bucket, layout.result(KEY)))


def _verifier_sweeps(cluster) -> dict[str, ResumeSweep]:
    return {s: ResumeSweep(cluster.contexts[f"verifier-{s}"],
                           Verification(cluster.contexts[f"verifier-{s}"])) for s in "AB"}


def _closers(cluster) -> dict[str, Schedule]:
    return {s: Schedule(cluster.contexts[f"aggregator-{s}"]) for s in "AB"}


# --- the verifier: partitions whose notices were lost


def test_a_partition_whose_notices_were_lost_is_loaded_at_the_second_sweep(cluster):
    expected = _write(cluster, "p1", 4)
    # A flush that failed after its share files (no manifest, no notice) and was redone as
    # p1: the same reports, left in both inboxes under another partition id.
    for server in "AB":
        inbox = cluster.settings[server].inbox_bucket
        cluster.storage.create(inbox, layout.raw(KEY, "p0"),
                               cluster.storage.read(inbox, layout.raw(KEY, "p1")))
    for server in "AB":
        assert len(_lose(cluster, server, "prio-partitions-verifier")) == 1
    cluster.run_servers()
    assert _status(cluster, "A")["partitions"]["verify1"] == 0
    sweeps = _verifier_sweeps(cluster)
    assert [sweeps[s].sweep() for s in "AB"] == [0, 0]  # seen once: maybe only in flight
    assert [sweeps[s].sweep() for s in "AB"] == [1, 1]  # p1, never the leftover p0
    cluster.run_servers()
    assert [sweeps[s].sweep() for s in "AB"] == [0, 0]  # nothing unfinished any more
    Schedule(cluster.contexts["aggregator-A"]).agreement.close(KEY)
    cluster.run_servers()
    for server in "AB":
        found = _status(cluster, server)
        assert found["partitions"]["received"] == 2 and found["partitions"]["verify1"] == 1
        assert found["accounting"] == {"reports_in": 4, "counted": 4, "rejected": {},
                                       "pending": 0}
        assert _result(cluster, server)["payload"] == expected


def test_the_stored_notice_is_the_published_one(cluster):
    _write(cluster, "p1", 2)
    for server in "AB":
        [published] = _lose(cluster, server, "prio-partitions-verifier")
        stored = cluster.storage.read(cluster.settings[server].inbox_bucket,
                                      layout.notice(KEY, "p1"))
        assert stored == published.data
        assert pb.PartitionNotice.FromString(stored).bucket == \
            cluster.settings[server].inbox_bucket


# --- the aggregators: a batch closed but not published


@pytest.mark.parametrize("lost", ["proposal", "acceptance"])
def test_a_close_whose_answer_was_lost_is_proposed_again(cluster, lost):
    expected = _write(cluster, "p1", 5)
    cluster.run_servers()
    closers = _closers(cluster)
    closers["A"].agreement.close(KEY)
    if lost == "acceptance":
        cluster.pump("aggregator-B", "prio-batch-close-aggregator")
        assert len(_lose(cluster, "A", "prio-batch-close-aggregator")) == 1
    else:
        assert len(_lose(cluster, "B", "prio-batch-close-aggregator")) == 1
    cluster.run_servers()
    assert _status(cluster, "A")["state"] == "closing"
    assert closers["A"].resend_sweep() == []  # seen once: maybe only in flight
    assert closers["A"].resend_sweep() == [KEY]
    cluster.run_servers()
    for server in "AB":
        assert _status(cluster, server)["state"] == "published"
        assert _result(cluster, server)["payload"] == expected
    assert [closers[s].resend_sweep() for s in "AB"] == [[], []]


def test_lost_total_shares_are_sent_again(cluster):
    expected = _write(cluster, "p1", 5)
    cluster.run_servers()
    closers = _closers(cluster)
    closers["A"].agreement.close(KEY)
    cluster.pump("aggregator-B", "prio-batch-close-aggregator")  # B's share out, accepts
    cluster.pump("aggregator-A", "prio-batch-close-aggregator")  # A's share out
    for server in "AB":
        assert len(_lose(cluster, server, "prio-total-shares-publisher")) == 2
        assert _status(cluster, server)["state"] == "aggregated"
    assert [closers[s].resend_sweep() for s in "AB"] == [[], []]
    assert [closers[s].resend_sweep() for s in "AB"] == [[KEY], [KEY]]
    cluster.run_servers()
    for server in "AB":
        assert _result(cluster, server)["payload"] == expected


def test_a_share_lost_toward_the_peer_only_is_sent_again_on_the_peers_request(cluster):
    """A published (it has both shares) and stops sweeping; B lacks A's share, which only A
    can send: B's sweep sends its acceptance again, and A answers it with its share."""
    expected = _write(cluster, "p1", 5)
    cluster.run_servers()
    closers = _closers(cluster)
    closers["A"].agreement.close(KEY)
    cluster.pump("aggregator-B", "prio-batch-close-aggregator")
    cluster.pump("aggregator-A", "prio-batch-close-aggregator")
    cluster.pump("publisher-A", "prio-total-shares-publisher")
    handle_b = cluster.services["publisher-B"].handlers["prio-total-shares-publisher"]
    for message in _lose(cluster, "B", "prio-total-shares-publisher"):
        if pb.TotalShare.FromString(message.data).sender == pb.Server.SERVER_B:
            handle_b(message)  # B's own share arrives, A's is lost
    assert _status(cluster, "A")["state"] == "published"
    assert _status(cluster, "B")["state"] == "aggregated"
    assert [closers[s].resend_sweep() for s in "AB"] == [[], []]
    assert [closers[s].resend_sweep() for s in "AB"] == [[], [KEY]]
    cluster.run_servers()
    assert _result(cluster, "B")["payload"] == expected == _result(cluster, "A")["payload"]


def test_a_withheld_share_is_never_sent_again(tmp_path):
    cluster = Cluster(tmp_path, min_batch_size=5)
    _write(cluster, "p1", 4)
    cluster.run_servers()
    closers = _closers(cluster)
    closers["A"].agreement.close(KEY)
    cluster.run_servers()
    for _ in range(3):
        assert [closers[s].resend_sweep() for s in "AB"] == [[], []]
    for server in "AB":
        assert _status(cluster, server)["state"] == "refused"
        project = cluster.settings[server].project_id
        assert cluster.transport.pull(project, "prio-total-shares-publisher", 10) == []
        assert cluster.transport.pull(project, "prio-batch-close-aggregator", 10) == []
