"""Every run of libprio's .jsonl vectors (mode H: master, mode R: 1.6) through the object model."""

import pytest

from libprio_ctypes import (
    Config,
    PrgMode,
    PrioError,
    PrivateKey,
    Reason,
    Server,
    _native,
    decrypt,
    final,
    final_uint,
    is_valid,
)
from libprio_ctypes._native import c_uint64, lib
from tests.core.model import jsonl_runs

FILES = {"libprio-head-hashmode.jsonl": PrgMode.HASH, "libprio-1.6-rawmode.jsonl": PrgMode.RAW}
RUNS = [(name, mode, run) for name, mode in FILES.items() for run in jsonl_runs(name)]
IDS = [f"{mode.value}-{run['label']}" for _, mode, run in RUNS]


def setup(run, mode):
    ka = PrivateKey.from_hex(run["server_a_private_hex"], run["server_a_public_hex"])
    kb = PrivateKey.from_hex(run["server_b_private_hex"], run["server_b_public_hex"])
    cfg = Config(run["n_data"], run["batch_id"], mode, ka.public_key, kb.public_key)
    secret = bytes.fromhex(run["shared_seed_hex"])
    return cfg, ka, kb, Server(cfg, "A", ka, secret), Server(cfg, "B", kb, secret)


def canonical(cfg, idx, plaintext):
    out, n = _native.buffer(len(plaintext) + 64), c_uint64()
    status = lib.prio_client_packet_canonical(cfg.n_data, cfg.batch_id, len(cfg.batch_id), idx,
                                              plaintext, len(plaintext), out, n)
    assert status == 0
    return out.raw[: n.value]


def test_both_files_are_covered():
    assert len(RUNS) == 8
    assert sum(1 for *_, r in RUNS for c in r["clients"] if not c["valid"]) == 2


@pytest.mark.parametrize("name,mode,run", RUNS, ids=IDS)
def test_plaintexts_reserialize_byte_identically(name, mode, run):
    cfg, ka, kb, *_ = setup(run, mode)
    for client in run["clients"]:
        for idx, key, blob in ((0, ka, client["packet_a"]), (1, kb, client["packet_b"])):
            plaintext = decrypt(key, bytes.fromhex(blob))
            assert canonical(cfg, idx, plaintext) == plaintext


@pytest.mark.parametrize("name,mode,run", RUNS, ids=IDS)
def test_run_reproduces_every_byte(name, mode, run):
    cfg, _, _, server_a, server_b = setup(run, mode)
    va, vb = server_a.verifier(), server_b.verifier()
    for client in run["clients"]:
        assert client["set_data_ok"] == [1, 1]
        va.set_data(bytes.fromhex(client["packet_a"]))
        vb.set_data(bytes.fromhex(client["packet_b"]))
        v1a, v1b = va.verify1(), vb.verify1()
        assert (v1a.hex(), v1b.hex()) == (client["verify1_a"], client["verify1_b"])
        v2a, v2b = va.verify2(v1a, v1b), vb.verify2(v1b, v1a)  # argument order does not matter
        assert (v2a.hex(), v2b.hex()) == (client["verify2_a"], client["verify2_b"])
        assert va.is_valid(v2a, v2b) is client["valid"]
        assert is_valid(v2b, v2a) is client["valid"]
        if client["valid"]:
            server_a.aggregate(va)
            server_b.aggregate(vb)
    if "server_state_a" in run:
        assert server_a.write_state().hex() == run["server_state_a"]
        assert server_b.write_state().hex() == run["server_state_b"]
    prec = run["prec"]
    if prec:
        ta, tb = server_a.total_share_uint(prec), server_b.total_share_uint(prec)
        assert final_uint(cfg, prec, ta, tb) == run["final"]
        with pytest.raises(PrioError) as e:  # uint total shares read back only with n_data = n_uints
            final(cfg, ta, tb)
        assert e.value.reason is Reason.WRONG_LENGTH
    else:
        ta, tb = server_a.total_share(), server_b.total_share()
        assert final(cfg, ta, tb) == run["final"]
    assert (ta.hex(), tb.hex()) == (run["total_share_a"], run["total_share_b"])
    assert run["final_ok"] == 1


WITH_STATE = [(n, m, r) for n, m, r in RUNS if "server_state_a" in r]


@pytest.mark.parametrize("name,mode,run", WITH_STATE, ids=[r["label"] for *_, r in WITH_STATE])
def test_state_round_trip_and_merge(name, mode, run):
    cfg, _, _, server_a, _ = setup(run, mode)
    state = bytes.fromhex(run["server_state_a"])
    server_a.read_state(state)
    server_a.read_state(state)  # replaces, does not add
    assert server_a.write_state() == state
    _, _, _, other, _ = setup(run, mode)
    other.read_state(state)
    server_a.merge(other)
    doubled = Server(cfg, "A", PrivateKey.generate(), bytes(16))
    doubled.merge(other)
    doubled.merge(other)
    assert server_a.write_state() == doubled.write_state()


@pytest.mark.parametrize("name,mode,run", RUNS[:1] + RUNS[4:5], ids=["hash", "raw"])
def test_wrong_prg_mode_verifies_nothing(name, mode, run):
    other = PrgMode.RAW if mode is PrgMode.HASH else PrgMode.HASH
    _, _, _, server_a, server_b = setup(run, other)
    va, vb = server_a.verifier(), server_b.verifier()
    for client in run["clients"]:
        va.set_data(bytes.fromhex(client["packet_a"]))
        vb.set_data(bytes.fromhex(client["packet_b"]))
        v1a, v1b = va.verify1(), vb.verify1()
        assert not is_valid(va.verify2(v1a, v1b), vb.verify2(v1a, v1b))
