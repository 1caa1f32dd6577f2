"""Suite `core`: the batch API per report on one core (what the services pay per report)."""

from __future__ import annotations

from benchmarks.table import Table
from benchmarks.timing import best_of
from benchmarks.workload import make_workload
from libprio_ctypes import (
    Client,
    aggregate_partition,
    load_partition,
    valid_mask,
    verify2_partition,
)

# n_data -> reports per measurement; fewer for big vectors so that each size takes seconds.
SIZES = {128: 1000, 2046: 400, 10000: 100}
QUICK_SIZES = {128: 50, 2046: 20, 10000: 5}
REPEATS, QUICK_REPEATS = 5, 2

COLUMNS = [
    "encode", "A load + verify1", "B load + verify1", "verify2", "validity",
    "aggregate A", "aggregate B",
]  # fmt: skip
# Per-report budgets at n_data 2046, in ms (the targets).
TARGETS_2046 = {"encode": 2.0, "A load + verify1": 0.2, "B load + verify1": 0.12}


def measure(n_data: int, reports: int, repeats: int) -> dict[str, float]:
    """Milliseconds per report of each step, over a partition of `reports` reports."""
    work = make_workload(n_data, reports)
    config, keys = work.config, work.keys
    client = Client(config)
    times = {"encode": best_of(repeats, lambda: [client.encode(bits) for bits in work.bits])}
    packets_a, packets_b = work.encode_all()
    point = work.evaluation_point
    loaded = {}

    def load(server, index, packets):
        loaded[server] = load_partition(config, index, keys[server], packets, point)

    times["A load + verify1"] = best_of(repeats, lambda: load("A", 0, packets_a))
    times["B load + verify1"] = best_of(repeats, lambda: load("B", 1, packets_b))
    a, b = loaded["A"], loaded["B"]
    times["verify2"] = best_of(repeats, lambda: verify2_partition(config, a.state, b.verify1))
    verify2_a, _ = verify2_partition(config, a.state, b.verify1)
    verify2_b, _ = verify2_partition(config, b.state, a.verify1)
    times["validity"] = best_of(repeats, lambda: valid_mask(verify2_a, verify2_b))
    mask = valid_mask(verify2_a, verify2_b)
    if not all(mask):
        raise RuntimeError(f"n_data {n_data}: {mask.count(False)} honest reports did not verify")
    times["aggregate A"] = best_of(
        repeats, lambda: aggregate_partition(config, 0, keys["A"], packets_a, mask)
    )
    times["aggregate B"] = best_of(
        repeats, lambda: aggregate_partition(config, 1, keys["B"], packets_b, mask)
    )
    return {step: seconds * 1000 / reports for step, seconds in times.items()}


def _notes(results: dict[int, dict[str, float]]) -> list[str]:
    notes = []
    if 2046 in results:
        checks = [
            f"{step} {results[2046][step]:.3f} ms "
            f"({'ok' if results[2046][step] <= budget else 'OVER'}, target ≤ {budget:g})"
            for step, budget in TARGETS_2046.items()
        ]
        notes.append("Targets at n_data 2046: " + "; ".join(checks) + ".")
    sizes = sorted(results)
    if len(sizes) >= 2:
        small, big = sizes[-2], sizes[-1]
        ratios = ", ".join(
            f"{step} ×{results[big][step] / results[small][step]:.1f}"
            for step in ("encode", "A load + verify1", "B load + verify1")
        )
        notes.append(f"Scaling n_data {small} → {big} (×{big / small:.1f}): {ratios}.")
    return notes


def run(quick: bool) -> list[Table]:
    sizes, repeats = (QUICK_SIZES, QUICK_REPEATS) if quick else (SIZES, REPEATS)
    table = Table(
        "core: batch API, ms per report, one core",
        ["n_data", "reports", *COLUMNS],
    )
    results = {}
    for n_data, reports in sizes.items():
        results[n_data] = measure(n_data, reports, repeats)
        table.add(n_data, reports, *(results[n_data][step] for step in COLUMNS))
    table.notes = _notes(results)
    return [table]
