"""A two-server deployment on the real Pub/Sub emulator and fake-gcs-server, for fault scenarios.

Every service is a subprocess (`prio-stream worker NAME`), so a fault can kill one (SIGKILL),
keep one down, or start one with FAULTS (test-only injection, services/common/faults.py).
Each scenario has its own projects and buckets. Every scenario ends with `reconcile`: exact
published counts, and on ingest and on both servers reports in = counted + rejected by reason.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import libprio_ctypes as prio
from benchmarks import stack
from services.common import provision as provisioning
from services.common import topology
from services.common.pubsub import PubSubTransport
from services.common.storage_gcs import GcsStorage
from services.ingest import pings
from services.protocol import layout

N_DATA = 8
BATCH = "faults-0"
# Recent: ingest takes only dates inside REPLAY_RETENTION_DAYS (older pings are refused).
DATE = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)).isoformat()
SERVER_SERVICES = ("verifier", "aggregator", "publisher")


class Deployment:
    def __init__(self, projects, unique_name, pubsub, gcs, start_service, max_attempts=5,
                 **settings):
        self.max_attempts = max_attempts
        self.start_service = start_service
        self.projects = {"A": projects.a, "B": projects.b, "ingest": projects.ingest}
        self.buckets = {f"{s}-{kind}": unique_name(f"prio-{s.lower()}-{kind}")
                        for s in "AB" for kind in ("inbox", "private")}
        self.buckets["ingest"] = unique_name("prio-ingest")
        self.storage = GcsStorage("test", gcs.host)
        self.transport = PubSubTransport(pubsub.host)
        self.admin = self.transport.admin
        self.keys = {s: prio.PrivateKey.generate() for s in "AB"}
        secret = base64.b64encode(prio.generate_shared_secret()).decode()
        common = {
            "TRANSPORT": "pubsub", "STORAGE": "gcs", "PRG_MODE": "hash",
            "PUBSUB_EMULATOR_HOST": pubsub.host, "STORAGE_EMULATOR_HOST": gcs.host,
            "DATA_CONFIG": json.dumps([{"batch_id": BATCH, "n_data": N_DATA},
                                       {"batch_id": "faults-redrive", "n_data": N_DATA},
                                       {"batch_id": "faults-small", "n_data": N_DATA}]),
            "INGEST_PROJECT_ID": projects.ingest, "MIN_BATCH_SIZE": "5",
            "PARTITION_MAX_REPORTS": "20", "PARTITION_MAX_AGE_SECONDS": "1",
            "RETRY_DELAY": "0.3", "RETRY_LIMIT": "3", "SWEEP_INTERVAL_SECONDS": "4",
            # DATE is in the past: without a long grace the schedule would close it at once.
            "CLOSE_GRACE_SECONDS": str(10 * 365 * 86400),
            **settings,
        }
        self.env = {"ingest": {
            **common, "PROJECT_ID": projects.a, "PEER_PROJECT_ID": projects.b,
            "INBOX_BUCKET": self.buckets["A-inbox"], "PEER_INBOX_BUCKET": self.buckets["B-inbox"],
            "INGEST_BUCKET": self.buckets["ingest"], "PUBSUB_MAX_MESSAGES": "40"}}
        for own, peer in (("A", "B"), ("B", "A")):
            self.env[own] = {
                **common, "SERVER_ID": own, "PROJECT_ID": self.projects[own],
                "PEER_PROJECT_ID": self.projects[peer],
                "INBOX_BUCKET": self.buckets[f"{own}-inbox"],
                "PRIVATE_BUCKET": self.buckets[f"{own}-private"],
                "PRIVATE_KEY_HEX": self.keys[own].to_hex(), "SHARED_SECRET": secret,
                "PUBLIC_KEY_HEX_INTERNAL": self.keys[own].public_key.to_hex(),
                "PUBLIC_KEY_HEX_EXTERNAL": self.keys[peer].public_key.to_hex()}
        self.services: dict = {}
        self.sums: Counter = Counter()
        self.provision()

    def provision(self) -> list[str]:
        """Topics, subscriptions (short backoffs and ack deadline for the tests) and buckets:
        what Terraform (or `prio-stream setup`) creates, through the same code. Idempotent;
        returns what it created."""
        return provisioning.provision(
            self.admin,
            provisioning.Deployment(self.projects["A"], self.projects["B"],
                                    self.projects["ingest"], tuple(self.buckets.values())),
            provisioning.SubscriptionPolicy(max_delivery_attempts=self.max_attempts,
                                            min_backoff=0.2, max_backoff=2.0, ack_deadline=20),
            self.storage)

    # --- processes

    def start(self, name: str, server: str | None = None, **env):
        side = server or "ingest"
        service = self.start_service(name, "worker", {**self.env[side], **env})
        self.services[(name, server)] = service
        return service

    def start_all(self, skip=()) -> None:
        for name, server in [("ingest", None), *((n, s) for s in "AB" for n in SERVER_SERVICES)]:
            if (name, server) not in skip:
                self.start(name, server)

    def get(self, name: str, server: str | None, path: str) -> dict:
        response = httpx.get(f"{self.services[(name, server)].url}{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def post(self, name: str, server: str | None, path: str, **kwargs) -> httpx.Response:
        return httpx.post(f"{self.services[(name, server)].url}{path}", timeout=60, **kwargs)

    def status(self, server: str | None, batch: str = BATCH, date: str = DATE) -> dict:
        name = "ingest" if server is None else "aggregator"
        return self.get(name, server, f"/batches/{batch}/{date}")

    def wait(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {k}\n{s.log()[-2500:]}" for k, s in self.services.items())
                pytest.fail(f"timed out waiting for {what}\n{self._statuses()}\n{logs}")
            time.sleep(0.3)

    def _statuses(self) -> str:
        found = []
        for server in (None, "A", "B"):
            try:
                found.append(f"status {server}: {self.status(server)}")
            except Exception as error:  # noqa: BLE001 - a diagnostic only
                found.append(f"status {server}: {error!r}")
        return "\n".join(found)

    # --- reports

    def encode(self, values, batch: str = BATCH) -> tuple[bytes, bytes]:
        config = prio.Config(N_DATA, batch, prio.PrgMode.HASH, self.keys["A"].public_key,
                             self.keys["B"].public_key)
        return prio.Client(config).encode(values)

    def ping(self, document_id: str, values, batch: str = BATCH, date: str = DATE,
             tamper: bool = False) -> bytes:
        a, b = self.encode(values, batch)
        if tamper:
            a = a[:-1] + bytes([a[-1] ^ 1])
        return json.dumps(pings.ping(document_id, [(batch, a, b)], f"{date}T10:00:00Z")).encode()

    def publish_pings(self, count: int, start: int = 0, batch: str = BATCH, date: str = DATE,
                      times: int = 1) -> list[bytes]:
        """count valid pings (values from their index); each published `times` times."""
        sent = []
        for i in range(start, start + count):
            values = [(i >> bit) & 1 for bit in range(N_DATA)]
            data = self.ping(f"doc-{i}", values, batch, date)
            if batch == BATCH and date == DATE:
                self.sums.update(dict(enumerate(values)))
            sent.append(data)
        self.publish_raw(sent * times)
        return sent

    def publish_raw(self, messages: list[bytes], topic: str = topology.PINGS,
                    project: str | None = None, date: str = DATE) -> None:
        publisher = self.transport.publisher
        path = publisher.topic_path(project or self.projects["ingest"], topic)
        stamp = {"submission_timestamp": f"{date}T10:00:00Z"}
        for future in [publisher.publish(path, data, **stamp) for data in messages]:
            future.result(timeout=60)

    # --- the end of every scenario

    def wait_ingested(self, reports_in: int, batch: str = BATCH, date: str = DATE,
                      timeout: float = 90) -> None:
        self.wait(lambda: self.status(None, batch, date)["reports_in"] == reports_in, timeout,
                  f"ingest to account for {reports_in} reports of {batch}")

    def wait_verified(self, batch: str = BATCH, date: str = DATE, timeout: float = 120) -> None:
        def done() -> bool:
            written = self.status(None, batch, date)["reports"]
            return all(
                (s := self.status(server, batch, date))["accounting"]["reports_in"] == written
                and s["accounting"]["pending"] == 0
                and s["partitions"]["aggregated"] == s["partitions"]["verified"]
                for server in "AB")
        self.wait(done, timeout, f"both servers to verify and aggregate {batch}")

    def close(self, batch: str = BATCH, date: str = DATE) -> dict:
        response = self.post("aggregator", "A", f"/batches/{batch}/{date}/close")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_state(self, state: str, batch: str = BATCH, date: str = DATE,
                   timeout: float = 90) -> None:
        self.wait(lambda: all(self.get("publisher", s, f"/batches/{batch}/{date}")["state"]
                              == state for s in "AB"), timeout, f"{batch} {state} on A and B")

    def reconcile(self, *, ingest_in: int, ingest_rejected: dict, counted: int,
                  rejected: dict, batch: str = BATCH, date: str = DATE,
                  published: bool = True) -> dict:
        """Exact counts on ingest and both servers; returns server A's status."""
        ingest = self.status(None, batch, date)
        assert ingest["rejected"] == ingest_rejected
        assert ingest["reports_in"] == ingest_in == ingest["reports"] + sum(
            ingest_rejected.values())
        statuses = {}
        for server in "AB":
            status = self.status(server, batch, date)
            accounting = status["accounting"]
            assert accounting == {"reports_in": ingest["reports"], "counted": counted,
                                  "rejected": rejected, "pending": 0}, (server, accounting)
            assert accounting["reports_in"] == counted + sum(rejected.values())
            statuses[server] = status
            if published:
                result = json.loads(self.storage.read(self.buckets[f"{server}-private"],
                                                      layout.result(layout.BatchKey(batch, date))))
                assert result["valid"] == counted
                if batch == BATCH:
                    assert result["payload"] == [self.sums[i] for i in range(N_DATA)]
        return statuses["A"]


