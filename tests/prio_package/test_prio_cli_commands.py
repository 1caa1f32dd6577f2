"""`prio.cli.commands` speaks python-libprio's CLI formats: bare base64 seed, bare input arrays,
a bare JSON string aggregate and a bare JSON list result."""

import base64
import json

import pytest
from click.testing import CliRunner

from prio.cli import commands
from tests.cli.conftest import OPTION_ENV


def run(command, args=(), expect=0):
    result = CliRunner().invoke(command, [str(a) for a in args], env=OPTION_ENV, catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


def keygen():
    return json.loads(run(commands.keygen).stdout)


@pytest.fixture
def seed():
    return run(commands.shared_seed).stdout


def test_shared_seed_is_bare_base64(seed):
    assert seed.endswith("\n") and len(base64.b64decode(seed, validate=False)) == 16
    assert seed.strip() == base64.b64encode(base64.b64decode(seed)).decode()


def test_keygen_prints_64_hex_characters_each():
    keys = keygen()
    assert set(keys) == {"private_key", "public_key"}
    assert len(keys["private_key"]) == len(keys["public_key"]) == 64


def server_args(server, keys, seed):
    peer = "B" if server == "A" else "A"
    return ["--n-data", 3, "--batch-id", "test", "--server-id", server,
            "--private-key-hex", keys[server]["private_key"], "--shared-secret", seed,
            "--public-key-hex-internal", keys[server]["public_key"],
            "--public-key-hex-external", keys[peer]["public_key"]]


def test_end_to_end_in_python_libprio_formats(tmp_path, seed):
    keys = {"A": keygen(), "B": keygen()}
    data = tmp_path / "client" / "data.ndjson"
    data.parent.mkdir()
    data.write_text("\n".join(json.dumps(row) for row in ([1, 0, 0], [1, 1, 0], [1, 1, 1])))
    raw = {s: tmp_path / s / "raw" for s in "AB"}
    run(commands.encode_shares, ["--n-data", 3, "--batch-id", "test",
                                 "--public-key-hex-internal", keys["A"]["public_key"],
                                 "--public-key-hex-external", keys["B"]["public_key"],
                                 "--input", data, "--output-A", raw["A"], "--output-B", raw["B"]])
    previous = None
    for step in ("verify1", "verify2", "aggregate"):
        for server in "AB":
            peer = "B" if server == "A" else "A"
            args = [*server_args(server, keys, seed), "--input", raw[server] / "data.ndjson",
                    "--output", tmp_path / server / step]
            if previous:
                args += ["--input-internal", tmp_path / server / previous / "data.ndjson",
                         "--input-external", tmp_path / peer / previous / "data.ndjson"]
            run(getattr(commands, step), args)
        previous = step
    for server in "AB":
        aggregate = json.loads((tmp_path / server / "aggregate" / "data.ndjson").read_text())
        assert isinstance(aggregate, str) and base64.b64decode(aggregate)[0] == "AB".index(server)
    for server in "AB":
        peer = "B" if server == "A" else "A"
        run(commands.publish, [*server_args(server, keys, seed),
                               "--input-internal", tmp_path / server / "aggregate" / "data.ndjson",
                               "--input-external", tmp_path / peer / "aggregate" / "data.ndjson",
                               "--output", tmp_path / server / "processed"])
        assert (tmp_path / server / "processed" / "data.ndjson").read_text() == "[3, 2, 1]"


def test_verify1_skips_a_share_for_another_key(tmp_path, seed):
    key_a, key_b, key_c = keygen(), keygen(), keygen()
    data = tmp_path / "data.json"
    data.write_text(json.dumps([1, 0, 1]))
    parts = []
    for key in (key_a, key_b):
        out = tmp_path / f"out-{len(parts)}"
        run(commands.encode_shares, ["--n-data", 3, "--batch-id", "test",
                                     "--public-key-hex-internal", key["public_key"],
                                     "--public-key-hex-external", key_c["public_key"],
                                     "--input", data, "--output-A", out, "--output-B", tmp_path / "ignored"])
        parts.append((out / "data.json").read_text())
    both = tmp_path / "out.json"
    both.write_text("".join(parts))
    keys = {"A": key_a, "B": key_c}
    result = run(commands.verify1, [*server_args("A", keys, seed), "--input", both,
                                    "--output", tmp_path / "verify1"])
    assert len((tmp_path / "verify1" / "out.json").read_text().splitlines()) == 1
    assert result.stderr.endswith("verify1: 1 errors out of 2 total (DECRYPT_FAILED: 1)\n")


def test_an_input_line_that_is_not_an_array_is_a_usage_error(tmp_path):
    keys = keygen()
    data = tmp_path / "data.json"
    data.write_text('{"payload": [1, 0, 1]}\n')
    result = run(commands.encode_shares, ["--n-data", 3, "--batch-id", "t",
                                          "--public-key-hex-internal", keys["public_key"],
                                          "--public-key-hex-external", keys["public_key"],
                                          "--input", data, "--output-A", tmp_path / "a",
                                          "--output-B", tmp_path / "b"], expect=2)
    assert "line 1: not a JSON array of 0/1 values" in result.stderr
    assert "Traceback" not in result.output
