"""The Pub/Sub emulator restarted mid-run: topics, subscriptions and every unacked message are
gone. The workers stay up and re-open their subscriptions once they are provisioned again (as
Terraform would); what storage holds is resumed by the sweeps; the pings the broker lost are
published again by the upstream pipeline (at-least-once), and ingest drops the duplicates.

Each test has its own emulator process (RestartablePubSub): the session's is never restarted.
"""

from __future__ import annotations

import httpx
import pytest

from tests.faults.conftest import Deployment

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


def _heartbeat(service) -> int:
    return httpx.get(f"{service.url}/__heartbeat__", timeout=30).status_code


def _restart_broker(d: Deployment, pubsub) -> None:
    """Kill the emulator, start it again on the same port, wait until the running workers
    report their subscriptions broken (NOT_FOUND: the restarted emulator has none), then
    re-provision."""
    running = list(d.services.values())
    pubsub.kill()
    pubsub.start()
    # Each worker at some point: it re-opens with backoff, so a poll may meet a fresh attempt.
    broken: set[int] = set()

    def all_seen_broken() -> bool:
        broken.update(i for i, s in enumerate(running)
                      if i not in broken and _heartbeat(s) == 500)
        return len(broken) == len(running)

    d.wait(all_seen_broken, 90, "every worker to report its subscriptions broken")
    assert all(s.process.poll() is None for s in running)
    assert d.provision()  # everything is created again


def _survived(d: Deployment) -> None:
    for service in d.services.values():
        assert service.process.poll() is None, service.log()[-3000:]
        assert _heartbeat(service) == 200
    assert "subscription re-opened" in d.services[("verifier", "A")].log()


def test_restarted_during_verification(restartable_pubsub, gcs_emulator, unique_projects,
                                       unique_name, start_service):
    d = Deployment(unique_projects, unique_name, restartable_pubsub, gcs_emulator, start_service)
    # B's verifier starts after the restart: A's verify1 and B's notices wait in B's
    # subscriptions when the broker dies, so they are surely lost.
    d.start_all(skip={("verifier", "B")})
    first = d.publish_pings(30)
    d.wait(lambda: d.status(None)["reports"] >= 20 and d.status("A")["waiting_for_peer"] > 0,
           60, "a partition written and in verification on A")
    _restart_broker(d, restartable_pubsub)
    d.start("verifier", "B")
    d.publish_raw(first)  # the upstream pipeline delivers every ping again
    d.publish_pings(10, start=30)
    d.wait_ingested(40)
    d.wait_verified()
    d.close()
    d.wait_state("published")
    d.reconcile(ingest_in=40, ingest_rejected={}, counted=40, rejected={})
    _survived(d)


def test_restarted_after_the_close_before_publication(restartable_pubsub, gcs_emulator,
                                                      unique_projects, unique_name,
                                                      start_service):
    d = Deployment(unique_projects, unique_name, restartable_pubsub, gcs_emulator, start_service)
    # The publishers start after the restart: both total shares of both aggregators wait in
    # their subscriptions when the broker dies, so they are surely lost.
    d.start_all(skip={("publisher", "A"), ("publisher", "B")})
    d.publish_pings(12)
    d.wait_ingested(12)
    d.wait_verified()
    d.close()
    d.wait(lambda: all(d.status(s)["state"] == "aggregated" for s in "AB"), 90,
           "both total shares sent")
    _restart_broker(d, restartable_pubsub)
    for server in "AB":
        d.start("publisher", server)
    d.wait_state("published")
    d.reconcile(ingest_in=12, ingest_rejected={}, counted=12, rejected={})
    _survived(d)
