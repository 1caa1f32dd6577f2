"""At-least-once delivery: every message twice, transient storage errors on writes."""

from __future__ import annotations

import pytest

from tests.faults.conftest import DATE

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


def test_every_message_delivered_twice_counts_each_report_once(deployment):
    # Each ping published twice (two message ids), and every delivery handled twice at once.
    d = deployment(FAULTS="duplicate_delivery", SWEEP_INTERVAL_SECONDS="3600")
    # A's aggregator is due to close at once (no grace), but only the call below closes (the
    # worker's own schedule waits an hour). Not a restart with another grace: the emulator
    # keeps a stopped stream alive, and it took B's acceptance away from the new process
    # again and again (ENVIRONMENT.md, trap 2). The grace itself: test_servers.py.
    d.start_all(skip={("aggregator", "A")})
    d.start("aggregator", "A", CLOSE_GRACE_SECONDS="0", CLOSE_QUIET_SECONDS="0")
    d.publish_pings(30, times=2)
    d.wait_ingested(30)
    d.wait_verified()
    # The scheduled close (Cloud Scheduler's call): idempotent.
    due = d.post("aggregator", "A", "/batches/close-due").json()
    assert due["closed"] == [{"batch_id": "faults-0", "submission_date": DATE}]
    assert d.post("aggregator", "A", "/batches/close-due").json()["closed"] == []
    assert d.post("aggregator", "B", "/batches/close-due").status_code == 409
    d.wait_state("published", timeout=180)
    status = d.reconcile(ingest_in=30, ingest_rejected={}, counted=30, rejected={})
    assert status["state"] == "published"
    assert d.status(None)["duplicates"] >= 30  # each report's second copy, dropped


def test_transient_storage_errors_on_writes_lose_and_double_count_nothing(deployment):
    # 10 attempts: a message failing 5 times in a row on purpose would be dead-lettered.
    d = deployment(max_attempts=10, FAULTS="storage_error=0.15,seed=7")
    d.start_all()
    sent = d.publish_pings(30)
    d.publish_raw([d.ping("bad-0", [1] * 8, tamper=True), b"{not json"])
    d.wait_ingested(32)
    d.wait_verified()
    d.close()
    d.wait_state("published")
    d.reconcile(ingest_in=32, ingest_rejected={"NOT_JSON": 1}, counted=30,
                rejected={"DECRYPT_FAILED": 1})
    assert len(sent) == 30
