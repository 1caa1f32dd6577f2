"""Ingest's input limits as an attacker meets them: each hostile ping is counted once, with its
reason, in linear time; none becomes an error that is retried, redelivered or dead-lettered."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

import pytest
from google.api_core import exceptions

import libprio_ctypes as prio
from services import embedded, loadgen
from services.common.transport import Message
from services.ingest import pings
from services.ingest import status as ingest_status
from services.ingest.holding import FlushFailed, Holding
from services.ingest.partitions import PartitionWriter
from services.protocol.layout import BatchKey
from tests.services.harness import BATCH, DATE, N_DATA, Cluster

PINGS = "prio-pings-ingest"
TODAY = dt.datetime.now(dt.UTC).date()


def _day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def _ingest(cluster: Cluster, bodies, attributes=None) -> None:
    """Each body through ingest's ping handler, then what it holds written: every ping acked."""
    handler = cluster.services["ingest"].handlers[PINGS]
    futures = [handler(Message(body, attributes or {}, f"m-{i}", PINGS))
               for i, body in enumerate(bodies)]
    cluster.services["ingest"].drain()
    for future in futures:
        assert future.result(timeout=60) is None


def _ingested(cluster: Cluster, date: str = DATE, batch: str = BATCH) -> dict:
    status = ingest_status.batch_status(cluster.storage, cluster.settings["ingest"],
                                        BatchKey(batch, date))
    return {k: status[k] for k in ("partitions", "reports", "rejected")}


def _ping(document_id: str, entries: list, date: str | None = DATE, **extra) -> bytes:
    body = {"id": document_id, "payload": {"prioData": entries}, **extra}
    if date is not None:
        body["submission_timestamp"] = f"{date}T10:00:00Z"
    return json.dumps(body).encode()


def _entry(cluster: Cluster, document_id: str, batch_id: str = BATCH) -> dict:
    values = [1] * cluster.settings["ingest"].data_config[batch_id]
    return json.loads(cluster.ping(document_id, values, batch_id))["payload"]["prioData"][0]


def test_a_body_over_ping_max_bytes_is_one_too_large_rejection(tmp_path):
    cluster = Cluster(tmp_path, ping_max_bytes=4096)
    padded = _ping("big", [_entry(cluster, "big")], padding="x" * 4096)
    _ingest(cluster, [padded, padded, _ping("doc-1", [_entry(cluster, "doc-1")])])
    assert _ingested(cluster) == {"partitions": 1, "reports": 1, "rejected": {}}
    # Its stamp is never read: it counts on the day received; delivered twice, once.
    assert _ingested(cluster, _day(0))["rejected"] == {"TOO_LARGE": 1}


def test_huge_numbers_and_deep_nesting_are_counted_too_large(tmp_path):
    cluster = Cluster(tmp_path)
    entry = _entry(cluster, "doc-1")
    hostile = [
        b'{"id": "n", "payload": {"prioData": []}, "x": ' + b"7" * 100_000 + b"}",
        b'{"id": "f", "x": 0.' + b"1" * 100_000 + b"}",
        b"[" * 200_000 + b"]" * 200_000,
        b'{"id": "d", "payload": {"prioData": [' + json.dumps(entry).encode() + b']}, "x": '
        + b'{"a": ' * 200_000 + b"0" + b"}" * 200_000 + b"}",
    ]
    stamp = {"submission_timestamp": f"{DATE}T10:00:00Z"}
    _ingest(cluster, hostile, stamp)
    assert _ingested(cluster) == {"partitions": 0, "reports": 0, "rejected": {"TOO_LARGE": 4}}
    # Brackets and digits inside strings are data, not structure: such a ping is fine.
    fine = _ping("doc-2", [_entry(cluster, "doc-2")], note="[" * 100 + "9" * 5000)
    _ingest(cluster, [fine])
    assert _ingested(cluster)["reports"] == 1


def test_one_entry_per_batch_id_the_rest_one_extra_entry_rejection(tmp_path):
    cluster = Cluster(tmp_path)
    first, other = _entry(cluster, "doc-1"), _entry(cluster, "doc-1", "test-1")
    copies = [{"encoding": BATCH, "prio": {"a": f"AAA{c}", "b": "AAAA"}} for c in "ABCDE"]
    _ingest(cluster, [_ping("doc-1", [first, *copies, other, first, other])])
    assert _ingested(cluster) == {"partitions": 1, "reports": 1, "rejected": {"EXTRA_ENTRY": 1}}
    assert _ingested(cluster, batch="test-1") == {"partitions": 1, "reports": 1, "rejected": {}}


