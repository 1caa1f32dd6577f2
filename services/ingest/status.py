"""Ingest's view of a batch, from what it wrote: partitions, reports, duplicates, rejections."""

from __future__ import annotations

import json
from collections import Counter

from services.common import errors
from services.ingest.partitions import DUPLICATE
from services.protocol import arrivals, layout
from services.protocol.layout import BatchKey


def batch_status(storage, settings, key: BatchKey) -> dict:
    """reports_in = reports (written to both inboxes) + every rejection, by reason."""
    bucket = settings.ingest_bucket
    manifests = storage.list(bucket, layout.ingest_manifest_prefix(key))
    reports = sum(len(json.loads(storage.read(bucket, n))["report_ids"]) for n in manifests)
    items = {item["id"]: item["reason"] for item in _outcome_items(storage, bucket, key)}
    outcomes = Counter(items.values())
    duplicates = outcomes.pop(DUPLICATE, 0)
    rejected = dict(sorted(outcomes.items()))
    return {**key.attributes(), "partitions": len(manifests),
            "last_arrival": arrivals.iso(arrivals.last_arrival(manifests)),
            "reports": reports, "duplicates": duplicates,
            # Pings naming no known batch are counted under every batch of their date.
            "rejected": rejected, "reports_in": reports + sum(rejected.values())}


class NothingWritten(errors.NotFound):
    """Ingest holds nothing of the batch date."""


def stored(found: dict, settings) -> dict:
    """A batch's status, if ingest wrote or rejected anything of it (rejections of pings
    naming no batch count under a batch of DATA_CONFIG only); else NothingWritten (404)."""
    configured = found["batch_id"] in (settings.data_config or {})
    if found["partitions"] or (found["reports_in"] and configured):
        return found
    raise NothingWritten(f"ingest holds nothing of batch {found['batch_id']!r}"
                         f"{'' if configured else ' (not in DATA_CONFIG)'} on "
                         f"{found['submission_date']}")


def _outcome_items(storage, bucket: str, key: BatchKey):
    """The rejection records of the date naming the batch, or no batch."""
    for name in storage.list(bucket, layout.ingest_outcomes_prefix(key.submission_date)):
        for item in json.loads(storage.read(bucket, name))["items"]:
            if item["batch_id"] in (key.batch_id, ""):
                yield item


def find_report(storage, settings, key: BatchKey, report_id: str) -> dict:
    """Whether ingest wrote a report (the partition holding it) or rejected it as a replay:
    the rejections ingest decides before a report exists carry no id, only counts."""
    bucket = settings.ingest_bucket
    for name in storage.list(bucket, layout.ingest_manifest_prefix(key)):
        if report_id in json.loads(storage.read(bucket, name))["report_ids"]:
            return {**key.attributes(), "report_id": report_id, "state": "received",
                    "reason": None, "partition_id": layout.partition_ids([name])[0]}
    replay = f":{report_id}:"  # a replay's id: replay:{date}:{report id}:{fingerprint}
    found = next((item for item in _outcome_items(storage, bucket, key)
                  if replay in item["id"]), None)
    return {**key.attributes(), "report_id": report_id,
            "state": "rejected" if found else "not_found",
            "reason": found["reason"] if found else None, "partition_id": None}
