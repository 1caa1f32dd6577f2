"""python-libprio's function-level API (`prio.libprio`: libprio's C names) on libprio_ctypes.

Handles are plain Python objects, not capsules. A failing call raises `LibprioError`, a
`RuntimeError` (as python-libprio's "<name> was not successful.") that is also a `PrioError`
with the reason; a constructor that libprio would let return NULL raises `LibprioNullError`, a
`ValueError` (as python-libprio's "PyCapsule_New called with null pointer").

Defaults are libprio 1.6's, what Firefox's clients and prio-processor's published data speak:
raw PRG keys, and `*_export_hex` returning 64 hex characters plus a NUL. `use_compat` (or the
environment variable PRIO_COMPAT, read at import) switches to libprio 2's python binding (PyPI
prio >= 1.1): hashed PRG keys, no NUL. `PrioConfig_new(..., prg_mode=...)` fixes one config's.
"""

from __future__ import annotations

import functools
import os
from array import array
from dataclasses import dataclass

import libprio_ctypes as core
from libprio_ctypes import PrgMode, PrioError, Reason

PRIO_SERVER_A = 0
PRIO_SERVER_B = 1
CURVE25519_KEY_LEN = 32
CURVE25519_KEY_LEN_HEX = 64
PRG_SEED_LENGTH = 16
BBIT_PREC_MAX = core.BBIT_PREC_MAX
TEST_BATCH_ID = b"testBatch"  # PrioConfig_newTest's


class LibprioError(PrioError, RuntimeError):
    """A failed call, raised where python-libprio raises RuntimeError."""

    def __init__(self, reason: Reason, name: str):
        super().__init__(reason, name)
        self.args = (f"{name} was not successful ({self.reason.name.lower()}).",)


class LibprioNullError(PrioError, ValueError):
    """A constructor libprio would fail (NULL), raised where python-libprio raises ValueError."""

    def __init__(self, reason: Reason, name: str):
        super().__init__(reason, name)
        self.args = (f"{name} returned a null pointer ({self.reason.name.lower()}).",)


@dataclass(frozen=True)
class Compat:
    prg_mode: PrgMode
    export_hex_nul: bool  # libprio <= 1.6's binding returned the C string's NUL too


COMPATS = {
    "libprio-1.6": Compat(PrgMode.RAW, True),
    "libprio-2": Compat(PrgMode.HASH, False),
}
_compat = COMPATS["libprio-1.6"]


def use_compat(name: str) -> Compat:
    """Switch the defaults of configs created from now on; returns the previous ones."""
    global _compat
    if name not in COMPATS:
        raise ValueError(f"unknown libprio compatibility {name!r}: use one of {', '.join(COMPATS)}")
    previous, _compat = _compat, COMPATS[name]
    return previous


def current_compat() -> Compat:
    return _compat


if os.environ.get("PRIO_COMPAT"):
    try:
        use_compat(os.environ["PRIO_COMPAT"])
    except ValueError as error:
        raise ImportError(f"PRIO_COMPAT: {error}") from None


