"""Embedded mode: both servers' services and ingest in one process, on the in-process transport
and a local-directory store. The same service code as in the cloud, only the adapters differ."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from secrets import token_bytes

import click

import libprio_ctypes as prio
from services import embedded_options as options
from services import embedded_summary as summary
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


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise click.ClickException(f"timed out waiting for {what}")
        time.sleep(0.2)


def run(system: EmbeddedSystem, keys: list[BatchKey] | None, pings_sent: int, timeout: float,
        progress: bool) -> dict[BatchKey, dict]:
    """Waits until every sent ping is durable and every report verified on both servers,
    closes each batch, waits for both publishers; returns status and result per batch.
    keys: the batches to close (None: every batch the pings filled)."""
    bar = _ProgressBar(enabled=progress)

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


class _ProgressBar:
    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.shown = None

    def show(self, what: str, done: int, total: int) -> None:
        if self.enabled and total and self.shown != (what, done, total):
            self.shown = (what, done, total)
            filled = int(30 * min(done, total) / total)
            sys.stderr.write(f"\r{what:>9} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


# --- the command

DEMO_DATA_CONFIG = {"demo-0": 64, "demo-1": 36}  # one measurement over two batches (labels 0..99)


KEY_SET_RECORD = "key-set.json"


def key_set(secrets: Secrets) -> dict:
    """What tells one key set from another, with no secret in it: both public keys and a
    digest of the shared secret (16 random bytes: the digest cannot be reversed)."""
    digest = hashlib.sha256(b"prio-stream/v1/embedded-key-set\x00" + secrets.shared_secret)
    return {"public_key_a": secrets.key_a.public_key.to_hex(),
            "public_key_b": secrets.key_b.public_key.to_hex(),
            "shared_secret_sha256": digest.hexdigest()}


def claim_output(root: Path, secrets: Secrets) -> None:
    """Records the key set in a new --output, or checks it against the one recorded: data of
    another key set would be loaded with these keys (DECRYPT_FAILED everywhere) and published
    for good. Nothing is written when refused."""
    record, mine = root / KEY_SET_RECORD, key_set(secrets)
    if record.is_file():
        try:
            recorded = json.loads(record.read_text())
        except (OSError, ValueError):
            recorded = None  # unreadable: no proof it is this key set
        if recorded != mine:
            raise click.BadParameter(
                f"{root} holds data of another key set: give the keys and shared secret it was "
                "written with (--private-key-a, --private-key-b, --shared-secret), or an empty "
                "--output", param_hint="'--output'")
        return
    if root.is_dir() and any(root.iterdir()):
        raise click.BadParameter(f"{root} is not empty and holds no {KEY_SET_RECORD}: give an "
                                 "empty or new folder", param_hint="'--output'")
    root.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(mine, indent=2) + "\n")


@click.command("embedded")
@click.version_option(package_name="prio-stream", prog_name="prio-stream",
                      message="%(prog)s %(version)s")
@click.option("--reports", "count", type=click.IntRange(min=1), default=3000, show_default=True,
              help="Demo pings to generate (without --pings or --staged-a).")
@click.option("--private-key-a", callback=options.private_keys, multiple=True,
              help="Server A's private key: 64 hex, or a keygen JSON file. Repeat it for a "
                   "keyring: the first is current, the others previous keys whose reports "
                   "still decrypt (key rotation).",
              show_default="generated")
@click.option("--private-key-b", callback=options.private_keys, multiple=True,
              help="Server B's private key(s), as --private-key-a.",
              show_default="generated")
@click.option("--shared-secret", callback=options.shared_secret,
              help="base64 of 16 bytes, or a shared-seed JSON file.",
              default=None, show_default="generated")
@click.option("--prg-mode", type=click.Choice(["hash", "raw"]), default="raw", show_default=True,
              help="PRG key mode of clients and both servers: raw (Firefox, libprio <= 1.6) or hash.")
@click.option("--data-config", callback=options.data_config,
              help='JSON list [{"batch_id", "n_data"}] or a file holding one.',
              default=None, show_default=", ".join(
                  f"{b} (n_data {n})" for b, n in DEMO_DATA_CONFIG.items()))
@click.option("--pings", type=click.Path(exists=True, dir_okay=False),
              help="NDJSON file of Firefox prio pings, optionally gzip-compressed "
                   "(docs/pings.md).")
@click.option("--staged-a", type=click.Path(exists=True, dir_okay=False),
              help="Staged share file of server A (seed layout); with --staged-b, --batch-id.")
@click.option("--staged-b", type=click.Path(exists=True, dir_okay=False),
              help="Staged share file of server B.")
@click.option("--batch-id", help="Batch id of the staged share files (one of --data-config).")
@click.option("--date", callback=options.date, default=None, show_default="today (UTC)",
              help="Submission date YYYY-MM-DD.")
@click.option("--output", type=click.Path(file_okay=False), callback=options.output,
              default=None, show_default="a temporary folder, removed at exit",
              help="Store root (buckets as folders; results under prio-{a,b}-private/processed/); "
                   "a later run on it resumes, with the same keys only.")
@click.option("--min-batch-size", type=click.IntRange(min=1), default=None,
              show_default="MIN_BATCH_SIZE (100); 1 for the demo",
              help="Smallest publishable batch, in valid reports.")
@click.option("--partition-max-reports", type=click.IntRange(min=1), default=250,
              show_default=True, help="Reports per partition at most.")
@click.option("--expect", "expected", callback=options.expect, default=None,
              help="JSON {batch_id: [counts]} the results must equal (demo mode: the plaintext sums).")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=600.0,
              show_default=True, help="Seconds each stage may take.")
@click.option("--json", "as_json", is_flag=True, help="Print batch status and results as JSON.")
def command(count, private_key_a, private_key_b, shared_secret, prg_mode, data_config, pings,
            staged_a, staged_b, batch_id, date, output, min_batch_size, partition_max_reports,
            expected, timeout, as_json) -> None:
    """Both Prio servers and ingest in one process: no cloud, no emulator.

    With no options: generates keys, a shared secret and demo reports (some invalid on
    purpose), streams them through, and checks the published counts against the plaintext.
    Exits 1 when a batch is not published as expected, saying why."""
    config = data_config or DEMO_DATA_CONFIG
    inputs = _inputs(pings, staged_a, staged_b, batch_id, date, config)
    generated = Secrets.generate()
    ring_a, ring_b = private_key_a or (generated.key_a,), private_key_b or (generated.key_b,)
    secrets = Secrets(ring_a[0], ring_b[0], shared_secret or generated.shared_secret,
                      ring_a[1:], ring_b[1:])
    settings = {"prg_mode": prg_mode, "data_config": config,
                "partition_max_reports": partition_max_reports,
                "partition_max_age_seconds": 5.0}
    if min_batch_size is None and inputs is None:
        min_batch_size = 1  # the demo's reports are made up: any count may be published
    if min_batch_size is not None:
        settings["min_batch_size"] = min_batch_size
    with tempfile.TemporaryDirectory(prefix="prio-embedded-") as scratch:
        root = output or Path(scratch)
        claim_output(root, secrets)
        system = EmbeddedSystem(root, secrets, **settings).start()
        system.resume()
        try:
            keys, sent, demo = _feed(system, secrets, count, inputs, date)
            if demo is not None and expected is None:
                expected = demo.sums
            outcome = run(system, keys, sent, timeout,
                          progress=not as_json and sys.stderr.isatty())
        finally:
            system.stop()
    sys.exit(_report(outcome, expected, demo.rejected if demo else None, as_json))


def _inputs(pings_file, staged_a, staged_b, batch_id, date, config) -> tuple | None:
    """The pings or staged files to send, checked; None for the demo workload."""
    if staged_a or staged_b or batch_id:
        data_a, data_b = options.staged(staged_a, staged_b, batch_id, config)
        return "staged", BatchKey(batch_id, date), data_a, data_b
    if pings_file:
        return "pings", loadgen.read_pings(pings_file)
    return None


def _feed(system: EmbeddedSystem, secrets: Secrets, count, inputs, date):
    """Sends the inputs; returns the batches they fill, pings sent, the demo workload if any."""
    if inputs is not None and inputs[0] == "staged":
        _, key, data_a, data_b = inputs
        system.import_staged(key, data_a, data_b)
        return [key], 0, None
    if inputs is not None:
        messages, demo = inputs[1], None
    else:
        demo = loadgen.generate(count, system.settings["ingest"].data_config,
                                secrets.key_a.public_key, secrets.key_b.public_key,
                                prio.PrgMode(system.settings["A"].prg_mode), date)
        messages = demo.pings
    system.send_pings(messages)
    return None, len(messages), demo


def _report(outcome: dict[BatchKey, dict], expected: dict | None, rejected: dict | None,
            as_json: bool) -> int:
    failures = summary.failures(outcome, expected, rejected)
    if as_json:
        click.echo(json.dumps({"batches": [
            {**k.attributes(), **v,
             "likely_cause": summary.likely_cause(v["status"]["A"]["reports"])}
            for k, v in outcome.items()], "ok": not failures, "failures": failures}, indent=2))
    else:
        for line in summary.human(outcome):
            click.echo(line)
        for line in failures:
            click.echo(f"FAILED: {line}")
        if not failures:
            click.echo("OK: published counts match")
    return 1 if failures else 0
