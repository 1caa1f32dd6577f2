"""Verifier, aggregator and publisher handlers of both servers, stepped message by message."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient

from services.aggregator.agreement import Agreement
from services.aggregator.schedule import Schedule
from services.common import errors
from services.common.runtime import build_app
from services.ingest import pings
from services.ingest.partitions import PartitionWriter
from services.protocol import layout, pb, shares, status
from services.protocol.layout import BatchKey
from services.publisher import labels
from tests.services.harness import BATCH, DATE, SERVER_SUBSCRIPTIONS, Cluster

KEY = BatchKey(BATCH, DATE)


@pytest.fixture
def cluster(tmp_path):
    return Cluster(tmp_path)


def _write(cluster, pid, kinds, start=0):
    """One partition of reports of the given kinds; returns the plaintext sum of valid ones."""
    reports, total = [], [0] * 8
    for i, kind in enumerate(kinds, start):
        values = [(i >> bit) & 1 for bit in range(8)]
        if kind == "non_binary":
            values[0] = 2
        ping = cluster.ping(f"doc-{i}", values, tamper_a=kind == "tamper_a",
                            non_binary=kind == "non_binary")
        reports += pings.parse(ping, {}, {BATCH: 8})[0]
        if kind == "valid":
            total = [t + v for t, v in zip(total, values)]
    PartitionWriter(cluster.contexts["ingest"]).write(KEY, pid, reports)
    return total


def _status(cluster, server):
    return status.batch_status(cluster.storage, cluster.settings[server], KEY)


def _close_and_publish(cluster, twice=False):
    Agreement(cluster.contexts["aggregator-A"]).close(KEY)
    cluster.run_servers(twice=twice)


def _result(cluster, server):
    bucket = cluster.settings[server].private_bucket
    return json.loads(cluster.storage.read(bucket, layout.result(KEY)))


def test_verification_outcomes_agree_on_both_servers(cluster):
    kinds = ["valid", "non_binary", "valid", "tamper_a", "valid"]
    _write(cluster, "p1", kinds)
    cluster.run_servers()
    records = [pb.PartitionVerified.FromString(cluster.storage.read(
        cluster.settings[s].private_bucket, layout.internal("verified", KEY, "p1")))
        for s in "AB"]
    assert list(records[0].outcome) == list(records[1].outcome) == [
        pb.Reason.REASON_OK, pb.Reason.REASON_INVALID_PROOF, pb.Reason.REASON_OK,
        pb.Reason.REASON_DECRYPT_FAILED, pb.Reason.REASON_OK]
    for server in "AB":
        reports = _status(cluster, server)["reports"]
        assert reports == {"verified": 5, "valid": 3, "late": 0,
                           "rejected": {"DECRYPT_FAILED": 1, "INVALID_PROOF": 1}}


def test_undecodable_payload_is_rejected_not_raised(cluster):
    _write(cluster, "p1", ["valid", "valid"])
    # A partition file whose second share is not base64 (staged data can hold anything).
    for bucket in ("prio-a-inbox", "prio-b-inbox"):
        lines = shares.decode(cluster.storage.read(bucket, layout.raw(KEY, "p1")))
        lines[1] = shares.ShareLine(lines[1].report_id, "***")
        path = cluster.storage._path(bucket, layout.raw(KEY, "p1"))
        path.write_bytes(shares.encode(lines))
    cluster.run_servers()
    assert _status(cluster, "A")["reports"]["rejected"] == {"BAD_ENCODING": 1}


def test_full_pipeline_publishes_the_plaintext_sums(cluster):
    expected = [a + b for a, b in zip(_write(cluster, "p1", ["valid"] * 4 + ["non_binary"]),
                                      _write(cluster, "p2", ["valid", "tamper_a"], start=10))]
    cluster.run_servers()
    _close_and_publish(cluster)
    for server in "AB":
        result = _result(cluster, server)
        assert result["payload"] == expected
        assert (result["total"], result["valid"]) == (7, 5)
        assert result["rejected"] == {"DECRYPT_FAILED": 1, "INVALID_PROOF": 1}
        assert result["counts"] == {str(i): c for i, c in enumerate(expected)}
        found = _status(cluster, server)
        assert found["published"] and found["closed_partitions"] == 2


def _verify_only(cluster):
    """Runs the verifiers until every partition is verified; the aggregators wait."""
    verifying = [(label, sub) for label, sub in SERVER_SUBSCRIPTIONS if "verifier" in label]
    while sum(cluster.pump(label, sub) for label, sub in verifying):
        pass


def test_valid_partitions_are_totalled_from_the_loaded_sum_without_decrypting(cluster):
    """All reports valid: the aggregators take the verifiers' loaded sums as they are, so the
    partition files may be gone by then."""
    expected = _write(cluster, "p1", ["valid"] * 5)
    _verify_only(cluster)
    for bucket in ("prio-a-inbox", "prio-b-inbox"):
        cluster.storage.delete(bucket, layout.raw(KEY, "p1"))
    cluster.run_servers()
    _close_and_publish(cluster)
    for server in "AB":
        assert _result(cluster, server)["payload"] == expected


def test_partitions_verified_without_a_loaded_sum_are_decrypted_again(cluster):
    """A partition verified before the verifier kept its loaded sum (or with nothing loaded):
    the aggregator sums the valid reports from the partition file, with the same result."""
    expected = _write(cluster, "p1", ["valid", "non_binary", "valid", "tamper_a"])
    _verify_only(cluster)
    for server in "AB":
        cluster.storage.delete(cluster.settings[server].private_bucket,
                               layout.internal("loaded_sum", KEY, "p1"))
    cluster.run_servers()
    _close_and_publish(cluster)
    for server in "AB":
        assert _result(cluster, server)["payload"] == expected
        assert _result(cluster, server)["rejected"] == {"DECRYPT_FAILED": 1,
                                                        "INVALID_PROOF": 1}


def test_a_report_written_by_two_ingest_instances_is_counted_once(cluster):
    """Two instances each held a delivery of the same pings and flushed at once: neither
    manifest was there when the other looked, so p1 and p2 both hold copies of reports 0 and
    1 (report 1 invalid). The close counts each id once on both servers: report 0's second
    copy is taken out as REPLAYED, report 1's stays rejected for its proof."""
    kinds = ["valid", "non_binary", "valid", "valid"]
    expected = _write(cluster, "p1", kinds)
    racing = PartitionWriter(cluster.contexts["ingest"])
    copies = []
    for i, kind in enumerate(["valid", "non_binary"]):
        values = [(i >> bit) & 1 for bit in range(8)]
        values[0] = 2 if kind == "non_binary" else values[0]
        copies += pings.parse(cluster.ping(f"doc-{i}", values, non_binary=kind == "non_binary"),
                              {}, {BATCH: 8})[0]
    racing._write_new(KEY, "p2", copies)  # past the anti-replay look, as in the race
    _verify_only(cluster)
    cluster.run_servers()
    _close_and_publish(cluster)
    for server in "AB":
        result = _result(cluster, server)
        assert result["payload"] == expected
        assert (result["total"], result["valid"]) == (6, 3)
        assert result["rejected"] == {"INVALID_PROOF": 2, "REPLAYED": 1}
        accounting = _status(cluster, server)["accounting"]
        assert accounting == {"reports_in": 6, "counted": 3, "pending": 0,
                              "rejected": {"INVALID_PROOF": 2, "REPLAYED": 1}}


