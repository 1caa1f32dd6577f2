"""A batch's total share: the sum of exactly the agreed partitions' totals, less the later
copies of a report (repeats), sent to both publishers unless below MIN_BATCH_SIZE."""

from __future__ import annotations

import json
import logging
from collections import Counter

import libprio_ctypes as prio
from services.aggregator import repeats
from services.aggregator.records import BatchRecords
from services.common import telemetry, topology
from services.protocol import hints, layout, outcome, pb, retry
from services.protocol.layout import BatchKey

log = logging.getLogger("prio_stream.aggregator")


class TotalShares:
    def __init__(self, ctx):
        self.records = BatchRecords(ctx)
        self.storage, self.settings = ctx.storage, ctx.settings
        self.private = ctx.settings.private_bucket
        self.keys = self.records.keys

    def send(self, key: BatchKey, pids: list[str]) -> None:
        """Sums exactly the agreed partitions' stored totals; sends to own and peer publisher,
        unless they hold fewer than MIN_BATCH_SIZE valid reports: then the share never leaves
        this server (the peer could otherwise combine it with its own)."""
        with self.records.span("aggregator.total_share", key, partitions=len(pids)) as span:
            self._share(key, pids, span)

    def _share(self, key: BatchKey, pids: list[str], span) -> None:
        name = layout.batch_record(key, "total_share.pb")
        data = self.storage.read_or_none(self.private, name)
        if data is None:
            data = self._sum(key, pids).SerializeToString()
            self.storage.create(self.private, name, data)
            data = self.storage.read(self.private, name)
        total = pb.TotalShare.FromString(data)
        span.set_attributes(telemetry.attributes(reports=total.report_count,
                                                 valid_reports=total.valid_count))
        valid = total.valid_count
        fields = self._log_fields(key, total)
        if valid < self.settings.min_batch_size:
            reason = (f"{valid} valid reports, fewer than MIN_BATCH_SIZE="
                      f"{self.settings.min_batch_size}")
            self.storage.create(self.private, layout.batch_record(key, "status.json"),
                                json.dumps({"published": False, "reason": reason}).encode())
            log.warning("batch below the minimum size: total share withheld",
                        extra={**fields, "transition": "refused", "reason": reason})
            return
        for project in (self.settings.project_id, self.settings.peer_project_id):
            retry.publish(self.records.transport, project, topology.TOTAL_SHARES, data,
                          self.settings, key.attributes())
        log.log(logging.WARNING if "likely_cause" in fields else logging.INFO,
                "batch total share sent", extra={**fields, "transition": "total_share"})

    def _log_fields(self, key: BatchKey, total: pb.TotalShare) -> dict:
        """The batch's counts by reason, and the likely cause when nearly all its reports
        fail for one reason: what the batch's log lines carry (never the share)."""
        rejected = dict(sorted(total.rejected.items()))
        cause = hints.likely_cause(rejected, total.report_count)
        return {**key.attributes(), "server": self.keys.server_id,
                "reports": total.report_count, "valid": total.valid_count,
                "rejected": rejected, **({"likely_cause": cause} if cause else {})}

    def _sum(self, key: BatchKey, pids: list[str]) -> pb.TotalShare:
        totals = [pb.PartitionTotal.FromString(self.storage.read(
            self.private, layout.internal("aggregate", key, pid))) for pid in pids]
        config = self.keys.config(key.batch_id)
        state = prio.sum_states(config, [t.state for t in totals])
        rejected: Counter[str] = Counter()
        for total in totals:
            rejected.update(dict(total.rejected))
        found = repeats.find(self.storage, self.settings, self.keys, key, pids)
        if found.state is not None:
            state = prio.state_difference(config, state, found.state)
            rejected[outcome.REPLAYED] += found.valid
        return pb.TotalShare(
            batch_id=key.batch_id, submission_date=key.submission_date,
            sender=self.keys.pb_server,
            total_share=prio.total_share_from_state(config, self.keys.server_id, state),
            partition_ids=pids, report_count=sum(t.report_count for t in totals),
            valid_count=sum(t.valid_count for t in totals) - found.valid,
            rejected=dict(rejected))
