"""The agreed close of a batch: A proposes its completed partitions, B accepts once it holds them
too, and both sum exactly that list into their total shares (collect-once)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections import Counter

import fastapi
from google.protobuf import timestamp_pb2

import libprio_ctypes as prio
from services.aggregator import repeats
from services.aggregator.partition_total import trace_record
from services.common import telemetry, topology
from services.protocol import arrivals, layout, outcome, pb, retry, status
from services.protocol.keys import ServerKeys
from services.protocol.layout import BatchKey

log = logging.getLogger("prio_stream.aggregator")

Kind = pb.BatchClose.Kind


class CloseConflict(ValueError):
    """The peer's agreed list differs from this server's: never resolved by retrying."""


class BatchCloser:
    def __init__(self, ctx):
        self.storage = ctx.storage
        self.transport = ctx.transport
        self.settings = ctx.settings
        self.private = ctx.settings.private_bucket
        self.keys = ServerKeys(ctx.settings)
        self.telemetry = ctx.telemetry
        # Batches closed and not settled (published or refused) at the last resume sweep.
        self._unsettled: set[BatchKey] = set()

    def _span(self, name: str, key: BatchKey, pids: list[str] | None = None, **counts: int):
        """A batch step's span; the close links to the traces of (at most MAX_LINKS of) its
        partitions, as recorded by their aggregation."""
        links = []
        for pid in (pids or [])[:telemetry.MAX_LINKS] if self.telemetry.exporting else []:
            found = self.storage.read_or_none(self.private, trace_record(key, pid))
            span_context = telemetry.from_traceparent(found.decode()) if found else None
            if span_context is not None:
                links.append(span_context)
        return self.telemetry.stage(name, telemetry.attributes(
            self.keys.server_id, key.batch_id, key.submission_date, **counts), links=links)

    @property
    def is_leader(self) -> bool:
        return self.keys.server_id == "A"

    # --- the leader (A)

    def close(self, key: BatchKey) -> dict:
        """Admin or scheduler: fix the list (create-only), propose it to B. Idempotent."""
        if not self.is_leader:
            raise fastapi.HTTPException(409, "only the leader (server A) closes batches")
        proposal = self._read_close(key)
        if proposal is None:
            done = layout.internal_prefix("aggregate", key)
            pids = sorted(layout.partition_ids(self.storage.list(self.private, done)))
            if not pids:
                raise fastapi.HTTPException(409, "no aggregated partition in this batch yet")
            proposal = self._message(key, Kind.KIND_PROPOSAL, pids)
            self.storage.create(self.private, layout.batch_record(key, "close.pb"),
                                proposal.SerializeToString())
            proposal = self._read_close(key)  # a concurrent close may have won the create
        # The batch's trace: A's close (a new trace unless a message asked for it), B's
        # acceptance, both total shares and both publishers follow it.
        pids = list(proposal.partition_ids)
        with self._span("aggregator.batch_close", key, pids, partitions=len(pids)):
            self._send_peer(proposal)
        log.info("batch close proposed", extra={"batch_id": key.batch_id,
                                                "submission_date": key.submission_date,
                                                "partitions": len(proposal.partition_ids)})
        return {"batch_id": key.batch_id, "submission_date": key.submission_date,
                "partition_ids": list(proposal.partition_ids)}

    def on_acceptance(self, accepted: pb.BatchClose) -> None:
        key = BatchKey(accepted.batch_id, accepted.submission_date)
        proposal = self._read_close(key)
        if proposal is None or list(proposal.partition_ids) != list(accepted.partition_ids):
            raise CloseConflict("B accepted a list this server did not propose")
        self._total_share(key, list(proposal.partition_ids))

    # --- the follower (B)

    def on_proposal(self, proposal: pb.BatchClose) -> None:
        key = BatchKey(proposal.batch_id, proposal.submission_date)
        pids = list(proposal.partition_ids)
        retry.until_ready(lambda: self._holds_all(key, pids), self.settings,
                          f"partitions of batch close {key.batch_id}/{key.submission_date}")
        with self._span("aggregator.batch_close", key, pids, partitions=len(pids)):
            accepted = self._message(key, Kind.KIND_ACCEPTANCE, pids)
            self.storage.create(self.private, layout.batch_record(key, "close.pb"),
                                accepted.SerializeToString())
            if list(self._read_close(key).partition_ids) != pids:
                raise CloseConflict("this batch was closed with another partition list")
            self._total_share(key, pids)
            self._send_peer(accepted)

    def _holds_all(self, key: BatchKey, pids: list[str]) -> bool | None:
        names = (layout.internal("aggregate", key, pid) for pid in pids)
        return True if all(self.storage.exists(self.private, n) for n in names) else None

    # --- both

    def on_message(self, message: pb.BatchClose) -> None:
        key = BatchKey(message.batch_id, message.submission_date)
        if message.kind == Kind.KIND_REQUEST and self.is_leader:
            self.close(key)
        elif message.kind == Kind.KIND_PROPOSAL and not self.is_leader:
            self.on_proposal(message)
        elif message.kind == Kind.KIND_ACCEPTANCE and self.is_leader:
            self.on_acceptance(message)
        else:
            raise ValueError(f"server {self.keys.server_id} does not take {Kind.Name(message.kind)}")

    def _total_share(self, key: BatchKey, pids: list[str]) -> None:
        """Sums exactly the agreed partitions' stored totals; sends to own and peer publisher,
        unless they hold fewer than MIN_BATCH_SIZE valid reports: then the share never leaves
        this server (the peer could otherwise combine it with its own)."""
        with self._span("aggregator.total_share", key, partitions=len(pids)) as span:
            self._share(key, pids, span)

    def _share(self, key: BatchKey, pids: list[str], span) -> None:
        name = layout.batch_record(key, "total_share.pb")
        data = self.storage.read_or_none(self.private, name)
        if data is None:
            data = self._sum(key, pids).SerializeToString()
            self.storage.create(self.private, name, data)
            data = self.storage.read(self.private, name)
        total = pb.TotalShare.FromString(data)
        span.set_attributes(telemetry.attributes(reports=total.report_count,
                                                 valid_reports=total.valid_count))
        valid = total.valid_count
        if valid < self.settings.min_batch_size:
            reason = (f"{valid} valid reports, fewer than MIN_BATCH_SIZE="
                      f"{self.settings.min_batch_size}")
            self.storage.create(self.private, layout.batch_record(key, "status.json"),
                                json.dumps({"published": False, "reason": reason}).encode())
            log.warning("batch below the minimum size: total share withheld",
                        extra={"batch_id": key.batch_id, "submission_date": key.submission_date})
            return
        for project in (self.settings.project_id, self.settings.peer_project_id):
            retry.publish(self.transport, project, topology.TOTAL_SHARES, data, self.settings,
                          _attributes(key))

    def _sum(self, key: BatchKey, pids: list[str]) -> pb.TotalShare:
        totals = [pb.PartitionTotal.FromString(self.storage.read(
            self.private, layout.internal("aggregate", key, pid))) for pid in pids]
        config = self.keys.config(key.batch_id)
        state = prio.sum_states(config, [t.state for t in totals])
        rejected: Counter[str] = Counter()
        for total in totals:
            rejected.update(dict(total.rejected))
        found = repeats.find(self.storage, self.settings, self.keys, key, pids)
        if found.state is not None:
            state = prio.state_difference(config, state, found.state)
            rejected[outcome.REPLAYED] += found.valid
        return pb.TotalShare(
            batch_id=key.batch_id, submission_date=key.submission_date, sender=self.keys.pb_server,
            total_share=prio.total_share_from_state(config, self.keys.server_id, state),
            partition_ids=pids, report_count=sum(t.report_count for t in totals),
            valid_count=sum(t.valid_count for t in totals) - found.valid,
            rejected=dict(rejected))

    def _message(self, key: BatchKey, kind: int, pids: list[str]) -> pb.BatchClose:
        now = timestamp_pb2.Timestamp()
        now.GetCurrentTime()
        return pb.BatchClose(batch_id=key.batch_id, submission_date=key.submission_date, kind=kind,
                             sender=self.keys.pb_server, partition_ids=pids, proposed_at=now)

    def _read_close(self, key: BatchKey) -> pb.BatchClose | None:
        data = self.storage.read_or_none(self.private, layout.batch_record(key, "close.pb"))
        return None if data is None else pb.BatchClose.FromString(data)

    def _send_peer(self, message: pb.BatchClose) -> None:
        retry.publish(self.transport, self.settings.peer_project_id, topology.BATCH_CLOSE,
                      message.SerializeToString(), self.settings,
                      _attributes(BatchKey(message.batch_id, message.submission_date)))

    # --- the schedule (leader only)

    def close_due(self, now: dt.datetime | None = None) -> dict:
        """Closes every batch date whose end + CLOSE_GRACE_SECONDS has passed (the grace is for
        the last partitions still in verification) and of which ingest has written nothing for
        CLOSE_QUIET_SECONDS (a backfill of old pings is not closed half way). Idempotent: a
        closed batch is skipped."""
        if not self.is_leader:
            raise fastapi.HTTPException(409, "only the leader (server A) closes batches")
        # Counted back from now, so that no date's day end is computed: 9999-12-31 + 1 day
        # does not fit a datetime.
        now = now or dt.datetime.now(dt.UTC)
        cutoff = now - dt.timedelta(
            days=1, seconds=self.settings.close_grace_seconds)
        quiet_since = now - dt.timedelta(seconds=self.settings.close_quiet_seconds)
        closed, waiting, failed, arriving = [], [], [], []
        for key in status.batches(self.storage, self.settings):
            batch = {"batch_id": key.batch_id, "submission_date": key.submission_date}
            try:
                if key.submission_date > cutoff.date().isoformat() or self._read_close(key) is not None:
                    continue
                last = arrivals.server_last_arrival(self.storage, self.settings, key)
                if last is not None and last > quiet_since:  # a backfill still coming in
                    arriving.append({**batch, "last_arrival": arrivals.iso(last)})
                    continue
                self.close(key)
                closed.append(batch)
            except fastapi.HTTPException:
                waiting.append(batch)
            except Exception as error:  # one batch's failure must not stop the others
                log.warning("batch not closed; the next round tries again",
                            extra={**batch, "error": type(error).__name__}, exc_info=True)
                failed.append({**batch, "error": type(error).__name__})
        return {"closed": closed, "nothing_aggregated_yet": waiting,
                "still_arriving": arriving, "errors": failed}

    def scheduled_close(self, stop: threading.Event) -> None:
        """The schedule where a process runs continuously (worker); Cloud Run's is Cloud
        Scheduler calling POST /batches/close-due."""
        while self.is_leader and not stop.wait(self.settings.sweep_interval_seconds):
            try:
                self.close_due()
            except Exception:  # storage or peer hiccup: the next round retries
                log.warning("scheduled close failed; next round retries", exc_info=True)

    # --- the resume sweep (both servers)

    def resend_sweep(self) -> list[BatchKey]:
        """One round: a batch closed on this server but neither published nor refused here, at
        two sweeps in a row, has lost a message after the close (the proposal, the acceptance
        or a total share: e.g. gone with a broker outage). This server sends again what it
        stored: its own total share to both publishers, unless withheld (MIN_BATCH_SIZE), and
        its close record to the peer, which answers with its own share. A's record is the
        proposal (B accepts again, which also makes A send its share), B's the acceptance (A
        sends its share again). Every receiver is idempotent. Returns the batches re-sent."""
        unfinished = set()
        for key in status.batches(self.storage, self.settings):
            if self._read_close(key) is not None and not self._settled(key):
                unfinished.add(key)
        resent = []
        for key in sorted(unfinished & self._unsettled):
            try:
                self._resend(key)
            except Exception:  # one batch's failure must not stop the rest
                log.warning("re-send failed; next round retries",
                            extra={"batch_id": key.batch_id, "submission_date": key.submission_date},
                            exc_info=True)
                continue
            resent.append(key)
        self._unsettled = unfinished
        return resent

    def _settled(self, key: BatchKey) -> bool:
        """Published, or refused (a withheld share, or the publisher's refusal), on this
        server: as its publisher and the batch status record it."""
        return (self.storage.exists(self.private, layout.result(key))
                or self.storage.exists(self.private, layout.batch_record(key, "status.json")))

    def _resend(self, key: BatchKey) -> None:
        close = self._read_close(key)
        log.info("batch not published: re-sending its close and total share",
                 extra={"batch_id": key.batch_id, "submission_date": key.submission_date})
        if self.storage.exists(self.private, layout.batch_record(key, "total_share.pb")):
            self._total_share(key, list(close.partition_ids))  # withholds below the minimum
        self._send_peer(close)

    def resume(self, stop: threading.Event) -> None:
        """The resume sweep's rounds, every SWEEP_INTERVAL_SECONDS (both servers)."""
        while not stop.wait(self.settings.sweep_interval_seconds):
            try:
                self.resend_sweep()
            except Exception:  # storage or broker hiccup: the next round retries
                log.warning("resume sweep failed; next round retries", exc_info=True)


def _attributes(key: BatchKey) -> dict[str, str]:
    # Not secret: names the batch of a message (and of its consumer's span) without decoding.
    return {"batch_id": key.batch_id, "submission_date": key.submission_date}
