"""The NDJSON files of the pipeline: `{"id", "payload": base64}` records in, the same out.

Every line of an input file is either a record or a rejection with a reason; nothing in a
file makes the reader raise. Output is written the way prio-processor wrote it (Python's
`json.dump` defaults, `", "` and `": "` separators), so files are byte-identical to its.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Record:
    line: int  # 1-based line number in its file
    id: str
    payload: bytes  # base64-decoded
    fields: dict  # the whole object, key order kept: outputs replace only "payload"


@dataclass
class Rejected:
    line: int
    id: str | None
    reason: str


def parse_line(number: int, text: str) -> Record | Rejected:
    if not text.strip():
        return Rejected(number, None, "blank line")
    try:
        fields = json.loads(text)
    except ValueError:
        return Rejected(number, None, "malformed JSON")
    if not isinstance(fields, dict):
        return Rejected(number, None, "not a JSON object")
    record_id = fields.get("id")
    if record_id is None:
        return Rejected(number, None, "missing id")
    if not isinstance(record_id, str) or not record_id:
        return Rejected(number, None, "id is not a non-empty string")
    payload = fields.get("payload")
    if payload is None:
        return Rejected(number, record_id, "missing payload")
    if not isinstance(payload, str):
        return Rejected(number, record_id, "payload is not a string")
    try:
        decoded = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return Rejected(number, record_id, "bad base64 in payload")
    return Record(number, record_id, decoded, fields)


def read_lines(path: str) -> Iterator[tuple[int, str]]:
    # newline="\n": a stray "\r" or U+2028 inside a line must not split it into two records.
    with open(path, encoding="utf-8", errors="replace", newline="\n") as file:
        yield from enumerate(file, start=1)


def read_records(path: str) -> list[Record | Rejected]:
    """The lines of a file in order; a repeated id is rejected (peers look records up by id)."""
    seen: set[str] = set()
    entries: list[Record | Rejected] = []
    for number, text in read_lines(path):
        entry = parse_line(number, text)
        if isinstance(entry, Record):
            if entry.id in seen:
                entry = Rejected(number, entry.id, "duplicate id")
            else:
                seen.add(entry.id)
        entries.append(entry)
    return entries


@dataclass
class PacketIndex:
    """Packets of an intermediate file by record id; ids whose line was unusable say why."""

    packets: dict[str, bytes]
    unusable: dict[str, str]
    rejected: list[Rejected]  # lines that named no usable id

    def lookup(self, record_id: str, what: str) -> bytes | str:
        """The packet, or the reason there is none (phrased with `what`, e.g. 'peer verify1')."""
        if record_id in self.packets:
            return self.packets[record_id]
        if record_id in self.unusable:
            return f"{what} packet: {self.unusable[record_id]}"
        return f"no {what} packet"


def index_packets(path: str) -> PacketIndex:
    index = PacketIndex({}, {}, [])
    for entry in read_records(path):
        if isinstance(entry, Record):
            index.packets[entry.id] = entry.payload
        elif entry.id is not None and entry.id not in index.packets:
            index.unusable[entry.id] = entry.reason
        else:
            index.rejected.append(entry)
    return index


def encode_payload(packet: bytes) -> str:
    return base64.b64encode(packet).decode("ascii")


def with_payload(record: Record, packet: bytes) -> dict:
    return {**record.fields, "payload": encode_payload(packet)}


def output_path(directory: str, input_path: str) -> str:
    """prio-processor's naming: the output keeps the input file's name, in `directory`."""
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, os.path.basename(input_path))


def write_line(file, obj: dict) -> None:
    json.dump(obj, file)
    file.write("\n")


def write_object(path: str, obj: dict) -> None:
    """A one-object file with no trailing newline, as prio-processor's aggregate and publish."""
    with open(path, "w", encoding="utf-8") as file:
        json.dump(obj, file)
