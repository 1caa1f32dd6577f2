"""The batch API: equal to the object model at the same r, exact round trips, and every kind
of bad report rejected with its exact Reason."""

import pytest

from libprio_ctypes import (
    Client,
    PrioError,
    Reason,
    Server,
    aggregate_partition,
    decrypt,
    encrypt,
    final,
    load_partition,
    partition_evaluation_point,
    state_difference,
    sum_states,
    total_share_from_state,
    valid_mask,
    verify2_partition,
)
from tests.core.model import P, interpolate_at, read_packet_a, root

INPUTS = [[1, 0, 1, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1], [0, 1, 0, 1, 0, 1, 0]]


def run_partition(pair, packets_a, packets_b, r):
    cfg = pair.config
    la = load_partition(cfg, "A", pair.key_a, packets_a, r)
    lb = load_partition(cfg, "B", pair.key_b, packets_b, r)
    v2a, sa = verify2_partition(cfg, la.state, lb.verify1)
    v2b, sb = verify2_partition(cfg, lb.state, la.verify1)
    return la, lb, v2a, v2b, sa, sb, valid_mask(v2a, v2b)


def encode_all(pair, inputs):
    packets = [Client(pair.config).encode(x) for x in inputs]
    return [p[0] for p in packets], [p[1] for p in packets]


def test_batch_equals_object_model_at_the_same_r(pair):
    a, b = encode_all(pair, INPUTS)
    r = partition_evaluation_point(pair.secret, "core-tests", "2024-01-02", "0", pair.config.n_data)
    la, lb, v2a, v2b, *_ , mask = run_partition(pair, a, b, r)
    sa, sb = Server(pair.config, 0, pair.key_a, pair.secret), Server(pair.config, 1, pair.key_b, pair.secret)
    va, vb = sa.verifier(), sb.verifier()
    for i in range(len(INPUTS)):
        va.set_data(a[i], evaluation_point=r)
        vb.set_data(b[i], evaluation_point=r)
        assert (va.verify1(), vb.verify1()) == (la.verify1[i], lb.verify1[i])
        assert va.verify2(va.verify1(), vb.verify1()) == v2a[i]
        assert vb.verify2(va.verify1(), vb.verify1()) == v2b[i]
    assert mask == [True] * 4
    assert la.status == lb.status == [Reason.OK] * 4


def test_round_trip_exact_sums(pair):
    a, b = encode_all(pair, INPUTS)
    *_, mask = run_partition(pair, a, b, 987654321)
    cfg = pair.config
    half = len(a) // 2
    states_a = [aggregate_partition(cfg, "A", pair.key_a, a[:half], mask[:half]),
                aggregate_partition(cfg, "A", pair.key_a, a[half:], mask[half:])]
    states_b = [aggregate_partition(cfg, "B", pair.key_b, b, mask)]
    ta = total_share_from_state(cfg, "A", sum_states(cfg, states_a))
    tb = total_share_from_state(cfg, "B", sum_states(cfg, states_b))
    assert final(cfg, ta, tb) == [sum(col) for col in zip(*INPUTS)]
    assert ta[0] == 0 and tb[0] == 1


