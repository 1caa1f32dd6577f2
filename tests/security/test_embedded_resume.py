"""`prio-stream embedded --output DIR` after a SIGKILL mid-run, and on a DIR of another key set:
a run resumes what it finds with exact counts, and never mixes two key sets' data."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import libprio_ctypes as prio
from services import loadgen

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "libprio-head-small"
CONFIG = {"resume-0": 12}
KEYS = ("--private-key-a", str(VECTORS / "server_a_keys.json"),
        "--private-key-b", str(VECTORS / "server_b_keys.json"),
        "--shared-secret", str(VECTORS / "shared_seed.json"))


def _embedded(tmp_path: Path, *args: str, faults: str | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    if faults:
        env["FAULTS"] = faults  # TEST ONLY: the process SIGKILLs itself at a chosen write
    return subprocess.run(
        [sys.executable, "-m", "services.main", "embedded", "--json", "--timeout", str(timeout),
         "--data-config", json.dumps([{"batch_id": b, "n_data": n} for b, n in CONFIG.items()]),
         "--min-batch-size", "10", "--partition-max-reports", "40", "--prg-mode", "hash",
         *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=timeout + 60, check=False,
        env=env)


def _pings(tmp_path: Path) -> tuple[Path, loadgen.Workload]:
    public = {s: prio.PublicKey.from_hex(json.loads(
        (VECTORS / f"server_{s}_keys.json").read_text())["public_key"]) for s in "ab"}
    today = dt.datetime.now(dt.UTC).date().isoformat()
    work = loadgen.generate(150, CONFIG, public["a"], public["b"], prio.PrgMode.HASH, today)
    path = tmp_path / "pings.ndjson"
    path.write_bytes(b"\n".join(work.pings) + b"\n")
    return path, work


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("crash_after", ["raw/", "anti-replay/", "notices/"])
def test_a_run_killed_mid_write_resumes_on_the_same_output(tmp_path, crash_after):
    """Killed right after a partition's share file (no notice yet), its manifest, or its first
    notice: the run again on the same --output publishes exact counts, not a wait."""
    pings, work = _pings(tmp_path)
    output = tmp_path / "out"
    args = ("--pings", str(pings), "--output", str(output), *KEYS)
    killed = _embedded(tmp_path, *args, faults=f"crash_after={crash_after}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    if crash_after == "raw/":
        # The leftover the issue names: a share file in A's inbox with no notice beside it.
        assert list(output.glob("prio-a-inbox/raw/*/*/*.ndjson"))
        assert not list(output.glob("prio-a-inbox/notices/*/*/*.pb"))

    again = _embedded(tmp_path, *args)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    [batch] = json.loads(again.stdout)["batches"]
    for server in "AB":
        assert batch["result"][server]["payload"] == work.sums["resume-0"]
        assert batch["result"][server]["valid"] == work.valid["resume-0"]
        assert batch["status"][server]["reports"]["rejected"] == dict(work.rejected["resume-0"])


def test_an_output_of_another_key_set_is_refused_before_anything_is_written(tmp_path):
    pings, _ = _pings(tmp_path)
    output = tmp_path / "out"
    first = _embedded(tmp_path, "--pings", str(pings), "--output", str(output), *KEYS)
    assert first.returncode == 0, first.stderr[-2000:]
    before = _tree(output)

    # Generated keys and secret: not the ones the output was written with.
    other = _embedded(tmp_path, "--pings", str(pings), "--output", str(output))
    assert other.returncode == 2
    assert other.stdout == ""
    [line] = [line for line in other.stderr.splitlines() if line.startswith("Error")]
    assert "--output" in line and "another key set" in line
    assert "Traceback" not in other.stderr
    assert _tree(output) == before

    # The same keys but another shared secret: refused as well.
    secret = tmp_path / "seed.json"
    secret.write_text(json.dumps({"shared_seed": "AAAAAAAAAAAAAAAAAAAAAA=="}))
    keys = (*KEYS[:4], "--shared-secret", str(secret))
    mixed = _embedded(tmp_path, "--pings", str(pings), "--output", str(output), *keys)
    assert mixed.returncode == 2
    assert _tree(output) == before


def test_the_key_set_record_holds_no_secret(tmp_path):
    pings, _ = _pings(tmp_path)
    output = tmp_path / "out"
    assert _embedded(tmp_path, "--pings", str(pings), "--output", str(output),
                     *KEYS).returncode == 0
    stored = b"".join(_tree(output).values())
    for server in "ab":
        private = json.loads((VECTORS / f"server_{server}_keys.json").read_text())["private_key"]
        assert private.encode() not in stored and private.lower().encode() not in stored
    seed = json.loads((VECTORS / "shared_seed.json").read_text())["shared_seed"]
    assert seed.encode() not in stored
