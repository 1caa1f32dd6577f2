"""A batch's status on one server, derived from its buckets only: any instance answers the same."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter

from services.common import errors
from services.common.config import Settings
from services.common.storage import Storage
from services.protocol import (
    arrivals,
    hints,
    layout,
    opened_keys,
    outcome,
    pb,
    releases,
    shares,
    window,
)
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


# A batch in one of these states owes nothing more: it is never stuck.
FINAL_STATES = ("published", "refused")
STATES = ("open", "closing", "aggregated", *FINAL_STATES)
# The batch records whose creation is a transition of the batch, by the name status gives it.
TRANSITIONS = {"closed": "close.pb", "total_share": "total_share.pb", "decided": "status.json"}


def _prefix(where: str, step: str, key: BatchKey) -> str:
    if where == "inbox":
        return layout.raw_prefix(key)
    return (layout.internal_prefix if where == "internal" else layout.external_prefix)(step, key)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def batch_summary(storage: Storage, settings: Settings, key: BatchKey,
                  now: dt.datetime | None = None) -> dict:
    """State, transition times, ages and waiting partitions, from listings and the batch's
    small records only (never a partition's): what /batches lists for every batch."""
    return _summary(storage, settings, key, now or _now())[0]


def _summary(storage: Storage, settings: Settings, key: BatchKey, now: dt.datetime):
    """(the summary, each stage's partitions with their creation times, the close record)"""
    private = settings.private_bucket
    stages = {}
    for stage, where, step in STAGES:
        bucket = settings.inbox_bucket if where == "inbox" else private
        stages[stage] = _by_partition(storage.times(bucket, _prefix(where, step, key)))
    records = {name.rsplit("/", 1)[1]: moment for name, moment in
               storage.times(private, layout.batch_record(key, "")).items()}
    result = storage.times(private, layout.result(key)).get(layout.result(key))
    close = _read(storage, private, layout.batch_record(key, "close.pb"), pb.BatchClose)
    publication = storage.read_or_none(private, layout.batch_record(key, "status.json"))
    publication = json.loads(publication) if publication else None
    state = _state(close, "total_share.pb" in records, result is not None, publication)
    agreed = set(close.partition_ids) if close else set()
    # Partitions whose peer's packets have not arrived, since own packets were sent: retried
    # until the peer answers.
    waiting = {pid: since for own, peer in (("verify1", "peer_verify1"),
                                            ("verify2", "peer_verify2"))
               for pid, since in stages[own].items()
               if pid not in stages[peer] and pid not in agreed}
    every = [m for times in stages.values() for m in times.values()]
    every += [*records.values(), *([result] if result else [])]
    received = min(stages["received"].values(), default=None)
    waited = _seconds(now, min(waiting.values(), default=None))
    summary = {
        **key.attributes(),
        "server": settings.server_id,
        "state": state,
        "partitions": {stage: len(times) for stage, times in stages.items()},
        "waiting_for_peer": len(waiting),
        "waiting_for_peer_seconds": waited,
        "transitions": {"first_received": arrivals.iso(received),
                        **{name: arrivals.iso(records.get(record))
                           for name, record in TRANSITIONS.items()},
                        "published": arrivals.iso(result)},
        "age_seconds": _seconds(now, received),
        "idle_seconds": _seconds(now, max(every, default=None)),
    }
    summary["stuck"] = _stuck(summary, stages, key, settings, now)
    return summary, stages, close


def _by_partition(times: dict[str, dt.datetime]) -> dict[str, dt.datetime]:
    return dict(zip(layout.partition_ids(list(times)), times.values(), strict=True))


def _seconds(now: dt.datetime, since: dt.datetime | None) -> float | None:
    return None if since is None else round(max(0.0, (now - since).total_seconds()), 1)


def _stuck(summary: dict, stages: dict, key: BatchKey, settings: Settings,
           now: dt.datetime) -> bool:
    """Not final, owing work, and quiet for STUCK_AFTER_SECONDS (or a partition waiting for
    the peer that long): what an operator should look at."""
    if summary["state"] in FINAL_STATES:
        return False
    limit = settings.stuck_after_seconds
    if (summary["waiting_for_peer_seconds"] or 0) >= limit:
        return True
    due = window.day_is_over(key.submission_date, now, settings.close_grace_seconds)
    owing = (summary["state"] != "open" or due or summary["waiting_for_peer"]
             or set(stages["verify1"]) - set(stages["verified"]))
    return bool(owing) and (summary["idle_seconds"] or 0) >= limit


def batch_status(storage: Storage, settings: Settings, key: BatchKey,
                 now: dt.datetime | None = None) -> dict:
    """batch_summary, with the reports by outcome, the published counts and the likely cause
    of a batch whose reports nearly all fail for one reason."""
    summary, stages, close = _summary(storage, settings, key, now or _now())
    private = settings.private_bucket
    partitions = {stage: set(times) for stage, times in stages.items()}
    agreed = set(close.partition_ids) if close else None
    reports = _report_counts(storage, private, key, partitions["verified"], agreed)
    publication = storage.read_or_none(private, layout.batch_record(key, "status.json"))
    result = storage.read_or_none(private, layout.result(key))
    return {
        **summary,
        "reports": reports,
        "likely_cause": hints.likely_cause(reports["rejected"], reports["verified"]),
        "accounting": _accounting(storage, settings, key, partitions, agreed),
        # Reports each key of this server's ring opened, by fingerprint: an old key is retired
        # once it opens nothing (docs/runbook.md).
        "keys": opened_keys.batch_counts(storage, private, key),
        "closed": close is not None,
        "closed_partitions": len(agreed) if agreed is not None else None,
        "total_share": summary["transitions"]["total_share"] is not None,
        "peer_total_share": storage.exists(private, layout.peer_total_share(key)),
        "published": result is not None,
        "publication": json.loads(publication) if publication else None,
        # This server's signed release record, and whether the peer's agrees (docs/security.md).
        "release": releases.status(storage, private, key),
        "result": _published(json.loads(result)) if result else None,
        # When ingest last wrote a partition of it: a backfill is done when this stops moving.
        "last_arrival": arrivals.iso(arrivals.server_last_arrival(storage, settings, key)),
    }


def _published(result: dict) -> dict:
    """The result's counts by label, and how many reports they count: never a share."""
    return {"counts": result["counts"], "valid": result["valid"], "total": result["total"],
            "rejected": result.get("rejected", {}), "timestamp": result.get("timestamp")}


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


def find_report(storage: Storage, settings: Settings, key: BatchKey, report_id: str) -> dict:
    """What this server did with a report of a batch date: each stored copy of its id (in
    partition order) with its state, as the batch's accounting counts it. Reads the report id
    lists of the date's partitions; a partition not loaded yet is only counted."""
    private = settings.private_bucket
    close = _read(storage, private, layout.batch_record(key, "close.pb"), pb.BatchClose)
    agreed = set(close.partition_ids) if close else None
    loaded = layout.partition_ids(storage.list(private, layout.internal_prefix("report_ids", key)))
    copies, earlier = [], False
    for pid in sorted(loaded):
        ids = storage.read(private, layout.internal("report_ids", key, pid)).decode().split("\n")
        for position in (i for i, found in enumerate(ids) if found == report_id):
            verified = _read(storage, private, layout.internal("verified", key, pid),
                             pb.PartitionVerified)
            state, reason = _report_state(verified, position, pid, agreed, earlier)
            earlier = earlier or agreed is None or pid in agreed
            copies.append({"partition_id": pid, "position": position, "state": state,
                           "reason": reason})
    notified = layout.partition_ids(storage.list(settings.inbox_bucket, layout.notice_prefix(key)))
    main = next((c for c in copies if c["state"] == "counted"), copies[0] if copies else None)
    return {**key.attributes(), "report_id": report_id,
            "state": main["state"] if main else "not_found",
            "reason": main["reason"] if main else None, "copies": copies,
            "unloaded_partitions": len(set(notified) - set(loaded))}


def _report_state(verified, position: int, pid: str, agreed: set | None,
                  earlier: bool) -> tuple[str, str | None]:
    """received (not verified yet), pending (valid, the batch not closed), counted, or
    rejected with its reason; the close's rules as _accounting and the close apply them."""
    if verified is None:
        if agreed is not None and pid not in agreed:
            return "rejected", outcome.PEER_TIMEOUT
        return "received", None
    reason = verified.outcome[position]
    if reason != outcome.OK:
        return "rejected", outcome.name(reason)
    if agreed is None:
        return "pending", None
    if pid not in agreed:
        return "rejected", outcome.LATE
    # The close keeps the first copy of an id in partition order (aggregator/repeats.py).
    return ("rejected", outcome.REPLAYED) if earlier else ("counted", None)


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
    return layout.batches_under(storage.list(settings.inbox_bucket, layout.RAW))


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


# A Firefox document id is a UUID; anything printable up to this length is looked up.
MAX_DOCUMENT_ID = 256


def report_keys(document_id: str, date: str, settings: Settings) -> list[tuple[BatchKey, str]]:
    """Each batch of DATA_CONFIG on the date, with the report id a ping of this document id
    has in it; InvalidRequest for a document id no ping could carry (paths are caller input)."""
    if not 0 < len(document_id) <= MAX_DOCUMENT_ID or not document_id.isprintable():
        raise errors.InvalidRequest(f"a document id is 1 to {MAX_DOCUMENT_ID} printable "
                                    "characters")
    return [(batch_key(batch_id, date), shares.report_id(document_id, batch_id))
            for batch_id in sorted(settings.data_config or {})]


class NothingStored(errors.NotFound):
    """Nothing of the batch date is stored on this server: no partition, no record."""


def stored(found: dict, settings: Settings) -> dict:
    """A batch's summary or status, if this server holds anything of it; else NothingStored
    (an admin path naming a batch that never was answers 404, not an empty "open")."""
    if any(found["partitions"].values()) or any(found["transitions"].values()):
        return found
    known = "" if found["batch_id"] in (settings.data_config or {}) else " (not in DATA_CONFIG)"
    raise NothingStored(f"server {settings.server_id} holds nothing of batch "
                        f"{found['batch_id']!r}{known} on {found['submission_date']}")


def refuse_unfinished_day(key: BatchKey, force: bool) -> None:
    """A close is final: reports of its day arriving later are LATE. Closing a day that is not
    over (UTC) needs force; the scheduled close only ever closes days past their grace."""
    today = dt.datetime.now(dt.UTC).date()
    if not force and dt.date.fromisoformat(key.submission_date) >= today:
        raise DayNotOver(
            f"{key.submission_date} is not over yet (today is {today.isoformat()} UTC): reports "
            f"still arriving would be counted LATE, and a close cannot be undone; add "
            f"?force=true to close it now")
