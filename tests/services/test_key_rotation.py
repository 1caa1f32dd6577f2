"""Key rotation on both servers: a batch half encrypted to old keys and half to new ones counts
exactly with keyrings, status and metrics say which key opened how many reports, and once the
old keys leave the rings their reports are DECRYPT_FAILED and counted as such."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import libprio_ctypes as prio
from services import loadgen
from services.aggregator.agreement import Agreement
from services.common.config import load_settings
from services.ingest import pings
from services.ingest.partitions import PartitionWriter
from services.protocol import layout, status
from services.protocol.layout import BatchKey
from tests.services.harness import BATCH, DATE, N_DATA, Cluster
from tests.services.test_embedded import _embedded

KEY = BatchKey(BATCH, DATE)
REPORTS = 12  # even ones to the new keys, odd ones to the old


def _values(i: int) -> list[int]:
    return [(i >> bit) & 1 for bit in range(N_DATA)]


def _run(cluster: Cluster, old: tuple[prio.PrivateKey, prio.PrivateKey]) -> None:
    """Writes one partition, half of it encrypted to the old keys, and runs it to publication."""
    reports = []
    for i in range(REPORTS):
        a, b = (cluster.key_a, cluster.key_b) if i % 2 == 0 else old
        client = prio.Client(prio.Config(N_DATA, BATCH, prio.PrgMode.HASH, a.public_key,
                                         b.public_key))
        share_a, share_b = client.encode(_values(i))
        ping = json.dumps(pings.ping(f"doc-{i}", [(BATCH, share_a, share_b)],
                                     f"{DATE}T10:00:00Z")).encode()
        reports += pings.parse(ping, {}, {BATCH: N_DATA})[0]
    PartitionWriter(cluster.contexts["ingest"]).write(KEY, "p1", reports)
    cluster.run_servers()
    Agreement(cluster.contexts["aggregator-A"]).close(KEY)
    cluster.run_servers()


def _result(cluster: Cluster, server: str) -> dict:
    bucket = cluster.settings[server].private_bucket
    return json.loads(cluster.storage.read(bucket, layout.result(KEY)))


def _opened_metric(cluster: Cluster, server: str) -> dict[str, int]:
    data = cluster.contexts[f"verifier-{server}"].telemetry.metric_reader.get_metrics_data()
    return {point.attributes["prio.key_fingerprint"]: point.value
            for resource in data.resource_metrics for scope in resource.scope_metrics
            for metric in scope.metrics if metric.name == "prio.verifier.reports_opened"
            for point in metric.data.data_points}


def _fingerprint(key: prio.PrivateKey) -> str:
    return key.public_key.fingerprint


def test_a_batch_under_old_and_new_keys_counts_exactly_on_both_servers(tmp_path):
    old = (prio.PrivateKey.generate(), prio.PrivateKey.generate())
    cluster = Cluster(tmp_path, previous={"A": [old[0]], "B": [old[1]]})
    _run(cluster, old)
    expected = [sum(_values(i)[j] for i in range(REPORTS)) for j in range(N_DATA)]
    for server, new, previous in (("A", cluster.key_a, old[0]), ("B", cluster.key_b, old[1])):
        result = _result(cluster, server)
        assert (result["payload"], result["valid"], result["rejected"]) == (expected, REPORTS, {})
        opened = {_fingerprint(new): REPORTS // 2, _fingerprint(previous): REPORTS // 2}
        assert status.batch_status(cluster.storage, cluster.settings[server], KEY)["keys"] == opened
        assert _opened_metric(cluster, server) == opened


def test_reports_under_a_retired_key_are_decrypt_failed(tmp_path):
    old = (prio.PrivateKey.generate(), prio.PrivateKey.generate())
    # The new keys only: the old ones were retired before these reports were loaded.
    cluster = Cluster(tmp_path, keys=(prio.PrivateKey.generate(), prio.PrivateKey.generate()))
    _run(cluster, old)
    expected = [sum(_values(i)[j] for i in range(0, REPORTS, 2)) for j in range(N_DATA)]
    for server, new in (("A", cluster.key_a), ("B", cluster.key_b)):
        result = _result(cluster, server)
        assert (result["payload"], result["valid"]) == (expected, REPORTS // 2)
        assert result["rejected"] == {"DECRYPT_FAILED": REPORTS // 2}
        found = status.batch_status(cluster.storage, cluster.settings[server], KEY)
        assert found["keys"] == {_fingerprint(new): REPORTS // 2}
        assert found["reports"]["rejected"] == {"DECRYPT_FAILED": REPORTS // 2}


def _pings_file(path, halves) -> dict:
    """Writes the pings of both halves; returns the expected counts of the batch."""
    path.write_bytes(b"".join(ping + b"\n" for work in halves for ping in work.pings))
    return {"sums": [sum(c) for c in zip(*(w.sums["rot-0"] for w in halves))],
            "valid": sum(w.valid["rot-0"] for w in halves),
            "rejected": dict(sum((w.rejected["rot-0"] for w in halves), Counter()))}


def test_the_embedded_command_takes_keyrings(tmp_path):
    """--private-key-a NEW --private-key-a OLD (and B's): both halves count, status shows
    which key opened how many; a run without the old keys counts their reports as
    DECRYPT_FAILED."""
    new = {s: prio.PrivateKey.generate() for s in "AB"}
    old = {s: prio.PrivateKey.generate() for s in "AB"}
    today = dt.datetime.now(dt.UTC).date().isoformat()
    no_bad_pings = loadgen.Mix(bad_pings=0)
    halves = [loadgen.generate(60, {"rot-0": 6}, keys["A"].public_key, keys["B"].public_key,
                               prio.PrgMode.RAW, today, no_bad_pings, seed=seed)
              for seed, keys in enumerate((old, new))]
    expected = _pings_file(tmp_path / "pings.ndjson", halves)
    common = ("--pings", str(tmp_path / "pings.ndjson"), "--min-batch-size", "1",
              "--data-config", '[{"batch_id": "rot-0", "n_data": 6}]')
    rings = ("--private-key-a", new["A"].to_hex(), "--private-key-a", old["A"].to_hex(),
             "--private-key-b", new["B"].to_hex(), "--private-key-b", old["B"].to_hex())
    run = _embedded(*common, *rings, "--expect", json.dumps({"rot-0": expected["sums"]}),
                    tmp_path=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    [batch] = json.loads(run.stdout)["batches"]
    for server in "AB":
        assert batch["result"][server]["valid"] == expected["valid"]
        assert batch["status"][server]["reports"]["rejected"] == expected["rejected"]
        # A's share made undecryptable on purpose (loadgen's mix) is opened by no key of A's.
        opened = {key.public_key.fingerprint: 60 - (server == "A") * half.rejected["rot-0"][
            "DECRYPT_FAILED"] for key, half in ((old[server], halves[0]), (new[server], halves[1]))}
        assert batch["status"][server]["keys"] == dict(sorted(opened.items()))
    retired = _embedded(*common, "--private-key-a", new["A"].to_hex(),
                        "--private-key-b", new["B"].to_hex(), tmp_path=tmp_path)
    [batch] = json.loads(retired.stdout)["batches"]
    for server in "AB":
        rejected = batch["status"][server]["reports"]["rejected"]
        assert rejected["DECRYPT_FAILED"] == 60 + halves[1].rejected["rot-0"]["DECRYPT_FAILED"]
        assert batch["result"][server]["valid"] == halves[1].valid["rot-0"]


def test_none_is_a_keyring_of_the_current_key_only():
    """What Secret Manager holds before the first rotation: PREVIOUS_PRIVATE_KEYS_HEX=none."""
    key = prio.PrivateKey.generate()
    settings = load_settings("aggregator", server_id="A", data_config={BATCH: N_DATA},
                             private_key_hex=key.to_hex(), previous_private_keys_hex=" None ")
    assert settings.private_keys == [key.to_bytes()]
