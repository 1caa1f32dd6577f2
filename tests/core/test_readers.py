"""Acceptance rules of every reader (spec §3.4, §7.3, §8.3, §10) on hand-crafted bytes."""

import pytest

from libprio_ctypes import (
    Config,
    PrgMode,
    PrioError,
    PrivateKey,
    Reason,
    Server,
    decrypt,
    encrypt,
    final,
    is_valid,
    load_partition,
)
from tests.core.model import P, array_header, fe, fe_array, mp_str, packet_a, packet_b

BATCH = b"core-tests"
SIX = [1, 2, 3, 4, 5, 6]
DATA, H = list(range(10, 17)), list(range(20, 28))


@pytest.fixture(scope="module")
def keys():
    return PrivateKey.generate(), PrivateKey.generate()


def statuses(keys, server, plaintexts):
    key = keys[0 if server == "A" else 1]
    cfg = Config(7, BATCH, PrgMode.HASH, keys[0].public_key, keys[1].public_key)
    blobs = [encrypt(key.public_key, pt) for pt in plaintexts]
    return load_partition(cfg, server, key, blobs, 1234567).status


def body(*parts):
    return b"".join(parts)


HEAD = mp_str(BATCH) + b"".join(fe(x) for x in SIX)
TAIL_A = fe_array(DATA) + fe_array(H)

