"""`keygen` and `shared-seed`: the secrets two servers set up once, printed as one JSON line."""

from __future__ import annotations

import base64
import json

import click

from libprio_ctypes import PrivateKey, generate_shared_secret


@click.command()
def keygen():
    """Print a new X25519 key pair: {"private_key": HEX64, "public_key": HEX64} (uppercase)."""
    key = PrivateKey.generate()
    click.echo(json.dumps({"private_key": key.to_hex(), "public_key": key.public_key.to_hex()}))


@click.command()
def shared_seed():
    """Print a new shared server secret: {"shared_seed": base64 of 16 random bytes}."""
    secret = base64.b64encode(generate_shared_secret()).decode("ascii")
    click.echo(json.dumps({"shared_seed": secret}))
