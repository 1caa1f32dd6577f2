"""Copies of one report across the agreed partitions of a batch: counted once, at the close.

Each server refuses a share it has seen before when it loads a partition
(services/verifier/anti_replay.py), but two processes loading two partitions at the same
moment do not see each other's, and two ingest instances flushing at the same moment can each
write a copy of one report under one id. The close is where every partition of the batch is
known, so it takes out what passed: the first copy, in partition-id order (partition ids sort
by creation time), is kept; a later copy (same report id, or same share fingerprint on either
server) found valid is taken out of the total share and counted as REPLAYED; a later copy
already rejected keeps its reason. Both servers hold the same ids in the same order (the
notices' id digests), the same outcomes and both servers' fingerprints, so they take out the
same reports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import libprio_ctypes as prio
from services.aggregator.partition_total import decrypted_sum
from services.common.storage import Storage
from services.protocol import fingerprints, layout, outcome, pb
from services.protocol.keys import ServerKeys
from services.protocol.layout import BatchKey


@dataclasses.dataclass(frozen=True)
class Repeats:
    valid: int  # later copies that were valid: taken out of the total, REPLAYED
    state: bytes | None  # the sum of their data shares (None: nothing to take out)


def report_ids(storage: Storage, settings, key: BatchKey, pid: str) -> list[str]:
    """A partition's report ids, in file order, as the verifier recorded them."""
    stored = storage.read(settings.private_bucket, layout.internal("report_ids", key, pid))
    return stored.decode().split("\n") if stored else []


def find(storage: Storage, settings, keys: ServerKeys, key: BatchKey,
         pids: Sequence[str]) -> Repeats:
    """A later copy is a report whose id, or whose share fingerprint on either server, an
    earlier valid report of the agreed partitions already had. Both servers hold the same ids,
    the same outcomes and both servers' fingerprints (each verify1 carries its sender's), so
    they take out the same reports."""
    seen_ids: set[str] = set()
    seen_prints: set[int] = set()
    later: dict[str, list[int]] = {}
    for pid in sorted(pids):
        ids = report_ids(storage, settings, key, pid)
        verified = _verified(storage, settings, key, pid)
        prints = _both_fingerprints(storage, settings, key, pid, len(ids))
        repeated = []
        for i, (rid, pair) in enumerate(zip(ids, prints, strict=True)):
            valid = verified.outcome[i] == outcome.OK
            if rid in seen_ids or (valid and any(fp in seen_prints for fp in pair)):
                repeated.append(i)
            seen_ids.add(rid)
            if valid:
                seen_prints.update(fp for fp in pair if fp != fingerprints.NONE)
        if repeated:
            later[pid] = repeated
    valid, states = 0, []
    for pid, positions in later.items():
        verified = _verified(storage, settings, key, pid)
        mask = [False] * len(verified.outcome)
        for i in positions:
            mask[i] = verified.outcome[i] == outcome.OK
        if not any(mask):
            continue
        valid += sum(mask)
        states.append(decrypted_sum(storage, settings, keys, key, pid, mask))
    state = prio.sum_states(keys.config(key.batch_id), states) if states else None
    return Repeats(valid, state)


def _verified(storage: Storage, settings, key: BatchKey, pid: str) -> pb.PartitionVerified:
    return pb.PartitionVerified.FromString(storage.read(
        settings.private_bucket, layout.internal("verified", key, pid)))


def _both_fingerprints(storage: Storage, settings, key: BatchKey, pid: str,
                       count: int) -> list[tuple[int, ...]]:
    """Per report, this server's and the peer's share fingerprints (as their verify1 carried
    them; none for a partition verified before verify1 carried them)."""
    columns = []
    for name in (layout.internal("verify1", key, pid), layout.external("verify1", key, pid)):
        packed = pb.Verify1Partition.FromString(
            storage.read(settings.private_bucket, name)).share_fingerprints
        prints = fingerprints.unpack(packed) if packed else [fingerprints.NONE] * count
        if len(prints) != count:
            raise ValueError("share fingerprints do not match the partition's reports")
        columns.append(prints)
    return list(zip(*columns, strict=True))
