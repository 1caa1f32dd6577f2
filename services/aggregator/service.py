"""The aggregator's entry point: partition totals, the batch close and its admin route."""

from __future__ import annotations

from services.aggregator.batch_close import BatchCloser
from services.aggregator.partition_total import PartitionTotals
from services.common.runtime import ServiceContext, ServiceDefinition
from services.protocol import pb, retry, status


def build(ctx: ServiceContext) -> ServiceDefinition:
    ctx.settings.require_role("aggregator")
    totals = PartitionTotals(ctx)
    closer = BatchCloser(ctx)
    return ServiceDefinition(
        name="aggregator",
        handlers={
            "prio-verified-aggregator": lambda m: totals.on_verified(
                pb.PartitionVerified.FromString(m.data)),
            "prio-batch-close-aggregator": lambda m: closer.on_message(
                pb.BatchClose.FromString(m.data)),
        },
        # Admin calls retry a transient storage or broker error themselves (both are
        # idempotent) instead of answering 500 to the operator.
        router=status.router(
            ctx,
            close=lambda key: retry.call(lambda: closer.close(key), ctx.settings, "batch close"),
            close_due=lambda: retry.call(closer.close_due, ctx.settings, "scheduled close")),
        background=[closer.scheduled_close, closer.resume],
    )
