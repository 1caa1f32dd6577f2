"""Suite `streaming`: reports per second end to end through the emulator stack, both servers.

The real Pub/Sub emulator and fake-gcs-server (started fresh for each run: no lingering
streaming pulls, and their peak memory is the run's), both servers' projects and ingest's
provisioned (services.common.provision), every service a `prio-stream worker` subprocess
(ingest, verifier/aggregator/publisher of A and B). Pings are encoded with our client before the clock starts, published to `prio-pings` as
fast as the emulator takes them; once both servers have aggregated every partition ingest
wrote, the leader's admin closes the batch. The clock runs from the first publish to both
servers' `result.json` (the published counts, checked against the plaintext sums).

CPU is utime+stime (children included) from /proc/<pid>/stat over the timed window, peak memory
VmHWM from /proc/<pid>/status, per process. Everything (emulators, seven services, this
driver) shares the machine's cores: the suite lifts the runner's one-core pinning while it runs.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import datetime as dt
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from benchmarks import anti_replay, stack
from benchmarks.table import Table

BATCH = "bench.n{n}"  # no "-<digits>" suffix: that names a part of a split vector
# n_data -> batch sizes (pings, one report each); the two sizes show memory against batch size.
# At 2046 both sizes fill ingest's windows (760 pings each) and the verifiers' concurrency.
RUNS = {128: (10_000, 40_000), 2046: (2_000, 8_000)}
QUICK_RUNS = {128: (2_000, 6_000), 2046: (1_000,)}
TARGET_128 = 2000.0  # reports/s
# Mid key rotation: both servers hold two keys, half the pings are under the previous ones.
KEYRING_RUN = (128, 40_000)  # the run the target is met on
# Ingest scales out (Cloud Run instances); one process takes ~1,700 pings/s here, GIL-bound.
INGEST_INSTANCES = 2
SERVICES = (*(f"ingest {i}" for i in range(1, INGEST_INSTANCES + 1)),
            *(f"{name} {s}" for s in "AB" for name in ("verifier", "aggregator", "publisher")))
PUBSUB, GCS = "Pub/Sub emulator", "fake-gcs-server"
# The emulator keeps every unacked ping on its Java heap: 8,000 pings of 64 KiB (n_data 2046)
# published at once overflow ENVIRONMENT.md's -Xmx512m (OutOfMemoryError, then silence).
EMULATOR_JAVA_OPTS = stack.JAVA_OPTS.replace("-Xmx512m", "-Xmx3g")
POLL = 0.2  # s between looks at the buckets (from this process, not through the services)
SAMPLE_SECONDS = 0.5  # between looks at every process's resident memory
# Settings of the run (docs/architecture.md): the default partition size; ingest's flow-control
# window of three partitions, so that it takes pings while one is written (held pings cost no
# thread: 1 partition 1,060 reports/s, 2: 1,470, 3: 1,600 at n_data 128 with one ingest), and
# two handler threads (parsing is GIL-bound: 16 threads cost more CPU for less throughput).
PARTITION_MAX_REPORTS = 1000
PARTITION_MAX_BYTES = 16 << 20  # the default: at n_data 2046, 256 reports per partition
INGEST_WINDOW = 3 * PARTITION_MAX_REPORTS
INGEST_WINDOW_BYTES = 3 * PARTITION_MAX_BYTES  # bounds ingest's memory at large n_data
INGEST_HANDLER_THREADS = 2
# Partitions a server's services take at once: what their memory follows (2 cores: 4 are busy).
SERVER_WINDOW = 4


def unavailable() -> str | None:
    return stack.missing()


# --- pings, made before the clock starts ------------------------------------------------------

def _generate(args) -> tuple[list[bytes], list[int]]:
    count, n_data, batch, public_a, public_b, date, seed = args
    import libprio_ctypes as prio
    from services import loadgen

    work = loadgen.generate(count, {batch: n_data}, prio.PublicKey.from_hex(public_a),
                            prio.PublicKey.from_hex(public_b), prio.PrgMode.HASH, date,
                            loadgen.Mix(0.0, 0.0, 0), seed)
    return work.pings, work.sums[batch]


def make_pings(count: int, n_data: int, batch: str, keys: dict, date: str, seed: int
               ) -> tuple[list[bytes], list[int]]:
    """count valid pings (one report each) and their plaintext sums, on every core."""
    workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    chunks = [count // workers + (i < count % workers) for i in range(workers)]
    public = [keys[s].public_key.to_hex() for s in "AB"]
    jobs = [(c, n_data, batch, *public, date, seed * 100 + i) for i, c in enumerate(chunks) if c]
    pings: list[bytes] = []
    sums = [0] * n_data
    with concurrent.futures.ProcessPoolExecutor(len(jobs)) as pool:
        for part, part_sums in pool.map(_generate, jobs):
            pings += part
            sums = [a + b for a, b in zip(sums, part_sums, strict=True)]
    return pings, sums


# --- one deployment ---------------------------------------------------------------------------

class Deployment:
    """Fresh projects and buckets of one run, and every service's environment."""

    def __init__(self, n_data: int, batch: str, keys: dict, secret: str, hosts: dict,
                 previous: dict | None = None):
        suffix = uuid.uuid4().hex[:8]
        self.projects = {"A": f"bench-a-{suffix}", "B": f"bench-b-{suffix}",
                         "ingest": f"bench-ingest-{suffix}"}
        self.buckets = {f"{s}-{kind}": f"bench-{s.lower()}-{kind}-{suffix}"
                        for s in "AB" for kind in ("inbox", "private")}
        self.ingest_bucket = f"bench-ingest-{suffix}"
        common = {
            "PUBSUB_EMULATOR_HOST": hosts["pubsub"], "STORAGE_EMULATOR_HOST": hosts["gcs"],
            "TRANSPORT": "pubsub", "STORAGE": "gcs", "PRG_MODE": "hash",
            "DATA_CONFIG": json.dumps([{"batch_id": batch, "n_data": n_data}]),
            "INGEST_PROJECT_ID": self.projects["ingest"],
            "PARTITION_MAX_REPORTS": str(PARTITION_MAX_REPORTS),
            "PARTITION_MAX_BYTES": str(PARTITION_MAX_BYTES),
        }
        self.env = {"ingest": {
            **common, "PROJECT_ID": self.projects["A"], "PEER_PROJECT_ID": self.projects["B"],
            "INBOX_BUCKET": self.buckets["A-inbox"], "PEER_INBOX_BUCKET": self.buckets["B-inbox"],
            "INGEST_BUCKET": self.ingest_bucket, "PUBSUB_MAX_MESSAGES": str(INGEST_WINDOW),
            "PUBSUB_MAX_BYTES": str(INGEST_WINDOW_BYTES),
            "PUBSUB_HANDLER_THREADS": str(INGEST_HANDLER_THREADS)}}
        for own, peer in (("A", "B"), ("B", "A")):
            self.env[own] = {
                **common, "SERVER_ID": own, "PROJECT_ID": self.projects[own],
                "PEER_PROJECT_ID": self.projects[peer],
                "INBOX_BUCKET": self.buckets[f"{own}-inbox"],
                "PRIVATE_BUCKET": self.buckets[f"{own}-private"],
                "PRIVATE_KEY_HEX": keys[own].to_hex(), "SHARED_SECRET": secret,
                "PUBLIC_KEY_HEX_INTERNAL": keys[own].public_key.to_hex(),
                "PUBLIC_KEY_HEX_EXTERNAL": keys[peer].public_key.to_hex(),
                "PUBSUB_MAX_MESSAGES": str(SERVER_WINDOW)}
            if previous:
                self.env[own]["PREVIOUS_PRIVATE_KEYS_HEX"] = previous[own].to_hex()

    def provision(self, admin, storage) -> None:
        from services.common.provision import Deployment, SubscriptionPolicy, provision

        provision(admin,
                  Deployment(self.projects["A"], self.projects["B"], self.projects["ingest"],
                             (*self.buckets.values(), self.ingest_bucket)),
                  SubscriptionPolicy(min_backoff=0.5, max_backoff=5.0), storage)


