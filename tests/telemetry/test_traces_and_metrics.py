"""Telemetry of the embedded two-server system, with in-memory exporters: one partition's trace
through ingest and both servers, the batch trace linked to it, exact report counters, backlog
gauges, and nothing secret on a span, a metric or a log line."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import logging
from collections import Counter, defaultdict

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import libprio_ctypes as prio
from services import embedded, loadgen
from services.common.telemetry import Telemetry
from services.ingest import pings
from services.ingest.holding import Holding
from services.ingest.partitions import PartitionWriter
from services.protocol.layout import BatchKey
from tests.services.harness import BATCH, DATE, Cluster

CONFIG = {"tele-0": 8}
# Recent: ingest takes only dates inside REPLAY_RETENTION_DAYS (older pings are refused).
DATE_ = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3)).isoformat()
REPORTS = 40
PARTITION = 10
MIX = loadgen.Mix(non_binary=0.15, corrupt_share=0.1, bad_pings=2)

PARTITION_STAGES = ("verifier.load_partition", "verifier.verify2", "verifier.decide_validity",
                    "aggregator.partition_total")
BATCH_STAGES = ("aggregator.batch_close", "aggregator.total_share", "publisher.publish")


class InMemorySystem(embedded.EmbeddedSystem):
    """Every service exports to one span exporter (one trace across services); each has its
    own metric reader."""

    def __init__(self, *args, **kwargs):
        self.spans = InMemorySpanExporter()
        super().__init__(*args, **kwargs)

    def telemetry(self, label, settings):
        return Telemetry.in_memory(label, spans=self.spans)


@dataclasses.dataclass
class Run:
    system: InMemorySystem
    secrets: embedded.Secrets
    work: loadgen.Workload
    spans: list
    logs: list[str]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    secrets = embedded.Secrets.generate()
    system = InMemorySystem(tmp_path_factory.mktemp("store"), secrets, data_config=CONFIG,
                            partition_max_reports=PARTITION, partition_max_age_seconds=2.0,
                            min_batch_size=1, prg_mode="hash")
    work = loadgen.generate(REPORTS, CONFIG, secrets.key_a.public_key, secrets.key_b.public_key,
                            prio.PrgMode.HASH, DATE_, MIX, seed=7)
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        system.start()
        system.send_pings(work.pings)
        embedded.run(system, None, len(work.pings), timeout=120, progress=False)
    finally:
        system.stop()
        root.removeHandler(handler)
        root.setLevel(old_level)
    logs = [f"{r.getMessage()} {r.__dict__} {r.exc_text or ''}" for r in records]
    return Run(system, secrets, work, list(system.spans.get_finished_spans()), logs)


def _server(span) -> str | None:
    return span.attributes.get("prio.server_id")


def _by_trace(spans) -> dict[int, list]:
    traces = defaultdict(list)
    for span in spans:
        traces[span.context.trace_id].append(span)
    return traces


def test_workload_has_rejections_of_every_kind(run):
    # Guards the other tests: they are only exact if the run rejected something.
    assert run.work.rejected["tele-0"]["INVALID_PROOF"] > 0
    assert run.work.rejected["tele-0"]["DECRYPT_FAILED"] > 0
    assert run.work.valid["tele-0"] > 0


def test_each_partition_has_its_own_trace_through_both_servers(run):
    flushes = [s for s in run.spans if s.name == "ingest.flush_partition"]
    assert len(flushes) == REPORTS // PARTITION  # 40 one-report pings, 10 per partition
    traces = _by_trace(run.spans)
    ping_spans = {s.context.span_id: s for s in run.spans if s.name == "prio-pings-ingest process"}
    for flush in flushes:
        assert flush.parent is None  # a root: the partition's own trace
        assert flush.attributes["prio.server_id"] == "ingest"
        assert flush.attributes["prio.batch_id"] == "tele-0"
        assert flush.attributes["prio.date"] == DATE_
        assert flush.attributes["prio.reports"] == PARTITION
        # Linked to each ping it holds (one report per ping here), in the pings' own traces.
        assert len(flush.links) == PARTITION
        linked = [ping_spans[link.context.span_id] for link in flush.links]
        assert {p.context.trace_id for p in linked}.isdisjoint({flush.context.trace_id})
        assert all(p.kind == SpanKind.CONSUMER for p in linked)

        trace = traces[flush.context.trace_id]
        pid = flush.attributes["prio.partition_id"]
        ids = {s.context.span_id for s in trace}
        for span in trace:
            assert span is flush or span.parent.span_id in ids  # one tree under the flush
            if span is not flush:
                assert span.attributes["prio.partition_id"] == pid
        staged = {(s.name, _server(s)) for s in trace if s.name in PARTITION_STAGES}
        assert staged == {(name, server) for name in PARTITION_STAGES for server in "AB"}
        consumers = Counter((s.name, _server(s)) for s in trace if s.kind == SpanKind.CONSUMER)
        # Both servers got the notice; each got the other's verify1 and verify2 (cross-server;
        # verify2 goes out again when both halves of its join race: idempotent).
        for server in "AB":
            assert consumers[("prio-partitions-verifier process", server)] == 1
            assert consumers[("prio-verify1-verifier process", server)] == 1
            assert consumers[("prio-verify2-verifier process", server)] >= 1
            assert consumers[("prio-verified-aggregator process", server)] >= 1
        # B's verify1 consumer is a child of A's load step's publish (and vice versa).
        by_id = {s.context.span_id: s for s in trace}
        for server, peer in (("A", "B"), ("B", "A")):
            received = next(s for s in trace if s.name == "prio-verify1-verifier process"
                            and _server(s) == server)
            sender = by_id[received.parent.span_id]
            assert _server(sender) == peer
            assert sender.name == "prio-partitions-verifier process" or \
                sender.name == "prio-verify1-verifier process"


def test_the_batch_trace_links_every_partition_and_reaches_both_publishers(run):
    traces = _by_trace(run.spans)
    closes = [s for s in run.spans if s.name == "aggregator.batch_close"]
    close_a = [s for s in closes if _server(s) == "A"]
    assert len(close_a) == 1
    close = close_a[0]
    assert close.parent is None  # the run closes from outside any trace
    assert close.attributes["prio.partitions"] == REPORTS // PARTITION
    batch = traces[close.context.trace_id]
    steps = {(s.name, _server(s)) for s in batch if s.name in BATCH_STAGES}
    assert steps == {(name, server) for name in BATCH_STAGES for server in "AB"}
    published = {_server(s) for s in batch if s.name == "publisher.publish"
                 and s.attributes["prio.outcome"] == "published"}
    assert published == {"A", "B"}
    for span in batch:
        assert span.attributes.get("prio.batch_id") == "tele-0"
    # The close links to the aggregation of each partition: from any partition's trace, the
    # link leads to both publishers.
    flushes = {s.context.trace_id for s in run.spans if s.name == "ingest.flush_partition"}
    linked = {link.context.trace_id for link in close.links}
    assert linked == flushes
    for link in close.links:
        target = next(s for s in traces[link.context.trace_id]
                      if s.context.span_id == link.context.span_id)
        assert (target.name, _server(target)) == ("aggregator.partition_total", "A")


def _points(system, name: str, label: str):
    reader = system.contexts[label].telemetry.metric_reader
    data = reader.get_metrics_data()
    found = []
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    found += metric.data.data_points
    return found


def _reports(system, label: str) -> dict:
    counts = Counter()
    for point in _points(system, "prio.reports", label):
        a = point.attributes
        counts[(a["prio.server_id"], a["prio.outcome"], a["prio.reason"])] += point.value
    return {k: v for k, v in counts.items() if v}


def test_report_counters_equal_the_workload(run):
    rejected = run.work.rejected["tele-0"]
    for server in "AB":
        expected = {(server, "valid", ""): run.work.valid["tele-0"],
                    **{(server, "rejected", reason): n for reason, n in rejected.items()}}
        assert _reports(run.system, f"verifier-{server.lower()}") == expected
    assert _reports(run.system, "ingest") == {
        ("ingest", "written", ""): REPORTS,
        ("ingest", "rejected", "BAD_ENCODING"): 1,
        ("ingest", "rejected", "UNKNOWN_BATCH_ID"): 1,
    }


def test_stage_latency_and_partition_size(run):
    stages = Counter()
    for label in run.system.contexts:
        for point in _points(run.system, "prio.stage.duration", label):
            assert point.min >= 0 and point.max < 60
            stages[(point.attributes["prio.stage"], point.attributes.get("prio.server_id"))] \
                += point.count
    assert stages[("ingest.flush_partition", "ingest")] == REPORTS // PARTITION
    for server in "AB":
        assert stages[("aggregator.total_share", server)] == 1
        for name in PARTITION_STAGES:
            assert stages[(name, server)] >= REPORTS // PARTITION
        assert stages[("publisher.publish", server)] == 2  # own share and the peer's
    sizes = _points(run.system, "prio.partition.size", "ingest")
    assert [(p.count, p.sum) for p in sizes] == [(REPORTS // PARTITION, REPORTS)]


def test_backlog_gauges_are_empty_once_published(run):
    held = _points(run.system, "prio.ingest.held_reports", "ingest")
    assert [p.value for p in held] == [0]
    for server in "AB":
        awaiting = _points(run.system, "prio.verifier.awaiting_peer", f"verifier-{server.lower()}")
        assert [(p.value, dict(p.attributes)) for p in awaiting] == [(0, {"prio.server_id":
                                                                          server})]


ALLOWED_ATTRIBUTES = {
    "prio.server_id", "prio.batch_id", "prio.date", "prio.partition_id", "prio.reports",
    "prio.pings", "prio.dropped_reports", "prio.loaded_reports", "prio.valid_reports",
    "prio.partitions", "prio.sender", "prio.outcome", "messaging.message.id",
    "messaging.destination.subscription.name", "messaging.gcp_pubsub.message.delivery_attempt",
}


def test_no_key_share_or_secret_material_in_spans_metrics_or_logs(run):
    spans_text = []
    for span in run.spans:
        assert set(span.attributes) <= ALLOWED_ATTRIBUTES, span.name
        assert not span.events  # no exception (with its message) recorded in a good run
        spans_text.append(json.dumps({**span.attributes, "name": span.name,
                                      "resource": dict(span.resource.attributes)}))
    metrics_text = []
    for ctx in run.system.contexts.values():
        data = ctx.telemetry.metric_reader.get_metrics_data()
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        metric_attributes = set(point.attributes)
                        assert metric_attributes <= ALLOWED_ATTRIBUTES | {
                            "prio.reason", "prio.stage", "subscription", "outcome",
                            "prio.key_fingerprint"}, metric.name
                        metric_attributes_text = json.dumps(dict(point.attributes))
                        metrics_text.append(metric_attributes_text)
    haystack = "\n".join(spans_text + metrics_text + run.logs)
    assert run.logs  # the run logged something: the check below looked at it
    secrets = run.secrets
    forbidden = {
        secrets.key_a.to_hex(), secrets.key_b.to_hex(),
        base64.b64encode(secrets.shared_secret).decode(), secrets.shared_secret.hex(),
    }
    for data in run.work.pings:
        for entry in json.loads(data)["payload"]["prioData"]:
            forbidden |= {entry["prio"]["a"][:32], entry["prio"]["b"][:32]}
    forbidden = {f for f in forbidden if len(f) >= 16}
    assert len(forbidden) > 4
    assert [f for f in forbidden if f in haystack] == []


# --- backlog while a peer is away, on the stepped harness


def test_awaiting_peer_counts_partitions_loaded_until_the_peer_answers(tmp_path):
    cluster = Cluster(tmp_path)
    reports = []
    for i in range(6):
        reports += pings.parse(cluster.ping(f"doc-{i}", [i & 1] * 8), {}, {BATCH: 8})[0]
    writer = PartitionWriter(cluster.contexts["ingest"])
    key = BatchKey(BATCH, DATE)
    writer.write(key, "p1", reports[:3])
    writer.write(key, "p2", reports[3:])

    def awaiting(label):
        return [p.value for p in _points(cluster, "prio.verifier.awaiting_peer", label)]

    assert cluster.pump("verifier-A", "prio-partitions-verifier") == 2
    assert awaiting("verifier-A") == [2]  # B has not answered
    assert awaiting("verifier-B") == [0]
    cluster.run_servers()
    assert awaiting("verifier-A") == [0]
    assert awaiting("verifier-B") == [0]


def test_held_reports_counts_reports_whose_pings_wait_for_their_partition(tmp_path):
    cluster = Cluster(tmp_path)
    ctx = dataclasses.replace(cluster.contexts["ingest"], telemetry=Telemetry.in_memory("held"))
    holding = Holding(PartitionWriter(ctx), cluster.settings["ingest"])
    for i in range(3):
        found, _ = pings.parse(cluster.ping(f"doc-{i}", [1] * 8), {}, {BATCH: 8})
        holding.submit(found, [])

    def held():
        data = ctx.telemetry.metric_reader.get_metrics_data()
        return [p.value for r in data.resource_metrics for s in r.scope_metrics
                for m in s.metrics if m.name == "prio.ingest.held_reports"
                for p in m.data.data_points]

    assert held() == [3]
    holding.flush_all()
    assert held() == [0]
