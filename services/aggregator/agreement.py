"""The agreed close of a batch: A proposes its completed partitions, B accepts once it holds them
too, and both sum exactly that list into their total shares (collect-once)."""

from __future__ import annotations

import logging

from google.protobuf import timestamp_pb2

from services.aggregator.records import BatchRecords
from services.aggregator.total_share import TotalShares
from services.common import errors
from services.protocol import layout, pb, retry
from services.protocol.layout import BatchKey

log = logging.getLogger("prio_stream.aggregator")

Kind = pb.BatchClose.Kind


class CloseConflict(ValueError):
    """The peer's agreed list differs from this server's: never resolved by retrying."""


class NotLeader(errors.Conflict):
    """Only the leader (server A) closes batches."""


class NothingAggregated(errors.Conflict):
    """A close of a batch with no aggregated partition yet."""


class Agreement:
    def __init__(self, ctx):
        self.records = BatchRecords(ctx)
        self.totals = TotalShares(ctx)
        self.storage, self.settings = ctx.storage, ctx.settings
        self.private = ctx.settings.private_bucket
        self.keys = self.records.keys

    # --- the leader (A)

    def close(self, key: BatchKey) -> dict:
        """Admin or scheduler: fix the list (create-only), propose it to B. Idempotent."""
        if not self.records.is_leader:
            raise NotLeader("only the leader (server A) closes batches")
        proposal = self.records.read_close(key)
        if proposal is None:
            done = layout.internal_prefix("aggregate", key)
            pids = sorted(layout.partition_ids(self.storage.list(self.private, done)))
            if not pids:
                raise NothingAggregated("no aggregated partition in this batch yet")
            proposal = self._message(key, Kind.KIND_PROPOSAL, pids)
            self.storage.create(self.private, layout.batch_record(key, "close.pb"),
                                proposal.SerializeToString())
            proposal = self.records.read_close(key)  # a concurrent close may have won the create
        # The batch's trace: A's close (a new trace unless a message asked for it), B's
        # acceptance, both total shares and both publishers follow it.
        pids = list(proposal.partition_ids)
        with self.records.span("aggregator.batch_close", key, pids, partitions=len(pids)):
            self.records.send_peer(proposal)
        log.info("batch closed", extra={**key.attributes(), "transition": "closed",
                                        "server": self.keys.server_id, "partitions": len(pids)})
        return {**key.attributes(), "partition_ids": pids}

    def on_acceptance(self, accepted: pb.BatchClose) -> None:
        key = BatchKey.of(accepted)
        proposal = self.records.read_close(key)
        if proposal is None or list(proposal.partition_ids) != list(accepted.partition_ids):
            raise CloseConflict("B accepted a list this server did not propose")
        self.totals.send(key, list(proposal.partition_ids))

    # --- the follower (B)

    def on_proposal(self, proposal: pb.BatchClose) -> None:
        key = BatchKey.of(proposal)
        pids = list(proposal.partition_ids)
        retry.until_ready(lambda: self._holds_all(key, pids), self.settings,
                          f"partitions of batch close {key.batch_id}/{key.submission_date}")
        with self.records.span("aggregator.batch_close", key, pids, partitions=len(pids)):
            accepted = self._message(key, Kind.KIND_ACCEPTANCE, pids)
            self.storage.create(self.private, layout.batch_record(key, "close.pb"),
                                accepted.SerializeToString())
            if list(self.records.read_close(key).partition_ids) != pids:
                raise CloseConflict("this batch was closed with another partition list")
            self.totals.send(key, pids)
            self.records.send_peer(accepted)
        log.info("batch closed", extra={**key.attributes(), "transition": "closed",
                                        "server": self.keys.server_id, "partitions": len(pids)})

    def _holds_all(self, key: BatchKey, pids: list[str]) -> bool | None:
        names = (layout.internal("aggregate", key, pid) for pid in pids)
        return True if all(self.storage.exists(self.private, n) for n in names) else None

    # --- both

    def on_message(self, message: pb.BatchClose) -> None:
        key = BatchKey.of(message)
        leader = self.records.is_leader
        if message.kind == Kind.KIND_REQUEST and leader:
            self.close(key)
        elif message.kind == Kind.KIND_PROPOSAL and not leader:
            self.on_proposal(message)
        elif message.kind == Kind.KIND_ACCEPTANCE and leader:
            self.on_acceptance(message)
        else:
            raise ValueError(f"server {self.keys.server_id} does not take "
                             f"{Kind.Name(message.kind)}")

    def _message(self, key: BatchKey, kind: int, pids: list[str]) -> pb.BatchClose:
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        return pb.BatchClose(batch_id=key.batch_id, submission_date=key.submission_date,
                             kind=kind, sender=self.keys.pb_server, partition_ids=pids,
                             proposed_at=now)
