"""This server's own anti-replay: a share whose envelope it has seen before is REPLAYED, under
whatever document id, report id, partition or date a copy arrives (DESIGN.md: each server
defends itself; ingest's ids are never trusted for this).

The verdict of a partition is stored (`seen` record, create-only, before its verify1) and is
what every later load of that partition uses, so a redelivery or a crash between the steps
never turns a partition's own reports into replays of themselves. Other processes of this
server learn a partition's fingerprints from its record; within a process, a fingerprint is
reserved the moment it is checked, so two partitions checked at once cannot both pass. The
batch close takes out what two processes let through at the same moment
(services/aggregator/repeats.py), with both servers' fingerprints, identically on both.

Memory: 8 bytes per report of the retention window (services/protocol/fingerprints.py), per
batch id and submission date, dates older than the window behind the newest dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence

from services.common.storage import Storage
from services.protocol import fingerprints, layout, pb, window
from services.protocol.fingerprints import FingerprintSet
from services.protocol.layout import BatchKey

log = logging.getLogger("prio_stream.verifier")

# Per report in the seen record, after the fingerprints.
NOT_LOADED, REGISTERED, REPLAYED, OUT_OF_WINDOW = 0, 1, 2, 3
# What a flag refuses, as the report's load status.
REFUSED = {REPLAYED: pb.Reason.REASON_REPLAYED,
           OUT_OF_WINDOW: pb.Reason.REASON_DATE_OUT_OF_WINDOW}


class AntiReplay:
    def __init__(self, storage: Storage, bucket: str, retention_days: int,
                 skew_seconds: float = 0.0):
        self.storage, self.bucket, self.retention = storage, bucket, retention_days
        self.skew = skew_seconds
        self._shards: dict[str, dict[str, FingerprintSet]] = {}  # batch id -> date -> set
        self._merged: dict[str, set[str]] = {}  # batch id -> seen records in its shards
        # Partitions checked but not yet recorded: a retry in this process gets the same answer.
        self._pending: dict[tuple[BatchKey, str], list[int]] = {}
        self._lock = threading.Lock()

    def decide(self, key: BatchKey, pid: str, prints: Sequence[int],
               now: dt.datetime | None = None) -> list[int]:
        """Per report of the partition: REPLAYED if this server has seen its share before (in
        an earlier partition, or earlier in this one), OUT_OF_WINDOW for every report of a date
        this server would not recognise copies of (older than the window, or ahead of its
        clock: ingest's word on dates is not trusted either), NOT_LOADED (not refused) else."""
        stored = self.stored(key, pid)
        if stored is not None:
            return stored
        now = now or dt.datetime.now(dt.UTC)
        if not window.admits(key.submission_date, now, self.retention, self.skew):
            return [OUT_OF_WINDOW] * len(prints)
        self._refresh(key.batch_id, now)
        with self._lock:
            pending = self._pending.get((key, pid))
            if pending is not None:
                return pending
            shards = self._shards.setdefault(key.batch_id, {})
            fresh: set[int] = set()
            verdicts = []
            for fp in prints:
                seen = fp != fingerprints.NONE and (
                    fp in fresh or any(fp in shard for shard in shards.values()))
                verdicts.append(REPLAYED if seen else NOT_LOADED)
                if fp != fingerprints.NONE and not seen:
                    fresh.add(fp)
            shards.setdefault(key.submission_date, FingerprintSet()).update(fresh)
            self._pending[(key, pid)] = verdicts
            self._expire(key.batch_id, shards, now)
        return verdicts

    def record(self, key: BatchKey, pid: str, prints: Sequence[int], verdicts: Sequence[int],
               loaded: Sequence[bool]) -> list[int]:
        """Stores the partition's verdicts; returns the stored ones (a concurrent load of the
        same partition elsewhere may have stored its verdicts first: then those hold)."""
        flags = bytes(v if v in REFUSED else REGISTERED if ok and fp != fingerprints.NONE
                      else NOT_LOADED for fp, v, ok in zip(prints, verdicts, loaded, strict=True))
        name = layout.internal("seen", key, pid)
        with self._lock:  # its fingerprints are in the shards already
            self._merged.setdefault(key.batch_id, set()).add(name)
        created = self.storage.create(self.bucket, name, fingerprints.pack(prints) + flags)
        with self._lock:
            self._pending.pop((key, pid), None)
        return list(verdicts) if created else self.stored(key, pid)

    def stored(self, key: BatchKey, pid: str) -> list[int] | None:
        data = self.storage.read_or_none(self.bucket, layout.internal("seen", key, pid))
        if data is None:
            return None
        _, flags = _parse(data)
        return [f if f in REFUSED else NOT_LOADED for f in flags]

    @property
    def nbytes(self) -> int:
        """The index's memory (fingerprints held), for the benchmark and the gauge."""
        with self._lock:
            return sum(s.nbytes for shards in self._shards.values() for s in shards.values())

    def _refresh(self, batch_id: str, now: dt.datetime) -> None:
        """Merges the records other processes of this server stored since the last look, for
        every date of the window (read outside the lock; merged under it, each record once)."""
        listed = [(date, name) for date in _window_dates(now, self.retention, self.skew)
                  for name in self.storage.list(self.bucket, layout.internal_prefix(
                      "seen", BatchKey(batch_id, date)))]
        with self._lock:
            merged = self._merged.setdefault(batch_id, set())
            new = [(date, name) for date, name in listed if name not in merged]
        for date, name in new:
            prints, flags = _parse(self.storage.read(self.bucket, name))
            registered = [fp for fp, f in zip(prints, flags) if f == REGISTERED]
            with self._lock:
                if name in self._merged[batch_id]:
                    continue
                self._merged[batch_id].add(name)
                shards = self._shards.setdefault(batch_id, {})
                shards.setdefault(date, FingerprintSet()).update(registered)

    def _expire(self, batch_id: str, shards: dict[str, FingerprintSet],
                now: dt.datetime) -> None:
        """Drops the dates the window has left behind (under the lock)."""
        oldest = _window_dates(now, self.retention, self.skew)[0]
        expired = [d for d in shards if d < oldest]
        for date in expired:
            del shards[date]
        if expired:  # their records are skipped by date from now on
            self._merged[batch_id] = {
                n for n in self._merged.get(batch_id, ())
                if all(k.submission_date >= oldest for k in layout.batches_under([n]))}


def _window_dates(now: dt.datetime, retention_days: int, skew_seconds: float) -> list[str]:
    """The dates window.admits takes at `now`, oldest first."""
    newest = (now + dt.timedelta(seconds=skew_seconds)).date()
    day = now.date() - dt.timedelta(days=retention_days)
    dates = []
    while day <= newest:
        dates.append(day.isoformat())
        day += dt.timedelta(days=1)
    return dates


def _parse(data: bytes) -> tuple[list[int], bytes]:
    count, extra = divmod(len(data), fingerprints.BYTES + 1)
    if extra:
        raise ValueError("a seen record of the wrong length")
    split = count * fingerprints.BYTES
    return fingerprints.unpack(data[:split]), data[split:]
