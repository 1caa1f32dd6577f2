"""Release records: what a server published, signed with its Ed25519 key and chained in its
private bucket (docs/security.md, "Release log"); built, appended, checked and compared here.

A log entry `releases/{seq:08d}.json` is created once and never rewritten: it holds the record
(with `seq` and the SHA-256 of the previous entry's bytes, `previous`) and the signature over
the record's canonical JSON. Changing an entry breaks its signature and its successor's
`previous`; removing one leaves a gap in the numbers, or (the last) a copy beside its result
(`processed/.../release.json`) that the log no longer holds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.common.storage import Storage
from services.protocol import layout
from services.protocol.layout import BatchKey

FORMAT = 1
GENESIS = "0" * 64  # the `previous` of entry 0
# A record names a batch's partitions (1,000 reports each): far below this for any batch a
# day of pings makes; a larger object is refused unread (a peer's message, a tampered log).
MAX_RECORD_BYTES = 1024 * 1024
# What both servers' records of one batch must say alike: they combined the same shares.
AGREED_FIELDS = ("batch_id", "submission_date", "counts_sha256", "partitions", "reports")


class BadRecord(ValueError):
    """Not a signed release record, or its signature does not verify under the key given."""


def canonical(value) -> bytes:
    """The bytes a signature covers: one JSON text per value whoever writes it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def counts_digest(counts: list[int]) -> str:
    return digest(canonical([int(c) for c in counts]))


def public_key(signing_key: bytes) -> bytes:
    """The raw 32-byte Ed25519 public key of a 32-byte seed (what the peer and auditors hold)."""
    key = Ed25519PrivateKey.from_private_bytes(signing_key).public_key()
    return key.public_bytes_raw()


def sign(record: dict, signing_key: bytes) -> bytes:
    signature = Ed25519PrivateKey.from_private_bytes(signing_key).sign(canonical(record))
    return canonical({"record": record, "signature": signature.hex()})


def open_signed(data: bytes, key: bytes) -> dict:
    """The record of a signed entry whose signature verifies under the raw public key; raises
    BadRecord (naming what is wrong, never quoting the data) otherwise."""
    if len(data) > MAX_RECORD_BYTES:
        raise BadRecord(f"larger than {MAX_RECORD_BYTES} bytes")
    try:
        signed = json.loads(data)
        record, signature = signed["record"], bytes.fromhex(signed["signature"])
    except (ValueError, TypeError, KeyError):
        raise BadRecord("not a signed release record") from None
    if not isinstance(record, dict):
        raise BadRecord("not a signed release record")
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, canonical(record))
    except (InvalidSignature, ValueError):
        raise BadRecord("its signature does not verify") from None
    return record


def record_of(data: bytes) -> dict:
    """The record of an entry this server wrote itself (its own bucket), unchecked."""
    return json.loads(data)["record"]


def batch_of(record: dict) -> BatchKey | None:
    try:
        return BatchKey(record.get("batch_id"), record.get("submission_date"))
    except (ValueError, TypeError):
        return None


def differences(own: dict, peer: dict) -> list[str]:
    """The agreed fields the two servers' records of one batch differ in."""
    return [name for name in AGREED_FIELDS if own.get(name) != peer.get(name)]


class BrokenLog(ValueError):
    """The log's entries are not numbered 0, 1, 2, ... without a gap: nothing is appended."""


class ReleaseLog:
    """One server's log in its private bucket. Several publisher instances may append at once:
    an entry number is taken by whoever creates it first (create-only), the others retry."""

    def __init__(self, storage: Storage, bucket: str):
        self.storage, self.bucket = storage, bucket

    def entries(self) -> list[str]:
        names = [n for n in self.storage.list(self.bucket, layout.RELEASE_LOG_PREFIX)
                 if layout.release_entry_seq(n) is not None]
        for seq, name in enumerate(names):
            if layout.release_entry_seq(name) != seq:
                raise BrokenLog(f"{layout.release_entry(seq)} is missing (the log goes on at "
                                f"{name}); check it with `prio-stream releases verify`")
        return names

    def append(self, key: BatchKey, record: dict, signing_key: bytes) -> bytes:
        """The batch's signed entry, appended once: a redelivery, or another instance racing
        this one, finds the entry it appended after the batch's floor instead."""
        floor = self._floor(key)
        while True:
            names = self.entries()
            for name in names[floor:]:
                data = self.storage.read(self.bucket, name)
                if batch_of(record_of(data)) == key:
                    return data
            previous = digest(self.storage.read(self.bucket, names[-1])) if names else GENESIS
            data = sign({**record, "seq": len(names), "previous": previous}, signing_key)
            if self.storage.create(self.bucket, layout.release_entry(len(names)), data):
                return data
            floor = len(names)  # another batch took the number: look at it, then go on

    def _floor(self, key: BatchKey) -> int:
        """The log's length when the batch first tried to append (stored create-only): its
        entry, if any, is at or after it, so a retry reads only the entries since."""
        name = layout.batch_record(key, "release_floor.json")
        self.storage.create(self.bucket, name, canonical({"floor": len(self.entries())}))
        return int(json.loads(self.storage.read(self.bucket, name))["floor"])


