"""The `prio-stream` command: serve, worker, embedded, loadgen, setup, dead-letters, releases."""

from __future__ import annotations

import contextlib
import json
import sys

import click
from google.auth import exceptions as auth_exceptions

from services import embedded_command, loadgen, releases_command
from services.common import logging as json_logging
from services.common import topology
from services.common.config import ConfigError, Settings, load_settings
from services.registry import SERVICES


def _settings(role: str | None = None) -> Settings:
    with setup_mistakes():
        return load_settings(role)


@contextlib.contextmanager
def setup_mistakes():
    """A setting missing or wrong (no credentials included) is one line and exit 1."""
    try:
        yield
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    except auth_exceptions.DefaultCredentialsError:
        raise click.ClickException(
            "no Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS (or run `gcloud "
            "auth application-default login`), or PUBSUB_EMULATOR_HOST and "
            "STORAGE_EMULATOR_HOST for the emulators") from None


@click.group()
@click.version_option(package_name="prio-stream", prog_name="prio-stream",
                      message="%(prog)s %(version)s")
def cli() -> None:
    """Prio aggregation as Pub/Sub stream-processing services."""


def _start(name: str):
    """NAME: ingest, verifier, aggregator, publisher (or `package.module:build`)."""
    from services.common.runtime import build_context, load_definition

    if name not in SERVICES and ":" not in name:
        raise click.BadParameter(f"one of {', '.join(SERVICES)}", param_hint="NAME")
    json_logging.configure()
    settings = _settings(name if name in SERVICES else None)
    # Cloud Logging links a line to its trace by the project's resource name, known only now.
    json_logging.configure(project_id=settings.project_id)
    with setup_mistakes():
        ctx = build_context(settings, name)
        return load_definition(name, ctx, SERVICES), ctx


@cli.command()
@click.argument("name", metavar="NAME")
def serve(name: str) -> None:
    """ASGI app on PORT: push endpoints + admin (Cloud Run)."""
    from services.common.runtime import serve as serve_app

    definition, ctx = _start(name)
    serve_app(definition, ctx)


@cli.command()
@click.argument("name", metavar="NAME")
def worker(name: str) -> None:
    """Streaming pull on the service's subscriptions + the same admin app on PORT."""
    from services.common.runtime import run_worker

    definition, ctx = _start(name)
    sys.exit(run_worker(definition, ctx))


@cli.command()
@click.option("--project-a", default=None,
              help="Server A's project. Default: PROJECT_ID (or PEER_PROJECT_ID when "
                   "SERVER_ID=B), else prio-a.")
@click.option("--project-b", default=None,
              help="Server B's project. Default: as --project-a, for B; else prio-b.")
@click.option("--project-ingest", default=None,
              help="The ingest project. Default: INGEST_PROJECT_ID (prio-ingest).")
@click.option("--bucket", "extra_buckets", multiple=True,
              help="Another bucket to create (repeatable).")
@click.option("--push-url-template", default=None,
              help="Push subscriptions to this URL instead of pull, e.g. "
                   "'http://{server}-{service}:8080/push/{subscription}' "
                   "({server} is a, b or ingest).")
@click.option("--min-backoff", default=10.0, show_default=True, help="Retry policy, seconds.")
@click.option("--max-backoff", default=600.0, show_default=True, help="Retry policy, seconds.")
@click.option("--ack-deadline", default=60.0, show_default=True, help="Seconds.")
@click.option("--buckets/--no-buckets", default=True, show_default=True,
              help="Create the buckets the settings name in STORAGE too: INBOX_BUCKET, "
                   "PRIVATE_BUCKET, PEER_INBOX_BUCKET, the peer's private bucket (prio-<peer>-"
                   "private: no setting names it), INGEST_BUCKET and STAGING_BUCKETS.")
