"""The push endpoint over real HTTP: a body too large for a ping is read through, never held
whole, and counted as one TOO_LARGE rejection (acked: no redelivery, no dead letter)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from services.common.runtime import ServiceDefinition, build_app
from services.ingest import status as ingest_status
from services.protocol.layout import BatchKey
from tests.conftest import free_port
from tests.services.harness import BATCH, DATE, N_DATA, Cluster

TODAY = dt.datetime.now(dt.UTC).date().isoformat()
PUSH = "/push/prio-pings-ingest"


@pytest.fixture
def ingest_url(tmp_path):
    cluster = Cluster(tmp_path, push_auth="none")
    app = build_app(cluster.services["ingest"], cluster.contexts["ingest"])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                          log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", cluster
    server.should_exit = True
    thread.join(30)


def _envelope(data: bytes, message_id: str) -> bytes:
    return json.dumps({"message": {"data": base64.b64encode(data).decode(),
                                   "messageId": message_id, "attributes": {}},
                       "subscription": "projects/prio-ingest/subscriptions/prio-pings-ingest"}
                      ).encode()


def _rejected(cluster: Cluster, date: str) -> dict:
    return ingest_status.batch_status(cluster.storage, cluster.settings["ingest"],
                                      BatchKey(BATCH, date))["rejected"]


def _peak_rss_growth(action) -> int:
    """Bytes the process's peak RSS rose by while action ran (Linux: the peak is reset first)."""
    def kib(field: str) -> int:
        return int(re.search(rf"{field}:\s+(\d+)", open("/proc/self/status").read()).group(1))

    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    before = kib("VmRSS")
    action()
    return (kib("VmHWM") - before) * 1024


def test_an_oversized_push_body_is_counted_once_and_never_held(ingest_url):
    url, cluster = ingest_url
    ping = cluster.ping("doc-1", [1] * N_DATA)
    big = json.dumps({"id": "big", "submission_timestamp": f"{DATE}T10:00:00Z",
                      "padding": "x" * (3 << 20)}).encode()
    with httpx.Client(timeout=120) as client:
        assert client.post(url + PUSH, content=_envelope(ping, "m-1")).status_code == 204
        assert client.post(url + PUSH, content=_envelope(big, "m-2")).status_code == 204

        def huge() -> None:
            def body():
                yield b'{"message": {"messageId": "m-3", "data": "'
                for _ in range(89):
                    yield b"A" * (1 << 20)
                yield b'"}}'
            assert client.post(url + PUSH, content=body()).status_code == 204

        grew = _peak_rss_growth(huge)
    # The 89 MB body is read through in chunks: the process never held it.
    assert grew < 32 << 20, f"peak RSS rose by {grew >> 20} MiB"
    # Oversized bodies are counted on the day received (their stamp is never read).
    assert _rejected(cluster, TODAY) == {"TOO_LARGE": 2}
    found = ingest_status.batch_status(cluster.storage, cluster.settings["ingest"],
                                       BatchKey(BATCH, DATE))
    assert (found["reports"], found["rejected"]) == (1, {})


def test_a_body_larger_than_any_pubsub_message_is_refused_elsewhere(tmp_path):
    """A subscription without its own cap takes what Pub/Sub can push (a 10 MB message)."""
    cluster = Cluster(tmp_path, push_auth="none")
    handled = []
    definition = ServiceDefinition("verifier", {"prio-partitions-verifier": handled.append})
    with TestClient(build_app(definition, cluster.contexts["ingest"],
                              run_background=False)) as client:
        response = client.post("/push/prio-partitions-verifier", content=b"x" * (15 << 20))
    assert (response.status_code, handled) == (413, [])
