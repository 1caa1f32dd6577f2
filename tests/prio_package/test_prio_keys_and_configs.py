"""`prio.libprio`'s keys, seeds, configs, client and constants; `prio.PrioContext`."""

from array import array

import pytest

from prio import PrioContext
from prio import libprio as L

RAW = bytes.fromhex("102030405060708090A0B0C0D0E0F00000FFEEDDCCBBAA998877665544332211")
HEX = b"102030405060708090A0B0C0D0E0F00000FFEEDDCCBBAA998877665544332211"


@pytest.fixture
def compat():
    previous = L.current_compat()
    yield L.use_compat
    L._compat = previous


def test_constants():
    assert (L.PRIO_SERVER_A, L.PRIO_SERVER_B) == (0, 1)
    assert (L.CURVE25519_KEY_LEN, L.CURVE25519_KEY_LEN_HEX, L.PRG_SEED_LENGTH) == (32, 64, 16)
    assert L.BBIT_PREC_MAX == 42
    assert L.PrioConfig_maxDataFields() == 262143
    assert L.PrioConfig_maxUIntEntries(32) == 8191 and L.PrioConfig_maxUIntEntries(43) == 0


def test_init_clear_and_context():
    assert L.Prio_init() is None and L.Prio_clear() is None

    @PrioContext()
    def decorated():
        return L.PrioPRGSeed_randomize()

    assert len(decorated()) == 16
    with PrioContext():
        assert L.PrioPRGSeed_randomize() != L.PrioPRGSeed_randomize()


def test_public_key_binary_and_hex():
    key = L.PublicKey_import(RAW)
    assert L.PublicKey_export(key) == RAW
    assert L.PublicKey_export_hex(key) == HEX + b"\0"  # libprio 1.6's C string, NUL included
    assert L.PublicKey_export(L.PublicKey_import_hex(HEX.lower())) == RAW
    assert L.PublicKey_export(L.PublicKey_import_hex(L.PublicKey_export_hex(key)[:-1])) == RAW


def test_hex_export_without_nul_under_libprio_2(compat):
    compat("libprio-2")
    private, public = L.Keypair_new()
    assert len(L.PublicKey_export_hex(public)) == len(L.PrivateKey_export_hex(private)) == 64


@pytest.mark.parametrize("bad", [HEX[:19], HEX + b"\0", HEX[:-1] + b"G", b""])
def test_bad_hex_key_raises_runtime_error(bad):
    with pytest.raises(RuntimeError, match="PublicKey_import_hex"):
        L.PublicKey_import_hex(bad)


def test_private_key_round_trips():
    private, public = L.Keypair_new()
    again = L.PrivateKey_import(L.PrivateKey_export(private), L.PublicKey_export(public))
    assert L.PrivateKey_export(again) == L.PrivateKey_export(private)
    again = L.PrivateKey_import_hex(L.PrivateKey_export_hex(private)[:-1], L.PublicKey_export_hex(public)[:-1])
    assert L.PrivateKey_export_hex(again) == L.PrivateKey_export_hex(private)
    with pytest.raises(RuntimeError):
        L.PrivateKey_import(b"short", L.PublicKey_export(public))
    with pytest.raises(RuntimeError):
        L.PrivateKey_export(public)


def test_configs():
    _, pk_a = L.Keypair_new()
    _, pk_b = L.Keypair_new()
    assert L.PrioConfig_numDataFields(L.PrioConfig_new(42, pk_a, pk_b, b"batch")) == 42
    assert L.PrioConfig_numDataFields(L.PrioConfig_newTest(0)) == 0
    assert L.PrioConfig_new(262143, pk_a, pk_b, b"?" * 10**6)
    cfg = L.PrioConfig_new_uint(5, 8, pk_a, pk_b, b"batch")
    assert L.PrioConfig_numDataFields(cfg) == 40 and L.PrioConfig_numUIntEntries(cfg, 8) == 5
    for call in (lambda: L.PrioConfig_newTest(262144), lambda: L.PrioConfig_new(262144, pk_a, pk_b, b"b"),
                 lambda: L.PrioConfig_new_uint(5, 43, pk_a, pk_b, b"b"),
                 lambda: L.PrioConfig_new_uint(5, 0, pk_a, pk_b, b"b"),
                 lambda: L.PrioConfig_newTest(-1)):  # libprio accepted negatives; we refuse them
        with pytest.raises(ValueError, match="null pointer"):
            call()
    with pytest.raises(ValueError, match="byte string"):
        L.PrioConfig_new(3, pk_a, pk_b, "text")


def test_server_new_checks_its_arguments():
    sk, _ = L.Keypair_new()
    cfg = L.PrioConfig_newTest(3)
    for idx, seed in ((2, bytes(16)), (0, bytes(15))):
        with pytest.raises(ValueError, match="PrioServer_new"):
            L.PrioServer_new(cfg, idx, sk, seed)


def test_encode_then_aggregate_both_config_kinds():
    seed = L.PrioPRGSeed_randomize()
    sk_a, pk_a = L.Keypair_new()
    sk_b, pk_b = L.Keypair_new()
    for cfg, data, final, expected in (
        (L.PrioConfig_new(7, pk_a, pk_b, b"kinds"), bytes([1, 0, 1, 1, 0, 0, 1]),
         L.PrioTotalShare_final, [2, 0, 2, 2, 0, 0, 2]),
        (L.PrioConfig_new_uint(3, 8, pk_a, pk_b, b"kinds"), bytes(array("l", [255, 0, 17])),
         lambda c, a, b: L.PrioTotalShare_final_uint(c, 8, a, b), [510, 0, 34]),
    ):
        servers = [L.PrioServer_new(cfg, i, sk, seed) for i, sk in enumerate((sk_a, sk_b))]
        verifiers = [L.PrioVerifier_new(s) for s in servers]
        for _ in range(2):
            encode = L.PrioClient_encode if final is L.PrioTotalShare_final else (
                lambda c, d: L.PrioClient_encode_uint(c, 8, d))
            for verifier, packet in zip(verifiers, encode(cfg, data)):
                L.PrioVerifier_set_data(verifier, packet)
            for server, verifier in zip(servers, verifiers):
                L.PrioServer_aggregate(server, verifier)
        shares = [L.PrioTotalShare_new(), L.PrioTotalShare_new()]
        for share, server in zip(shares, servers):
            if final is L.PrioTotalShare_final:
                L.PrioTotalShare_set_data(share, server)
            else:
                L.PrioTotalShare_set_data_uint(share, server, 8)
        assert list(array("L", final(cfg, *shares))) == expected


def test_encode_refuses_what_libprio_cannot_encode():
    cfg = L.PrioConfig_newTest(3)  # no public keys: nothing to encrypt to
    with pytest.raises(RuntimeError, match="PrioClient_encode"):
        L.PrioClient_encode(cfg, bytes([1, 0, 1]))
    _, pk = L.Keypair_new()
    cfg = L.PrioConfig_new(3, pk, pk, b"b")
    for data in (bytes([1, 0]), bytes([1, 0, 2])):
        with pytest.raises(RuntimeError):
            L.PrioClient_encode(cfg, data)


def test_clear_functions_are_accepted():
    private, public = L.Keypair_new()
    for clear, handle in ((L.PublicKey_clear, public), (L.PrivateKey_clear, private),
                          (L.PrioConfig_clear, L.PrioConfig_newTest(1)),
                          (L.PrioTotalShare_clear, L.PrioTotalShare_new())):
        assert clear(handle) is None