PACKET_A_CASES = {
    "canonical": (packet_a(BATCH, SIX, DATA, H), Reason.OK),
    "p - 1 accepted": (packet_a(BATCH, [P - 1] * 6, [P - 1] * 7, [P - 1] * 8), Reason.OK),
    "leading zeros accepted": (body(mp_str(BATCH), b"\xa3\x00\x00\x01", HEAD[13:], b"\x00", TAIL_A), Reason.OK),
    "20 leading zeros": (body(mp_str(BATCH), b"\xb4" + bytes(19) + b"\x01", HEAD[13:], b"\x00", TAIL_A), Reason.OK),
    "str8 element": (body(mp_str(BATCH), b"\xd9\x01\x01", HEAD[13:], b"\x00", TAIL_A), Reason.OK),
    "str16 element": (body(mp_str(BATCH), b"\xda\x00\x01\x01", HEAD[13:], b"\x00", TAIL_A), Reason.OK),
    "str32 element": (body(mp_str(BATCH), b"\xdb\x00\x00\x00\x01\x01", HEAD[13:], b"\x00", TAIL_A), Reason.OK),
    "str8 batch id": (body(b"\xd9\x0a" + BATCH, HEAD[11:], b"\x00", TAIL_A), Reason.OK),
    "array16 header": (body(HEAD, b"\x00", b"\xdc\x00\x07", fe_array(DATA)[1:], fe_array(H)), Reason.OK),
    "trailing bytes": (body(HEAD, b"\x00", TAIL_A, b"\xc1\xff"), Reason.OK),
    "index as uint8": (body(HEAD, b"\xcc\x00", TAIL_A), Reason.OK),
    "index as int8": (body(HEAD, b"\xd0\x00", TAIL_A), Reason.OK),
    "index as uint64": (body(HEAD, b"\xcf" + bytes(8), TAIL_A), Reason.OK),
    "index 2^32 (libprio reads 0)": (body(HEAD, b"\xcf\x00\x00\x00\x01\x00\x00\x00\x00", TAIL_A),
                                     Reason.WRONG_SERVER_INDEX),
    "index 1 on server A": (body(HEAD, b"\x01", TAIL_A), Reason.WRONG_SERVER_INDEX),
    "index 2": (body(HEAD, b"\x02", TAIL_A), Reason.WRONG_SERVER_INDEX),
    "negative index": (body(HEAD, b"\xff", TAIL_A), Reason.WRONG_SERVER_INDEX),
    "negative int8 index": (body(HEAD, b"\xd0\xff", TAIL_A), Reason.WRONG_SERVER_INDEX),
    "boolean index": (body(HEAD, b"\xc2", TAIL_A), Reason.MALFORMED),
    "bin element": (body(mp_str(BATCH), b"\xc4\x01\x01", HEAD[13:], b"\x00", TAIL_A), Reason.BAD_FIELD_ELEMENT),
    "integer element": (body(mp_str(BATCH), b"\x01", HEAD[13:], b"\x00", TAIL_A), Reason.BAD_FIELD_ELEMENT),
    "nil element": (body(mp_str(BATCH), b"\xc0", HEAD[13:], b"\x00", TAIL_A), Reason.BAD_FIELD_ELEMENT),
    "empty str element": (body(mp_str(BATCH), b"\xa0", HEAD[13:], b"\x00", TAIL_A), Reason.BAD_FIELD_ELEMENT),
    "element = p": (packet_a(BATCH, [P] + SIX[1:], DATA, H), Reason.BAD_FIELD_ELEMENT),
    "element 12 bytes": (body(mp_str(BATCH), b"\xac\x01" + bytes(11), HEAD[13:], b"\x00", TAIL_A),
                         Reason.BAD_FIELD_ELEMENT),
    "data element >= p": (packet_a(BATCH, SIX, DATA[:6] + [2**88 - 1], H), Reason.BAD_FIELD_ELEMENT),
    "bin batch id": (body(b"\xc4\x0a" + BATCH, HEAD[11:], b"\x00", TAIL_A), Reason.MALFORMED),
    "other batch id": (packet_a(b"core-testz", SIX, DATA, H), Reason.BATCH_ID_MISMATCH),
    "batch id prefix": (packet_a(BATCH[:-1], SIX, DATA, H), Reason.BATCH_ID_MISMATCH),
    "batch id longer": (packet_a(BATCH + b"\x00", SIX, DATA, H), Reason.BATCH_ID_MISMATCH),
    "array-wrapped packet": (array_header(10) + packet_a(BATCH, SIX, DATA, H), Reason.MALFORMED),
    "6 data shares": (packet_a(BATCH, SIX, DATA[:6], H), Reason.WRONG_LENGTH),
    "8 data shares": (packet_a(BATCH, SIX, DATA + [1], H), Reason.WRONG_LENGTH),
    "7 h shares": (packet_a(BATCH, SIX, DATA, H[:7]), Reason.WRONG_LENGTH),
    "data not an array": (body(HEAD, b"\x00", fe(1), fe_array(H)), Reason.MALFORMED),
    "truncated in an element": (packet_a(BATCH, SIX, DATA, H)[:-3], Reason.TRUNCATED),
    "truncated at an object": (packet_a(BATCH, SIX, DATA, H)[:-12], Reason.TRUNCATED),
    "truncated str8 header": (b"\xd9", Reason.TRUNCATED),
    "truncated array16 header": (body(HEAD, b"\x00", b"\xdc\x00"), Reason.TRUNCATED),
    "truncated uint64 index": (body(HEAD, b"\xcf\x00\x00"), Reason.TRUNCATED),
    "array count beyond the input": (body(HEAD, b"\x00", b"\xdd\xff\xff\xff\xff"), Reason.WRONG_LENGTH),
    "empty plaintext": (b"", Reason.TRUNCATED),
}


def test_packet_a_acceptance(keys):
    names = list(PACKET_A_CASES)
    got = statuses(keys, "A", [PACKET_A_CASES[n][0] for n in names])
    assert dict(zip(names, got)) == {n: PACKET_A_CASES[n][1] for n in names}


def test_leading_zeros_read_as_their_value(keys):
    cfg = Config(7, BATCH, PrgMode.HASH, keys[0].public_key, keys[1].public_key)
    canonical = packet_a(BATCH, SIX, DATA, H)
    padded = body(mp_str(BATCH), b"\xb4" + bytes(19) + b"\x01", HEAD[13:], b"\x00", TAIL_A)
    out = load_partition(cfg, "A", keys[0], [encrypt(keys[0].public_key, x) for x in (canonical, padded)], 99)
    assert out.verify1[0] == out.verify1[1] is not None


