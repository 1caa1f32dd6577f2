"""Two-server setups the CLI tests run: the interop vector sets, and fresh ones from keygen.

Imported as `tests.cli.servers`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

VECTORS = Path(__file__).resolve().parent.parent / "vectors"


@dataclass(frozen=True)
class Servers:
    """What both servers are configured with, as `prio` options."""

    prg_mode: str
    n_data: int
    batch_id: str
    shared_seed: str
    keys: dict  # "A" / "B" -> {"private_key", "public_key"}
    extra: tuple = ()  # further options of every server step (e.g. the evaluation point)

    def server_args(self, server: str) -> list[str]:
        peer = "B" if server == "A" else "A"
        return [
            "--batch-id", self.batch_id,
            "--n-data", str(self.n_data),
            "--prg-mode", self.prg_mode,
            "--server-id", server,
            "--private-key-hex", self.keys[server]["private_key"],
            "--shared-secret", self.shared_seed,
            "--public-key-hex-internal", self.keys[server]["public_key"],
            "--public-key-hex-external", self.keys[peer]["public_key"],
            *self.extra,
        ]  # fmt: skip

    def client_args(self) -> list[str]:
        return [
            "--batch-id", self.batch_id,
            "--n-data", str(self.n_data),
            "--prg-mode", self.prg_mode,
            "--public-key-hex-internal", self.keys["A"]["public_key"],
            "--public-key-hex-external", self.keys["B"]["public_key"],
        ]  # fmt: skip


@dataclass(frozen=True)
class VectorSet(Servers):
    """A prio-processor style run by real libprio: its parameters and its files."""

    name: str = ""
    root: Path = field(default=VECTORS)

    @classmethod
    def load(cls, name: str, prg_mode: str) -> VectorSet:
        root = VECTORS / name
        config = json.loads((root / "config.json").read_text())
        return cls(
            prg_mode=prg_mode,
            n_data=config["n_data"],
            batch_id=config["batch_id"],
            shared_seed=json.loads((root / "shared_seed.json").read_text())["shared_seed"],
            keys={
                server: json.loads((root / f"server_{server.lower()}_keys.json").read_text())
                for server in "AB"
            },
            name=name,
            root=root,
        )

    def file(self, server: str, *parts: str) -> Path:
        return self.root.joinpath(f"server_{server.lower()}", *parts, "data.ndjson")

    def raw(self, server: str) -> Path:
        return self.file(server, "raw")

    def intermediate(self, server: str, side: str, step: str) -> Path:
        return self.file(server, "intermediate", side, step)

    def published_counts(self) -> list[int]:
        return json.loads(self.file("A", "processed").read_text())["payload"]


# prio-processor's fixtures were made by a pre-2020 libprio (mode R); libprio-head-small by
# libprio master (mode H).
PROCESSOR = VectorSet.load("prio-processor-cli", "raw")
HEAD_SMALL = VectorSet.load("libprio-head-small", "hash")
VECTOR_SETS = [PROCESSOR, HEAD_SMALL]


def run_pipeline(invoke, servers: Servers, raw: dict, out: Path) -> dict:
    """Both servers through verify1, verify2, aggregate and publish, each step on the peer's
    output of the previous one; `raw` maps "A"/"B" to the raw share files. Returns
    {(server, step): (output path, result)}."""
    outputs = {}
    for step, inputs in [
        ("verify1", None),
        ("verify2", "verify1"),
        ("aggregate", "verify2"),
        ("publish", "aggregate"),
    ]:
        for server in "AB":
            peer = "B" if server == "A" else "A"
            args = [step, *servers.server_args(server), "--output", out / server / step]
            if step != "publish":
                args += ["--input", raw[server]]
            if inputs:
                args += [
                    "--input-internal", outputs[server, inputs][0],
                    "--input-external", outputs[peer, inputs][0],
                ]  # fmt: skip
            result = invoke(args)
            outputs[server, step] = (out / server / step / Path(raw[server]).name, result)
    return outputs
