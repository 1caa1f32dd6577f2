"""The reports every suite measures: fresh keys, one batch, random bit vectors, encoded once."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass

from libprio_ctypes import (
    Client,
    Config,
    PrgMode,
    PrivateKey,
    generate_shared_secret,
    partition_evaluation_point,
)

BATCH_ID = b"benchmark"
DATE = "2024-01-01"
PARTITION = "0"


@dataclass
class Workload:
    n_data: int
    config: Config
    keys: dict  # "A" / "B" -> PrivateKey
    shared_secret: bytes
    bits: list[bytes]

    @property
    def evaluation_point(self) -> int:
        return partition_evaluation_point(
            self.shared_secret, BATCH_ID, DATE, PARTITION, self.n_data
        )

    def encode_all(self) -> tuple[list[bytes], list[bytes]]:
        client = Client(self.config)
        shares = [client.encode(bits) for bits in self.bits]
        return [a for a, _ in shares], [b for _, b in shares]

    def server_options(self, server: str) -> list[str]:
        """The `prio` options of one server step."""
        peer = "B" if server == "A" else "A"
        return [
            "--batch-id", BATCH_ID.decode(),
            "--n-data", str(self.n_data),
            "--prg-mode", self.config.prg_mode.value,
            "--server-id", server,
            "--private-key-hex", self.keys[server].to_hex(),
            "--shared-secret", base64.b64encode(self.shared_secret).decode(),
            "--public-key-hex-internal", self.keys[server].public_key.to_hex(),
            "--public-key-hex-external", self.keys[peer].public_key.to_hex(),
            "--submission-date", DATE,
            "--partition-id", PARTITION,
        ]  # fmt: skip

    def client_options(self) -> list[str]:
        return [
            "--batch-id", BATCH_ID.decode(),
            "--n-data", str(self.n_data),
            "--prg-mode", self.config.prg_mode.value,
            "--public-key-hex-internal", self.keys["A"].public_key.to_hex(),
            "--public-key-hex-external", self.keys["B"].public_key.to_hex(),
        ]  # fmt: skip


def make_workload(n_data: int, reports: int, prg_mode: PrgMode = PrgMode.HASH) -> Workload:
    keys = {server: PrivateKey.generate() for server in "AB"}
    config = Config(n_data, BATCH_ID, prg_mode, keys["A"].public_key, keys["B"].public_key)
    rng = random.Random(n_data)
    bits = [bytes(rng.getrandbits(1) for _ in range(n_data)) for _ in range(reports)]
    return Workload(n_data, config, keys, generate_shared_secret(), bits)
