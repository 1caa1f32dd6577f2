"""What `prio-stream embedded` says when done: per batch counts and a label table, the likely
cause when a batch's reports nearly all fail for one reason, and the failures behind a
non-zero exit."""

from __future__ import annotations

from services.protocol import hints
from services.protocol.layout import BatchKey


def likely_cause(reports: dict) -> str | None:
    """reports: a server status's `reports` (verified, rejected by reason); the cause named in
    this command's options."""
    return hints.likely_cause(reports["rejected"], reports["verified"], hints.OPTIONS)


def failures(outcome: dict[BatchKey, dict], expected: dict | None,
             rejected: dict | None) -> list[str]:
    """One line per problem; none means every batch was published as expected."""
    if not outcome:
        return ["no batch received a report: ingest rejected every input"]
    lines = []
    for key, found in outcome.items():
        lines += _batch_failures(key, found, (expected or {}).get(key.batch_id),
                                 (rejected or {}).get(key.batch_id))
    return lines


def _batch_failures(key: BatchKey, found: dict, want: list | None,
                    want_rejected: dict | None) -> list[str]:
    name = f"{key.batch_id} {key.submission_date}"
    cause = likely_cause(found["status"]["A"]["reports"])
    results = found["result"]
    if results["A"] is None or results["B"] is None:
        reasons = dict.fromkeys(_refusal(found["status"][s]) for s in "AB" if results[s] is None)
        because = f"; likely cause: {cause}" if cause else ""
        return [f"{name}: not published: {'; '.join(reasons)}{because}"]
    lines = []
    if results["A"]["payload"] != results["B"]["payload"]:
        lines.append(f"{name}: servers A and B published different counts")
    if want is not None and results["A"]["payload"] != want:
        lines.append(f"{name}: published {results['A']['payload']}, expected {want}")
    for server, found_status in found["status"].items():
        got = found_status["reports"]["rejected"]
        if want_rejected is not None and got != dict(want_rejected):
            lines.append(f"{name}: server {server} rejected {got}, expected "
                         f"{dict(want_rejected)}")
    return lines


def _refusal(status: dict) -> str:
    publication = status["publication"] or {}
    reason = publication.get("reason") or "no publication recorded"
    return reason.replace("MIN_BATCH_SIZE=", "--min-batch-size=")


def human(outcome: dict[BatchKey, dict]) -> list[str]:
    lines = []
    for key, found in outcome.items():
        status, ingest = found["status"]["A"], found["ingest"]
        reports, result = status["reports"], found["result"]["A"]
        lines.append(f"{key.batch_id} {key.submission_date}: " + (
            f"published, {result['valid']} reports counted" if result else "not published"))
        lines.append(f"  reports     {reports['verified']} verified, {reports['valid']} valid, "
                     f"{_by_reason(reports['rejected'])}, {reports['late']} late")
        lines.append(f"  ingest      {ingest['reports']} written, {ingest['duplicates']} "
                     f"duplicates, {_by_reason(ingest['rejected'])}")
        lines.append(f"  partitions  {status['partitions']['verified']}")
        cause = likely_cause(reports)
        if cause:
            lines.append(f"  likely cause: {cause}")
        if result:
            lines += table(result)
    return lines


def _by_reason(rejected: dict[str, int]) -> str:
    total = sum(rejected.values())
    reasons = ", ".join(f"{reason} {count}" for reason, count in
                        sorted(rejected.items(), key=lambda item: -item[1]))
    return f"{total} rejected ({reasons})" if reasons else f"{total} rejected"


def table(result: dict) -> list[str]:
    """label / count / share of the counted reports, one row per label."""
    counts: dict[str, int] = result["counts"]
    width = max(5, *(len(label) for label in counts))
    digits = max(5, *(len(str(count)) for count in counts.values()))
    rows = [f"  {'label':<{width}}  {'count':>{digits}}  share"]
    for label, count in counts.items():
        share = f"{100 * count / result['valid']:.1f}%" if result["valid"] else "-"
        rows.append(f"  {label:<{width}}  {count:>{digits}}  {share:>5}")
    return rows