SEED = bytes(range(16))
PACKET_B_CASES = {
    "canonical": (packet_b(BATCH, SIX, SEED), Reason.OK),
    "seed as str8": (body(HEAD, b"\x01", b"\xd9\x10" + SEED), Reason.OK),
    "seed of 15 bytes": (packet_b(BATCH, SIX, SEED[:15]), Reason.WRONG_LENGTH),
    "seed of 17 bytes": (packet_b(BATCH, SIX, SEED + b"x"), Reason.WRONG_LENGTH),
    "seed as bin": (body(HEAD, b"\x01", b"\xc4\x10" + SEED), Reason.MALFORMED),
    "index 0 on server B": (packet_b(BATCH, SIX, SEED, index=b"\x00"), Reason.WRONG_SERVER_INDEX),
    "index as uint16": (packet_b(BATCH, SIX, SEED, index=b"\xcd\x00\x01"), Reason.OK),
    "index 2^32 + 1 (libprio reads 1)": (packet_b(BATCH, SIX, SEED, index=b"\xcf\x00\x00\x00\x01\x00\x00\x00\x01"),
                                         Reason.WRONG_SERVER_INDEX),
    "packet A layout": (packet_a(BATCH, SIX, DATA, H, index=b"\x01"), Reason.MALFORMED),
    "truncated seed": (packet_b(BATCH, SIX, SEED)[:-1], Reason.TRUNCATED),
}


def test_packet_b_acceptance(keys):
    names = list(PACKET_B_CASES)
    got = statuses(keys, "B", [PACKET_B_CASES[n][0] for n in names])
    assert dict(zip(names, got)) == {n: PACKET_B_CASES[n][1] for n in names}


def test_envelope_rejections(keys):
    key = keys[0]
    blob = encrypt(key.public_key, b"hello")
    assert len(blob) == 65 and decrypt(key, blob) == b"hello"
    bad = {
        "short": blob[:59],
        "all-zero ephemeral key": bytes(32) + blob[32:],
        "flipped E": bytes([blob[0] ^ 1]) + blob[1:],
        "flipped nonce": blob[:40] + bytes([blob[40] ^ 1]) + blob[41:],
        "flipped ciphertext": blob[:45] + bytes([blob[45] ^ 1]) + blob[46:],
        "flipped tag": blob[:-1] + bytes([blob[-1] ^ 1]),
        "other recipient": encrypt(keys[1].public_key, b"hello"),
    }
    for name, data in bad.items():
        with pytest.raises(PrioError) as e:
            decrypt(key, data)
        assert e.value.reason is Reason.DECRYPT_FAILED, name
    assert decrypt(key, encrypt(key.public_key, b"")) == b""


V1 = fe(5) + fe(P - 1)


@pytest.mark.parametrize("v1,reason", [
    (V1, Reason.OK), (V1 + b"\xc1trailing", Reason.OK), (fe(5), Reason.TRUNCATED), (b"", Reason.TRUNCATED),
    (fe(5) + fe(P), Reason.BAD_FIELD_ELEMENT), (fe(5) + b"\xc4\x01\x01", Reason.BAD_FIELD_ELEMENT),
    (array_header(2) + V1, Reason.BAD_FIELD_ELEMENT), (fe(5) + b"\xa0", Reason.BAD_FIELD_ELEMENT),
])
def test_verify1_reader(keys, v1, reason):
    cfg = Config(7, BATCH, PrgMode.HASH, keys[0].public_key, keys[1].public_key)
    verifier = Server(cfg, "A", keys[0], bytes(16)).verifier()
    verifier.set_data(encrypt(keys[0].public_key, packet_a(BATCH, SIX, DATA, H)))
    own = verifier.verify1()
    if reason is Reason.OK:
        assert verifier.verify2(own, v1) == verifier.verify2(v1[:len(V1)], own)
        return
    for args in ((own, v1), (v1, own)):
        with pytest.raises(PrioError) as e:
            verifier.verify2(*args)
        assert e.value.reason is reason


