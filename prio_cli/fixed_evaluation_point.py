"""verify1, verify2 and aggregate in the services' convention, on the batch API.

Every record of the file is checked at one evaluation point derived from the shared secret
and the partition's identity (docs/architecture.md), so a record's packets depend on nothing
but itself: a record missing or failing on one server costs only that record. The file is
processed in chunks to keep memory flat and let the progress bar move; the point does not
depend on the chunking.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

import click

from libprio_ctypes import (
    PrioError,
    Reason,
    Server,
    aggregate_partition,
    load_partition,
    sum_states,
    total_share_from_state,
    valid_mask,
    verify2_partition,
)
from prio_cli.config import ServerSetup
from prio_cli.records import PacketIndex, Record, Rejected
from prio_cli.report import Tally

CHUNK_RECORDS = 256


def _chunks(entries: Iterable[Record | Rejected], tally: Tally):
    """Lists of loadable-looking records; lines that are not records are tallied on the way.
    Rejections of a chunk are reported in line order once the caller is done with it."""
    iterator = iter(entries)
    while chunk := list(itertools.islice(iterator, CHUNK_RECORDS)):
        with tally.in_line_order():
            records = []
            for entry in chunk:
                tally.total += 1
                if isinstance(entry, Rejected):
                    tally.reject(entry.line, entry.id, entry.reason)
                else:
                    records.append(entry)
            if records:
                yield records


def _load(setup: ServerSetup, records: list[Record]):
    return load_partition(
        setup.config,
        setup.index,
        setup.keyring,
        [record.payload for record in records],
        setup.evaluation_point,
    )


def verify1(setup: ServerSetup, entries, tally: Tally) -> Iterator[tuple[Record, bytes]]:
    for records in _chunks(entries, tally):
        loaded = _load(setup, records)
        for record, status, packet in zip(records, loaded.status, loaded.verify1):
            if status != Reason.OK:
                tally.reject(record.line, record.id, Reason(status).name)
            else:
                yield record, packet


def _verify2_problem(record, status, own_verify1, internal, external):
    if status != Reason.OK:
        return Reason(status).name
    recorded = internal.lookup(record.id, "internal verify1")
    if isinstance(recorded, str):
        return recorded
    if recorded != own_verify1:
        return "internal verify1 packet differs from this step's (options changed between steps?)"
    peer = external.lookup(record.id, "external verify1")
    return peer if isinstance(peer, str) else None


def verify2(
    setup: ServerSetup, entries, internal: PacketIndex, external: PacketIndex, tally: Tally
) -> Iterator[tuple[Record, bytes]]:
    for records in _chunks(entries, tally):
        loaded = _load(setup, records)
        problems = [
            _verify2_problem(record, status, own, internal, external)
            for record, status, own in zip(records, loaded.status, loaded.verify1)
        ]
        peer = [
            None if problem else external.packets[record.id]
            for record, problem in zip(records, problems)
        ]
        packets, reasons = verify2_partition(setup.config, loaded.state, peer)
        for record, problem, packet, reason in zip(records, problems, packets, reasons):
            if problem is None and (reason != Reason.OK or packet is None):
                problem = Reason(reason).name
            if problem:
                tally.reject(record.line, record.id, problem)
            else:
                yield record, packet


def _verify2_pair(record: Record, internal: PacketIndex, external: PacketIndex):
    own = internal.lookup(record.id, "internal verify2")
    peer = external.lookup(record.id, "external verify2")
    problem = next((packet for packet in (own, peer) if isinstance(packet, str)), None)
    return (None, None, problem) if problem else (own, peer, None)


def aggregate(
    setup: ServerSetup, entries, internal: PacketIndex, external: PacketIndex, tally: Tally
) -> bytes:
    """This server's total share over the records whose proof checks."""
    states = []
    for records in _chunks(entries, tally):
        pairs = [_verify2_pair(record, internal, external) for record in records]
        mask = list(valid_mask([own for own, _, _ in pairs], [peer for _, peer, _ in pairs]))
        for index, (record, (_, _, problem)) in enumerate(zip(records, pairs)):
            if problem or not mask[index]:
                tally.reject(record.line, record.id, problem or "INVALID_PROOF")
                mask[index] = False
        try:
            states.append(
                aggregate_partition(
                    setup.config,
                    setup.index,
                    setup.keyring,
                    [record.payload for record in records],
                    mask,
                )
            )
        except PrioError as error:
            # The verify2 files vouch for these records, so the raw file is not the one they
            # were made from: no total share can be trusted.
            raise click.ClickException(
                f"a record that verified does not load ({error.reason.name}): "
                "is --input the raw file verify1 and verify2 read?"
            ) from error
    if not states:
        # A fresh server's accumulator is all zeros: the total share of nothing.
        return Server(
            setup.config, setup.server_id, setup.keyring, setup.shared_secret
        ).total_share()
    return total_share_from_state(setup.config, setup.index, sum_states(setup.config, states))
