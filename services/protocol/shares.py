"""Partition share files: the seed's staged NDJSON, one `{"id", "payload"}` per line."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from json.encoder import encode_basestring_ascii as _json_string

SCHEMA_VERSION = 1
_REPORT_NAMESPACE = uuid.UUID("0b0c1f7e-5a55-4c8e-8f36-7e4f3c2a9d10")


def report_id(document_id: str, batch_id: str) -> str:
    """A ping's report for one batch id: the same document id always makes the same id, so a
    redelivery cannot mint a new one, and an operator can look a report up by document id."""
    return str(uuid.uuid5(_REPORT_NAMESPACE, f"{document_id}\n{batch_id}"))


@dataclasses.dataclass(frozen=True)
class ShareLine:
    report_id: str
    payload: str  # base64 of the encrypted packet, as the client sent it


def encode(lines: Iterable[ShareLine]) -> bytes:
    # json.dumps defaults, as prio-processor writes them; spelled out, it is a third cheaper.
    return "".join(
        f'{{"id": {_json_string(line.report_id)}, "payload": {_json_string(line.payload)}}}\n'
        for line in lines
    ).encode()


def decode(data: bytes) -> list[ShareLine]:
    """Raises ValueError on a line that is not a `{"id": str, "payload": str}` object."""
    lines = []
    try:
        text_data = data.decode()  # once: json.loads of bytes would detect and decode each line
    except UnicodeDecodeError:
        raise ValueError("the partition file is not UTF-8") from None
    # "\n" only: str.splitlines would also split at U+2028 and the like inside a JSON string
    # (a "\r" before it is whitespace to json.loads).
    for number, text in enumerate(text_data.split("\n"), 1):
        if not text.strip():
            continue
        try:
            item = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError(f"line {number} is not JSON") from None
        if not (isinstance(item, dict) and isinstance(item.get("id"), str)
                and isinstance(item.get("payload"), str)):
            raise ValueError(f'line {number} is not {{"id", "payload"}}')  # noqa: TRY004
        lines.append(ShareLine(item["id"], item["payload"]))
    return lines


def packet(line: ShareLine) -> bytes | None:
    """The encrypted packet, or None if the payload is not base64."""
    try:
        return base64.b64decode(line.payload, validate=True)
    except (binascii.Error, ValueError):
        return None


def ids_digest(report_ids: Sequence[str]) -> bytes:
    """What both servers compare to know they hold the same reports in the same order."""
    return hashlib.sha256("\n".join(report_ids).encode()).digest()
