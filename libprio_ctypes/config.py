"""A Prio configuration: n_data, batch id, PRG key mode (spec §1, §9.1) and the servers' keys."""

import enum

from ._native import lib
from .errors import PrioError, Reason
from .keys import PublicKey

MAX_DATA_FIELDS = 262143
BBIT_PREC_MAX = 42


class PrgMode(enum.Enum):
    """How the PRG key is derived (spec §1). Nothing on the wire tells them apart."""

    RAW = "raw"  # libprio <= 1.6, Firefox: key = seed
    HASH = "hash"  # libprio >= #104: key = SHA-256(seed || batch_id)[0:16]

    @property
    def code(self) -> int:
        return 0 if self is PrgMode.RAW else 1


def _batch_id_bytes(batch_id, nul_batch_id_compat: bool) -> bytes:
    raw = batch_id.encode("utf-8") if isinstance(batch_id, str) else bytes(batch_id)
    if b"\0" in raw:
        if not nul_batch_id_compat:
            raise PrioError(Reason.INVALID_ARGUMENT, "config (batch id contains NUL)")
        # libprio's strncpy copy: bytes after the first NUL become zeros (spec §9.1)
        cut = raw.index(b"\0")
        raw = raw[:cut] + bytes(len(raw) - cut)
    return raw


class Config:
    __slots__ = ("batch_id", "h_points", "n_data", "prg_mode", "public_key_a", "public_key_b")

    def __init__(
        self,
        n_data: int,
        batch_id,
        prg_mode: PrgMode,
        public_key_a: PublicKey | None = None,
        public_key_b: PublicKey | None = None,
        *,
        nul_batch_id_compat: bool = False,
    ):
        if not isinstance(n_data, int) or not 0 <= n_data <= MAX_DATA_FIELDS:
            raise PrioError(Reason.INVALID_ARGUMENT, f"config (n_data {n_data!r} not in 0..{MAX_DATA_FIELDS})")
        if not isinstance(prg_mode, PrgMode):
            raise PrioError(Reason.INVALID_ARGUMENT, "config (prg_mode must be a PrgMode)")
        self.n_data = n_data
        self.batch_id = _batch_id_bytes(batch_id, nul_batch_id_compat)
        self.prg_mode = prg_mode
        self.public_key_a = public_key_a
        self.public_key_b = public_key_b
        self.h_points = int(lib.prio_h_points(n_data))

    @classmethod
    def for_uint(cls, n_uints, precision, batch_id, prg_mode, public_key_a=None, public_key_b=None, **kw):
        check_precision(precision)
        if not isinstance(n_uints, int) or n_uints < 0 or n_uints * precision > MAX_DATA_FIELDS:
            raise PrioError(Reason.INVALID_ARGUMENT, f"config (n_uints {n_uints!r} for precision {precision})")
        return cls(n_uints * precision, batch_id, prg_mode, public_key_a, public_key_b, **kw)

    def same_as(self, other: "Config") -> bool:
        return (
            self.n_data == other.n_data
            and self.batch_id == other.batch_id
            and self.prg_mode == other.prg_mode
            and self.public_key_a == other.public_key_a
            and self.public_key_b == other.public_key_b
        )

    def __repr__(self):
        return f"Config(n_data={self.n_data}, batch_id={self.batch_id!r}, prg_mode={self.prg_mode})"


def check_precision(precision) -> None:
    if not isinstance(precision, int) or not 1 <= precision <= BBIT_PREC_MAX:
        raise PrioError(Reason.VALUE_OUT_OF_RANGE, f"precision {precision!r} not in 1..{BBIT_PREC_MAX}")


def max_uint_entries(precision: int) -> int:
    return MAX_DATA_FIELDS // precision if 1 <= precision <= BBIT_PREC_MAX else 0
