"""Push authentication: Pub/Sub's OIDC tokens checked with locally made RSA keys and tokens."""

from __future__ import annotations

import datetime
import time
from types import SimpleNamespace

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from services.common import push_auth
from services.common.push_auth import (
    GoogleCertsKeySource,
    PushAuthError,
    StaticKeySource,
    authenticate_push,
)

AUDIENCE = "prio-stream:prio-a:verifier"
ACCOUNT = "push-verifier@prio-a.iam.gserviceaccount.com"
KID = "test-key-1"


@pytest.fixture(scope="module")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys(signing_key):
    return StaticKeySource({KID: signing_key.public_key()})


def settings(**overrides):
    values = {"push_auth": "oidc", "push_audience": AUDIENCE, "push_service_account": ACCOUNT}
    values.update(overrides)
    return SimpleNamespace(**values)


def make_token(key, *, kid=KID, algorithm="RS256", **claims):
    now = int(time.time())
    payload = {
        "iss": "https://accounts.google.com",
        "aud": AUDIENCE,
        "azp": "1234567890",
        "email": ACCOUNT,
        "email_verified": True,
        "sub": "1234567890",
        "iat": now,
        "exp": now + 3600,
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


def refused(header, keys, **overrides) -> int:
    with pytest.raises(PushAuthError) as info:
        authenticate_push(header, settings(**overrides), key_source=keys)
    return info.value.status_code


def test_valid_token_is_accepted(signing_key, keys):
    authenticate_push(f"Bearer {make_token(signing_key)}", settings(), key_source=keys)


def test_short_issuer_form_is_accepted(signing_key, keys):
    token = make_token(signing_key, iss="accounts.google.com")
    authenticate_push(f"bearer {token}", settings(), key_source=keys)


def test_expired_token_is_forbidden(signing_key, keys):
    now = int(time.time())
    token = make_token(signing_key, iat=now - 7200, exp=now - 3600)
    assert refused(f"Bearer {token}", keys) == 403


def test_expiry_within_clock_skew_is_tolerated_but_not_beyond(signing_key, keys):
    now = int(time.time())
    authenticate_push(f"Bearer {make_token(signing_key, exp=now - 2)}", settings(), key_source=keys)
    too_late = make_token(signing_key, exp=now - push_auth.CLOCK_SKEW_SECONDS - 5)
    assert refused(f"Bearer {too_late}", keys) == 403


def test_token_without_expiry_is_refused(signing_key, keys):
    assert refused(f"Bearer {make_token(signing_key, exp=None)}", keys) == 403


def test_wrong_audience_is_forbidden(signing_key, keys):
    token = make_token(signing_key, aud="prio-stream:prio-b:verifier")
    assert refused(f"Bearer {token}", keys) == 403


def test_wrong_account_is_forbidden(signing_key, keys):
    token = make_token(signing_key, email="someone-else@prio-b.iam.gserviceaccount.com")
    assert refused(f"Bearer {token}", keys) == 403


def test_unverified_email_is_forbidden(signing_key, keys):
    assert refused(f"Bearer {make_token(signing_key, email_verified=False)}", keys) == 403
    assert refused(f"Bearer {make_token(signing_key, email_verified=None)}", keys) == 403


def test_wrong_issuer_is_forbidden(signing_key, keys):
    token = make_token(signing_key, iss="https://evil.example")
    assert refused(f"Bearer {token}", keys) == 403


def test_bad_signature_is_unauthorized(other_key, keys):
    # signed by another key under the trusted key's id
    assert refused(f"Bearer {make_token(other_key)}", keys) == 401


def test_tampered_payload_is_unauthorized(signing_key, keys):
    header, _, signature = make_token(signing_key).split(".")
    forged = jwt.utils.base64url_encode(
        b'{"iss":"https://accounts.google.com","aud":"%s","email":"%s","email_verified":true,'
        b'"iat":1,"exp":9999999999}' % (AUDIENCE.encode(), ACCOUNT.encode())
    ).decode()
    assert refused(f"Bearer {header}.{forged}.{signature}", keys) == 401


def test_unknown_key_id_is_unauthorized(signing_key, keys):
    assert refused(f"Bearer {make_token(signing_key, kid='rotated-away')}", keys) == 401


def test_symmetric_and_none_algorithms_are_refused(keys):
    hs = jwt.encode({"aud": AUDIENCE, "email": ACCOUNT}, "k" * 32, algorithm="HS256",
                    headers={"kid": KID})
    assert refused(f"Bearer {hs}", keys) == 401
    unsigned = jwt.encode({"aud": AUDIENCE, "email": ACCOUNT}, None, algorithm="none",
                          headers={"kid": KID})
    assert refused(f"Bearer {unsigned}", keys) == 401


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header_is_unauthorized(header, keys):
    assert refused(header, keys) == 401


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer not-a-jwt", "Bearer a.b.c",
               "Token abc.def.ghi", "Bearer x y"]
)
def test_malformed_header_is_unauthorized(header, keys):
    assert refused(header, keys) == 401


