"""The identity of a batch and of a partition, and the object names of docs/architecture.md
built from it, in one place: every stage's output has one name."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from services.common import telemetry
from services.protocol import pb

MAX_BATCH_ID = 256
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# What ingest and import mint (a timestamp or "import-<digest>", then a counter or random
# hex): a name, never a path, and short enough for every store's object-name limit.
_PARTITION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


def partition_id(pid: str) -> str:
    """pid, if it is a valid partition id; raises ValueError otherwise (a peer's or a notice's
    partition id never becomes an object name unchecked)."""
    if not isinstance(pid, str) or not _PARTITION_ID.fullmatch(pid):
        raise ValueError(f"invalid partition id {pid[:40]!r}" if isinstance(pid, str)
                         else "invalid partition id")
    return pid


@dataclasses.dataclass(frozen=True, order=True)
class BatchKey:
    """A batch as the servers close and publish it: one batch id on one submission date."""

    batch_id: str
    submission_date: str

    def __post_init__(self):
        if (not isinstance(self.batch_id, str) or not self.batch_id
                or len(self.batch_id) > MAX_BATCH_ID or "/" in self.batch_id
                or self.batch_id.startswith(".") or not self.batch_id.isprintable()):
            raise ValueError("invalid batch id")
        date = self.submission_date
        if not isinstance(date, str) or not _DATE.fullmatch(date):
            raise ValueError("submission date must be YYYY-MM-DD")
        dt.date.fromisoformat(date)  # a real day: 2025-13-01 is refused

    @classmethod
    def of(cls, message) -> BatchKey:
        """The batch a message names (BatchClose, TotalShare, PartitionRef, ...)."""
        return cls(message.batch_id, message.submission_date)

    def partition(self, pid: str) -> PartitionKey:
        return PartitionKey(self, pid)

    def attributes(self) -> dict[str, str]:
        """As message attributes, log fields and replies name it. Not secret: lets an operator
        find a batch's messages without decoding them."""
        return {"batch_id": self.batch_id, "submission_date": self.submission_date}

    def span_attributes(self, server_id: str | None, **counts: int) -> dict[str, str | int]:
        return telemetry.attributes(server_id, self.attributes(), **counts)

    @property
    def folder(self) -> str:
        return f"batch_id={self.batch_id}/submission_date={self.submission_date}"


@dataclasses.dataclass(frozen=True, order=True)
class PartitionKey:
    """One partition of a batch: what every per-partition message and record is about."""

    batch: BatchKey
    partition_id: str

    def __post_init__(self):
        partition_id(self.partition_id)

    @classmethod
    def from_ref(cls, ref: pb.PartitionRef) -> PartitionKey:
        """Raises ValueError for a reference no valid partition has (a peer's or a notice's
        reference never becomes an object name unchecked)."""
        return cls(BatchKey.of(ref), ref.partition_id)

    def to_ref(self) -> pb.PartitionRef:
        return pb.PartitionRef(batch_id=self.batch.batch_id,
                               submission_date=self.batch.submission_date,
                               partition_id=self.partition_id)

    @property
    def batch_id(self) -> str:
        return self.batch.batch_id

    @property
    def submission_date(self) -> str:
        return self.batch.submission_date

    def attributes(self) -> dict[str, str]:
        return {**self.batch.attributes(), "partition_id": self.partition_id}

    def span_attributes(self, server_id: str | None, **counts: int) -> dict[str, str | int]:
        return telemetry.attributes(server_id, self.attributes(), **counts)

    def raw(self) -> str:
        return raw(self.batch, self.partition_id)

    def notice(self) -> str:
        return notice(self.batch, self.partition_id)

    def internal(self, step: str) -> str:
        return internal(step, self.batch, self.partition_id)

    def external(self, step: str) -> str:
        return external(step, self.batch, self.partition_id)


# --- inbox (written by ingest)

RAW = "raw/"  # every share file of an inbox, listed to find the batches received


def raw(key: BatchKey, pid: str) -> str:
    return f"{raw_prefix(key)}{partition_id(pid)}.ndjson"


def raw_prefix(key: BatchKey) -> str:
    return f"{RAW}{key.folder}/"


def notice(key: BatchKey, pid: str) -> str:
    """The PartitionNotice ingest publishes for this inbox's share file, stored before it is
    published: it marks the partition as complete (manifest written), so that the verifier's
    resume sweep can load a partition whose notice was lost, and never the share file of a
    failed flush (which has no notice)."""
    return f"notices/{key.folder}/{partition_id(pid)}.pb"


def notice_prefix(key: BatchKey) -> str:
    return f"notices/{key.folder}/"


def ingest_manifest(key: BatchKey, pid: str) -> str:
    """The report ids (and content fingerprints) of a written partition: ingest's anti-replay
    store, in INGEST_BUCKET, sharded by submission date so that a whole expired day is one
    prefix to delete."""
    return f"{ingest_manifest_prefix(key)}{partition_id(pid)}.json"


