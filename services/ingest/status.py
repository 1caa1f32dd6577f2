"""Ingest's view of a batch, from what it wrote: partitions, reports, duplicates, rejections."""

from __future__ import annotations

import json
from collections import Counter

import fastapi
import pydantic

from services.ingest import staged
from services.ingest.partitions import DUPLICATE
from services.protocol import arrivals, layout, status
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
    return {"batch_id": key.batch_id, "submission_date": key.submission_date, "partitions": len(manifests),
            "last_arrival": arrivals.iso(arrivals.last_arrival(manifests)),
            "reports": reports, "duplicates": duplicates,
            # Pings naming no known batch are counted under every batch of their date.
            "rejected": rejected, "reports_in": reports + sum(rejected.values())}


class StagedFiles(pydantic.BaseModel):
    """Staged share files (the seed's layout) already in a bucket."""

    bucket: str = pydantic.Field(min_length=1, max_length=222)  # GCS's longest bucket name
    server_a_object: str = pydantic.Field(max_length=staged.MAX_OBJECT_NAME)
    server_b_object: str = pydantic.Field(max_length=staged.MAX_OBJECT_NAME)


def router(ctx, import_files) -> fastapi.APIRouter:
    api = fastapi.APIRouter(tags=["batches"])

    @api.get("/batches")
    def list_batches() -> dict:
        names = ctx.storage.list(ctx.settings.ingest_bucket, "anti-replay/")
        return {"batches": [{"batch_id": k.batch_id, "submission_date": k.submission_date}
                            for k in layout.ingest_batches_under(names)]}

    @api.get("/batches/{batch_id}/{date}")
    def get_batch(batch_id: str, date: str) -> dict:
        return batch_status(ctx.storage, ctx.settings, status.batch_key(batch_id, date))

    @api.post("/batches/{batch_id}/{date}/import")
    def import_staged(batch_id: str, date: str, files: StagedFiles) -> dict:
        """Imports staged share files stored in a bucket into partitions of this batch."""
        key = status.batch_key(batch_id, date)
        try:
            data_a, data_b = staged.read_files(ctx.storage, ctx.settings, key, files.bucket, (
                files.server_a_object, files.server_b_object))
            return import_files(key, data_a, data_b)
        except staged.ImportRefused as refused:
            raise fastapi.HTTPException(refused.status, str(refused)) from None
        except ValueError as error:
            raise fastapi.HTTPException(400, str(error)) from None

    return api