def _call(func):
    """Errors of the core become python-libprio's RuntimeError, named after the call."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except LibprioError:
            raise
        except PrioError as error:
            raise LibprioError(error.reason, func.__name__) from None

    return wrapper


def _constructor(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except PrioError as error:
            raise LibprioNullError(error.reason, func.__name__) from None

    return wrapper


def _expect(value, kind, name: str):
    if not isinstance(value, kind):
        raise LibprioError(Reason.INVALID_ARGUMENT, name)
    return value


def _bytes(value, name: str) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        # python-libprio's typemaps raise ValueError here, and callers catch that
        raise ValueError(f"{name}: expecting a byte string")  # noqa: TRY004
    return bytes(value)


# --- library state, seeds, keys ---

def Prio_init():
    """Nothing to set up (python-libprio initialised NSS here)."""


def Prio_clear():
    """Nothing to tear down."""


@_call
def PrioPRGSeed_randomize() -> bytes:
    return core.generate_shared_secret()


@_call
def Keypair_new():
    private = core.PrivateKey.generate()
    return private, private.public_key


@_call
def PublicKey_import(data):
    return core.PublicKey.from_bytes(_bytes(data, "PublicKey_import"))


@_call
def PublicKey_import_hex(hex_data):
    return core.PublicKey.from_hex(_bytes(hex_data, "PublicKey_import_hex"))


@_call
def PrivateKey_import(priv_data, pub_data):
    return core.PrivateKey.from_bytes(_bytes(priv_data, "PrivateKey_import"),
                                      _bytes(pub_data, "PrivateKey_import"))


@_call
def PrivateKey_import_hex(priv_hex, pub_hex):
    return core.PrivateKey.from_hex(_bytes(priv_hex, "PrivateKey_import_hex"),
                                    _bytes(pub_hex, "PrivateKey_import_hex"))


def _hex_export(hex_text: str) -> bytes:
    return hex_text.encode("ascii") + (b"\0" if _compat.export_hex_nul else b"")


@_call
def PublicKey_export(key) -> bytes:
    return _expect(key, core.PublicKey, "PublicKey_export").to_bytes()


@_call
def PublicKey_export_hex(key) -> bytes:
    return _hex_export(_expect(key, core.PublicKey, "PublicKey_export_hex").to_hex())


@_call
def PrivateKey_export(key) -> bytes:
    return _expect(key, core.PrivateKey, "PrivateKey_export").to_bytes()


@_call
def PrivateKey_export_hex(key) -> bytes:
    return _hex_export(_expect(key, core.PrivateKey, "PrivateKey_export_hex").to_hex())


# --- configs ---

def _mode(prg_mode) -> PrgMode:
    return _compat.prg_mode if prg_mode is None else PrgMode(prg_mode)


def _public_key(key, name):
    return None if key is None else _expect(key, core.PublicKey, name)


@_constructor
def PrioConfig_new(n_fields, server_a, server_b, batch_id, *, prg_mode=None):
    """prg_mode: "raw" or "hash" for this config (default: the compatibility's)."""
    name = "PrioConfig_new"
    return core.Config(n_fields, _bytes(batch_id, name), _mode(prg_mode), _public_key(server_a, name),
                       _public_key(server_b, name), nul_batch_id_compat=True)


@_constructor
def PrioConfig_new_uint(n_uints, precision, server_a, server_b, batch_id, *, prg_mode=None):
    name = "PrioConfig_new_uint"
    return core.Config.for_uint(n_uints, precision, _bytes(batch_id, name), _mode(prg_mode),
                                _public_key(server_a, name), _public_key(server_b, name),
                                nul_batch_id_compat=True)


@_constructor
def PrioConfig_newTest(n_fields, *, prg_mode=None):
    return core.Config(n_fields, TEST_BATCH_ID, _mode(prg_mode))


@_call
def PrioConfig_numDataFields(cfg) -> int:
    return _expect(cfg, core.Config, "PrioConfig_numDataFields").n_data


def PrioConfig_maxDataFields() -> int:
    return core.MAX_DATA_FIELDS


@_call
def PrioConfig_numUIntEntries(cfg, precision) -> int:
    _expect(cfg, core.Config, "PrioConfig_numUIntEntries")
    return cfg.n_data // precision if 1 <= precision <= BBIT_PREC_MAX else 0


def PrioConfig_maxUIntEntries(precision) -> int:
    return core.max_uint_entries(precision)


# --- client ---

@_call
def PrioClient_encode(cfg, data):
    """data: one byte (0 or 1) per field."""
    cfg = _expect(cfg, core.Config, "PrioClient_encode")
    return core.Client(cfg).encode(_bytes(data, "PrioClient_encode"))


@_call
def PrioClient_encode_uint(cfg, precision, data):
    """data: the values as native C longs (array("l", values) or array("L", values))."""
    cfg = _expect(cfg, core.Config, "PrioClient_encode_uint")
    raw = _bytes(data, "PrioClient_encode_uint")
    if len(raw) % array("l").itemsize:
        raise PrioError(Reason.WRONG_LENGTH, "PrioClient_encode_uint")
    return core.Client(cfg).encode_uint(array("l", raw).tolist(), precision)


# --- servers and verifiers ---

@_constructor
def PrioServer_new(cfg, server_idx, server_priv, shared_secret):
    name = "PrioServer_new"
    if server_idx not in (PRIO_SERVER_A, PRIO_SERVER_B):
        raise PrioError(Reason.INVALID_ARGUMENT, name)
    return core.Server(_expect(cfg, core.Config, name), server_idx,
                       _expect(server_priv, core.PrivateKey, name), _bytes(shared_secret, name))


@_call
def PrioServer_aggregate(server, verifier):
    _expect(server, core.Server, "PrioServer_aggregate").aggregate(
        _expect(verifier, core.Verifier, "PrioServer_aggregate"))


@_call
def PrioServer_merge(server, other):
    _expect(server, core.Server, "PrioServer_merge").merge(_expect(other, core.Server, "PrioServer_merge"))


@_call
def PrioServer_write(server) -> bytes:
    return _expect(server, core.Server, "PrioServer_write").write_state()


@_call
def PrioServer_read(server, data, cfg):
    server = _expect(server, core.Server, "PrioServer_read")
    if not server.config.same_as(_expect(cfg, core.Config, "PrioServer_read")):
        raise PrioError(Reason.CONFIG_MISMATCH, "PrioServer_read")
    server.read_state(_bytes(data, "PrioServer_read"))


@_constructor
def PrioVerifier_new(server):
    return _expect(server, core.Server, "PrioVerifier_new").verifier()


@_call
def PrioVerifier_set_data(verifier, data):
    _expect(verifier, core.Verifier, "PrioVerifier_set_data").set_data(
        _bytes(data, "PrioVerifier_set_data"))


@_call
def PrioVerifier_isValid(verifier, p2_a, p2_b):
    """Returns None for a valid proof and raises RuntimeError otherwise, as python-libprio."""
    name = "PrioVerifier_isValid"
    _expect(verifier, core.Verifier, name)
    a, b = (_expect(p, PrioPacketVerify2, name).data(name) for p in (p2_a, p2_b))
    if not core.is_valid(a, b):
        raise PrioError(Reason.INVALID_PROOF, name)


# --- server-to-server packets ---

class _Packet:
    """A verify packet handle: the canonical bytes of its value once set or read."""

    __slots__ = ("_data",)

    def __init__(self):
        self._data = None

    def data(self, name: str) -> bytes:
        if self._data is None:
            raise PrioError(Reason.INVALID_ARGUMENT, f"{name} (packet not set)")
        return self._data

    def __repr__(self):
        return f"{type(self).__name__}({'set' if self._data is not None else 'empty'})"


class PrioPacketVerify1(_Packet):
    __slots__ = ()


class PrioPacketVerify2(_Packet):
    __slots__ = ()


def _read_into(packet, kind, data, cfg, parse, name):
    """A packet read: the old value is gone whatever happens (libprio reuses the handle)."""
    _expect(packet, kind, name)
    _expect(cfg, core.Config, name)
    packet._data = None
    packet._data = parse(_bytes(data, name))


def PrioPacketVerify1_new() -> PrioPacketVerify1:
    return PrioPacketVerify1()


@_call
def PrioPacketVerify1_set_data(packet, verifier):
    name = "PrioPacketVerify1_set_data"
    _expect(packet, PrioPacketVerify1, name)._data = None
    packet._data = _expect(verifier, core.Verifier, name).verify1()


@_call
def PrioPacketVerify1_write(packet) -> bytes:
    return _expect(packet, PrioPacketVerify1, "PrioPacketVerify1_write").data("PrioPacketVerify1_write")


@_call
def PrioPacketVerify1_read(packet, data, cfg):
    _read_into(packet, PrioPacketVerify1, data, cfg,
               lambda raw: core.encode_verify1(*core.read_verify1(raw)), "PrioPacketVerify1_read")


def PrioPacketVerify2_new() -> PrioPacketVerify2:
    return PrioPacketVerify2()


@_call
def PrioPacketVerify2_set_data(packet, verifier, p1_a, p1_b):
    name = "PrioPacketVerify2_set_data"
    _expect(packet, PrioPacketVerify2, name)._data = None
    a, b = (_expect(p, PrioPacketVerify1, name).data(name) for p in (p1_a, p1_b))
    packet._data = _expect(verifier, core.Verifier, name).verify2(a, b)


@_call
def PrioPacketVerify2_write(packet) -> bytes:
    return _expect(packet, PrioPacketVerify2, "PrioPacketVerify2_write").data("PrioPacketVerify2_write")


@_call
def PrioPacketVerify2_read(packet, data, cfg):
    _read_into(packet, PrioPacketVerify2, data, cfg,
               lambda raw: core.encode_verify2(core.read_verify2(raw)), "PrioPacketVerify2_read")


# --- total shares ---

class PrioTotalShare(_Packet):
    __slots__ = ()


def PrioTotalShare_new() -> PrioTotalShare:
    return PrioTotalShare()


@_call
def PrioTotalShare_set_data(share, server):
    _expect(share, PrioTotalShare, "PrioTotalShare_set_data")._data = None
    share._data = _expect(server, core.Server, "PrioTotalShare_set_data").total_share()


@_call
def PrioTotalShare_set_data_uint(share, server, precision):
    _expect(share, PrioTotalShare, "PrioTotalShare_set_data_uint")._data = None
    share._data = _expect(server, core.Server, "PrioTotalShare_set_data_uint").total_share_uint(precision)


@_call
def PrioTotalShare_write(share) -> bytes:
    return _expect(share, PrioTotalShare, "PrioTotalShare_write").data("PrioTotalShare_write")


@_call
def PrioTotalShare_read(share, data, cfg):
    """Exactly cfg's n_data elements (a uint total share: a config with n_data = its entries)."""
    _read_into(share, PrioTotalShare, data, cfg,
               lambda raw: core.read_total_share(cfg.n_data, raw)[1], "PrioTotalShare_read")


def _counts(counts) -> bytearray:
    # python-libprio hands back the C array of unsigned long long as bytes
    return bytearray(array("Q", counts).tobytes())


@_call
def PrioTotalShare_final(cfg, t_a, t_b) -> bytearray:
    """The counts as native unsigned 64-bit integers: array("L", result) gives the list."""
    name = "PrioTotalShare_final"
    a, b = (_expect(t, PrioTotalShare, name).data(name) for t in (t_a, t_b))
    return _counts(core.final(_expect(cfg, core.Config, name), a, b))


@_call
def PrioTotalShare_final_uint(cfg, precision, t_a, t_b) -> bytearray:
    name = "PrioTotalShare_final_uint"
    a, b = (_expect(t, PrioTotalShare, name).data(name) for t in (t_a, t_b))
    return _counts(core.final_uint(_expect(cfg, core.Config, name), precision, a, b))


# --- python-libprio's *_clear: memory is Python's here, so they only drop nothing ---

def _clear(handle) -> None:
    """Nothing to free; kept so that programs calling it run unchanged."""


PublicKey_clear = PrivateKey_clear = PrioConfig_clear = PrioServer_clear = _clear
PrioVerifier_clear = PrioPacketVerify1_clear = PrioPacketVerify2_clear = PrioTotalShare_clear = _clear

# `from prio.libprio import *` gives libprio's names only, as the SWIG module did.
__all__ = [  # every libprio name defined above
    name for name in sorted(dir())
    if name.startswith(("Prio", "PublicKey_", "PrivateKey_", "Keypair_", "PRIO_", "CURVE25519_",
                        "PRG_SEED_", "BBIT_", "Libprio"))
    and name != "PrioError"
]
