"""`prio-stream releases`: keygen (a server's release signing key) and verify (checks a server's
release log and prints its releases)."""

from __future__ import annotations

import re
import secrets

import click

from services.common.config import load_settings
from services.common.factory import make_storage
from services.protocol import releases

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _public_key(_ctx, param, value: str) -> bytes:
    if not _HEX64.fullmatch(value):
        raise click.BadParameter("must be 64 hexadecimal characters (a raw Ed25519 public "
                                 "key: the public half of that server's "
                                 "RELEASE_SIGNING_KEY_HEX)", param=param)
    return bytes.fromhex(value)


@click.group("releases")
def group() -> None:
    """A server's signed release log (docs/security.md, "Release log")."""


@group.command("keygen")
def keygen() -> None:
    """Prints a new Ed25519 release signing key (RELEASE_SIGNING_KEY_HEX: this server's Secret
    Manager only) and its public key (the peer's RELEASE_PUBLIC_KEY_HEX_EXTERNAL, auditors')."""
    seed = secrets.token_bytes(32)
    click.echo(f"RELEASE_SIGNING_KEY_HEX={seed.hex()}")
    click.echo(f"RELEASE_PUBLIC_KEY_HEX={releases.public_key(seed).hex()}")


@group.command("verify")
@click.option("--bucket", default=None,
              help="The server's private bucket holding the log. Default: PRIVATE_BUCKET (the "
                   "store is STORAGE: gcs, or local under LOCAL_STORAGE_DIR).")
@click.option("--public-key-a", required=True, callback=_public_key, metavar="HEX",
              help="Server A's release signing public key.")
@click.option("--public-key-b", required=True, callback=_public_key, metavar="HEX",
              help="Server B's release signing public key.")
def verify(bucket: str | None, public_key_a: bytes, public_key_b: bytes) -> None:
    """Checks the chain is intact, every signature is valid and the peer's record of each
    release agrees; prints the releases. Exits 1 naming the first broken record."""
    from services.main import setup_mistakes  # the command's own module imports this one

    with setup_mistakes():
        settings = load_settings()
        bucket = bucket or settings.private_bucket
        checked, problems = releases.verify_log(make_storage(settings), bucket,
                                                {"A": public_key_a, "B": public_key_b})
    _table(checked)
    for problem in problems:
        click.echo(f"broken: {problem}", err=True)
    if problems:
        raise click.ClickException(f"the release log of {bucket} does not verify: "
                                   f"{problems[0]}")
    click.echo(f"{len(checked)} release(s) of {bucket}: chain intact, signatures valid, "
               f"both servers' records agree")


def _table(checked: list[releases.CheckedRelease]) -> None:
    rows = [("seq", "server", "batch_id", "submission_date", "valid", "counts_sha256",
             "peer's record")]
    rows += [(str(c.record["seq"]), str(c.record["server"]), c.record["batch_id"],
              c.record["submission_date"], str(c.record.get("reports", {}).get("valid")),
              str(c.record.get("counts_sha256"))[:16], c.peer) for c in checked]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
