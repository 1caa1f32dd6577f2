"""A program written for python-libprio (encode, verify1, verify2, isValid, aggregate, final)
runs unchanged on the package, as a separate process; the object API's packets pickle."""

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from prio import prio

ROOT = Path(__file__).resolve().parents[2]

FUNCTION_API_PROGRAM = textwrap.dedent('''
    import array
    from prio import PrioContext
    from prio.libprio import *

    @PrioContext()
    def main():
        secret = PrioPRGSeed_randomize()
        sk_a, pk_a = Keypair_new()
        sk_b, pk_b = Keypair_new()
        cfg = PrioConfig_new(41, pk_a, pk_b, b"histogram")
        servers = [PrioServer_new(cfg, PRIO_SERVER_A, sk_a, secret),
                   PrioServer_new(cfg, PRIO_SERVER_B, sk_b, secret)]
        verifiers = [PrioVerifier_new(s) for s in servers]
        rows = [bytes((i * k) % 3 == 1 for i in range(41)) for k in range(1, 8)]
        for row in rows:
            packets = PrioClient_encode(cfg, row)
            for v, packet in zip(verifiers, packets):
                PrioVerifier_set_data(v, packet)
            p1 = [PrioPacketVerify1_new(), PrioPacketVerify1_new()]
            for p, v in zip(p1, verifiers):
                PrioPacketVerify1_set_data(p, v)
            wire1 = [PrioPacketVerify1_write(p) for p in p1]
            p1 = [PrioPacketVerify1_new(), PrioPacketVerify1_new()]
            for p, data in zip(p1, wire1):
                PrioPacketVerify1_read(p, data, cfg)
            p2 = [PrioPacketVerify2_new(), PrioPacketVerify2_new()]
            for p, v in zip(p2, verifiers):
                PrioPacketVerify2_set_data(p, v, p1[0], p1[1])
            for v in verifiers:
                PrioVerifier_isValid(v, p2[0], p2[1])
            for s, v in zip(servers, verifiers):
                PrioServer_aggregate(s, v)
        t = [PrioTotalShare_new(), PrioTotalShare_new()]
        for share, s in zip(t, servers):
            PrioTotalShare_set_data(share, s)
        counts = list(array.array("L", PrioTotalShare_final(cfg, t[0], t[1])))
        assert counts == [sum(r[i] for r in rows) for i in range(41)], counts
        print("ok", sum(counts))

    main()
''')

OBJECT_API_PROGRAM = textwrap.dedent('''
    from prio import prio

    seed = prio.PRGSeed()
    sk_a, pk_a = prio.create_keypair()
    sk_b, pk_b = prio.create_keypair()
    config = prio.Config(133, pk_a, pk_b, b"test_batch")
    server_a = prio.Server(config, prio.PRIO_SERVER_A, sk_a, seed)
    server_b = prio.Server(config, prio.PRIO_SERVER_B, sk_b, seed)
    client = prio.Client(config)
    data = bytes([(i % 3 == 1) or (i % 5 == 1) for i in range(config.num_data_fields())])
    for _ in range(3):
        a, b = client.encode(data)
        v_a, v_b = server_a.create_verifier(a), server_b.create_verifier(b)
        p1_a, p1_b = v_a.create_verify1(), v_b.create_verify1()
        p2_a, p2_b = v_a.create_verify2(p1_a, p1_b), v_b.create_verify2(p1_a, p1_b)
        assert v_a.is_valid(p2_a, p2_b) and v_b.is_valid(p2_a, p2_b)
        server_a.aggregate(v_a)
        server_b.aggregate(v_b)
    output = prio.total_share_final(config, server_a.total_shares(), server_b.total_shares())
    assert list(output) == [3 * x for x in data]
    print("ok", sum(output))
''')


@pytest.mark.parametrize("program,expected", [(FUNCTION_API_PROGRAM, "ok 68\n"),
                                              (OBJECT_API_PROGRAM, "ok 186\n")],
                         ids=["function-api", "object-api"])
@pytest.mark.parametrize("compat", ["", "libprio-2"])
def test_python_libprio_program_runs_unchanged(program, expected, compat, tmp_path):
    path = tmp_path / "program.py"
    path.write_text(program)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PRIO_COMPAT=compat)
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, expected, "")


def test_unknown_compat_is_one_clear_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PRIO_COMPAT="libprio-9")
    proc = subprocess.run([sys.executable, "-c", "import prio"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60, check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        "ImportError: PRIO_COMPAT: unknown libprio compatibility 'libprio-9': use one of "
        "libprio-1.6, libprio-2")


@pytest.fixture
def two_servers():
    seed = prio.PRGSeed()
    sk_a, pk_a = prio.create_keypair()
    sk_b, pk_b = prio.create_keypair()
    config = prio.Config(11, pk_a, pk_b, b"pickles")
    servers = prio.Server(config, prio.PRIO_SERVER_A, sk_a, seed), prio.Server(config, prio.PRIO_SERVER_B, sk_b, seed)
    return config, prio.Client(config), servers


def roundtrip(obj):
    return pickle.loads(pickle.dumps(obj))


def test_packets_and_total_shares_pickle_as_their_wire_bytes(two_servers):
    config, client, (server_a, server_b) = two_servers
    data = bytes([1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0])
    a, b = client.encode(data)
    v_a, v_b = server_a.create_verifier(a), server_b.create_verifier(b)
    p1_a, p1_b = roundtrip(v_a.create_verify1()), v_b.create_verify1()
    assert pickle.loads(pickle.dumps(p1_a)).__getstate__() == p1_a.__getstate__()
    p2_a, p2_b = roundtrip(v_a.create_verify2(p1_a, p1_b)), v_b.create_verify2(p1_a, p1_b)
    assert v_a.is_valid(p2_a, p2_b) and v_b.is_valid(p2_a, p2_b)
    server_a.aggregate(v_a)
    server_b.aggregate(v_b)
    total_a = roundtrip(server_a.total_shares())
    assert list(prio.total_share_final(config, total_a, server_b.total_shares())) == list(data)


def test_garbage_unpickled_packet_fails_at_use_with_runtime_error(two_servers):
    _, client, (server_a, server_b) = two_servers
    a, b = client.encode(bytes(11))
    v_a, v_b = server_a.create_verifier(a), server_b.create_verifier(b)
    forged = prio.PacketVerify1.__new__(prio.PacketVerify1)
    forged.__setstate__(b"\xc4\x01garbage")
    with pytest.raises(RuntimeError, match="PrioPacketVerify1_read"):
        v_a.create_verify2(forged, v_b.create_verify1())


def test_keys_of_the_object_api():
    key = prio.PublicKey().import_hex(b"102030405060708090A0B0C0D0E0F00000FFEEDDCCBBAA998877665544332211")
    assert key.export_hex()[-1:] == b"\0" and len(key.export_bin()) == 32
    assert prio.PublicKey().export_bin() is None and prio.PublicKey().export_hex() is None
    private, public = prio.create_keypair()
    again = prio.PrivateKey().import_bin(private.export_bin(), public.export_bin())
    assert again.export_hex() == private.export_hex()
    with pytest.raises(RuntimeError):
        prio.PublicKey().import_hex(b"102030405060708090A")
    assert prio.TestConfig(5).num_data_fields() == 5
