"""The names of every topic, subscription and bucket (docs/architecture.md), as data."""

from __future__ import annotations

import dataclasses

from services.common.config import Settings

PINGS = "prio-pings"
PARTITIONS = "prio-partitions"
VERIFY1 = "prio-verify1"
VERIFY2 = "prio-verify2"
VERIFIED = "prio-verified"
BATCH_CLOSE = "prio-batch-close"
TOTAL_SHARES = "prio-total-shares"
RESULTS = "prio-results"
RELEASES = "prio-releases"

DEAD_LETTER_SUFFIX = "-dead-letter"
INSPECT_SUFFIX = "-inspect"


@dataclasses.dataclass(frozen=True)
class SubscriptionSpec:
    name: str
    topic: str
    service: str
    side: str  # "ingest": lives in INGEST_PROJECT_ID; "server": in each server's PROJECT_ID

    @property
    def dead_letter_topic(self) -> str:
        return dead_letter_topic(self.topic)


SUBSCRIPTIONS: tuple[SubscriptionSpec, ...] = (
    SubscriptionSpec("prio-pings-ingest", PINGS, "ingest", "ingest"),
    SubscriptionSpec("prio-partitions-verifier", PARTITIONS, "verifier", "server"),
    SubscriptionSpec("prio-verify1-verifier", VERIFY1, "verifier", "server"),
    SubscriptionSpec("prio-verify2-verifier", VERIFY2, "verifier", "server"),
    SubscriptionSpec("prio-verified-aggregator", VERIFIED, "aggregator", "server"),
    SubscriptionSpec("prio-batch-close-aggregator", BATCH_CLOSE, "aggregator", "server"),
    SubscriptionSpec("prio-total-shares-publisher", TOTAL_SHARES, "publisher", "server"),
    SubscriptionSpec("prio-releases-publisher", RELEASES, "publisher", "server"),
)
BY_NAME = {spec.name: spec for spec in SUBSCRIPTIONS}

SERVER_TOPICS = (PARTITIONS, VERIFY1, VERIFY2, VERIFIED, BATCH_CLOSE, TOTAL_SHARES, RESULTS,
                 RELEASES)
INGEST_TOPICS = (PINGS,)


def dead_letter_topic(topic: str) -> str:
    return topic + DEAD_LETTER_SUFFIX


def inspect_subscription(topic: str) -> str:
    """The admin's subscription on a dead-letter topic: `<topic>-dead-letter-inspect`."""
    return dead_letter_topic(topic) + INSPECT_SUFFIX


def subscription_project(subscription: str, settings: Settings) -> str:
    """The project a subscription of this deployment lives in."""
    spec = BY_NAME.get(subscription)
    if spec is not None and spec.side == "ingest":
        return settings.ingest_project_id
    return settings.project_id


INGEST_BUCKET = "prio-ingest"  # ingest's own (INGEST_BUCKET): anti-replay store, outcomes


def server_buckets(server: str) -> tuple[str, str]:
    """Default (inbox, private) buckets of server `a` or `b`."""
    return f"prio-{server}-inbox", f"prio-{server}-private"
