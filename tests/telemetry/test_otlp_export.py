"""OTEL_EXPORTER=otlp really sends: `prio-stream embedded` as a subprocess exports OTLP/HTTP
protobuf to a receiver on 127.0.0.1 (OTEL_EXPORTER_OTLP_ENDPOINT), spans and metrics."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import subprocess
import sys
import threading
from collections import defaultdict
from pathlib import Path

from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

ROOT = Path(__file__).resolve().parents[2]

PROTOCOL_SPANS = {
    "ingest.flush_partition", "verifier.load_partition", "verifier.verify2",
    "verifier.decide_validity", "aggregator.partition_total", "aggregator.batch_close",
    "aggregator.total_share", "publisher.publish",
}


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: dict[str, list[bytes]] = defaultdict(list)
        self.content_types: set[str] = set()
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with self.server.lock:
            self.server.bodies[self.path].append(body)
            self.server.content_types.add(self.headers.get("Content-Type"))
        response = (trace_service_pb2.ExportTraceServiceResponse() if self.path == "/v1/traces"
                    else metrics_service_pb2.ExportMetricsServiceResponse()).SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(response)))
        self.end_headers()
        self.wfile.write(response)

    def log_message(self, *args):
        pass


def test_embedded_run_exports_spans_and_metrics_over_otlp_http(tmp_path):
    receiver = Receiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
               "OTEL_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
        run = subprocess.run(
            [sys.executable, "-m", "services.main", "embedded", "--json", "--reports", "30",
             "--partition-max-reports", "10", "--min-batch-size", "1"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False, env=env)
        assert run.returncode == 0, run.stderr[-3000:]
        assert json.loads(run.stdout)["ok"]
    finally:
        receiver.shutdown()
        thread.join()
    assert set(receiver.bodies) == {"/v1/traces", "/v1/metrics"}
    assert receiver.content_types == {"application/x-protobuf"}

    spans_by_service = defaultdict(set)
    for body in receiver.bodies["/v1/traces"]:
        request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = next(a.value.string_value for a in resource_spans.resource.attributes
                           if a.key == "service.name")
            for scope in resource_spans.scope_spans:
                spans_by_service[service] |= {span.name for span in scope.spans}
    names = set().union(*spans_by_service.values())
    assert PROTOCOL_SPANS <= names
    assert "ingest.import_partition" not in names  # pings, not staged files
    for server in "ab":
        assert {"verifier.load_partition", "verifier.verify2", "verifier.decide_validity"} <= \
            spans_by_service[f"prio-stream-verifier-{server}"]
        assert {"aggregator.partition_total", "aggregator.batch_close",
                "aggregator.total_share"} <= spans_by_service[f"prio-stream-aggregator-{server}"]
        assert "publisher.publish" in spans_by_service[f"prio-stream-publisher-{server}"]
    assert "ingest.flush_partition" in spans_by_service["prio-stream-ingest"]

    metric_names = set()
    for body in receiver.bodies["/v1/metrics"]:
        request = metrics_service_pb2.ExportMetricsServiceRequest.FromString(body)
        for resource_metrics in request.resource_metrics:
            for scope in resource_metrics.scope_metrics:
                metric_names |= {m.name for m in scope.metrics}
    assert {"prio.reports", "prio.stage.duration", "prio.partition.size",
            "prio.ingest.held_reports", "prio.verifier.awaiting_peer",
            "prio.messages.handled"} <= metric_names
