"""Ingest's view of a batch, from what it wrote: partitions, reports, duplicates, rejections."""

from __future__ import annotations

import json
from collections import Counter

from services.ingest.partitions import DUPLICATE
from services.protocol import arrivals, layout
from services.protocol.layout import BatchKey


def batch_status(storage, settings, key: BatchKey) -> dict:
    """reports_in = reports (written to both inboxes) + every rejection, by reason."""
    bucket = settings.ingest_bucket
    manifests = storage.list(bucket, layout.ingest_manifest_prefix(key))
    reports = sum(len(json.loads(storage.read(bucket, n))["report_ids"]) for n in manifests)
    items: dict[str, str] = {}
    for name in storage.list(bucket, layout.ingest_outcomes_prefix(key.submission_date)):
        for item in json.loads(storage.read(bucket, name))["items"]:
            if item["batch_id"] in (key.batch_id, ""):
                items[item["id"]] = item["reason"]
    outcomes = Counter(items.values())
    duplicates = outcomes.pop(DUPLICATE, 0)
    rejected = dict(sorted(outcomes.items()))
    return {**key.attributes(), "partitions": len(manifests),
            "last_arrival": arrivals.iso(arrivals.last_arrival(manifests)),
            "reports": reports, "duplicates": duplicates,
            # Pings naming no known batch are counted under every batch of their date.
            "rejected": rejected, "reports_in": reports + sum(rejected.values())}
