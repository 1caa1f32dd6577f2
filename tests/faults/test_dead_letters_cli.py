"""`prio-stream dead-letters` on the emulator: what tests/platform/test_platform_cli.py leaves
out (it lists, shows and re-drives one letter): a show of an unknown id, a discard by id that
leaves the others in place, a discard of all."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter

import pytest
from click.testing import CliRunner

from services.common import topology
from services.common.provision import Deployment, SubscriptionPolicy, provision
from services.common.pubsub import PubSubTransport
from services.main import cli

pytestmark = [pytest.mark.emulator]


def _cli(*args: str, project: str):
    return CliRunner().invoke(cli, ["dead-letters", *args], env={"PROJECT_ID": project,
                                                                 "TRANSPORT": "pubsub"})


def _listed(project: str) -> list[dict]:
    result = _cli("list", "--topic", topology.VERIFIED, project=project)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def _shown(project: str, message_id: str) -> bytes:
    result = _cli("show", "--topic", topology.VERIFIED, message_id, project=project)
    assert result.exit_code == 0, result.output
    return base64.b64decode(json.loads(result.output)["data"])


def test_dead_letters_show_unknown_discard_by_id_and_all(pubsub_emulator, unique_projects):
    project = unique_projects.a
    transport = PubSubTransport(pubsub_emulator.host)
    provision(transport.admin, Deployment(unique_projects.a, unique_projects.b,
                                          unique_projects.ingest, buckets=()),
              SubscriptionPolicy(max_delivery_attempts=5, min_backoff=0.1, max_backoff=0.5))
    attempts: Counter = Counter()

    def refuse(message):
        attempts[message.data] += 1
        raise RuntimeError("undecodable")

    subscription = transport.subscribe(project, "prio-verified-aggregator", refuse)
    try:
        for i in range(3):
            transport.publish(project, topology.VERIFIED, f"bad-{i}".encode())
        deadline = time.monotonic() + 60
        while min(attempts[f"bad-{i}".encode()] for i in range(3)) < 5 \
                and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        subscription.stop()
    letters: list[dict] = []
    deadline = time.monotonic() + 30  # the emulator forwards to the dead-letter topic async
    while len(letters) < 3 and time.monotonic() < deadline:
        letters = _listed(project)
    assert {entry["topic"] for entry in letters} == {topology.VERIFIED}
    # A dead letter has its own message id (the dead-letter topic's); its data is the original.
    by_data = {_shown(project, entry["message_id"]): entry["message_id"] for entry in letters}
    assert sorted(by_data) == [b"bad-0", b"bad-1", b"bad-2"]

    unknown = _cli("show", "--topic", topology.VERIFIED, "no-such-id", project=project)
    assert unknown.exit_code == 1 and "no dead letter no-such-id" in unknown.output

    one = _cli("discard", "--topic", topology.VERIFIED, "--message-id", by_data[b"bad-0"],
               project=project)
    assert one.exit_code == 0 and one.output.strip() == f"{topology.VERIFIED}: 1 discarded"
    assert sorted(_shown(project, entry["message_id"]) for entry in _listed(project)) == [
        b"bad-1", b"bad-2"]

    rest = _cli("discard", "--topic", topology.VERIFIED, "--all", project=project)
    assert rest.exit_code == 0 and rest.output.strip() == f"{topology.VERIFIED}: 2 discarded"
    assert _listed(project) == []
