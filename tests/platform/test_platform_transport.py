"""Both transports, one set of semantics: fan-out, cross-project, nack/redelivery, dead letters."""

from __future__ import annotations

import threading
import time

import pytest
from google.api_core import exceptions

from services.common import deadletters, topology
from services.common.inprocess import InProcessTransport
from services.common.transport import Message

PROJECT_A, PROJECT_B = "server-a", "server-b"


class Inbox:
    """Collects messages; a handler that fails the first `fail` deliveries of each message."""

    def __init__(self, fail: int = 0, hold: float = 0.0):
        self.messages: list[Message] = []
        self.fail = fail
        self.hold = hold
        self.arrived = threading.Condition()
        self.finished = 0

    def __call__(self, message: Message) -> None:
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
            attempts = sum(m.message_id == message.message_id for m in self.messages)
        time.sleep(self.hold)
        if attempts <= self.fail:
            raise RuntimeError("nack, please")
        self.finished += 1

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Message]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, timeout), (
                f"{len(self.messages)} of {count} messages after {timeout}s"
            )
            return list(self.messages)


@pytest.fixture(params=["inprocess", pytest.param("pubsub", marks=pytest.mark.emulator)])
def kit(request, unique_name):
    """(transport, admin, make_topic_and_subscription) for each transport."""
    if request.param == "pubsub":
        from services.common.pubsub import PubSubTransport

        emulator = request.getfixturevalue("pubsub_emulator")
        transport = PubSubTransport(emulator.host, max_messages=8)
        admin = transport.admin
        admin.pull_wait = 1.0
    else:
        transport = admin = InProcessTransport()
    subscriptions = []

    def make(topic_project=PROJECT_A, sub_project=PROJECT_A, dead_letter=False, **policy):
        topic, sub = unique_name("topic"), unique_name("sub")
        admin.create_topic(topic_project, topic)
        dl_topic = None
        if dead_letter:
            dl_topic = topology.dead_letter_topic(topic)
            admin.create_topic(sub_project, dl_topic)
            admin.create_subscription(sub_project, topology.inspect_subscription(topic), dl_topic)
        admin.create_subscription(
            sub_project, sub, topic, topic_project=topic_project, dead_letter_topic=dl_topic,
            min_backoff=policy.pop("min_backoff", 0.1), max_backoff=policy.pop("max_backoff", 0.5),
            **policy,
        )
        return topic, sub

    def subscribe(project, sub, handler):
        subscription = transport.subscribe(project, sub, handler)
        subscriptions.append(subscription)
        return subscription

    yield transport, admin, make, subscribe
    for subscription in subscriptions:
        subscription.stop()


def test_cross_project_delivery_keeps_data_and_attributes(kit):
    transport, _, make, subscribe = kit
    topic, sub = make(topic_project=PROJECT_A, sub_project=PROJECT_B, dead_letter=True)
    inbox = Inbox()
    subscribe(PROJECT_B, sub, inbox)
    message_id = transport.publish(PROJECT_A, topic, b"\x00verify1\xff", {"batch_id": "b-0"})
    [message] = inbox.wait_for(1)
    assert message.message_id == message_id
    assert message.data == b"\x00verify1\xff"
    assert message.attributes["batch_id"] == "b-0"
    assert message.subscription == sub
    assert message.delivery_attempt == 1  # a dead-letter policy makes Pub/Sub count


def test_publish_fans_out_to_every_subscription(kit):
    transport, admin, make, subscribe = kit
    topic, first = make()
    second = first + "-second"
    admin.create_subscription(PROJECT_A, second, topic)
    inbox_1, inbox_2 = Inbox(), Inbox()
    subscribe(PROJECT_A, first, inbox_1)
    subscribe(PROJECT_A, second, inbox_2)
    transport.publish(PROJECT_A, topic, b"x")
    assert [m.data for m in inbox_1.wait_for(1)] == [b"x"]
    assert [m.data for m in inbox_2.wait_for(1)] == [b"x"]


def test_publish_many_delivers_every_message_once_with_its_ids(kit):
    """More than one Publish request's worth (1,000 messages), with attributes."""
    transport, _, make, subscribe = kit
    topic, sub = make()
    inbox = Inbox()
    subscribe(PROJECT_A, sub, inbox)
    sent = [f"ping-{i}".encode() for i in range(2100)]
    ids = transport.publish_many(PROJECT_A, topic, sent, {"origin": "loadgen"})
    received = inbox.wait_for(len(sent), timeout=60)
    assert len(ids) == len(set(ids)) == len(sent)
    assert sorted(m.data for m in received) == sorted(sent)
    assert {m.message_id for m in received} == set(ids)
    assert {m.attributes["origin"] for m in received} == {"loadgen"}


