"""Google's token keys behind a dead proxy: fetched off the event loop, a failure remembered with
backoff, health answered meanwhile. Timed asserts here are the point of the tests."""

from __future__ import annotations

import base64
import json
import threading
import time

import httpx
import pytest

from services.common.config import load_settings
from services.common.inprocess import InProcessTransport
from services.common.push_auth import GoogleCertsKeySource, TokenError
from services.common.runtime import ServiceContext, ServiceDefinition, build_app
from services.common.storage_local import LocalStorage
from services.common.telemetry import Telemetry
from tests.security.tokens import (
    ADMIN_AUDIENCE,
    OPERATOR,
    CertServer,
    admin_token,
    bearer,
    make_token,
    new_key,
    self_signed_pem,
    serve,
    stop,
    use_google_keys,
)
from tests.services.harness import Cluster

SUB = "prio-partitions-verifier"
PUSH_AUDIENCE = "prio-stream:prio-a:verifier"
PUSH_ACCOUNT = "push-verifier@prio-a.iam.gserviceaccount.com"
FETCH_TIMEOUT = 2.0
QUICK = 0.5  # seconds: what "answers at once" means here, far below FETCH_TIMEOUT


@pytest.fixture(scope="module")
def key():
    return new_key()


@pytest.fixture
def dead_proxy(monkeypatch):
    """Google's certs URL answered by a server that takes the connection and never replies."""
    server = CertServer(hang=True)
    use_google_keys(monkeypatch, server.url, timeout=FETCH_TIMEOUT, first_backoff=60)
    yield server
    server.close()


def _push_app(tmp_path):
    settings = load_settings(push_auth="oidc", push_audience=PUSH_AUDIENCE,
                             push_service_account=PUSH_ACCOUNT, storage="local",
                             transport="inprocess", local_storage_dir=tmp_path)
    ctx = ServiceContext(settings, LocalStorage(tmp_path), InProcessTransport(),
                         Telemetry.in_memory())
    return build_app(ServiceDefinition("verifier", {SUB: lambda message: None}), ctx)


def _push(url: str, token: str) -> httpx.Response:
    body = {"message": {"data": base64.b64encode(b"x").decode(), "messageId": "1"},
            "subscription": f"projects/prio-a/subscriptions/{SUB}"}
    return httpx.post(f"{url}/push/{SUB}", content=json.dumps(body), headers=bearer(token),
                      timeout=30)


def _in_thread(call) -> tuple[threading.Thread, list]:
    answer: list = []
    thread = threading.Thread(target=lambda: answer.append(call()), daemon=True)
    thread.start()
    return thread, answer


def _timed(call) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _stalled_then_fast(url: str, dead_proxy: CertServer, request) -> tuple:
    """request(kid) is checked while the key fetch hangs: health answers at once, the check
    gets 503, and a second unknown kid within the backoff fails at once without a fetch."""
    waiting, answer = _in_thread(lambda: request("unknown-kid-1"))
    assert dead_proxy.connected.wait(10), "the token check never fetched the keys"
    health, health_took = _timed(lambda: httpx.get(f"{url}/__lbheartbeat__", timeout=30))
    assert health.status_code == 200 and health_took < QUICK
    waiting.join(30)
    [first] = answer
    assert first.status_code == 503
    second, second_took = _timed(lambda: request("unknown-kid-2"))
    assert second.status_code == 503 and second_took < QUICK
    assert dead_proxy.requests == 1
    return first, second


def test_push_token_keys_never_stall_the_event_loop(tmp_path, key, dead_proxy):
    url, server, thread = serve(_push_app(tmp_path))
    try:
        first, second = _stalled_then_fast(
            url, dead_proxy,
            lambda kid: _push(url, make_token(key, kid=kid, aud=PUSH_AUDIENCE)))
    finally:
        stop(server, thread)
    assert first.json() == second.json() == {"error": "unauthorized"}


def test_admin_token_keys_never_stall_the_event_loop(tmp_path, key, dead_proxy):
    cluster = Cluster(tmp_path, admin_auth="oidc", admin_audience=ADMIN_AUDIENCE,
                      operators=[OPERATOR])
    app = build_app(cluster.services["aggregator-A"], cluster.contexts["aggregator-A"],
                    run_background=False)
    url, server, thread = serve(app)
    try:
        first, second = _stalled_then_fast(
            url, dead_proxy,
            lambda kid: httpx.get(f"{url}/batches", timeout=30,
                                  headers=bearer(admin_token(key, OPERATOR, kid=kid))))
    finally:
        stop(server, thread)
    assert first.json()["detail"] == \
        "Google's signing keys are unavailable (fetch failed: ReadTimeout); next try in 60 s"
    assert second.json()["detail"].startswith(
        "Google's signing keys are unavailable (fetch failed: ReadTimeout); next try in ")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_backoff_doubles_and_a_success_resets_it(key):
    good = CertServer({"k1": self_signed_pem(key)})
    broken = CertServer(hang=False)
    clock = Clock()
    source = GoogleCertsKeySource(broken.url, timeout=FETCH_TIMEOUT, first_backoff=5,
                                  max_backoff=12, clock=clock)
    try:
        broken.certs = {"k1": "not a certificate"}
        answers = []
        for advance in (0, 4, 1.5, 9, 1.5, 11, 1.5):
            clock.now += advance
            try:
                answers.append(source.key("k1"))
            except TokenError as error:
                answers.append(error.status_code)
        # fetches at 0 (backoff 5), 5.5 (backoff 10), 16 (backoff 12, the cap), 28.5
        assert answers == [503] * 7 and broken.requests == 4
        source.url = good.url
        clock.now += 12
        assert source.key("k1") is not None and good.requests == 1
        assert source.key("k2") is None and good.requests == 1  # within min_refetch_seconds
    finally:
        good.close()
        broken.close()


def test_a_known_key_keeps_working_while_a_refresh_fails(key):
    server = CertServer({"k1": self_signed_pem(key)})
    clock = Clock()
    source = GoogleCertsKeySource(server.url, timeout=FETCH_TIMEOUT, clock=clock)
    try:
        assert source.key("k1") is not None
        server.certs = {"k1": "broken"}
        clock.now += 3601  # past the max-age: a refresh is due, and fails
        assert source.key("k1") is not None
        with pytest.raises(TokenError) as unknown:
            source.key("k2")
        assert unknown.value.status_code == 503 and server.requests == 2
    finally:
        server.close()
