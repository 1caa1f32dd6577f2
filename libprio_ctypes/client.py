"""The client: encodes a bit vector (or unsigned integers) into encrypted packets A and B (§6)."""

from . import _native
from ._native import c_uint64, lib
from .config import Config, check_precision
from .errors import PrioError, Reason, check


class Client:
    __slots__ = ("config",)

    def __init__(self, config: Config):
        if config.public_key_a is None or config.public_key_b is None:
            raise PrioError(Reason.INVALID_ARGUMENT, "client (config has no server public keys)")
        self.config = config

    def encode(self, values, allow_non_binary: bool = False) -> tuple[bytes, bytes]:
        cfg = self.config
        try:
            data = bytes(values)
        except (TypeError, ValueError):
            raise PrioError(Reason.VALUE_OUT_OF_RANGE, "encode (values must be 0/1)") from None
        if len(data) != cfg.n_data:
            raise PrioError(Reason.WRONG_LENGTH, f"encode ({len(data)} values for n_data {cfg.n_data})")
        out_a = _native.buffer(lib.prio_packet_a_max_size(cfg.n_data, len(cfg.batch_id)))
        out_b = _native.buffer(lib.prio_packet_b_max_size(len(cfg.batch_id)))
        len_a, len_b = c_uint64(), c_uint64()
        check(
            lib.prio_encode(
                cfg.n_data, cfg.batch_id, len(cfg.batch_id), cfg.prg_mode.code,
                cfg.public_key_a.to_bytes(), cfg.public_key_b.to_bytes(), data,
                int(allow_non_binary), out_a, len_a, out_b, len_b,
            ),
            "encode",
        )
        return out_a.raw[: len_a.value], out_b.raw[: len_b.value]

    def encode_uint(self, values, precision: int) -> tuple[bytes, bytes]:
        check_precision(precision)
        if self.config.n_data % precision or len(values) != self.config.n_data // precision:
            raise PrioError(Reason.WRONG_LENGTH, "encode_uint (value count does not match the config)")
        limit = 1 << precision
        if any(not isinstance(v, int) or not 0 <= v < limit for v in values):
            raise PrioError(Reason.VALUE_OUT_OF_RANGE, f"encode_uint (values must be in 0..2^{precision}-1)")
        bits = bytes((v >> (precision - 1 - b)) & 1 for v in values for b in range(precision))
        return self.encode(bits)
