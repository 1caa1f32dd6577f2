"""Pings wait, unacknowledged, until the partition holding their reports is durably written.

Pub/Sub is the staging area: a ping is acked only after its shares are in both inboxes and
both notices are out, so a crash loses nothing (the unacked pings come back) and costs no
write per ping. A partition is flushed when it holds PARTITION_MAX_REPORTS reports or
PARTITION_MAX_BYTES of shares, when its
oldest report has waited PARTITION_MAX_AGE_SECONDS, or when no ping has arrived for
IDLE_SECONDS (the transport stops delivering once its flow-control window is full of held
pings, so waiting longer would only add latency).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import logging
import threading
import time
import uuid

from opentelemetry import trace

from services.common import errors, telemetry
from services.ingest.partitions import PartitionWriter, classify, rejection_outcomes
from services.ingest.pings import Rejection, Report
from services.protocol import retry
from services.protocol.layout import BatchKey

log = logging.getLogger("prio_stream.ingest")
IDLE_SECONDS = 1.0
TICK_SECONDS = 0.05


class FlushFailed(RuntimeError):
    """The partition holding a ping could not be written: the ping is nacked and comes back."""


@dataclasses.dataclass(eq=False)
class Ticket:
    """One delivered ping: its future settles when everything it carried is durable (the
    transport then acks), or fails when a write failed (nack: the ping comes back)."""

    pending: int = 0
    failed: bool = False
    future: concurrent.futures.Future = dataclasses.field(
        default_factory=concurrent.futures.Future)

    def settle(self) -> None:
        if self.failed:
            self.future.set_exception(FlushFailed("the partition of this ping was not written"))
        else:
            self.future.set_result(None)


@dataclasses.dataclass
class _Partition:
    key: BatchKey
    created: float
    reports: dict[str, Report] = dataclasses.field(default_factory=dict)
    size: int = 0  # bytes of shares
    tickets: list[Ticket] = dataclasses.field(default_factory=list)
    # The traces of the pings it holds: the partition's own trace links to them.
    links: list[trace.SpanContext] = dataclasses.field(default_factory=list)


class Holding:
    def __init__(self, writer: PartitionWriter, settings):
        self.writer = writer
        self.settings = settings
        self.max_reports = settings.partition_max_reports
        self.max_bytes = settings.partition_max_bytes
        self.max_age = settings.partition_max_age_seconds
        self.idle = min(IDLE_SECONDS, self.max_age)
        self._lock = threading.Condition()
        self._open: dict[BatchKey, _Partition] = {}
        self._sealed: list[_Partition] = []
        self._outcomes: dict[str, tuple[str, str, str]] = {}
        self._outcome_tickets: list[Ticket] = []
        self._last_arrival = time.monotonic()
        self._flushing = 0  # reports of the partitions being written
        self.telemetry = writer.telemetry
        self.telemetry.gauge("prio.ingest.held_reports", self._held, unit="{report}",
                             description="reports held (their pings unacknowledged) until "
                                         "their partition is written")

    def _held(self):
        with self._lock:
            held = sum(len(p.reports) for p in (*self._open.values(), *self._sealed))
            return [(held + self._flushing, {})]

    def submit(self, reports: list[Report], rejections: list[Rejection]) -> Ticket:
        ticket = Ticket()
        ping = telemetry.current_context()  # the ping's consumer span
        rejections = list(rejections)
        with self._lock:
            self._last_arrival = time.monotonic()
            for report in reports:
                rejections.extend(self._add(report, ticket, ping))
            if rejections:
                self._outcomes.update(rejection_outcomes(rejections))
                self._hold(ticket, self._outcome_tickets)
            self._lock.notify_all()
        if ticket.pending == 0:
            ticket.settle()  # nothing to hold: no report and no rejection
        return ticket

    def _add(self, report: Report, ticket: Ticket, ping) -> list[Rejection]:
        key = BatchKey(report.batch_id, report.date)
        partition = self._open.get(key)
        if partition is None:
            partition = self._open[key] = _Partition(key, time.monotonic())
        if ping is not None and len(partition.links) < telemetry.MAX_LINKS and (
                not partition.links or partition.links[-1] != ping):
            partition.links.append(ping)
        held = partition.reports.get(report.report_id)
        self._hold(ticket, partition.tickets)
        if held is not None:
            # A copy of a ping still held waits for the first delivery's partition, and counts
            # as a duplicate just as a copy meeting a written partition does; the same id with
            # another content is a replay.
            return [classify(report, held.fingerprint)]
        partition.reports[report.report_id] = report
        partition.size += report.size
        if len(partition.reports) >= self.max_reports or partition.size >= self.max_bytes:
            self._sealed.append(self._open.pop(key))
        return []

    @staticmethod
    def _hold(ticket: Ticket, holders: list[Ticket]) -> None:
        if not holders or holders[-1] is not ticket:
            holders.append(ticket)
            ticket.pending += 1

    def run(self, stop: threading.Event) -> None:
        """The flusher (a background task): writes due partitions until stopped, then the rest."""
        while not stop.is_set():
            for partition in self._due(stop):
                self._flush(partition)
            self._flush_outcomes()
        self.flush_all()

    def flush_all(self) -> None:
        """Writes every open partition now (shutdown, batch import, tests)."""
        for partition in self._take(everything=True):
            self._flush(partition)
        self._flush_outcomes()

    def _due(self, stop: threading.Event) -> list[_Partition]:
        with self._lock:
            self._lock.wait_for(lambda: self._sealed or stop.is_set(), timeout=TICK_SECONDS)
        return self._take(everything=False)

    def _take(self, everything: bool) -> list[_Partition]:
        now = time.monotonic()
        with self._lock:
            idle = now - self._last_arrival >= self.idle
            for key, partition in list(self._open.items()):
                if everything or idle or now - partition.created >= self.max_age:
                    self._sealed.append(self._open.pop(key))
            taken, self._sealed = self._sealed, []
            self._flushing += sum(len(p.reports) for p in taken)
            return taken

    def _flush(self, partition: _Partition) -> None:
        pid = partition_id()
        reports = list(partition.reports.values())
        # The partition's own trace (its pings came in many traces, linked): it follows the
        # partition through both servers, carried by the notices.
        with self._flushed(len(reports)), self.telemetry.stage(
                "ingest.flush_partition",
                partition.key.partition(pid).span_attributes(
                    "ingest", reports=len(reports), pings=len(partition.tickets)),
                links=partition.links, root=True) as span:
            try:
                duplicates = retry.call(lambda: self.writer.write(partition.key, pid, reports),
                                        self.settings, "partition write")
            except Exception as error:  # noqa: BLE001 - logged with its reason; pings nacked
                _log_failure("partition not written", error, partition_id=pid)
                span.record_exception(error)
                span.set_status(trace.StatusCode.ERROR, "partition not written")
                self._release(partition.tickets, failed=True)
                return
            span.set_attribute("prio.dropped_reports", len(duplicates))
        if duplicates:
            with self._lock:
                self._outcomes.update(rejection_outcomes(duplicates))
                # The partition's pings wait for the record of their dropped reports too.
                for ticket in partition.tickets:
                    self._hold(ticket, self._outcome_tickets)
        self._release(partition.tickets, failed=False)

    @contextlib.contextmanager
    def _flushed(self, count: int):
        """The partition's reports leave the backlog once its write is over (either way)."""
        try:
            yield
        finally:
            with self._lock:
                self._flushing -= count

    def _flush_outcomes(self) -> None:
        with self._lock:
            outcomes, self._outcomes = self._outcomes, {}
            tickets, self._outcome_tickets = self._outcome_tickets, []
        if not outcomes:
            return
        flush_id = partition_id()  # one name for every try: a retried write stays create-only
        try:
            retry.call(lambda: self.writer.record_outcomes(flush_id, outcomes),
                       self.settings, "ingest outcomes")
        except Exception as error:  # noqa: BLE001 - logged with its reason; pings nacked
            _log_failure("ingest outcomes not recorded", error)
            self._release(tickets, failed=True)
            return
        self._release(tickets, failed=False)

    def _release(self, tickets: list[Ticket], failed: bool) -> None:
        """One holder of each ticket is done; tickets held by nothing more settle (their acks
        go out, from this thread, outside the lock)."""
        settled = []
        with self._lock:
            for ticket in tickets:
                ticket.failed = ticket.failed or failed
                ticket.pending -= 1
                if ticket.pending == 0:
                    settled.append(ticket)
        for ticket in settled:
            ticket.settle()


def _log_failure(what: str, error: Exception, **extra) -> None:
    """Only transient storage and transport errors are retried (RETRY_LIMIT times): anything
    else fails the same way again, so its pings are nacked at once, to be redelivered and,
    failing each time, dead-lettered after MAX_DELIVERY_ATTEMPTS."""
    extra["error"] = type(error).__name__
    if errors.is_transient(error):
        log.error(f"{what} after every retry; its pings will be redelivered", extra=extra,
                  exc_info=error)
    else:
        log.error(f"{what}: {type(error).__name__} cannot succeed on retry; its pings are "
                  "nacked at once", extra=extra, exc_info=error)


def partition_id() -> str:
    """Sorts by creation time; unique without coordination between ingest instances."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
