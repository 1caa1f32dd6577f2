"""The service runtime: push endpoints, Dockerflow, dead-letter routes, worker and serve processes."""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from services.common import topology
from services.common.config import load_settings
from services.common.errors import RetryLater
from services.common.inprocess import InProcessTransport
from services.common.runtime import ServiceContext, ServiceDefinition, build_app
from services.common.storage_local import LocalStorage
from services.common.telemetry import Telemetry
from services.common.transport import Message

HERE = Path(__file__).resolve().parent
SUB = "prio-partitions-verifier"
SECRET_DATA = b"share-bytes-never-logged"


def _envelope(data: bytes, attributes=None, message_id="m-1", subscription=SUB, **extra):
    return {"message": {"data": base64.b64encode(data).decode(), "attributes": attributes or {},
                        "messageId": message_id, "publishTime": "2026-11-22T00:00:00Z"},
            "subscription": f"projects/server-a/subscriptions/{subscription}", **extra}


class Recorder:
    def __init__(self, error: Exception | None = None):
        self.messages: list[Message] = []
        self.error = error

    def __call__(self, message: Message) -> None:
        self.messages.append(message)
        if self.error is not None:
            raise self.error


@pytest.fixture
def ctx(tmp_path):
    return ServiceContext(
        settings=load_settings(push_auth="none", admin_auth="none", storage="local",
                               transport="inprocess", local_storage_dir=tmp_path),
        storage=LocalStorage(tmp_path),
        transport=InProcessTransport(),
        telemetry=Telemetry.in_memory(),
    )


def _client(ctx, handler, **definition) -> TestClient:
    app = build_app(ServiceDefinition("verifier", {SUB: handler}, **definition), ctx)
    return TestClient(app)


def test_push_acks_with_2xx_and_hands_over_the_message(ctx):
    recorder = Recorder()
    with _client(ctx, recorder) as client:
        response = client.post(f"/push/{SUB}", json=_envelope(b"\x00\x01", {"k": "v"},
                                                               deliveryAttempt=3))
    assert response.status_code == 204
    [message] = recorder.messages
    assert message == Message(b"\x00\x01", {"k": "v"}, "m-1", SUB, 3)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"subscription": "x"}).encode(),
        json.dumps({"message": {"data": "AAAA"}}).encode(),  # no messageId
        json.dumps({"message": {"data": "***", "messageId": "1"}}).encode(),
        json.dumps({"message": {"messageId": "1", "attributes": {"a": 1}}}).encode(),
        json.dumps(_envelope(b"x", subscription="prio-verify1-verifier")).encode(),
        json.dumps(_envelope(b"x", deliveryAttempt="2")).encode(),
    ],
)
def test_malformed_envelopes_get_400_and_never_reach_the_handler(ctx, body):
    recorder = Recorder()
    with _client(ctx, recorder) as client:
        response = client.post(f"/push/{SUB}", content=body)
    assert response.status_code == 400
    assert recorder.messages == []


def test_unknown_subscription_is_404(ctx):
    with _client(ctx, Recorder()) as client:
        response = client.post("/push/prio-verify2-verifier",
                               json=_envelope(b"x", subscription="prio-verify2-verifier"))
    assert response.status_code == 404


def test_handler_errors_nack_with_5xx_and_logs_hold_no_data(ctx, caplog):
    with caplog.at_level(logging.INFO):
        with _client(ctx, Recorder(ValueError(SECRET_DATA.decode()))) as client:
            failed = client.post(f"/push/{SUB}", json=_envelope(SECRET_DATA))
        with _client(ctx, Recorder(RetryLater("peer late"))) as client:
            transient = client.post(f"/push/{SUB}", json=_envelope(SECRET_DATA))
    assert failed.status_code == 500 and transient.status_code == 503
    assert SECRET_DATA.decode() not in failed.text + transient.text
    records = [r for r in caplog.records if r.name == "prio_stream.runtime"]
    assert [r.levelname for r in records] == ["ERROR", "WARNING"]
    assert records[0].message_id == "m-1" and records[0].subscription == SUB
    from services.common.logging import JsonFormatter

    formatted = JsonFormatter().format(records[1])
    assert json.loads(formatted)["subscription"] == SUB
    assert base64.b64encode(SECRET_DATA).decode() not in formatted


def test_empty_push_data_is_an_empty_message(ctx):
    recorder = Recorder()
    with _client(ctx, recorder) as client:
        response = client.post(f"/push/{SUB}",
                               json={"message": {"messageId": "9", "attributes": {"a": "b"}}})
    assert response.status_code == 204
    assert recorder.messages[0].data == b"" and recorder.messages[0].delivery_attempt is None


