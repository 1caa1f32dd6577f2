"""Batch import of staged share files in the seed's layout: a server A file and a server B file
of `{"id", "payload"}` lines with the same ids (prio-processor's `encode-shares` output)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator

from services.common import telemetry
from services.ingest.partitions import PartitionWriter, rejection_outcomes
from services.ingest.pings import Rejection, Report, _is_base64
from services.protocol import outcome, shares
from services.protocol.layout import BatchKey


def reports(key: BatchKey, data_a: bytes, data_b: bytes) -> tuple[list[Report], list[Rejection]]:
    """Pairs the two files by id, in file A's order; an id without both shares is rejected."""
    lines_b = {line.report_id: line.payload for line in shares.decode(data_b)}
    found, rejected = [], []
    seen_a = set()
    for line in shares.decode(data_a):
        seen_a.add(line.report_id)
        share_b = lines_b.get(line.report_id)
        if share_b is None:
            rejected.append(Rejection(key.batch_id, key.date, outcome.MISSING_SHARE,
                                      f"staged:{line.report_id}"))
        elif not (_is_base64(line.payload) and _is_base64(share_b)):
            rejected.append(Rejection(key.batch_id, key.date, outcome.BAD_BASE64,
                                      f"staged:{line.report_id}"))
        else:
            found.append(Report(key.batch_id, key.date, line.report_id, line.payload, share_b))
    rejected += [Rejection(key.batch_id, key.date, outcome.MISSING_SHARE, f"staged:{rid}")
                 for rid in lines_b if rid not in seen_a]
    return found, rejected


def import_files(writer: PartitionWriter, max_reports: int, max_bytes: int, key: BatchKey,
                 data_a: bytes, data_b: bytes) -> dict:
    """Writes the files' reports as partitions of at most max_reports and max_bytes of shares.
    Partition ids derive from the files' ids, so importing the same files again writes nothing
    new."""
    found, rejected = reports(key, data_a, data_b)
    digest = hashlib.sha256("\n".join(r.report_id for r in found).encode()).hexdigest()[:12]
    outcomes = rejection_outcomes(rejected)
    partitions = 0
    for number, part in enumerate(_partitions(found, max_reports, max_bytes)):
        pid = f"import-{digest}-{number:05d}"
        with writer.telemetry.stage("ingest.import_partition", telemetry.attributes(
                "ingest", key.batch_id, key.date, pid, reports=len(part)), root=True):
            outcomes.update(rejection_outcomes(writer.write(key, pid, part)))
        partitions += 1
    if outcomes:
        writer.record_outcomes(f"import-{digest}", outcomes)
    counts = Counter(reason for (_, _, reason) in outcomes.values())
    return {"batch_id": key.batch_id, "submission_date": key.date, "reports": len(found),
            "partitions": partitions, "rejected": dict(sorted(counts.items()))}


def _partitions(found: list[Report], max_reports: int, max_bytes: int) -> Iterator[list[Report]]:
    part: list[Report] = []
    size = 0
    for report in found:
        part.append(report)
        size += report.size
        if len(part) >= max_reports or size >= max_bytes:
            yield part
            part, size = [], 0
    if part:
        yield part
