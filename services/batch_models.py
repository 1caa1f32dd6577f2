"""The servers' admin replies about batches and reports, typed: OpenAPI documents every field."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.protocol import status

State = Literal[status.STATES]  # type: ignore[valid-type]
Moment = str | None
Seconds = float | None


class Batch(BaseModel):
    batch_id: str = Field(description="The batch id (DATA_CONFIG).")
    submission_date: str = Field(description="The submission date, YYYY-MM-DD.")


class Partitions(BaseModel):
    """Partitions of the batch by how far each got on this server."""

    received: int = Field(description="Share files ingest wrote to this server's inbox.")
    verify1: int = Field(description="Partitions this server loaded and sent verify1 for.")
    peer_verify1: int = Field(description="Partitions whose verify1 the peer sent.")
    verify2: int = Field(description="Partitions this server sent verify2 for.")
    peer_verify2: int = Field(description="Partitions whose verify2 the peer sent.")
    verified: int = Field(description="Partitions whose reports' validity is decided.")
    aggregated: int = Field(description="Partitions summed into a partition total.")


class Transitions(BaseModel):
    """When this server stored each step of the batch (UTC, ISO 8601; null: not yet)."""

    first_received: Moment = Field(description="The first share file of the batch written "
                                               "to this server's inbox.")
    closed: Moment = Field(description="The agreed partition list (A: its proposal, B: its "
                                       "acceptance).")
    total_share: Moment = Field(description="This server's total share of the agreed list.")
    decided: Moment = Field(description="The publisher's outcome (published or refused).")
    published: Moment = Field(description="The result in processed/.")


class BatchSummary(Batch):
    server: Literal["A", "B"] | None = Field(description="The server answering.")
    state: State = Field(description="open -> closing -> aggregated -> published, or refused "
                                     "(below MIN_BATCH_SIZE, the servers disagree, ...).")
    stuck: bool = Field(description="Not published or refused, owing work (a partition "
                                    "unverified or waiting for the peer, a close not "
                                    "finished, a day past CLOSE_GRACE_SECONDS), and nothing "
                                    "written for STUCK_AFTER_SECONDS, or a partition waiting "
                                    "for the peer that long.")
    partitions: Partitions
    waiting_for_peer: int = Field(description="Partitions whose peer's packets have not "
                                              "arrived (retried until the peer answers).")
    waiting_for_peer_seconds: Seconds = Field(description="How long the longest of them has "
                                                          "waited.")
    transitions: Transitions
    age_seconds: Seconds = Field(description="Since the first share file arrived.")
    idle_seconds: Seconds = Field(description="Since anything of the batch was last written "
                                              "on this server.")


class BatchList(BaseModel):
    batches: list[BatchSummary] = Field(description="Every batch date this server received a "
                                                    "partition of (or those of the state "
                                                    "asked for).")


class Reports(BaseModel):
    verified: int = Field(description="Reports of verified partitions.")
    valid: int = Field(description="Of them, valid on both servers.")
    rejected: dict[str, int] = Field(description="Of them, rejected, by reason (pb.Reason).")
    late: int = Field(description="Reports of partitions verified after the close: never "
                                  "counted.")


class Accounting(BaseModel):
    """reports_in = counted + sum(rejected) + pending."""

    reports_in: int = Field(description="Reports of every partition this server loaded.")
    counted: int = Field(description="Valid reports of the agreed partitions (of every "
                                     "verified one while open).")
    rejected: dict[str, int] = Field(description="Reports not counted, by reason (LATE, "
                                                 "PEER_TIMEOUT and REPLAYED included).")
    pending: int = Field(description="Reports not verified yet.")


class Publication(BaseModel):
    """The publisher's status.json: these fields, and any other it records."""

    model_config = ConfigDict(extra="allow")

    published: bool = Field(description="Whether the publisher published the batch.")
    reason: str | None = Field(None, description="Why not, when refused.")
    valid: int | None = Field(None, description="Valid reports published.")


class PublishedCounts(BaseModel):
    counts: dict[str, int] = Field(description="The published count of each label "
                                               "(LABELS_FILE; indices without one).")
    valid: int = Field(description="Reports counted.")
    total: int = Field(description="Reports of the agreed partitions.")
    rejected: dict[str, int] = Field(description="Reports of the agreed partitions not "
                                                 "counted, by reason.")
    timestamp: str | None = Field(description="When the result was computed (UTC).")


class BatchStatus(BatchSummary):
    reports: Reports
    likely_cause: str | None = Field(description="When nearly all reports fail for one "
                                                 "reason: the setup mistake it points to, "
                                                 "named in the settings that fix it.")
    accounting: Accounting
    closed: bool = Field(description="The agreed partition list is stored.")
    closed_partitions: int | None = Field(description="Partitions in the agreed list.")
    total_share: bool = Field(description="This server's total share is stored.")
    peer_total_share: bool = Field(description="The peer's total share reached this server's "
                                               "publisher.")
    published: bool = Field(description="The result is stored in processed/.")
    publication: Publication | None = Field(description="The publisher's outcome, once "
                                                        "recorded.")
    result: PublishedCounts | None = Field(description="The published counts, once "
                                                       "published.")
    last_arrival: Moment = Field(description="When ingest last wrote a partition of the batch "
                                             "(from its partition ids): a backfill is done "
                                             "when this stops moving.")


class BatchClosed(Batch):
    partition_ids: list[str] = Field(description="The agreed partition list.")


class Arriving(Batch):
    last_arrival: Moment = Field(description="When ingest last wrote a partition of it.")


class CloseError(Batch):
    error: str = Field(description="The type of the error (logged; tried again next round).")


class CloseDue(BaseModel):
    closed: list[Batch] = Field(description="Batch dates this round closed.")
    nothing_aggregated_yet: list[Batch] = Field(description="Due, with nothing to close yet.")
    still_arriving: list[Arriving] = Field(description="Due, but ingest wrote a partition of "
                                                       "it within CLOSE_QUIET_SECONDS.")
    errors: list[CloseError] = Field(description="Batch dates whose close failed.")


class ReportCopy(BaseModel):
    partition_id: str = Field(description="The partition holding this copy of the report id.")
    position: int = Field(description="Its position in the partition.")
    state: str = Field(description="received (not verified yet), pending (valid; counted at "
                                   "the close), counted, or rejected.")
    reason: str | None = Field(description="Why rejected (pb.Reason name).")


class ReportInBatch(Batch):
    report_id: str = Field(description="uuid5 of the document id and the batch id.")
    state: Literal["received", "pending", "counted", "rejected", "not_found"] = Field(
        description="The counted copy's state, else the first copy's; not_found: no loaded "
                    "partition holds the id.")
    reason: str | None = Field(description="Why rejected (pb.Reason name).")
    copies: list[ReportCopy] = Field(description="Every copy of the id in the loaded "
                                                 "partitions, in partition order.")
    unloaded_partitions: int = Field(description="Partitions notified but not loaded yet: "
                                                 "the report may be in one of them.")


class ReportLookup(BaseModel):
    document_id: str = Field(description="The ping's document id.")
    server: Literal["A", "B"] | None = Field(description="The server answering.")
    reports: list[ReportInBatch] = Field(description="One per batch id of DATA_CONFIG.")
