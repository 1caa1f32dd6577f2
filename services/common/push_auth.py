"""Authentication of Pub/Sub push requests: the OIDC bearer token a push subscription signs."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Collection, Mapping
from typing import Any, Protocol

import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

# Google signs the ID tokens of push subscriptions; google-auth verifies them against these certs.
try:  # the URL google.oauth2.id_token uses; the literal is its value, should the name move
    from google.oauth2.id_token import _GOOGLE_OAUTH2_CERTS_URL as GOOGLE_CERTS_URL
except ImportError:  # pragma: no cover
    GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"

GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
ALGORITHMS = ["RS256"]
CLOCK_SKEW_SECONDS = 10  # tolerated between Google's clock and ours
DEFAULT_CERTS_MAX_AGE = 3600.0  # when Google's answer has no Cache-Control max-age
# Cloud Run checks the token a request is authorized with (IAM run.invoker) and replaces its
# signature with this marker before the container sees it: such a token can only be vouched
# for by Cloud Run's own check (checked_by_cloud_run), never verified here.
SIGNATURE_REMOVED = "SIGNATURE_REMOVED_BY_GOOGLE"
CLOUD_RUN_TOKEN_HEADER = "x-serverless-authorization"


class TokenError(Exception):
    """A request's token is refused; status_code is the HTTP answer (Pub/Sub retries on any
    non-2xx); the message is the reason, safe to answer (it never quotes the token)."""

    def __init__(self, message: str, status_code: int):
        super().__init__(message)
        self.status_code = status_code


PushAuthError = TokenError  # the name services.common.push catches


class KeySource(Protocol):
    """The public key that signed a token, by the token header's `kid`."""

    def key(self, kid: str) -> RSAPublicKey | None: ...


class StaticKeySource:
    """A fixed `kid -> public key` map (tests; or keys pinned by hand)."""

    def __init__(self, keys: Mapping[str, RSAPublicKey]):
        self._keys = dict(keys)

    def key(self, kid: str) -> RSAPublicKey | None:
        return self._keys.get(kid)


class GoogleCertsKeySource:
    """Google's signing certificates, fetched from GOOGLE_CERTS_URL and cached for their max-age.

    Called from worker threads, never from the event loop: a fetch can take `timeout`.
    An unknown `kid` refetches at most once per `min_refetch_seconds`, so a key rotation is seen
    at once but a flood of forged kids cannot make us hammer Google. A failed fetch is
    remembered: until a backoff (doubling from `first_backoff`) expires, tokens needing a fetch
    fail at once (503) instead of each waiting out the timeout, while known keys keep working.
    One fetch at a time: concurrent checks of an unknown kid wait for it, not for one each."""

    def __init__(self, url: str = GOOGLE_CERTS_URL, *, timeout: float = 5.0,
                 min_refetch_seconds: float = 60.0, first_backoff: float = 5.0,
                 max_backoff: float = 300.0, clock=time.monotonic):
        self.url = url
        self.timeout = timeout
        self.min_refetch_seconds = min_refetch_seconds
        self.first_backoff, self.max_backoff = first_backoff, max_backoff
        self._clock = clock
        self._keys: dict[str, RSAPublicKey] = {}
        self._expires = float("-inf")
        self._fetched = float("-inf")
        self._retry_at = float("-inf")
        self._backoff = first_backoff
        self._failure = ""
        self._lock = threading.Lock()  # guards the fields above, never held while fetching
        self._fetching = threading.Lock()

    def key(self, kid: str) -> RSAPublicKey | None:
        with self._lock:
            if not self._wants_fetch(kid, self._clock()):
                return self._keys.get(kid)
        with self._fetching:
            with self._lock:  # another thread's fetch may have answered meanwhile
                wanted = self._wants_fetch(kid, self._clock())
            if wanted:
                self._fetch()
        with self._lock:
            self._wants_fetch(kid, self._clock())  # raises if the fetch just failed
            return self._keys.get(kid)

    def _wants_fetch(self, kid: str, now: float) -> bool:
        fresh = now < self._expires
        if fresh and (kid in self._keys or now - self._fetched < self.min_refetch_seconds):
            return False
        if now < self._retry_at:
            if kid in self._keys:
                return False  # a stale key beats none while Google is unreachable
            raise PushAuthError(f"Google's signing keys are unavailable ({self._failure}); "
                                f"next try in {math.ceil(self._retry_at - now)} s", 503)
        return True

    def _fetch(self) -> None:
        try:
            response = httpx.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            keys = {kid: x509.load_pem_x509_certificate(pem.encode()).public_key()
                    for kid, pem in response.json().items()}
        except (httpx.HTTPError, ValueError, AttributeError) as error:
            with self._lock:
                self._failure = f"fetch failed: {type(error).__name__}"
                self._retry_at = self._clock() + self._backoff
                self._backoff = min(self._backoff * 2, self.max_backoff)
            return
        with self._lock:
            now = self._clock()
            self._keys = {kid: k for kid, k in keys.items() if isinstance(k, RSAPublicKey)}
            self._fetched, self._retry_at, self._backoff = now, float("-inf"), self.first_backoff
            self._expires = now + _max_age(response.headers.get("cache-control", ""))


