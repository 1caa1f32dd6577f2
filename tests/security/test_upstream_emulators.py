"""The upstream's messages through the emulator stack: `prio-stream loadgen --pings FILE.gz --gzip`
publishes a file of pings gzip-compressed with the ingestion attributes, next to a gzip bomb and
a message of another document type, and ingest (a streaming-pull subprocess on the real Pub/Sub
emulator and fake-gcs-server) writes every ping's report, counts the bomb once as TOO_LARGE and
leaves the other document uncounted."""

from __future__ import annotations

import gzip
import subprocess
import sys

import pytest

import libprio_ctypes as prio
from services import loadgen
from services.common import topology
from services.common.pubsub import PubSubTransport
from services.common.storage_gcs import GcsStorage
from tests.services.test_e2e_emulators import DATE, Deployment, _get, _keys, _wait

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

BATCH = "e2e-0"
PINGS = 30


def test_gzip_pings_with_the_ingestion_attributes_through_the_stack(
        pubsub_emulator, gcs_emulator, unique_projects, unique_name, start_service, tmp_path):
    deployment = Deployment(unique_projects, unique_name, tmp_path,
                            (pubsub_emulator, gcs_emulator))
    transport = PubSubTransport(pubsub_emulator.host)
    deployment.provision(transport.admin, GcsStorage("test", gcs_emulator.host), None)
    ingest = start_service("ingest", "worker", deployment.env["ingest"])
    work = loadgen.generate(PINGS + 1, {BATCH: 24}, _keys("a").public_key, _keys("b").public_key,
                            prio.PrgMode.HASH, DATE, loadgen.Mix(0.0, 0.0, 0))
    project = deployment.projects["ingest"]
    # A valid prio ping labelled as another document type: counted, it would be one report more.
    transport.publish(project, topology.PINGS, gzip.compress(work.pings[-1]),
                      {"document_namespace": "telemetry", "document_type": "main"})
    transport.publish(project, topology.PINGS, gzip.compress(b"[" + b" " * (64 << 20) + b"]"),
                      {"document_type": "prio", "submission_timestamp": f"{DATE}T01:00:00Z"})
    path = tmp_path / "pings.ndjson.gz"
    path.write_bytes(gzip.compress(b"\n".join(work.pings[:PINGS]) + b"\n"))
    published = subprocess.run(
        [sys.executable, "-m", "services.main", "loadgen", "--pings", str(path), "--gzip"],
        env={**deployment.process_env, **deployment.env["ingest"]},
        capture_output=True, text=True, timeout=120, check=False)
    assert published.returncode == 0, published.stderr[-2000:]

    def status() -> dict:
        return _get(ingest, f"/batches/{BATCH}/{DATE}")

    _wait(lambda: status()["reports"] >= PINGS and status()["rejected"], 120,
          "the pings and the bomb", [ingest])
    found = status()
    assert (found["reports"], found["duplicates"], found["rejected"]) == (
        PINGS, 0, {"TOO_LARGE": 1})
