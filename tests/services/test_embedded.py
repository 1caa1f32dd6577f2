"""`prio-stream embedded` as a user runs it: a subprocess, exact counts, exit status."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from services import loadgen

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "libprio-head-small"


def _embedded(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "services.main", "embedded", "--json", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


def test_demo_run_publishes_the_plaintext_sums(tmp_path):
    run = _embedded("--reports", "600", "--output", str(tmp_path / "data"), tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["ok"], report["failures"]
    # The demo workload is seeded: the same reports are valid or invalid in every run.
    import libprio_ctypes as prio

    key = prio.PrivateKey.generate().public_key
    work = loadgen.generate(600, {"demo-0": 64, "demo-1": 36}, key, key, prio.PrgMode.HASH,
                            "2026-01-01")
    for batch in report["batches"]:
        batch_id = batch["batch_id"]
        for server in "AB":
            result, found = batch["result"][server], batch["status"][server]
            assert result["payload"] == work.sums[batch_id]
            assert result["valid"] == work.valid[batch_id]
            assert found["reports"]["rejected"] == dict(work.rejected[batch_id])
        assert batch["status"]["A"]["reports"] == batch["status"]["B"]["reports"]
    first = report["batches"][0]["ingest"]
    assert first["rejected"] == {"BAD_ENCODING": 1, "UNKNOWN_BATCH_ID": 1}
    results = sorted((tmp_path / "data").glob("prio-*-private/processed/*/*/result.json"))
    assert len(results) == 4  # two batches on each server


def test_libprio_staged_share_files(tmp_path):
    run = _embedded(
        "--staged-a", str(VECTORS / "server_a" / "raw" / "data.ndjson"),
        "--staged-b", str(VECTORS / "server_b" / "raw" / "data.ndjson"),
        "--batch-id", "test-small",
        "--data-config", '[{"batch_id": "test-small", "n_data": 5}]',
        "--private-key-a", str(VECTORS / "server_a_keys.json"),
        "--private-key-b", str(VECTORS / "server_b_keys.json"),
        "--shared-secret", str(VECTORS / "shared_seed.json"),
        "--prg-mode", "hash", "--min-batch-size", "1",
        "--expect", '{"test-small": [4, 5, 3, 7, 6]}',
        tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    [batch] = json.loads(run.stdout)["batches"]
    assert batch["result"]["A"]["payload"] == [4, 5, 3, 7, 6]
    assert batch["status"]["B"]["reports"]["valid"] == 10


def test_a_wrong_expectation_fails_the_run(tmp_path):
    run = _embedded("--reports", "120", "--min-batch-size", "1",
                    "--expect", '{"demo-0": [0]}', tmp_path=tmp_path)
    assert run.returncode == 1
    assert "expected [0]" in run.stdout


def test_pings_file_with_given_keys_and_raw_prg_mode(tmp_path):
    import libprio_ctypes as prio

    keys = {s: json.loads((VECTORS / f"server_{s}_keys.json").read_text()) for s in "ab"}
    public = {s: prio.PublicKey.from_hex(k["public_key"]) for s, k in keys.items()}
    config = {"raw-0": 12}
    today = dt.datetime.now(dt.UTC).date().isoformat()  # a past day closes on a schedule
    work = loadgen.generate(150, config, public["a"], public["b"], prio.PrgMode.RAW, today)
    pings = tmp_path / "pings.ndjson"
    pings.write_bytes(b"\n".join(work.pings) + b"\n")
    run = _embedded(
        "--pings", str(pings), "--prg-mode", "raw",
        "--data-config", json.dumps([{"batch_id": "raw-0", "n_data": 12}]),
        "--private-key-a", str(VECTORS / "server_a_keys.json"),
        "--private-key-b", str(VECTORS / "server_b_keys.json"),
        "--expect", json.dumps(work.sums), "--min-batch-size", "10", tmp_path=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    [batch] = json.loads(run.stdout)["batches"]
    assert batch["status"]["A"]["reports"]["rejected"] == dict(work.rejected["raw-0"])
    assert batch["result"]["B"]["valid"] == work.valid["raw-0"]
