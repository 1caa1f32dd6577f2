"""Batch import of staged share files in the seed's layout: a server A file and a server B file
of `{"id", "payload"}` lines with the same ids (prio-processor's `encode-shares` output)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator

from services.common import errors
from services.common.config import Settings
from services.common.storage import ObjectNotFound, Storage
from services.ingest.partitions import DUPLICATE, PartitionWriter, rejection_outcomes
from services.ingest.pings import Rejection, Report, _is_base64
from services.protocol import layout, outcome, shares
from services.protocol.layout import BatchKey

MAX_OBJECT_NAME = 1024  # GCS's limit, in UTF-8 bytes


def check_batch(data_config: dict[str, int] | None, batch_id: str) -> None:
    # The verifiers could never load a partition of a batch they have no n_data for.
    if batch_id not in (data_config or {}):
        raise errors.NotFound(f"batch id {batch_id[:64]!r} is not in DATA_CONFIG: "
                              "nothing imported")


def read_files(storage: Storage, settings: Settings, key: BatchKey, bucket: str,
               names: tuple[str, str]) -> tuple[bytes, bytes]:
    """The two staged files a caller names, read only from STAGING_BUCKETS and at most
    STAGING_MAX_BYTES each; every refusal (errors.Refused) comes before anything is written.
    A bucket not configured is refused before any read, in the same words whatever it holds:
    the route is no oracle for buckets ingest can read."""
    if not settings.staging_buckets:
        raise errors.Forbidden("import is disabled: set STAGING_BUCKETS to the buckets "
                               "staged share files may be imported from")
    if bucket not in settings.staging_buckets:
        raise errors.Forbidden(f"bucket {bucket[:64]!r} is not in STAGING_BUCKETS: "
                               "nothing imported")
    check_batch(settings.data_config, key.batch_id)
    for name in names:
        _check_object_name(name)
    return _read_capped(storage, bucket, names[0], settings.staging_max_bytes), \
        _read_capped(storage, bucket, names[1], settings.staging_max_bytes)


def _check_object_name(name: str) -> None:
    parts = name.split("/")
    if not name or len(name.encode()) > MAX_OBJECT_NAME or \
            any(part in (".", "..") for part in parts) or \
            any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise errors.InvalidRequest(f"invalid object name {name[:64]!r}")


def _read_capped(storage: Storage, bucket: str, name: str, limit: int) -> bytes:
    try:
        data = storage.read_at_most(bucket, name, limit)
    except ObjectNotFound:
        raise errors.NotFound(f"no such object {bucket}/{name}: nothing imported") from None
    if len(data) > limit:
        raise errors.TooLarge(f"{bucket}/{name} is larger than STAGING_MAX_BYTES "
                              f"({limit} bytes)")
    return data


def reports(key: BatchKey, data_a: bytes, data_b: bytes) -> tuple[list[Report], list[Rejection]]:
    """Pairs the two files by id, in file A's order; an id without both shares is rejected."""
    lines_b = {line.report_id: line.payload for line in shares.decode(data_b)}
    found, rejected = [], []
    seen_a = set()
    for line in shares.decode(data_a):
        seen_a.add(line.report_id)
        share_b = lines_b.get(line.report_id)
        if share_b is None:
            rejected.append(Rejection(key.batch_id, key.submission_date, outcome.MISSING_SHARE,
                                      f"staged:{line.report_id}"))
        elif not (_is_base64(line.payload) and _is_base64(share_b)):
            rejected.append(Rejection(key.batch_id, key.submission_date, outcome.BAD_ENCODING,
                                      f"staged:{line.report_id}"))
        else:
            found.append(Report(key.batch_id, key.submission_date, line.report_id, line.payload, share_b))
    rejected += [Rejection(key.batch_id, key.submission_date, outcome.MISSING_SHARE, f"staged:{rid}")
                 for rid in lines_b if rid not in seen_a]
    return found, rejected


def import_files(writer: PartitionWriter, max_reports: int, max_bytes: int, key: BatchKey,
                 data_a: bytes, data_b: bytes) -> dict:
    """Writes the files' reports as partitions of at most max_reports and max_bytes of shares.
    Partition ids derive from the files' ids, so importing the same files again writes nothing
    new. The reply counts what this call wrote, what an earlier import of the same files had
    (written again only where a step was missing), duplicates, and rejections by reason."""
    check_batch(writer.settings.data_config, key.batch_id)
    found, rejected = reports(key, data_a, data_b)
    digest = hashlib.sha256("\n".join(r.report_id for r in found).encode()).hexdigest()[:12]
    outcomes = rejection_outcomes(rejected)
    written, present = Counter(partitions=0, reports=0), Counter(partitions=0, reports=0)
    for number, part in enumerate(_partitions(found, max_reports, max_bytes)):
        pid = f"import-{digest}-{number:05d}"
        before = writer.storage.exists(writer.bucket, layout.ingest_manifest(key, pid))
        with writer.telemetry.stage("ingest.import_partition", key.partition(pid)
                                    .span_attributes("ingest", reports=len(part)), root=True):
            dropped = writer.write(key, pid, part)
        outcomes.update(rejection_outcomes(dropped))
        if len(part) > len(dropped):
            tally = present if before else written
            tally.update(partitions=1, reports=len(part) - len(dropped))
    if outcomes:
        writer.record_outcomes(f"import-{digest}", outcomes)
    counts = Counter(reason for (_, _, reason) in outcomes.values())
    duplicates = counts.pop(DUPLICATE, 0)
    return {**key.attributes(), **written,
            "already_imported": dict(present), "duplicates": duplicates,
            "rejected": dict(sorted(counts.items()))}


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
