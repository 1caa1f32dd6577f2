"""Ingest: envelope checks, stable report ids, partitions in both inboxes, held acks, duplicates."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import threading

import pytest

from services.common.transport import Message
from services.ingest import pings, staged
from services.ingest import status as ingest_status
from services.ingest.holding import Holding
from services.ingest.partitions import PartitionWriter
from services.protocol import layout, pb, shares
from services.protocol.layout import BatchKey
from tests.services.harness import BATCH, DATE, Cluster

KEY = BatchKey(BATCH, DATE)
NEXT_DAY = (dt.date.fromisoformat(DATE) + dt.timedelta(days=1)).isoformat()
BATCHES = {BATCH: 8}


@pytest.fixture
def cluster(tmp_path):
    return Cluster(tmp_path)


def _entry(a="AAAA", b="AAAA", encoding=BATCH):
    return {"encoding": encoding, "prio": {"a": a, "b": b}}


@pytest.mark.parametrize(("body", "attributes", "reason"), [
    (b"{not json", {}, "NOT_JSON"),
    (b"[1, 2]", {}, "NOT_JSON"),
    (json.dumps({"payload": {"prioData": [_entry()]}}).encode(), {}, "MISSING_DOCUMENT_ID"),
    (json.dumps({"id": "d", "payload": {}}).encode(), {}, "MISSING_PRIO_DATA"),
    (json.dumps({"id": "d", "payload": {"prioData": [_entry(encoding="x")]}}).encode(), {},
     "UNKNOWN_BATCH_ID"),
    (json.dumps({"id": "d", "payload": {"prioData": [_entry(b="")]}}).encode(), {},
     "MISSING_SHARE"),
    (json.dumps({"id": "d", "payload": {"prioData": [_entry(a="%%%")]}}).encode(), {},
     "BAD_ENCODING"),
    (json.dumps({"id": "d", "payload": {"prioData": ["x"]}}).encode(), {}, "MALFORMED_ENTRY"),
])
def test_bad_pings_are_rejected_with_a_reason(body, attributes, reason):
    reports, rejections = pings.parse(body, attributes, BATCHES)
    assert reports == []
    assert [r.reason for r in rejections] == [reason]


def test_report_id_is_stable_and_per_batch():
    body = json.dumps({"id": "doc-1", "submission_timestamp": f"{DATE}T23:59:59Z",
                       "payload": {"prioData": [_entry(), _entry(encoding="other-0")]}}).encode()
    first, _ = pings.parse(body, {}, {BATCH: 8, "other-0": 4})
    again, _ = pings.parse(body, {}, {BATCH: 8, "other-0": 4})
    assert [r.report_id for r in first] == [r.report_id for r in again]
    assert first[0].report_id != first[1].report_id
    assert first[0].date == DATE
    # The pipeline's attributes win over the ping's own fields.
    by_attributes, _ = pings.parse(body, {"document_id": "doc-2",
                                          "submission_timestamp": f"{NEXT_DAY}T00:00:01Z"},
                                   {BATCH: 8, "other-0": 4})
    assert by_attributes[0].date == NEXT_DAY
    assert by_attributes[0].report_id == pings.report_id("doc-2", BATCH)


def _reports(cluster, count, start=0):
    reports = []
    for i in range(start, start + count):
        found, _ = pings.parse(cluster.ping(f"doc-{i}", [i % 2] * 8), {}, BATCHES)
        reports += found
    return reports


def test_partition_goes_to_both_inboxes_then_both_notices(cluster):
    writer = PartitionWriter(cluster.contexts["ingest"])
    reports = _reports(cluster, 5)
    assert writer.write(KEY, "p1", reports) == []
    lines_a = shares.decode(cluster.storage.read("prio-a-inbox", layout.raw(KEY, "p1")))
    lines_b = shares.decode(cluster.storage.read("prio-b-inbox", layout.raw(KEY, "p1")))
    ids = [r.report_id for r in reports]
    assert [line.report_id for line in lines_a] == [line.report_id for line in lines_b] == ids
    assert [line.payload for line in lines_a] == [r.share_a for r in reports]
    assert [line.payload for line in lines_b] == [r.share_b for r in reports]
    for project, bucket in (("prio-a", "prio-a-inbox"), ("prio-b", "prio-b-inbox")):
        [message] = cluster.drain(project, "prio-partitions-verifier")
        notice = pb.PartitionNotice.FromString(message.data)
        assert (notice.bucket, notice.object_name) == (bucket, layout.raw(KEY, "p1"))
        assert notice.report_count == 5
        assert notice.report_ids_sha256 == shares.ids_digest(ids)


def test_duplicates_are_dropped_and_unnotified_partitions_notified_again(cluster):
    ctx = cluster.contexts["ingest"]
    reports = _reports(cluster, 4)
    PartitionWriter(ctx).write(KEY, "p1", reports[:3])
    cluster.drain("prio-a", "prio-partitions-verifier")
    cluster.drain("prio-b", "prio-partitions-verifier")
    # A new ingest process (the first may have crashed before its notices went out).
    fresh = PartitionWriter(ctx)
    duplicates = fresh.write(KEY, "p2", reports)
    assert [d.reason for d in duplicates] == ["duplicate"] * 3
    written = shares.decode(cluster.storage.read("prio-a-inbox", layout.raw(KEY, "p2")))
    assert [line.report_id for line in written] == [reports[3].report_id]
    notices = [pb.PartitionNotice.FromString(m.data).partition.partition_id
               for m in cluster.drain("prio-a", "prio-partitions-verifier")]
    assert sorted(notices) == ["p1", "p2"]
    # The same process does not notify p1 a third time.
    assert [d.reason for d in fresh.write(KEY, "p3", reports)] == ["duplicate"] * 4
    assert cluster.drain("prio-a", "prio-partitions-verifier") == []
    assert not cluster.storage.exists("prio-a-inbox", layout.raw(KEY, "p3"))


def test_a_retried_partition_write_keeps_its_reports(cluster):
    writer = PartitionWriter(cluster.contexts["ingest"])
    reports = _reports(cluster, 3)
    writer.write(KEY, "p1", reports)
    assert writer.write(KEY, "p1", reports) == []  # the same partition, written again
    assert len(shares.decode(cluster.storage.read("prio-b-inbox", layout.raw(KEY, "p1")))) == 3


def test_ping_handler_acks_only_after_its_partition_is_written(cluster):
    definition = cluster.services["ingest"]
    handler = definition.handlers["prio-pings-ingest"]
    stop = threading.Event()
    flusher = threading.Thread(target=definition.background[0], args=(stop,))
    message = Message(cluster.ping("doc-1", [1] * 8), {}, "m1", "prio-pings-ingest")
    outcome = handler(message)  # returns at once: the ack is deferred, no thread waits
    with pytest.raises(concurrent.futures.TimeoutError):
        outcome.result(timeout=0.3)  # not acked before the flusher wrote the partition
    assert cluster.storage.list("prio-a-inbox", "raw/") == []
    flusher.start()
    assert outcome.result(timeout=10) is None
    assert len(cluster.storage.list("prio-a-inbox", "raw/")) == 1
    # Redelivery of the same ping after its ack: a duplicate, no second partition.
    handler(message).result(timeout=10)
    stop.set()
    flusher.join()
    status = ingest_status.batch_status(cluster.storage, cluster.settings["ingest"], KEY)
    last_arrival = dt.datetime.fromisoformat(status.pop("last_arrival"))
    assert abs(dt.datetime.now(dt.UTC) - last_arrival) < dt.timedelta(minutes=5)
    assert status == {"batch_id": BATCH, "submission_date": DATE, "partitions": 1,
                      "reports": 1, "duplicates": 1, "rejected": {}, "reports_in": 1}


def test_holding_seals_at_max_reports_and_records_rejections(tmp_path):
    cluster = Cluster(tmp_path, partition_max_reports=3)
    holding = Holding(PartitionWriter(cluster.contexts["ingest"]), cluster.settings["ingest"])
    tickets = [holding.submit(_reports(cluster, 1, i), []) for i in range(7)]
    bad = holding.submit(*pings.parse(b"nope", {"submission_timestamp": DATE}, BATCHES))
    holding.flush_all()
    for ticket in [*tickets, bad]:
        assert ticket.future.result(timeout=10) is None
    status = ingest_status.batch_status(cluster.storage, cluster.settings["ingest"], KEY)
    assert (status["partitions"], status["reports"]) == (3, 7)
    assert status["rejected"] == {"NOT_JSON": 1}


def _partition_sizes(cluster) -> list[int]:
    names = cluster.storage.list("prio-a-inbox", layout.raw_prefix(KEY))
    return sorted(len(shares.decode(cluster.storage.read("prio-a-inbox", n))) for n in names)


def test_partitions_are_bounded_in_bytes_as_well(tmp_path):
    """PARTITION_MAX_BYTES seals a partition before PARTITION_MAX_REPORTS when shares are
    large (n_data 2046): by the ping holding and by the staged import alike."""
    cluster = Cluster(tmp_path, partition_max_reports=100)
    reports = _reports(cluster, 7)
    # Packets differ in size by a few bytes (field elements are variable-length): a bound
    # above any two reports and at most any three seals every partition at three.
    limit = 2 * max(r.size for r in reports) + 1
    assert 3 * min(r.size for r in reports) >= limit
    settings = cluster.settings["ingest"].model_copy(update={"partition_max_bytes": limit})
    holding = Holding(PartitionWriter(cluster.contexts["ingest"]), settings)
    tickets = [holding.submit([r], []) for r in reports]
    holding.flush_all()
    assert all(t.future.result(timeout=10) is None for t in tickets)
    assert _partition_sizes(cluster) == [1, 3, 3]

    other = Cluster(tmp_path / "staged", partition_max_reports=100)
    data = [shares.encode(shares.ShareLine(r.report_id, getattr(r, f"share_{s}"))
                          for r in reports) for s in "ab"]
    found = staged.import_files(PartitionWriter(other.contexts["ingest"]), 100, limit, KEY,
                                *data)
    assert found["partitions"] == 3
    assert _partition_sizes(other) == [1, 3, 3]


def test_staged_import_is_idempotent(cluster):
    reports = _reports(cluster, 5)
    data_a = shares.encode(shares.ShareLine(r.report_id, r.share_a) for r in reports)
    data_b = shares.encode(shares.ShareLine(r.report_id, r.share_b) for r in reports[1:])
    writer = PartitionWriter(cluster.contexts["ingest"])
    first = staged.import_files(writer, 2, 1 << 30, KEY, data_a, data_b)
    assert (first["reports"], first["partitions"]) == (4, 2)
    assert first["rejected"] == {"MISSING_SHARE": 1}
    # The same files again: the same partition ids, so nothing new (notices are sent again).
    again = staged.import_files(PartitionWriter(cluster.contexts["ingest"]), 2, 1 << 30, KEY,
                                data_a, data_b)
    assert (again["reports"], again["partitions"]) == (0, 0)
    assert again["already_imported"] == {"partitions": 2, "reports": 4}
    assert again["rejected"] == first["rejected"]
    status = ingest_status.batch_status(cluster.storage, cluster.settings["ingest"], KEY)
    assert (status["partitions"], status["reports"], status["duplicates"]) == (2, 4, 0)
    assert status["rejected"] == {"MISSING_SHARE": 1}