@dataclasses.dataclass
class CheckedRelease:
    """One entry of a log as `releases verify` shows it."""

    name: str
    record: dict
    peer: str  # "agreed", or what is wrong with the peer's record


def verify_log(storage: Storage, bucket: str, keys: dict[str, bytes]) -> tuple[list, list[str]]:
    """(the entries, the problems, each naming its object): the chain, every signature under
    keys ({"A": raw, "B": raw}), the copies beside the results, and the peer's record of each."""
    checked, problems = [], []
    previous, server = GENESIS, None
    names = [n for n in storage.list(bucket, layout.RELEASE_LOG_PREFIX)
             if layout.release_entry_seq(n) is not None]
    entries = {}
    for expected, name in enumerate(names):
        if layout.release_entry_seq(name) != expected:
            problems.append(f"{layout.release_entry(expected)}: missing (the log goes on at "
                            f"{name}): a record was removed")
            break
        data = storage.read_at_most(bucket, name, MAX_RECORD_BYTES)
        entries[name] = data
        try:
            record = _check_entry(data, expected, previous, server, keys)
        except BadRecord as error:
            problems.append(f"{name}: {error}")
            break
        server, previous = record["server"], digest(data)
        checked.append(CheckedRelease(name, record, _peer_check(storage, bucket, record, keys)))
    problems += [f"{c.name}: {c.record['batch_id']} {c.record['submission_date']}: {c.peer}"
                 for c in checked if c.peer != "agreed"]
    problems += _copies_missing(storage, bucket, set(names), entries)
    return checked, problems


def _check_entry(data: bytes, seq: int, previous: str, server: str | None,
                 keys: dict[str, bytes]) -> dict:
    try:
        claimed = record_of(data).get("server")
    except (ValueError, TypeError, KeyError, AttributeError):
        raise BadRecord("not a signed release record") from None
    if claimed not in keys or (server is not None and claimed != server):
        raise BadRecord(f"names server {str(claimed)[:8]!r}, not this log's")
    record = open_signed(data, keys[claimed])
    if record.get("seq") != seq:
        raise BadRecord(f"says it is entry {record.get('seq')!r}, not {seq}")
    if record.get("previous") != previous:
        raise BadRecord("its previous digest is not that of the entry before it: that entry "
                        "was changed or removed")
    if batch_of(record) is None:
        raise BadRecord("names no valid batch")
    return record


def _peer_check(storage: Storage, bucket: str, record: dict, keys: dict[str, bytes]) -> str:
    peer_server = "B" if record["server"] == "A" else "A"
    data = storage.read_or_none(bucket, layout.peer_release(batch_of(record)))
    if data is None:
        return "no record of the peer's has arrived"
    try:
        peer = open_signed(data, keys[peer_server])
    except BadRecord as error:
        return f"the peer's record: {error} under server {peer_server}'s key"
    differ = differences(record, peer)
    return f"the peer's record differs in {', '.join(differ)}" if differ else "agreed"


def _copies_missing(storage: Storage, bucket: str, listed: set[str],
                    entries: dict[str, bytes]) -> list[str]:
    """A record beside a result that the log does not hold as signed: its entry was removed
    (the last one leaves no gap) or changed. Entries after a broken one were not read: their
    copies are not compared."""
    problems = []
    for name in storage.list(bucket, layout.PROCESSED):
        if not name.endswith("/release.json"):
            continue
        data = storage.read_at_most(bucket, name, MAX_RECORD_BYTES)
        try:
            entry = layout.release_entry(int(record_of(data)["seq"]))
        except (ValueError, TypeError, KeyError):
            problems.append(f"{name}: not a release record")
            continue
        if entry not in listed or (entry in entries and entries[entry] != data):
            problems.append(f"{name}: the log does not hold this record as {entry}: that entry "
                            "was removed or changed")
    return problems


def status(storage: Storage, bucket: str, key: BatchKey) -> dict | None:
    """What batch status shows of the batch's release: None before this server released it."""
    own = storage.read_or_none(bucket, layout.release(key))
    if own is None:
        return None
    record = record_of(own)
    compared = storage.read_or_none(bucket, layout.batch_record(key, "release.json"))
    return {"seq": record.get("seq"), "counts_sha256": record.get("counts_sha256"),
            # None until the peer's record arrives; then true, or false with the differences.
            "agreed": json.loads(compared)["agreed"] if compared else None,
            "differences": json.loads(compared)["differences"] if compared else []}
