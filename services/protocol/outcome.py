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

OK = pb.Reason.REASON_OK
BAD_ENCODING = pb.Reason.REASON_BAD_ENCODING
INVALID_PROOF = pb.Reason.REASON_INVALID_PROOF
# A server's own anti-replay: its share was seen before (services/verifier/anti_replay.py).
REPLAYED_SHARE = pb.Reason.REASON_REPLAYED

# Ingest's reasons, as status, metrics and the loader's expectations name them.
NOT_JSON = "NOT_JSON"
MISSING_DOCUMENT_ID = "MISSING_DOCUMENT_ID"
MISSING_PRIO_DATA = "MISSING_PRIO_DATA"
MALFORMED_ENTRY = "MALFORMED_ENTRY"
UNKNOWN_BATCH_ID = "UNKNOWN_BATCH_ID"
MISSING_SHARE = "MISSING_SHARE"
BAD_BASE64 = "BAD_ENCODING"
REPLAYED = "REPLAYED"
TOO_LARGE = "TOO_LARGE"  # a ping over a bound: body bytes, JSON depth, number length
EXTRA_ENTRY = "EXTRA_ENTRY"  # the second and later entries of a ping for one batch id
DATE_OUT_OF_WINDOW = "DATE_OUT_OF_WINDOW"  # ahead of the clock, or past REPLAY_RETENTION_DAYS
# The servers' batch-level reasons.
LATE = "LATE"
PEER_TIMEOUT = "PEER_TIMEOUT"


def from_core(reason: prio.Reason) -> int:
    return pb.Reason.Value(f"REASON_{prio.Reason(reason).name}")


def name(reason: int) -> str:
    """"INVALID_PROOF", as status and results show it."""
    return pb.Reason.Name(reason).removeprefix("REASON_")


def all_reasons() -> list[str]:
    """Every reason a report can be rejected for (the taxonomy, for docs and metrics)."""
    return [name(v) for v in pb.Reason.values() if v not in (pb.Reason.REASON_UNSPECIFIED, OK)]


def check(reason: str) -> str:
    """reason, if it is one of the taxonomy's names; raises otherwise (no ad hoc reasons)."""
    if reason == "OK" or f"REASON_{reason}" not in pb.Reason.DESCRIPTOR.values_by_name:
        raise ValueError(f"{reason!r} is not a rejection reason of pb.Reason")
    return reason


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
        outcomes.append(OK if is_valid else (first if first != OK else INVALID_PROOF))
    return outcomes


def rejected_counts(outcomes: Iterable[int]) -> dict[str, int]:
    return dict(sorted(Counter(name(o) for o in outcomes if o != OK).items()))
