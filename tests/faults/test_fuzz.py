"""Fuzzed pings and protobuf messages through the ingest and verifier handlers (hypothesis):
no crash; each input is processed, rejected with a reason of the taxonomy, or refused as a
message that cannot be processed (which Pub/Sub dead-letters)."""

from __future__ import annotations

import json

from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.storage import ObjectNotFound
from services.common.transport import Message
from services.ingest import pings
from services.protocol import outcome, pb
from services.verifier.verification import PartitionMismatch
from tests.services.harness import BATCH, Cluster

BATCHES = {BATCH: 8}
TAXONOMY = set(outcome.all_reasons())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4), max_leaves=20)


def _ping_like():
    entry = st.fixed_dictionaries({"encoding": st.sampled_from([BATCH, "nope", 3]),
                                   "prio": json_values | st.fixed_dictionaries(
                                       {"a": st.text(max_size=12), "b": st.text(max_size=12)})})
    return st.fixed_dictionaries({"id": st.text(max_size=10) | st.none(),
                                  "payload": st.fixed_dictionaries(
                                      {"prioData": st.lists(entry | json_values, max_size=3)})})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | _ping_like().map(lambda p: json.dumps(p).encode())
       | json_values.map(lambda p: json.dumps(p).encode()))
def test_every_ping_is_parsed_or_rejected_with_a_reason(data):
    reports, rejections = pings.parse(data, {}, BATCHES)
    for rejection in rejections:
        assert rejection.reason in TAXONOMY and rejection.id
    assert reports or rejections


_MESSAGES = {
    "prio-partitions-verifier": pb.PartitionNotice,
    "prio-verify1-verifier": pb.Verify1Partition,
    "prio-verify2-verifier": pb.Verify2Partition,
}
# What a handler may raise for a message it cannot process: nacked, then dead-lettered.
REFUSALS = (DecodeError, PartitionMismatch, ObjectNotFound, ValueError)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(_MESSAGES)), st.binary(max_size=300), st.data())
def test_fuzzed_protobuf_messages_never_crash_the_verifier(tmp_path, subscription, data, draw):
    cluster = _cluster(tmp_path)
    handler = cluster.services["verifier-A"].handlers[subscription]
    if draw.draw(st.booleans()):  # a well-formed message with fuzzed fields
        message = _MESSAGES[subscription](partition=pb.PartitionRef(
            batch_id=draw.draw(st.sampled_from([BATCH, "x", ""])), submission_date="2026-11-20",
            partition_id=draw.draw(st.text("abc", min_size=1, max_size=4))))
        if subscription != "prio-partitions-verifier":
            message.sender = draw.draw(st.sampled_from([0, 1, 2]))
            message.packets.extend([data])
        data = message.SerializeToString()
    try:
        handler(Message(data, {}, "m", subscription))
    except REFUSALS:
        pass


_CLUSTERS: dict = {}


def _cluster(tmp_path):
    if "c" not in _CLUSTERS:
        _CLUSTERS["c"] = Cluster(tmp_path)
    return _CLUSTERS["c"]
