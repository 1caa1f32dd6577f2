"""Creates the topics, subscriptions and buckets of a deployment (emulators, embedded runs)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from services.common import topology


@dataclasses.dataclass(frozen=True)
class Deployment:
    """Projects and buckets of one deployment: two server projects and the ingest project."""

    project_a: str = "prio-a"
    project_b: str = "prio-b"
    project_ingest: str = "prio-ingest"
    buckets: tuple[str, ...] = (*topology.server_buckets("a"), *topology.server_buckets("b"),
                                topology.INGEST_BUCKET)


def deployment_of(settings, project_a: str | None = None, project_b: str | None = None,
                  project_ingest: str | None = None, extra_buckets: Iterable[str] = ()
                  ) -> Deployment:
    """The names the settings give (one side's settings: SERVER_ID's own project and buckets,
    the peer's project and inbox), what the arguments override, and defaults for the rest."""
    peer = "a" if settings.server_id == "B" else "b"
    own_project, peer_project = settings.project_id, settings.peer_project_id
    projects = {"a": own_project, "b": peer_project} if peer == "b" else {
        "a": peer_project, "b": own_project}
    buckets = [settings.inbox_bucket, settings.private_bucket, settings.peer_inbox_bucket,
               topology.server_buckets(peer)[1], settings.ingest_bucket,
               *getattr(settings, "staging_buckets", ()), *extra_buckets]
    return Deployment(project_a or projects["a"], project_b or projects["b"],
                      project_ingest or settings.ingest_project_id, tuple(_unique(buckets)))


@dataclasses.dataclass(frozen=True)
class SubscriptionPolicy:
    max_delivery_attempts: int = 5
    min_backoff: float = 10.0
    max_backoff: float = 600.0
    # Short on the emulator: messages it hands to a dead streaming pull wait this long.
    ack_deadline: float = 60.0
    # "{server}" (a, b or ingest), "{service}", "{subscription}": e.g.
    # "http://{server}-{service}:8080/push/{subscription}". None: streaming pull.
    push_url_template: str | None = None
    push_service_account: str | None = None


def provision(admin, deployment: Deployment, policy: SubscriptionPolicy,
              storage=None) -> list[str]:
    """Creates what is missing (idempotent); returns what it created, as readable lines."""
    created: list[str] = []
    sides = (("a", deployment.project_a, "server"), ("b", deployment.project_b, "server"),
             ("ingest", deployment.project_ingest, "ingest"))
    for server, project, side in sides:
        specs = [s for s in topology.SUBSCRIPTIONS if s.side == side]
        topics = topology.SERVER_TOPICS if side == "server" else topology.INGEST_TOPICS
        for topic in _unique([*topics, *(topology.dead_letter_topic(s.topic) for s in specs)]):
            if admin.create_topic(project, topic):
                created.append(f"topic {project}/{topic}")
        for spec in specs:
            push = None
            if policy.push_url_template:
                push = policy.push_url_template.format(
                    server=server, service=spec.service, subscription=spec.name
                )
            if admin.create_subscription(
                project, spec.name, spec.topic,
                dead_letter_topic=spec.dead_letter_topic,
                max_delivery_attempts=policy.max_delivery_attempts,
                min_backoff=policy.min_backoff, max_backoff=policy.max_backoff,
                ack_deadline=policy.ack_deadline,
                **({"push_endpoint": push,
                    "push_service_account": policy.push_service_account} if push else {}),
            ):
                created.append(f"subscription {project}/{spec.name}" + (f" -> {push}" if push else ""))
            inspect = topology.inspect_subscription(spec.topic)
            if admin.create_subscription(project, inspect, spec.dead_letter_topic,
                                         ack_deadline=policy.ack_deadline):
                created.append(f"subscription {project}/{inspect}")
    if storage is not None:
        for bucket in deployment.buckets:
            if storage.ensure_bucket(bucket):
                created.append(f"bucket {bucket}")
    return created


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))
