"""Instances killed with SIGKILL mid-partition, and server B down for a while."""

from __future__ import annotations

import signal

import pytest

pytestmark = [pytest.mark.emulator, pytest.mark.slow]


@pytest.mark.parametrize("service, server, fault", [
    # after its per-report state is stored, before verify1: nothing sent, nothing acked
    ("verifier", "A", "crash_after=intermediate/internal/state/"),
    # after its partition total is stored, before the ack
    ("aggregator", "B", "crash_after=intermediate/internal/aggregate/"),
])
def test_killed_mid_partition_then_restarted(deployment, service, server, fault):
    d = deployment()
    d.start_all(skip={(service, server)})
    victim = d.start(service, server, FAULTS=fault)
    d.publish_pings(25)
    d.wait(lambda: victim.process.poll() is not None, 60, f"{service} {server} to be killed")
    assert victim.process.returncode == -signal.SIGKILL
    d.start(service, server)  # restarted, without the fault
    d.wait_ingested(25)
    d.wait_verified()
    d.close()
    d.wait_state("published")
    d.reconcile(ingest_in=25, ingest_rejected={}, counted=25, rejected={})


def test_server_b_down_then_back_completes_without_operator(deployment):
    d = deployment()
    d.start_all(skip={("verifier", "B")})
    d.publish_pings(20)
    d.wait_ingested(20)
    # A has sent its verify1 and waits: shown as waiting in A's status.
    d.wait(lambda: d.status("A")["waiting_for_peer"] > 0 and
           d.status("A")["accounting"]["pending"] == 20, 60, "A waiting for B")
    assert d.status("A")["state"] == "open"
    d.start("verifier", "B")
    d.wait_verified()
    assert d.status("A")["waiting_for_peer"] == 0
    d.close()
    d.wait_state("published")
    d.reconcile(ingest_in=20, ingest_rejected={}, counted=20, rejected={})
