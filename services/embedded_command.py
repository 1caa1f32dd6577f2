"""`prio-stream embedded`: the command around the embedded system (services/embedded.py): its
options, the demo workload, the progress bar, the --output key set, and the report."""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import click

import libprio_ctypes as prio
from services import embedded_options as options
from services import embedded_summary as summary
from services import loadgen
from services.embedded import EmbeddedSystem, Secrets, TimedOut, run
from services.protocol.layout import BatchKey


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
                          _ProgressBar(enabled=not as_json and sys.stderr.isatty()))
        except TimedOut as error:
            raise click.ClickException(str(error)) from None
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
