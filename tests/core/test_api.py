"""Keys, configs, client input validation and secret hygiene of the Python API."""

import pytest

from libprio_ctypes import (
    BBIT_PREC_MAX,
    Client,
    Config,
    PrgMode,
    PrioError,
    PrivateKey,
    PublicKey,
    Reason,
    Server,
    generate_shared_secret,
    max_uint_entries,
)
from tests.core.model import VECTORS

FIXTURE_A = ("BD6BB9BEB089DBA6B6A75B4455A615D577699F973FAD9E327A33D9528B5C7F64",
             "E74E9CDD78258D9EEFAFA0CA2C08733F95AB7C4297DEEA3C3A63AC2053C45127")


def reason_of(fn, *args, **kw):
    with pytest.raises(PrioError) as e:
        fn(*args, **kw)
    return e.value.reason


def test_fixture_public_key_is_x25519_of_private():
    key = PrivateKey.from_hex(FIXTURE_A[0].lower())
    assert key.public_key.to_hex() == FIXTURE_A[1]
    assert key.to_hex() == FIXTURE_A[0]
    assert PublicKey.from_hex(FIXTURE_A[1].encode()).to_bytes() == bytes.fromhex(FIXTURE_A[1])


@pytest.mark.parametrize("bad", ["", "00" * 31, "00" * 33, "g" + "0" * 63, " " + "0" * 63, "0x" + "0" * 62,
                                 "٠" * 64])
def test_hex_import_rejects(bad):
    assert reason_of(PublicKey.from_hex, bad) is Reason.INVALID_ARGUMENT
    assert reason_of(PrivateKey.from_hex, bad) is Reason.INVALID_ARGUMENT


def test_private_key_keeps_the_given_public_key_unchecked():
    other = PrivateKey.generate()
    key = PrivateKey.from_bytes(bytes(range(32)), other.public_key.to_bytes())
    assert key.public_key == other.public_key
    assert reason_of(PrivateKey.from_bytes, bytes(31)) is Reason.INVALID_ARGUMENT


def test_secrets_never_appear_in_reprs_or_errors():
    key = PrivateKey.from_hex(FIXTURE_A[0])
    secret = bytes(range(100, 116))
    server = Server(Config(3, "b", PrgMode.HASH), "A", key, secret)
    texts = [repr(key), str(key), repr(server), repr(server.verifier())]
    with pytest.raises(PrioError) as e:
        server.verifier().set_data(b"x" * 100)
    texts.append(str(e.value))
    for text in texts:
        assert FIXTURE_A[0] not in text.upper() and secret.hex() not in text and repr(secret) not in text


def test_config():
    cfg = Config(5, "test", PrgMode.RAW)
    assert (cfg.n_data, cfg.h_points, cfg.batch_id, cfg.prg_mode) == (5, 8, b"test", PrgMode.RAW)
    assert [Config(n, b"x", PrgMode.HASH).h_points for n in (0, 1, 7, 8, 2046, 262143)] == [1, 2, 8, 16, 2048, 2**18]
    for bad in (-1, 262144, 1.5):
        assert reason_of(Config, bad, "x", PrgMode.RAW) is Reason.INVALID_ARGUMENT
    assert reason_of(Config, 1, "x", "raw") is Reason.INVALID_ARGUMENT
    assert reason_of(Config, 1, b"ab\0cd", PrgMode.RAW) is Reason.INVALID_ARGUMENT
    assert Config(1, b"ab\0cd", PrgMode.RAW, nul_batch_id_compat=True).batch_id == b"ab\0\0\0"
    assert Config.for_uint(2, 4, "u", PrgMode.HASH).n_data == 8
    assert reason_of(Config.for_uint, 2, 0, "u", PrgMode.HASH) is Reason.VALUE_OUT_OF_RANGE
    assert reason_of(Config.for_uint, 2, BBIT_PREC_MAX + 1, "u", PrgMode.HASH) is Reason.VALUE_OUT_OF_RANGE
    assert (max_uint_entries(32), max_uint_entries(0), max_uint_entries(43)) == (8191, 0, 0)


