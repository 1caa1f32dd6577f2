"""Replays, reports for a closed batch, a batch below MIN_BATCH_SIZE, undecodable messages."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from services.common import topology
from services.protocol import layout, pb
from tests.faults.conftest import BATCH, DATE

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

LATER = (dt.date.fromisoformat(DATE) + dt.timedelta(days=1)).isoformat()
GARBAGE = b"\xff not a protobuf"


def test_replays_late_reports_small_batch_and_dead_letters(deployment):
    d = deployment()
    d.start_all()
    d.publish_pings(12)
    d.wait_ingested(12)  # the originals first: the first seen is the one counted
    # Replays: a seen document id with another content (same day), and the same ping again
    # on a later submission date (across batches, within REPLAY_RETENTION_DAYS).
    d.publish_raw([d.ping("doc-3", [1] * 8)])
    d.publish_raw([d.ping("doc-4", [0] * 8, date=LATER)], date=LATER)
    # A batch below MIN_BATCH_SIZE=5.
    d.publish_pings(3, start=100, batch="faults-small")
    d.wait_ingested(13)
    d.wait_ingested(1, date=LATER)
    d.wait_ingested(3, batch="faults-small")
    d.wait_verified()
    d.wait_verified(batch="faults-small")
    d.close()
    d.close("faults-small")
    # Late: reports for the closed batch, accepted by ingest, never counted.
    d.publish_pings(2, start=50)
    for late in (50, 51):
        d.sums.subtract({i: (late >> i) & 1 for i in range(8)})
    d.wait_ingested(15)
    d.wait(lambda: all(d.status(s)["accounting"]["rejected"].get("LATE") == 2 for s in "AB"),
           60, "the late reports on both servers")
    d.wait_state("published")
    d.wait(lambda: all(d.status(s, "faults-small")["state"] == "refused" for s in "AB"), 60,
           "the small batch refused on both servers")
    d.reconcile(ingest_in=15, ingest_rejected={"REPLAYED": 1}, counted=12,
                rejected={"LATE": 2})
    assert d.status(None, BATCH, LATER)["rejected"] == {"REPLAYED": 1}
    d.reconcile(ingest_in=3, ingest_rejected={}, counted=3, rejected={}, batch="faults-small",
                published=False)
    for server in "AB":
        small = d.status(server, "faults-small")
        assert small["publication"]["reason"].startswith("3 valid reports, fewer than")
        assert not small["published"] and not small["peer_total_share"]

    # Undecodable protobuf -> dead letters (5 attempts) -> listed, shown, discarded.
    d.publish_raw([GARBAGE], topology.PARTITIONS, d.projects["A"])
    # A notice whose partition is not stored yet fails until it is: dead-lettered, then
    # re-driven once the partition is there, and counted.
    reports = _partition(d, "late-write", 6)
    notice = _notice(d, "late-write", reports, "A")
    _write(d, "B", "late-write", reports)
    d.publish_raw([_notice(d, "late-write", reports, "B")], topology.PARTITIONS, d.projects["B"])
    d.publish_raw([notice], topology.PARTITIONS, d.projects["A"])

    def dead_letters():
        found = d.get("verifier", "A", "/dead-letters")["prio-partitions-verifier"]
        return found if len(found) == 2 else None
    d.wait(dead_letters, 90, "both messages in A's dead letters")
    assert d.status("B", "faults-redrive")["waiting_for_peer"] == 1
    letters = {m["size"]: m["message_id"] for m in dead_letters()}
    garbage_id = letters[len(GARBAGE)]
    garbage = d.get("verifier", "A", f"/dead-letters/prio-partitions-verifier/{garbage_id}")
    assert base64.b64decode(garbage["data"]) == GARBAGE
    discarded = d.post("verifier", "A", "/dead-letters/prio-partitions-verifier/discard",
                       params={"message_id": garbage["message_id"]})
    assert discarded.json() == {"discarded": 1}
    _write(d, "A", "late-write", reports)
    redriven = d.post("verifier", "A", "/dead-letters/prio-partitions-verifier/redrive")
    assert redriven.json() == {"redriven": 1}
    d.wait(lambda: all(d.status(s, "faults-redrive")["partitions"]["aggregated"] == 1
                       for s in "AB"), 60, "the re-driven partition aggregated on A and B")
    assert d.get("verifier", "A", "/dead-letters")["prio-partitions-verifier"] == []
    d.close("faults-redrive")
    d.wait_state("published", batch="faults-redrive")
    for server in "AB":
        assert d.status(server, "faults-redrive")["accounting"] == {
            "reports_in": 6, "counted": 6, "rejected": {}, "pending": 0}


def _partition(d, pid, count):
    out = []
    for i in range(count):
        a, b = d.encode([i & 1] * 8, "faults-redrive")
        out.append((f"r-{pid}-{i}", base64.b64encode(a).decode(), base64.b64encode(b).decode()))
    return out


def _write(d, server, pid, reports):
    from services.protocol import shares
    key = layout.BatchKey("faults-redrive", DATE)
    column = 1 if server == "A" else 2
    d.storage.create(d.buckets[f"{server}-inbox"], layout.raw(key, pid), shares.encode(
        shares.ShareLine(r[0], r[column]) for r in reports))


def _notice(d, pid, reports, server):
    from services.protocol import shares
    key = layout.BatchKey("faults-redrive", DATE)
    return pb.PartitionNotice(
        partition=pb.PartitionRef(batch_id=key.batch_id, submission_date=DATE, partition_id=pid),
        bucket=d.buckets[f"{server}-inbox"], object_name=layout.raw(key, pid),
        report_count=len(reports), schema_version=shares.SCHEMA_VERSION,
        report_ids_sha256=shares.ids_digest([r[0] for r in reports])).SerializeToString()