class Progress:
    """What the buckets say, read from this process: reports ingest wrote, partitions each
    server aggregated, results published."""

    def __init__(self, storage, deployment: Deployment, key):
        self.storage, self.deployment, self.key = storage, deployment, key
        self.manifests: dict[str, int] = {}  # pid -> reports

    def written(self) -> int:
        from services.protocol import layout

        bucket = self.deployment.ingest_bucket
        for name in self.storage.list(bucket, layout.ingest_manifest_prefix(self.key)):
            pid = layout.partition_ids([name])[0]
            if pid not in self.manifests:
                self.manifests[pid] = len(json.loads(self.storage.read(bucket, name))["report_ids"])
        return sum(self.manifests.values())

    def aggregated_everywhere(self) -> bool:
        from services.protocol import layout

        prefix = layout.internal_prefix("aggregate", self.key)
        return all(set(self.manifests) <= set(layout.partition_ids(
            self.storage.list(self.deployment.buckets[f"{s}-private"], prefix))) for s in "AB")

    def results(self) -> dict | None:
        from services.common.storage import ObjectNotFound
        from services.protocol import layout

        found = {}
        for server in "AB":
            try:
                found[server] = json.loads(self.storage.read(
                    self.deployment.buckets[f"{server}-private"], layout.result(self.key)))
            except ObjectNotFound:
                return None
        return found


