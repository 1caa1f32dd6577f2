"""A backfill: last week's pings replayed through the stack in waves, with the leader's
scheduled close running. The day is long past its grace from the first ping, so only the
quiet period (CLOSE_QUIET_SECONDS without a new partition) keeps the close from taking the
first wave alone and counting the rest LATE."""

from __future__ import annotations

import datetime as dt
import time

import pytest

import libprio_ctypes as prio
from services import loadgen
from services.common import topology
from services.common.pubsub import PubSubTransport
from services.common.storage_gcs import GcsStorage
from services.protocol.layout import BatchKey
from tests.services.test_e2e_emulators import (
    SERVER_SERVICES,
    Deployment,
    _get,
    _keys,
    published_results,
)

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

BATCH = "e2e-0"
OLD = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)).isoformat()  # due long ago
WAVES, PER_WAVE = 3, 20


def test_a_replay_of_old_pings_is_closed_only_when_it_is_over(
        pubsub_emulator, gcs_emulator, unique_projects, unique_name, start_service, tmp_path):
    deployment = Deployment(unique_projects, unique_name, tmp_path,
                            (pubsub_emulator, gcs_emulator))
    storage = GcsStorage("test", gcs_emulator.host)
    transport = PubSubTransport(pubsub_emulator.host)
    deployment.provision(transport.admin, storage, None)
    schedule = {"SWEEP_INTERVAL_SECONDS": "1", "CLOSE_QUIET_SECONDS": "10"}
    services = {(name, server): start_service(name, "worker", {**deployment.env[server],
                                                               **schedule})
                for server in "AB" for name in SERVER_SERVICES}
    services["ingest"] = start_service("ingest", "worker", deployment.env["ingest"])
    work = loadgen.generate(WAVES * PER_WAVE, {BATCH: 24}, _keys("a").public_key,
                            _keys("b").public_key, prio.PrgMode.HASH, OLD)
    for wave in range(WAVES):  # a replay that takes a while: waves 3 s apart
        transport.publish_many(deployment.projects["ingest"], topology.PINGS,
                               work.pings[wave * PER_WAVE:(wave + 1) * PER_WAVE])
        time.sleep(3)
    key = BatchKey(BATCH, OLD)
    results = published_results(deployment, services, storage, key,
                                "publication by the schedule")
    for server, result in results.items():
        assert result["payload"] == work.sums[BATCH]
        assert result["valid"] == work.valid[BATCH]
        status = _get(services[("aggregator", server)], f"/batches/{BATCH}/{OLD}")
        assert status["reports"]["late"] == 0
        assert status["last_arrival"] is not None
