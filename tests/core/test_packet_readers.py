"""The stand-alone readers of verify1, verify2 and total-share packets: libprio's acceptance
rules (spec §3.4, §10.1-10.3), a value or the reason, canonical bytes written back."""

import pytest

from libprio_ctypes import (
    PrioError,
    Reason,
    encode_verify1,
    encode_verify2,
    read_total_share,
    read_verify1,
    read_verify2,
)
from tests.core.model import P, array_header, fe, fe_array, jsonl_runs

V1 = fe(5) + fe(P - 1)


@pytest.mark.parametrize("data,reason", [
    (V1, Reason.OK),
    (V1 + b"\xc1trailing", Reason.OK),
    (b"\xd9\x01\x05" + b"\xa3\x00\x00\x07", Reason.OK),  # str8 and leading zeros, as libprio
    (fe(5), Reason.TRUNCATED),
    (b"", Reason.TRUNCATED),
    (b"\xab" + bytes(5), Reason.TRUNCATED),
    (fe(5) + fe(P), Reason.BAD_FIELD_ELEMENT),
    (fe(5) + b"\xc4\x01\x01", Reason.BAD_FIELD_ELEMENT),
    (array_header(2) + V1, Reason.BAD_FIELD_ELEMENT),
    (fe(5) + b"\xa0", Reason.BAD_FIELD_ELEMENT),
    (b"\x05\x06", Reason.BAD_FIELD_ELEMENT),
])
def test_verify1_reader(data, reason):
    if reason is Reason.OK:
        d, e = read_verify1(data)
        assert read_verify1(encode_verify1(d, e)) == (d, e)
        return
    with pytest.raises(PrioError) as error:
        read_verify1(data)
    assert error.value.reason is reason


def test_verify1_values_and_canonical_bytes():
    assert read_verify1(V1) == (5, P - 1)
    assert read_verify1(b"\xd9\x01\x05\xa3\x00\x00\x07") == (5, 7)
    assert encode_verify1(5, 7) == fe(5) + fe(7)
    assert encode_verify2(0) == b"\xa1\x00"


@pytest.mark.parametrize("data,reason", [
    (fe(0), Reason.OK), (fe(P - 1) + b"junk", Reason.OK), (b"\xa3\x00\x00\x00", Reason.OK),
    (b"", Reason.TRUNCATED), (fe(P), Reason.BAD_FIELD_ELEMENT), (b"\x00", Reason.BAD_FIELD_ELEMENT),
    (b"\xc0", Reason.BAD_FIELD_ELEMENT), (b"\xdb\xff\xff\xff\xff", Reason.TRUNCATED),
])
def test_verify2_reader(data, reason):
    if reason is Reason.OK:
        value = read_verify2(data)
        assert read_verify2(encode_verify2(value)) == value
        return
    with pytest.raises(PrioError) as error:
        read_verify2(data)
    assert error.value.reason is reason


@pytest.mark.parametrize("value", [-1, P, 2**128])
def test_writers_refuse_values_outside_the_field(value):
    for call in (lambda: encode_verify1(value, 0), lambda: encode_verify1(0, value),
                 lambda: encode_verify2(value)):
        with pytest.raises(PrioError) as error:
            call()
        assert error.value.reason is Reason.INVALID_ARGUMENT


@pytest.mark.parametrize("data,n_data,result", [
    (b"\x00" + fe_array([1, 2]), 2, (0, b"\x00" + fe_array([1, 2]))),
    (b"\xcc\x01" + b"\x92\xa3\x00\x00\x01\xa1\x02" + b"\xff", 2, (1, b"\x01" + fe_array([1, 2]))),
    (b"\x02" + fe_array([1, 2]), 2, Reason.WRONG_SERVER_INDEX),
    (b"\xff" + fe_array([1, 2]), 2, Reason.WRONG_SERVER_INDEX),
    (b"\xc3" + fe_array([1, 2]), 2, Reason.MALFORMED),
    (b"\x00" + fe_array([1, 2, 3]), 2, Reason.WRONG_LENGTH),
    (b"\x00" + b"\xdd\xff\xff\xff\xff", 2, Reason.WRONG_LENGTH),  # a huge count allocates nothing
    (b"\x00" + fe_array([1, 2])[:-1], 2, Reason.TRUNCATED),
    (b"\x00" + fe(1) + fe(2), 2, Reason.MALFORMED),
    (b"\x00" + fe_array([1, P]), 2, Reason.BAD_FIELD_ELEMENT),
    (b"", 2, Reason.TRUNCATED),
])
def test_total_share_reader(data, n_data, result):
    if isinstance(result, tuple):
        assert read_total_share(n_data, data) == result
        return
    with pytest.raises(PrioError) as error:
        read_total_share(n_data, data)
    assert error.value.reason is result


@pytest.mark.parametrize("name", ["libprio-1.6-rawmode.jsonl", "libprio-head-hashmode.jsonl"])
def test_libprio_packets_read_back_to_their_own_bytes(name):
    for run in jsonl_runs(name):
        for client in run["clients"]:
            for side in "ab":
                v1, v2 = bytes.fromhex(client[f"verify1_{side}"]), bytes.fromhex(client[f"verify2_{side}"])
                assert encode_verify1(*read_verify1(v1)) == v1
                assert encode_verify2(read_verify2(v2)) == v2
        n_totals = run["n_data"] // run["prec"] if run["prec"] else run["n_data"]
        for index, side in enumerate("ab"):
            share = bytes.fromhex(run[f"total_share_{side}"])
            assert read_total_share(n_totals, share) == (index, share)
