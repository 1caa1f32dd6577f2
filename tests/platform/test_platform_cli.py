"""The `prio-stream` skeleton: setup (idempotent), dead-letters, serve as a process; telemetry export."""

from __future__ import annotations

import http.server
import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from services.common import topology
from services.common.pubsub import PubSubTransport
from services.common.telemetry import Telemetry
from services.main import cli

HERE = Path(__file__).resolve().parent


def _setup_args(projects):
    return ["setup", "--project-a", projects.a, "--project-b", projects.b,
            "--project-ingest", projects.ingest, "--min-backoff", "0.1", "--max-backoff", "1"]


def test_setup_creates_everything_once(pubsub_emulator, gcs_emulator, unique_projects):
    runner = CliRunner()
    first = runner.invoke(cli, _setup_args(unique_projects))
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    for project in (unique_projects.a, unique_projects.b):
        for spec in (s for s in topology.SUBSCRIPTIONS if s.side == "server"):
            assert f"created subscription {project}/{spec.name}" in lines
            assert f"created subscription {project}/{spec.topic}-dead-letter-inspect" in lines
        assert f"created topic {project}/prio-results" in lines
    assert f"created subscription {unique_projects.ingest}/prio-pings-ingest" in lines
    assert f"created topic {unique_projects.ingest}/prio-pings-dead-letter" in lines
    # 2 x (8 topics + 7 dead-letter topics + 7 + 7 subscriptions) + ingest (2 topics + 2 subs)
    assert len([line for line in lines if line.startswith(("created topic",
                                                           "created subscription"))]) == 2 * 29 + 4
    again = runner.invoke(cli, _setup_args(unique_projects))
    assert again.exit_code == 0 and again.output.strip() == "0 created, the rest already existed"
    from services.common.storage_gcs import GcsStorage

    buckets = {b.name for b in GcsStorage("x", gcs_emulator.host).client.list_buckets()}
    assert {"prio-a-inbox", "prio-a-private", "prio-b-inbox", "prio-b-private"} <= buckets