def test_unknown_encodings_and_malformed_entries_count_once_per_ping(tmp_path):
    cluster = Cluster(tmp_path, ping_max_bytes=8 << 20)
    unknown = [{"encoding": f"u{i}", "prio": {"a": "AAAA", "b": "AAAA"}} for i in range(100_000)]
    body = _ping("doc-1", [_entry(cluster, "doc-1"), *unknown, *([7] * 1000)])
    _ingest(cluster, [body])
    # Ping-level reasons name no batch: each batch of the date shows them.
    once = {"MALFORMED_ENTRY": 1, "UNKNOWN_BATCH_ID": 1}
    assert _ingested(cluster) == {"partitions": 1, "reports": 1, "rejected": once}
    assert _ingested(cluster, batch="test-1") == {"partitions": 0, "reports": 0,
                                                  "rejected": once}


def test_dates_outside_the_window_are_rejected_and_counted_on_the_day_received(tmp_path):
    cluster = Cluster(tmp_path)  # REPLAY_RETENTION_DAYS=7
    outside = ["9999-12-31", "0001-01-03", "0001-01-01", _day(2), _day(-8)]
    bodies = [_ping(f"out-{d}", [_entry(cluster, f"out-{d}")], d) for d in outside]
    bodies.append(_ping("edge-old", [_entry(cluster, "edge-old")], _day(-7)))
    bodies.append(_ping("edge-new", [_entry(cluster, "edge-new")], _day(0)))
    _ingest(cluster, bodies)
    # The stamp may come from the pipeline's attributes instead of the ping.
    _ingest(cluster, [_ping("attr", [_entry(cluster, "attr")], None)],
            {"submission_timestamp": "9999-12-31T00:00:00Z"})
    assert _ingested(cluster, _day(0)) == {"partitions": 1, "reports": 1,
                                           "rejected": {"DATE_OUT_OF_WINDOW": 6}}
    assert _ingested(cluster, _day(-7))["reports"] == 1
    names = cluster.storage.list(cluster.settings["ingest"].ingest_bucket, "")
    assert not [n for n in names if "9999-12-31" in n or "0001-01-0" in n]


def test_300_distinct_dates_make_no_more_partitions_than_the_window(tmp_path):
    cluster = Cluster(tmp_path)
    bodies = [_ping(f"doc-{i}", [_entry(cluster, f"doc-{i}")], _day(-i)) for i in range(300)]
    _ingest(cluster, bodies)
    manifests = cluster.storage.list(cluster.settings["ingest"].ingest_bucket, "anti-replay/")
    assert len(manifests) == 8  # today and the 7 days of REPLAY_RETENTION_DAYS
    assert _ingested(cluster, _day(0)) == {"partitions": 1, "reports": 1,
                                           "rejected": {"DATE_OUT_OF_WINDOW": 292}}


# --- errors that can never succeed are not retried


def _holding_failing_with(cluster: Cluster, error: Exception, what: str) -> tuple[list, Holding]:
    holding = Holding(PartitionWriter(cluster.contexts["ingest"]), cluster.settings["ingest"])
    calls = []

    def fail(*args):
        calls.append(args)
        raise error

    setattr(holding.writer, what, fail)
    return calls, holding


@pytest.mark.parametrize("what", ["write", "record_outcomes"])
def test_a_flush_error_that_cannot_succeed_is_not_retried(tmp_path, caplog, what):
    cluster = Cluster(tmp_path, retry_limit=3)
    calls, holding = _holding_failing_with(cluster, OverflowError("date value out of range"),
                                           what)
    reports, rejections = pings.parse(cluster.ping("doc-1", [1] * N_DATA), {}, {BATCH: N_DATA})
    if what == "record_outcomes":
        reports, rejections = [], [pings.Rejection("", DATE, "NOT_JSON", "x:0")]
    ticket = holding.submit(reports, rejections)
    with caplog.at_level(logging.WARNING, "prio_stream"):
        holding.flush_all()
    with pytest.raises(FlushFailed):
        ticket.future.result(timeout=10)
    assert len(calls) == 1
    assert "cannot succeed" in caplog.text and "OverflowError" in caplog.text


