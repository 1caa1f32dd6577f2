"""The transport interface every service uses: publish to a topic, handle a subscription."""

from __future__ import annotations

import abc
import concurrent.futures
import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence


@dataclasses.dataclass(frozen=True)
class Message:
    """One delivered message, whatever carried it (streaming pull, push, in-process)."""

    data: bytes
    attributes: Mapping[str, str]
    message_id: str
    subscription: str
    delivery_attempt: int | None = None  # None where the carrier does not say (emulator push)


# A handler returns None to ack. Raising nacks: the message is redelivered
# (with the subscription's backoff) and, after the subscription's maximum
# delivery attempts, goes to its dead-letter topic. Reports that are bad data
# are never raised: they are counted as rejected and the message is acked.
#
# A handler may instead return a Future: the ack is deferred until it settles
# (a result acks, an exception nacks) and no thread waits for it meanwhile.
# Ingest does this: a ping is acked once the partition holding its reports is
# written, and a partition holds a thousand pings. The transport's flow control
# still counts the message as outstanding until then.
Outcome = concurrent.futures.Future | None
Handler = Callable[[Message], Outcome]


def when_settled(outcome: Outcome, ack: Callable[[], None], nack: Callable[[], None]) -> None:
    """Calls ack or nack once the outcome settles (at once if the handler returned None)."""
    if outcome is None:
        ack()
        return
    outcome.add_done_callback(lambda done: nack() if done.exception() is not None else ack())


def joined(outcomes: Iterable[Outcome]) -> Outcome:
    """One outcome for several: acks when all do, nacks with the first failure."""
    pending = [o for o in outcomes if o is not None]
    if not pending:
        return None
    if len(pending) == 1:
        return pending[0]
    future: concurrent.futures.Future = concurrent.futures.Future()
    remaining = [len(pending)]
    lock = threading.Lock()

    def settle(_done) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            failure = next((o.exception() for o in pending if o.exception()), None)
            if failure is None:
                future.set_result(None)
            else:
                future.set_exception(failure)

    for o in pending:
        o.add_done_callback(settle)
    return future


class Subscription(abc.ABC):
    @abc.abstractmethod
    def stop(self) -> None:
        """Stops delivery and waits for in-flight handlers to finish."""

    def error(self) -> BaseException | None:
        """Why delivery ended on its own (e.g. the subscription does not exist); None if running."""
        return None


def message_attributes(common: Mapping[str, str] | None,
                       each: Sequence[Mapping[str, str]] | None, i: int) -> dict[str, str]:
    """Message i's attributes in a publish_many: its own (each[i]) over the common ones."""
    return {**(common or {}), **(each[i] if each else {})}


class Transport(abc.ABC):
    """Implementations: `PubSubTransport` (google-cloud-pubsub) and `InProcessTransport`."""

    @abc.abstractmethod
    def publish(
        self, project: str, topic: str, data: bytes, attributes: Mapping[str, str] | None = None
    ) -> str:
        """Publishes and waits until the broker has it; returns the message id."""

    def publish_many(self, project: str, topic: str, messages: Sequence[bytes],
                     attributes: Mapping[str, str] | None = None,
                     each: Sequence[Mapping[str, str]] | None = None) -> list[str]:
        """Publishes every message (attributes, and each[i] over them for message i) and waits
        until the broker has them all; returns their ids. For senders of many small messages
        at once (the load generator)."""
        return [self.publish(project, topic, data, message_attributes(attributes, each, i))
                for i, data in enumerate(messages)]

    @abc.abstractmethod
    def subscribe(self, project: str, subscription: str, handler: Handler, *,
                  max_outstanding: int | None = None) -> Subscription:
        """Delivers the subscription's messages to handler (streaming pull, flow-controlled:
        at most max_outstanding delivered and not settled; None: the transport's setting)."""