def test_setup_creates_the_names_the_settings_give(pubsub_emulator, gcs_emulator,
                                                  unique_projects, unique_name, monkeypatch):
    """Server B's settings name its own project and buckets and the peer's; setup creates
    exactly those (and the peer's private bucket, which no setting of B names)."""
    names = {"INBOX_BUCKET": unique_name("b-in"), "PRIVATE_BUCKET": unique_name("b-priv"),
             "PEER_INBOX_BUCKET": unique_name("a-in"), "INGEST_BUCKET": unique_name("ing"),
             "STAGING_BUCKETS": unique_name("stage")}
    for name, value in {**names, "SERVER_ID": "B", "PROJECT_ID": unique_projects.b,
                        "PEER_PROJECT_ID": unique_projects.a,
                        "INGEST_PROJECT_ID": unique_projects.ingest}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["setup", "--min-backoff", "0.1", "--max-backoff", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for project in (unique_projects.a, unique_projects.b):
        assert f"created topic {project}/prio-partitions" in lines
    assert f"created subscription {unique_projects.ingest}/prio-pings-ingest" in lines
    created = {line.removeprefix("created bucket ") for line in lines
               if line.startswith("created bucket ")}
    assert set(names.values()) <= created <= {*names.values(), "prio-a-private"}
    assert not any("prio-b-inbox" in line or "prio-ingest " in line for line in lines)
    from services.common.storage_gcs import GcsStorage

    existing = {b.name for b in GcsStorage("x", gcs_emulator.host).client.list_buckets()}
    assert set(names.values()) <= existing


def test_setup_subscriptions_dead_letter_after_max_attempts(pubsub_emulator, gcs_emulator,
                                                            unique_projects):
    assert CliRunner().invoke(cli, _setup_args(unique_projects)).exit_code == 0
    transport = PubSubTransport(pubsub_emulator.host)
    transport.admin.pull_wait = 1.0
    failures = []

    def handler(message):
        failures.append(message.delivery_attempt)
        raise RuntimeError("undecodable")

    subscription = transport.subscribe(unique_projects.a, "prio-verified-aggregator", handler)
    try:
        transport.publish(unique_projects.a, topology.VERIFIED, b"not a protobuf")
        deadline = time.monotonic() + 30
        while len(failures) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        subscription.stop()
    assert failures[:5] == [1, 2, 3, 4, 5]
    env = {"PROJECT_ID": unique_projects.a}
    entries: list[dict] = []
    for _ in range(5):  # the emulator forwards to the dead-letter topic asynchronously
        listed = CliRunner().invoke(cli, ["dead-letters", "list", "--topic", "prio-verified"],
                                    env=env)
        assert listed.exit_code == 0, listed.output
        entries = [json.loads(line) for line in listed.output.splitlines()]
        if entries:
            break
    [entry] = entries
    assert entry["topic"] == "prio-verified" and entry["size"] == len(b"not a protobuf")
    shown = CliRunner().invoke(
        cli, ["dead-letters", "show", "--topic", "prio-verified", entry["message_id"]], env=env)
    assert json.loads(shown.output)["data"] == "bm90IGEgcHJvdG9idWY="
    # The re-driven message is watched on a subscription of its own: the one the handler
    # stopped on may still be held by the emulator's cancelled stream (ENVIRONMENT.md, trap 2),
    # which takes the message again and again until it is dead-lettered anew.
    witness = f"witness-{unique_projects.a}"
    transport.admin.create_subscription(unique_projects.a, witness, topology.VERIFIED)
    redriven = CliRunner().invoke(cli, ["dead-letters", "redrive", "--topic", "prio-verified"],
                                  env=env)
    assert redriven.output.strip() == "prio-verified: 1 re-driven"
    pulled, deadline = [], time.monotonic() + 30
    while not pulled and time.monotonic() < deadline:
        pulled = transport.admin.pull(unique_projects.a, witness, 10)
    [back] = pulled
    assert back.message.data == b"not a protobuf"
    refused = CliRunner().invoke(cli, ["dead-letters", "discard", "--topic", "prio-verified"],
                                 env=env)
    assert refused.exit_code != 0 and "--all" in refused.output


def test_serve_process_takes_pushes_and_stops_cleanly(pubsub_admin, start_service,
                                                      unique_name, tmp_path):
    subscription = unique_name("push")
    service = start_service("echo_service:build", "serve", {
        "PYTHONPATH": os.pathsep.join([str(HERE.parent.parent), str(HERE)]),
        "ECHO_SUBSCRIPTION": subscription, "STORAGE": "local",
        "LOCAL_STORAGE_DIR": str(tmp_path / "store")})
    topic = unique_name("topic")
    pubsub_admin.create_topic("server-a", topic)
    pubsub_admin.create_subscription("server-a", subscription, topic,
                                     push_endpoint=f"{service.url}/push/{subscription}")
    transport = PubSubTransport(os.environ["PUBSUB_EMULATOR_HOST"])
    message_id = transport.publish("server-a", topic, b"pushed")
    echo = tmp_path / "store" / "prio-a-private" / "echo" / message_id
    deadline = time.monotonic() + 30
    while not echo.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert echo.read_bytes() == b"pushed"
    assert httpx.get(f"{service.url}/__heartbeat__").json()["status"] == "ok"
    pubsub_admin.delete_subscription("server-a", subscription)
    # uvicorn re-raises the SIGTERM it handled once its shutdown (lifespan included) is done
    assert service.stop() in (0, -signal.SIGTERM)
    background = sorted(p.name.split("-")[0]
                        for p in (tmp_path / "store" / "prio-a-private" / "background").glob("*"))
    assert background == ["started", "stopped"]


def test_unknown_service_name_is_a_usage_error():
    result = CliRunner().invoke(cli, ["worker", "nonsense"])
    assert result.exit_code == 2 and "ingest, verifier, aggregator, publisher" in result.output


def test_otlp_exporter_sends_spans_over_http(monkeypatch):
    received: list[tuple[str, int]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append((self.path, len(self.rfile.read(length))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    telemetry = Telemetry.from_exporter("otlp", "verifier")
    with telemetry.tracer.start_as_current_span("verify1"):
        pass
    telemetry.counter("prio.reports").add(3, {"outcome": "valid"})
    telemetry.shutdown()
    server.shutdown()
    paths = {path for path, size in received if size > 0}
    assert {"/v1/traces", "/v1/metrics"} <= paths


def test_no_exporter_still_propagates_trace_context():
    telemetry = Telemetry.from_exporter("none", "ingest")
    with telemetry.tracer.start_as_current_span("ingest"):
        carried = telemetry.inject({})
    assert carried["traceparent"].startswith("00-")
    assert telemetry.extract(carried) is not None
    assert telemetry.inject({}) == {}  # outside a span: nothing to carry
