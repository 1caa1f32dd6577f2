"""Ingest's admin routes: its batches (what it wrote) and the import of staged share files."""

from __future__ import annotations

from typing import Annotated, Literal

import fastapi
import pydantic

from services.common import errors
from services.ingest import staged, status
from services.protocol import layout
from services.protocol import status as batch_status


class StagedFiles(pydantic.BaseModel):
    """Staged share files (the seed's layout) already in a bucket."""

    bucket: str = pydantic.Field(min_length=1, max_length=222,  # GCS's longest bucket name
                                 description="A bucket of STAGING_BUCKETS.")
    server_a_object: str = pydantic.Field(max_length=staged.MAX_OBJECT_NAME,
                                          description="Server A's share file in it.")
    server_b_object: str = pydantic.Field(max_length=staged.MAX_OBJECT_NAME,
                                          description="Server B's share file in it.")


class Batch(pydantic.BaseModel):
    batch_id: str = pydantic.Field(description="The batch id (DATA_CONFIG).")
    submission_date: str = pydantic.Field(description="The submission date, YYYY-MM-DD.")


class BatchList(pydantic.BaseModel):
    batches: list[Batch] = pydantic.Field(description="Every batch date ingest wrote a "
                                                      "partition of.")


class IngestStatus(Batch):
    """reports_in = reports + the sum of rejected."""

    partitions: int = pydantic.Field(description="Partitions written to both inboxes.")
    last_arrival: str | None = pydantic.Field(description="When the newest partition was "
                                                          "written (UTC).")
    reports: int = pydantic.Field(description="Reports written to both inboxes.")
    duplicates: int = pydantic.Field(description="Deliveries of a report already written: "
                                                 "dropped, not rejections.")
    rejected: dict[str, int] = pydantic.Field(description="Reports or pings rejected, by "
                                                          "reason (those naming no batch "
                                                          "count under every batch).")
    reports_in: int = pydantic.Field(description="Everything taken for the batch date.")


class Imported(pydantic.BaseModel):
    partitions: int = pydantic.Field(description="Partitions this call wrote.")
    reports: int = pydantic.Field(description="Reports this call wrote.")


class ImportReply(Batch, Imported):
    already_imported: Imported = pydantic.Field(description="What an earlier import of the "
                                                            "same files had written.")
    duplicates: int = pydantic.Field(description="Reports already written: dropped.")
    rejected: dict[str, int] = pydantic.Field(description="Reports refused, by reason.")


class ReportInBatch(Batch):
    report_id: str = pydantic.Field(description="uuid5 of the document id and the batch id.")
    state: Literal["received", "rejected", "not_found"] = pydantic.Field(
        description="received: written in a partition for both servers (their status says "
                    "whether it counted); rejected: a replay; not_found: ingest wrote no such "
                    "report (a ping it rejected before finding a report is counted by reason "
                    "only).")
    reason: str | None = pydantic.Field(description="Why rejected (pb.Reason name).")
    partition_id: str | None = pydantic.Field(description="The partition holding it.")


class ReportLookup(pydantic.BaseModel):
    document_id: str = pydantic.Field(description="The ping's document id.")
    reports: list[ReportInBatch] = pydantic.Field(description="One per batch id of "
                                                              "DATA_CONFIG.")


def router(ctx, import_files) -> fastapi.APIRouter:
    """What they refuse (errors.Refused) the admin app answers with its status."""
    api = fastapi.APIRouter(tags=["batches"])

    @api.get("/batches")
    def list_batches() -> BatchList:
        names = ctx.storage.list(ctx.settings.ingest_bucket, layout.INGEST_SHARDS)
        return {"batches": [k.attributes() for k in layout.ingest_batches_under(names)]}

    @api.get("/batches/{batch_id}/{date}")
    def get_batch(batch_id: str, date: str) -> IngestStatus:
        """What ingest wrote and rejected of the batch date; 404 when nothing."""
        found = status.batch_status(ctx.storage, ctx.settings,
                                    batch_status.batch_key(batch_id, date))
        return status.stored(found, ctx.settings)

    @api.get("/reports/{document_id}")
    def get_report(document_id: str, date: Annotated[str, fastapi.Query(
            description="The ping's submission date, YYYY-MM-DD.")]) -> ReportLookup:
        """Whether ingest wrote a ping's report of each batch id of DATA_CONFIG on that date."""
        keys = batch_status.report_keys(document_id, date, ctx.settings)
        return {"document_id": document_id, "reports": [
            status.find_report(ctx.storage, ctx.settings, key, rid) for key, rid in keys]}

    @api.post("/batches/{batch_id}/{date}/import")
    def import_staged(batch_id: str, date: str, files: StagedFiles) -> ImportReply:
        """Imports staged share files stored in a bucket into partitions of this batch."""
        key = batch_status.batch_key(batch_id, date)
        try:
            data_a, data_b = staged.read_files(ctx.storage, ctx.settings, key, files.bucket, (
                files.server_a_object, files.server_b_object))
            return import_files(key, data_a, data_b)
        except ValueError as error:  # the files' content: not share files
            raise errors.InvalidRequest(str(error)) from None

    return api
