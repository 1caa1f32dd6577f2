"""The anti-replay indexes at scale: a verifier's (by share) and ingest's (by report id).

Both are filled as a day of traffic would fill them, in partitions of 1,000 reports with
random fingerprints, on a local store; reported: the index's bytes per million reports, the
process's traced allocation growth, and the CPU per report of checking and recording a
partition once the index holds the whole run.
"""

from __future__ import annotations

import random
import tempfile
import time
import tracemalloc

from benchmarks.table import Table
from services.common.storage_local import LocalStorage
from services.ingest.partitions import AntiReplay as IngestIndex
from services.protocol.layout import BatchKey
from services.verifier.anti_replay import AntiReplay as ServerIndex

PARTITION = 1000
MIB = 1 << 20
# The scale: a million reports a day kept eight days, per server.
DAY, DAYS, LIMIT_MIB = 1_000_000, 8, 64


def _server(total: int, rng: random.Random, root: str) -> dict:
    index = ServerIndex(LocalStorage(root), "prio-a-private", retention_days=DAYS - 1)
    key = BatchKey("bench-0", "2026-12-01")
    timed, reports = 0.0, 0
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for number in range(total // PARTITION):
        prints = [rng.getrandbits(64) | 1 for _ in range(PARTITION)]
        started = time.process_time()
        replayed = index.decide(key, f"p{number:08d}", prints)
        index.record(key, f"p{number:08d}", prints, replayed, [True] * PARTITION)
        if number >= total // PARTITION * 9 // 10:  # the last tenth: the index is full
            timed += time.process_time() - started
            reports += PARTITION
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return {"bytes": index.nbytes, "traced": grown, "cpu_us": timed / reports * 1e6,
            "total": total}


def _ingest(total: int, rng: random.Random, root: str) -> dict:
    index = IngestIndex(LocalStorage(root), "prio-ingest", retention_days=DAYS - 1)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    started = time.process_time()
    for number in range(total // PARTITION):
        ids = [f"{rng.getrandbits(128):032x}" for _ in range(PARTITION)]
        index.add({"batch_id": "bench-0", "submission_date": "2026-12-01",
                   "partition_id": f"p{number:08d}", "report_ids": ids,
                   "fingerprints": [f"{rng.getrandbits(128):032x}" for _ in ids]})
    cpu = time.process_time() - started
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return {"bytes": index.nbytes, "traced": grown, "cpu_us": cpu / total * 1e6,
            "total": total}


def tables(quick: bool) -> list[Table]:
    total = 100_000 if quick else DAY
    rng = random.Random(0)
    table = Table("anti-replay indexes: memory and CPU",
                  ["index", "reports", "index bytes per 1M reports", "traced MiB per 1M",
                   f"MiB at {DAYS}x{DAY // 1_000_000}M reports", "CPU µs per report"])
    with tempfile.TemporaryDirectory(prefix="bench-anti-replay-") as root:
        for name, measure in (("server (per share)", _server), ("ingest (per id)", _ingest)):
            found = measure(total, rng, root)
            per_million = found["bytes"] * 1_000_000 / found["total"]
            table.add(name, found["total"], per_million,
                      found["traced"] * 1_000_000 / found["total"] / MIB,
                      per_million * DAYS * DAY / 1_000_000 / MIB, found["cpu_us"])
    table.notes.append(
        f"Bound: a server's index at {DAY:,} reports a day kept {DAYS} days stays under "
        f"{LIMIT_MIB} MiB. CPU: the server's check and record of a partition of {PARTITION} "
        "once the index holds the run (the last tenth), ingest's adding of manifests; "
        "traced: Python allocations that stayed (includes the record names).")
    return [table]
