"""The sum of the data shares of a partition's valid reports, kept for the batch close."""

from __future__ import annotations

import libprio_ctypes as prio
from services.common import telemetry
from services.protocol import layout, outcome, pb, shares
from services.protocol.keys import ServerKeys
from services.protocol.layout import BatchKey, PartitionKey


class PartitionTotals:
    def __init__(self, ctx):
        self.storage = ctx.storage
        self.settings = ctx.settings
        self.keys = ServerKeys(ctx.settings)
        self.telemetry = ctx.telemetry

    def on_verified(self, verified: pb.PartitionVerified) -> None:
        if verified.server != self.keys.pb_server:
            raise ValueError("another server's verification on this server's topic")
        part = PartitionKey.from_ref(verified.partition)
        with self.telemetry.stage("aggregator.partition_total", part.span_attributes(
                self.keys.server_id, reports=verified.report_count,
                valid_reports=verified.valid_count)):
            self._total(verified, part)

    def _total(self, verified: pb.PartitionVerified, part: PartitionKey) -> None:
        ref, key = verified.partition, part.batch
        name = part.internal("aggregate")
        if self.storage.exists(self.settings.private_bucket, name):
            return  # deterministic: the stored total is what this call would compute
        if self.telemetry.exporting:
            # Where the partition's trace is, for the batch close's span to link to.
            span_context = telemetry.current_context()
            if span_context is not None:
                self.storage.create(self.settings.private_bucket,
                                    layout.trace(key, part.partition_id),
                                    telemetry.to_traceparent(span_context).encode())
        valid = [o == outcome.OK for o in verified.outcome]
        total = pb.PartitionTotal(
            partition=ref, server=self.keys.pb_server, state=self._valid_sum(key, ref, valid),
            report_count=verified.report_count, valid_count=verified.valid_count,
            rejected=outcome.rejected_counts(verified.outcome))
        self.storage.create(self.settings.private_bucket, name, total.SerializeToString())

    def _valid_sum(self, key: BatchKey, ref: pb.PartitionRef, valid: list[bool]) -> bytes:
        """The sum of the valid reports' data shares: the verifier's sum of the loaded reports
        minus those of them found invalid (usually none: then nothing is decrypted again)."""
        private, pid = self.settings.private_bucket, ref.partition_id
        loaded_sum = self.storage.read_or_none(private, layout.internal("loaded_sum", key, pid))
        if loaded_sum is None:  # nothing loaded, or verified before the verifier kept the sum
            return decrypted_sum(self.storage, self.settings, self.keys, key, pid, valid)
        own = pb.Verify1Partition.FromString(
            self.storage.read(private, layout.internal("verify1", key, pid)))
        loaded = [s == outcome.OK for s in own.load_status]
        if len(loaded) != len(valid) or any(v and not ok for v, ok in zip(valid, loaded)):
            raise ValueError("the verified outcome does not match the loaded partition")
        invalid = [ok and not v for v, ok in zip(valid, loaded)]
        if not any(invalid):
            return loaded_sum
        config = self.keys.config(ref.batch_id)
        return prio.state_difference(
            config, loaded_sum,
            decrypted_sum(self.storage, self.settings, self.keys, key, pid, invalid))


def decrypted_sum(storage, settings, keys: ServerKeys, key: BatchKey, pid: str,
                  mask: list[bool]) -> bytes:
    """Decrypts the reports of the mask in a partition's file again and sums their data
    shares (the others are not even base64-decoded)."""
    lines = shares.decode(storage.read(settings.inbox_bucket, layout.raw(key, pid)))
    if len(lines) != len(mask):
        raise ValueError("the verified outcome does not match the stored partition")
    return prio.aggregate_partition(
        keys.config(key.batch_id), keys.server_id, keys.keyring,
        [shares.packet(line) or b"" if m else b"" for line, m in zip(lines, mask)], mask)
