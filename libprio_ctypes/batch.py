"""The batch API the services use: a whole partition per call, one evaluation point, O(N) per
report, arrays in and out (no Python loops over field elements)."""

from collections.abc import Sequence
from dataclasses import dataclass

from . import _native
from ._native import RECORD_BYTES, VERIFY1_MAX, VERIFY2_MAX, c_int32, c_uint32, c_uint64, lib
from .config import Config
from .errors import PrioError, Reason, check
from .keys import Keyring, PrivateKey
from .server import server_index


@dataclass(frozen=True)
class LoadedPartition:
    status: list[Reason]
    verify1: list[bytes | None]
    state: bytes
    # The sum of the loaded (status OK) reports' data shares, as a state: the partition total
    # once the loaded reports found invalid are subtracted (state_difference).
    loaded_sum: bytes
    # Per report the index in the keyring of the key that opened it (None: no key did).
    opened_by: list[int | None]

    def __repr__(self):
        ok = sum(s is Reason.OK for s in self.status)
        return f"LoadedPartition({ok}/{len(self.status)} loaded)"


def _config_args(config: Config):
    return config.n_data, config.batch_id, len(config.batch_id), config.prg_mode.code


def load_partition(config: Config, server_id, keys: PrivateKey | Keyring, packets: Sequence[bytes],
                   evaluation_point: int) -> LoadedPartition:
    """keys: one key, or a keyring (each report is opened by whichever key its GCM tag accepts;
    a partition under any one key of the ring costs one X25519 per report)."""
    ring = Keyring.of(keys)
    if not 0 <= evaluation_point < (1 << 128):
        raise PrioError(Reason.INVALID_ARGUMENT, "load_partition (evaluation point out of range)")
    count = len(packets)
    blob, offs = _native.offsets([bytes(p) for p in packets])
    status = (c_int32 * max(count, 1))()
    verify1 = _native.buffer(VERIFY1_MAX * count)
    lens = (c_uint32 * max(count, 1))()
    records = _native.buffer(RECORD_BYTES * count)
    loaded_sum = _native.buffer(lib.prio_state_max_size(config.n_data))
    loaded_sum_len = c_uint64()
    opened = (c_int32 * max(count, 1))()
    check(
        lib.prio_load_partition(
            *_config_args(config), server_index(server_id), ring.to_bytes(), len(ring), blob, offs,
            count, _native.fe_bytes(evaluation_point), status, verify1, lens, records, loaded_sum,
            loaded_sum_len, opened,
        ),
        "load_partition",
    )
    raw = verify1.raw
    return LoadedPartition(
        status=[Reason(status[i]) for i in range(count)],
        verify1=[raw[VERIFY1_MAX * i: VERIFY1_MAX * i + lens[i]] if status[i] == 0 else None
                 for i in range(count)],
        state=records.raw[: RECORD_BYTES * count],
        loaded_sum=loaded_sum.raw[: loaded_sum_len.value],
        opened_by=[None if opened[i] == _native.NO_KEY else opened[i] for i in range(count)],
    )


def verify2_partition(config: Config, state: bytes, peer_verify1: Sequence[bytes | None]
                      ) -> tuple[list[bytes | None], list[Reason]]:
    count = len(peer_verify1)
    if len(state) != RECORD_BYTES * count:
        raise PrioError(Reason.WRONG_LENGTH, f"verify2_partition (state holds {len(state) / RECORD_BYTES:g} "
                                             f"records for {count} peer packets)")
    blob, offs = _native.offsets([b"" if p is None else bytes(p) for p in peer_verify1])
    present = bytes(p is not None for p in peer_verify1)
    status = (c_int32 * max(count, 1))()
    out = _native.buffer(VERIFY2_MAX * count)
    lens = (c_uint32 * max(count, 1))()
    check(lib.prio_verify2_partition(bytes(state), count, blob, offs, present, status, out, lens),
          "verify2_partition")
    raw = out.raw
    packets = [raw[VERIFY2_MAX * i: VERIFY2_MAX * i + lens[i]] if status[i] == 0 else None for i in range(count)]
    return packets, [Reason(status[i]) for i in range(count)]


def valid_mask(own_verify2: Sequence[bytes | None], peer_verify2: Sequence[bytes | None]) -> list[bool]:
    if len(own_verify2) != len(peer_verify2):
        raise PrioError(Reason.WRONG_LENGTH, "valid_mask (own and peer lists differ in length)")
    count = len(own_verify2)
    own, own_offs = _native.offsets([b"" if p is None else bytes(p) for p in own_verify2])
    peer, peer_offs = _native.offsets([b"" if p is None else bytes(p) for p in peer_verify2])
    mask = _native.buffer(count)
    check(lib.prio_valid_mask(own, own_offs, peer, peer_offs, count, mask), "valid_mask")
    return [b == 1 for b in mask.raw[:count]]


def aggregate_partition(config: Config, server_id, keys: PrivateKey | Keyring, packets: Sequence[bytes],
                        mask: Sequence[bool]) -> bytes:
    ring = Keyring.of(keys)
    count = len(packets)
    if len(mask) != count:
        raise PrioError(Reason.WRONG_LENGTH, "aggregate_partition (mask and packets differ in length)")
    blob, offs = _native.offsets([bytes(p) for p in packets])
    status = (c_int32 * max(count, 1))()
    out = _native.buffer(lib.prio_state_max_size(config.n_data))
    n = c_uint64()
    check(
        lib.prio_aggregate_partition(
            *_config_args(config), server_index(server_id), ring.to_bytes(), len(ring), blob, offs,
            count, bytes(bool(m) for m in mask), status, out, n,
        ),
        "aggregate_partition",
    )
    for i in range(count):
        if status[i]:
            raise PrioError(Reason(status[i]), f"aggregate_partition (report {i} of the mask)")
    return out.raw[: n.value]


def sum_states(config: Config, states: Sequence[bytes]) -> bytes:
    blob, offs = _native.offsets([bytes(s) for s in states])
    out = _native.buffer(lib.prio_state_max_size(config.n_data))
    n, bad = c_uint64(), c_uint64()
    status = lib.prio_sum_states(config.n_data, blob, offs, len(states), out, n, bad)
    if status:
        raise PrioError(Reason(status), f"sum_states (state {bad.value})")
    return out.raw[: n.value]


def state_difference(config: Config, state: bytes, subtracted: bytes) -> bytes:
    """state - subtracted: a sum of data shares without the reports subtracted sums."""
    state, subtracted = bytes(state), bytes(subtracted)
    out = _native.buffer(lib.prio_state_max_size(config.n_data))
    n = c_uint64()
    check(lib.prio_state_difference(config.n_data, state, len(state), subtracted, len(subtracted),
                                    out, n), "state_difference")
    return out.raw[: n.value]


def total_share_from_state(config: Config, server_id, state: bytes) -> bytes:
    state = bytes(state)
    acc = _native.buffer(16 * config.n_data)
    check(lib.prio_state_read(config.n_data, state, len(state), acc), "total_share_from_state")
    out = _native.buffer(lib.prio_state_max_size(config.n_data))
    n = c_uint64()
    check(lib.prio_total_share_write(server_index(server_id), acc.raw[: 16 * config.n_data], config.n_data,
                                     out, n), "total_share_from_state")
    return out.raw[: n.value]
