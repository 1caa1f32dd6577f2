"""What the batch-close jobs share: the close record, the batch's span, the peer's topic."""

from __future__ import annotations

from services.common import telemetry, topology
from services.protocol import layout, pb, retry
from services.protocol.keys import ServerKeys
from services.protocol.layout import BatchKey


class BatchRecords:
    def __init__(self, ctx):
        self.storage, self.transport, self.telemetry = ctx.storage, ctx.transport, ctx.telemetry
        self.settings, self.private = ctx.settings, ctx.settings.private_bucket
        self.keys = ServerKeys(ctx.settings)

    @property
    def is_leader(self) -> bool:
        return self.keys.server_id == "A"

    def span(self, name: str, key: BatchKey, pids: list[str] | None = None, **counts: int):
        """A batch step's span; the close links to the traces of (at most MAX_LINKS of) its
        partitions, as recorded by their aggregation."""
        links = []
        for pid in (pids or [])[:telemetry.MAX_LINKS] if self.telemetry.exporting else []:
            found = self.storage.read_or_none(self.private, layout.trace(key, pid))
            span_context = telemetry.from_traceparent(found.decode()) if found else None
            if span_context is not None:
                links.append(span_context)
        return self.telemetry.stage(name, key.span_attributes(self.keys.server_id, **counts),
                                    links=links)

    def read_close(self, key: BatchKey) -> pb.BatchClose | None:
        """The agreed partition list (A's proposal, B's acceptance), once stored."""
        data = self.storage.read_or_none(self.private, layout.batch_record(key, "close.pb"))
        return None if data is None else pb.BatchClose.FromString(data)

    def send_peer(self, message: pb.BatchClose) -> None:
        retry.publish(self.transport, self.settings.peer_project_id, topology.BATCH_CLOSE,
                      message.SerializeToString(), self.settings,
                      BatchKey.of(message).attributes())
