"""Writing a partition: share A to server A's inbox, share B to server B's, then the notices.

Order of a write (each step create-only under a name fixed before the first step):
  1. both share files (same ids, same order), 2. the manifest of its report ids and content
  fingerprints (the anti-replay store, in INGEST_BUCKET), 3. a PartitionNotice to each server.
A report found in a manifest with the same content and submission date is a duplicate
delivery: dropped, and if its partition was not notified by this process, the notices are
sent again (step 3 may not have happened before a crash; the verifiers absorb repeats). A
report id found with another content, or under an earlier date within REPLAY_RETENTION_DAYS,
is a replay: rejected as REPLAYED.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Sequence

from services.common import topology
from services.ingest.pings import Rejection, Report
from services.protocol import fingerprints, layout, outcome, pb, retry, shares
from services.protocol.fingerprints import FingerprintMap
from services.protocol.layout import BatchKey

log = logging.getLogger("prio_stream.ingest")
DUPLICATE = "duplicate"  # not a rejection: the same report delivered again
SIZE_BUCKETS = [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000]


@dataclasses.dataclass(frozen=True)
class Seen:
    key: BatchKey
    partition_id: str
    content: int  # 32 bits of the report's content fingerprint

    def same_content(self, report: Report) -> bool:
        return self.content == _content(report)


class AntiReplay:
    """report id -> where it was first written, over the shards of a retention window: a first
    filter only (each server keeps its own anti-replay by content and trusts none of this).

    Shards are submission dates; each process keeps the manifests it has read and reads only
    manifests new since (other ingest instances write them too), once per flush. Per report it
    holds 16 bytes: a 64-bit digest of the id -> 32 bits of the content fingerprint and the
    index of its manifest (services/protocol/fingerprints.py).
    """

    def __init__(self, storage, bucket: str, retention_days: int):
        self.storage, self.bucket, self.retention = storage, bucket, retention_days
        self._shards: dict[str, FingerprintMap] = {}  # submission date -> ids
        self._partitions: list[tuple[BatchKey, str]] = []  # manifest index -> its partition
        self._manifests: set[str] = set()
        self._lock = threading.Lock()

    def window(self, date: str) -> list[str]:
        day = dt.date.fromisoformat(date)
        days = min(self.retention, (day - dt.date.min).days)  # no overflow before year 1
        return [(day - dt.timedelta(days=i)).isoformat() for i in range(days + 1)]

    def refresh(self, date: str) -> AntiReplay:
        for shard in self.window(date):
            for name in self.storage.list(self.bucket, layout.ingest_shard_prefix(shard)):
                with self._lock:
                    known = name in self._manifests
                if not known:
                    self._load(name, json.loads(self.storage.read(self.bucket, name)))
        return self

    def get(self, report_id: str) -> Seen | None:
        """Where the id was first written (the earliest date, then partition id), if it was."""
        digest = fingerprints.of_text(report_id)
        with self._lock:
            found = [(self._partitions[v & 0xFFFFFFFF], v >> 32)
                     for shard in self._shards.values() for v in shard.get(digest)]
        if not found:
            return None
        (key, pid), content = min(found, key=lambda f: (f[0][0].submission_date, f[0][1]))
        return Seen(key, pid, content)

    def _load(self, name: str, manifest: dict) -> None:
        key = BatchKey(manifest["batch_id"], manifest["submission_date"])
        with self._lock:
            if name in self._manifests:
                return
            self._manifests.add(name)
            index = len(self._partitions)
            self._partitions.append((key, manifest["partition_id"]))
            self._shards.setdefault(key.submission_date, FingerprintMap()).update(
                (fingerprints.of_text(rid), (int(fp[:8], 16) << 32) | index)
                for rid, fp in zip(manifest["report_ids"], manifest["fingerprints"],
                                   strict=True))

    def add(self, manifest: dict) -> None:
        key = BatchKey(manifest["batch_id"], manifest["submission_date"])
        self._load(layout.ingest_manifest(key, manifest["partition_id"]), manifest)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(shard.nbytes for shard in self._shards.values())

    def expire(self, today: dt.date) -> int:
        """Deletes the shards older than the retention window; returns how many objects."""
        oldest = (today - dt.timedelta(days=self.retention)).isoformat()
        deleted = 0
        for date in layout.ingest_shard_dates(self.storage.list(self.bucket, layout.INGEST_SHARDS)):
            if date < oldest:
                for name in self.storage.list(self.bucket, layout.ingest_shard_prefix(date)):
                    self.storage.delete(self.bucket, name)
                    deleted += 1
        with self._lock:
            for date in [d for d in self._shards if d < oldest]:
                del self._shards[date]
        return deleted


def _content(report: Report) -> int:
    return int(report.fingerprint[:8], 16)


class PartitionWriter:
    def __init__(self, ctx):
        self.storage = ctx.storage
        self.transport = ctx.transport
        self.settings = ctx.settings
        self.bucket = ctx.settings.ingest_bucket
        self.anti_replay = AntiReplay(ctx.storage, self.bucket,
                                      ctx.settings.replay_retention_days)
        self._notified: set[tuple[BatchKey, str]] = set()
        self.telemetry = ctx.telemetry
        self.reports = outcome.reports_counter(ctx.telemetry)
        self.partition_size = ctx.telemetry.histogram(
            "prio.partition.size", unit="{report}", boundaries=SIZE_BUCKETS,
            description="reports per partition written")

    def write(self, key: BatchKey, pid: str, reports: Sequence[Report]) -> list[Rejection]:
        """Writes the reports not written before; returns those dropped, as "duplicate" (not
        a rejection) or REPLAYED."""
        seen_before = self.anti_replay.refresh(key.submission_date)
        fresh: dict[str, Report] = {}
        dropped: list[Rejection] = []
        for report in reports:
            earlier = seen_before.get(report.report_id)
            here = fresh.get(report.report_id)
            if here is not None:
                dropped.append(classify(report, here.fingerprint))
            elif earlier is None or (earlier.key, earlier.partition_id) == (key, pid):
                fresh[report.report_id] = report  # new, or this very partition retried
            elif earlier.key == key and earlier.same_content(report):
                dropped.append(classify(report, report.fingerprint))
                self._renotify(earlier.key, earlier.partition_id)
            else:
                dropped.append(replayed(report))
        if fresh:
            self._write_new(key, pid, list(fresh.values()))
            # Dropped reports are counted once recorded (record_outcomes).
            self.reports.add(len(fresh), {"prio.server_id": "ingest", "prio.outcome": "written",
                                          "prio.reason": "", "prio.batch_id": key.batch_id})
            self.partition_size.record(len(fresh), {"prio.server_id": "ingest",
                                                    "prio.batch_id": key.batch_id})
        return dropped

    def _write_new(self, key: BatchKey, pid: str, reports: Sequence[Report]) -> None:
        report_ids = [r.report_id for r in reports]
        name = layout.raw(key, pid)
        self.storage.create(self.settings.inbox_bucket, name, shares.encode(
            shares.ShareLine(r.report_id, r.share_a) for r in reports))
        self.storage.create(self.settings.peer_inbox_bucket, name, shares.encode(
            shares.ShareLine(r.report_id, r.share_b) for r in reports))
        manifest = {**key.partition(pid).attributes(), "report_ids": report_ids,
                    "fingerprints": [r.fingerprint for r in reports]}
        self.storage.create(self.bucket, layout.ingest_manifest(key, pid),
                            json.dumps(manifest).encode())
        self.anti_replay.add(manifest)
        self._notify(key, pid, report_ids)

    def notify_again(self, key: BatchKey, pid: str) -> None:
        """A written partition's notices, sent again (a run resumed after a crash)."""
        self._renotify(key, pid)

    def _renotify(self, key: BatchKey, pid: str) -> None:
        if (key, pid) in self._notified:
            return
        manifest = json.loads(self.storage.read(self.bucket, layout.ingest_manifest(key, pid)))
        log.info("notifying a partition again", extra={"partition_id": pid})
        self._notify(key, pid, manifest["report_ids"])

    def _notify(self, key: BatchKey, pid: str, report_ids: Sequence[str]) -> None:
        part = key.partition(pid)
        targets = ((self.settings.project_id, self.settings.inbox_bucket),
                   (self.settings.peer_project_id, self.settings.peer_inbox_bucket))
        notices = [(project, bucket, pb.PartitionNotice(
            partition=part.to_ref(), bucket=bucket, object_name=part.raw(),
            report_count=len(report_ids), schema_version=shares.SCHEMA_VERSION,
            report_ids_sha256=shares.ids_digest(report_ids)).SerializeToString())
            for project, bucket in targets]
        # Both stored first (create-only, deterministic): a notice lost with the broker is
        # found by the verifier's resume sweep, which loads only partitions that have one.
        for _, bucket, data in notices:
            self.storage.create(bucket, part.notice(), data)
        for project, _, data in notices:
            retry.publish(self.transport, project, topology.PARTITIONS, data, self.settings,
                          part.attributes())
        self._notified.add((key, pid))

    def record_outcomes(self, flush_id: str, outcomes: dict[str, tuple[str, str, str]]) -> None:
        """Reports not written, id -> (batch_id, date, reason), durable before the ack. Status
        counts distinct ids, so a record written again after a crash counts nothing twice."""
        by_date: dict[str, list[dict]] = {}
        for rid, (batch_id, date, reason) in sorted(outcomes.items()):
            by_date.setdefault(date, []).append(
                {"id": rid, "batch_id": batch_id, "reason": reason})
        for date, items in by_date.items():
            self.storage.create(self.bucket, layout.ingest_outcomes(date, flush_id),
                                json.dumps({"items": items}).encode())
        counts = Counter((batch_id, reason) for batch_id, _, reason in outcomes.values())
        for (batch_id, reason), count in counts.items():
            self.reports.add(count, {
                "prio.server_id": "ingest", "prio.batch_id": batch_id, "prio.reason": reason,
                "prio.outcome": DUPLICATE if reason == DUPLICATE else "rejected"})


def classify(report: Report, earlier_fingerprint: str) -> Rejection:
    """A report id met twice: the same content is a duplicate delivery, another a replay."""
    if report.fingerprint == earlier_fingerprint:
        return Rejection(report.batch_id, report.date, DUPLICATE, f"dup:{uuid.uuid4().hex}")
    return replayed(report)


def replayed(report: Report) -> Rejection:
    return Rejection(report.batch_id, report.date, outcome.REPLAYED,
                     f"replay:{report.date}:{report.report_id}:{report.fingerprint}")


def rejection_outcomes(rejections: Sequence[Rejection]) -> dict[str, tuple[str, str, str]]:
    return {r.id: (r.batch_id, r.date, r.reason) for r in rejections}
