"""PubSubTransport: publish and streaming pull on Google Pub/Sub (or PUBSUB_EMULATOR_HOST), plus its admin."""

from __future__ import annotations

import concurrent.futures
import datetime
import logging
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence

import grpc
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.subscriber.scheduler import ThreadScheduler
from google.pubsub_v1.services.publisher.client import PublisherClient as GapicPublisherClient
from google.pubsub_v1.services.publisher.transports.grpc import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports.grpc import SubscriberGrpcTransport
from google.pubsub_v1.types import PublishRequest, PubsubMessage

from services.common import telemetry
from services.common.config import Settings
from services.common.deadletters import Pulled
from services.common.transport import (
    Handler,
    Message,
    Subscription,
    Transport,
    message_attributes,
    when_settled,
)

log = logging.getLogger("prio_stream.pubsub")

# gRPC's default receive limit is 4 MiB; the client library lifts it on its own channels but
# not on the one it opens for PUBSUB_EMULATOR_HOST, where large messages then fail to pull
# (unary) or silently never arrive (streaming). Our emulator channels lift it.
_UNLIMITED = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]


def _emulator_channel(host: str) -> grpc.Channel:
    return grpc.insecure_channel(host, options=_UNLIMITED)


def subscriber_client(emulator_host: str | None) -> pubsub_v1.SubscriberClient:
    if not emulator_host:
        return pubsub_v1.SubscriberClient()
    transport = SubscriberGrpcTransport(
        channel=_emulator_channel(emulator_host), credentials=AnonymousCredentials()
    )
    return pubsub_v1.SubscriberClient(transport=transport)


def publisher_client(
    emulator_host: str | None, batch_settings: pubsub_v1.types.BatchSettings
) -> pubsub_v1.PublisherClient:
    if not emulator_host:
        return pubsub_v1.PublisherClient(batch_settings=batch_settings)
    transport = PublisherGrpcTransport(
        channel=_emulator_channel(emulator_host), credentials=AnonymousCredentials()
    )
    return pubsub_v1.PublisherClient(batch_settings=batch_settings, transport=transport)


# Pub/Sub's limits per Publish request: 1,000 messages, 10 MB (headroom for the framing).
PUBLISH_MAX_MESSAGES = 1000
PUBLISH_MAX_BYTES = 9 << 20


def _chunks(messages: Sequence[bytes], max_messages: int, max_bytes: int
            ) -> Iterator[Sequence[bytes]]:
    start, size = 0, 0
    for i, data in enumerate(messages):
        if i > start and (i - start >= max_messages or size + len(data) > max_bytes):
            yield messages[start:i]
            start, size = i, 0
        size += len(data)
    if start < len(messages):
        yield messages[start:]


class _StreamingPull(Subscription):
    def __init__(self, future: pubsub_v1.subscriber.futures.StreamingPullFuture, path: str):
        self._future = future
        self._path = path
        self._stopping = threading.Event()

    def stop(self, timeout: float = 60.0) -> None:
        self._stopping.set()
        self._future.cancel()  # with await_callbacks_on_shutdown: returns after handlers end
        try:
            self._future.result(timeout=timeout)
        except concurrent.futures.CancelledError:
            pass
        except Exception as error:  # noqa: BLE001 - it had already failed; error() reports it
            log.warning("streaming pull had failed", extra={"subscription": self._path,
                                                            "error": type(error).__name__})

    def error(self) -> BaseException | None:
        if self._stopping.is_set() or not self._future.done():
            return None
        try:
            return self._future.exception(timeout=0)
        except concurrent.futures.CancelledError:
            return None


