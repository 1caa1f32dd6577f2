"""The load generator: Firefox "prio" pings encoded with our client, published to `prio-pings`.

Also the source of demo workloads (embedded mode, tests): each generated report is valid or
made invalid on purpose (a non-binary input fails the proof, a corrupted share fails to
decrypt), and the plaintext sums of the valid ones are kept to check the published counts.
With --pings it replays a file of real pings instead, as the upstream publishes them
(docs/pings.md): each with its document id and submission timestamp as attributes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import click

import libprio_ctypes as prio
from services.common import topology
from services.ingest import pings

MAX_ATTRIBUTE_BYTES = 1024  # Pub/Sub's limit of an attribute value


@dataclasses.dataclass
class Workload:
    """Pings to send and what the servers must publish for them."""

    pings: list[bytes] = dataclasses.field(default_factory=list)
    sums: dict[str, list[int]] = dataclasses.field(default_factory=dict)  # valid reports only
    valid: Counter[str] = dataclasses.field(default_factory=Counter)
    rejected: dict[str, Counter[str]] = dataclasses.field(default_factory=dict)  # by reason
    ingest_rejected: Counter[str] = dataclasses.field(default_factory=Counter)


@dataclasses.dataclass(frozen=True)
class Mix:
    """Fractions of reports made invalid on purpose."""

    non_binary: float = 0.02  # an input of 2: the SNIP proof fails
    corrupt_share: float = 0.01  # a flipped ciphertext byte in share A: decryption fails
    bad_pings: int = 2  # envelopes ingest must reject (bad base64, unknown batch)


def generate(count: int, data_config: dict[str, int], public_a: prio.PublicKey,
             public_b: prio.PublicKey, prg_mode: prio.PrgMode, date: str,
             mix: Mix = Mix(), seed: int = 0) -> Workload:
    """count pings, each with one report per batch of data_config."""
    rng = random.Random(seed)
    clients = {b: prio.Client(prio.Config(n, b, prg_mode, public_a, public_b))
               for b, n in data_config.items()}
    work = Workload(sums={b: [0] * n for b, n in data_config.items()},
                    rejected={b: Counter() for b in data_config})
    stamp = f"{date}T12:00:00Z"
    for _ in range(count):
        entries = [_report(rng, clients[b], b, n, work, mix) for b, n in data_config.items()]
        work.pings.append(json.dumps(pings.ping(str(uuid.UUID(int=rng.getrandbits(128))),
                                                entries, stamp)).encode())
    for i in range(mix.bad_pings):
        work.pings.append(_bad_ping(i, stamp, next(iter(data_config))))
        work.ingest_rejected["BAD_ENCODING" if i % 2 == 0 else "UNKNOWN_BATCH_ID"] += 1
    return work


def _report(rng, client, batch_id, n_data, work: Workload, mix: Mix):
    values = [rng.getrandbits(1) for _ in range(n_data)]
    roll = rng.random()
    if roll < mix.non_binary:
        values[rng.randrange(n_data)] = 2
        a, b = client.encode(values, allow_non_binary=True)
        work.rejected[batch_id]["INVALID_PROOF"] += 1
    elif roll < mix.non_binary + mix.corrupt_share:
        a, b = client.encode(values)
        at = rng.randrange(len(a))
        a = a[:at] + bytes([a[at] ^ 0x5A]) + a[at + 1:]
        work.rejected[batch_id]["DECRYPT_FAILED"] += 1
    else:
        a, b = client.encode(values)
        work.sums[batch_id] = [s + v for s, v in zip(work.sums[batch_id], values, strict=True)]
        work.valid[batch_id] += 1
    return batch_id, a, b


def _bad_ping(i: int, stamp: str, batch_id: str) -> bytes:
    entry = ({"encoding": batch_id, "prio": {"a": "not base64!", "b": "AAAA"}} if i % 2 == 0
             else {"encoding": "no-such-batch", "prio": {"a": "AAAA", "b": "AAAA"}})
    return json.dumps({"id": f"bad-ping-{i}", "submission_timestamp": stamp,
                       "payload": {"prioData": [entry]}}).encode()


def staged_pings(data_a: bytes, data_b: bytes, batch_id: str, date: str) -> Iterator[bytes]:
    """The reports of staged share files (the seed's layout) as pings; the staged id is the
    document id, so sending them twice sends the same reports."""
    from services.protocol import shares

    b_by_id = {line.report_id: line.payload for line in shares.decode(data_b)}
    for line in shares.decode(data_a):
        if line.report_id in b_by_id:
            yield json.dumps({
                "id": line.report_id, "submission_timestamp": f"{date}T00:00:00Z",
                "payload": {"prioData": [{"encoding": batch_id, "prio": {
                    "a": line.payload, "b": b_by_id[line.report_id]}}]},
            }).encode()


def read_pings(path: str) -> list[bytes]:
    """The pings of an NDJSON file (--pings), one a line (blank lines skipped); gzip-compressed
    files (known by their magic bytes, whatever their name) are read through."""
    try:
        with open(path, "rb") as file:
            data = file.read()
        if data[:2] == pings.GZIP_MAGIC:
            data = gzip.decompress(data)
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise click.BadParameter(f"cannot read {path} ({error})", param_hint="'--pings'") from None
    messages = [line for line in data.splitlines() if line.strip()]
    if not messages:
        raise click.BadParameter(f"{path} holds no pings", param_hint="'--pings'")
    return messages


def upstream_attributes(ping: bytes) -> dict[str, str]:
    """What gcp-ingestion's decoded messages carry beside a prio ping: its document type, and
    its document id and submission timestamp when the ping holds them (a line that is no JSON
    object goes with the type only: ingest tells why it is no ping)."""
    found = {"document_namespace": "telemetry", "document_type": pings.DOCUMENT_TYPE}
    try:
        body = json.loads(ping)
    except (ValueError, UnicodeDecodeError):
        return found
    for attribute, field in (("document_id", "id"),
                             ("submission_timestamp", "submission_timestamp")):
        value = body.get(field) if isinstance(body, dict) else None
        # Longer than Pub/Sub takes in an attribute: the body keeps it, ingest reads it there.
        if isinstance(value, str) and 0 < len(value.encode()) <= MAX_ATTRIBUTE_BYTES:
            found[attribute] = value
    return found


def publish_all(transport, project: str, messages: list[bytes], rate: float | None,
                each: list[dict[str, str]] | None = None) -> None:
    """Publishes at most rate messages per second (None: as fast as the broker takes them),
    in chunks: of a twentieth of a second's worth when throttled, else of a thousand. each:
    every message's own attributes."""
    chunk = max(1, int(rate / 20)) if rate else 1000
    started = time.monotonic()
    for i in range(0, len(messages), chunk):
        if rate:
            wait = started + i / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        transport.publish_many(project, topology.PINGS, messages[i:i + chunk],
                               each=each[i:i + chunk] if each else None)


@click.command("loadgen")
@click.option("--rate", type=float, default=None, help="Pings per second (default: unthrottled).")
@click.option("--count", type=int, default=1000, show_default=True, help="Pings to generate.")
@click.option("--public-key-hex-a", envvar="PUBLIC_KEY_HEX_A", help="Server A's public key.")
@click.option("--public-key-hex-b", envvar="PUBLIC_KEY_HEX_B", help="Server B's public key.")
@click.option("--date", default=None, help="Submission date YYYY-MM-DD (default: today, UTC).")
@click.option("--valid-only", is_flag=True, help="No invalid reports or pings.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--pings", "pings_file", type=click.Path(exists=True, dir_okay=False),
              help="Replay the pings of an NDJSON file (optionally gzip-compressed) instead, each "
                   "with its document id and submission timestamp as attributes.")
@click.option("--gzip", "compress", is_flag=True,
              help="Send every ping gzip-compressed, as the upstream's decoded topics do.")
@click.option("--staged-a", type=click.Path(exists=True, dir_okay=False),
              help="Send the reports of staged share files instead (with --staged-b).")
@click.option("--staged-b", type=click.Path(exists=True, dir_okay=False))
@click.option("--batch-id", help="Batch id of the staged share files.")
@click.option("--expected-out", type=click.Path(dir_okay=False),
              help="Write the expected sums and rejections here (JSON).")
def command(rate, count, public_key_hex_a, public_key_hex_b, date, valid_only, seed, pings_file,
            compress, staged_a, staged_b, batch_id, expected_out) -> None:
    """Publish encoded Firefox "prio" pings to prio-pings (INGEST_PROJECT_ID)."""
    from services.common.config import ConfigError, load_settings
    from services.common.factory import make_transport

    try:
        settings = load_settings()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    date = date or dt.datetime.now(dt.UTC).date().isoformat()
    each = None
    if pings_file and (staged_a or staged_b):
        raise click.UsageError("--pings replays a file of pings: give it without --staged-a")
    if pings_file:
        messages = read_pings(pings_file)
        each = [upstream_attributes(m) for m in messages]
    elif staged_a or staged_b:
        if not (staged_a and staged_b and batch_id):
            raise click.UsageError("--staged-a needs --staged-b and --batch-id")
        with open(staged_a, "rb") as a, open(staged_b, "rb") as b:
            messages = list(staged_pings(a.read(), b.read(), batch_id, date))
    else:
        messages = _generated(settings, count, public_key_hex_a, public_key_hex_b, date,
                              Mix(0.0, 0.0, 0) if valid_only else Mix(), seed, expected_out)
    if compress:
        messages = [gzip.compress(m, mtime=0) for m in messages]
    transport = make_transport(settings)
    publish_all(transport, settings.ingest_project_id, messages, rate, each)
    click.echo(f"published {len(messages)} pings to {settings.ingest_project_id}/"
               f"{topology.PINGS}", err=True)
    if hasattr(transport, "close"):
        transport.close()
    sys.exit(0)


def _generated(settings, count, public_key_hex_a, public_key_hex_b, date, mix: Mix, seed,
               expected_out) -> list[bytes]:
    """Demo pings made with our client; what they must publish written to expected_out."""
    if not (public_key_hex_a and public_key_hex_b and settings.data_config):
        raise click.UsageError("needs --public-key-hex-a, --public-key-hex-b and DATA_CONFIG")
    work = generate(count, settings.data_config, prio.PublicKey.from_hex(public_key_hex_a),
                    prio.PublicKey.from_hex(public_key_hex_b), prio.PrgMode(settings.prg_mode),
                    date, mix, seed)
    if expected_out:
        with open(expected_out, "w") as out:
            json.dump({"sums": work.sums, "valid": work.valid, "rejected": work.rejected,
                       "ingest_rejected": work.ingest_rejected}, out)
    return work.pings