class RestartablePubSub:
    """A Pub/Sub emulator of one test's own, as a local process on a fixed port, so that it can
    be killed and started again at the same address (PUBSUB_EMULATOR_HOST of every running
    service). The session's emulator serves the other tests and is never restarted. A restart
    starts empty: the emulator keeps topics, subscriptions and messages in memory only."""

    def __init__(self, log_dir: Path):
        binary = stack.pubsub_emulator_binary()
        if binary is None:  # tests/conftest.py's container path is not mirrored here
            pytest.fail("this scenario restarts the Pub/Sub emulator process: it needs the "
                        "cloud-pubsub-emulator binary (gcloud component or PUBSUB_EMULATOR_BIN)")
        self.binary, self.log_dir = binary, log_dir
        self.port = stack.free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.starts = 0
        self.process: stack.Process | None = None

    def start(self) -> None:
        self.starts += 1
        self.process = stack.start_process(
            "pubsub emulator", [str(self.binary), "--host=127.0.0.1", f"--port={self.port}"],
            {"JAVA_OPTS": stack.JAVA_OPTS}, self.log_dir / f"pubsub-emulator-{self.starts}.log")
        if not stack.wait_http(f"http://{self.host}/", lambda s, b: s == 200 and b.strip() == b"Ok",
                               60, lambda: self.process.popen.poll() is None):
            tail = self.process.log_tail()
            self.process.stop()
            pytest.fail(f"Pub/Sub emulator did not start on port {self.port}:\n{tail}")

    def kill(self) -> None:
        """SIGKILL to the whole process group (the wrapper script and its java): a crash."""
        os.killpg(self.process.popen.pid, signal.SIGKILL)
        self.process.popen.wait(30)
        self.process.popen.log_file.close()  # type: ignore[attr-defined]
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


@pytest.fixture
def restartable_pubsub(tmp_path, monkeypatch) -> Iterator[RestartablePubSub]:
    log_dir = tmp_path / "pubsub-own"
    log_dir.mkdir()
    emulator = RestartablePubSub(log_dir)
    emulator.start()
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator.host)
    yield emulator
    emulator.stop()


@pytest.fixture
def deployment(pubsub_emulator, gcs_emulator, unique_projects, unique_name, start_service):
    def make(max_attempts: int = 5, **settings) -> Deployment:
        return Deployment(unique_projects, unique_name, pubsub_emulator, gcs_emulator,
                          start_service, max_attempts, **settings)
    return make


def new_id() -> str:
    return uuid.uuid4().hex[:8]