def _max_age(cache_control: str) -> float:
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.isdigit():
            return float(value)
    return DEFAULT_CERTS_MAX_AGE


_google_keys = GoogleCertsKeySource()


def checked_by_cloud_run(headers: Mapping[str, str], settings: Any) -> bool:
    """Cloud Run itself checked the Authorization header's token: the service runs on Cloud Run
    (K_SERVICE), where every request must pass IAM first (Terraform grants run.invoker to named
    accounts, never to allUsers), and no X-Serverless-Authorization header carried another
    token for that check (then Authorization arrives untouched and is verified here in full)."""
    return bool(getattr(settings, "k_service", None)) and CLOUD_RUN_TOKEN_HEADER not in headers


def authenticate_push(
    authorization_header: str | None, settings: Any, *, key_source: KeySource | None = None,
    checked_upstream: bool = False,
) -> None:
    """Returns if the request carries a valid push token for this service; else PushAuthError.

    401: no or malformed bearer token, bad signature, unknown key. 403: a genuine Google token
    that is not ours (audience, issuer, account, unverified email) or has expired. 500: PUSH_AUTH
    is `oidc` but PUSH_AUDIENCE / PUSH_SERVICE_ACCOUNT are unset (fail closed). 503: Google's
    keys cannot be fetched (Pub/Sub retries)."""
    mode = getattr(settings, "push_auth", "oidc")
    if mode == "none":
        return
    if mode != "oidc":
        raise PushAuthError(f"unknown PUSH_AUTH mode {mode!r}", 500)
    audience = getattr(settings, "push_audience", None)
    account = getattr(settings, "push_service_account", None)
    if not audience or not account:
        raise PushAuthError("PUSH_AUTH=oidc needs PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT", 500)
    claims = verify_google_id_token(authorization_header, [audience], key_source=key_source,
                                    checked_upstream=checked_upstream)
    if claims.get("email") != account:
        raise PushAuthError("token signed for another service account", 403)


def verify_google_id_token(authorization_header: str | None, audiences: Collection[str], *,
                           key_source: KeySource | None = None,
                           checked_upstream: bool = False) -> dict:
    """The claims of a Google-signed ID token for one of audiences, with a verified email;
    else PushAuthError (401 not a valid token, 403 a valid token that is not for us, 503 keys
    unreachable). Fetches keys: call it from a worker thread, not the event loop.
    checked_upstream: Cloud Run checked this very token (checked_by_cloud_run); then, and only
    then, a token whose signature Cloud Run removed is taken on the claims alone."""
    token = _bearer_token(authorization_header)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise PushAuthError("malformed token", 401) from None
    if header.get("alg") not in ALGORITHMS:
        raise PushAuthError("token is not RS256", 401)
    if token.rpartition(".")[2] == SIGNATURE_REMOVED:
        if not checked_upstream:
            raise PushAuthError("token signature removed, and not by this service's Cloud Run",
                                401)
        public_key, checks = None, {"verify_signature": False, "verify_exp": True,
                                    "verify_iat": True, "verify_aud": True}
    else:
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise PushAuthError("token names no signing key", 401)
        public_key = (key_source or _google_keys).key(kid)
        if public_key is None:
            raise PushAuthError("token signed by an unknown key", 401)
        checks = {}

    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=ALGORITHMS,
            audience=list(audiences),
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud"], **checks},
        )
    except jwt.InvalidSignatureError:
        raise PushAuthError("bad token signature", 401) from None
    except jwt.ExpiredSignatureError:
        raise PushAuthError("token expired", 403) from None
    except jwt.InvalidAudienceError:
        raise PushAuthError("token is for another audience", 403) from None
    except jwt.DecodeError:
        raise PushAuthError("malformed token", 401) from None
    except jwt.InvalidTokenError as error:  # missing claim, iat in the future, ...
        raise PushAuthError(f"invalid token: {type(error).__name__}", 403) from None

    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise PushAuthError("token not issued by Google", 403)
    if claims.get("email_verified") is not True:
        raise PushAuthError("token email is not verified", 403)
    return claims


def _bearer_token(authorization_header: str | None) -> str:
    if not authorization_header:
        raise PushAuthError("no Authorization header", 401)
    scheme, _, token = authorization_header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise PushAuthError("Authorization is not a bearer token", 401)
    return token


__all__ = [
    "GOOGLE_CERTS_URL",
    "GOOGLE_ISSUERS",
    "GoogleCertsKeySource",
    "KeySource",
    "PushAuthError",
    "StaticKeySource",
    "TokenError",
    "authenticate_push",
    "checked_by_cloud_run",
    "verify_google_id_token",
]
