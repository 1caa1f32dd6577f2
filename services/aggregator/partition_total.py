"""The sum of the data shares of a partition's valid reports, kept for the batch close."""

from __future__ import annotations

import libprio_ctypes as prio
from services.common import pb, telemetry
from services.protocol import layout, outcome, shares
from services.protocol.keys import ServerKeys
from services.protocol.layout import BatchKey


class PartitionTotals:
    def __init__(self, ctx):
        self.storage = ctx.storage
        self.settings = ctx.settings
        self.keys = ServerKeys(ctx.settings)
        self.telemetry = ctx.telemetry

    def on_verified(self, verified: pb.PartitionVerified) -> None:
        if verified.server != self.keys.pb_server:
            raise ValueError("another server's verification on this server's topic")
        ref = verified.partition
        with self.telemetry.stage("aggregator.partition_total", telemetry.attributes(
                self.keys.server_id, ref.batch_id, ref.submission_date, ref.partition_id,
                reports=verified.report_count, valid_reports=verified.valid_count)):
            self._total(verified)

    def _total(self, verified: pb.PartitionVerified) -> None:
        ref = verified.partition
        key = BatchKey(ref.batch_id, ref.submission_date)
        name = layout.internal("aggregate", key, ref.partition_id)
        if self.storage.exists(self.settings.private_bucket, name):
            return  # deterministic: the stored total is what this call would compute
        if self.telemetry.exporting:
            # Where the partition's trace is, for the batch close's span to link to.
            span_context = telemetry.current_context()
            if span_context is not None:
                self.storage.create(self.settings.private_bucket,
                                    trace_record(key, ref.partition_id),
                                    telemetry.to_traceparent(span_context).encode())
        lines = shares.decode(self.storage.read(self.settings.inbox_bucket,
                                                layout.raw(key, ref.partition_id)))
        mask = [o == outcome.OK for o in verified.outcome]
        if len(lines) != len(mask):
            raise ValueError("the verified outcome does not match the stored partition")
        state = prio.aggregate_partition(
            self.keys.config(ref.batch_id), self.keys.server_id, self.keys.private_key,
            [shares.packet(line) or b"" for line in lines], mask)
        total = pb.PartitionTotal(
            partition=ref, server=self.keys.pb_server, state=state,
            report_count=verified.report_count, valid_count=verified.valid_count,
            rejected=outcome.rejected_counts(verified.outcome))
        self.storage.create(self.settings.private_bucket, name, total.SerializeToString())


def trace_record(key: BatchKey, pid: str) -> str:
    """The W3C traceparent of a partition's aggregation (only while telemetry is exported)."""
    return f"{layout.internal_prefix('trace', key)}{pid}.traceparent"