def test_a_transient_flush_error_is_still_retried(tmp_path):
    cluster = Cluster(tmp_path, retry_limit=3)
    calls, holding = _holding_failing_with(cluster, exceptions.ServiceUnavailable("busy"),
                                           "write")
    ticket = holding.submit(pings.parse(cluster.ping("doc-1", [1] * N_DATA), {},
                                        {BATCH: N_DATA})[0], [])
    holding.flush_all()
    with pytest.raises(FlushFailed):
        ticket.future.result(timeout=10)
    assert len(calls) == 4  # the first try and RETRY_LIMIT retries


# --- the measure: one 100,000-entry ping next to normal pings, embedded


EMBEDDED_CONFIG = {"demo-0": 64, "demo-1": 36}


def _hostile(secrets: embedded.Secrets) -> bytes:
    client = prio.Client(prio.Config(64, "demo-0", prio.PrgMode.HASH,
                                     secrets.key_a.public_key, secrets.key_b.public_key))
    a, b = client.encode([1] * 64)
    real = pings.ping("hostile", [("demo-0", a, b)])["payload"]["prioData"][0]
    extras = [{"encoding": "demo-0", "prio": {"a": "AAAA", "b": f"{i:06d}AA"}}
              for i in range(999)]
    unknown = [{"encoding": f"u{i}", "prio": {"a": "AAAA", "b": "AAAA"}} for i in range(99_000)]
    return _ping("hostile", [real, *extras, *unknown])


def _embedded_run(root, secrets, messages) -> tuple[float, dict]:
    system = embedded.EmbeddedSystem(
        root, secrets, data_config=EMBEDDED_CONFIG, partition_max_reports=250,
        partition_max_age_seconds=5.0, min_batch_size=1, ping_max_bytes=8 << 20,
        prg_mode="hash").start()
    try:
        started = time.monotonic()
        system.send_pings(messages)
        outcome = embedded.run(system, None, len(messages), 300, progress=False)
        elapsed = time.monotonic() - started
    finally:
        system.stop()
    return elapsed, {key.batch_id: {"ingest": found["ingest"]["rejected"],
                                    "valid": found["result"]["A"]["valid"],
                                    "payload": found["result"]["A"]["payload"]}
                     for key, found in outcome.items()}


def test_a_100000_entry_ping_costs_at_most_twice_a_run_without_it(tmp_path):
    secrets = embedded.Secrets.generate()
    work = loadgen.generate(200, EMBEDDED_CONFIG, secrets.key_a.public_key,
                            secrets.key_b.public_key, prio.PrgMode.HASH, DATE)
    hostile = _hostile(secrets)
    plain, attacked = [], []
    for run in range(3):  # min of three: the machine is shared
        seconds, without = _embedded_run(tmp_path / f"plain-{run}", secrets, work.pings)
        plain.append(seconds)
        seconds, found = _embedded_run(tmp_path / f"attacked-{run}", secrets,
                                       [*work.pings, hostile])
        attacked.append(seconds)
        # Exact counts: the hostile ping adds its one real report, one EXTRA_ENTRY for its
        # 999 extra demo-0 entries and one UNKNOWN_BATCH_ID for its 99,000 unknown encodings.
        assert found["demo-0"]["valid"] == without["demo-0"]["valid"] + 1
        assert found["demo-0"]["payload"] == [
            c + 1 for c in without["demo-0"]["payload"]]
        assert found["demo-1"] == without["demo-1"] | {"ingest": {
            **without["demo-1"]["ingest"],
            "UNKNOWN_BATCH_ID": without["demo-1"]["ingest"].get("UNKNOWN_BATCH_ID", 0) + 1}}
        assert found["demo-0"]["ingest"] == {
            **without["demo-0"]["ingest"], "EXTRA_ENTRY": 1,
            "UNKNOWN_BATCH_ID": without["demo-0"]["ingest"].get("UNKNOWN_BATCH_ID", 0) + 1}
    assert min(attacked) <= 2 * min(plain), (plain, attacked)
