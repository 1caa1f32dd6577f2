"""Firefox "prio" pings: the envelope checks and the reports a ping carries.

`payload.prioData[i] = {"encoding": batch_id, "prio": {"a": base64, "b": base64}}`; one
report per entry. A report's id derives from the ping's document id and the batch id, so a
redelivered ping yields the same ids and is recognised as a duplicate.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Mapping

from services.protocol import outcome

_REPORT_NAMESPACE = uuid.UUID("0b0c1f7e-5a55-4c8e-8f36-7e4f3c2a9d10")


@dataclasses.dataclass(frozen=True)
class Report:
    batch_id: str
    date: str
    report_id: str
    share_a: str  # base64, as the client sent it
    share_b: str

    @property
    def size(self) -> int:
        """Bytes of shares it adds to a partition (both files)."""
        return len(self.share_a) + len(self.share_b)

    @property
    def fingerprint(self) -> str:
        """Of the content: tells a redelivery (same) from a replay (another content)."""
        return hashlib.sha256(f"{self.share_a}\n{self.share_b}".encode()).hexdigest()[:32]


@dataclasses.dataclass(frozen=True)
class Rejection:
    batch_id: str  # "" when the ping names no usable batch
    date: str
    reason: str  # a name of the taxonomy (services/protocol/outcome.py)
    # Identifies the rejected report: the same input delivered again is counted once.
    id: str = ""


def report_id(document_id: str, batch_id: str) -> str:
    return str(uuid.uuid5(_REPORT_NAMESPACE, f"{document_id}\n{batch_id}"))


def submission_date(attributes: Mapping[str, str], ping: Mapping) -> str:
    """The day the pipeline received the ping (gcp-ingestion's `submission_timestamp`)."""
    stamp = attributes.get("submission_timestamp") or ping.get("submission_timestamp")
    if isinstance(stamp, str) and len(stamp) >= 10:
        try:
            return dt.date.fromisoformat(stamp[:10]).isoformat()
        except ValueError:
            pass
    return dt.datetime.now(dt.UTC).date().isoformat()


def parse(data: bytes, attributes: Mapping[str, str], batches: Mapping[str, int]
          ) -> tuple[list[Report], list[Rejection]]:
    """The ping's valid reports and a rejection (with its reason) for everything else."""
    reports, rejections = _parse(data, attributes, batches)
    base = hashlib.sha256(data).hexdigest()[:32]
    return reports, [dataclasses.replace(r, id=f"{base}:{i}") for i, r in enumerate(rejections)]


def _parse(data: bytes, attributes: Mapping[str, str], batches: Mapping[str, int]
           ) -> tuple[list[Report], list[Rejection]]:
    try:
        ping = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        ping = None
    if not isinstance(ping, dict):
        return [], [Rejection("", submission_date(attributes, {}), outcome.NOT_JSON)]
    date = submission_date(attributes, ping)
    document_id = attributes.get("document_id") or ping.get("id")
    entries = (ping.get("payload") or {}).get("prioData") if isinstance(
        ping.get("payload"), dict) else None
    if not isinstance(document_id, str) or not document_id:
        return [], [Rejection("", date, outcome.MISSING_DOCUMENT_ID)]
    if not isinstance(entries, list) or not entries:
        return [], [Rejection("", date, outcome.MISSING_PRIO_DATA)]
    reports, rejections = [], []
    for entry in entries:
        report, reason = _entry(entry, document_id, date, batches)
        if report is not None:
            reports.append(report)
        else:
            batch_id = entry.get("encoding") if isinstance(entry, dict) else None
            known = batch_id if isinstance(batch_id, str) and batch_id in batches else ""
            rejections.append(Rejection(known, date, reason))
    return reports, rejections


def _entry(entry, document_id: str, date: str, batches) -> tuple[Report | None, str]:
    if not isinstance(entry, dict):
        return None, outcome.MALFORMED_ENTRY
    batch_id = entry.get("encoding")
    if not isinstance(batch_id, str) or batch_id not in batches:
        return None, outcome.UNKNOWN_BATCH_ID
    shares = entry.get("prio")
    if not isinstance(shares, dict) or not shares.get("a") or not shares.get("b"):
        return None, outcome.MISSING_SHARE
    if not (_is_base64(shares["a"]) and _is_base64(shares["b"])):
        return None, outcome.BAD_BASE64
    return Report(batch_id, date, report_id(document_id, batch_id), shares["a"], shares["b"]), ""


def _is_base64(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return len(base64.b64decode(value, validate=True)) > 0
    except (binascii.Error, ValueError):
        return False


def ping(document_id: str, entries: list[tuple[str, bytes, bytes]],
         submission_timestamp: str | None = None) -> dict:
    """A Firefox "prio" ping carrying (batch_id, packet A, packet B) entries (load generator)."""
    body = {
        "id": document_id,
        "type": "prio",
        "payload": {"prioData": [
            {"encoding": batch_id, "prio": {"a": base64.b64encode(a).decode(),
                                            "b": base64.b64encode(b).decode()}}
            for batch_id, a, b in entries
        ]},
    }
    if submission_timestamp is not None:
        body["submission_timestamp"] = submission_timestamp
    return body
