"""How many reports of a partition each key of a server's keyring opened, by key fingerprint:
what status and metrics show so an operator sees when an old key stops being used."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence

from services.protocol import layout
from services.protocol.layout import BatchKey


def counts(fingerprints: Sequence[str], opened_by: Iterable[int | None]) -> dict[str, int]:
    """opened_by: per report the index in the ring of the key that opened it (None: no key)."""
    return dict(sorted(Counter(fingerprints[i] for i in opened_by if i is not None).items()))


def encode(opened: dict[str, int]) -> bytes:
    return json.dumps(dict(sorted(opened.items())), separators=(",", ":")).encode()


def decode(data: bytes) -> dict[str, int]:
    """The record as written; anything else (a record an operator edited) is refused."""
    opened = json.loads(data)
    if not isinstance(opened, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
            for k, v in opened.items()):
        raise ValueError("not a record of opened keys")
    return opened


def batch_counts(storage, bucket: str, key: BatchKey) -> dict[str, int]:
    """Summed over every partition of the batch this server loaded (agreed or late)."""
    total: Counter[str] = Counter()
    for name in storage.list(bucket, layout.internal_prefix("keys", key)):
        total.update(decode(storage.read(bucket, name)))
    return dict(sorted(total.items()))
