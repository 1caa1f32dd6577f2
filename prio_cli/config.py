"""The libprio config and server identity of one step, built from its checked options."""

from __future__ import annotations

from dataclasses import dataclass

import click

from libprio_ctypes import Config, Keyring, PrgMode, PrioError, PrivateKey, PublicKey

SERVER_INDEX = {"A": 0, "B": 1}


@dataclass(frozen=True)
class ServerSetup:
    config: Config
    server_id: str  # "A" or "B"
    keyring: Keyring  # the current key first
    shared_secret: bytes
    batch_id: bytes
    n_data: int
    # None: prio-processor's convention (the server's PRG draws a point per loaded record);
    # an int: every record of the file is checked at this point (the batch API).
    evaluation_point: int | None = None

    @property
    def index(self) -> int:
        return SERVER_INDEX[self.server_id]

    def a_then_b(self, internal, external):
        """Order (own, peer) packets as (server A's, server B's)."""
        return (internal, external) if self.server_id == "A" else (external, internal)


def _public_key(hex_text: str, option: str) -> PublicKey:
    try:
        return PublicKey.from_hex(hex_text)
    except PrioError as error:
        raise click.BadParameter(
            f"not a usable public key ({error.reason.name})", param_hint=option
        )


def libprio_config(n_data: int, batch_id: bytes, prg_mode: str, key_a, key_b) -> Config:
    try:
        return Config(n_data, batch_id, PrgMode(prg_mode), key_a, key_b)
    except PrioError as error:
        raise click.UsageError(f"libprio rejects the configuration: {error}")


def client_config(batch_id: bytes, n_data: int, prg_mode: str, key_a_hex: str, key_b_hex: str):
    """The config a client encodes with: packet A is encrypted to key A, packet B to key B."""
    key_a = _public_key(key_a_hex, "'--public-key-hex-internal'")
    key_b = _public_key(key_b_hex, "'--public-key-hex-external'")
    return libprio_config(n_data, batch_id, prg_mode, key_a, key_b)


def server_setup(
    *,
    batch_id: bytes,
    n_data: int,
    prg_mode: str,
    server_id: str,
    private_key_hex: tuple[str, ...],
    shared_secret: bytes,
    public_key_hex_internal: str,
    public_key_hex_external: str,
) -> ServerSetup:
    internal = _public_key(public_key_hex_internal, "'--public-key-hex-internal'")
    external = _public_key(public_key_hex_external, "'--public-key-hex-external'")
    try:
        keys = [PrivateKey.from_hex(key) for key in private_key_hex]
    except PrioError as error:
        raise click.BadParameter(
            f"not a usable private key ({error.reason.name})", param_hint="'--private-key-hex'"
        )
    # libprio never checks the pair; a mismatch would only show up as every record failing.
    if keys[0].public_key != internal:
        which = "its first (current) key " if len(keys) > 1 else ""
        raise click.BadParameter(
            f"{which}does not belong to --public-key-hex-internal",
            param_hint="'--private-key-hex'",
        )
    key_a, key_b = (internal, external) if server_id == "A" else (external, internal)
    return ServerSetup(
        config=libprio_config(n_data, batch_id, prg_mode, key_a, key_b),
        server_id=server_id,
        keyring=Keyring(keys),
        shared_secret=shared_secret,
        batch_id=batch_id,
        n_data=n_data,
    )
