"""`prio-stream embedded` as a user runs it: a subprocess, exact counts, exit status."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

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


# --- honest exits, usage mistakes, hints, output (issue 12)

STAGED = ("--staged-a", str(VECTORS / "server_a" / "raw" / "data.ndjson"),
          "--staged-b", str(VECTORS / "server_b" / "raw" / "data.ndjson"),
          "--batch-id", "test-small", "--min-batch-size", "1")
STAGED_CONFIG = '[{"batch_id": "test-small", "n_data": 5}]'
VECTOR_KEYS = ("--private-key-a", str(VECTORS / "server_a_keys.json"),
               "--private-key-b", str(VECTORS / "server_b_keys.json"),
               "--shared-secret", str(VECTORS / "shared_seed.json"))


def _human(*args: str, tmp_path: Path, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "services.main", "embedded", "--timeout", "300", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=timeout, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})


def test_a_batch_not_published_fails_the_run_with_its_reason(tmp_path):
    run = _human("--reports", "20", "--min-batch-size", "500", tmp_path=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr[-2000:]
    assert "OK" not in run.stdout
    failures = [line for line in run.stdout.splitlines() if line.startswith("FAILED")]
    assert [line.split(":")[1].split()[0] for line in failures] == ["demo-0", "demo-1"]
    assert "fewer than --min-batch-size=500" in failures[0]


@pytest.mark.parametrize(("change", "reason", "hint"), [
    (("--private-key-a", str(VECTORS / "server_b_keys.json"),
      "--private-key-b", str(VECTORS / "server_a_keys.json")), "DECRYPT_FAILED",
     "--private-key-a and --private-key-b"),
    (("--prg-mode", "raw"), "INVALID_PROOF", "raw for Firefox and libprio <= 1.6"),
    (("--data-config", '[{"batch_id": "test-small", "n_data": 7}]'), "WRONG_LENGTH",
     "n_data"),
])
def test_all_reports_failing_for_one_reason_names_the_likely_cause(tmp_path, change, reason,
                                                                    hint):
    args = dict(zip(VECTOR_KEYS[::2], VECTOR_KEYS[1::2], strict=True))
    args.update({"--prg-mode": "hash", "--data-config": STAGED_CONFIG})
    args.update(dict(zip(change[::2], change[1::2], strict=True)))
    run = _human(*STAGED, *(x for item in args.items() for x in item), tmp_path=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr[-2000:]
    [failure] = [line for line in run.stdout.splitlines() if line.startswith("FAILED")] or [
        run.stderr[-2000:]]
    assert f"10 of 10 reports {reason}" in failure and hint in failure, failure


def test_a_staged_batch_id_not_in_the_data_config_is_a_usage_error(tmp_path):
    run = _human(*STAGED[:4], "--batch-id", "nope", "--data-config", STAGED_CONFIG,
                 *VECTOR_KEYS, tmp_path=tmp_path, timeout=60)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    [error] = [line for line in run.stderr.splitlines() if line.startswith("Error")]
    assert "--batch-id" in error and "'nope'" in error and "--data-config" in error


def _bad_inputs(tmp_path: Path) -> list[tuple[tuple[str, ...], str]]:
    broken, empty, a_file = (tmp_path / n for n in ("broken.json", "empty.ndjson", "file"))
    broken.write_text('{"private_key": ')
    empty.write_text("\n\n")
    a_file.write_text("x")
    return [
        (("--private-key-a", "server_a_keys.jsn"), "--private-key-a"),
        (("--private-key-a", str(broken)), "--private-key-a"),
        (("--private-key-b", "abcd"), "--private-key-b"),
        (("--shared-secret", "shared_sed.json"), "--shared-secret"),
        (("--shared-secret", str(broken)), "--shared-secret"),
        (("--data-config", '[{"batch_id": 1}]'), "--data-config"),
        (("--data-config", "no-such-config.json"), "--data-config"),
        (("--output", str(a_file / "out")), "--output"),
        (("--date", "2025-13-01"), "--date"),
        (("--date", "yesterday"), "--date"),
        (("--pings", str(empty)), "--pings"),
        (("--staged-a", str(empty), "--staged-b", str(empty), "--batch-id", "demo-0"),
         "--staged-a"),
        (("--reports", "0"), "--reports"),
        (("--expect", "{not json"), "--expect"),
    ]


def test_usage_mistakes_name_the_option_before_any_work(tmp_path):
    for args, option in _bad_inputs(tmp_path):
        run = _human(*args, tmp_path=tmp_path, timeout=60)
        assert run.returncode == 2, (args, run.stdout, run.stderr[-2000:])
        assert "Traceback" not in run.stderr, args
        [error] = [line for line in run.stderr.splitlines() if line.startswith("Error")]
        assert option in error, (args, error)
        assert not list(tmp_path.glob("prio-*")), args


def test_the_demo_works_for_a_few_reports_and_help_shows_defaults(tmp_path):
    run = _human("--reports", "10", tmp_path=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert run.stdout.splitlines()[-1] == "OK: published counts match"
    helped = _human("--help", tmp_path=tmp_path)
    text = " ".join(helped.stdout.split())
    for shown in ("[default: 3000;", "[default: 250;", "[default: 600.0;", "[default: raw]",
                  "[default: (today (UTC))]", "[default: (MIN_BATCH_SIZE (100); 1 for the demo);",
                  "[default: (a temporary folder, removed at exit)]", "[default: (generated)]",
                  "[default: (demo-0 (n_data 64), demo-1 (n_data 36))]"):
        assert shown in text, shown


def test_human_summary_shows_late_reports_and_a_label_table(tmp_path):
    import libprio_ctypes as prio

    keys = {s: json.loads((VECTORS / f"server_{s}_keys.json").read_text()) for s in "ab"}
    public = {s: prio.PublicKey.from_hex(k["public_key"]) for s, k in keys.items()}
    today = dt.datetime.now(dt.UTC).date().isoformat()
    work = loadgen.generate(60, {"late-0": 3}, public["a"], public["b"], prio.PrgMode.HASH,
                            today, mix=loadgen.Mix(0, 0, 0))
    first, both = tmp_path / "first.ndjson", tmp_path / "both.ndjson"
    first.write_bytes(b"\n".join(work.pings[:40]) + b"\n")
    both.write_bytes(b"\n".join(work.pings) + b"\n")
    common = ("--data-config", '[{"batch_id": "late-0", "n_data": 3}]', "--prg-mode", "hash",
              "--min-batch-size", "10", "--output", str(tmp_path / "out"), *VECTOR_KEYS)
    assert _human("--pings", str(first), *common, tmp_path=tmp_path).returncode == 0
    run = _human("--pings", str(both), *common, tmp_path=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert any("60 verified, 60 valid, 0 rejected, 20 late" in line for line in lines), lines
    # The seeded generator makes the same first 40 reports' values for a count of 40.
    counted = loadgen.generate(40, {"late-0": 3}, public["a"], public["b"], prio.PrgMode.HASH,
                               today, mix=loadgen.Mix(0, 0, 0)).sums["late-0"]
    table = lines[lines.index("  label  count  share") + 1:][:3]
    assert [row.split()[:2] for row in table] == [[str(i), str(c)] for i, c in
                                                  enumerate(counted)]
    assert "\r" not in run.stderr  # no progress bar when stderr is not a terminal


def test_the_progress_bar_is_for_terminals_and_ends_full(tmp_path):
    import os
    import pty

    leader, follower = pty.openpty()
    run = subprocess.run(
        [sys.executable, "-m", "services.main", "embedded", "--reports", "30"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=follower, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end is closed: everything was read
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert run.returncode == 0, shown.decode(errors="replace")[-2000:]
    frames = shown.decode().replace("\r\n", "\n").replace("\n", "\r").split("\r")
    ingested = [f for f in frames if f.strip().startswith("ingested")]
    verified = [f for f in frames if f.strip().startswith("verified")]
    assert ingested[-1].endswith("[" + "#" * 30 + "] 32/32")  # 30 pings + 2 bad ones
    assert verified[-1].endswith("[" + "#" * 30 + "] 60/60")


def test_version():
    for args in ([], ["embedded"]):
        run = subprocess.run([sys.executable, "-m", "services.main", *args, "--version"],
                             capture_output=True, text=True, timeout=60, check=False,
                             env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith("prio-stream "), run.stdout


def test_the_run_keeps_an_agreed_release_log_on_both_servers(tmp_path):
    run = _embedded("--reports", "120", "--output", str(tmp_path / "data"), tmp_path=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "RELEASE_SIGNING_KEY_HEX" not in run.stderr  # no warning for a setting it made
    for batch in json.loads(run.stdout)["batches"]:
        releases = [batch["status"][server]["release"] for server in "AB"]
        assert [r["agreed"] for r in releases] == [True, True]
        assert releases[0]["counts_sha256"] == releases[1]["counts_sha256"]
    for server in "ab":
        assert sorted(p.name for p in (tmp_path / "data" / f"prio-{server}-private" /
                                       "releases").iterdir()) == ["00000000.json", "00000001.json"]
