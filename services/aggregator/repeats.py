"""Report ids repeated across the agreed partitions of a batch: counted once, at the close.

Ingest drops a report it finds in a stored manifest, but two ingest instances flushing at the
same moment can each write a copy of one report (Pub/Sub delivered a ping twice, to both,
while the first still held it): neither manifest is stored when the other looks. The close is
where every partition of the batch is known, so it takes out what ingest could not: the first
copy, in partition-id order (partition ids sort by creation time), is kept; a later copy found
valid is taken out of the total share and counted as REPLAYED; a later copy already rejected
keeps its reason. Both servers hold the same ids in the same order (the notices' id digests)
and the same outcomes, so they take out the same reports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import libprio_ctypes as prio
from services.aggregator.partition_total import decrypted_sum
from services.common import pb
from services.common.storage import Storage
from services.protocol import layout, outcome, shares
from services.protocol.keys import ServerKeys
from services.protocol.layout import BatchKey


@dataclasses.dataclass(frozen=True)
class Repeats:
    valid: int  # later copies that were valid: taken out of the total, REPLAYED
    state: bytes | None  # the sum of their data shares (None: nothing to take out)


def report_ids(storage: Storage, settings, key: BatchKey, pid: str) -> list[str]:
    """A partition's report ids, in file order: the verifier's record of them, or (for a
    partition verified before it kept one) the partition file itself."""
    stored = storage.read_or_none(settings.private_bucket, layout.internal("report_ids", key, pid))
    if stored is not None:
        return stored.decode().split("\n") if stored else []
    data = storage.read(settings.inbox_bucket, layout.raw(key, pid))
    return [line.report_id for line in shares.decode(data)]


def find(storage: Storage, settings, keys: ServerKeys, key: BatchKey,
         pids: Sequence[str]) -> Repeats:
    seen: set[str] = set()
    later: dict[str, list[int]] = {}
    for pid in sorted(pids):
        ids = report_ids(storage, settings, key, pid)
        repeated = [i for i, rid in enumerate(ids) if rid in seen]
        seen.update(ids)
        if repeated:
            later[pid] = repeated
    valid, states = 0, []
    for pid, positions in later.items():
        verified = pb.PartitionVerified.FromString(storage.read(
            settings.private_bucket, layout.internal("verified", key, pid)))
        mask = [False] * len(verified.outcome)
        for i in positions:
            mask[i] = verified.outcome[i] == outcome.OK
        if not any(mask):
            continue
        valid += sum(mask)
        states.append(decrypted_sum(storage, settings, keys, key, pid, mask))
    state = prio.sum_states(keys.config(key.batch_id), states) if states else None
    return Repeats(valid, state)
