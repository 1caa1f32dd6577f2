"""A batch's status on one server, derived from its buckets only: any instance answers the same."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter

from services.common import errors
from services.common.config import Settings
from services.common.storage import Storage
from services.protocol import arrivals, layout, opened_keys, outcome, pb
from services.protocol.layout import BatchKey

# Per-partition records, in pipeline order: how far each partition got.
STAGES = (
    ("received", "inbox", "raw"),
    ("verify1", "internal", "verify1"),
    ("peer_verify1", "external", "verify1"),
    ("verify2", "internal", "verify2"),
    ("peer_verify2", "external", "verify2"),
    ("verified", "internal", "verified"),
    ("aggregated", "internal", "aggregate"),
)


def _prefix(where: str, step: str, key: BatchKey) -> str:
    if where == "inbox":
        return layout.raw_prefix(key)
    return (layout.internal_prefix if where == "internal" else layout.external_prefix)(step, key)


def batch_status(storage: Storage, settings: Settings, key: BatchKey) -> dict:
    private = settings.private_bucket
    partitions = {}
    for stage, where, step in STAGES:
        bucket = settings.inbox_bucket if where == "inbox" else private
        partitions[stage] = set(layout.partition_ids(storage.list(bucket, _prefix(where, step, key))))
    close = _read(storage, private, layout.batch_record(key, "close.pb"), pb.BatchClose)
    agreed = set(close.partition_ids) if close else None
    reports = _report_counts(storage, private, key, partitions["verified"], agreed)
    publication = storage.read_or_none(private, layout.batch_record(key, "status.json"))
    publication = json.loads(publication) if publication else None
    total_share = storage.exists(private, layout.batch_record(key, "total_share.pb"))
    published = storage.exists(private, layout.result(key))
    waiting = (partitions["verify1"] - partitions["peer_verify1"]) | (
        partitions["verify2"] - partitions["peer_verify2"])
    return {
        **key.attributes(),
        "server": settings.server_id,
        "state": _state(close, total_share, published, publication),
        "partitions": {stage: len(ids) for stage, ids in partitions.items()},
        # Partitions whose peer's packets have not arrived: retried until the peer answers.
        "waiting_for_peer": len(waiting - (agreed or set())),
        "reports": reports,
        "accounting": _accounting(storage, settings, key, partitions, agreed),
        # Reports each key of this server's ring opened, by fingerprint: an old key is retired
        # once it opens nothing (docs/runbook.md).
        "keys": opened_keys.batch_counts(storage, private, key),
        "closed": close is not None,
        "closed_partitions": len(agreed) if agreed is not None else None,
        "total_share": total_share,
        "peer_total_share": storage.exists(private, layout.peer_total_share(key)),
        "published": published,
        "publication": publication,
        # When ingest last wrote a partition of it: a backfill is done when this stops moving.
        "last_arrival": arrivals.iso(arrivals.server_last_arrival(storage, settings, key)),
    }


def _state(close, total_share: bool, published: bool, publication: dict | None) -> str:
    """open -> closing -> aggregated -> published (or refused: below MIN_BATCH_SIZE, ...)."""
    if published:
        return "published"
    if publication is not None and not publication.get("published"):
        return "refused"
    if total_share:
        return "aggregated"
    return "closing" if close is not None else "open"


def _accounting(storage, settings, key, partitions, agreed) -> dict:
    """reports_in = counted + sum(rejected) + pending, from stored records only.

    counted: valid reports of the agreed partitions (of every verified one while open);
    rejected: each report's reason (pb.Reason names), LATE for a partition verified after the
    close, PEER_TIMEOUT for one still unverified at the close, REPLAYED for a valid later copy
    of a report id the close took out; pending: not verified yet."""
    private = settings.private_bucket
    # A partition is in once its notice was taken (own verify1 stored). A share file without
    # a notice is the leftover of an ingest flush that failed and was redone under another
    # partition id: never notified, never counted (its reports are in the redone partition).
    sizes = {}
    for pid in partitions["verify1"]:
        record = _read(storage, private, layout.internal("verify1", key, pid),
                       pb.Verify1Partition)
        sizes[pid] = len(record.load_status)
    reports_in = sum(sizes.values())
    counted, pending = 0, 0
    rejected: Counter[str] = Counter()
    for pid, size in sizes.items():
        record = None
        if pid in partitions["verified"]:
            record = _read(storage, private, layout.internal("verified", key, pid),
                           pb.PartitionVerified)
        if agreed is None or pid in agreed:
            if record is None:
                pending += size
                continue
            counted += record.valid_count
            rejected.update(outcome.rejected_counts(record.outcome))
        else:
            rejected[outcome.LATE if record is not None else outcome.PEER_TIMEOUT] += size
    # The close takes out later copies of a report id found in two agreed partitions
    # (services/aggregator/repeats.py); its total share says how many were valid.
    total = _read(storage, private, layout.batch_record(key, "total_share.pb"), pb.TotalShare)
    replayed = total.rejected.get(outcome.REPLAYED, 0) if total is not None else 0
    if replayed:
        counted -= replayed
        rejected[outcome.REPLAYED] += replayed
    return {"reports_in": reports_in, "counted": counted,
            "rejected": dict(sorted(rejected.items())), "pending": pending}


def _report_counts(storage, private, key, verified_ids, agreed) -> dict:
    rejected: Counter[str] = Counter()
    verified = valid = late = 0
    for pid in sorted(verified_ids):
        record = _read(storage, private, layout.internal("verified", key, pid),
                       pb.PartitionVerified)
        verified += record.report_count
        valid += record.valid_count
        rejected.update(outcome.rejected_counts(record.outcome))
        if agreed is not None and pid not in agreed:
            late += record.report_count  # verified after the batch closed: never counted
    return {"verified": verified, "valid": valid, "rejected": dict(sorted(rejected.items())),
            "late": late}


def _read(storage: Storage, bucket: str, name: str, message_type):
    data = storage.read_or_none(bucket, name)
    return None if data is None else message_type.FromString(data)


def batches(storage: Storage, settings: Settings) -> list[BatchKey]:
    """Every batch this server has received a partition of."""
    return layout.batches_under(storage.list(settings.inbox_bucket, "raw/"))


BATCH_ID_RULE = (f"batch id must be 1 to {layout.MAX_BATCH_ID} printable characters, "
                 "without '/' and not starting with '.'")
DATE_RULE = "submission date must be a calendar date YYYY-MM-DD"
_ASCII_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # \d would take other scripts' digits


class BatchNotFound(errors.NotFound):
    """The batch id is not in DATA_CONFIG: nothing of it can change state."""


class DayNotOver(errors.Conflict):
    """A close of a submission date whose day (UTC) is not over, without force."""


def batch_key(batch_id: str, date: str) -> BatchKey:
    """The batch an admin path names; InvalidRequest with the rule it breaks (paths are caller
    input)."""
    try:
        if not _ASCII_DATE.fullmatch(date):
            raise ValueError
        dt.date.fromisoformat(date)
    except ValueError:
        raise errors.InvalidRequest(DATE_RULE) from None
    try:
        return BatchKey(batch_id, date)
    except ValueError:  # the date is valid: the batch id is not
        raise errors.InvalidRequest(BATCH_ID_RULE) from None


def configured_key(batch_id: str, date: str, settings: Settings) -> BatchKey:
    """batch_key, for a batch of DATA_CONFIG only: what state changes take."""
    key = batch_key(batch_id, date)
    if key.batch_id not in (settings.data_config or {}):
        raise BatchNotFound(f"batch id {key.batch_id!r} is not in DATA_CONFIG")
    return key


def refuse_unfinished_day(key: BatchKey, force: bool) -> None:
    """A close is final: reports of its day arriving later are LATE. Closing a day that is not
    over (UTC) needs force; the scheduled close only ever closes days past their grace."""
    today = dt.datetime.now(dt.UTC).date()
    if not force and dt.date.fromisoformat(key.submission_date) >= today:
        raise DayNotOver(
            f"{key.submission_date} is not over yet (today is {today.isoformat()} UTC): reports "
            f"still arriving would be counted LATE, and a close cannot be undone; add "
            f"?force=true to close it now")
