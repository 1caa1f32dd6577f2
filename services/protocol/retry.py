"""Retries toward a late or unreachable peer: RETRY_LIMIT retries, RETRY_DELAY * RETRY_BACKOFF_EXPONENT^i apart."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from services.common import errors
from services.common.config import Settings

log = logging.getLogger("prio_stream.retry")
T = TypeVar("T")


def delays(settings: Settings) -> list[float]:
    return [settings.retry_delay * settings.retry_backoff_exponent ** i
            for i in range(settings.retry_limit)]


def call(action: Callable[[], T], settings: Settings, what: str,
         retry_on: tuple[type[BaseException], ...] = errors.TRANSIENT_ERRORS) -> T:
    """action(), retried after each failure in retry_on; the last failure propagates."""
    for delay in [*delays(settings), None]:
        try:
            return action()
        except retry_on:
            if delay is None:
                raise
            log.warning("will retry", extra={"what": what, "delay": delay})
            time.sleep(delay)
    raise AssertionError("unreachable")


def until_ready(check: Callable[[], T | None], settings: Settings, what: str) -> T:
    """check() until it returns a value; then RetryLater, so the message comes back later
    (Pub/Sub's own backoff) instead of holding a handler thread for ever."""
    for delay in [*delays(settings), None]:
        value = check()
        if value is not None:
            return value
        if delay is None:
            break
        log.info("waiting for the peer", extra={"what": what, "delay": delay})
        time.sleep(delay)
    raise errors.RetryLater(f"{what}: not ready after {settings.retry_limit} retries")


def publish(transport, project: str, topic: str, data: bytes, settings: Settings,
            attributes: dict[str, str] | None = None) -> str:
    """Publishes, retrying transient failures (the peer's project may be briefly unreachable)."""
    return call(lambda: transport.publish(project, topic, data, attributes), settings,
                f"publish to {topic}")
