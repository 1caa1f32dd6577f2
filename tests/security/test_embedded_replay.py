"""`prio-stream embedded --pings` with 150 re-labelled copies of one client's ping: the
published counts do not move, both servers count the copies as REPLAYED."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import libprio_ctypes as prio
from services import loadgen

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "libprio-head-small"
COPIES = 150


def test_relabelled_copies_of_a_ping_are_counted_zero_times(tmp_path):
    keys = {s: json.loads((VECTORS / f"server_{s}_keys.json").read_text()) for s in "ab"}
    public = {s: prio.PublicKey.from_hex(k["public_key"]) for s, k in keys.items()}
    today = dt.datetime.now(dt.UTC).date().isoformat()  # a past day closes on a schedule
    work = loadgen.generate(120, {"raw-0": 12}, public["a"], public["b"], prio.PrgMode.RAW,
                            today)
    victim = json.loads(work.pings[0])
    copies = []
    for _ in range(COPIES):  # the same encrypted shares under fresh document ids
        victim["id"] = str(uuid.uuid4())
        copies.append(json.dumps(victim).encode())
    pings = tmp_path / "pings.ndjson"
    pings.write_bytes(b"\n".join([*work.pings, *copies]) + b"\n")
    run = subprocess.run(
        [sys.executable, "-m", "services.main", "embedded", "--json",
         "--pings", str(pings), "--prg-mode", "raw",
         "--data-config", json.dumps([{"batch_id": "raw-0", "n_data": 12}]),
         "--private-key-a", str(VECTORS / "server_a_keys.json"),
         "--private-key-b", str(VECTORS / "server_b_keys.json"),
         "--partition-max-reports", "50", "--min-batch-size", "10",
         "--expect", json.dumps(work.sums)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    [batch] = json.loads(run.stdout)["batches"]
    expected = Counter(work.rejected["raw-0"])
    expected["REPLAYED"] += COPIES
    for server in "AB":
        assert batch["result"][server]["payload"] == work.sums["raw-0"]
        assert batch["status"][server]["reports"]["rejected"] == dict(sorted(expected.items()))
        assert batch["result"][server]["valid"] == work.valid["raw-0"]
