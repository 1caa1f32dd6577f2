"""libprio_ctypes: a libprio v1 wire-compatible Prio core (C, loaded with ctypes) and its Python API."""

from .batch import (
    LoadedPartition,
    aggregate_partition,
    load_partition,
    state_difference,
    sum_states,
    total_share_from_state,
    valid_mask,
    verify2_partition,
)
from .client import Client
from .config import BBIT_PREC_MAX, MAX_DATA_FIELDS, Config, PrgMode, max_uint_entries
from .errors import PrioError, Reason
from .evaluation_point import partition_evaluation_point
from .keys import Keyring, PrivateKey, PublicKey, decrypt, encrypt, generate_shared_secret
from .packets import encode_verify1, encode_verify2, read_total_share, read_verify1, read_verify2
from .server import Server, Verifier, final, final_uint, is_valid

__all__ = [
    "BBIT_PREC_MAX", "MAX_DATA_FIELDS", "Client", "Config", "Keyring", "LoadedPartition", "PrgMode",
    "PrioError",
    "PrivateKey", "PublicKey", "Reason", "Server", "Verifier", "aggregate_partition", "decrypt",
    "encode_verify1", "encode_verify2", "encrypt", "final", "final_uint", "generate_shared_secret",
    "is_valid", "load_partition", "max_uint_entries", "partition_evaluation_point",
    "read_total_share", "read_verify1", "read_verify2", "state_difference", "sum_states",
    "total_share_from_state", "valid_mask", "verify2_partition",
]
