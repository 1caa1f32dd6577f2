"""Admin routes as an outsider, a reader and an operator call them: a verified Google ID token
whose email is in OPERATORS changes state, READERS read, health stays open."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.common.config import ConfigError, load_settings
from services.common.runtime import build_app
from services.ingest import pings
from services.ingest.partitions import PartitionWriter
from services.protocol.layout import BatchKey
from tests.security.tokens import (
    ADMIN_AUDIENCE,
    OPERATOR,
    READER,
    STRANGER,
    CertServer,
    admin_token,
    bearer,
    make_token,
    new_key,
    self_signed_pem,
    use_google_keys,
)
from tests.services.harness import BATCH, DATE, Cluster

REPO_ROOT = Path(__file__).resolve().parents[2]
KID = "admin-test-key"
SUB = "prio-verified-aggregator"  # one of the aggregator's subscriptions
CLOSE = f"/batches/{BATCH}/{DATE}/close"
# The status page (/) and the report lookup follow the reader rule as every other read.
READS = ["/batches", f"/batches/{BATCH}/{DATE}", "/dead-letters", "/",
         f"/reports/doc-0?date={DATE}"]
WRITES = [CLOSE, "/batches/close-due", f"/dead-letters/{SUB}/redrive",
          f"/dead-letters/{SUB}/discard?all=true"]


@pytest.fixture(scope="module")
def key():
    return new_key()


@pytest.fixture
def certs(key, monkeypatch):
    """Google's certs endpoint, served here: every token is checked against a fetched cert."""
    server = CertServer({KID: self_signed_pem(key)})
    use_google_keys(monkeypatch, server.url)
    yield server
    server.close()


def token(key, email: str, **claims) -> dict[str, str]:
    return bearer(admin_token(key, email, kid=KID, **claims))


def _cluster(tmp_path, **overrides) -> Cluster:
    settings = {"admin_auth": "oidc", "admin_audience": ADMIN_AUDIENCE,
                "operators": [OPERATOR], "readers": [READER], **overrides}
    return Cluster(tmp_path, **settings)


def _client(cluster: Cluster, label: str = "aggregator-A") -> TestClient:
    return TestClient(build_app(cluster.services[label], cluster.contexts[label],
                                run_background=False))


def _aggregated_batch(cluster: Cluster) -> None:
    """One partition of two reports, verified and aggregated on both servers."""
    reports = []
    for i in range(2):
        reports += pings.parse(cluster.ping(f"doc-{i}", [i % 2] * 8), {}, {BATCH: 8})[0]
    PartitionWriter(cluster.contexts["ingest"]).write(BatchKey(BATCH, DATE), "p1", reports)
    cluster.run_servers()


def test_health_endpoints_stay_open(tmp_path, certs):
    with _client(_cluster(tmp_path)) as client:
        for path in ("/__lbheartbeat__", "/__heartbeat__", "/__version__"):
            assert client.get(path).status_code == 200, path
    assert certs.requests == 0


def test_without_a_token_every_admin_route_is_401(tmp_path, certs):
    with _client(_cluster(tmp_path)) as client:
        answers = {path: client.get(path) for path in READS}
        answers |= {path: client.post(path) for path in WRITES}
    assert {path: r.status_code for path, r in answers.items()} == {p: 401 for p in answers}
    assert all(r.json() == {"detail": "no Authorization header"} for r in answers.values())
    assert all(r.headers["www-authenticate"] == "Bearer" for r in answers.values())
    assert certs.requests == 0


def test_an_email_in_no_list_is_403_everywhere(tmp_path, certs, key):
    headers = token(key, STRANGER)
    with _client(_cluster(tmp_path)) as client:
        answers = [client.get(p, headers=headers) for p in READS]
        answers += [client.post(p, headers=headers) for p in WRITES]
    assert [r.status_code for r in answers] == [403] * len(answers)
    assert {r.json()["detail"] for r in answers} == {
        f"{STRANGER} is in neither OPERATORS nor READERS"}


def test_a_reader_reads_but_changes_nothing(tmp_path, certs, key):
    cluster = _cluster(tmp_path)
    _aggregated_batch(cluster)
    headers = token(key, READER)
    with _client(cluster) as client:
        reads = [client.get(p, headers=headers) for p in READS]
        writes = [client.post(p, headers=headers) for p in WRITES]
    assert [r.status_code for r in reads] == [200] * len(READS)
    assert [r.status_code for r in writes] == [403] * len(WRITES)
    assert {r.json()["detail"] for r in writes} == {
        f"{READER} may only read: changing state needs an email in OPERATORS"}
    assert cluster.storage.list(cluster.settings["A"].private_bucket,
                                "intermediate/internal/batch/") == []


def test_a_reader_cannot_import(tmp_path, certs, key):
    cluster = _cluster(tmp_path)
    body = {"bucket": "staging", "server_a_object": "a", "server_b_object": "b"}
    with _client(cluster, "ingest") as client:
        refused = client.post(f"/batches/{BATCH}/{DATE}/import", json=body,
                              headers=token(key, READER))
        anonymous = client.post(f"/batches/{BATCH}/{DATE}/import", json=body)
        listed = client.get("/batches", headers=token(key, READER))
    assert (refused.status_code, anonymous.status_code, listed.status_code) == (403, 401, 200)


