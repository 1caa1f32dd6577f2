"""The libprio object model (spec §4.6, §9): a server owns a PRG stream over the shared secret,
each successful verifier.set_data draws the next evaluation point, order matters."""

from . import _native
from ._native import RECORD_BYTES, c_int32, c_uint32, c_uint64, lib
from .config import Config, check_precision
from .errors import PrioError, Reason, check
from .keys import Keyring, PrivateKey


def server_index(server_id) -> int:
    if server_id in (0, 1) and not isinstance(server_id, bool):
        return int(server_id)
    if isinstance(server_id, str) and server_id.upper() in ("A", "B"):
        return 0 if server_id.upper() == "A" else 1
    raise PrioError(Reason.INVALID_ARGUMENT, f"server id {server_id!r} (expected 0, 1, 'A' or 'B')")


def check_secret(shared_secret) -> bytes:
    secret = bytes(shared_secret)
    if len(secret) != 16:
        raise PrioError(Reason.INVALID_ARGUMENT, "shared secret (expected 16 bytes)")
    return secret


class Server:
    __slots__ = ("_accumulator", "_keys", "_prg_key", "_prg_offset", "config", "server_idx")

    def __init__(self, config: Config, server_id, keys: PrivateKey | Keyring, shared_secret: bytes):
        self.config = config
        self.server_idx = server_index(server_id)
        self._keys = Keyring.of(keys)  # a packet is opened by whichever key its GCM tag accepts
        key = _native.buffer(16)
        batch = config.batch_id
        check(lib.prio_prg_key(check_secret(shared_secret), batch, len(batch), config.prg_mode.code, key),
              "server PRG key derivation")
        self._prg_key = key.raw[:16]
        self._prg_offset = c_uint64(0)
        self._accumulator = bytearray(16 * config.n_data)

    def __repr__(self):
        return f"Server({self.config!r}, server_id={'AB'[self.server_idx]})"

    def verifier(self) -> "Verifier":
        return Verifier(self)

    def aggregate(self, verifier: "Verifier") -> None:
        if verifier._server is not self and not verifier._server.config.same_as(self.config):
            raise PrioError(Reason.CONFIG_MISMATCH, "aggregate (verifier of another configuration)")
        shares = verifier._loaded()[1]
        self._add(shares, "aggregate")

    def _add(self, shares: bytes, what: str) -> None:
        acc = (_native.ctypes.c_char * len(self._accumulator)).from_buffer(self._accumulator)
        check(lib.prio_vector_add(acc, shares, self.config.n_data), what)

    def merge(self, other: "Server") -> None:
        if not self.config.same_as(other.config) or self.server_idx != other.server_idx:
            raise PrioError(Reason.CONFIG_MISMATCH, "merge")
        self._add(bytes(other._accumulator), "merge")

    def write_state(self) -> bytes:
        out = _native.buffer(lib.prio_state_max_size(self.config.n_data))
        n = c_uint64()
        check(lib.prio_state_write(bytes(self._accumulator), self.config.n_data, out, n), "state write")
        return out.raw[: n.value]

    def read_state(self, data: bytes) -> None:
        acc = _native.buffer(16 * self.config.n_data)
        data = bytes(data)
        check(lib.prio_state_read(self.config.n_data, data, len(data), acc), "state read")
        self._accumulator[:] = acc.raw[: 16 * self.config.n_data]

    def total_share(self) -> bytes:
        out = _native.buffer(lib.prio_state_max_size(self.config.n_data))
        n = c_uint64()
        check(lib.prio_total_share_write(self.server_idx, bytes(self._accumulator), self.config.n_data, out, n),
              "total share")
        return out.raw[: n.value]

    def total_share_uint(self, precision: int) -> bytes:
        check_precision(precision)
        out = _native.buffer(lib.prio_state_max_size(self.config.n_data))
        n = c_uint64()
        check(lib.prio_total_share_write_uint(self.server_idx, bytes(self._accumulator), self.config.n_data,
                                              precision, out, n), "uint total share")
        return out.raw[: n.value]


class Verifier:
    """One server's view of one client packet at a time (reusable, as libprio's)."""

    __slots__ = ("_record", "_server", "_shares")

    def __init__(self, server: Server):
        self._server = server
        self._record = None
        self._shares = None

    def __repr__(self):
        return f"Verifier({self._server!r}, loaded={self._record is not None})"

    def set_data(self, packet: bytes, *, evaluation_point: int | None = None) -> None:
        """Load a packet. evaluation_point (tests, batch cross-checks) fixes r and draws nothing."""
        s, cfg = self._server, self._server.config
        self._record = self._shares = None
        r = None
        if evaluation_point is not None:
            r = _native.fe_bytes(evaluation_point) if 0 <= evaluation_point < (1 << 128) else b"\xff" * 16
        packet = bytes(packet)
        record, shares = _native.buffer(RECORD_BYTES), _native.buffer(16 * cfg.n_data)
        check(
            lib.prio_verifier_set_data(
                cfg.n_data, cfg.batch_id, len(cfg.batch_id), cfg.prg_mode.code, s.server_idx,
                s._keys.to_bytes(), len(s._keys), s._prg_key, s._prg_offset, r, packet, len(packet), record,
                shares,
            ),
            "set_data",
        )
        self._record = record.raw[:RECORD_BYTES]
        self._shares = shares.raw[: 16 * cfg.n_data]

    def _loaded(self):
        if self._record is None:
            raise PrioError(Reason.INVALID_ARGUMENT, "verifier has no successfully loaded packet")
        return self._record, self._shares

    def verify1(self) -> bytes:
        out, n = _native.buffer(24), c_uint32()
        check(lib.prio_verify1_write(self._loaded()[0], out, n), "verify1")
        return out.raw[: n.value]

    def verify2(self, verify1_a: bytes, verify1_b: bytes) -> bytes:
        a, b = bytes(verify1_a), bytes(verify1_b)
        out, n = _native.buffer(12), c_uint32()
        check(lib.prio_verify2_write(self._loaded()[0], a, len(a), b, len(b), out, n), "verify2")
        return out.raw[: n.value]

    def is_valid(self, verify2_a: bytes, verify2_b: bytes) -> bool:
        return is_valid(verify2_a, verify2_b)


def is_valid(verify2_a: bytes, verify2_b: bytes) -> bool:
    a, b = bytes(verify2_a), bytes(verify2_b)
    valid = c_int32()
    check(lib.prio_is_valid(a, len(a), b, len(b), valid), "is_valid")
    return bool(valid.value)


def final(config: Config, total_share_a: bytes, total_share_b: bytes) -> list[int]:
    return _final(config.n_data, total_share_a, total_share_b)


def final_uint(config: Config, precision: int, total_share_a: bytes, total_share_b: bytes) -> list[int]:
    check_precision(precision)
    if config.n_data % precision:
        raise PrioError(Reason.INVALID_ARGUMENT, "final_uint (n_data is not a multiple of precision)")
    return _final(config.n_data // precision, total_share_a, total_share_b)


def _final(n: int, total_share_a: bytes, total_share_b: bytes) -> list[int]:
    a, b = bytes(total_share_a), bytes(total_share_b)
    out = (c_uint64 * max(n, 1))()
    check(lib.prio_final(n, a, len(a), b, len(b), out), "final")
    return list(out[:n])