def test_client_input_validation():
    a, b = PrivateKey.generate(), PrivateKey.generate()
    client = Client(Config(3, "x", PrgMode.HASH, a.public_key, b.public_key))
    pa, pb = client.encode([1, 0, True])
    assert len(pb) <= 60 + 2 + 6 * 12 + 1 + 17 and len(pa) <= 60 + 2 + 6 * 12 + 1 + 1 + 3 * 12 + 1 + 4 * 12
    assert client.encode(b"\x01\x00\x01")[1] != pb  # fresh randomness every time
    assert reason_of(client.encode, [1, 0, 2]) is Reason.VALUE_OUT_OF_RANGE
    assert reason_of(client.encode, [1, 0, -1]) is Reason.VALUE_OUT_OF_RANGE
    assert reason_of(client.encode, [1, 0]) is Reason.WRONG_LENGTH
    assert reason_of(client.encode, "abc") is Reason.VALUE_OUT_OF_RANGE
    assert client.encode([1, 0, 2], allow_non_binary=True)
    assert reason_of(Client, Config(3, "x", PrgMode.HASH)) is Reason.INVALID_ARGUMENT
    uint = Client(Config.for_uint(2, 4, "u", PrgMode.HASH, a.public_key, b.public_key))
    assert reason_of(uint.encode_uint, [16, 0], 4) is Reason.VALUE_OUT_OF_RANGE
    assert reason_of(uint.encode_uint, [-1, 0], 4) is Reason.VALUE_OUT_OF_RANGE
    assert reason_of(uint.encode_uint, [1], 4) is Reason.WRONG_LENGTH
    assert uint.encode_uint([15, 0], 4)


def test_server_ids_and_secret_length():
    key, cfg = PrivateKey.generate(), Config(1, "x", PrgMode.RAW)
    assert [Server(cfg, s, key, bytes(16)).server_idx for s in (0, 1, "A", "b")] == [0, 1, 0, 1]
    for bad in (2, -1, "C", True, None):
        assert reason_of(Server, cfg, bad, key, bytes(16)) is Reason.INVALID_ARGUMENT
    assert reason_of(Server, cfg, 0, key, bytes(15)) is Reason.INVALID_ARGUMENT
    assert len(generate_shared_secret()) == 16 and generate_shared_secret() != generate_shared_secret()


def test_merge_checks_the_configuration():
    key = PrivateKey.generate()
    base = Server(Config(2, "x", PrgMode.RAW), "A", key, bytes(16))
    for other in (Server(Config(2, "y", PrgMode.RAW), "A", key, bytes(16)),
                  Server(Config(3, "x", PrgMode.RAW), "A", key, bytes(16)),
                  Server(Config(2, "x", PrgMode.RAW, key.public_key), "A", key, bytes(16)),
                  Server(Config(2, "x", PrgMode.RAW), "B", key, bytes(16))):
        assert reason_of(base.merge, other) is Reason.CONFIG_MISMATCH


def test_failed_set_data_draws_no_evaluation_point():
    """Spec §4.6: only successful loads advance the server's PRG stream."""
    import json
    run = json.loads((VECTORS / "libprio-head-hashmode.jsonl").read_text().splitlines()[0])
    key = PrivateKey.from_hex(run["server_a_private_hex"])
    cfg = Config(run["n_data"], run["batch_id"], PrgMode.HASH)
    verifier = Server(cfg, "A", key, bytes.fromhex(run["shared_seed_hex"])).verifier()
    for junk in (b"", b"x" * 70, bytes.fromhex(run["clients"][0]["packet_b"])):
        assert reason_of(verifier.set_data, junk) is Reason.DECRYPT_FAILED
        assert reason_of(verifier.verify1) is Reason.INVALID_ARGUMENT
    for client in run["clients"][:3]:
        verifier.set_data(bytes.fromhex(client["packet_a"]))
        assert verifier.verify1().hex() == client["verify1_a"]
