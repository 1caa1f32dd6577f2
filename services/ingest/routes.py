"""Ingest's admin routes: its batches (what it wrote) and the import of staged share files."""

from __future__ import annotations

import fastapi
import pydantic

from services.common import errors
from services.ingest import staged, status
from services.protocol import layout
from services.protocol import status as batch_status


class StagedFiles(pydantic.BaseModel):
    """Staged share files (the seed's layout) already in a bucket."""

    bucket: str = pydantic.Field(min_length=1, max_length=222)  # GCS's longest bucket name
    server_a_object: str = pydantic.Field(max_length=staged.MAX_OBJECT_NAME)
    server_b_object: str = pydantic.Field(max_length=staged.MAX_OBJECT_NAME)


def router(ctx, import_files) -> fastapi.APIRouter:
    """What they refuse (errors.Refused) the admin app answers with its status."""
    api = fastapi.APIRouter(tags=["batches"])

    @api.get("/batches")
    def list_batches() -> dict:
        names = ctx.storage.list(ctx.settings.ingest_bucket, "anti-replay/")
        return {"batches": [k.attributes() for k in layout.ingest_batches_under(names)]}

    @api.get("/batches/{batch_id}/{date}")
    def get_batch(batch_id: str, date: str) -> dict:
        return status.batch_status(ctx.storage, ctx.settings,
                                   batch_status.batch_key(batch_id, date))

    @api.post("/batches/{batch_id}/{date}/import")
    def import_staged(batch_id: str, date: str, files: StagedFiles) -> dict:
        """Imports staged share files stored in a bucket into partitions of this batch."""
        key = batch_status.batch_key(batch_id, date)
        try:
            data_a, data_b = staged.read_files(ctx.storage, ctx.settings, key, files.bucket, (
                files.server_a_object, files.server_b_object))
            return import_files(key, data_a, data_b)
        except ValueError as error:  # the files' content: not share files
            raise errors.InvalidRequest(str(error)) from None

    return api