def test_push_auth_hook_is_called(tmp_path):
    settings = load_settings(push_auth="oidc", storage="local", local_storage_dir=tmp_path)
    ctx = ServiceContext(settings, LocalStorage(tmp_path), InProcessTransport(),
                         Telemetry.in_memory())
    recorder = Recorder()
    with _client(ctx, recorder) as client:
        response = client.post(f"/push/{SUB}", json=_envelope(b"x"),
                               headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code in (401, 403, 500)  # push_auth decides; never a delivery
    assert recorder.messages == []


def test_dockerflow_docs_and_the_service_router(ctx):
    import fastapi

    router = fastapi.APIRouter()
    router.add_api_route("/batches", lambda: {"batches": []})
    with _client(ctx, Recorder(), router=router) as client:
        assert client.get("/__lbheartbeat__").status_code == 200
        heartbeat = client.get("/__heartbeat__")
        assert heartbeat.status_code == 200 and heartbeat.json()["checks"]["storage"] == "ok"
        assert set(client.get("/__version__").json()) >= {"source", "version", "commit"}
        assert client.get("/docs").status_code == 200
        paths = client.get("/openapi.json").json()["paths"]
        assert {"/push/{subscription}", "/batches", "/dead-letters",
                "/dead-letters/{subscription}/redrive"} <= set(paths)
        assert client.get("/batches").json() == {"batches": []}


def test_heartbeat_fails_when_a_check_fails(ctx):
    def broken() -> None:
        raise ConnectionError("down")

    with _client(ctx, Recorder(), heartbeat_checks={"peer": broken}) as client:
        response = client.get("/__heartbeat__")
    assert response.status_code == 500
    assert response.json()["checks"] == {"storage": "ok", "peer": "error: ConnectionError",
                                         "background": "ok"}


def test_background_tasks_run_for_the_app_lifetime(ctx):
    events = []

    def task(stop: threading.Event) -> None:
        events.append("started")
        stop.wait()
        events.append("stopped")

    with _client(ctx, Recorder(), background=[task]):
        time.sleep(0.2)
        assert events == ["started"]
    assert events == ["started", "stopped"]


def test_handler_spans_continue_the_publishers_trace(ctx):
    tracer = ctx.telemetry.tracer
    with tracer.start_as_current_span("publish") as parent:
        attributes = ctx.telemetry.inject({"k": "v"})
    assert attributes["traceparent"].split("-")[1] == format(parent.get_span_context().trace_id,
                                                             "032x")
    with _client(ctx, Recorder()) as client:
        client.post(f"/push/{SUB}", json=_envelope(b"x", attributes))
    [consumer] = [s for s in ctx.telemetry.spans.get_finished_spans()
                  if s.name == f"{SUB} process"]
    assert consumer.context.trace_id == parent.get_span_context().trace_id
    assert consumer.parent.span_id == parent.get_span_context().span_id


def test_dead_letter_routes_list_and_redrive(ctx):
    transport = ctx.transport
    project = ctx.settings.project_id
    topic = topology.PARTITIONS
    dead = topology.dead_letter_topic(topic)
    for name in (topic, dead):
        transport.create_topic(project, name)
    transport.create_subscription(project, topology.inspect_subscription(topic), dead)
    transport.create_subscription(project, SUB, topic, dead_letter_topic=dead)
    transport.publish(project, dead, b"poison", {"batch_id": "b"})
    with _client(ctx, Recorder()) as client:
        listed = client.get("/dead-letters").json()
        assert [(m["attributes"], m["size"]) for m in listed[SUB]] == [({"batch_id": "b"}, 6)]
        assert client.post(f"/dead-letters/{SUB}/redrive").json() == {"redriven": 1}
        assert client.get("/dead-letters").json()[SUB] == []
        assert client.post("/dead-letters/nope/redrive").status_code == 404
    [pulled] = transport.pull(project, SUB, 10)
    assert pulled.message.data == b"poison"


# --- real HTTP: the emulator pushes to an app served by uvicorn


@pytest.fixture
def served_app(ctx):
    from tests.conftest import free_port

    servers = []

    def serve(definition: ServiceDefinition) -> str:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(build_app(definition, ctx), host="127.0.0.1",
                                               port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return f"http://127.0.0.1:{port}"

    yield serve
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


def test_emulator_push_subscription_reaches_the_app_and_5xx_redelivers(
        pubsub_admin, served_app, unique_name):
    received: list[Message] = []
    arrived = threading.Event()

    def handler(message: Message) -> None:
        received.append(message)
        if len(received) == 1:
            raise RuntimeError("first delivery fails")
        arrived.set()

    subscription = unique_name("push")
    url = served_app(ServiceDefinition("verifier", {subscription: handler}))
    topic = unique_name("topic")
    pubsub_admin.create_topic("server-a", topic)
    pubsub_admin.create_subscription("server-b", subscription, topic, topic_project="server-a",
                                     push_endpoint=f"{url}/push/{subscription}")
    from services.common.pubsub import PubSubTransport

    transport = PubSubTransport(os.environ["PUBSUB_EMULATOR_HOST"])
    big = os.urandom(5 * 1024 * 1024)
    message_id = transport.publish("server-a", topic, big, {"batch_id": "b"})
    assert arrived.wait(30), f"{len(received)} deliveries"
    assert [m.message_id for m in received] == [message_id, message_id]
    assert received[1].data == big and received[1].attributes["batch_id"] == "b"
    assert received[1].subscription == subscription
    pubsub_admin.delete_subscription("server-b", subscription)


# --- the `prio-stream` command as a subprocess


def _service_env(tmp_path: Path, projects, **extra) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(HERE.parent.parent), str(HERE)]),
            "PROJECT_ID": projects.a, "STORAGE": "local",
            "LOCAL_STORAGE_DIR": str(tmp_path / "store"), **extra}