def test_evaluation_matches_naive_lagrange(pair):
    """fR, gR, hR of server A recomputed from the decrypted packet with Python integers."""
    (a,), _ = encode_all(pair, INPUTS[:1])
    r = 0x123456789ABCDEF123456
    (v1,) = load_partition(pair.config, "A", pair.key_a, [a], r).verify1
    pk = read_packet_a(decrypt(pair.key_a, a), 7)
    f = [pk["f0"]] + pk["data"]
    g = [pk["g0"]] + [(x - 1) % P for x in pk["data"]]
    d = (interpolate_at(f, r) - pk["a"]) % P
    e = (interpolate_at(g, r) - pk["b"]) % P
    assert v1 == b"".join(bytes([0xA0 | len(x)]) + x for x in
                          (v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big") for v in (d, e)))


@pytest.mark.parametrize("node", ["one", "even", "odd"])
def test_r_equal_to_an_interpolation_node(pair, node):
    """r = a root of unity is drawn with probability ~2N/p; it must still give exact values."""
    n_h = pair.config.h_points
    r = {"one": 1, "even": root(n_h), "odd": root(2 * n_h)}[node]
    a, b = encode_all(pair, INPUTS)
    la, *_, mask = run_partition(pair, a, b, r)
    assert mask == [True] * 4  # valid reports verify at any r, nodes included
    pk = read_packet_a(decrypt(pair.key_a, a[0]), 7)
    d = (interpolate_at([pk["f0"]] + pk["data"], r) - pk["a"]) % P
    assert la.verify1[0][1:1 + (la.verify1[0][0] & 0x1F)] == d.to_bytes(max(1, (d.bit_length() + 7) // 8), "big")


def invalid(pair):
    return Client(pair.config).encode([2, 0, 0, 0, 0, 0, 1], allow_non_binary=True)


def test_non_binary_input_fails_the_proof(pair):
    a, b = encode_all(pair, INPUTS[:2])
    bad_a, bad_b = invalid(pair)
    la, lb, _v2a, _v2b, sa, sb, mask = run_partition(pair, [a[0], bad_a, a[1]], [b[0], bad_b, b[1]], 10**20)
    assert la.status == lb.status == [Reason.OK] * 3
    assert sa == sb == [Reason.OK] * 3
    assert mask == [True, False, True]


def reencrypt(pair, server, blob, edit):
    key = pair.key_a if server == "A" else pair.key_b
    target = (pair.key_a if server == "A" else pair.key_b).public_key
    return encrypt(target, edit(decrypt(key, blob)))


def test_tampered_share_bytes_fail_the_proof(pair):
    a, b = encode_all(pair, INPUTS[:1])
    # flip one bit of the last h-point share's last byte (still a valid element < p)
    tampered = reencrypt(pair, "A", a[0], lambda pt: pt[:-1] + bytes([pt[-1] ^ 1]))
    la, _lb, *_, mask = run_partition(pair, [tampered], b, 424242)
    assert la.status == [Reason.OK] and mask == [False]


def test_trailing_plaintext_bytes_are_accepted(pair):
    a, _b = encode_all(pair, INPUTS[:1])
    padded = reencrypt(pair, "A", a[0], lambda pt: pt + b"\xc1trailing")
    la = load_partition(pair.config, "A", pair.key_a, [a[0], padded], 31337)
    assert la.status == [Reason.OK, Reason.OK] and la.verify1[0] == la.verify1[1]


def test_rejections_with_exact_reasons(pair):
    cfg = pair.config
    a, b = encode_all(pair, INPUTS[:1])
    wrong_batch = reencrypt(pair, "A", a[0], lambda pt: b"\xaaother-batc" + pt[11:])
    corrupted = a[0][:100] + bytes([a[0][100] ^ 0x40]) + a[0][101:]
    b_as_a = encrypt(pair.key_a.public_key, decrypt(pair.key_b, b[0]))
    cases = {
        "ok": (a[0], Reason.OK),
        "wrong batch id": (wrong_batch, Reason.BATCH_ID_MISMATCH),
        "corrupted ciphertext": (corrupted, Reason.DECRYPT_FAILED),
        "packet for the other server": (b[0], Reason.DECRYPT_FAILED),
        "B plaintext sent to A": (b_as_a, Reason.WRONG_SERVER_INDEX),
        "truncated envelope": (a[0][:-1], Reason.DECRYPT_FAILED),
        "trailing envelope bytes": (a[0] + b"\x00", Reason.DECRYPT_FAILED),
        "empty": (b"", Reason.DECRYPT_FAILED),
        "truncated plaintext": (reencrypt(pair, "A", a[0], lambda pt: pt[:-3]), Reason.TRUNCATED),
    }
    la = load_partition(cfg, "A", pair.key_a, [c[0] for c in cases.values()], 99)
    assert dict(zip(cases, la.status)) == {k: v[1] for k, v in cases.items()}
    assert [v is None for v in la.verify1] == [r is not Reason.OK for r in la.status]
    assert len(la.state) == 112 * len(cases)


def test_verify2_partition_reasons(pair):
    a, b = encode_all(pair, INPUTS[:3])
    la = load_partition(pair.config, "A", pair.key_a, [a[0], b"junk", a[1], a[2]], 5555)
    lb = load_partition(pair.config, "B", pair.key_b, [b[0], b[0], b[1], b[2]], 5555)
    peer = [lb.verify1[0], lb.verify1[1], None, lb.verify1[2][:5]]
    out, status = verify2_partition(pair.config, la.state, peer)
    assert status == [Reason.OK, Reason.DECRYPT_FAILED, Reason.MISSING_PEER_PACKET, Reason.TRUNCATED]
    assert out[0] is not None and out[1:] == [None, None, None]
    with pytest.raises(PrioError) as e:
        verify2_partition(pair.config, la.state[:-1], peer)
    assert e.value.reason is Reason.WRONG_LENGTH


def test_valid_mask_missing_or_malformed_is_false():
    zero, one, minus_one = b"\xa1\x00", b"\xa1\x01", b"\xab" + (P - 1).to_bytes(11, "big")
    assert valid_mask([zero, one, None, b"\xc4\x01\x00", one, b""], [zero, minus_one, zero, zero, None, zero]) \
        == [True, True, False, False, False, False]


def test_aggregate_partition_raises_on_a_masked_in_bad_report(pair):
    a, _ = encode_all(pair, INPUTS[:1])
    with pytest.raises(PrioError) as e:
        aggregate_partition(pair.config, "A", pair.key_a, [a[0], b"bad"], [True, True])
    assert e.value.reason is Reason.DECRYPT_FAILED
    state = aggregate_partition(pair.config, "A", pair.key_a, [a[0], b"bad"], [False, False])
    assert state == bytes([0x97]) + b"\xa1\x00" * 7


def test_sum_states_rejects_a_malformed_state(pair):
    cfg = pair.config
    good = bytes([0x97]) + b"\xa1\x01" * 7
    assert sum_states(cfg, [good, good]) == bytes([0x97]) + b"\xa1\x02" * 7
    assert sum_states(cfg, []) == bytes([0x97]) + b"\xa1\x00" * 7
    with pytest.raises(PrioError) as e:
        sum_states(cfg, [good, bytes([0x96]) + b"\xa1\x01" * 6])
    assert e.value.reason is Reason.WRONG_LENGTH and "state 1" in str(e.value)


def test_loaded_sum_is_the_aggregate_of_the_loaded_reports(pair):
    """The loaded sum equals aggregate_partition over the reports that loaded (an undecodable
    one is left out), on both servers; subtracting an invalid report's aggregate gives the
    valid total, byte for byte, and the published counts."""
    cfg = pair.config
    a, b = encode_all(pair, INPUTS)
    la = load_partition(cfg, "A", pair.key_a, [a[0], b"junk", *a[1:]], 4242)
    lb = load_partition(cfg, "B", pair.key_b, [b[0], b"junk", *b[1:]], 4242)
    loaded = [s is Reason.OK for s in la.status]
    assert loaded == [True, False, True, True, True]
    packets = {"A": [a[0], b"junk", *a[1:]], "B": [b[0], b"junk", *b[1:]]}
    keys = {"A": pair.key_a, "B": pair.key_b}
    totals = {}
    for server, load in (("A", la), ("B", lb)):
        assert load.loaded_sum == aggregate_partition(cfg, server, keys[server], packets[server],
                                                      loaded)
        # Report 3 (INPUTS[2]) found invalid: the rest is the valid total.
        invalid = [i == 3 for i in range(5)]
        valid = [m and not x for m, x in zip(loaded, invalid)]
        total = state_difference(cfg, load.loaded_sum,
                                 aggregate_partition(cfg, server, keys[server], packets[server],
                                                     invalid))
        assert total == aggregate_partition(cfg, server, keys[server], packets[server], valid)
        totals[server] = total_share_from_state(cfg, server, total)
    assert final(cfg, totals["A"], totals["B"]) == [
        sum(col) for col in zip(INPUTS[0], INPUTS[1], INPUTS[3])]


def test_loaded_sum_of_nothing_loaded_is_zero(pair):
    la = load_partition(pair.config, "A", pair.key_a, [b"junk"], 7)
    assert la.loaded_sum == bytes([0x97]) + b"\xa1\x00" * 7


def test_state_difference_rejects_a_malformed_state(pair):
    zero = bytes([0x97]) + b"\xa1\x00" * 7
    assert state_difference(pair.config, zero, zero) == zero
    with pytest.raises(PrioError):
        state_difference(pair.config, zero, zero[:-1])
