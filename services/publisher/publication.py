"""Combines the two servers' total shares of a batch into counts and publishes them once."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid

from opentelemetry import trace

import libprio_ctypes as prio
from services.common import topology
from services.protocol import layout, pb
from services.protocol.keys import ServerKeys, server_letter
from services.protocol.layout import BatchKey
from services.publisher import labels
from services.publisher.release import Releases

log = logging.getLogger("prio_stream.publisher")
_RESULT_NAMESPACE = uuid.UUID("6f1d3c52-2f4e-4d8b-9a53-0c7e1f2b9d41")


class Publication:
    def __init__(self, ctx):
        self.storage = ctx.storage
        self.transport = ctx.transport
        self.settings = ctx.settings
        self.private = ctx.settings.private_bucket
        self.keys = ServerKeys(ctx.settings)
        self.telemetry = ctx.telemetry
        self.releases = Releases(ctx, self.keys)

    def on_total_share(self, share: pb.TotalShare) -> None:
        key = BatchKey.of(share)
        with self.telemetry.stage("publisher.publish", key.span_attributes(
                self.keys.server_id, reports=share.report_count,
                valid_reports=share.valid_count)) as span:
            span.set_attribute("prio.sender", server_letter(share.sender))
            if share.sender == self.keys.pb_peer:
                self.storage.create(self.private, layout.peer_total_share(key),
                                    share.SerializeToString())
            elif share.sender != self.keys.pb_server:
                raise ValueError("a total share from no known server")
            self._try_publish(key)

    def _try_publish(self, key: BatchKey) -> None:
        own = self._read(layout.batch_record(key, "total_share.pb"))
        peer = self._read(layout.peer_total_share(key))
        span = trace.get_current_span()
        if own is None or peer is None:
            span.set_attribute("prio.outcome", "waiting")
            return  # the other share completes the join when it arrives
        if self.storage.exists(self.private, layout.result(key)):
            span.set_attribute("prio.outcome", "published")
            self.releases.release(key, own)
            self._announce(key)
            return
        refusal = self._refusal(own, peer)
        span.set_attribute("prio.outcome", "refused" if refusal else "published")
        if refusal is not None:
            self._record(key, {"published": False, "reason": refusal})
            log.warning("batch not published", extra={
                **key.attributes(), "transition": "refused", "server": self.keys.server_id,
                "reason": refusal})
            return
        share_a, share_b = (own, peer) if self.keys.server_id == "A" else (peer, own)
        counts = prio.final(self.keys.config(key.batch_id), share_a.total_share,
                            share_b.total_share)
        self.storage.create(self.private, layout.result(key), self._result(key, own, counts))
        self._record(key, {"published": True, "valid": own.valid_count})
        log.info("batch published", extra={**key.attributes(), "transition": "published",
                                           "server": self.keys.server_id,
                                           "valid": own.valid_count})
        self.releases.release(key, own)
        self._announce(key)

    def _refusal(self, own: pb.TotalShare, peer: pb.TotalShare) -> str | None:
        if list(own.partition_ids) != list(peer.partition_ids):
            return "the servers' total shares cover different partitions"
        if own.valid_count != peer.valid_count:
            return "the servers disagree on the number of valid reports"
        if own.valid_count < self.settings.min_batch_size:
            return (f"{own.valid_count} valid reports, fewer than MIN_BATCH_SIZE="
                    f"{self.settings.min_batch_size}")
        return None

    def _result(self, key: BatchKey, own: pb.TotalShare, counts: list[int]) -> bytes:
        config = self.settings.data_config or {}
        return json.dumps({
            # Deterministic, so a redelivery that races the first write writes the same id.
            "id": str(uuid.uuid5(_RESULT_NAMESPACE, f"{key.batch_id}/{key.submission_date}")),
            "timestamp": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(),
            **key.attributes(),
            "payload": counts,
            "counts": labels.labelled(counts, key.batch_id, config, self.settings.labels),
            "total": own.report_count,
            "valid": own.valid_count,
            "error": own.report_count - own.valid_count,
            "rejected": dict(sorted(own.rejected.items())),
            "partitions": len(own.partition_ids),
        }).encode()

    def _record(self, key: BatchKey, outcome: dict) -> None:
        self.storage.create(self.private, layout.batch_record(key, "status.json"),
                            json.dumps(outcome).encode())

    def _announce(self, key: BatchKey) -> None:
        result = json.loads(self.storage.read(self.private, layout.result(key)))
        message = pb.PublishedResult(
            batch_id=key.batch_id, submission_date=key.submission_date, server=self.keys.pb_server,
            bucket=self.private, object_name=layout.result(key),
            valid_count=result["valid"], counts=result["payload"])
        self.transport.publish(self.settings.project_id, topology.RESULTS,
                               message.SerializeToString(), key.attributes())

    def _read(self, name: str) -> pb.TotalShare | None:
        data = self.storage.read_or_none(self.private, name)
        return None if data is None else pb.TotalShare.FromString(data)
