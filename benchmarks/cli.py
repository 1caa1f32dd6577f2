"""Suite `cli`: the `prio` command per report: each whole command (start-up included) over a
file of K reports, divided by K, in both evaluation-point conventions."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.table import Table
from benchmarks.workload import Workload, make_workload

# Enough reports that the start-up of `prio` is a small part of the per-report figure.
SIZES = {128: 2000, 2046: 500, 10000: 100}
QUICK_SIZES = {128: 40, 2046: 15, 10000: 4}
CONVENTIONS = ["per-record", "fixed"]


def prio(*args) -> float:
    """Seconds one `prio` command takes, as a separate process."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "prio_cli", *map(str, args)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return time.perf_counter() - start


def _pipeline(work: Workload, raw: dict, out: Path, convention: str) -> dict[str, float]:
    """Seconds of each server step; `raw` maps "A"/"B" to the share files."""
    seconds, outputs = {}, {}
    for step, previous in [
        ("verify1", None),
        ("verify2", "verify1"),
        ("aggregate", "verify2"),
        ("publish", "aggregate"),
    ]:
        for server in "AB":
            peer = "B" if server == "A" else "A"
            args = [step, *work.server_options(server), "--evaluation-point", convention,
                    "--output", out / server / step]  # fmt: skip
            if step != "publish":
                args += ["--input", raw[server]]
            if previous:
                args += ["--input-internal", outputs[server, previous],
                         "--input-external", outputs[peer, previous]]  # fmt: skip
            seconds[f"{step} {server}"] = prio(*args)
            outputs[server, step] = out / server / step / raw[server].name
    aggregate = json.loads(outputs["A", "aggregate"].read_text())
    if aggregate["error"]:
        raise RuntimeError(f"{convention}: {aggregate['error']} honest reports were rejected")
    return seconds


def measure(n_data: int, reports: int, directory: Path) -> tuple[float, dict]:
    """(ms per report of encode-shares, {convention: {step: ms per report}})."""
    work = make_workload(n_data, reports)
    client = directory / "client" / "data.ndjson"
    client.parent.mkdir(parents=True)
    client.write_text("".join(json.dumps({"payload": list(bits)}) + "\n" for bits in work.bits))
    outputs = ["--output-A", directory / "A" / "raw", "--output-B", directory / "B" / "raw"]
    encode = prio("encode-shares", *work.client_options(), "--input", client, *outputs)
    raw = {server: directory / server / "raw" / "data.ndjson" for server in "AB"}
    steps = {
        convention: _pipeline(work, raw, directory / convention, convention)
        for convention in CONVENTIONS
    }
    per_report = {
        convention: {
            step: seconds * 1000 / (1 if step.startswith("publish") else reports)
            for step, seconds in times.items()
        }
        for convention, times in steps.items()
    }
    return encode * 1000 / reports, per_report


COLUMNS = ["verify1 A", "verify1 B", "verify2 A", "verify2 B", "aggregate A", "aggregate B"]


def run(quick: bool) -> list[Table]:
    sizes = QUICK_SIZES if quick else SIZES
    startup = min(prio("--help") for _ in range(3)) * 1000
    table = Table(
        "cli: `prio` commands, ms per report (whole command ÷ reports), one core",
        ["n_data", "reports", "convention", "encode-shares", *COLUMNS, "publish (ms, total)"],
    )
    with tempfile.TemporaryDirectory(prefix="prio-bench-") as directory:
        for n_data, reports in sizes.items():
            encode, results = measure(n_data, reports, Path(directory) / str(n_data))
            for convention in CONVENTIONS:
                times = results[convention]
                table.add(n_data, reports, convention, encode,
                          *(times[step] for step in COLUMNS), times["publish A"])  # fmt: skip
    table.notes = [
        (
            f"Every command includes the start-up of `prio` ({startup:.0f} ms for `prio "
            "--help`), spread over the reports; encode-shares is the same command for both "
            "conventions."
        )
    ]
    return [table]
