"""The publisher's entry point: its subscription and its admin routes."""

from __future__ import annotations

from services import batch_routes
from services.common.runtime import ServiceContext, ServiceDefinition
from services.protocol import pb
from services.publisher.publication import Publication


def build(ctx: ServiceContext) -> ServiceDefinition:
    ctx.settings.require_role("publisher")
    publication = Publication(ctx)
    return ServiceDefinition(
        name="publisher",
        handlers={
            "prio-total-shares-publisher": lambda m: publication.on_total_share(
                pb.TotalShare.FromString(m.data)),
            "prio-releases-publisher": lambda m: publication.releases.on_peer_record(
                pb.ReleaseRecord.FromString(m.data)),
        },
        router=batch_routes.router(ctx),
    )