def test_an_operator_closes_and_reads(tmp_path, certs, key):
    cluster = _cluster(tmp_path)
    _aggregated_batch(cluster)
    headers = token(key, OPERATOR.upper())  # emails compare case-insensitively
    with _client(cluster) as client:
        closed = client.post(CLOSE, headers=headers)
        due = client.post("/batches/close-due", headers=headers)
        status = client.get(f"/batches/{BATCH}/{DATE}", headers=headers)
        redriven = client.post(f"/dead-letters/{SUB}/redrive", headers=headers)
    assert closed.status_code == 200, closed.text
    assert closed.json() == {"batch_id": BATCH, "submission_date": DATE, "partition_ids": ["p1"]}
    assert due.status_code == 200 and status.json()["closed"] is True
    assert redriven.json() == {"redriven": 0}
    assert certs.requests == 1  # the certificate was fetched once, then cached


@pytest.mark.parametrize(("claims", "status", "detail"), [
    ({"aud": "prio-stream:prio-a:aggregator"}, 403, "token is for another audience"),
    ({"email_verified": False}, 403, "token email is not verified"),
    ({"iss": "https://evil.example"}, 403, "token not issued by Google"),
    ({"exp": 1, "iat": 0}, 403, "token expired"),
    ({"kid": "unknown-kid"}, 401, "token signed by an unknown key"),
])
def test_tokens_that_are_not_an_operators_are_refused(tmp_path, certs, key, claims, status,
                                                       detail):
    headers = bearer(make_token(key, **{"kid": KID, "aud": ADMIN_AUDIENCE, "email": OPERATOR,
                                        **claims}))
    with _client(_cluster(tmp_path)) as client:
        response = client.post("/batches/close-due", headers=headers)
    assert (response.status_code, response.json()) == (status, {"detail": detail})


def test_a_token_signed_by_another_key_is_401(tmp_path, certs):
    forged = bearer(admin_token(new_key(), OPERATOR, kid=KID))
    with _client(_cluster(tmp_path)) as client:
        response = client.post("/batches/close-due", headers=forged)
    assert (response.status_code, response.json()) == (401, {"detail": "bad token signature"})


def test_oidc_without_an_audience_fails_closed(tmp_path, certs, key):
    with _client(_cluster(tmp_path, admin_audience=None)) as client:
        response = client.get("/batches", headers=token(key, OPERATOR))
    assert response.status_code == 500
    assert response.json() == {"detail": "ADMIN_AUTH=oidc needs ADMIN_AUDIENCE"}


def test_admin_auth_none_opens_the_routes_in_local_runs(tmp_path):
    with _client(_cluster(tmp_path, admin_auth="none")) as client:
        assert client.post("/batches/close-due").status_code == 200


# --- ADMIN_AUTH=none / PUSH_AUTH=none without an emulator: the service refuses to start

def _start(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT), "HOME": os.environ["HOME"],
            "DATA_CONFIG": '[{"batch_id": "b", "n_data": 4}]', "PORT": "1"}
    return subprocess.run([sys.executable, "-m", "services.main", "worker", "ingest"],
                          env={**base, **env}, capture_output=True, text=True, timeout=120,
                          cwd=REPO_ROOT, check=False)


@pytest.mark.parametrize(("name", "fix"), [
    ("ADMIN_AUTH", "set ADMIN_AUTH=oidc with ADMIN_AUDIENCE, OPERATORS and READERS"),
    ("PUSH_AUTH", "set PUSH_AUTH=oidc with PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT"),
])
def test_auth_none_without_an_emulator_refuses_to_start(name, fix):
    finished = _start({name: "none"})
    assert finished.returncode != 0
    assert finished.stderr.strip().splitlines() == [(
        f"Error: {name}=none leaves the service's routes open: it is for the emulators and "
        f"local runs only; {fix}, or point PUBSUB_EMULATOR_HOST / STORAGE_EMULATOR_HOST at "
        f"the emulators")]


@pytest.mark.parametrize("local", [{"pubsub_emulator_host": "localhost:8085"},
                                   {"storage_emulator_host": "http://localhost:4443"},
                                   {"transport": "inprocess"}, {"storage": "local"}])
def test_auth_none_is_accepted_with_an_emulator_or_local_adapters(local):
    settings = load_settings("ingest", data_config={"b": 4}, admin_auth="none",
                             push_auth="none", **local)
    assert (settings.admin_auth, settings.push_auth) == ("none", "none")


def test_auth_none_in_production_settings_is_a_config_error():
    with pytest.raises(ConfigError, match="^ADMIN_AUTH=none leaves"):
        load_settings("ingest", data_config={"b": 4}, admin_auth="none")


def test_operator_and_reader_lists_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPERATORS", "Ops@Example.com, sched@p.iam.gserviceaccount.com")
    monkeypatch.setenv("READERS", "reader@example.com")
    settings = load_settings()
    assert settings.operators == ("ops@example.com", "sched@p.iam.gserviceaccount.com")
    assert settings.readers == ("reader@example.com",)
    monkeypatch.setenv("OPERATORS", "not-an-email")
    with pytest.raises(ConfigError, match="OPERATORS"):
        load_settings()
