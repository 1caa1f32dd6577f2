"""The resume sweep: work whose trigger message was lost (dead-lettered after repeated
crashes, or gone with a broker outage) is started again from storage, without an operator.

A partition unfinished at two sweeps in a row is resumed:
- notice stored in the inbox but no own verify1 -> loaded from the stored notice, as if it
  had just arrived (its notice was lost: e.g. the Pub/Sub emulator restarted). Ingest stores
  each notice after the partition's manifest, so a share file left by a failed flush (no
  notice, its reports redone under another partition id) is never loaded;
- own verify1 stored but not verified -> own verify1 (and verify2, if any) sent to the peer
  again, which answers with what it has;
- verified but not aggregated -> PartitionVerified published again.
Every step it triggers is idempotent, so a resume of work that was only slow costs a repeat,
nothing more.
"""

from __future__ import annotations

import logging

from services.common import topology
from services.common.periodic import periodic
from services.protocol import layout, pb, status
from services.verifier.verification import Verification

log = logging.getLogger("prio_stream.verifier")


class ResumeSweep:
    def __init__(self, ctx, verification: Verification):
        self.storage = ctx.storage
        self.settings = ctx.settings
        self.verification = verification
        self._unfinished: set = set()
        self.run = periodic(ctx.settings.sweep_interval_seconds, self.sweep, "resume sweep")

    def sweep(self) -> int:
        """One round; returns how many partitions it resumed."""
        private = self.settings.private_bucket
        unfinished = set()
        for key in status.batches(self.storage, self.settings):
            ids = {step: set(layout.partition_ids(self.storage.list(
                private, layout.internal_prefix(step, key))))
                for step in ("verify1", "verify2", "verified", "aggregate")}
            notified = set(layout.partition_ids(self.storage.list(
                self.settings.inbox_bucket, layout.notice_prefix(key))))
            unfinished |= {(key, pid, "aggregate") for pid in ids["verified"] - ids["aggregate"]}
            unfinished |= {(key, pid, "verify") for pid in ids["verify1"] - ids["verified"]}
            unfinished |= {(key, pid, "load") for pid in notified - ids["verify1"]}
        resumed = 0
        for key, pid, step in sorted(unfinished & self._unfinished):
            try:
                self._resume(key, pid, step)
            except Exception:  # one partition's failure must not stop the rest
                log.warning("resume failed; next round retries",
                            extra={"partition_id": pid, "step": step}, exc_info=True)
                continue
            resumed += 1
        self._unfinished = unfinished
        return resumed

    def _resume(self, key, pid: str, step: str) -> None:
        private = self.settings.private_bucket
        part = key.partition(pid)
        log.info("resuming a partition", extra={"partition_id": pid, "step": step})
        if step == "load":
            notice = pb.PartitionNotice.FromString(self.storage.read(
                self.settings.inbox_bucket, part.notice()))
            self.verification.on_partition(notice)
            return
        if step == "aggregate":
            # The record's name is its partition's: the key listed is the one it carries.
            self.verification.publish_verified(part, self.storage.read(
                private, part.internal("verified")))
            return
        for name, kind, topic in (("verify1", pb.Verify1Partition, topology.VERIFY1),
                                  ("verify2", pb.Verify2Partition, topology.VERIFY2)):
            data = self.storage.read_or_none(private, part.internal(name))
            if data is not None:
                self.verification.send(topic, kind.FromString(data))
