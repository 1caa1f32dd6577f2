"""The verifier's entry point: its three subscriptions and its admin routes."""

from __future__ import annotations

from services import batch_routes
from services.common.runtime import ServiceContext, ServiceDefinition
from services.protocol import pb
from services.verifier.resume import ResumeSweep
from services.verifier.verification import Verification


def build(ctx: ServiceContext) -> ServiceDefinition:
    ctx.settings.require_role("verifier")
    verification = Verification(ctx)
    return ServiceDefinition(
        name="verifier",
        handlers={
            "prio-partitions-verifier": lambda m: verification.on_partition(
                pb.PartitionNotice.FromString(m.data)),
            "prio-verify1-verifier": lambda m: verification.on_peer_verify1(
                pb.Verify1Partition.FromString(m.data)),
            "prio-verify2-verifier": lambda m: verification.on_peer_verify2(
                pb.Verify2Partition.FromString(m.data)),
        },
        router=batch_routes.router(ctx),
        background=[ResumeSweep(ctx, verification).run],
    )
