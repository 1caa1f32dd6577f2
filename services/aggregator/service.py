"""The aggregator's entry point: partition totals, the batch close and its admin route."""

from __future__ import annotations

from services import batch_routes
from services.aggregator.agreement import Agreement
from services.aggregator.partition_total import PartitionTotals
from services.aggregator.schedule import Schedule
from services.common.runtime import ServiceContext, ServiceDefinition
from services.protocol import pb, retry


def build(ctx: ServiceContext) -> ServiceDefinition:
    ctx.settings.require_role("aggregator")
    totals = PartitionTotals(ctx)
    agreement = Agreement(ctx)
    schedule = Schedule(ctx, agreement)
    return ServiceDefinition(
        name="aggregator",
        handlers={
            "prio-verified-aggregator": lambda m: totals.on_verified(
                pb.PartitionVerified.FromString(m.data)),
            "prio-batch-close-aggregator": lambda m: agreement.on_message(
                pb.BatchClose.FromString(m.data)),
        },
        # Admin calls retry a transient storage or broker error themselves (both are
        # idempotent) instead of answering 500 to the operator.
        router=batch_routes.router(
            ctx,
            close=lambda key: retry.call(lambda: agreement.close(key), ctx.settings,
                                         "batch close"),
            close_due=lambda: retry.call(schedule.close_due, ctx.settings, "scheduled close")),
        background=schedule.background(),
        # What `POST /batches/{batch_id}/{date}/close` does, for a caller in this process.
        actions={"close": agreement.close},
    )
