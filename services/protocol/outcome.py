"""One taxonomy for rejected reports: libprio's reasons plus the pipeline's, as pb.Reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import libprio_ctypes as prio
from services.common import pb

OK = pb.Reason.REASON_OK
BAD_ENCODING = pb.Reason.REASON_BAD_ENCODING
INVALID_PROOF = pb.Reason.REASON_INVALID_PROOF


def from_core(reason: prio.Reason) -> int:
    return pb.Reason.Value(f"REASON_{prio.Reason(reason).name}")


def name(reason: int) -> str:
    """"INVALID_PROOF", as status and results show it."""
    return pb.Reason.Name(reason).removeprefix("REASON_")


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
