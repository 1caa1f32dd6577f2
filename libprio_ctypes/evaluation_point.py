"""The per-partition evaluation point of the streaming pipeline (docs/architecture.md)."""

import hashlib

from . import _native
from ._native import c_uint64, lib
from .errors import check
from .server import check_secret

_LABEL = b"prio-stream/v1/partition-evaluation-point\x00"


def _field(value) -> bytes:
    if hasattr(value, "isoformat"):  # a datetime.date
        value = value.isoformat()
    raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return len(raw).to_bytes(4, "big") + raw


def partition_evaluation_point(shared_secret: bytes, batch_id, date, partition_id, n_data: int) -> int:
    key = hashlib.sha256(
        _LABEL + check_secret(shared_secret) + _field(batch_id) + _field(date) + _field(partition_id)
    ).digest()[:16]
    r = _native.buffer(16)
    check(lib.prio_eval_point(key, c_uint64(0), n_data, r), "partition evaluation point")
    return _native.fe_int(r.raw[:16])
