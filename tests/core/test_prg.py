"""PRG key modes, keystream, sampler, seed expansion and evaluation points (spec §2, §4)."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libprio_ctypes import _native, partition_evaluation_point
from libprio_ctypes._native import c_uint64, lib
from tests.core.model import P, Prg, prg_key, root

FIXTURE_SEED = bytes.fromhex("9de74c135413d534beedab0e54e06a9c")
MODES = {"raw": 0, "hash": 1}


def key(seed, batch_id, mode):
    out = _native.buffer(16)
    assert lib.prio_prg_key(seed, batch_id, len(batch_id), MODES[mode], out) == 0
    return out.raw[:16]


def stream(k, offset, n):
    out = _native.buffer(n)
    assert lib.prio_prg_stream(k, offset, out, n) == 0
    return out.raw[:n]


def sample_below(k, offset, bound):
    off, out = c_uint64(offset), _native.buffer(16)
    assert lib.prio_prg_sample_below(k, off, _native.fe_bytes(bound), out) == 0
    return _native.fe_int(out.raw[:16]), off.value


def test_check_values_mode_raw():
    k = key(FIXTURE_SEED, b"test", "raw")
    assert k == FIXTURE_SEED
    assert stream(k, 0, 48).hex() == (
        "f23a224a6aa5793545dc2a83c76deb427380eae213f45b1d1dbef5d85d57161a"
        "da0a7d36138d526b479b902e9e4f5881"
    )


def test_check_values_mode_hash():
    k = key(FIXTURE_SEED, b"test", "hash")
    assert k.hex() == "5217560dcdc4e284e4de239b225aec7c"
    assert stream(k, 0, 48).hex() == (
        "24ef56cfe04371b9169f2affcd9b65fb0adf011affeaecc9b4a7268f6b23e08c"
        "4ba12add8168b9196165d3ac40aa9a69"
    )


def test_stream_is_continuous_at_any_offset():
    k = key(FIXTURE_SEED, b"test", "hash")
    whole = stream(k, 0, 5000)
    for offset in (1, 15, 16, 17, 4095, 4096, 4097):
        assert stream(k, offset, 200) == whole[offset:offset + 200]


def test_sampler_worked_example():
    k = key(FIXTURE_SEED, b"test", "raw")
    v, consumed = sample_below(k, 0, P - 7)
    assert v + 7 == 0x1D6DEB427380EAE213F462
    assert consumed == 24  # two attempts of k + 1 = 12 bytes, the first rejected


def test_seed_expansion_fixture_client_0():
    seed = bytes.fromhex("8ca6431e593759e5c5105f5bc0a2bd8e")
    data, h = _native.buffer(16 * 5), _native.buffer(16 * 8)
    assert lib.prio_expand_seed(seed, b"test", 4, 0, 5, data, h) == 0
    shares = [_native.fe_int(data.raw[16 * i:16 * i + 16]) for i in range(5)]
    assert shares == [
        0x43070DED5252BA25819199, 0x77BCE3BDC0553E8190F04C, 0x5E02199454EA59A5DF8194,
        0x5EAA405F2E424B6FC9C7E8, 0x3F105DDAB2701B6C785C27,
    ]
    assert _native.fe_int(h.raw[:16]) == 0x4C6A7F661E25B9ADC9CF47
    model = Prg(seed)
    expected = [model.sample_below(P) for _ in range(13)]
    assert expected[:5] == shares
    assert expected[5:] == [_native.fe_int(h.raw[16 * i:16 * i + 16]) for i in range(8)]
    assert model.consumed == 288


def test_fixture_evaluation_points():
    k = key(FIXTURE_SEED, b"test", "raw")
    offset, points = c_uint64(0), []
    for _ in range(5):
        r = _native.buffer(16)
        assert lib.prio_eval_point(k, offset, 5, r) == 0
        points.append(_native.fe_int(r.raw[:16]))
    assert points == [
        0x1D6DEB427380EAE213F462, 0x36BEF5D85D57161ADA0A84, 0x3F4C66B6E743AC035EAA33,
        0x26059CF48256480FC0AC98, 0x2FE6414D311414033E104F,
    ]
    assert offset.value == 96


@pytest.mark.parametrize("m,expected", [
    (2, P - 1), (4, 0x4A2416A8CF412F996E9654), (8, 0x2D8207CA3331C2F27A3943), (16, 0x70A1107BC42BFB598164EA),
])
def test_roots_of_unity(m, expected):
    out = _native.buffer(16)
    assert lib.prio_root_of_unity(m, out) == 0
    assert _native.fe_int(out.raw[:16]) == expected == root(m)


def test_generator_order_is_2_to_19():
    out = _native.buffer(16)
    assert lib.prio_root_of_unity(2**19, out) == 0
    g = _native.fe_int(out.raw[:16])
    assert pow(g, 2**19, P) == 1 and pow(g, 2**18, P) != 1
    assert lib.prio_root_of_unity(3, out) != 0 and lib.prio_root_of_unity(2**20, out) != 0


@settings(max_examples=60, deadline=None)
@given(seed=st.binary(min_size=16, max_size=16), batch=st.binary(max_size=40),
       mode=st.sampled_from(["raw", "hash"]), bound=st.integers(1, 2**128 - 1), offset=st.integers(0, 5000))
def test_sampler_matches_model(seed, batch, mode, bound, offset):
    k = key(seed, batch, mode)
    assert k == prg_key(seed, batch, mode)
    model = Prg(k)
    model.read(offset)
    expected = model.sample_below(bound)
    assert sample_below(k, offset, bound) == (expected, model.consumed)


def test_partition_evaluation_point_formula():
    secret = bytes(range(16))
    label = b"prio-stream/v1/partition-evaluation-point\x00"

    def field(b):
        return len(b).to_bytes(4, "big") + b

    k = hashlib.sha256(label + secret + field(b"batch") + field(b"2024-05-06") + field(b"p-7")).digest()[:16]
    expected = Prg(k).eval_point(2046)
    assert partition_evaluation_point(secret, "batch", "2024-05-06", "p-7", 2046) == expected
    assert 2048 <= expected < P
    assert partition_evaluation_point(secret, b"batch", "2024-05-06", "p-8", 2046) != expected
