"""Firefox "prio" pings: the envelope checks and the reports a ping carries.

`payload.prioData[i] = {"encoding": batch_id, "prio": {"a": base64, "b": base64}}`; one
report per configured batch id (the first entry naming it). A report's id derives from the
ping's document id and the batch id, so a redelivered ping yields the same ids and is
recognised as a duplicate.

A ping is hostile until checked, and every check is linear in its bytes: the body size
(PING_MAX_BYTES), then its JSON depth and number lengths before anything is built from it,
then its date (inside the anti-replay window). Whatever a ping holds, it yields at most one
report per configured batch id and one rejection per reason it earned.

The upstream (gcp-ingestion's decoded topics) sends the ping gzip-compressed, with its document
id, submission timestamp and document type as attributes, on topics shared by other document
types (docs/pings.md): a gzip body is inflated at most to PING_MAX_BYTES, the attributes win
over the body's fields, and another document type is no ping of ours (`is_prio`).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import re
import zlib
from collections.abc import Iterable, Mapping

from services.common.config import Settings
from services.protocol import outcome
from services.protocol.shares import report_id

_DEFAULTS = Settings.model_fields
# A Firefox ping is five levels deep and its numbers are short. Past these, json.loads would
# recurse until RecursionError, or refuse a long integer with ValueError: never a rejection.
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
GZIP_MAGIC = b"\x1f\x8b"
DOCUMENT_TYPE = "prio"  # gcp-ingestion's `document_type` attribute of a Firefox prio ping


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


@dataclasses.dataclass(frozen=True)
class Limits:
    """What ingest takes of one ping (PING_MAX_BYTES, PING_CLOCK_SKEW_SECONDS and the
    anti-replay window, REPLAY_RETENTION_DAYS)."""

    max_bytes: int = _DEFAULTS["ping_max_bytes"].default
    clock_skew_seconds: float = _DEFAULTS["ping_clock_skew_seconds"].default
    retention_days: int = _DEFAULTS["replay_retention_days"].default

    @classmethod
    def of(cls, settings) -> Limits:
        return cls(settings.ping_max_bytes, settings.ping_clock_skew_seconds,
                   settings.replay_retention_days)

    def admits(self, date: str, now: dt.datetime) -> bool:
        """A date older than the window cannot be checked for replays (its shards are gone);
        one ahead of the clock would open partitions for days to come. Date arithmetic runs
        from today only, so 0001-01-01 and 9999-12-31 compare without overflow."""
        today = now.date()
        oldest = today - dt.timedelta(days=min(self.retention_days, (today - dt.date.min).days))
        newest = (now + dt.timedelta(seconds=self.clock_skew_seconds)).date()
        return oldest.isoformat() <= date <= newest.isoformat()


class _TooLarge(Exception):
    """The ping is over a bound of its structure."""


def submission_date(attributes: Mapping[str, str], ping: Mapping, now: dt.datetime | None = None
                    ) -> str:
    """The day the pipeline received the ping (gcp-ingestion's `submission_timestamp`)."""
    stamp = attributes.get("submission_timestamp") or ping.get("submission_timestamp")
    if isinstance(stamp, str) and len(stamp) >= 10:
        try:
            return dt.date.fromisoformat(stamp[:10]).isoformat()
        except ValueError:
            pass
    return (now or dt.datetime.now(dt.UTC)).date().isoformat()


def parse(data: bytes, attributes: Mapping[str, str], batches: Mapping[str, int],
          limits: Limits = Limits(), now: dt.datetime | None = None
          ) -> tuple[list[Report], list[Rejection]]:
    """The ping's valid reports and a rejection (with its reason) for everything else."""
    now = now or dt.datetime.now(dt.UTC)
    reports, rejections = _parse(data, attributes, batches, limits, now)
    return reports, _identified(hashlib.sha256(data).hexdigest(), rejections)


def too_large(digest: str, now: dt.datetime | None = None) -> Rejection:
    """A ping whose body was never held whole (a push over the cap), known by its digest: it
    counts on the day it arrived, its own stamp unread."""
    today = (now or dt.datetime.now(dt.UTC)).date().isoformat()
    return _identified(digest, [Rejection("", today, outcome.TOO_LARGE)])[0]


def _identified(digest: str, rejections: list[Rejection]) -> list[Rejection]:
    # The same input delivered again gets the same ids: status counts it once.
    return [dataclasses.replace(r, id=f"{digest[:32]}:{i}") for i, r in enumerate(rejections)]


def _parse(data: bytes, attributes: Mapping[str, str], batches: Mapping[str, int],
           limits: Limits, now: dt.datetime) -> tuple[list[Report], list[Rejection]]:
    # Until the ping's own date is read and found inside the window, a rejection counts on
    # the pipeline's date, or today: no hostile date becomes a partition or a record name.
    received = submission_date(attributes, {}, now)
    received = received if limits.admits(received, now) else now.date().isoformat()
    if len(data) > limits.max_bytes:
        return [], [Rejection("", received, outcome.TOO_LARGE)]
    try:
        ping = _load(_gunzip(data, limits.max_bytes) if data[:2] == GZIP_MAGIC else data)
    except _TooLarge:
        return [], [Rejection("", received, outcome.TOO_LARGE)]
    except (json.JSONDecodeError, UnicodeDecodeError, zlib.error):
        ping = None
    if not isinstance(ping, dict):
        return [], [Rejection("", received, outcome.NOT_JSON)]
    date = submission_date(attributes, ping, now)
    if not limits.admits(date, now):
        return [], [Rejection("", now.date().isoformat(), outcome.DATE_OUT_OF_WINDOW)]
    document_id = attributes.get("document_id") or ping.get("id")
    entries = (ping.get("payload") or {}).get("prioData") if isinstance(
        ping.get("payload"), dict) else None
    if not isinstance(document_id, str) or not document_id:
        return [], [Rejection("", date, outcome.MISSING_DOCUMENT_ID)]
    if not isinstance(entries, list) or not entries:
        return [], [Rejection("", date, outcome.MISSING_PRIO_DATA)]
    return _entries(entries, document_id, date, batches)


def is_prio(attributes: Mapping[str, str]) -> bool:
    """Whether a message is a prio ping: one of another document type (a topic the upstream
    shares between document types) is none of ingest's business, not even a rejection. A
    message without the attribute (our own topic, the load generator) is taken as one."""
    return attributes.get("document_type", DOCUMENT_TYPE) == DOCUMENT_TYPE


def _gunzip(data: bytes, limit: int) -> bytes:
    """The one gzip member data holds, inflated to at most limit bytes: a bomb costs limit
    bytes and is _TooLarge; a truncated member, or bytes after it, is zlib.error."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip header and trailer only
    body = inflater.decompress(data, limit + 1)
    if len(body) > limit:
        raise _TooLarge("inflates past PING_MAX_BYTES")
    if not inflater.eof or inflater.unused_data:
        raise zlib.error("not one whole gzip member")
    return body


def _load(data: bytes):
    """json.loads, once the ping's depth is known to be small; numbers checked as met."""
    text = data.decode("utf-8")
    if _too_deep(text):
        raise _TooLarge("nested too deep")
    return json.loads(text, parse_int=_number(int), parse_float=_number(float))


def _too_deep(text: str) -> bool:
    """Whether the brackets outside strings nest deeper than MAX_DEPTH: linear, in the regex
    engine but for one pass over the brackets alone (when there are enough to matter)."""
    if _openings(text) <= MAX_DEPTH:
        return False  # a real ping: base64 holds no brackets, so it never pays for the rest
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    if _openings(brackets) <= MAX_DEPTH:
        return False
    return max(itertools.accumulate(1 if c in "[{" else -1 for c in brackets)) > MAX_DEPTH


def _openings(text: str) -> int:
    """An upper bound of the nesting depth."""
    return text.count("[") + text.count("{")


def _number(kind):
    def parse_number(text: str):
        if len(text) > MAX_NUMBER_CHARS:
            raise _TooLarge("number too long")
        return kind(text)
    return parse_number


def _entries(entries: Iterable, document_id: str, date: str, batches: Mapping[str, int]
             ) -> tuple[list[Report], list[Rejection]]:
    """The first entry of each configured batch id is its report (or rejection); what else
    the ping holds earns one rejection per reason: one ping, however long, costs a handful."""
    reports, rejections = [], []
    taken: set[str] = set()
    once: dict[str, str] = {}  # reason -> the batch it counts under ("": every batch)
    for entry in entries:
        batch_id = entry.get("encoding") if isinstance(entry, dict) else None
        if not isinstance(entry, dict):
            once.setdefault(outcome.MALFORMED_ENTRY, "")
        elif not isinstance(batch_id, str) or batch_id not in batches:
            once.setdefault(outcome.UNKNOWN_BATCH_ID, "")
        elif batch_id in taken:
            once.setdefault(outcome.EXTRA_ENTRY, batch_id)
        else:
            taken.add(batch_id)
            report, reason = _entry(entry, batch_id, document_id, date)
            if report is not None:
                reports.append(report)
            else:
                rejections.append(Rejection(batch_id, date, reason))
    return reports, [*rejections, *(Rejection(b, date, r) for r, b in once.items())]


def _entry(entry: dict, batch_id: str, document_id: str, date: str
           ) -> tuple[Report | None, str]:
    shares = entry.get("prio")
    if not isinstance(shares, dict) or not shares.get("a") or not shares.get("b"):
        return None, outcome.MISSING_SHARE
    if not (_is_base64(shares["a"]) and _is_base64(shares["b"])):
        return None, outcome.BAD_ENCODING
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
