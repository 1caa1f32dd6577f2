"""The close's schedule (leader) and the resend sweep (both servers): batches closed on time,
and a batch whose messages were lost after its close finished without an operator."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from services.aggregator.agreement import Agreement, NothingAggregated, NotLeader
from services.aggregator.records import BatchRecords
from services.aggregator.total_share import TotalShares
from services.common.periodic import periodic
from services.protocol import arrivals, layout, status, window
from services.protocol.layout import BatchKey

log = logging.getLogger("prio_stream.aggregator")


class Schedule:
    def __init__(self, ctx, agreement: Agreement | None = None):
        self.records = BatchRecords(ctx)
        self.agreement = agreement or Agreement(ctx)
        self.totals = TotalShares(ctx)
        self.storage, self.settings = ctx.storage, ctx.settings
        self.private = ctx.settings.private_bucket
        # Batches closed and not settled (published or refused) at the last resume sweep.
        self._unsettled: set[BatchKey] = set()

    def background(self) -> list[Callable[[threading.Event], None]]:
        """The resume sweep's rounds (both servers) and, where a process runs continuously
        (worker) on the leader with SCHEDULED_CLOSE on, the schedule's; Cloud Run's schedule
        is Cloud Scheduler calling POST /batches/close-due."""
        interval = self.settings.sweep_interval_seconds
        tasks = [periodic(interval, self.resend_sweep, "resume sweep")]
        if self.records.is_leader and self.settings.scheduled_close:
            tasks.insert(0, periodic(interval, self.close_due, "scheduled close"))
        return tasks

    # --- the schedule (leader only)

    def close_due(self, now: dt.datetime | None = None) -> dict:
        """Closes every batch date whose end + CLOSE_GRACE_SECONDS has passed (the grace is for
        the last partitions still in verification) and of which ingest has written nothing for
        CLOSE_QUIET_SECONDS (a backfill of old pings is not closed half way). Idempotent: a
        closed batch is skipped."""
        if not self.records.is_leader:
            raise NotLeader("only the leader (server A) closes batches")
        now = now or dt.datetime.now(dt.UTC)
        quiet_since = now - dt.timedelta(seconds=self.settings.close_quiet_seconds)
        closed, waiting, failed, arriving = [], [], [], []
        for key in status.batches(self.storage, self.settings):
            batch = key.attributes()
            try:
                if (not window.day_is_over(key.submission_date, now,
                                           self.settings.close_grace_seconds)
                        or self.records.read_close(key) is not None):
                    continue
                last = arrivals.server_last_arrival(self.storage, self.settings, key)
                if last is not None and last > quiet_since:  # a backfill still coming in
                    arriving.append({**batch, "last_arrival": arrivals.iso(last)})
                    continue
                self.agreement.close(key)
                closed.append(batch)
            except NothingAggregated:
                waiting.append(batch)
            except Exception as error:  # one batch's failure must not stop the others
                log.warning("batch not closed; the next round tries again",
                            extra={**batch, "error": type(error).__name__}, exc_info=True)
                failed.append({**batch, "error": type(error).__name__})
        return {"closed": closed, "nothing_aggregated_yet": waiting,
                "still_arriving": arriving, "errors": failed}

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
            if self.records.read_close(key) is not None and not self._settled(key):
                unfinished.add(key)
        resent = []
        for key in sorted(unfinished & self._unsettled):
            try:
                self._resend(key)
            except Exception:  # one batch's failure must not stop the rest
                log.warning("re-send failed; next round retries", extra=key.attributes(),
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
        close = self.records.read_close(key)
        log.info("batch not published: re-sending its close and total share",
                 extra=key.attributes())
        if self.storage.exists(self.private, layout.batch_record(key, "total_share.pb")):
            self.totals.send(key, list(close.partition_ids))  # withholds below the minimum
        self.records.send_peer(close)
