"""Embedded mode: both servers' services and ingest in one process, on the in-process transport
and a local-directory store. The same service code as in the cloud, only the adapters differ."""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
import time
from pathlib import Path
from secrets import token_bytes
from typing import Protocol

import libprio_ctypes as prio
from services import loadgen
from services.common import faults, topology
from services.common.config import Settings, load_settings
from services.common.inprocess import InProcessTransport
from services.common.provision import Deployment, SubscriptionPolicy, provision
from services.common.runtime import (
    BackgroundTasks,
    Dispatcher,
    ServiceContext,
    ServiceDefinition,
    load_definition,
)
from services.common.storage_local import LocalStorage
from services.common.telemetry import Telemetry
from services.common.transport import when_settled
from services.protocol import layout, releases, status
from services.protocol.layout import BatchKey
from services.registry import SERVICES

SERVER_SERVICES = ("verifier", "aggregator", "publisher")


@dataclasses.dataclass
class Secrets:
    key_a: prio.PrivateKey  # each server's current key
    key_b: prio.PrivateKey
    shared_secret: bytes
    # Keys still decrypting what clients encrypted to them (a rotation): the rest of the ring.
    previous_a: tuple[prio.PrivateKey, ...] = ()
    previous_b: tuple[prio.PrivateKey, ...] = ()
    # Each publisher's release signing key (Ed25519 seed), new for every run: the run keeps a
    # release log in each private bucket, as a deployment does.
    release_a: bytes = dataclasses.field(default_factory=lambda: token_bytes(32))
    release_b: bytes = dataclasses.field(default_factory=lambda: token_bytes(32))

    @classmethod
    def generate(cls) -> Secrets:
        return cls(prio.PrivateKey.generate(), prio.PrivateKey.generate(),
                   prio.generate_shared_secret())


class EmbeddedSystem:
    """Ingest + server A + server B (verifier, aggregator, publisher each)."""

    def __init__(self, root: Path, secrets: Secrets, **settings):
        self.root = root
        self.transport = InProcessTransport()
        # The run closes each batch itself once every report is verified; the schedule, meant
        # for a deployment that runs for days, would race it on past dates.
        common = {"transport": "inprocess", "storage": "local", "local_storage_dir": root,
                  "retry_delay": 0.2, "scheduled_close": False, **settings}
        shared = base64.b64encode(secrets.shared_secret).decode()
        own = {"A": (secrets.key_a, secrets.previous_a, secrets.key_b),
               "B": (secrets.key_b, secrets.previous_b, secrets.key_a)}
        signing = {"A": (secrets.release_a, secrets.release_b),
                   "B": (secrets.release_b, secrets.release_a)}
        self.settings = {"ingest": load_settings("ingest", **common)}
        for server, (key, previous, peer) in own.items():
            self.settings[server] = load_settings(
                "verifier", **common, server_id=server, private_key_hex=key.to_hex(),
                previous_private_keys_hex=",".join(k.to_hex() for k in previous) or None,
                shared_secret=shared, public_key_hex_internal=key.public_key.to_hex(),
                public_key_hex_external=peer.public_key.to_hex(),
                release_signing_key_hex=signing[server][0].hex(),
                release_public_key_hex_external=releases.public_key(signing[server][1]).hex())
        # FAULTS (TEST ONLY) crash a run at a chosen write, as the services' fault tests do.
        self.storage = faults.wrap_storage(LocalStorage(root), self.settings["ingest"].faults)
        self.definitions: dict[str, ServiceDefinition] = {}
        self.contexts: dict[str, ServiceContext] = {}
        self._subscriptions, self._background = [], []
        self.pings_handled = 0
        self._handled_lock = threading.Lock()

    def start(self) -> EmbeddedSystem:
        provision(self.transport, Deployment(),
                  SubscriptionPolicy(min_backoff=0.2, max_backoff=5.0, ack_deadline=600.0),
                  self.storage)
        self._start("ingest", "ingest")
        for server in ("A", "B"):
            for name in SERVER_SERVICES:
                self._start(f"{name}-{server.lower()}", name, server)
        return self

    def _start(self, label: str, name: str, server: str = "ingest") -> None:
        settings: Settings = self.settings[server]
        ctx = ServiceContext(settings, self.storage, self.transport,
                             self.telemetry(label, settings))
        definition = load_definition(name, ctx, SERVICES)
        self.definitions[label], self.contexts[label] = definition, ctx
        dispatch = Dispatcher(definition, ctx)
        # Ingest holds each ping (unacked) until its partition is written: its window must
        # hold a partition's worth of deliveries.
        window = settings.partition_max_reports if name == "ingest" else None
        if name == "ingest":
            dispatch = self._counting(dispatch)
        for subscription in definition.handlers:
            project = topology.subscription_project(subscription, settings)
            self._subscriptions.append(self.transport.subscribe(
                project, subscription, dispatch, max_outstanding=window))
        background = BackgroundTasks(definition)
        background.start()
        self._background.append(background)

    def telemetry(self, label: str, settings: Settings) -> Telemetry:
        """Each service's own (OTEL_EXPORTER); tests override it with in-memory exporters."""
        return Telemetry.from_exporter(settings.otel_exporter, label)

    def _counting(self, dispatch):
        def count() -> None:
            with self._handled_lock:
                self.pings_handled += 1

        def handle(message):
            outcome = dispatch(message)
            when_settled(outcome, count, lambda: None)  # counted once acked
            return outcome
        return handle

    def stop(self) -> None:
        for subscription in self._subscriptions:
            subscription.stop()
        for background in self._background:
            background.stop()
        for ctx in self.contexts.values():
            ctx.telemetry.shutdown()  # exports what the batch processors still hold

    # --- inputs

    def send_pings(self, messages: list[bytes]) -> None:
        loadgen.publish_all(self.transport, self.settings["ingest"].ingest_project_id,
                            messages, rate=None)

    def resume(self) -> int:
        """Notifies again every partition a killed run wrote (manifest stored) that is not
        verified on both servers yet: a notice may never have been stored or published. The
        verifiers absorb a notice they already took. Returns how many partitions."""
        ingest = self.settings["ingest"]
        notify_again = self.definitions["ingest"].actions["notify_again"]
        resumed = 0
        for key in layout.ingest_batches_under(self.storage.list(ingest.ingest_bucket,
                                                                 layout.INGEST_SHARDS)):
            names = self.storage.list(ingest.ingest_bucket, layout.ingest_manifest_prefix(key))
            for pid in layout.partition_ids(names):
                if not all(self.storage.exists(self.settings[s].private_bucket,
                                               layout.internal("verified", key, pid))
                           for s in "AB"):
                    notify_again(key, pid)
                    resumed += 1
        return resumed

    def import_staged(self, key: BatchKey, data_a: bytes, data_b: bytes) -> dict:
        """What `POST /batches/{batch_id}/{date}/import` on ingest does with the files."""
        return self.definitions["ingest"].actions["import"](key, data_a, data_b)

    # --- progress

    def ingested(self, key: BatchKey) -> dict:
        return self.definitions["ingest"].actions["status"](key)

    def status(self, server: str, key: BatchKey) -> dict:
        return status.batch_status(self.storage, self.settings[server], key)

    def noticed(self, server: str, key: BatchKey) -> int:
        """Partitions ingest completed for this server (their notice stored)."""
        return len(self.storage.list(self.settings[server].inbox_bucket,
                                     layout.notice_prefix(key)))

    def batches(self) -> list[BatchKey]:
        return status.batches(self.storage, self.settings["A"])

    def close(self, key: BatchKey) -> dict:
        """What `POST /batches/{batch_id}/{date}/close` on server A's aggregator does."""
        return self.definitions["aggregator-a"].actions["close"](key)

    def result(self, server: str, key: BatchKey) -> dict | None:
        data = self.storage.read_or_none(self.settings[server].private_bucket, layout.result(key))
        return None if data is None else json.loads(data)


