"""Fixtures of the core tests: a keyed pair of servers and configs in both PRG modes."""

import pytest

from libprio_ctypes import Config, PrgMode, PrivateKey, generate_shared_secret


class Pair:
    def __init__(self, n_data, mode, batch_id=b"core-tests"):
        self.key_a, self.key_b = PrivateKey.generate(), PrivateKey.generate()
        self.secret = generate_shared_secret()
        self.config = Config(n_data, batch_id, mode, self.key_a.public_key, self.key_b.public_key)


@pytest.fixture(params=[PrgMode.HASH, PrgMode.RAW], ids=["hash", "raw"])
def mode(request):
    return request.param


@pytest.fixture
def pair(mode):
    return Pair(7, mode)
