"""Tokens behind Cloud Run: Cloud Run checks the token a request is authorized with and hands
the container that token with its signature replaced by SIGNATURE_REMOVED_BY_GOOGLE. The app
takes such a token on its claims only where Cloud Run itself checked it (K_SERVICE set, no
X-Serverless-Authorization header); a token whose signature anybody else removed is refused."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from services.common.runtime import build_app
from tests.security.tokens import ADMIN_AUDIENCE, OPERATOR, READER, bearer, make_token, new_key
from tests.services.harness import Cluster

KID = "cloud-run-test-key"
PUSH_AUDIENCE = "https://prio-a-verifier.example/push"
PUSH_ACCOUNT = "push@prio-a.iam.gserviceaccount.com"


def _stripped(**claims) -> str:
    """A Google ID token as Cloud Run passes it on: signature removed."""
    header, payload, _ = make_token(new_key(), kid=KID, **claims).split(".")
    return f"{header}.{payload}.SIGNATURE_REMOVED_BY_GOOGLE"


def _client(tmp_path, label: str, **overrides) -> TestClient:
    cluster = Cluster(tmp_path, admin_auth="oidc", admin_audience=ADMIN_AUDIENCE,
                      operators=[OPERATOR], readers=[READER], push_auth="oidc",
                      push_audience=PUSH_AUDIENCE, push_service_account=PUSH_ACCOUNT,
                      **overrides)
    return TestClient(build_app(cluster.services[label], cluster.contexts[label],
                                run_background=False))


def _push(client: TestClient, token: str, **headers) -> int:
    body = {"message": {"data": base64.b64encode(b"\x00").decode(), "messageId": "m1",
                        "attributes": {}}, "subscription": "prio-verified-aggregator"}
    return client.post("/push/prio-verified-aggregator", content=json.dumps(body),
                       headers={**bearer(token), **headers}).status_code


def test_on_cloud_run_a_token_cloud_run_checked_is_taken_on_its_claims(tmp_path):
    with _client(tmp_path, "aggregator-A", k_service="prio-aggregator") as client:
        read = client.get("/batches", headers=bearer(_stripped(aud=ADMIN_AUDIENCE,
                                                               email=READER)))
        pushed = _push(client, _stripped(aud=PUSH_AUDIENCE, email=PUSH_ACCOUNT))
    assert read.status_code == 200, read.text
    # Authenticated: the handler had its say (the one byte is no PartitionVerified: nacked).
    assert pushed == 500


@pytest.mark.parametrize(("claims", "status"), [
    ({"aud": "another-audience", "email": OPERATOR}, 403),
    ({"aud": ADMIN_AUDIENCE, "email": "stranger@example.com"}, 403),
    ({"aud": ADMIN_AUDIENCE, "email": OPERATOR, "exp": 1, "iat": 0}, 403),
    ({"aud": ADMIN_AUDIENCE, "email": OPERATOR, "iss": "https://evil.example"}, 403),
])
def test_its_claims_are_still_checked(tmp_path, claims, status):
    with _client(tmp_path, "aggregator-A", k_service="prio-aggregator") as client:
        response = client.post("/batches/close-due", headers=bearer(_stripped(**claims)))
    assert response.status_code == status, response.text


def test_off_cloud_run_a_token_without_signature_is_refused(tmp_path):
    with _client(tmp_path, "aggregator-A") as client:
        read = client.get("/batches", headers=bearer(_stripped(aud=ADMIN_AUDIENCE,
                                                               email=OPERATOR)))
        pushed = _push(client, _stripped(aud=PUSH_AUDIENCE, email=PUSH_ACCOUNT))
    assert (read.status_code, read.json()) == (401, {
        "detail": "token signature removed, and not by this service's Cloud Run"})
    assert pushed == 401


def test_when_cloud_run_checked_another_header_authorization_is_verified_in_full(tmp_path):
    """A caller may authorize with X-Serverless-Authorization; Cloud Run then passes
    Authorization untouched, so a signature-less one there was removed by the caller."""
    cloud_run_checked = {"X-Serverless-Authorization": f"Bearer {_stripped(aud='x')}"}
    with _client(tmp_path, "aggregator-A", k_service="prio-aggregator") as client:
        read = client.get("/batches", headers={
            **bearer(_stripped(aud=ADMIN_AUDIENCE, email=OPERATOR)), **cloud_run_checked})
        pushed = _push(client, _stripped(aud=PUSH_AUDIENCE, email=PUSH_ACCOUNT),
                       **cloud_run_checked)
    assert read.status_code == 401
    assert pushed == 401
