"""Reason (one per distinct failure, mirroring the C status codes) and PrioError."""

import enum


class Reason(enum.IntEnum):
    OK = 0
    DECRYPT_FAILED = 1
    BATCH_ID_MISMATCH = 2
    WRONG_SERVER_INDEX = 3
    BAD_FIELD_ELEMENT = 4
    WRONG_LENGTH = 5
    TRUNCATED = 6
    MALFORMED = 7
    VALUE_OUT_OF_RANGE = 8
    INVALID_PROOF = 9
    SUM_OVERFLOW = 10
    CONFIG_MISMATCH = 11
    INVALID_ARGUMENT = 12
    CRYPTO_FAILURE = 13
    NO_MEMORY = 14
    MISSING_PEER_PACKET = 15


class PrioError(Exception):
    """A failed libprio operation; `reason` says why. Never carries key material."""

    def __init__(self, reason: Reason, what: str):
        self.reason = Reason(reason)
        self.what = what
        super().__init__(f"{what} failed: {self.reason.name.lower().replace('_', ' ')}")


def check(status: int, what: str) -> None:
    if status:
        raise PrioError(Reason(status), what)