def test_every_message_delivered_twice_changes_nothing(cluster):
    expected = _write(cluster, "p1", ["valid", "non_binary", "valid", "valid"])
    cluster.run_servers(twice=True)
    _close_and_publish(cluster, twice=True)
    Agreement(cluster.contexts["aggregator-A"]).close(KEY)  # an admin clicking twice
    cluster.run_servers(twice=True)
    for server in "AB":
        assert _result(cluster, server)["payload"] == expected
        assert _status(cluster, server)["reports"]["verified"] == 4


def test_b_waits_for_partitions_it_does_not_hold_yet(cluster):
    _write(cluster, "p1", ["valid"] * 3)
    cluster.run_servers()
    # Remove B's aggregate: the proposal names a partition B has not summed yet.
    b_private = cluster.settings["B"].private_bucket
    saved = cluster.storage.read(b_private, layout.internal("aggregate", KEY, "p1"))
    cluster.storage.delete(b_private, layout.internal("aggregate", KEY, "p1"))
    Agreement(cluster.contexts["aggregator-A"]).close(KEY)
    with pytest.raises(errors.RetryLater):
        cluster.pump("aggregator-B", "prio-batch-close-aggregator")
    cluster.storage.create(b_private, layout.internal("aggregate", KEY, "p1"), saved)
    proposal = pb.BatchClose.FromString(cluster.storage.read(
        cluster.settings["A"].private_bucket, layout.batch_record(KEY, "close.pb")))
    Agreement(cluster.contexts["aggregator-B"]).on_message(proposal)
    cluster.run_servers()
    assert _result(cluster, "A")["valid"] == 3


