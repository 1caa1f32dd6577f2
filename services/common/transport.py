"""The transport interface every service uses: publish to a topic, handle a subscription."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping


@dataclasses.dataclass(frozen=True)
class Message:
    """One delivered message, whatever carried it (streaming pull, push, in-process)."""

    data: bytes
    attributes: Mapping[str, str]
    message_id: str
    subscription: str
    delivery_attempt: int | None = None  # None where the carrier does not say (emulator push)


# A handler returns normally to ack. Raising nacks: the message is redelivered
# (with the subscription's backoff) and, after the subscription's maximum
# delivery attempts, goes to its dead-letter topic. Reports that are bad data
# are never raised: they are counted as rejected and the message is acked.
Handler = Callable[[Message], None]


class Subscription(abc.ABC):
    @abc.abstractmethod
    def stop(self) -> None:
        """Stops delivery and waits for in-flight handlers to finish."""

    def error(self) -> BaseException | None:
        """Why delivery ended on its own (e.g. the subscription does not exist); None if running."""
        return None


class Transport(abc.ABC):
    """Implementations: `PubSubTransport` (google-cloud-pubsub) and `InProcessTransport`."""

    @abc.abstractmethod
    def publish(
        self, project: str, topic: str, data: bytes, attributes: Mapping[str, str] | None = None
    ) -> str:
        """Publishes and waits until the broker has it; returns the message id."""

    @abc.abstractmethod
    def subscribe(self, project: str, subscription: str, handler: Handler) -> Subscription:
        """Delivers the subscription's messages to handler (streaming pull, flow-controlled)."""