def _wait_files(directory: Path, count: int, timeout: float = 30.0) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(directory.glob("*")) if directory.is_dir() else []
        if len(files) >= count:
            return files
        time.sleep(0.1)
    raise AssertionError(f"{directory}: fewer than {count} files after {timeout}s")


def test_worker_process_pulls_handles_and_stops_cleanly_on_sigterm(
        pubsub_admin, start_service, unique_projects, tmp_path):
    from services.common.provision import Deployment, SubscriptionPolicy, provision
    from services.common.pubsub import PubSubTransport

    provision(pubsub_admin, Deployment(unique_projects.a, unique_projects.b,
                                       unique_projects.ingest),
              SubscriptionPolicy(min_backoff=0.1, max_backoff=0.5))
    worker = start_service("echo_service:build", "worker", _service_env(tmp_path, unique_projects))
    transport = PubSubTransport(os.environ["PUBSUB_EMULATOR_HOST"])
    ids = [transport.publish(unique_projects.a, topology.PARTITIONS, f"m{i}".encode())
           for i in range(5)]
    bucket = tmp_path / "store" / "prio-a-private"
    files = _wait_files(bucket / "echo", 5)
    assert sorted(p.name for p in files) == sorted(ids)
    assert {p.read_bytes() for p in files} == {f"m{i}".encode() for i in range(5)}
    assert {p.read_bytes() for p in (bucket / "echo-attempt").glob("*")} == {b"1"}
    assert httpx.get(f"{worker.url}/echo/count").json() == {"count": 5}
    assert httpx.get(f"{worker.url}/__heartbeat__").json()["status"] == "ok"
    assert worker.stop() == 0
    assert [p.name.split("-")[0] for p in sorted((bucket / "background").glob("*"))] == [
        "started", "stopped"]
    log_lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    assert any(line["message"] == "worker stopping" for line in log_lines)


def test_worker_survives_a_missing_subscription_and_reopens_it(
        pubsub_admin, start_service, unique_projects, tmp_path):
    # What a broker restart looks like to a worker (the emulator forgets every subscription):
    # the streaming pull fails with NOT_FOUND. The worker stays up, reports it, and resumes
    # once the subscription is provisioned again.
    from services.common.pubsub import PubSubTransport

    worker = start_service("echo_service:build", "worker", _service_env(tmp_path, unique_projects))

    def heartbeat() -> httpx.Response:
        return httpx.get(f"{worker.url}/__heartbeat__", timeout=10)

    failed = "subscription failed; re-opening it after a backoff"
    deadline = time.monotonic() + 30
    while failed not in worker.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert failed in worker.log()
    # Unhealthy while it waits to re-open (a re-opened pull counts as healthy until it fails).
    checks = [heartbeat().json()["checks"]["subscriptions"] for _ in range(20)]
    assert "error: RuntimeError" in checks
    assert worker.process.poll() is None
    pubsub_admin.create_topic(unique_projects.a, topology.PARTITIONS)
    pubsub_admin.create_subscription(unique_projects.a, SUB, topology.PARTITIONS)
    message_id = PubSubTransport(os.environ["PUBSUB_EMULATOR_HOST"]).publish(
        unique_projects.a, topology.PARTITIONS, b"after the outage")
    [echoed] = _wait_files(tmp_path / "store" / "prio-a-private" / "echo", 1, timeout=60)
    assert (echoed.name, echoed.read_bytes()) == (message_id, b"after the outage")
    assert heartbeat().json() == {"status": "ok", "checks": {
        "storage": "ok", "subscriptions": "ok"}}
    assert "subscription re-opened" in worker.log()
    assert worker.stop() == 0


def test_worker_refuses_to_start_with_a_bad_setting(start_service, tmp_path, unique_projects):
    import subprocess
    import sys

    env = {**os.environ, **_service_env(tmp_path, unique_projects),
           "SERVER_ID": "A", "SHARED_SECRET": "dGVuIGJ5dGVzIQ=="}
    result = subprocess.run([sys.executable, "-m", "services.main", "worker", "verifier"],
                            env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            check=False)
    assert result.returncode != 0
    assert "SHARED_SECRET" in result.stderr
    assert "dGVuIGJ5dGVzIQ==" not in result.stderr + result.stdout
