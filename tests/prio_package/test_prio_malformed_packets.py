"""Reading a malformed verify1, verify2, total-share or server-state packet raises RuntimeError at
the read, as python-libprio does, and the error carries libprio_ctypes' reason."""

import pytest

from libprio_ctypes import PrioError, Reason
from prio import libprio
from tests.core.model import P, array_header, fe, fe_array

GOOD_V1, GOOD_V2, GOOD_TOTAL = fe(1) + fe(2), fe(3), b"\x00" + fe_array([1, 2, 3])


@pytest.fixture
def cfg():
    return libprio.PrioConfig_newTest(3)


def read(kind, data, cfg):
    new, reader = {
        "verify1": (libprio.PrioPacketVerify1_new, libprio.PrioPacketVerify1_read),
        "verify2": (libprio.PrioPacketVerify2_new, libprio.PrioPacketVerify2_read),
        "total": (libprio.PrioTotalShare_new, libprio.PrioTotalShare_read),
    }[kind]
    packet = new()
    reader(packet, data, cfg)
    return packet


MALFORMED = [
    ("verify1", b"", Reason.TRUNCATED),
    ("verify1", fe(1), Reason.TRUNCATED),
    ("verify1", fe(1) + fe(P), Reason.BAD_FIELD_ELEMENT),
    ("verify1", array_header(2) + GOOD_V1, Reason.BAD_FIELD_ELEMENT),
    ("verify1", b"garbage!", Reason.BAD_FIELD_ELEMENT),
    ("verify2", b"", Reason.TRUNCATED),
    ("verify2", b"\xc4\x01\x01", Reason.BAD_FIELD_ELEMENT),
    ("verify2", fe(P), Reason.BAD_FIELD_ELEMENT),
    ("total", b"", Reason.TRUNCATED),
    ("total", b"\x02" + fe_array([1, 2, 3]), Reason.WRONG_SERVER_INDEX),
    ("total", b"\x00" + fe_array([1, 2]), Reason.WRONG_LENGTH),
    ("total", b"\x00" + b"\xdd\xff\xff\xff\xff", Reason.WRONG_LENGTH),
    ("total", b"\x00" + fe_array([1, 2, 3])[:-1], Reason.TRUNCATED),
    ("total", b"\x00" + fe_array([1, 2, P]), Reason.BAD_FIELD_ELEMENT),
    ("total", b"\xc2" + fe_array([1, 2, 3]), Reason.MALFORMED),
]


@pytest.mark.parametrize("kind,data,reason", MALFORMED)
def test_malformed_packet_read_raises_runtime_error(kind, data, reason, cfg):
    with pytest.raises(RuntimeError) as error:
        read(kind, data, cfg)
    assert isinstance(error.value, PrioError)
    assert error.value.reason is reason


@pytest.mark.parametrize("kind,data", [("verify1", GOOD_V1), ("verify2", GOOD_V2), ("total", GOOD_TOTAL)])
def test_well_formed_packet_reads_and_writes_back(kind, data, cfg):
    packet = read(kind, data + b"\xc1trailing", cfg)  # trailing bytes ignored, as libprio
    write = {"verify1": libprio.PrioPacketVerify1_write, "verify2": libprio.PrioPacketVerify2_write,
             "total": libprio.PrioTotalShare_write}[kind]
    assert write(packet) == data


def test_failed_read_leaves_no_packet_behind(cfg):
    packet = read("verify1", GOOD_V1, cfg)
    with pytest.raises(RuntimeError):
        libprio.PrioPacketVerify1_read(packet, b"\xc0", cfg)
    with pytest.raises(RuntimeError):
        libprio.PrioPacketVerify1_write(packet)


def test_malformed_server_state_read_raises_runtime_error(cfg):
    sk, _ = libprio.Keypair_new()
    server = libprio.PrioServer_new(cfg, libprio.PRIO_SERVER_A, sk, libprio.PrioPRGSeed_randomize())
    for data in (b"", fe_array([1, 2]), fe_array([1, 2, P]), b"\x00" + fe_array([1, 2, 3])):
        with pytest.raises(RuntimeError):
            libprio.PrioServer_read(server, data, cfg)
    libprio.PrioServer_read(server, fe_array([1, 2, 3]), cfg)
    assert libprio.PrioServer_write(server) == fe_array([1, 2, 3])


def test_unset_packets_and_wrong_handles_raise_runtime_error(cfg):
    with pytest.raises(RuntimeError):
        libprio.PrioPacketVerify2_write(libprio.PrioPacketVerify2_new())
    with pytest.raises(RuntimeError):
        libprio.PrioTotalShare_write(libprio.PrioTotalShare_new())
    private, _ = libprio.Keypair_new()
    with pytest.raises(RuntimeError):
        libprio.PublicKey_export(private)
    with pytest.raises(RuntimeError):
        libprio.PublicKey_export_hex(private)
    with pytest.raises(RuntimeError):
        libprio.PrioPacketVerify1_read(libprio.PrioPacketVerify2_new(), GOOD_V1, cfg)
