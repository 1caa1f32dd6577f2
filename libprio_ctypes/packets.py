"""Stand-alone readers of the server-to-server packets (verify1, verify2, total share, spec §10):
what libprio would accept gives its values, anything else a PrioError with the reason."""

from . import _native
from ._native import VERIFY1_MAX, VERIFY2_MAX, c_int32, c_uint32, c_uint64, lib
from .config import MAX_DATA_FIELDS
from .errors import PrioError, Reason, check


def read_verify1(data) -> tuple[int, int]:
    """(d, e) of a verify1 packet; trailing bytes are ignored, as libprio does."""
    data = bytes(data)
    out = _native.buffer(32)
    check(lib.prio_verify1_read(data, len(data), out), "verify1 read")
    return _native.fe_int(out.raw[:16]), _native.fe_int(out.raw[16:32])


def read_verify2(data) -> int:
    data = bytes(data)
    out = _native.buffer(16)
    check(lib.prio_verify2_read(data, len(data), out), "verify2 read")
    return _native.fe_int(out.raw[:16])


def _field_bytes(values, what: str) -> bytes:
    # Out-of-range values would not fit the 16 bytes of the ABI; the C side refuses >= p.
    if any(not isinstance(v, int) or not 0 <= v < 1 << 128 for v in values):
        raise PrioError(Reason.INVALID_ARGUMENT, f"{what} (not a field element)")
    return b"".join(_native.fe_bytes(v) for v in values)


def encode_verify1(d: int, e: int) -> bytes:
    """The canonical verify1 packet of (d, e), as libprio writes it."""
    out, n = _native.buffer(VERIFY1_MAX), c_uint32()
    check(lib.prio_verify1_encode(_field_bytes((d, e), "verify1 write"), out, n), "verify1 write")
    return out.raw[: n.value]


def encode_verify2(value: int) -> bytes:
    out, n = _native.buffer(VERIFY2_MAX), c_uint32()
    check(lib.prio_verify2_encode(_field_bytes((value,), "verify2 write"), out, n), "verify2 write")
    return out.raw[: n.value]


def read_total_share(n_data: int, data) -> tuple[int, bytes]:
    """(server index, canonical bytes) of a total share of exactly n_data elements."""
    if not isinstance(n_data, int) or not 0 <= n_data <= MAX_DATA_FIELDS:
        raise PrioError(Reason.INVALID_ARGUMENT, f"total share read (n_data {n_data!r})")
    data = bytes(data)
    acc = _native.buffer(16 * max(n_data, 0))
    idx = c_int32()
    check(lib.prio_total_share_read(n_data, data, len(data), idx, acc), "total share read")
    out, n = _native.buffer(lib.prio_state_max_size(n_data)), c_uint64()
    check(lib.prio_total_share_write(idx.value, acc.raw[: 16 * n_data], n_data, out, n), "total share read")
    return idx.value, out.raw[: n.value]
