"""Writing a partition: share A to server A's inbox, share B to server B's, then the notices.

Order of a write (each step create-only under a name fixed before the first step):
  1. both share files (same ids, same order), 2. the manifest of its report ids (the
  anti-replay index, in A's inbox), 3. a PartitionNotice to each server.
A report found in a manifest is a duplicate; if its partition was not notified by this
process, the notices are sent again (step 3 may not have happened before a crash), which
the verifiers absorb: their outputs are create-only.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Sequence

from services.common import pb, topology
from services.ingest.pings import Rejection, Report
from services.protocol import layout, retry, shares
from services.protocol.layout import BatchKey

log = logging.getLogger("prio_stream.ingest")


class AntiReplay:
    """report id -> partition id of every partition written for a batch, from the manifests.

    Each process keeps what it has read and reads only manifests new since (other ingest
    instances write them too), once per flush of the batch.
    """

    def __init__(self, storage, bucket: str):
        self.storage, self.bucket = storage, bucket
        self._partitions: dict[BatchKey, dict[str, str]] = {}
        self._manifests: dict[BatchKey, set[str]] = {}
        self._lock = threading.Lock()

    def refresh(self, key: BatchKey) -> dict[str, str]:
        with self._lock:
            index = self._partitions.setdefault(key, {})
            known = self._manifests.setdefault(key, set())
            for name in self.storage.list(self.bucket, layout.ingest_manifest_prefix(key)):
                if name not in known:
                    manifest = json.loads(self.storage.read(self.bucket, name))
                    index.update(dict.fromkeys(manifest["report_ids"], manifest["partition_id"]))
                    known.add(name)
            return index

    def add(self, key: BatchKey, pid: str, report_ids: Sequence[str]) -> None:
        with self._lock:
            self._partitions.setdefault(key, {}).update(dict.fromkeys(report_ids, pid))
            self._manifests.setdefault(key, set()).add(layout.ingest_manifest(key, pid))


class PartitionWriter:
    def __init__(self, ctx):
        self.storage = ctx.storage
        self.transport = ctx.transport
        self.settings = ctx.settings
        self.anti_replay = AntiReplay(ctx.storage, ctx.settings.inbox_bucket)
        self._notified: set[tuple[BatchKey, str]] = set()
        self.reports = ctx.telemetry.counter("prio.ingest.reports", description="by outcome")

    def write(self, key: BatchKey, pid: str, reports: Sequence[Report]) -> Counter[str]:
        """Writes the reports not written before; returns counts of duplicates dropped."""
        index = self.anti_replay.refresh(key)
        fresh, seen = [], set()
        duplicates: Counter[str] = Counter()
        for report in reports:
            earlier = index.get(report.report_id)
            # earlier == pid: this very partition, written in part before a retry.
            if report.report_id in seen or earlier not in (None, pid):
                duplicates["duplicate"] += 1
                if earlier not in (None, pid):
                    self._renotify(key, earlier)
                continue
            seen.add(report.report_id)
            fresh.append(report)
        if fresh:
            self._write_new(key, pid, fresh)
        self.reports.add(len(fresh), {"outcome": "written"})
        self.reports.add(sum(duplicates.values()), {"outcome": "duplicate"})
        return duplicates

    def _write_new(self, key: BatchKey, pid: str, reports: Sequence[Report]) -> None:
        report_ids = [r.report_id for r in reports]
        name = layout.raw(key, pid)
        self.storage.create(self.settings.inbox_bucket, name, shares.encode(
            shares.ShareLine(r.report_id, r.share_a) for r in reports))
        self.storage.create(self.settings.peer_inbox_bucket, name, shares.encode(
            shares.ShareLine(r.report_id, r.share_b) for r in reports))
        manifest = {"partition_id": pid, "report_ids": report_ids}
        self.storage.create(self.settings.inbox_bucket, layout.ingest_manifest(key, pid),
                            json.dumps(manifest).encode())
        self.anti_replay.add(key, pid, report_ids)
        self._notify(key, pid, report_ids)

    def _renotify(self, key: BatchKey, pid: str) -> None:
        if (key, pid) in self._notified:
            return
        manifest = json.loads(self.storage.read(self.settings.inbox_bucket,
                                                layout.ingest_manifest(key, pid)))
        log.info("notifying a partition again", extra={"partition_id": pid})
        self._notify(key, pid, manifest["report_ids"])

    def _notify(self, key: BatchKey, pid: str, report_ids: Sequence[str]) -> None:
        ref = pb.PartitionRef(batch_id=key.batch_id, submission_date=key.date, partition_id=pid)
        targets = ((self.settings.project_id, self.settings.inbox_bucket),
                   (self.settings.peer_project_id, self.settings.peer_inbox_bucket))
        for project, bucket in targets:
            notice = pb.PartitionNotice(
                partition=ref, bucket=bucket, object_name=layout.raw(key, pid),
                report_count=len(report_ids), schema_version=shares.SCHEMA_VERSION,
                report_ids_sha256=shares.ids_digest(report_ids))
            retry.publish(self.transport, project, topology.PARTITIONS,
                          notice.SerializeToString(), self.settings,
                          {"batch_id": key.batch_id, "submission_date": key.date,
                           "partition_id": pid})
        self._notified.add((key, pid))

    def record_outcomes(self, flush_id: str, outcomes: Counter[tuple[str, str, str]]) -> None:
        """Counts of (batch_id, date, reason) of reports not written, durable before the ack."""
        by_date: dict[str, list[dict]] = {}
        for (batch_id, date, reason), count in sorted(outcomes.items()):
            by_date.setdefault(date, []).append(
                {"batch_id": batch_id, "reason": reason, "count": count})
        for date, counts in by_date.items():
            self.storage.create(self.settings.inbox_bucket,
                                layout.ingest_outcomes(date, flush_id),
                                json.dumps({"counts": counts}).encode())
        rejected = sum(n for (_, _, reason), n in outcomes.items() if reason != "duplicate")
        self.reports.add(rejected, {"outcome": "rejected"})


def rejection_outcomes(rejections: Sequence[Rejection]) -> Counter[tuple[str, str, str]]:
    return Counter((r.batch_id, r.date, r.reason) for r in rejections)
