"""X25519 keys (raw and uppercase-hex forms, spec §3.3, §8.1), keyrings, the shared secret, the envelope."""

import hashlib
import re
from collections.abc import Sequence

from . import _native
from ._native import lib
from .errors import PrioError, Reason, check

_HEX64 = re.compile(rb"[0-9a-fA-F]{64}")


def _from_hex(value, what: str) -> bytes:
    raw = value.encode("ascii", "replace") if isinstance(value, str) else bytes(value)
    if not _HEX64.fullmatch(raw):
        raise PrioError(Reason.INVALID_ARGUMENT, f"{what} import (expected 64 hex characters)")
    return bytes.fromhex(raw.decode("ascii"))


def _raw32(value, what: str) -> bytes:
    raw = bytes(value)
    if len(raw) != 32:
        raise PrioError(Reason.INVALID_ARGUMENT, f"{what} import (expected 32 bytes)")
    return raw


class PublicKey:
    __slots__ = ("_raw",)

    def __init__(self, raw: bytes):
        self._raw = _raw32(raw, "public key")

    @classmethod
    def from_bytes(cls, raw: bytes) -> "PublicKey":
        return cls(raw)

    @classmethod
    def from_hex(cls, hex_value) -> "PublicKey":
        return cls(_from_hex(hex_value, "public key"))

    def to_bytes(self) -> bytes:
        return self._raw

    def to_hex(self) -> str:
        return self._raw.hex().upper()

    def __eq__(self, other):
        return isinstance(other, PublicKey) and other._raw == self._raw

    def __hash__(self):
        return hash(self._raw)

    @property
    def fingerprint(self) -> str:
        """8 hex of SHA-256 of the key: names a key in status and metrics without the key."""
        return hashlib.sha256(self._raw).hexdigest()[:8]

    def __repr__(self):
        return f"PublicKey({self.to_hex()})"


class PrivateKey:
    """The private scalar and its (stored, unchecked — as libprio) public key."""

    __slots__ = ("_raw", "public_key")

    def __init__(self, raw: bytes, public: bytes | None = None):
        self._raw = _raw32(raw, "private key")
        if public is None:
            out = _native.buffer(32)
            check(lib.prio_public_from_private(self._raw, out), "public key derivation")
            public = out.raw[:32]
        self.public_key = PublicKey(public)

    @classmethod
    def generate(cls) -> "PrivateKey":
        priv, pub = _native.buffer(32), _native.buffer(32)
        check(lib.prio_keygen(priv, pub), "key generation")
        return cls(priv.raw[:32], pub.raw[:32])

    @classmethod
    def from_bytes(cls, private32: bytes, public32: bytes | None = None) -> "PrivateKey":
        return cls(private32, public32)

    @classmethod
    def from_hex(cls, private_hex, public_hex=None) -> "PrivateKey":
        public = None if public_hex is None else _from_hex(public_hex, "public key")
        return cls(_from_hex(private_hex, "private key"), public)

    def to_bytes(self) -> bytes:
        return self._raw

    def to_hex(self) -> str:
        return self._raw.hex().upper()

    def __repr__(self):
        return f"PrivateKey(public_key={self.public_key.to_hex()})"


class Keyring:
    """The private keys a server decrypts with, the current one first, then previous ones (a key
    rotation keeps the old key while clients still encrypt to it). A packet names no key: the
    GCM tag decides which key opens it."""

    __slots__ = ("keys",)

    def __init__(self, keys: Sequence[PrivateKey]):
        keys = tuple(keys)
        if not 1 <= len(keys) <= _native.MAX_KEYS:
            raise PrioError(Reason.INVALID_ARGUMENT,
                            f"keyring (1 to {_native.MAX_KEYS} keys, not {len(keys)})")
        if not all(isinstance(key, PrivateKey) for key in keys):
            raise PrioError(Reason.INVALID_ARGUMENT, "keyring (private keys only)")
        self.keys = keys

    @classmethod
    def of(cls, keys: "PrivateKey | Keyring | Sequence[PrivateKey]") -> "Keyring":
        """A single key is the ring of one."""
        if isinstance(keys, Keyring):
            return keys
        return cls([keys] if isinstance(keys, PrivateKey) else keys)

    @property
    def current(self) -> PrivateKey:
        return self.keys[0]

    @property
    def fingerprints(self) -> list[str]:
        return [key.public_key.fingerprint for key in self.keys]

    def to_bytes(self) -> bytes:
        """The C ABI's keyring: the private keys back to back."""
        return b"".join(key.to_bytes() for key in self.keys)

    def __len__(self):
        return len(self.keys)

    def __iter__(self):
        return iter(self.keys)

    def __repr__(self):
        return f"Keyring({', '.join(self.fingerprints)})"


def generate_shared_secret() -> bytes:
    out = _native.buffer(16)
    check(lib.prio_random_bytes(out, 16), "shared secret generation")
    return out.raw[:16]


def encrypt(public_key: PublicKey, plaintext: bytes) -> bytes:
    plaintext = bytes(plaintext)
    out = _native.buffer(len(plaintext) + _native.ENVELOPE_OVERHEAD)
    check(lib.prio_encrypt(public_key.to_bytes(), plaintext, len(plaintext), out), "encryption")
    return out.raw[: len(plaintext) + _native.ENVELOPE_OVERHEAD]


def decrypt(private_key: PrivateKey, blob: bytes) -> bytes:
    blob = bytes(blob)
    out = _native.buffer(max(len(blob) - _native.ENVELOPE_OVERHEAD, 0))
    n = _native.c_uint64()
    check(lib.prio_decrypt(private_key.to_bytes(), blob, len(blob), out, n), "decryption")
    return out.raw[: n.value]
