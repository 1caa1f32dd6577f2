"""Every server-side function of `prio.libprio` on real libprio's v1 vectors, both PRG modes:
the bytes each call writes are libprio's."""

from array import array

import pytest

from prio import libprio as L
from tests.core.model import jsonl_runs

FILES = {"libprio-1.6-rawmode.jsonl": "raw", "libprio-head-hashmode.jsonl": "hash"}
RUNS = [(mode, run) for name, mode in FILES.items() for run in jsonl_runs(name)]
IDS = [f"{mode}-{run['label']}" for mode, run in RUNS]


@pytest.fixture
def compat_of_mode(request):
    """Run under the compatibility whose default PRG mode is the vector's (the switch)."""
    previous = L.current_compat()
    yield lambda mode: L.use_compat("libprio-1.6" if mode == "raw" else "libprio-2")
    L._compat = previous


def setup(run, prg_mode=None):
    key_a = L.PrivateKey_import_hex(run["server_a_private_hex"].encode(), run["server_a_public_hex"].encode())
    key_b = L.PrivateKey_import_hex(run["server_b_private_hex"].encode(), run["server_b_public_hex"].encode())
    pk_a, pk_b = (L.PublicKey_import_hex(run[f"server_{x}_public_hex"].encode()) for x in "ab")
    batch, prec = run["batch_id"].encode(), run["prec"]
    if prec:
        cfg = L.PrioConfig_new_uint(run["n_data"] // prec, prec, pk_a, pk_b, batch, prg_mode=prg_mode)
    else:
        cfg = L.PrioConfig_new(run["n_data"], pk_a, pk_b, batch, prg_mode=prg_mode)
    seed = bytes.fromhex(run["shared_seed_hex"])
    return cfg, L.PrioServer_new(cfg, L.PRIO_SERVER_A, key_a, seed), L.PrioServer_new(cfg, L.PRIO_SERVER_B, key_b, seed)


def exchange(cfg, verifiers, client):
    """verify1 and verify2 of one client through written and read-back packets."""
    p1 = []
    for side, verifier in zip("ab", verifiers):
        packet = L.PrioPacketVerify1_new()
        L.PrioPacketVerify1_set_data(packet, verifier)
        assert L.PrioPacketVerify1_write(packet).hex() == client[f"verify1_{side}"]
        received = L.PrioPacketVerify1_new()
        L.PrioPacketVerify1_read(received, L.PrioPacketVerify1_write(packet), cfg)
        p1.append(received)
    p2 = []
    for side, verifier in zip("ab", verifiers):
        packet = L.PrioPacketVerify2_new()
        L.PrioPacketVerify2_set_data(packet, verifier, *p1)
        assert L.PrioPacketVerify2_write(packet).hex() == client[f"verify2_{side}"]
        received = L.PrioPacketVerify2_new()
        L.PrioPacketVerify2_read(received, bytes.fromhex(client[f"verify2_{side}"]), cfg)
        p2.append(received)
    return p2


def totals(cfg, servers, run):
    prec, shares = run["prec"], []
    for side, server in zip("ab", servers):
        share = L.PrioTotalShare_new()
        if prec:
            L.PrioTotalShare_set_data_uint(share, server, prec)
        else:
            L.PrioTotalShare_set_data(share, server)
        assert L.PrioTotalShare_write(share).hex() == run[f"total_share_{side}"]
        shares.append(share)
    if prec:
        return list(array("Q", L.PrioTotalShare_final_uint(cfg, prec, *shares)))
    read_back = []
    for share in shares:
        again = L.PrioTotalShare_new()
        L.PrioTotalShare_read(again, L.PrioTotalShare_write(share), cfg)
        read_back.append(again)
    return list(array("Q", L.PrioTotalShare_final(cfg, *read_back)))


def process(run, cfg, server_a, server_b):
    verifiers = (L.PrioVerifier_new(server_a), L.PrioVerifier_new(server_b))
    for client in run["clients"]:
        L.PrioVerifier_set_data(verifiers[0], bytes.fromhex(client["packet_a"]))
        L.PrioVerifier_set_data(verifiers[1], bytes.fromhex(client["packet_b"]))
        p2 = exchange(cfg, verifiers, client)
        for verifier in verifiers:
            if client["valid"]:
                assert L.PrioVerifier_isValid(verifier, *p2) is None
            else:
                with pytest.raises(RuntimeError, match="PrioVerifier_isValid was not successful"):
                    L.PrioVerifier_isValid(verifier, *p2)
        if client["valid"]:
            L.PrioServer_aggregate(server_a, verifiers[0])
            L.PrioServer_aggregate(server_b, verifiers[1])


@pytest.mark.parametrize("mode,run", RUNS, ids=IDS)
def test_run_through_the_function_api_gives_libprio_bytes(mode, run):
    cfg, server_a, server_b = setup(run, prg_mode=mode)
    assert L.PrioConfig_numDataFields(cfg) == run["n_data"]
    process(run, cfg, server_a, server_b)
    if "server_state_a" in run:
        assert L.PrioServer_write(server_a).hex() == run["server_state_a"]
        assert L.PrioServer_write(server_b).hex() == run["server_state_b"]
    assert totals(cfg, (server_a, server_b), run) == run["final"]


@pytest.mark.parametrize("mode,run", RUNS, ids=IDS)
def test_compat_switch_picks_the_prg_mode(mode, run, compat_of_mode):
    compat_of_mode(mode)
    cfg, server_a, server_b = setup(run)
    process(run, cfg, server_a, server_b)
    assert totals(cfg, (server_a, server_b), run) == run["final"]


def test_default_prg_mode_is_libprio_1_6s_raw():
    mode, run = RUNS[0]
    assert mode == "raw" and L.current_compat() == L.COMPATS["libprio-1.6"]
    cfg, server_a, server_b = setup(run)
    process(run, cfg, server_a, server_b)


@pytest.mark.parametrize("mode,run", [r for r in RUNS if "server_state_a" in r[1]],
                         ids=[i for i, r in zip(IDS, RUNS) if "server_state_a" in r[1]])
def test_server_state_read_and_merge(mode, run):
    cfg, server_a, _ = setup(run, prg_mode=mode)
    state = bytes.fromhex(run["server_state_a"])
    L.PrioServer_read(server_a, state, cfg)
    L.PrioServer_read(server_a, state, cfg)  # replaces, does not add
    assert L.PrioServer_write(server_a) == state
    _, other, _ = setup(run, prg_mode=mode)
    L.PrioServer_read(other, state, cfg)
    L.PrioServer_merge(server_a, other)
    doubled = L.PrioServer_write(server_a)
    _, twice, _ = setup(run, prg_mode=mode)
    L.PrioServer_merge(twice, other)
    L.PrioServer_merge(twice, other)
    assert L.PrioServer_write(twice) == doubled != state
    _, server_b_of_run, = setup(run, prg_mode=mode)[1:]
    with pytest.raises(RuntimeError, match="PrioServer_merge"):
        L.PrioServer_merge(server_a, server_b_of_run)  # another server index


def test_wrong_prg_mode_verifies_nothing():
    _, run = RUNS[0]
    _, server_a, server_b = setup(run, prg_mode="hash")
    va, vb = L.PrioVerifier_new(server_a), L.PrioVerifier_new(server_b)
    client = run["clients"][0]
    L.PrioVerifier_set_data(va, bytes.fromhex(client["packet_a"]))
    L.PrioVerifier_set_data(vb, bytes.fromhex(client["packet_b"]))
    packets = []
    for verifier in (va, vb):
        packets.append(L.PrioPacketVerify1_new())
        L.PrioPacketVerify1_set_data(packets[-1], verifier)
    p2 = [L.PrioPacketVerify2_new(), L.PrioPacketVerify2_new()]
    L.PrioPacketVerify2_set_data(p2[0], va, *packets)
    L.PrioPacketVerify2_set_data(p2[1], vb, *packets)
    with pytest.raises(RuntimeError):
        L.PrioVerifier_isValid(va, *p2)
