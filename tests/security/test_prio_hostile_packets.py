"""A peer's hostile verify1, verify2 and total-share bytes through the `prio` package: each read
ends at once with RuntimeError and its reason, whatever size the bytes claim; nothing is
allocated for a count the bytes do not hold, and a forged pickle fails at its read."""

import pickle

import pytest

from libprio_ctypes import Reason
from prio import libprio as L
from prio import prio

HUGE = 10 << 20  # 10 MiB of input


@pytest.fixture(scope="module")
def cfg():
    return L.PrioConfig_newTest(262143)  # the largest config: the most a count may claim


@pytest.mark.parametrize("new,read,data,reason", [
    # claims of 4 GiB strings or 4 billion elements in a few bytes
    (L.PrioPacketVerify1_new, L.PrioPacketVerify1_read, b"\xdb\xff\xff\xff\xff", Reason.TRUNCATED),
    (L.PrioPacketVerify2_new, L.PrioPacketVerify2_read, b"\xdb\xff\xff\xff\xff\x01", Reason.TRUNCATED),
    (L.PrioTotalShare_new, L.PrioTotalShare_read, b"\x00\xdd\xff\xff\xff\xff", Reason.WRONG_LENGTH),
    (L.PrioTotalShare_new, L.PrioTotalShare_read, b"\x00\xdd\x00\x03\xff\xff", Reason.TRUNCATED),
    # a field element as long as the input (libprio reads at most 11 significant bytes)
    (L.PrioPacketVerify1_new, L.PrioPacketVerify1_read,
     b"\xdb" + HUGE.to_bytes(4, "big") + b"\xff" * HUGE, Reason.BAD_FIELD_ELEMENT),
    (L.PrioPacketVerify2_new, L.PrioPacketVerify2_read, b"\xff" * HUGE, Reason.BAD_FIELD_ELEMENT),
    (L.PrioTotalShare_new, L.PrioTotalShare_read, b"\x01" * HUGE, Reason.MALFORMED),
])
def test_hostile_packet_read_is_refused_with_its_reason(cfg, new, read, data, reason):
    packet = new()
    with pytest.raises(RuntimeError) as error:
        read(packet, data, cfg)
    assert error.value.reason is reason


def test_forged_pickled_total_share_fails_at_its_read():
    sk, pk = prio.create_keypair()
    config = prio.Config(4, pk, pk, b"forged")
    forged = prio.TotalShare.__new__(prio.TotalShare)
    forged.__setstate__(b"\x00\x95" + b"\xa1\x01" * 4)  # claims 5 elements, holds 4
    forged = pickle.loads(pickle.dumps(forged))
    server = prio.Server(config, prio.PRIO_SERVER_B, sk, prio.PRGSeed())
    with pytest.raises(RuntimeError) as error:
        prio.total_share_final(config, forged, server.total_shares())
    assert error.value.reason is Reason.WRONG_LENGTH