def test_verify2_reader():
    assert is_valid(fe(1), fe(P - 1)) and is_valid(fe(0) + b"junk", b"\xa3\x00\x00\x00")
    assert not is_valid(fe(1), fe(1))
    for bad, reason in ((b"", Reason.TRUNCATED), (fe(P), Reason.BAD_FIELD_ELEMENT), (b"\x00", Reason.BAD_FIELD_ELEMENT)):
        with pytest.raises(PrioError) as e:
            is_valid(fe(1), bad)
        assert e.value.reason is reason


def total(idx: bytes, values) -> bytes:
    return idx + fe_array(values)


@pytest.mark.parametrize("ta,tb,reason", [
    (total(b"\x00", [1, 2]), total(b"\x01", [3, 4]), Reason.OK),
    (total(b"\xcc\x00", [1, 2]), total(b"\xd0\x01", [3, 4]) + b"\xff", Reason.OK),
    (total(b"\x01", [1, 2]), total(b"\x00", [3, 4]), Reason.WRONG_SERVER_INDEX),
    (total(b"\x00", [1, 2]), total(b"\x00", [3, 4]), Reason.WRONG_SERVER_INDEX),
    (total(b"\x02", [1, 2]), total(b"\x01", [3, 4]), Reason.WRONG_SERVER_INDEX),
    (total(b"\xc3", [1, 2]), total(b"\x01", [3, 4]), Reason.MALFORMED),
    (total(b"\x00", [1, 2, 3]), total(b"\x01", [3, 4]), Reason.WRONG_LENGTH),
    (total(b"\x00", [1]), total(b"\x01", [3, 4]), Reason.WRONG_LENGTH),
    (total(b"\x00", [1, 2]), total(b"\x01", [3, 4])[:-1], Reason.TRUNCATED),
    (total(b"\x00", [1, 2]), b"\x01" + fe(3) + fe(4), Reason.MALFORMED),
    (total(b"\x00", [2**63, 1]), total(b"\x01", [2**63, 1]), Reason.SUM_OVERFLOW),
    (total(b"\x00", [2**63, 1]), total(b"\x01", [2**63 - 1, 1]), Reason.OK),
    (total(b"\x00", [P - 1, 0]), total(b"\x01", [2, 0]), Reason.OK),
])
def test_total_share_reader_and_final(ta, tb, reason):
    cfg = Config(2, BATCH, PrgMode.RAW)
    if reason is Reason.OK:
        counts = final(cfg, ta, tb)
        assert counts[0] in (4, 2**64 - 1, 1) and len(counts) == 2
        return
    with pytest.raises(PrioError) as e:
        final(cfg, ta, tb)
    assert e.value.reason is reason


@pytest.mark.parametrize("state,reason", [
    (fe_array([1, 2]), Reason.OK), (fe_array([1, 2]) + b"\xff", Reason.OK),
    (b"\xdc\x00\x02" + fe(1) + fe(2), Reason.OK), (fe_array([1]), Reason.WRONG_LENGTH),
    (fe_array([1, P]), Reason.BAD_FIELD_ELEMENT), (b"\x00" + fe_array([1, 2]), Reason.MALFORMED),
    (fe_array([1, 2])[:-1], Reason.TRUNCATED), (b"", Reason.TRUNCATED),
])
def test_server_state_reader(keys, state, reason):
    server = Server(Config(2, BATCH, PrgMode.RAW), "B", keys[1], bytes(16))
    if reason is Reason.OK:
        server.read_state(state)
        assert server.write_state() == fe_array([1, 2])
        assert server.total_share() == b"\x01" + fe_array([1, 2])
        return
    with pytest.raises(PrioError) as e:
        server.read_state(state)
    assert e.value.reason is reason
    assert server.write_state() == fe_array([0, 0])  # a failed read leaves the accumulator alone
