"""InProcessTransport: Pub/Sub's semantics (fan-out, redelivery with backoff, dead letters) in one process."""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Mapping, Sequence

from google.api_core import exceptions

from services.common import telemetry
from services.common.deadletters import Pulled
from services.common.transport import Handler, Message, Subscription, Transport, when_settled

_ids = itertools.count(1)


@dataclasses.dataclass
class _Pending:
    message_id: str
    data: bytes
    attributes: dict[str, str]
    publish_time: float
    attempts: int = 0


@dataclasses.dataclass
class _SubscriptionState:
    project: str
    name: str
    dead_letter_topic: str | None  # in the subscription's project, as on Pub/Sub
    max_delivery_attempts: int
    min_backoff: float
    max_backoff: float
    ack_deadline: float
    queue: list = dataclasses.field(default_factory=list)  # heap of (due, seq, _Pending)
    leased: dict = dataclasses.field(default_factory=dict)  # ack_id -> (deadline, _Pending)
    ready: threading.Condition = dataclasses.field(default_factory=threading.Condition)

    def put(self, pending: _Pending, delay: float = 0.0) -> None:
        with self.ready:
            heapq.heappush(self.queue, (time.monotonic() + delay, next(_ids), pending))
            self.ready.notify()

    def take(self, timeout: float) -> _Pending | None:
        """The next due message (counted as a delivery attempt), or None after timeout."""
        deadline = time.monotonic() + timeout
        with self.ready:
            while True:
                self._expire_leases()
                now = time.monotonic()
                if self.queue and self.queue[0][0] <= now:
                    pending = heapq.heappop(self.queue)[2]
                    pending.attempts += 1
                    return pending
                if now >= deadline:
                    return None
                due = self.queue[0][0] if self.queue else deadline
                self.ready.wait(min(due, deadline) - now)

    def _expire_leases(self) -> None:
        now = time.monotonic()
        for ack_id, (lease_end, pending) in list(self.leased.items()):
            if lease_end <= now:
                del self.leased[ack_id]
                heapq.heappush(self.queue, (now, next(_ids), pending))

    def backoff(self, attempts: int) -> float:
        return min(self.min_backoff * 2 ** (attempts - 1), self.max_backoff)

    def message(self, pending: _Pending) -> Message:
        attempt = pending.attempts if self.dead_letter_topic else None  # as Pub/Sub
        return Message(pending.data, pending.attributes, pending.message_id, self.name, attempt)


