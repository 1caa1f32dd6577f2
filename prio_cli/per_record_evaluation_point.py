"""verify1, verify2 and aggregate in prio-processor's convention, on libprio's object model.

Each step creates a fresh server from the shared secret and re-loads every record of the raw
file in file order; the k-th record that loads is checked at the k-th evaluation point the
server's PRG draws (spec §4.6). Both servers therefore agree only if they load the same
records in the same order, and the outputs are byte-identical to libprio's.

One deliberate difference from prio-processor: verify2 and aggregate load a record *before*
looking up its verification packets, so a record missing from an intermediate file still
draws its point and the rest of the file keeps the points it had in verify1 (prio-processor
skipped the draw, which made every later record of the file fail). For complete files the
two orders give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from libprio_ctypes import PrioError, Server
from prio_cli.config import ServerSetup
from prio_cli.records import PacketIndex, Record, Rejected
from prio_cli.report import Tally


def _server(setup: ServerSetup) -> Server:
    return Server(setup.config, setup.server_id, setup.keyring, setup.shared_secret)


def _loaded(server: Server, entries: Iterable[Record | Rejected], tally: Tally):
    """(record, verifier) for each record that loads; the others are tallied."""
    for entry in entries:
        tally.total += 1
        if isinstance(entry, Rejected):
            tally.reject(entry.line, entry.id, entry.reason)
            continue
        verifier = server.verifier()
        try:
            verifier.set_data(entry.payload)
        except PrioError as error:
            tally.reject(entry.line, entry.id, error.reason.name)
            continue
        yield entry, verifier


def _peer_packets(record: Record, internal: PacketIndex, external: PacketIndex, what: str):
    """(own, peer) packets of a record, or the reason one of them is missing."""
    own = internal.lookup(record.id, f"internal {what}")
    peer = external.lookup(record.id, f"external {what}")
    for packet in (own, peer):
        if isinstance(packet, str):
            return packet
    return own, peer


def verify1(setup: ServerSetup, entries, tally: Tally) -> Iterator[tuple[Record, bytes]]:
    for record, verifier in _loaded(_server(setup), entries, tally):
        try:
            yield record, verifier.verify1()
        except PrioError as error:
            tally.reject(record.line, record.id, error.reason.name)


def verify2(
    setup: ServerSetup, entries, internal: PacketIndex, external: PacketIndex, tally: Tally
) -> Iterator[tuple[Record, bytes]]:
    for record, verifier in _loaded(_server(setup), entries, tally):
        packets = _peer_packets(record, internal, external, "verify1")
        if isinstance(packets, str):
            tally.reject(record.line, record.id, packets)
            continue
        try:
            yield record, verifier.verify2(*setup.a_then_b(*packets))
        except PrioError as error:
            tally.reject(record.line, record.id, error.reason.name)


def aggregate(
    setup: ServerSetup, entries, internal: PacketIndex, external: PacketIndex, tally: Tally
) -> bytes:
    """This server's total share over the records whose proof checks."""
    server = _server(setup)
    for record, verifier in _loaded(server, entries, tally):
        packets = _peer_packets(record, internal, external, "verify2")
        if isinstance(packets, str):
            tally.reject(record.line, record.id, packets)
            continue
        try:
            valid = verifier.is_valid(*setup.a_then_b(*packets))
        except PrioError as error:
            tally.reject(record.line, record.id, error.reason.name)
            continue
        if not valid:
            tally.reject(record.line, record.id, "INVALID_PROOF")
            continue
        server.aggregate(verifier)
    return server.total_share()
