"""The servers' admin routes of batches: status on every service, the close on the aggregator."""

from __future__ import annotations

from collections.abc import Callable

import fastapi

from services.protocol import status
from services.protocol.layout import BatchKey


def router(ctx, close: Callable[[BatchKey], dict] | None = None,
           close_due: Callable[[], dict] | None = None) -> fastapi.APIRouter:
    """`GET /batches`, `GET /batches/{batch_id}/{date}` and, where given, the close actions.
    What they refuse (errors.Refused) the admin app answers with its status."""
    api = fastapi.APIRouter(tags=["batches"])

    if close_due is not None:
        @api.post("/batches/close-due")
        def close_due_batches() -> dict:
            """One round of the scheduled close (Cloud Scheduler): every batch date whose
            submission date + CLOSE_GRACE_SECONDS has passed. Idempotent."""
            return close_due()

    @api.get("/batches")
    def list_batches() -> dict:
        return {"batches": [k.attributes() for k in status.batches(ctx.storage, ctx.settings)]}

    @api.get("/batches/{batch_id}/{date}")
    def get_batch(batch_id: str, date: str) -> dict:
        return status.batch_status(ctx.storage, ctx.settings, status.batch_key(batch_id, date))

    if close is not None:
        @api.post("/batches/{batch_id}/{date}/close")
        def close_batch(batch_id: str, date: str, force: bool = False) -> dict:
            """Closes the batch date now (leader only). A date not over yet needs force=true."""
            key = status.configured_key(batch_id, date, ctx.settings)
            status.refuse_unfinished_day(key, force)
            return close(key)

    return api
