"""keygen, shared-seed, encode-shares -> verify1 -> verify2 -> aggregate -> publish with our own
keys, in both PRG modes and both evaluation-point conventions."""

from __future__ import annotations

import base64
import dataclasses
import json
import random
import re

import pytest

from libprio_ctypes import Client, Config, PrgMode, PrivateKey, PublicKey
from tests.cli.servers import Servers, run_pipeline

CONVENTIONS = {
    "per-record": (),
    "fixed": ("--evaluation-point", "fixed", "--submission-date", "2024-05-01",
              "--partition-id", "part-7"),
}  # fmt: skip


def new_servers(invoke, prg_mode, convention, n_data=7, batch_id="round-trip") -> Servers:
    keys = {server: json.loads(invoke(["keygen"]).stdout) for server in "AB"}
    shared_seed = json.loads(invoke(["shared-seed"]).stdout)["shared_seed"]
    return Servers(prg_mode, n_data, batch_id, shared_seed, keys, CONVENTIONS[convention])


def write_client_file(path, vectors):
    path.write_text("".join(json.dumps({"payload": vector}) + "\n" for vector in vectors))


def encode(invoke, servers, tmp_path, vectors):
    client = tmp_path / "client" / "data.ndjson"
    client.parent.mkdir()
    write_client_file(client, vectors)
    result = invoke(
        ["encode-shares", *servers.client_args(), "--input", client,
         "--output-A", tmp_path / "A" / "raw", "--output-B", tmp_path / "B" / "raw"]
    )  # fmt: skip
    assert result.stdout == ""
    assert result.stderr == f"encode-shares: {len(vectors)} reports encoded\n"
    return {server: tmp_path / server / "raw" / "data.ndjson" for server in "AB"}


def column_sums(vectors):
    return [sum(column) for column in zip(*vectors)]


def test_keygen_prints_one_json_line_with_a_matching_pair(invoke):
    first, second = invoke(["keygen"]).stdout, invoke(["keygen"]).stdout
    assert re.fullmatch(r'\{"private_key": "[0-9A-F]{64}", "public_key": "[0-9A-F]{64}"\}\n', first)
    pair = json.loads(first)
    derived = PrivateKey.from_hex(pair["private_key"]).public_key.to_hex()
    assert derived == pair["public_key"]
    assert json.loads(second) != pair


def test_shared_seed_prints_base64_of_16_bytes(invoke):
    output = invoke(["shared-seed"]).stdout
    assert re.fullmatch(r'\{"shared_seed": "[A-Za-z0-9+/]{22}=="\}\n', output)
    assert len(base64.b64decode(json.loads(output)["shared_seed"])) == 16
    assert invoke(["shared-seed"]).stdout != output


def test_encode_shares_writes_one_line_per_input_with_the_same_ids(invoke, tmp_path):
    servers = new_servers(invoke, "hash", "per-record", n_data=5)
    raw = encode(invoke, servers, tmp_path, [[1, 0, 1, 0, 1], [0, 0, 0, 0, 0]])
    lines = {server: raw[server].read_text().splitlines(keepends=True) for server in "AB"}
    ids = [[json.loads(line)["id"] for line in lines[server]] for server in "AB"]
    assert ids[0] == ids[1] and len(set(ids[0])) == 2
    for server in "AB":
        for line in lines[server]:
            assert line == json.dumps(json.loads(line)) + "\n"
            assert list(json.loads(line)) == ["id", "payload"]


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
@pytest.mark.parametrize("prg_mode", ["raw", "hash"])
def test_round_trip_gives_the_exact_counts(prg_mode, convention, invoke, tmp_path):
    servers = new_servers(invoke, prg_mode, convention)
    rng = random.Random(f"{prg_mode}-{convention}")
    vectors = [[rng.randrange(2) for _ in range(servers.n_data)] for _ in range(25)]
    raw = encode(invoke, servers, tmp_path, vectors)
    outputs = run_pipeline(invoke, servers, raw, tmp_path / "out")
    for server in "AB":
        aggregate = json.loads(outputs[server, "aggregate"][0].read_text())
        assert (aggregate["error"], aggregate["total"]) == (0, 25)
        published = json.loads(outputs[server, "publish"][0].read_text())
        assert published["payload"] == column_sums(vectors)


