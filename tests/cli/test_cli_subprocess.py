"""The installed `prio` script, as a separate process: exit codes, streams, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.cli.servers import PROCESSOR

PRIO = Path(sys.executable).parent / "prio"


def run(*args, env=None):
    return subprocess.run(
        [str(PRIO), *map(str, args)],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_installed_script_reproduces_verify1_from_the_environment(tmp_path):
    env = {
        "BATCH_ID": PROCESSOR.batch_id, "N_DATA": str(PROCESSOR.n_data), "PRG_MODE": "raw",
        "SERVER_ID": "A", "PRIVATE_KEY_HEX": PROCESSOR.keys["A"]["private_key"],
        "SHARED_SECRET": PROCESSOR.shared_seed,
        "PUBLIC_KEY_HEX_INTERNAL": PROCESSOR.keys["A"]["public_key"],
        "PUBLIC_KEY_HEX_EXTERNAL": PROCESSOR.keys["B"]["public_key"],
    }  # fmt: skip
    done = run("verify1", "--input", PROCESSOR.raw("A"), "--output", tmp_path, env=env)
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == "verify1: 0 errors out of 5 total\n"
    recorded = PROCESSOR.intermediate("A", "internal", "verify1").read_bytes()
    assert (tmp_path / "data.ndjson").read_bytes() == recorded


def test_installed_script_keygen_output_is_json(tmp_path):
    done = run("keygen")
    assert done.returncode == 0
    assert set(json.loads(done.stdout)) == {"private_key", "public_key"}


def test_installed_script_usage_error_has_no_traceback(tmp_path):
    client = tmp_path / "client.ndjson"
    client.write_text('{"payload": [1, 0, 3]}\n')
    done = run(
        "encode-shares", "--batch-id", "b", "--n-data", "3",
        "--public-key-hex-internal", PROCESSOR.keys["A"]["public_key"],
        "--public-key-hex-external", PROCESSOR.keys["B"]["public_key"],
        "--input", client, "--output-A", tmp_path / "a", "--output-B", tmp_path / "b",
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.endswith(
        "Error: Invalid value for '--input': line 1: value 3 at position 2 is not 0 or 1\n"
    )
    assert "Traceback" not in done.stderr
