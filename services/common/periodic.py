"""Background loops: one round of work every interval until the service stops."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("prio_stream.runtime")


def periodic(interval: float, fn: Callable[[], object], what: str, *,
             at_start: bool = False) -> Callable[[threading.Event], None]:
    """A background task (ServiceDefinition.background) calling fn every interval seconds
    (first at once with at_start) until the stop event is set."""

    def loop(stop: threading.Event) -> None:
        if at_start:
            _round(fn, what)
        while not stop.wait(interval):
            _round(fn, what)

    loop.__name__ = loop.__qualname__ = what.replace(" ", "_")
    return loop


def _round(fn: Callable[[], object], what: str) -> None:
    try:
        fn()
    except Exception:
        # Any cause (a storage or broker hiccup, a bug met by one round): logged, and the next
        # round tries again; a loop that ended would leave its work undone until a restart.
        log.warning("%s failed; next round retries", what, exc_info=True)
