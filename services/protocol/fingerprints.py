"""64-bit fingerprints of share envelopes, and a compact set of them (8 bytes per member).

A libprio envelope opens with the client's ephemeral X25519 public key, fresh per encryption
and bound into the AES-GCM key: nobody without the client's ephemeral secret or the server's
private key can make another envelope that opens under the same ephemeral key. So the key
names one encryption of one share, whatever id, partition or date a copy is relabelled with.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
from array import array
from collections.abc import Iterable

EPHEMERAL_KEY_BYTES = 32
ENVELOPE_OVERHEAD = 60  # ephemeral key, nonce, tag (spec section 8)
NONE = 0  # "no fingerprint" (a packet too short to be an envelope); a real one is never 0
BYTES = 8


def of_packet(packet: bytes | None) -> int:
    """The fingerprint of an envelope, or NONE for something that cannot be one."""
    if packet is None or len(packet) < ENVELOPE_OVERHEAD:
        return NONE
    digest = hashlib.blake2b(packet[:EPHEMERAL_KEY_BYTES], digest_size=BYTES,
                             person=b"prio-stream/v1").digest()
    return int.from_bytes(digest, "big") or 1


def pack(fingerprints: Iterable[int]) -> bytes:
    """Per report, 8 bytes big-endian (the wire form of Verify1Partition.share_fingerprints)."""
    return b"".join(f.to_bytes(BYTES, "big") for f in fingerprints)


def unpack(data: bytes) -> list[int]:
    if len(data) % BYTES:
        raise ValueError("share fingerprints are not a whole number of 8-byte values")
    return [int.from_bytes(data[i:i + BYTES], "big") for i in range(0, len(data), BYTES)]


class FingerprintSet:
    """Sorted runs of unsigned 64-bit values, merged while a run is no more than twice the size
    of the next (so there are O(log n) runs and each value is merged O(log n) times): exactly 8
    bytes per member, no per-member object, membership by binary search."""

    def __init__(self) -> None:
        self._runs: list[array] = []

    def __contains__(self, value: int) -> bool:
        for run in self._runs:
            i = bisect.bisect_left(run, value)
            if i < len(run) and run[i] == value:
                return True
        return False

    def __len__(self) -> int:
        return sum(len(run) for run in self._runs)

    @property
    def nbytes(self) -> int:
        return sum(run.itemsize * len(run) for run in self._runs)

    def update(self, values: Iterable[int]) -> None:
        run = array("Q", sorted(values))
        if not run:
            return
        self._runs.append(run)
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            newer, older = self._runs.pop(), self._runs.pop()
            self._runs.append(array("Q", heapq.merge(older, newer)))


class FingerprintMap:
    """Unsigned 64-bit keys to unsigned 64-bit values, as parallel sorted runs (16 bytes per
    entry, merged as in FingerprintSet). A key may be present more than once: `get` returns
    every value stored under it."""

    def __init__(self) -> None:
        self._runs: list[tuple[array, array]] = []

    def get(self, key: int) -> list[int]:
        found = []
        for keys, values in self._runs:
            i = bisect.bisect_left(keys, key)
            while i < len(keys) and keys[i] == key:
                found.append(values[i])
                i += 1
        return found

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self._runs)

    @property
    def nbytes(self) -> int:
        return sum(k.itemsize * len(k) + v.itemsize * len(v) for k, v in self._runs)

    def update(self, items: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(items)
        if not ordered:
            return
        self._runs.append((array("Q", (k for k, _ in ordered)),
                           array("Q", (v for _, v in ordered))))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            newer, older = self._runs.pop(), self._runs.pop()
            keys, values = array("Q"), array("Q")
            for key, value in heapq.merge(zip(*older), zip(*newer)):  # streamed: no list
                keys.append(key)
                values.append(value)
            self._runs.append((keys, values))


def of_text(text: str) -> int:
    """A 64-bit digest of a text (a report id, a content fingerprint), for compact indexes."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=BYTES).digest(), "big")