class PubSubTransport(Transport):
    """Publishes in batches and waits for the broker's id; streaming pull with flow control.

    A handler that returns acks its message, one that raises nacks it (redelivered with the
    subscription's retry policy, dead-lettered after its maximum delivery attempts).
    """

    def __init__(
        self,
        emulator_host: str | None = None,
        *,
        max_messages: int = 16,
        max_bytes: int = 256 * 1024 * 1024,
        handler_threads: int = 16,
        batch_settings: pubsub_v1.types.BatchSettings | None = None,
        publish_timeout: float = 60.0,
    ):
        self.emulator_host = emulator_host
        self.flow_control = pubsub_v1.types.FlowControl(
            max_messages=max_messages, max_bytes=max_bytes
        )
        self.publish_timeout = publish_timeout
        # Threads running handlers, per subscription. A handler that defers its ack (returns a
        # future) frees its thread at once, so a window of a thousand held pings needs no
        # thousand threads; handlers that block hold one each, up to this many at a time.
        self.handler_threads = handler_threads
        self.publisher = publisher_client(
            emulator_host,
            batch_settings
            or pubsub_v1.types.BatchSettings(max_messages=100, max_bytes=1 << 20, max_latency=0.01),
        )
        self.subscriber = subscriber_client(emulator_host)
        self.admin = PubSubAdmin(self.publisher, self.subscriber)

    @classmethod
    def from_settings(cls, settings: Settings) -> PubSubTransport:
        return cls(
            settings.pubsub_emulator_host,
            max_messages=settings.pubsub_max_messages,
            max_bytes=settings.pubsub_max_bytes,
            handler_threads=settings.pubsub_handler_threads,
        )

    def publish(
        self, project: str, topic: str, data: bytes, attributes: Mapping[str, str] | None = None
    ) -> str:
        future = self.publisher.publish(
            self.publisher.topic_path(project, topic), data, **telemetry.inject(dict(attributes or {}))
        )
        return future.result(timeout=self.publish_timeout)

    def publish_many(self, project: str, topic: str, messages: Sequence[bytes],
                     attributes: Mapping[str, str] | None = None,
                     each: Sequence[Mapping[str, str]] | None = None) -> list[str]:
        """One Publish call per chunk of the API's limits, built as raw protobuf: the batching
        publisher's per-message future and bookkeeping cost several times the call itself."""
        request_type, message_type = PublishRequest.pb(), PubsubMessage.pb()
        path = self.publisher.topic_path(project, topic)
        carried = telemetry.inject(dict(attributes or {}))
        ids: list[str] = []
        for chunk in _chunks(messages, PUBLISH_MAX_MESSAGES, PUBLISH_MAX_BYTES):
            first = len(ids)
            request = request_type(topic=path, messages=[
                message_type(data=data, attributes=message_attributes(carried, each, first + i))
                for i, data in enumerate(chunk)])
            # The GAPIC Publish call itself: the client's own publish() is the batching one.
            response = GapicPublisherClient.publish(
                self.publisher, request=PublishRequest.wrap(request), timeout=self.publish_timeout)
            ids += response.message_ids
        return ids

    def subscribe(self, project: str, subscription: str, handler: Handler, *,
                  max_outstanding: int | None = None) -> Subscription:
        path = self.subscriber.subscription_path(project, subscription)
        flow_control = self.flow_control if max_outstanding is None else \
            self.flow_control._replace(max_messages=max_outstanding)

        def deliver(received: pubsub_v1.subscriber.message.Message) -> None:
            message = Message(
                received.data,
                dict(received.attributes),
                received.message_id,
                subscription,
                received.delivery_attempt,
            )
            try:
                outcome = handler(message)
            except Exception:  # noqa: BLE001 - a raising handler nacks, whatever it raised
                received.nack()
            else:
                when_settled(outcome, received.ack, received.nack)

        executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=min(flow_control.max_messages, self.handler_threads),
            thread_name_prefix=subscription,
        )
        future = self.subscriber.subscribe(
            path,
            deliver,
            flow_control=flow_control,
            scheduler=ThreadScheduler(executor),
            await_callbacks_on_shutdown=True,
        )
        return _StreamingPull(future, path)

    def close(self) -> None:
        self.publisher.stop()
        self.subscriber.close()