def test_partitions_after_the_close_are_late_and_not_counted(cluster):
    expected = _write(cluster, "p1", ["valid"] * 3)
    cluster.run_servers()
    _close_and_publish(cluster)
    _write(cluster, "p2", ["valid"] * 2, start=20)
    cluster.run_servers()
    for server in "AB":
        assert _result(cluster, server)["payload"] == expected
        assert _status(cluster, server)["reports"]["late"] == 2


def test_the_schedule_closes_a_batch_date_once_its_grace_has_passed(tmp_path):
    cluster = Cluster(tmp_path, close_grace_seconds=3600)
    _write(cluster, "p1", ["valid", "valid"])
    cluster.run_servers()
    closer = Schedule(cluster.contexts["aggregator-A"])
    day_end = dt.datetime.fromisoformat(DATE).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    this = {"batch_id": BATCH, "submission_date": DATE}
    assert closer.close_due(day_end + dt.timedelta(minutes=59))["closed"] == []
    assert closer.close_due(day_end + dt.timedelta(minutes=60))["closed"] == [this]
    assert closer.close_due(day_end + dt.timedelta(days=2))["closed"] == []  # once
    cluster.run_servers()
    assert _result(cluster, "A")["valid"] == 2


def test_only_the_leader_closes(cluster):
    _write(cluster, "p1", ["valid"])
    cluster.run_servers()
    app = build_app(cluster.services["aggregator-B"], cluster.contexts["aggregator-B"],
                    run_background=False)
    with TestClient(app) as client:
        refused = client.post(f"/batches/{BATCH}/{DATE}/close", params={"force": "true"})
    assert refused.status_code == 409


def test_small_batches_are_refused_with_the_reason_recorded(tmp_path):
    cluster = Cluster(tmp_path, min_batch_size=5)
    _write(cluster, "p1", ["valid"] * 4)
    cluster.run_servers()
    _close_and_publish(cluster)
    for server in "AB":
        found = _status(cluster, server)
        assert not found["published"]
        assert found["publication"] == {
            "published": False, "reason": "4 valid reports, fewer than MIN_BATCH_SIZE=5"}


def test_labels_of_split_batches():
    config = {"origins-0": 3, "origins-1": 2}
    names = ["a", "b", "c", "d", "e"]
    assert labels.labelled([1, 2], "origins-1", config, names) == {"d": 1, "e": 2}
    assert labels.labelled([1, 2, 3], "origins-0", config, None) == {"0": 1, "1": 2, "2": 3}
    assert labels.offset("single", config) == 0
    with pytest.raises(ValueError):
        labels.labelled([1, 2, 3], "origins-1", config, names)


def test_every_core_reason_has_a_wire_reason():
    import libprio_ctypes as prio
    from services.protocol import outcome

    for reason in prio.Reason:
        assert outcome.name(outcome.from_core(reason)) == reason.name


def test_an_undecodable_message_raises_for_the_dead_letter_topic(cluster):
    from services.common.transport import Message

    handler = cluster.services["verifier-A"].handlers["prio-verify1-verifier"]
    with pytest.raises(Exception):  # noqa: B017 - protobuf's DecodeError, whatever its module
        handler(Message(b"\xff\xff not a protobuf", {}, "1", "prio-verify1-verifier"))