def setup(project_a, project_b, project_ingest, extra_buckets, push_url_template, min_backoff,
          max_backoff, ack_deadline, buckets) -> None:
    """Create the topics, subscriptions and buckets the settings name (idempotent)."""
    from services.common.factory import make_storage
    from services.common.provision import SubscriptionPolicy, deployment_of, provision
    from services.common.pubsub import PubSubAdmin

    settings = _settings()
    if settings.transport != "pubsub":
        raise click.ClickException("setup creates Pub/Sub resources: set TRANSPORT=pubsub")
    deployment = deployment_of(settings, project_a, project_b, project_ingest, extra_buckets)
    with setup_mistakes():
        created = provision(
            PubSubAdmin.for_emulator(settings.pubsub_emulator_host), deployment,
            SubscriptionPolicy(settings.max_delivery_attempts, min_backoff, max_backoff,
                               ack_deadline, push_url_template, settings.push_service_account),
            make_storage(settings) if buckets else None,
        )
    for line in created:
        click.echo(f"created {line}")
    click.echo(f"{len(created)} created, the rest already existed")


@cli.group("dead-letters")
def dead_letters() -> None:
    """Inspect, re-drive or discard dead letters (`<topic>-dead-letter-inspect`)."""


def _dead_letter_tools(project: str | None):
    from services.common.pubsub import PubSubTransport

    settings = _settings()
    with setup_mistakes():
        transport = PubSubTransport.from_settings(settings)
    return transport.admin, transport, project or settings.project_id


_project_option = click.option("--project", default=None, help="Default: PROJECT_ID.")
_topic_option = click.option(
    "--topic", "topics", multiple=True,
    help="Source topic (e.g. prio-partitions); default: every topic with a subscription.",
)


def _topics(project: str, topics: tuple[str, ...], settings_ingest: str) -> list[str]:
    if topics:
        return list(topics)
    side = "ingest" if project == settings_ingest else "server"
    return list(dict.fromkeys(s.topic for s in topology.SUBSCRIPTIONS if s.side == side))


@dead_letters.command("list")
@_project_option
@_topic_option
@click.option("--limit", default=100, show_default=True)
def dead_letters_list(project, topics, limit) -> None:
    """One JSON line per dead letter: topic, message id, attributes, size."""
    from services.common import deadletters

    admin, _, project = _dead_letter_tools(project)
    for topic in _topics(project, topics, _settings().ingest_project_id):
        for message in deadletters.list_messages(admin, project, topic, limit):
            click.echo(json.dumps({"topic": topic, "message_id": message.message_id,
                                   "attributes": dict(message.attributes),
                                   "size": len(message.data)}))


@dead_letters.command("show")
@_project_option
@_topic_option
@click.argument("message_id")
def dead_letters_show(project, topics, message_id) -> None:
    """One dead letter with its data (base64)."""
    from services.common import deadletters

    admin, _, project = _dead_letter_tools(project)
    for topic in _topics(project, topics, _settings().ingest_project_id):
        found = deadletters.find(admin, project, topic, message_id)
        if found is not None:
            click.echo(json.dumps({"topic": topic, **deadletters.shown(found)}))
            return
    raise click.ClickException(f"no dead letter {message_id}")


@dead_letters.command("redrive")
@_project_option
@_topic_option
@click.option("--message-id", "message_ids", multiple=True, help="Default: all.")
def dead_letters_redrive(project, topics, message_ids) -> None:
    """Publish dead letters again to their source topic."""
    from services.common import deadletters

    admin, transport, project = _dead_letter_tools(project)
    for topic in _topics(project, topics, _settings().ingest_project_id):
        count = deadletters.redrive(admin, transport, project, topic, set(message_ids) or None)
        click.echo(f"{topic}: {count} re-driven")


@dead_letters.command("discard")
@_project_option
@_topic_option
@click.option("--message-id", "message_ids", multiple=True)
@click.option("--all", "discard_all", is_flag=True, help="Discard every dead letter.")
def dead_letters_discard(project, topics, message_ids, discard_all) -> None:
    """Drop dead letters for good (the ids given, or --all)."""
    from services.common import deadletters

    if not message_ids and not discard_all:
        raise click.UsageError("give --message-id or --all")
    admin, _, project = _dead_letter_tools(project)
    for topic in _topics(project, topics, _settings().ingest_project_id):
        count = deadletters.discard(admin, project, topic, set(message_ids) or None)
        click.echo(f"{topic}: {count} discarded")


cli.add_command(embedded_command.command)
cli.add_command(loadgen.command)
cli.add_command(releases_command.group)

if __name__ == "__main__":
    cli()