class TimedOut(RuntimeError):
    """A stage of the run took longer than its timeout."""


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimedOut(f"timed out waiting for {what}")
        time.sleep(0.2)


class Progress(Protocol):
    def show(self, what: str, done: int, total: int) -> None: ...
    def done(self) -> None: ...


class _Quiet:
    def show(self, what: str, done: int, total: int) -> None:
        pass

    def done(self) -> None:
        pass


def run(system: EmbeddedSystem, keys: list[BatchKey] | None, pings_sent: int, timeout: float,
        progress: Progress | None = None) -> dict[BatchKey, dict]:
    """Waits until every sent ping is durable and every report verified on both servers,
    closes each batch, waits for both publishers; returns status and result per batch.
    keys: the batches to close (None: every batch the pings filled)."""
    bar = progress or _Quiet()

    def ingested() -> bool:  # shown before the check, so the last frame is the full one
        bar.show("ingested", system.pings_handled, pings_sent)
        return system.pings_handled >= pings_sent

    wait_until(ingested, timeout, "ingest")
    keys = keys or system.batches()

    def verified() -> bool:
        written = sum(system.ingested(key)["reports"] for key in keys)
        found = {(s, key): system.status(s, key) for s in "AB" for key in keys}
        done = sum(f["reports"]["verified"] for f in found.values()) // 2
        bar.show("verified", done, written)
        # Partitions with a notice, not share files: a killed run may leave a share file
        # without one, which no verifier ever takes (its reports come again in another).
        return all(f["partitions"]["aggregated"] == system.noticed(s, key)
                   for (s, key), f in found.items()) and done == written

    wait_until(verified, timeout, "verification")
    bar.done()
    for key in keys:
        system.close(key)
    wait_until(lambda: all(system.status(s, k)["publication"] is not None
                           for s in "AB" for k in keys), timeout, "publication")
    return {key: {"status": {s: system.status(s, key) for s in "AB"},
                  "ingest": system.ingested(key),
                  "result": {s: system.result(s, key) for s in "AB"}} for key in keys}
