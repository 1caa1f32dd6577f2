"""Dead letters: list, show, re-drive to the source topic, discard (through `<topic>-dead-letter-inspect`)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Collection, Sequence
from typing import Protocol

from services.common import topology
from services.common.transport import Message, Transport

# Attributes Pub/Sub adds when it dead-letters a message; not carried back by a re-drive.
_DEAD_LETTER_ATTRIBUTE_PREFIX = "CloudPubSubDeadLetter"


@dataclasses.dataclass(frozen=True)
class Pulled:
    ack_id: str
    message: Message


class Admin(Protocol):
    """Unary pull and ack on a subscription: `PubSubAdmin` and `InProcessTransport`."""

    def pull(self, project: str, subscription: str, max_messages: int,
             wait: bool = True) -> list[Pulled]: ...

    def ack(self, project: str, subscription: str, ack_ids: Sequence[str]) -> None: ...

    def release(self, project: str, subscription: str, ack_ids: Sequence[str]) -> None:
        """Makes pulled messages deliverable again at once (ack deadline 0)."""


def admin_of(transport: Transport) -> Admin:
    return getattr(transport, "admin", transport)


def _pull_all(admin: Admin, project: str, subscription: str, limit: int) -> list[Pulled]:
    pulled: list[Pulled] = []
    while len(pulled) < limit:
        batch = admin.pull(project, subscription, min(100, limit - len(pulled)), wait=not pulled)
        if not batch:
            break
        pulled.extend(batch)
    return pulled


def list_messages(admin: Admin, project: str, topic: str, limit: int = 100) -> list[Message]:
    """Dead letters of topic's subscriptions, left in place."""
    inspect = topology.inspect_subscription(topic)
    pulled = _pull_all(admin, project, inspect, limit)
    if pulled:
        admin.release(project, inspect, [p.ack_id for p in pulled])
    return [p.message for p in pulled]


def find(admin: Admin, project: str, topic: str, message_id: str,
         limit: int = 1000) -> Message | None:
    """The dead letter of topic with this id (among the first `limit`), left in place."""
    return next((m for m in list_messages(admin, project, topic, limit)
                 if m.message_id == message_id), None)


def shown(message: Message) -> dict:
    """A dead letter with its data (base64): to decide between re-drive and discard."""
    return {"message_id": message.message_id, "attributes": dict(message.attributes),
            "data": base64.b64encode(message.data).decode()}


def redrive(
    admin: Admin,
    transport: Transport,
    project: str,
    topic: str,
    message_ids: Collection[str] | None = None,
    limit: int = 1000,
) -> int:
    """Publishes dead letters (all, or those of message_ids) again to topic; returns how many."""
    return _take(admin, project, topic, message_ids, limit, transport)


def discard(
    admin: Admin, project: str, topic: str, message_ids: Collection[str] | None = None,
    limit: int = 1000,
) -> int:
    """Drops dead letters (all, or those of message_ids); returns how many."""
    return _take(admin, project, topic, message_ids, limit, None)


def _take(admin, project, topic, message_ids, limit, republish_to: Transport | None) -> int:
    inspect = topology.inspect_subscription(topic)
    pulled = _pull_all(admin, project, inspect, limit)
    chosen = [p for p in pulled if message_ids is None or p.message.message_id in message_ids]
    others = [p.ack_id for p in pulled if p not in chosen]
    try:
        for item in chosen:
            if republish_to is not None:
                attributes = {
                    k: v
                    for k, v in item.message.attributes.items()
                    if not k.startswith(_DEAD_LETTER_ATTRIBUTE_PREFIX)
                }
                republish_to.publish(project, topic, item.message.data, attributes)
            admin.ack(project, inspect, [item.ack_id])
    finally:
        if others:
            admin.release(project, inspect, others)
    return len(chosen)
