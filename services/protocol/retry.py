"""Retries toward a late or unreachable peer: RETRY_LIMIT tries, RETRY_DELAY * RETRY_BACKOFF_EXPONENT^i apart."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from services.common import errors
from services.common.config import Settings

log = logging.getLogger("prio_stream.retry")
T = TypeVar("T")


def delays(settings: Settings) -> list[float]:
    return [settings.retry_delay * settings.retry_backoff_exponent ** i
            for i in range(settings.retry_limit)]


def until_ready(check: Callable[[], T | None], settings: Settings, what: str,
                stop: threading.Event | None = None) -> T:
    """check() until it returns a value; then RetryLater, so the message comes back later
    (Pub/Sub's own backoff) instead of holding a handler thread for ever."""
    stop = stop or threading.Event()
    for delay in [*delays(settings), None]:
        value = check()
        if value is not None:
            return value
        if delay is None or stop.wait(delay):
            break
        log.info("waiting for the peer", extra={"what": what, "delay": delay})
    raise errors.RetryLater(f"{what}: not ready after {settings.retry_limit} retries")


def publish(transport, project: str, topic: str, data: bytes, settings: Settings,
            attributes: dict[str, str] | None = None) -> str:
    """Publishes, retrying transient failures (the peer's project may be briefly unreachable)."""
    for delay in [*delays(settings), None]:
        try:
            return transport.publish(project, topic, data, attributes)
        except errors.TRANSIENT_ERRORS:
            if delay is None:
                raise
            log.warning("publish will retry", extra={"topic": topic, "delay": delay})
            threading.Event().wait(delay)
    raise AssertionError("unreachable")
