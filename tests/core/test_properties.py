"""Property tests: encode -> load -> verify1 -> verify2 -> valid -> aggregate gives exact sums,
at random n_data (incl. 1, 2^k - 1, 2^k) in both modes; object model and batch API agree."""

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from libprio_ctypes import (
    Client,
    Config,
    PrgMode,
    PrivateKey,
    Server,
    aggregate_partition,
    final,
    final_uint,
    load_partition,
    total_share_from_state,
    valid_mask,
    verify2_partition,
)
from tests.core.model import P

KEY_A, KEY_B = PrivateKey.generate(), PrivateKey.generate()
SECRET = bytes(range(16))

n_datas = st.one_of(st.sampled_from([0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 63, 64, 255, 256]), st.integers(0, 300))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n_data=n_datas, mode=st.sampled_from(PrgMode), r_offset=st.integers(0, P - 1),
       batch_id=st.binary(min_size=0, max_size=300).filter(lambda b: b"\0" not in b))
def test_batch_round_trip(data, n_data, mode, r_offset, batch_id):
    cfg = Config(n_data, batch_id, mode, KEY_A.public_key, KEY_B.public_key)
    # r in libprio's range (spec §4.4) and off the 2N-th roots of unity: at an interpolation
    # node the check reduces to h0 = f0*g0 and accepts any input (probability ~2N/p for a
    # drawn r), so soundness can only be asserted away from the nodes.
    r = n_data + 2 + r_offset % (P - n_data - 2)
    assume(pow(r, 2 * cfg.h_points, P) != 1)
    inputs = data.draw(st.lists(st.lists(st.integers(0, 1), min_size=n_data, max_size=n_data), min_size=1,
                                max_size=4))
    bad = data.draw(st.lists(st.integers(0, 255), min_size=n_data, max_size=n_data))
    bad_is_invalid = any(x > 1 for x in bad)
    packets = [Client(cfg).encode(x) for x in inputs] + [Client(cfg).encode(bad, allow_non_binary=True)]
    a, b = [p[0] for p in packets], [p[1] for p in packets]
    la, lb = load_partition(cfg, 0, KEY_A, a, r), load_partition(cfg, 1, KEY_B, b, r)
    v2a, _ = verify2_partition(cfg, la.state, lb.verify1)
    v2b, _ = verify2_partition(cfg, lb.state, la.verify1)
    mask = valid_mask(v2a, v2b)
    assert mask == [True] * len(inputs) + [not bad_is_invalid]
    ta = total_share_from_state(cfg, 0, aggregate_partition(cfg, 0, KEY_A, a, mask))
    tb = total_share_from_state(cfg, 1, aggregate_partition(cfg, 1, KEY_B, b, mask))
    expected = [sum(col) for col in zip(*inputs, *([bad] if not bad_is_invalid else []))] if n_data else []
    assert final(cfg, ta, tb) == expected


@settings(max_examples=25, deadline=None)
@given(n_data=n_datas, mode=st.sampled_from(PrgMode), data=st.data())
def test_object_model_round_trip_and_agreement_with_batch(n_data, mode, data):
    cfg = Config(n_data, "om", mode, KEY_A.public_key, KEY_B.public_key)
    inputs = data.draw(st.lists(st.lists(st.integers(0, 1), min_size=n_data, max_size=n_data), min_size=1,
                                max_size=3))
    packets = [Client(cfg).encode(x) for x in inputs]
    sa, sb = Server(cfg, "A", KEY_A, SECRET), Server(cfg, "B", KEY_B, SECRET)
    va, vb = sa.verifier(), sb.verifier()
    r = data.draw(st.integers(0, P - 1))
    for pa, pb in packets:
        va.set_data(pa)
        vb.set_data(pb)
        v1a, v1b = va.verify1(), vb.verify1()
        assert va.is_valid(va.verify2(v1a, v1b), vb.verify2(v1a, v1b))
        sa.aggregate(va)
        sb.aggregate(vb)
        va.set_data(pa, evaluation_point=r)
        assert [va.verify1()] == load_partition(cfg, "A", KEY_A, [pa], r).verify1
    assert final(cfg, sa.total_share(), sb.total_share()) == ([sum(c) for c in zip(*inputs)] if n_data else [])


@settings(max_examples=15, deadline=None)
@given(n_uints=st.integers(1, 5), prec=st.integers(1, 42), data=st.data())
def test_uint_round_trip(n_uints, prec, data):
    cfg = Config.for_uint(n_uints, prec, "uint", PrgMode.HASH, KEY_A.public_key, KEY_B.public_key)
    values = data.draw(st.lists(st.lists(st.integers(0, 2**prec - 1), min_size=n_uints, max_size=n_uints),
                                min_size=1, max_size=3))
    sa, sb = Server(cfg, "A", KEY_A, SECRET), Server(cfg, "B", KEY_B, SECRET)
    va, vb = sa.verifier(), sb.verifier()
    for v in values:
        pa, pb = Client(cfg).encode_uint(v, prec)
        va.set_data(pa)
        vb.set_data(pb)
        v1a, v1b = va.verify1(), vb.verify1()
        assert va.is_valid(va.verify2(v1a, v1b), vb.verify2(v1a, v1b))
        sa.aggregate(va)
        sb.aggregate(vb)
    got = final_uint(cfg, prec, sa.total_share_uint(prec), sb.total_share_uint(prec))
    assert got == [sum(c) for c in zip(*values)]
