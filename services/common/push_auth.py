"""Authentication of Pub/Sub push requests: the OIDC bearer token a push subscription signs."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
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


class PushAuthError(Exception):
    """A push request is refused; status_code is the HTTP answer (Pub/Sub retries on any non-2xx)."""

    def __init__(self, message: str, status_code: int):
        super().__init__(message)
        self.status_code = status_code


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

    An unknown `kid` refetches at most once per `min_refetch_seconds`, so a key rotation is seen
    at once but a flood of forged kids cannot make us hammer Google."""

    def __init__(self, url: str = GOOGLE_CERTS_URL, *, timeout: float = 10.0,
                 min_refetch_seconds: float = 60.0):
        self.url = url
        self.timeout = timeout
        self.min_refetch_seconds = min_refetch_seconds
        self._keys: dict[str, RSAPublicKey] = {}
        self._expires = 0.0
        self._fetched = float("-inf")
        self._lock = threading.Lock()

    def key(self, kid: str) -> RSAPublicKey | None:
        with self._lock:
            now = time.monotonic()
            stale = now >= self._expires
            unknown = kid not in self._keys and now - self._fetched >= self.min_refetch_seconds
            if stale or unknown:
                self._refresh(now)
            return self._keys.get(kid)

    def _refresh(self, now: float) -> None:
        try:
            response = httpx.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            certs = response.json()
            keys = {kid: x509.load_pem_x509_certificate(pem.encode()).public_key()
                    for kid, pem in certs.items()}
        except (httpx.HTTPError, ValueError, AttributeError) as error:
            if self._keys and now < self._expires:
                return
            raise PushAuthError(f"cannot fetch Google's signing keys: {type(error).__name__}",
                                503) from None
        self._keys = {kid: k for kid, k in keys.items() if isinstance(k, RSAPublicKey)}
        self._fetched = now
        self._expires = now + _max_age(response.headers.get("cache-control", ""))


def _max_age(cache_control: str) -> float:
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age" and value.isdigit():
            return float(value)
    return DEFAULT_CERTS_MAX_AGE


_google_keys = GoogleCertsKeySource()


def authenticate_push(
    authorization_header: str | None, settings: Any, *, key_source: KeySource | None = None
) -> None:
    """Returns if the request carries a valid push token for this service; else PushAuthError.

    401: no or malformed bearer token, bad signature, unknown key. 403: a genuine Google token
    that is not ours (audience, issuer, account, unverified email) or has expired. 500: PUSH_AUTH
    is `oidc` but PUSH_AUDIENCE / PUSH_SERVICE_ACCOUNT are unset (fail closed)."""
    mode = getattr(settings, "push_auth", "oidc")
    if mode == "none":
        return
    if mode != "oidc":
        raise PushAuthError(f"unknown PUSH_AUTH mode {mode!r}", 500)
    audience = getattr(settings, "push_audience", None)
    account = getattr(settings, "push_service_account", None)
    if not audience or not account:
        raise PushAuthError("PUSH_AUTH=oidc needs PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT", 500)

    token = _bearer_token(authorization_header)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise PushAuthError("malformed token", 401) from None
    if header.get("alg") not in ALGORITHMS:
        raise PushAuthError("token is not RS256", 401)
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise PushAuthError("token names no signing key", 401)
    public_key = (key_source or _google_keys).key(kid)
    if public_key is None:
        raise PushAuthError("token signed by an unknown key", 401)

    try:
        claims = jwt.decode(
            token,
            public_key,
            algorithms=ALGORITHMS,
            audience=audience,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud"]},
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
    if claims.get("email") != account:
        raise PushAuthError("token signed for another service account", 403)
    if claims.get("email_verified") is not True:
        raise PushAuthError("token email is not verified", 403)


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
    "authenticate_push",
]
