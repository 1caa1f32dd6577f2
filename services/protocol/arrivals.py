"""When ingest last wrote a partition of a batch: what tells a finished day from a backfill
still being replayed (the scheduled close waits for CLOSE_QUIET_SECONDS of quiet).

Ingest's partition ids open with their UTC creation time (`20261201T101500-<hex>`, sorted by
it); imports name theirs by content and carry no time. A server reads the ids from its own
stored notices, ingest from its manifests. The time is ingest's word: it can only make a
close wait or come sooner, which an operator's close can too; it never decides what counts.
"""

from __future__ import annotations

import datetime as dt
import re

from services.protocol import layout
from services.protocol.layout import BatchKey

_CREATED = re.compile(r"(\d{8}T\d{6})-")


def created(pid: str) -> dt.datetime | None:
    """The creation time an ingest partition id carries (None for an import's)."""
    found = _CREATED.match(pid)
    if found is None:
        return None
    try:
        return dt.datetime.strptime(found.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def last_arrival(names: list[str]) -> dt.datetime | None:
    """The newest creation time among a listing of per-partition objects."""
    times = [t for pid in layout.partition_ids(names) if (t := created(pid)) is not None]
    return max(times, default=None)


def server_last_arrival(storage, settings, key: BatchKey) -> dt.datetime | None:
    return last_arrival(storage.list(settings.inbox_bucket, layout.notice_prefix(key)))


def iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