class PubSubAdmin:
    """Topics and subscriptions (idempotent creation), unary pull/ack for dead letters."""

    def __init__(self, publisher: pubsub_v1.PublisherClient,
                 subscriber: pubsub_v1.SubscriberClient):
        self.publisher = publisher
        self.subscriber = subscriber
        self.pull_wait = 3.0  # seconds a unary pull waits for messages

    @classmethod
    def for_emulator(cls, emulator_host: str | None) -> PubSubAdmin:
        return cls(
            publisher_client(emulator_host, pubsub_v1.types.BatchSettings()),
            subscriber_client(emulator_host),
        )

    def create_topic(self, project: str, topic: str) -> bool:
        try:
            self.publisher.create_topic(name=self.publisher.topic_path(project, topic))
        except exceptions.AlreadyExists:
            return False
        return True

    def delete_topic(self, project: str, topic: str) -> None:
        try:
            self.publisher.delete_topic(topic=self.publisher.topic_path(project, topic))
        except exceptions.NotFound:
            pass

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
        push_service_account: str | None = None,
        push_audience: str | None = None,
    ) -> bool:
        """Creates the subscription unless it exists (True if created).

        dead_letter_topic is a topic name in the subscription's project.
        """
        request = {
            "name": self.subscriber.subscription_path(project, subscription),
            "topic": self.publisher.topic_path(topic_project or project, topic),
            "ack_deadline_seconds": int(ack_deadline),
        }
        if min_backoff is not None or max_backoff is not None:
            request["retry_policy"] = {
                "minimum_backoff": datetime.timedelta(seconds=min_backoff or 10.0),
                "maximum_backoff": datetime.timedelta(seconds=max_backoff or 600.0),
            }
        if dead_letter_topic:
            request["dead_letter_policy"] = {
                "dead_letter_topic": self.publisher.topic_path(project, dead_letter_topic),
                "max_delivery_attempts": max_delivery_attempts,
            }
        if push_endpoint:
            push: dict = {"push_endpoint": push_endpoint}
            if push_service_account:
                push["oidc_token"] = {
                    "service_account_email": push_service_account,
                    "audience": push_audience or push_endpoint,
                }
            request["push_config"] = push
        try:
            self.subscriber.create_subscription(request=request)
        except exceptions.AlreadyExists:
            return False
        return True

    def delete_subscription(self, project: str, subscription: str) -> None:
        try:
            self.subscriber.delete_subscription(
                subscription=self.subscriber.subscription_path(project, subscription)
            )
        except exceptions.NotFound:
            pass

    def pull(self, project: str, subscription: str, max_messages: int,
             wait: bool = True) -> list[Pulled]:
        """Up to max_messages; with wait, waits up to pull_wait seconds for the first one (an
        immediate answer may be empty although messages exist)."""
        path = self.subscriber.subscription_path(project, subscription)
        try:
            with warnings.catch_warnings():  # return_immediately is deprecated, still honoured
                warnings.simplefilter("ignore", DeprecationWarning)
                response = self.subscriber.pull(
                    request={"subscription": path, "max_messages": max_messages,
                             **({} if wait else {"return_immediately": True})},
                    retry=None,
                    timeout=self.pull_wait,
                )
        except exceptions.DeadlineExceeded:
            return []
        return [
            Pulled(
                received.ack_id,
                Message(
                    received.message.data,
                    dict(received.message.attributes),
                    received.message.message_id,
                    subscription,
                    received.delivery_attempt or None,
                ),
            )
            for received in response.received_messages
        ]

    def ack(self, project: str, subscription: str, ack_ids: Sequence[str]) -> None:
        if ack_ids:
            self.subscriber.acknowledge(
                subscription=self.subscriber.subscription_path(project, subscription),
                ack_ids=list(ack_ids),
            )

    def release(self, project: str, subscription: str, ack_ids: Sequence[str]) -> None:
        if ack_ids:
            self.subscriber.modify_ack_deadline(
                subscription=self.subscriber.subscription_path(project, subscription),
                ack_ids=list(ack_ids),
                ack_deadline_seconds=0,
            )