class _InProcessSubscription(Subscription):
    def __init__(self, transport: InProcessTransport, state: _SubscriptionState,
                 handler: Handler, workers: int, max_outstanding: int):
        self._transport = transport
        self._state = state
        self._handler = handler
        self._stopped = threading.Event()
        # Flow control, as Pub/Sub's: messages delivered and not yet acked or nacked (a
        # deferred ack keeps its message outstanding without keeping a worker).
        self._window = threading.BoundedSemaphore(max(max_outstanding, workers))
        self._threads = [
            threading.Thread(target=self._work, name=f"{state.name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while not self._stopped.is_set():
            if not self._window.acquire(timeout=0.1):
                continue
            pending = self._state.take(timeout=0.1)
            if pending is None:
                self._window.release()
                continue
            try:
                outcome = self._handler(self._state.message(pending))
            except Exception:  # noqa: BLE001 - a raising handler nacks, whatever it raised
                self._nack(pending)
            else:
                when_settled(outcome, self._window.release, lambda p=pending: self._nack(p))

    def _nack(self, pending: _Pending) -> None:
        self._window.release()
        self._transport._nack(self._state, pending)

    def stop(self) -> None:
        self._stopped.set()
        for thread in self._threads:
            thread.join()


class InProcessTransport(Transport):
    """Topics fan out to their subscriptions; a raising handler's message comes back after the
    subscription's backoff, and after max delivery attempts goes to its dead-letter topic.

    It is its own admin: the topic/subscription calls match `PubSubAdmin`'s.
    """

    def __init__(self, workers_per_subscription: int = 4):
        self.workers = workers_per_subscription
        self._lock = threading.Lock()
        self._topics: dict[tuple[str, str], list[_SubscriptionState]] = {}
        self._subscriptions: dict[tuple[str, str], _SubscriptionState] = {}

    # --- admin

    def create_topic(self, project: str, topic: str) -> bool:
        with self._lock:
            if (project, topic) in self._topics:
                return False
            self._topics[(project, topic)] = []
            return True

    def create_subscription(
        self,
        project: str,
        subscription: str,
        topic: str,
        *,
        topic_project: str | None = None,
        dead_letter_topic: str | None = None,
        max_delivery_attempts: int = 5,
        min_backoff: float | None = None,  # None: no retry policy, redelivery at once
        max_backoff: float | None = None,
        ack_deadline: float = 60.0,
        push_endpoint: str | None = None,
    ) -> bool:
        if push_endpoint is not None:
            raise ValueError("the in-process transport delivers by pull only")
        with self._lock:
            if (project, subscription) in self._subscriptions:
                return False
            subscribers = self._topics.get((topic_project or project, topic))
            if subscribers is None:
                raise exceptions.NotFound(f"topic {topic_project or project}/{topic}")
            if dead_letter_topic and (project, dead_letter_topic) not in self._topics:
                raise exceptions.NotFound(f"dead-letter topic {project}/{dead_letter_topic}")
            state = _SubscriptionState(
                project, subscription, dead_letter_topic, max_delivery_attempts,
                min_backoff or 0.0, max_backoff or 600.0, ack_deadline,
            )
            subscribers.append(state)
            self._subscriptions[(project, subscription)] = state
            return True

    def delete_subscription(self, project: str, subscription: str) -> None:
        with self._lock:
            state = self._subscriptions.pop((project, subscription), None)
            for subscribers in self._topics.values():
                if state in subscribers:
                    subscribers.remove(state)

    def _state(self, project: str, subscription: str) -> _SubscriptionState:
        with self._lock:
            state = self._subscriptions.get((project, subscription))
        if state is None:
            raise exceptions.NotFound(f"subscription {project}/{subscription}")
        return state

    # --- transport

    def publish(
        self, project: str, topic: str, data: bytes, attributes: Mapping[str, str] | None = None
    ) -> str:
        if not isinstance(data, bytes):
            raise TypeError("data must be bytes")
        with self._lock:
            subscribers = self._topics.get((project, topic))
            if subscribers is None:
                raise exceptions.NotFound(f"topic {project}/{topic}")
            subscribers = list(subscribers)
        message_id = str(next(_ids))
        carried = telemetry.inject(dict(attributes or {}))
        for state in subscribers:
            state.put(_Pending(message_id, data, dict(carried), time.time()))
        return message_id

    def subscribe(self, project: str, subscription: str, handler: Handler, *,
                  max_outstanding: int | None = None) -> Subscription:
        return _InProcessSubscription(self, self._state(project, subscription), handler,
                                      self.workers, max_outstanding or self.workers)

    def _nack(self, state: _SubscriptionState, pending: _Pending) -> None:
        if state.dead_letter_topic and pending.attempts >= state.max_delivery_attempts:
            attributes = {
                **pending.attributes,
                "CloudPubSubDeadLetterSourceDeliveryCount": str(pending.attempts),
                "CloudPubSubDeadLetterSourceSubscription": state.name,
                "CloudPubSubDeadLetterSourceSubscriptionProject": state.project,
            }
            self.publish(state.project, state.dead_letter_topic, pending.data, attributes)
        else:
            state.put(pending, state.backoff(pending.attempts))

    # --- unary pull (dead-letter inspection)

    def pull(self, project: str, subscription: str, max_messages: int,
             wait: bool = True) -> list[Pulled]:
        state = self._state(project, subscription)
        pulled = []
        while len(pulled) < max_messages:
            pending = state.take(timeout=0)
            if pending is None:
                break
            ack_id = uuid.uuid4().hex
            with state.ready:
                state.leased[ack_id] = (time.monotonic() + state.ack_deadline, pending)
            pulled.append(Pulled(ack_id, state.message(pending)))
        return pulled

    def ack(self, project: str, subscription: str, ack_ids: Sequence[str]) -> None:
        state = self._state(project, subscription)
        with state.ready:
            for ack_id in ack_ids:
                state.leased.pop(ack_id, None)

    def release(self, project: str, subscription: str, ack_ids: Sequence[str]) -> None:
        state = self._state(project, subscription)
        with state.ready:
            for ack_id in ack_ids:
                lease = state.leased.pop(ack_id, None)
                if lease is not None:
                    heapq.heappush(state.queue, (time.monotonic(), next(_ids), lease[1]))
            state.ready.notify_all()
