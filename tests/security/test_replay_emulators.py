"""Re-labelled copies of one client's ping through the emulator stack: published to the ping
topic under fresh document ids (on the ping's date and on another day), pushed to an ingest's
push endpoint, and imported as staged share files under fresh report ids. Both servers (push
subscriptions, real subprocesses, the real Pub/Sub emulator and fake-gcs-server) count them
0 times."""

from __future__ import annotations

import base64
import concurrent.futures
import datetime as dt
import json
import uuid

import httpx
import pytest

import libprio_ctypes as prio
from services import loadgen
from services.common import topology
from services.common.pubsub import PubSubTransport
from services.common.storage_gcs import GcsStorage
from services.protocol import shares
from services.protocol.layout import BatchKey
from tests.services.test_e2e_emulators import (
    DATE,
    SERVER_SERVICES,
    Deployment,
    _get,
    _keys,
    _wait,
    published_results,
)

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

BATCH = "e2e-0"
YESTERDAY = (dt.date.fromisoformat(DATE) - dt.timedelta(days=1)).isoformat()
GENUINE = 40
COPIES = 50  # of each kind: topic same day, topic another day, push to ingest, staged import


def _copy(ping: bytes, date: str) -> bytes:
    body = json.loads(ping)
    body["id"] = str(uuid.uuid4())
    body["submission_timestamp"] = f"{date}T08:00:00Z"
    return json.dumps(body).encode()


def test_relabelled_copies_count_zero_times_through_the_stack(
        pubsub_emulator, gcs_emulator, unique_projects, unique_name, start_service, tmp_path):
    deployment = Deployment(unique_projects, unique_name, tmp_path,
                            (pubsub_emulator, gcs_emulator))
    storage = GcsStorage("test", gcs_emulator.host)
    transport = PubSubTransport(pubsub_emulator.host)
    services: dict = {}
    for server in "AB":
        for name in SERVER_SERVICES:
            services[(name, server)] = start_service(name, "serve", deployment.env[server])
    urls = {(s, n): services[(n, s)].url for s in "AB" for n in SERVER_SERVICES}
    deployment.provision(transport.admin, storage, urls)
    services["ingest"] = start_service("ingest", "worker", deployment.env["ingest"])
    every = list(services.values())
    work = loadgen.generate(GENUINE, {BATCH: 24}, _keys("a").public_key,
                            _keys("b").public_key, prio.PrgMode.HASH, DATE)
    ingest_project = deployment.projects["ingest"]
    today, yesterday = BatchKey(BATCH, DATE), BatchKey(BATCH, YESTERDAY)

    def reports(server: str, key: BatchKey) -> dict:
        return _get(services[("aggregator", server)],
                    f"/batches/{key.batch_id}/{key.submission_date}")["reports"]

    def verified(key: BatchKey, count: int) -> bool:
        url = f"/batches/{key.batch_id}/{key.submission_date}"
        found = [httpx.get(f"{services[('aggregator', s)].url}{url}", timeout=30) for s in "AB"]
        # 404 until the first partition of the batch is stored.
        return all(r.status_code == 200 and r.json()["reports"]["verified"] == count
                   for r in found)

    # The genuine pings first, verified on both servers: then the original is the first copy.
    transport.publish_many(ingest_project, topology.PINGS, work.pings)
    _wait(lambda: verified(today, GENUINE), 120, "the genuine pings", every)

    victim = json.loads(work.pings[0])
    topic_copies = [_copy(work.pings[0], DATE) for _ in range(COPIES)]
    other_day = [_copy(work.pings[0], YESTERDAY) for _ in range(COPIES)]
    transport.publish_many(ingest_project, topology.PINGS, topic_copies + other_day)
    entry = victim["payload"]["prioData"][0]["prio"]
    staged = {s: shares.encode(shares.ShareLine(f"copy-{i}", entry[s]) for i in range(COPIES))
              for s in "ab"}
    for server, data in staged.items():
        storage.create(deployment.staging, f"copies_{server}.ndjson", data)
    # And straight to an ingest behind push (Cloud Run's mode), as whoever may call it would.
    pushed_to = start_service("ingest", "serve", deployment.env["ingest"])

    def push(number: int) -> httpx.Response:  # answered once the partition is written
        body = {"message": {"data": base64.b64encode(_copy(work.pings[0], DATE)).decode(),
                            "messageId": f"pushed-{number}", "attributes": {}},
                "subscription": "prio-pings-ingest"}
        return httpx.post(f"{pushed_to.url}/push/prio-pings-ingest", json=body, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for pushed in pool.map(push, range(COPIES)):
            assert pushed.status_code in (200, 204), pushed.text
    imported = httpx.post(
        f"{services['ingest'].url}/batches/{BATCH}/{DATE}/import",
        json={"bucket": deployment.staging, "server_a_object": "copies_a.ndjson",
              "server_b_object": "copies_b.ndjson"}, timeout=60)
    assert imported.status_code == 200, imported.text
    _wait(lambda: verified(today, GENUINE + 3 * COPIES) and verified(yesterday, COPIES), 180,
          "the copies", [*every, pushed_to])

    closed = httpx.post(f"{services[('aggregator', 'A')].url}/batches/{BATCH}/{DATE}/close",
                        params={"force": "true"}, timeout=60)
    assert closed.status_code == 200, closed.text
    results = published_results(deployment, services, storage, today, "publication")
    for server, result in results.items():
        assert result["payload"] == work.sums[BATCH]
        assert result["valid"] == work.valid[BATCH]
        assert result["rejected"] == {**work.rejected[BATCH], "REPLAYED": 3 * COPIES}
        assert reports(server, yesterday)["valid"] == 0
        assert reports(server, yesterday)["rejected"] == {"REPLAYED": COPIES}
