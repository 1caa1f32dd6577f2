"""The servers' admin routes of batches: status on every service, the close on the aggregator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import fastapi

from services import batch_models as models
from services import status_page
from services.protocol import status
from services.protocol.layout import BatchKey

Filter = Literal[(*status.STATES, "stuck")]  # type: ignore[valid-type]
StateFilter = Annotated[Filter | None, fastapi.Query(
    description="Only batches in this state; stuck: see the `stuck` field.")]


def router(ctx, close: Callable[[BatchKey], dict] | None = None,
           close_due: Callable[[], dict] | None = None) -> fastapi.APIRouter:
    """`GET /batches`, `GET /batches/{batch_id}/{date}` and, where given, the close actions.
    What they refuse (errors.Refused) the admin app answers with its status."""
    api = fastapi.APIRouter(tags=["batches"])

    if close_due is not None:
        @api.post("/batches/close-due")
        def close_due_batches() -> models.CloseDue:
            """One round of the scheduled close (Cloud Scheduler): every batch date whose
            submission date + CLOSE_GRACE_SECONDS has passed. Idempotent."""
            return close_due()

    @api.get("/batches")
    def list_batches(state: StateFilter = None) -> models.BatchList:
        """Every batch date this server received a partition of, with its state, ages and
        transition times (listings only: no partition is read)."""
        found = [status.batch_summary(ctx.storage, ctx.settings, key)
                 for key in status.batches(ctx.storage, ctx.settings)]
        return {"batches": [b for b in found if state is None
                            or (b["stuck"] if state == "stuck" else b["state"] == state)]}

    @api.get("/batches/{batch_id}/{date}")
    def get_batch(batch_id: str, date: str) -> models.BatchStatus:
        """The batch on this server: reports by outcome, the published counts, the likely
        cause of a batch failing wholesale; 404 when this server holds nothing of it."""
        key = status.batch_key(batch_id, date)
        return status.stored(status.batch_status(ctx.storage, ctx.settings, key), ctx.settings)

    @api.get("/reports/{document_id}")
    def get_report(document_id: str, date: Annotated[str, fastapi.Query(
            description="The ping's submission date, YYYY-MM-DD.")]) -> models.ReportLookup:
        """What this server did with a ping's report of each batch id of DATA_CONFIG on that
        date: received, pending, counted or rejected with the reason."""
        keys = status.report_keys(document_id, date, ctx.settings)
        return {"document_id": document_id, "server": ctx.settings.server_id, "reports": [
            status.find_report(ctx.storage, ctx.settings, key, rid) for key, rid in keys]}

    @api.get("/", response_class=fastapi.responses.HTMLResponse)
    def page() -> str:
        """A read-only status page: every batch with its state and age, each published
        batch's counts as a bar chart."""
        return status_page.render(ctx.storage, ctx.settings)

    if close is not None:
        @api.post("/batches/{batch_id}/{date}/close")
        def close_batch(batch_id: str, date: str, force: bool = False) -> models.BatchClosed:
            """Closes the batch date now (leader only). A date not over yet needs force=true."""
            key = status.configured_key(batch_id, date, ctx.settings)
            status.refuse_unfinished_day(key, force)
            return close(key)

    return api
