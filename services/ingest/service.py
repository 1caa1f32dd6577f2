"""Ingest's entry point: the pings subscription, the partition flusher, batch import, status."""

from __future__ import annotations

import datetime as dt
import functools
from concurrent.futures import Future

from services.common import push
from services.common.periodic import periodic
from services.common.runtime import ServiceContext, ServiceDefinition
from services.common.transport import Message
from services.ingest import pings, routes, staged, status
from services.ingest.holding import Holding
from services.ingest.partitions import PartitionWriter

PINGS = "prio-pings-ingest"


def build(ctx: ServiceContext) -> ServiceDefinition:
    ctx.settings.require_role("ingest")
    writer = PartitionWriter(ctx)
    holding = Holding(writer, ctx.settings)
    batches = ctx.settings.data_config
    limits = pings.Limits.of(ctx.settings)
    other_documents = ctx.telemetry.counter(
        "prio.ingest.other_documents", unit="{message}",
        description="messages of another document type (a shared topic without the "
                    "subscription filter), acked unread")

    def on_ping(message: Message) -> Future | None:
        if not pings.is_prio(message.attributes):
            other_documents.add(1)
            return None  # acked: the upstream's other documents, not pings to count
        # Parsed here, on the handler's thread: the holding's lock is taken only to add the
        # few reports and rejections a ping can yield.
        reports, rejections = pings.parse(message.data, message.attributes, batches, limits)
        # Acked when the future settles: once the ping's reports (or their rejections) are
        # durable. No thread waits for it meanwhile.
        return holding.submit(reports, rejections).future

    def on_oversized(body: push.Oversized) -> Future:
        """A pushed ping over PING_MAX_BYTES: one TOO_LARGE rejection, acked once durable."""
        return holding.submit([], [pings.too_large(body.digest)]).future

    def expire_anti_replay() -> None:
        """Deletes anti-replay shards past REPLAY_RETENTION_DAYS (GCS lifecycle does too)."""
        writer.anti_replay.expire(dt.datetime.now(dt.UTC).date())

    import_files = functools.partial(staged.import_files, writer,
                                     ctx.settings.partition_max_reports,
                                     ctx.settings.partition_max_bytes)
    return ServiceDefinition(
        name="ingest",
        handlers={PINGS: on_ping},
        router=routes.router(ctx, import_files),
        background=[holding.run,
                    periodic(3600.0, expire_anti_replay, "anti-replay expiry", at_start=True)],
        drain=holding.flush_all,
        push_limits={PINGS: push.BodyLimit(push.envelope_limit(limits.max_bytes),
                                           on_oversized)},
        # For a caller in this process (embedded mode): what `POST .../import` does with files
        # already read, what `GET /batches/{batch_id}/{date}` answers, and a written
        # partition's notices sent again (a run resumed after a crash).
        actions={"import": import_files,
                 "status": functools.partial(status.batch_status, ctx.storage, ctx.settings),
                 "notify_again": writer.notify_again},
    )
