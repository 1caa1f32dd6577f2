"""The upstream's messages as ingest meets them (gcp-ingestion's decoded pings: gzip bodies,
`document_id` / `submission_timestamp` / `document_type` attributes, a topic shared by other
document types), and the hostile variants: a gzip bomb is one TOO_LARGE rejection, a broken
or padded gzip one NOT_JSON, and another document type is acked without a trace in status."""

from __future__ import annotations

import gzip
import json
import tracemalloc

from services.common.transport import Message
from services.ingest import pings
from services.ingest import status as ingest_status
from services.protocol.layout import BatchKey
from tests.security.test_ingest_limits import PINGS, _day, _entry, _ingest, _ingested, _ping
from tests.services.harness import BATCH, DATE, Cluster

LIMIT = 4096
UPSTREAM = {"document_namespace": "telemetry", "document_type": "prio",
            "document_version": "4"}


def _padded(cluster: Cluster, document_id: str, size: int) -> bytes:
    """A valid ping of exactly size bytes (a padding field makes up the rest)."""
    entry = _entry(cluster, document_id)
    return _ping(document_id, [entry],
                 padding="x" * (size - len(_ping(document_id, [entry], padding=""))))


def test_a_gzip_ping_counts_like_the_plain_one(tmp_path):
    cluster = Cluster(tmp_path)
    body = _ping("doc-1", [_entry(cluster, "doc-1")])
    _ingest(cluster, [gzip.compress(body), body], UPSTREAM)
    assert _ingested(cluster) == {"partitions": 1, "reports": 1, "rejected": {}}
    status = ingest_status.batch_status(cluster.storage, cluster.settings["ingest"],
                                        BatchKey(BATCH, DATE))
    assert status["duplicates"] == 1  # the plain copy of the same ping


def test_ping_max_bytes_bounds_the_decompressed_size(tmp_path):
    cluster = Cluster(tmp_path, ping_max_bytes=LIMIT)
    at_limit = _padded(cluster, "at-limit", LIMIT)
    over = _padded(cluster, "over", LIMIT + 1)
    assert (len(at_limit), len(over)) == (LIMIT, LIMIT + 1)
    _ingest(cluster, [gzip.compress(at_limit), gzip.compress(over)])
    assert _ingested(cluster) == {"partitions": 1, "reports": 1, "rejected": {}}
    assert _ingested(cluster, _day(0))["rejected"] == {"TOO_LARGE": 1}


def test_a_gzip_bomb_is_one_too_large_rejection_never_inflated_whole():
    bomb = gzip.compress(b"{" + b" " * (256 << 20) + b"}", compresslevel=9)
    assert len(bomb) < 300_000  # 256 MiB of JSON in a ping under PING_MAX_BYTES
    tracemalloc.start()
    try:
        reports, rejections = pings.parse(bomb, {}, {BATCH: 8}, pings.Limits(max_bytes=1 << 20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (reports, [r.reason for r in rejections]) == ([], ["TOO_LARGE"])
    assert peak < 4 << 20  # PING_MAX_BYTES of it at most, never the 256 MiB


def test_a_broken_or_padded_gzip_is_not_json(tmp_path):
    cluster = Cluster(tmp_path)
    body = gzip.compress(_ping("doc-1", [_entry(cluster, "doc-1")]))
    _ingest(cluster, [body[:-9], body + b"\0" * 8, body + body, b"\x1f\x8bnot gzip"])
    assert _ingested(cluster, _day(0))["rejected"] == {"NOT_JSON": 4}
    assert _ingested(cluster)["reports"] == 0


def test_the_upstream_attributes_win_over_the_body(tmp_path):
    cluster = Cluster(tmp_path)
    body = _ping("body-id", [_entry(cluster, "body-id")], date=_day(-1))
    attributes = {**UPSTREAM, "document_id": "upstream-id",
                  "submission_timestamp": f"{DATE}T23:59:59.123456Z"}
    reports, rejections = pings.parse(gzip.compress(body), attributes,
                                      cluster.settings["ingest"].data_config)
    assert rejections == []
    assert [(r.date, r.report_id) for r in reports] == [
        (DATE, pings.report_id("upstream-id", BATCH))]


def test_other_document_types_of_a_shared_topic_are_acked_unrecorded(tmp_path):
    cluster = Cluster(tmp_path)
    main_ping = json.dumps({"id": "m-1", "type": "main", "payload": {"info": {}}}).encode()
    prio_ping = _ping("doc-1", [_entry(cluster, "doc-1")])
    handler = cluster.services["ingest"].handlers[PINGS]
    other = Message(gzip.compress(main_ping), {**UPSTREAM, "document_type": "main"}, "m", PINGS)
    assert handler(other) is None  # acked at once: nothing of it is held or written
    _ingest(cluster, [gzip.compress(prio_ping)], UPSTREAM)
    assert _ingested(cluster) == {"partitions": 1, "reports": 1, "rejected": {}}
    assert _ingested(cluster, _day(0))["rejected"] == {}
    assert cluster.storage.list(cluster.settings["ingest"].ingest_bucket, "outcomes/") == []