def ingest_manifest_prefix(key: BatchKey) -> str:
    return f"{ingest_shard_prefix(key.submission_date)}batch_id={key.batch_id}/"


INGEST_SHARDS = "anti-replay/"  # every shard of ingest's anti-replay store


def ingest_shard_prefix(date: str) -> str:
    return f"{INGEST_SHARDS}submission_date={date}/"


_SHARD = re.compile(r"anti-replay/submission_date=(\d{4}-\d{2}-\d{2})/batch_id=([^/]+)/")


def ingest_shard_dates(names: list[str]) -> list[str]:
    """The distinct submission dates of anti-replay shards a listing names, sorted."""
    return sorted({m.group(1) for name in names if (m := _SHARD.match(name))})


def ingest_batches_under(names: list[str]) -> list[BatchKey]:
    return _valid_keys((m.group(2), m.group(1)) for name in names if (m := _SHARD.match(name)))


def ingest_outcomes(date: str, flush_id: str) -> str:
    """Counts of reports ingest rejected (by reason) or dropped as duplicates in one flush."""
    return f"outcomes/submission_date={date}/{flush_id}.json"


def ingest_outcomes_prefix(date: str) -> str:
    return f"outcomes/submission_date={date}/"


# --- private (one server's own records)

def internal(step: str, key: BatchKey, pid: str) -> str:
    """step: state, loaded_sum, report_ids, seen, keys, verify1, verify2, verified, aggregate."""
    suffix = {"state": "bin", "loaded_sum": "bin", "seen": "bin", "report_ids": "txt",
              "keys": "json"}.get(step, "pb")
    return f"intermediate/internal/{step}/{key.folder}/{partition_id(pid)}.{suffix}"



def external(step: str, key: BatchKey, pid: str) -> str:
    """step: verify1, verify2 (what the peer sent, as received)."""
    return f"intermediate/external/{step}/{key.folder}/{partition_id(pid)}.pb"


def internal_prefix(step: str, key: BatchKey) -> str:
    return f"intermediate/internal/{step}/{key.folder}/"


def external_prefix(step: str, key: BatchKey) -> str:
    return f"intermediate/external/{step}/{key.folder}/"


def batch_record(key: BatchKey, record: str) -> str:
    """record: close.pb (the agreed partition list), total_share.pb, status.json."""
    return f"intermediate/internal/batch/{key.folder}/{record}"


def peer_total_share(key: BatchKey) -> str:
    return f"intermediate/external/aggregate/{key.folder}/total_share.pb"


PROCESSED = "processed/"  # every published result of a private bucket


def result(key: BatchKey) -> str:
    return f"{PROCESSED}{key.folder}/result.json"


def release(key: BatchKey) -> str:
    """This server's signed release record of the batch, beside its result (a copy of its
    entry in the release log)."""
    return f"processed/{key.folder}/release.json"


def peer_release(key: BatchKey) -> str:
    """The peer's signed release record of the batch, as received: kept as long as the log
    (no retention rule deletes it), so `releases verify` compares every release."""
    return f"peer-releases/{key.folder}/release.json"


RELEASE_LOG_PREFIX = "releases/"
_RELEASE_ENTRY = re.compile(r"releases/([0-9]{8})\.json")


def release_entry(seq: int) -> str:
    """Entry seq of the release log (a hash chain: each entry holds the previous one's digest)."""
    return f"{RELEASE_LOG_PREFIX}{seq:08d}.json"


def release_entry_seq(name: str) -> int | None:
    """The sequence number of a log entry's name; None for any other name."""
    match = _RELEASE_ENTRY.fullmatch(name)
    return int(match.group(1)) if match else None


def trace(key: BatchKey, pid: str) -> str:
    """The W3C traceparent of a partition's aggregation (only while telemetry is exported)."""
    return f"{internal_prefix('trace', key)}{partition_id(pid)}.traceparent"


def partition_ids(names: list[str]) -> list[str]:
    """The partition ids of a listing under one of the per-partition prefixes."""
    return [name.rsplit("/", 1)[1].rsplit(".", 1)[0] for name in names]


_FOLDER = re.compile(r"batch_id=([^/]+)/submission_date=(\d{4}-\d{2}-\d{2})/")


def batches_under(names: list[str]) -> list[BatchKey]:
    """The distinct batches a listing names, sorted."""
    return _valid_keys(m.groups() for name in names if (m := _FOLDER.search(name)))


def _valid_keys(pairs) -> list[BatchKey]:
    """Keys of (batch id, date) pairs; a name no valid key could have written (e.g. a date
    2026-13-45 in a bucket an operator filled by hand) is skipped, never a failed listing."""
    found = set()
    for batch_id, date in pairs:
        try:
            found.add(BatchKey(batch_id, date))
        except ValueError:
            continue
    return sorted(found)
