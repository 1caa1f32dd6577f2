"""A server's libprio objects (config per batch, its keyring, its index) built from the settings."""

from __future__ import annotations

import functools
import hashlib

import libprio_ctypes as prio
from services.common.config import Settings
from services.protocol import pb


class UnknownBatch(ValueError):
    """The batch id is not in DATA_CONFIG."""


class ServerKeys:
    """What the core needs to act as this server; secrets stay inside, never in reprs."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.server_id = settings.server_id
        self.pb_server = server_enum(settings.server_id) if settings.server_id else None
        self.pb_peer = server_enum(settings.peer_server_id) if settings.server_id else None
        self._configs: dict[str, prio.Config] = {}

    @functools.cached_property
    def keyring(self) -> prio.Keyring:
        """PRIVATE_KEY_HEX first, then PREVIOUS_PRIVATE_KEYS_HEX: a report is decrypted by
        whichever of them opens it (key rotation, docs/runbook.md)."""
        return prio.Keyring([prio.PrivateKey.from_bytes(key)
                             for key in self.settings.private_keys])

    @functools.cached_property
    def _secret_versions(self) -> list[tuple[str, bytes]]:
        return self.settings.shared_secret_versions

    def shared_secret(self, submission_date: str) -> bytes:
        """The shared-secret version in force on the date: the last one from on or before it
        (the first is in force from the beginning); a partition's evaluation point comes from
        it, so both servers must hold the same versions (docs/runbook.md)."""
        return self._version(submission_date)[1]

    def secret_commitment(self, submission_date: str) -> bytes:
        """8 bytes naming the version in force on the date without revealing it: what verify1
        carries so that the peer sees a mismatch of versions as one."""
        return commitment(self._version(submission_date)[1])

    def _version(self, submission_date: str) -> tuple[str, bytes]:
        versions = self._secret_versions
        return next(v for v in reversed(versions) if v[0] <= submission_date)

    def __repr__(self) -> str:
        return f"ServerKeys(server_id={self.server_id!r})"

    def n_data(self, batch_id: str) -> int:
        n_data = (self.settings.data_config or {}).get(batch_id)
        if n_data is None:
            raise UnknownBatch(batch_id)
        return n_data

    def config(self, batch_id: str) -> prio.Config:
        # Servers never use the public-key slots of a config (spec §11.2): only clients do.
        config = self._configs.get(batch_id)
        if config is None:
            config = prio.Config(self.n_data(batch_id), batch_id,
                                 prio.PrgMode(self.settings.prg_mode))
            self._configs[batch_id] = config
        return config


_COMMITMENT_LABEL = b"prio-stream/v1/shared-secret-commitment\x00"


def commitment(secret: bytes) -> bytes:
    """A digest domain-separated from the evaluation point's (which hashes the secret with
    another label), so it tells nothing about any point."""
    return hashlib.sha256(_COMMITMENT_LABEL + secret).digest()[:8]


def server_enum(server_id: str) -> int:
    return pb.Server.SERVER_A if server_id == "A" else pb.Server.SERVER_B


def server_letter(server: int) -> str:
    return "A" if server == pb.Server.SERVER_A else "B"
