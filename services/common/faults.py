"""TEST ONLY: faults injected around the storage and transport adapters (FAULTS setting).

`FAULTS` is a comma-separated list; unset (always, in production) nothing here is used.
  storage_error=P      each create fails with 503 with probability P; half of the failures
                       happen after the object was written (a lost response)
  crash_after=PREFIX   SIGKILL this process right after it creates an object under PREFIX
  crash_before=PREFIX  SIGKILL this process right before it creates an object under PREFIX
  duplicate_delivery   every delivered message is handled twice, concurrently, before the ack
  seed=N               the random generator's seed
"""

from __future__ import annotations

import os
import random
import signal
import threading
from collections.abc import Mapping

from google.api_core import exceptions

from services.common.storage import Storage
from services.common.transport import (
    Handler,
    Message,
    Outcome,
    Subscription,
    Transport,
    joined,
)


def parse(text: str) -> dict[str, str]:
    faults = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        if name not in ("storage_error", "crash_after", "crash_before", "duplicate_delivery",
                        "seed"):
            raise ValueError(f"unknown fault {name!r}")
        faults[name] = value
    return faults


def _kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class FaultyStorage(Storage):
    def __init__(self, inner: Storage, faults: Mapping[str, str]):
        self.inner = inner
        self.error_rate = float(faults.get("storage_error") or 0)
        self.crash_after = faults.get("crash_after")
        self.crash_before = faults.get("crash_before")
        self.random = random.Random(int(faults.get("seed") or 0))
        self._lock = threading.Lock()

    def __getattr__(self, name):  # ensure_bucket and other adapter extras
        return getattr(self.inner, name)

    def _roll(self) -> float:
        with self._lock:
            return self.random.random()

    def create(self, bucket: str, name: str, data: bytes) -> bool:
        if self.crash_before and name.startswith(self.crash_before):
            _kill_self()
        fail = self._roll() < self.error_rate
        if fail and self._roll() < 0.5:
            raise exceptions.ServiceUnavailable("injected: before the write")
        created = self.inner.create(bucket, name, data)
        if self.crash_after and name.startswith(self.crash_after):
            _kill_self()
        if fail:
            raise exceptions.ServiceUnavailable("injected: response lost after the write")
        return created

    def read(self, bucket: str, name: str) -> bytes:
        return self.inner.read(bucket, name)

    def exists(self, bucket: str, name: str) -> bool:
        return self.inner.exists(bucket, name)

    def list(self, bucket: str, prefix: str) -> list[str]:
        return self.inner.list(bucket, prefix)

    def times(self, bucket: str, prefix: str):
        return self.inner.times(bucket, prefix)

    def delete(self, bucket: str, name: str) -> None:
        self.inner.delete(bucket, name)


class DuplicatingTransport(Transport):
    """Hands every message to the handler twice at once; acks only if both returned."""

    def __init__(self, inner: Transport):
        self.inner = inner

    def __getattr__(self, name):  # admin, close, pull, ack, ...
        return getattr(self.inner, name)

    def publish(self, project, topic, data, attributes=None) -> str:
        return self.inner.publish(project, topic, data, attributes)

    def subscribe(self, project: str, subscription: str, handler: Handler, *,
                  max_outstanding: int | None = None) -> Subscription:
        def twice(message: Message) -> Outcome:
            outcomes: list[Outcome] = []
            errors: list[BaseException] = []

            def run() -> None:
                try:
                    outcomes.append(handler(message))
                except BaseException as error:  # noqa: BLE001 - re-raised below
                    errors.append(error)

            other = threading.Thread(target=run)
            other.start()
            run()
            other.join()
            if errors:
                raise errors[0]
            return joined(outcomes)

        return self.inner.subscribe(project, subscription, twice,
                                    max_outstanding=max_outstanding)


def wrap_storage(storage: Storage, text: str | None) -> Storage:
    faults = parse(text or "")
    if not {"storage_error", "crash_after", "crash_before"} & faults.keys():
        return storage
    return FaultyStorage(storage, faults)


def wrap_transport(transport: Transport, text: str | None) -> Transport:
    return DuplicatingTransport(transport) if "duplicate_delivery" in parse(text or "") \
        else transport
