"""ctypes loading of the C core: $PRIO_LIBRARY or the package's libprio.so, with every signature."""

import ctypes
import os
from ctypes import POINTER, c_char_p, c_int32, c_uint32, c_uint64, c_void_p

u8p = c_char_p  # bytes in; writable buffers are passed as ctypes arrays (c_void_p accepts them)
i32p = POINTER(c_int32)
u32p = POINTER(c_uint32)
u64p = POINTER(c_uint64)

RECORD_BYTES = 112
VERIFY1_MAX = 24
VERIFY2_MAX = 12
ENVELOPE_OVERHEAD = 60
MAX_KEYS = 16  # PRIO_MAX_KEYS: keys of a keyring
NO_KEY = -1  # PRIO_NO_KEY: no key of the ring opened the report

_SIGNATURES = {
    "prio_strerror": (ctypes.c_char_p, [c_int32]),
    "prio_h_points": (c_uint64, [c_int32]),
    "prio_packet_a_max_size": (c_uint64, [c_int32, c_uint32]),
    "prio_packet_b_max_size": (c_uint64, [c_uint32]),
    "prio_state_max_size": (c_uint64, [c_int32]),
    "prio_keygen": (c_int32, [c_void_p, c_void_p]),
    "prio_public_from_private": (c_int32, [u8p, c_void_p]),
    "prio_random_bytes": (c_int32, [c_void_p, c_uint64]),
    "prio_encrypt": (c_int32, [u8p, u8p, c_uint64, c_void_p]),
    "prio_decrypt": (c_int32, [u8p, u8p, c_uint64, c_void_p, u64p]),
    "prio_prg_key": (c_int32, [u8p, u8p, c_uint32, c_int32, c_void_p]),
    "prio_prg_stream": (c_int32, [u8p, c_uint64, c_void_p, c_uint64]),
    "prio_prg_sample_below": (c_int32, [u8p, u64p, u8p, c_void_p]),
    "prio_eval_point": (c_int32, [u8p, u64p, c_int32, c_void_p]),
    "prio_expand_seed": (c_int32, [u8p, u8p, c_uint32, c_int32, c_int32, c_void_p, c_void_p]),
    "prio_root_of_unity": (c_int32, [c_uint64, c_void_p]),
    "prio_encode": (
        c_int32,
        [c_int32, u8p, c_uint32, c_int32, u8p, u8p, u8p, c_int32, c_void_p, u64p, c_void_p, u64p],
    ),
    "prio_client_packet_canonical": (
        c_int32,
        [c_int32, u8p, c_uint32, c_int32, u8p, c_uint64, c_void_p, u64p],
    ),
    "prio_verifier_set_data": (
        c_int32,
        [c_int32, u8p, c_uint32, c_int32, c_int32, u8p, c_uint32, u8p, u64p, u8p, u8p, c_uint64,
         c_void_p, c_void_p],
    ),
    "prio_verify1_write": (c_int32, [u8p, c_void_p, u32p]),
    "prio_verify2_write": (c_int32, [u8p, u8p, c_uint64, u8p, c_uint64, c_void_p, u32p]),
    "prio_is_valid": (c_int32, [u8p, c_uint64, u8p, c_uint64, i32p]),
    "prio_vector_add": (c_int32, [c_void_p, u8p, c_int32]),
    "prio_state_write": (c_int32, [u8p, c_int32, c_void_p, u64p]),
    "prio_state_read": (c_int32, [c_int32, u8p, c_uint64, c_void_p]),
    "prio_total_share_write": (c_int32, [c_int32, u8p, c_int32, c_void_p, u64p]),
    "prio_total_share_write_uint": (c_int32, [c_int32, u8p, c_int32, c_int32, c_void_p, u64p]),
    "prio_total_share_read": (c_int32, [c_int32, u8p, c_uint64, i32p, c_void_p]),
    "prio_final": (c_int32, [c_int32, u8p, c_uint64, u8p, c_uint64, c_void_p]),
    "prio_verify1_read": (c_int32, [u8p, c_uint64, c_void_p]),
    "prio_verify2_read": (c_int32, [u8p, c_uint64, c_void_p]),
    "prio_verify1_encode": (c_int32, [u8p, c_void_p, u32p]),
    "prio_verify2_encode": (c_int32, [u8p, c_void_p, u32p]),
    "prio_load_partition": (
        c_int32,
        [c_int32, u8p, c_uint32, c_int32, c_int32, u8p, c_uint32, u8p, u64p, c_uint64, u8p, c_void_p,
         c_void_p, c_void_p, c_void_p, c_void_p, u64p, c_void_p],
    ),
    "prio_verify2_partition": (
        c_int32,
        [u8p, c_uint64, u8p, u64p, u8p, c_void_p, c_void_p, c_void_p],
    ),
    "prio_valid_mask": (c_int32, [u8p, u64p, u8p, u64p, c_uint64, c_void_p]),
    "prio_aggregate_partition": (
        c_int32,
        [c_int32, u8p, c_uint32, c_int32, c_int32, u8p, c_uint32, u8p, u64p, c_uint64, u8p, c_void_p,
         c_void_p, u64p],
    ),
    "prio_sum_states": (c_int32, [c_int32, u8p, u64p, c_uint64, c_void_p, u64p, u64p]),
    "prio_state_difference": (c_int32, [c_int32, u8p, c_uint64, u8p, c_uint64, c_void_p, u64p]),
}


def _load():
    path = os.environ.get("PRIO_LIBRARY") or os.path.join(os.path.dirname(__file__), "libprio.so")
    lib = ctypes.CDLL(path)
    for name, (restype, argtypes) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


lib = _load()


def buffer(size: int):
    """A writable C buffer of `size` bytes (at least 1, so its address is never NULL)."""
    return ctypes.create_string_buffer(max(size, 1))


def offsets(items) -> tuple[bytes, "ctypes.Array"]:
    """One concatenated buffer and its count+1 offsets (the ABI of a partition)."""
    arr = (c_uint64 * (len(items) + 1))()
    pos = 0
    for i, item in enumerate(items):
        arr[i] = pos
        pos += len(item)
    arr[len(items)] = pos
    return b"".join(items), arr


def fe_bytes(value: int) -> bytes:
    return value.to_bytes(16, "little")


def fe_int(data: bytes) -> int:
    return int.from_bytes(data, "little")