def _wait(condition, timeout: float, what: str, processes) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        dead = [p.name for p in processes if p.popen.poll() is not None]
        if dead or time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}\n{p.log_tail(1500)}" for p in processes)
            raise stack.StackError(f"{'died: ' + ', '.join(dead) if dead else 'timed out'} "
                                   f"waiting for {what}\n{tails}")
        time.sleep(POLL)


def measure(n_data: int, pings: list[bytes], sums: list[int], keys: dict, secret: str,
            date: str, scratch: Path, previous: dict | None = None) -> dict:
    """One batch through a fresh stack (emulators included, so that their peak memory is this
    run's): stage times, CPU and peak memory per process. previous: each server's previous
    key (a keyring of two)."""
    logs = scratch / f"{n_data}-{len(pings)}{'-keyring' if previous else ''}"
    logs.mkdir()
    emulators = {PUBSUB: stack.start_pubsub(logs, EMULATOR_JAVA_OPTS)}
    try:
        emulators[GCS] = stack.start_gcs(logs)
        return _measure(n_data, pings, sums, keys, secret, date, emulators, logs, previous)
    finally:
        for emulator in emulators.values():
            emulator.stop()


def _measure(n_data: int, pings: list[bytes], sums: list[int], keys: dict, secret: str,
             date: str, emulators: dict[str, stack.Process], logs: Path,
             previous: dict | None) -> dict:
    from services import loadgen
    from services.common.pubsub import PubSubAdmin, PubSubTransport
    from services.common.storage_gcs import GcsStorage
    from services.protocol.layout import BatchKey

    batch = BATCH.format(n=n_data)
    hosts = {"pubsub": f"127.0.0.1:{emulators[PUBSUB].port}", "gcs": emulators[GCS].url}
    deployment = Deployment(n_data, batch, keys, secret, hosts, previous)
    storage = GcsStorage("bench", hosts["gcs"])
    deployment.provision(PubSubAdmin.for_emulator(hosts["pubsub"]), storage)
    services: dict[str, stack.Process] = {}
    try:
        for label in SERVICES:
            name, _, server = label.partition(" ")
            env = deployment.env["ingest" if name == "ingest" else server]
            services[label] = stack.start_service(label, name, env, logs)
        processes = [*emulators.values(), *services.values()]
        publisher = PubSubTransport(hosts["pubsub"])
        progress = Progress(storage, deployment, BatchKey(batch, date))
        before = {label: p.stats() for label, p in [*emulators.items(), *services.items()]}
        driver_before = resource.getrusage(resource.RUSAGE_SELF)

        start = time.monotonic()
        sampler = _RssSampler({label: p for label, p in [*emulators.items(), *services.items()]})
        sampler.start()
        loadgen.publish_all(publisher, deployment.projects["ingest"], pings, rate=None)
        stages = {"published": time.monotonic() - start}
        _wait(lambda: progress.written() >= len(pings), 300, "ingest", processes)
        stages["ingested"] = time.monotonic() - start
        _wait(progress.aggregated_everywhere, 300, "verification on both servers", processes)
        stages["verified"] = time.monotonic() - start
        closed = httpx.post(f"{services['aggregator A'].url}/batches/{batch}/{date}/close",
                            params={"force": "true"}, timeout=120)  # today's date: not over
        closed.raise_for_status()
        results: dict = {}
        _wait(lambda: results.update(progress.results() or {}) or results, 120,
              "publication on both servers", processes)
        stages["published results"] = time.monotonic() - start

        driver_after = resource.getrusage(resource.RUSAGE_SELF)
        after = {label: p.stats() for label, p in [*emulators.items(), *services.items()]}
        late = sampler.finish()
        publisher.publisher.stop()
    finally:
        for process in services.values():
            process.stop()
    correct = all(r["payload"] == sums and r["valid"] == len(pings) for r in results.values())
    if not correct:
        raise stack.StackError(f"wrong result at n_data {n_data}: "
                               f"{ {s: r.get('valid') for s, r in results.items()} }")
    cpu = {label: after[label][0] - before[label][0] for label in after}
    cpu["bench driver (publish, polls)"] = (driver_after.ru_utime + driver_after.ru_stime
                                            - driver_before.ru_utime - driver_before.ru_stime)
    peak = {label: after[label][1] for label in after}
    peak["bench driver (publish, polls)"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"  n_data {n_data}, {len(pings)} reports: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()), file=sys.stderr, flush=True)
    return {"n_data": n_data, "keys": 2 if previous else 1, "reports": len(pings),
            "stages": stages, "cpu": cpu, "peak": peak,
            "late": late,
            "partitions": len(progress.manifests), "ping_bytes": sum(map(len, pings)) / len(pings)}


class _RssSampler(threading.Thread):
    """Each process's resident memory every SAMPLE_SECONDS through the timed run; finish()
    gives the median of the second half's samples: where memory settled, next to the peak."""

    def __init__(self, processes: dict[str, stack.Process]):
        super().__init__(daemon=True)
        self.processes = processes
        self.samples: list[dict[str, int]] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            self.samples.append({label: p.rss() for label, p in self.processes.items()})

    def finish(self) -> dict[str, int]:
        self._done.set()
        self.join()
        late = self.samples[len(self.samples) // 2:] or self.samples
        return {label: int(statistics.median(s[label] for s in late)) if late else 0
                for label in self.processes}


@contextlib.contextmanager
def _all_cores():
    """The runner pins itself to one core (inherited by children); this suite needs them all."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    pinned = os.sched_getaffinity(0)
    os.sched_setaffinity(0, range(os.cpu_count() or 1))
    try:
        yield
    finally:
        os.sched_setaffinity(0, pinned)


def run(quick: bool) -> list[Table]:
    import libprio_ctypes as prio

    runs = QUICK_RUNS if quick else RUNS
    date = dt.datetime.now(dt.UTC).date().isoformat()  # today: no scheduled close races ours
    results = []
    with _all_cores(), tempfile.TemporaryDirectory(prefix="bench-streaming-") as tmp:
        for n_data, sizes in runs.items():
            keys = {s: prio.PrivateKey.generate() for s in "AB"}
            secret = base64.b64encode(prio.generate_shared_secret()).decode()
            # The bigger batch extends the smaller one: pings and sums made once.
            pings: list[bytes] = []
            sums = [0] * n_data
            for segment, size in enumerate(sorted(sizes)):
                more, more_sums = make_pings(size - len(pings), n_data,
                                             BATCH.format(n=n_data), keys, date, segment)
                pings += more
                sums = [a + b for a, b in zip(sums, more_sums, strict=True)]
                results.append(measure(n_data, pings, sums, keys, secret, date, Path(tmp)))
        results.append(_keyring_run(date, Path(tmp)))
    # The one per-report state of the pipeline, measured at a day's scale in process.
    return [*_tables(results), *anti_replay.tables(quick)]


def _keyring_run(date: str, scratch: Path) -> dict:
    """KEYRING_RUN mid-rotation: half the pings under the previous keys, in random order (as
    clients update one by one), in one batch."""
    import libprio_ctypes as prio

    n_data, count = KEYRING_RUN
    previous, keys = ({s: prio.PrivateKey.generate() for s in "AB"} for _ in range(2))
    secret = base64.b64encode(prio.generate_shared_secret()).decode()
    pings, sums = [], [0] * n_data
    for seed, ring_keys in enumerate((previous, keys)):
        more, more_sums = make_pings(count // 2, n_data, BATCH.format(n=n_data), ring_keys,
                                     date, 10 + seed)
        pings += more
        sums = [a + b for a, b in zip(sums, more_sums, strict=True)]
    random.Random(n_data).shuffle(pings)
    return measure(n_data, pings, sums, keys, secret, date, scratch, previous)


def _tables(results: list[dict]) -> list[Table]:
    mib = 1 << 20
    rate = Table(
        "streaming: end to end through the emulators, both servers, reports/s",
        ["n_data", "keys", "reports", "partitions", "ping KiB", "publish s", "ingested s",
         "verified s", "results s", "reports/s (to verified)", "reports/s (end to end)"],
    )
    for r in results:
        s = r["stages"]
        rate.add(r["n_data"], r["keys"], r["reports"], r["partitions"], r["ping_bytes"] / 1024,
                 s["published"], s["ingested"], s["verified"], s["published results"],
                 r["reports"] / s["verified"], r["reports"] / s["published results"])
    labels = list(results[0]["cpu"])
    cpu = Table("streaming: CPU seconds per process over the timed run (children included)",
                ["n_data", "reports", *labels, "total", "CPU-s per 1k reports"])
    memory = Table("streaming: peak RSS per process, MiB (VmHWM)", ["n_data", "reports", *labels])
    services = [k for k in labels if k in _sampled(results)]
    settled = Table("streaming: RSS per process in the second half of the run, MiB (median of "
                    f"samples every {SAMPLE_SECONDS} s)", ["n_data", "reports", *services])
    for r in results:
        settled.add(r["n_data"], r["reports"], *(r["late"][k] / mib for k in services))
        total = sum(r["cpu"].values())
        cpu.add(r["n_data"], r["reports"], *(r["cpu"][k] for k in labels), total,
                total * 1000 / r["reports"])
        memory.add(r["n_data"], r["reports"], *(r["peak"][k] / mib for k in labels))
    for keys in (1, 2):
        small = [r for r in results if r["n_data"] == 128 and r["keys"] == keys]
        if small:
            best = max(r["reports"] / r["stages"]["published results"] for r in small)
            rate.notes.append(
                f"Target at n_data 128: ≥ {TARGET_128:,.0f} reports/s end to end; measured "
                f"{best:,.0f} with {keys} key{'s' if keys > 1 else ''} per server"
                f"{' (half the reports under the previous one)' if keys > 1 else ''} "
                f"({'ok' if best >= TARGET_128 else 'UNDER'}).")
    rate.notes.append(
        f"{os.cpu_count()} cores shared by the Pub/Sub emulator, fake-gcs-server, "
        f"{len(SERVICES)} service processes ({INGEST_INSTANCES} ingest instances on one "
        f"subscription) and this driver; partitions of at most {PARTITION_MAX_REPORTS} reports "
        f"and {PARTITION_MAX_BYTES >> 20} MiB. Stage "
        "columns are seconds from the first publish.")
    memory.notes.append(
        "Every run starts fresh emulators and services; the driver's peak is cumulative (it "
        "holds the pre-encoded pings). The Pub/Sub emulator holds the published backlog.")
    settled.notes.append(
        "Where memory settles while the pipeline runs: flat as the batch grows means this "
        "column stays put from the smaller run to the larger one.")
    return [rate, cpu, memory, settled]


def _sampled(results: list[dict]) -> set[str]:
    """The processes the sampler watched (the emulators and services, not the driver)."""
    return set(results[0]["late"])
