"""One taxonomy for reports not counted: every reason is a pb.Reason, on ingest and on both servers.

Where each reason is decided (docs/guarantees.md):
  ingest   NOT_JSON, TOO_LARGE, DATE_OUT_OF_WINDOW, MISSING_DOCUMENT_ID, MISSING_PRIO_DATA,
           MALFORMED_ENTRY, UNKNOWN_BATCH_ID, EXTRA_ENTRY, MISSING_SHARE, BAD_ENCODING, REPLAYED
  verifier the libprio reasons (DECRYPT_FAILED, BATCH_ID_MISMATCH, WRONG_SERVER_INDEX, ...,
           INVALID_PROOF), BAD_ENCODING, MISSING_PEER_PACKET
  status   LATE (verified after its batch closed), PEER_TIMEOUT (its batch closed before the
           peer's packets arrived)
A duplicate delivery (the same report, same content, same batch) is not a report: it is
dropped and shown as `duplicates`, never as a rejection.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import libprio_ctypes as prio
from services.protocol import pb

# Per-report arrays (load status, verify2 status, outcomes) carry pb.Reason codes: OK for a
# report that passed. Whatever is counted by reason (records, status, metrics, results) is
# named: the reason's name below, that of its code (name()), checked against pb.Reason here.
OK = pb.Reason.REASON_OK


def name(reason: int) -> str:
    """"INVALID_PROOF", as status and results show it."""
    return pb.Reason.Name(reason).removeprefix("REASON_")


def _named(reason: str) -> str:
    return name(pb.Reason.Value(f"REASON_{reason}"))  # a name not in pb.Reason fails here


# Ingest's reasons, as status, metrics and the loader's expectations name them.
NOT_JSON = _named("NOT_JSON")
MISSING_DOCUMENT_ID = _named("MISSING_DOCUMENT_ID")
MISSING_PRIO_DATA = _named("MISSING_PRIO_DATA")
MALFORMED_ENTRY = _named("MALFORMED_ENTRY")
UNKNOWN_BATCH_ID = _named("UNKNOWN_BATCH_ID")
MISSING_SHARE = _named("MISSING_SHARE")
BAD_ENCODING = _named("BAD_ENCODING")  # a share that is not base64
REPLAYED = _named("REPLAYED")
TOO_LARGE = _named("TOO_LARGE")  # a ping over a bound: body bytes, JSON depth, number length
EXTRA_ENTRY = _named("EXTRA_ENTRY")  # the second and later entries of a ping for one batch id
# Ahead of the clock, or past REPLAY_RETENTION_DAYS.
DATE_OUT_OF_WINDOW = _named("DATE_OUT_OF_WINDOW")
# The servers' batch-level reasons.
LATE = _named("LATE")
PEER_TIMEOUT = _named("PEER_TIMEOUT")
# Every server counts reports in this one counter, ingest too: prio.server_id ingest|A|B,
# prio.outcome written|duplicate|rejected (ingest), valid|rejected (a server), prio.reason,
# prio.batch_id.
REPORTS_METRIC = "prio.reports"


def reports_counter(telemetry):
    return telemetry.counter(REPORTS_METRIC, unit="{report}",
                             description="reports by server, outcome and rejection reason")


def from_core(reason: prio.Reason) -> int:
    return pb.Reason.Value(f"REASON_{prio.Reason(reason).name}")


def all_reasons() -> list[str]:
    """Every reason a report can be rejected for (the taxonomy, for docs and metrics)."""
    return [name(v) for v in pb.Reason.values() if v not in (pb.Reason.REASON_UNSPECIFIED, OK)]


def report_outcomes(
    load_a: Sequence[int], load_b: Sequence[int],
    verify2_a: Sequence[int], verify2_b: Sequence[int], valid: Sequence[bool],
) -> list[int]:
    """Per report, the first failure in a fixed order (A's load, B's load, A's verify2, B's
    verify2, the proof), so both servers count each rejected report under the same reason."""
    outcomes = []
    for steps in zip(load_a, load_b, verify2_a, verify2_b, valid, strict=True):
        *reasons, is_valid = steps
        first = next((r for r in reasons if r != OK), OK)
        outcomes.append(OK if is_valid else (
            first if first != OK else pb.Reason.REASON_INVALID_PROOF))
    return outcomes


def rejected_counts(outcomes: Iterable[int]) -> dict[str, int]:
    return dict(sorted(Counter(name(o) for o in outcomes if o != OK).items()))
