"""Which failures of a handler are transient (retried quietly) and which are not; the kinds of
refusal a service's domain code raises (the admin app answers each with its HTTP status)."""

from __future__ import annotations

from google.api_core import exceptions as google_exceptions
from requests import exceptions as requests_exceptions


class RetryLater(Exception):
    """Raised by a handler whose input is fine but whose time has not come (e.g. a late peer).

    The message is nacked and redelivered with the subscription's backoff.
    """


# Errors after which the same message is expected to succeed later; logged as warnings
# without a traceback. Anything else nacks too, but is logged as an error.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    RetryLater,  # the service said so
    google_exceptions.ServiceUnavailable,  # 503 from GCS or Pub/Sub: the service sheds load
    google_exceptions.TooManyRequests,  # 429: rate limit of a bucket or a topic
    google_exceptions.InternalServerError,  # 500: GCS documents these as retryable
    google_exceptions.BadGateway,  # 502: front ends of Google APIs between deploys
    google_exceptions.GatewayTimeout,  # 504: idem
    google_exceptions.DeadlineExceeded,  # a publish or read that took too long
    requests_exceptions.ConnectionError,  # GCS over HTTP: connection reset / refused
    requests_exceptions.Timeout,  # GCS over HTTP: no answer in time
    ConnectionError,  # the local socket layer (resets, refused)
    TimeoutError,  # futures and sockets that gave up waiting
)


def is_transient(error: BaseException) -> bool:
    return isinstance(error, TRANSIENT_ERRORS)


class Refused(Exception):
    """A request refused for a reason its caller can act on; the message says which. Domain
    code raises one of the kinds below (never an HTTP error): the admin app maps each kind to
    its status code, in one place (services/common/admin.py)."""


class InvalidRequest(Refused):
    """The request names something no valid request could (a malformed batch id, ...)."""


class Forbidden(Refused):
    """The request is well formed, and not allowed by the settings."""


class NotFound(Refused):
    """What the request names does not exist here."""


class Conflict(Refused):
    """Not now, or not on this server (a close on the follower, a day not over, ...)."""


class TooLarge(Refused):
    """An input over its configured size cap."""