def test_publish_chunks_stay_within_the_api_limits():
    from services.common.pubsub import _chunks

    sizes = [len(c) for c in _chunks([b"x"] * 2500, 1000, 1 << 30)]
    assert sizes == [1000, 1000, 500]
    big = [bytes(4 << 20)] * 5  # 4 MiB each: two fit in 9 MiB, not three
    assert [len(c) for c in _chunks(big, 1000, 9 << 20)] == [2, 2, 1]
    assert [len(c) for c in _chunks([bytes(10 << 20)], 1000, 9 << 20)] == [1]  # alone if over
    assert list(_chunks([], 1000, 9 << 20)) == []


def test_publish_to_a_missing_topic_raises_not_found(kit):
    transport, *_ = kit
    with pytest.raises(exceptions.NotFound):
        transport.publish(PROJECT_A, "no-such-topic-anywhere", b"x")


def test_raising_handler_nacks_and_the_message_comes_back(kit):
    transport, _, make, subscribe = kit
    topic, sub = make(dead_letter=True)
    inbox = Inbox(fail=2)
    subscribe(PROJECT_A, sub, inbox)
    transport.publish(PROJECT_A, topic, b"retry me")
    deliveries = inbox.wait_for(3)
    assert [m.delivery_attempt for m in deliveries[:3]] == [1, 2, 3]
    assert {m.message_id for m in deliveries} == {deliveries[0].message_id}
    time.sleep(1.0)  # acked on the third attempt: no fourth
    assert len(inbox.messages) == 3 and inbox.finished == 1


def test_dead_letter_after_max_attempts_then_redrive(kit):
    transport, admin, make, subscribe = kit
    topic, sub = make(dead_letter=True, max_delivery_attempts=5)
    inbox = Inbox(fail=5)
    subscribe(PROJECT_A, sub, inbox)
    message_id = transport.publish(PROJECT_A, topic, b"poison", {"k": "v"})
    assert len(inbox.wait_for(5)) == 5
    dead = _wait_dead_letters(admin, topic, 1)
    assert [(m.data, m.attributes["k"]) for m in dead] == [(b"poison", "v")]
    assert len(inbox.messages) == 5
    # Listing leaves them in place; re-driving publishes them again, and now the handler acks.
    assert len(_wait_dead_letters(admin, topic, 1)) == 1
    assert deadletters.redrive(admin, transport, PROJECT_A, topic) == 1
    redriven = inbox.wait_for(6)[5]
    assert redriven.data == b"poison" and redriven.attributes["k"] == "v"
    assert not any(k.startswith("CloudPubSubDeadLetter") for k in redriven.attributes)
    assert redriven.message_id != message_id
    assert deadletters.list_messages(admin, PROJECT_A, topic) == []


def _wait_dead_letters(admin, topic, count, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = deadletters.list_messages(admin, PROJECT_A, topic)
        if len(found) >= count:
            return found
        time.sleep(0.3)
    raise AssertionError(f"no {count} dead letters on {topic} after {timeout}s")


def test_stop_waits_for_in_flight_handlers(kit):
    transport, _, make, subscribe = kit
    topic, sub = make()
    inbox = Inbox(hold=1.0)
    subscription = subscribe(PROJECT_A, sub, inbox)
    transport.publish(PROJECT_A, topic, b"slow")
    inbox.wait_for(1)
    assert inbox.finished == 0
    subscription.stop()
    assert inbox.finished == 1
    assert subscription.error() is None


def test_messages_published_before_subscribing_are_kept(kit):
    transport, _, make, subscribe = kit
    topic, sub = make()
    transport.publish(PROJECT_A, topic, b"early")
    inbox = Inbox()
    subscribe(PROJECT_A, sub, inbox)
    assert [m.data for m in inbox.wait_for(1)] == [b"early"]


def test_streaming_pull_delivers_a_message_over_the_4_mib_grpc_default(pubsub_emulator,
                                                                       unique_name):
    from services.common.pubsub import PubSubTransport

    transport = PubSubTransport(pubsub_emulator.host)
    topic, sub = unique_name("big"), unique_name("big-sub")
    transport.admin.create_topic(PROJECT_A, topic)
    transport.admin.create_subscription(PROJECT_B, sub, topic, topic_project=PROJECT_A)
    payload = bytes(range(256)) * (6 * 1024 * 1024 // 256)  # 6 MiB
    inbox = Inbox()
    subscription = transport.subscribe(PROJECT_B, sub, inbox)
    try:
        transport.publish(PROJECT_A, topic, payload)
        [message] = inbox.wait_for(1, timeout=30)
        assert message.data == payload
    finally:
        subscription.stop()


def test_streaming_pull_on_a_missing_subscription_reports_an_error(pubsub_emulator):
    from services.common.pubsub import PubSubTransport

    subscription = PubSubTransport(pubsub_emulator.host).subscribe(
        PROJECT_A, "no-such-subscription", Inbox())
    deadline = time.monotonic() + 20
    while subscription.error() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert isinstance(subscription.error(), exceptions.NotFound)
    subscription.stop()