def test_push_auth_none_accepts_anything(keys):
    authenticate_push(None, settings(push_auth="none"), key_source=keys)
    authenticate_push("garbage", settings(push_auth="none"), key_source=keys)


def test_oidc_without_audience_or_account_fails_closed(signing_key, keys):
    token = f"Bearer {make_token(signing_key)}"
    assert refused(token, keys, push_audience=None) == 500
    assert refused(token, keys, push_service_account="") == 500


def test_reads_the_project_settings_object(signing_key, keys, monkeypatch):
    from services.common.config import load_settings

    monkeypatch.setenv("PUSH_AUTH", "oidc")
    monkeypatch.setenv("PUSH_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("PUSH_SERVICE_ACCOUNT", ACCOUNT)
    real = load_settings()
    authenticate_push(f"Bearer {make_token(signing_key)}", real, key_source=keys)
    with pytest.raises(PushAuthError):
        authenticate_push(None, real, key_source=keys)
    monkeypatch.setenv("PUSH_AUTH", "none")
    authenticate_push(None, load_settings(), key_source=keys)


# --- Google's certificates: fetched, cached for max-age, refetched for a new kid


def self_signed_pem(key) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class FakeCerts:
    def __init__(self, certs, max_age=300):
        self.certs = certs
        self.max_age = max_age
        self.calls = 0
        self.fail = False

    def get(self, url, timeout):
        self.calls += 1
        request = httpx.Request("GET", url)
        if self.fail:
            return httpx.Response(500, request=request)
        return httpx.Response(200, json=self.certs, request=request,
                              headers={"cache-control": f"public, max-age={self.max_age}"})


def test_google_certs_are_fetched_once_and_cached(signing_key, monkeypatch):
    fake = FakeCerts({KID: self_signed_pem(signing_key)})
    monkeypatch.setattr(push_auth.httpx, "get", fake.get)
    source = GoogleCertsKeySource("https://certs.test/v1/certs")
    for _ in range(3):
        authenticate_push(f"Bearer {make_token(signing_key)}", settings(), key_source=source)
    assert fake.calls == 1


def test_google_certs_unknown_kid_refetches_but_rate_limited(signing_key, other_key, monkeypatch):
    fake = FakeCerts({KID: self_signed_pem(signing_key)})
    monkeypatch.setattr(push_auth.httpx, "get", fake.get)
    source = GoogleCertsKeySource("https://certs.test/v1/certs", min_refetch_seconds=0)
    assert source.key(KID) is not None
    fake.certs = {"rotated": self_signed_pem(other_key)}
    authenticate_push(f"Bearer {make_token(other_key, kid='rotated')}", settings(),
                      key_source=source)
    assert fake.calls == 2
    limited = GoogleCertsKeySource("https://certs.test/v1/certs", min_refetch_seconds=3600)
    for kid in ("forged-1", "forged-2", "forged-3"):
        assert limited.key(kid) is None
    assert fake.calls == 3


def test_google_certs_unreachable_is_a_retryable_error(signing_key, monkeypatch):
    fake = FakeCerts({})
    fake.fail = True
    monkeypatch.setattr(push_auth.httpx, "get", fake.get)
    source = GoogleCertsKeySource("https://certs.test/v1/certs")
    with pytest.raises(PushAuthError) as info:
        authenticate_push(f"Bearer {make_token(signing_key)}", settings(), key_source=source)
    assert info.value.status_code == 503


def test_production_default_is_googles_certs_url():
    from google.oauth2 import id_token

    assert push_auth.GOOGLE_CERTS_URL == id_token._GOOGLE_OAUTH2_CERTS_URL
    assert push_auth._google_keys.url == push_auth.GOOGLE_CERTS_URL


def test_push_endpoint_answers_with_the_status_of_the_refusal(signing_key, keys, monkeypatch):
    """The runtime's push endpoint (services/common/push.py) calls this module."""
    import base64
    import json

    import fastapi
    from fastapi.testclient import TestClient

    from services.common import push
    from services.common.config import load_settings

    monkeypatch.setattr(push_auth, "_google_keys", keys)
    monkeypatch.setenv("PUSH_AUTH", "oidc")
    monkeypatch.setenv("PUSH_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("PUSH_SERVICE_ACCOUNT", ACCOUNT)
    delivered = []
    app = fastapi.FastAPI()
    app.include_router(push.router(delivered.append, {"prio-partitions-verifier"},
                                   load_settings()))
    client = TestClient(app)
    body = json.dumps({"message": {"data": base64.b64encode(b"x").decode(), "messageId": "1"},
                       "subscription": "projects/prio-a/subscriptions/prio-partitions-verifier"})
    url = "/push/prio-partitions-verifier"
    assert client.post(url, content=body).status_code == 401
    wrong = make_token(signing_key, aud="https://elsewhere")
    assert client.post(url, content=body,
                       headers={"Authorization": f"Bearer {wrong}"}).status_code == 403
    assert delivered == []
    good = client.post(url, content=body,
                       headers={"Authorization": f"Bearer {make_token(signing_key)}"})
    assert good.status_code == 204
    assert [m.data for m in delivered] == [b"x"]
