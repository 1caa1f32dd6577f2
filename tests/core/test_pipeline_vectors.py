"""prio-processor style runs (fresh Server per stage, records in file order, spec §11.2):
every verify1 / verify2 / aggregate payload and the published counts, byte-exact."""

import base64
import json

import pytest

from libprio_ctypes import Config, PrgMode, PrivateKey, Server, decrypt, final
from tests.core.model import VECTORS, ndjson

SETS = [("prio-processor-cli", PrgMode.RAW), ("libprio-head-small", PrgMode.HASH)]


def load(name, mode):
    root = VECTORS / name
    cfg_json = json.loads((root / "config.json").read_text())
    keys = {x: json.loads((root / f"server_{x}_keys.json").read_text()) for x in "ab"}
    priv = {x: PrivateKey.from_hex(k["private_key"], k["public_key"]) for x, k in keys.items()}
    cfg = Config(cfg_json["n_data"], cfg_json["batch_id"], mode, priv["a"].public_key, priv["b"].public_key)
    secret = base64.b64decode(json.loads((root / "shared_seed.json").read_text())["shared_seed"])
    return root, cfg, priv, secret


def by_id(path):
    return {rec["id"]: base64.b64decode(rec["payload"]) for rec in ndjson(path)}


def stage(root, x, kind, which="internal"):
    return root / f"server_{x}" / "intermediate" / which / kind / "data.ndjson"


@pytest.mark.parametrize("name,mode", SETS, ids=[s[0] for s in SETS])
@pytest.mark.parametrize("x", ["a", "b"])
def test_stages_byte_exact(name, mode, x):
    root, cfg, priv, secret = load(name, mode)
    raw = ndjson(root / f"server_{x}" / "raw" / "data.ndjson")

    def run(step):
        server = Server(cfg, x.upper(), priv[x], secret)
        verifier = server.verifier()
        out = {}
        for rec in raw:
            verifier.set_data(base64.b64decode(rec["payload"]))
            out[rec["id"]] = step(server, verifier, rec["id"])
        return server, out

    _, v1 = run(lambda s, v, i: v.verify1())
    assert v1 == by_id(stage(root, x, "verify1"))
    own1, peer1 = by_id(stage(root, x, "verify1")), by_id(stage(root, x, "verify1", "external"))
    _, v2 = run(lambda s, v, i: v.verify2(own1[i], peer1[i]))
    assert v2 == by_id(stage(root, x, "verify2"))
    own2, peer2 = by_id(stage(root, x, "verify2")), by_id(stage(root, x, "verify2", "external"))

    def aggregate(s, v, i):
        valid = v.is_valid(own2[i], peer2[i])
        if valid:
            s.aggregate(v)
        return valid

    server, valid = run(aggregate)
    assert all(valid.values()) and len(valid) == len(raw)
    (expected,) = ndjson(stage(root, x, "aggregate"))
    assert base64.b64decode(expected["payload"]) == server.total_share()
    assert (expected["error"], expected["total"]) == (0, len(raw))


@pytest.mark.parametrize("name,mode", SETS, ids=[s[0] for s in SETS])
def test_published_counts(name, mode):
    root, cfg, _, _ = load(name, mode)
    (ta,) = ndjson(stage(root, "a", "aggregate"))
    (tb,) = ndjson(stage(root, "b", "aggregate"))
    counts = final(cfg, base64.b64decode(ta["payload"]), base64.b64decode(tb["payload"]))
    (published,) = ndjson(root / "server_a" / "processed" / "data.ndjson")
    assert counts == published["payload"]
    inputs = [rec["payload"] for rec in ndjson(root / "client" / "data.ndjson")]
    assert counts == [sum(col) for col in zip(*inputs)]


def test_decoded_fixture_client_0():
    """Spec §7.2: the plaintexts of the first prio-processor client."""
    root, _cfg, priv, _ = load("prio-processor-cli", PrgMode.RAW)
    blob_a = base64.b64decode(ndjson(root / "server_a" / "raw" / "data.ndjson")[0]["payload"])
    blob_b = base64.b64decode(ndjson(root / "server_b" / "raw" / "data.ndjson")[0]["payload"])
    assert (len(blob_a), len(blob_b)) == (296, 155)
    pa, pb = decrypt(priv["a"], blob_a), decrypt(priv["b"], blob_b)
    assert pa[:13].hex() == "a474657374ab1b5fa99da61a34"
    assert pa[:5 + 6 * 12 + 1][-1] == 0 and pa[5 + 6 * 12 + 1] == 0x95
    assert pb.hex() == (
        "a474657374ab28f72b06ff830140ae460cab1a4151654050f3c9d21ddcab564bece5dc2abe2749bb45"
        "ab6ec972a22ab5a3c1ebd521ab1e19659653915097219820ab6c03b9944d1410cbc22a1101"
        "b08ca6431e593759e5c5105f5bc0a2bd8e"
    )