def _invalid_report(servers, values):
    """A report with a 2 in it: encodes fine, must fail the proof."""
    config = Config(
        servers.n_data,
        servers.batch_id.encode(),
        PrgMode(servers.prg_mode),
        PublicKey.from_hex(servers.keys["A"]["public_key"]),
        PublicKey.from_hex(servers.keys["B"]["public_key"]),
    )
    return Client(config).encode(bytes(values), allow_non_binary=True)


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_an_invalid_report_is_counted_and_left_out(convention, invoke, tmp_path):
    servers = new_servers(invoke, "hash", convention, n_data=4)
    vectors = [[1, 0, 1, 1], [0, 1, 1, 0], [1, 1, 1, 1]]
    raw = encode(invoke, servers, tmp_path, vectors)
    for server, share in zip("AB", _invalid_report(servers, [1, 2, 0, 1])):
        line = json.dumps({"id": "bad", "payload": base64.b64encode(share).decode()})
        lines = raw[server].read_text().splitlines(keepends=True)
        raw[server].write_text("".join(lines[:1] + [line + "\n"] + lines[1:]))
    outputs = run_pipeline(invoke, servers, raw, tmp_path / "out")
    for server in "AB":
        assert outputs[server, "aggregate"][1].stderr == (
            "aggregate: line 2 (id bad): INVALID_PROOF\n"
            "aggregate: 1 errors out of 4 total (INVALID_PROOF: 1)\n"
        )
        aggregate = json.loads(outputs[server, "aggregate"][0].read_text())
        assert (aggregate["error"], aggregate["total"]) == (1, 4)
        published = json.loads(outputs[server, "publish"][0].read_text())
        assert published["payload"] == column_sums(vectors)


def test_fixed_evaluation_point_loses_only_the_record_one_server_lacks(invoke, tmp_path):
    """With one point per partition a record missing on B costs that record only (with
    prio-processor's per-record points every later record of the file would fail)."""
    servers = new_servers(invoke, "raw", "fixed", n_data=3)
    vectors = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]
    raw = encode(invoke, servers, tmp_path, vectors)
    lines = raw["B"].read_text().splitlines(keepends=True)
    missing = json.loads(lines[1])["id"]
    raw["B"].write_text("".join(lines[:1] + lines[2:]))
    outputs = run_pipeline(invoke, servers, raw, tmp_path / "out")
    assert outputs["A", "verify2"][1].stderr == (
        f"verify2: line 2 (id {missing}): no external verify1 packet\n"
        "verify2: 1 errors out of 4 total (no external verify1 packet: 1)\n"
    )
    assert outputs["A", "aggregate"][1].stderr == (
        f"aggregate: line 2 (id {missing}): no internal verify2 packet\n"
        "aggregate: 1 errors out of 4 total (no internal verify2 packet: 1)\n"
    )
    assert outputs["B", "aggregate"][1].stderr == "aggregate: 0 errors out of 3 total\n"
    for server in "AB":
        published = json.loads(outputs[server, "publish"][0].read_text())
        assert published["payload"] == column_sums(vectors[:1] + vectors[2:])


def test_the_fixed_evaluation_point_depends_on_the_partition(invoke, tmp_path):
    servers = new_servers(invoke, "hash", "fixed", n_data=3)
    raw = encode(invoke, servers, tmp_path, [[1, 0, 1]])
    packets = set()
    for partition in ["p1", "p2"]:
        out = tmp_path / partition
        invoke(["verify1", *servers.server_args("A"), "--partition-id", partition,
                "--input", raw["A"], "--output", out])  # fmt: skip
        packets.add((out / "data.ndjson").read_text())
    assert len(packets) == 2


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_a_keyring_counts_reports_under_old_and_new_keys(convention, invoke, tmp_path):
    """--private-key-hex NEW,OLD: records encrypted to the old key pair still count."""
    old = new_servers(invoke, "hash", convention, n_data=5)
    new = new_servers(invoke, "hash", convention, n_data=5)
    rng = random.Random(convention)
    vectors = [[rng.randrange(2) for _ in range(5)] for _ in range(12)]
    raw = {}
    for half, servers in enumerate((old, new)):
        (tmp_path / f"half-{half}").mkdir()
        raw[half] = encode(invoke, servers, tmp_path / f"half-{half}", vectors[6 * half:][:6])
    for server in "AB":
        combined = tmp_path / server / "data.ndjson"
        combined.parent.mkdir()
        combined.write_text(raw[0][server].read_text() + raw[1][server].read_text())
        raw[server] = combined
    keys = {server: {**new.keys[server], "private_key": new.keys[server]["private_key"] + ","
                     + old.keys[server]["private_key"]} for server in "AB"}
    outputs = run_pipeline(invoke, dataclasses.replace(new, keys=keys), raw, tmp_path / "out")
    for server in "AB":
        aggregate = json.loads(outputs[server, "aggregate"][0].read_text())
        assert (aggregate["error"], aggregate["total"]) == (0, 12)
        published = json.loads(outputs[server, "publish"][0].read_text())
        assert published["payload"] == column_sums(vectors)
