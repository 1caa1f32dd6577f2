"""The release log: each server's signed, hash-chained record of what it published, and the
check that both servers' records of a batch agree.

The attacker here is an operator of one server (or anyone with write access to its private
bucket) rewriting history: changing a published count, removing a release, or the peer
sending a record that does not match. `releases verify` must name the broken record; a
publisher must not mark a release agreed when the peer's record disagrees or is not signed by
the peer's key.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from services.aggregator.agreement import Agreement
from services.ingest import pings
from services.ingest.partitions import PartitionWriter
from services.main import cli
from services.protocol import layout, pb, releases, status
from services.protocol.layout import BatchKey
from services.publisher.release import PeerRecordRefused
from tests.services.harness import BATCH, DATE, Cluster

KEYS = [BatchKey(BATCH, DATE), BatchKey("test-1", DATE)]


def _values(i: int, n_data: int) -> list[int]:
    return [(i >> bit) & 1 for bit in range(n_data)]


def _publish(cluster, key: BatchKey, count: int = 5) -> None:
    n_data = cluster.settings["ingest"].data_config[key.batch_id]
    bodies = [cluster.ping(f"{key.batch_id}-{i}", _values(i, n_data), key.batch_id)
              for i in range(count)]
    reports = [r for body in bodies
               for r in pings.parse(body, {}, cluster.settings["ingest"].data_config)[0]]
    PartitionWriter(cluster.contexts["ingest"]).write(key, "p1", reports)
    cluster.run_servers()
    Agreement(cluster.contexts["aggregator-A"]).close(key)
    cluster.run_servers()


@pytest.fixture
def cluster(tmp_path):
    cluster = Cluster(tmp_path)
    for key in KEYS:
        _publish(cluster, key)
    return cluster


def _public(cluster) -> dict[str, bytes]:
    return {s: releases.public_key(cluster.signing[s]) for s in "AB"}


def _verify(cluster, server: str = "A"):
    return releases.verify_log(cluster.storage, cluster.settings[server].private_bucket,
                               _public(cluster))


def _rewrite(cluster, server: str, name: str, data: bytes | None) -> None:
    """What someone with the bucket's files in hand does: replace or remove an object."""
    path = cluster.storage.root / cluster.settings[server].private_bucket / name
    if data is None:
        path.unlink()
    else:
        path.write_bytes(data)


def test_both_servers_logs_verify_and_every_release_is_agreed(cluster):
    for server in "AB":
        checked, problems = _verify(cluster, server)
        assert problems == []
        assert [(c.record["seq"], c.record["batch_id"], c.peer) for c in checked] == [
            (0, BATCH, "agreed"), (1, "test-1", "agreed")]
        record = checked[0].record
        assert record["server"] == server
        assert record["reports"] == {"total": 5, "valid": 5, "rejected": {}}
        assert record["partitions"] == ["p1"]
        key = cluster.key_a if server == "A" else cluster.key_b
        assert record["keys_opened"] == {key.public_key.fingerprint: 5}
        assert record["previous"] == releases.GENESIS
        assert checked[1].record["previous"] == releases.digest(cluster.storage.read(
            cluster.settings[server].private_bucket, layout.release_entry(0)))
        for key in KEYS:
            shown = status.batch_status(cluster.storage, cluster.settings[server], key)
            assert shown["release"]["agreed"] is True
            assert shown["release"]["differences"] == []


def test_a_redelivered_total_share_appends_nothing(cluster):
    bucket = cluster.settings["A"].private_bucket
    own = pb.TotalShare.FromString(cluster.storage.read(
        bucket, layout.batch_record(KEYS[0], "total_share.pb")))
    cluster.services["publisher-A"].handlers["prio-total-shares-publisher"](
        type("Message", (), {"data": own.SerializeToString()})())
    assert cluster.storage.list(bucket, layout.RELEASE_LOG_PREFIX) == [
        layout.release_entry(0), layout.release_entry(1)]


@pytest.mark.parametrize("seq", [0, 1])
def test_tampering_with_any_record_names_it(cluster, seq):
    name = layout.release_entry(seq)
    bucket = cluster.settings["A"].private_bucket
    signed = json.loads(cluster.storage.read(bucket, name))
    signed["record"]["reports"]["valid"] += 1  # a count moved, the signature kept
    _rewrite(cluster, "A", name, releases.canonical(signed))
    _, problems = _verify(cluster)
    assert problems[0] == f"{name}: its signature does not verify"


def test_a_record_re_signed_by_another_key_is_named(cluster):
    bucket = cluster.settings["A"].private_bucket
    record = releases.record_of(cluster.storage.read(bucket, layout.release_entry(0)))
    forged = releases.sign({**record, "counts_sha256": "0" * 64}, cluster.signing["B"])
    _rewrite(cluster, "A", layout.release_entry(0), forged)
    _, problems = _verify(cluster)
    assert problems[0] == f"{layout.release_entry(0)}: its signature does not verify"


def test_a_record_rewritten_by_its_own_key_breaks_the_link_after_it(cluster):
    """Whoever holds the signing key can sign a changed record, not undo its successor's
    digest of the original."""
    bucket = cluster.settings["A"].private_bucket
    record = releases.record_of(cluster.storage.read(bucket, layout.release_entry(0)))
    rewritten = releases.sign({**record, "counts_sha256": "0" * 64}, cluster.signing["A"])
    _rewrite(cluster, "A", layout.release_entry(0), rewritten)
    _, problems = _verify(cluster)
    assert problems[0] == (f"{layout.release_entry(1)}: its previous digest is not that of the "
                           "entry before it: that entry was changed or removed")


@pytest.mark.parametrize("seq, first_problem", [
    (0, (f"{layout.release_entry(0)}: missing (the log goes on at {layout.release_entry(1)}): "
        "a record was removed")),
    (1, (f"processed/{KEYS[1].folder}/release.json: the log does not hold this record as "
        f"{layout.release_entry(1)}: that entry was removed or changed")),
])
def test_removing_a_record_names_it(cluster, seq, first_problem):
    _rewrite(cluster, "A", layout.release_entry(seq), None)
    _, problems = _verify(cluster)
    assert problems[0] == first_problem


def test_the_command_prints_the_releases_and_fails_on_a_broken_log(cluster, monkeypatch):
    for name, value in {"STORAGE": "local", "LOCAL_STORAGE_DIR": str(cluster.storage.root),
                        "PRIVATE_BUCKET": cluster.settings["A"].private_bucket}.items():
        monkeypatch.setenv(name, value)
    keys = _public(cluster)
    args = ["releases", "verify", "--public-key-a", keys["A"].hex(),
            "--public-key-b", keys["B"].hex()]
    ok = CliRunner().invoke(cli, args)
    assert ok.exit_code == 0, ok.output
    lines = ok.output.splitlines()
    assert lines[0].split() == ["seq", "server", "batch_id", "submission_date", "valid",
                                "counts_sha256", "peer's", "record"]
    assert lines[1].split()[:5] == ["0", "A", BATCH, DATE, "5"]
    assert lines[-1] == (f"2 release(s) of {cluster.settings['A'].private_bucket}: chain "
                         "intact, signatures valid, both servers' records agree")

    _rewrite(cluster, "A", layout.release_entry(1), None)
    broken = CliRunner().invoke(cli, args)
    assert broken.exit_code == 1
    assert "Traceback" not in broken.output
    assert broken.output.splitlines()[-1] == (
        f"Error: the release log of {cluster.settings['A'].private_bucket} does not verify: "
        f"processed/{KEYS[1].folder}/release.json: the log does not hold this record as "
        f"{layout.release_entry(1)}: that entry was removed or changed")

    bad_key = CliRunner().invoke(cli, [*args[:3], "00" * 31, *args[4:]])
    assert bad_key.exit_code == 2
    assert "--public-key-a" in bad_key.output and "64 hexadecimal" in bad_key.output


def _deliver_peer_record(cluster, server: str, data: bytes, sender: str = "B") -> None:
    message = pb.ReleaseRecord(batch_id=BATCH, submission_date=DATE,
                               sender=pb.Server.Value(f"SERVER_{sender}"), signed_record=data)
    cluster.services[f"publisher-{server}"].handlers["prio-releases-publisher"](
        type("Message", (), {"data": message.SerializeToString()})())


def _publish_without_peer_records(tmp_path) -> Cluster:
    """Both servers publish BATCH; A's copy of B's record is held back (dropped)."""
    cluster = Cluster(tmp_path)
    original = cluster.pump

    def pump(label, subscription, deliveries=1):
        if (label, subscription) == ("publisher-A", "prio-releases-publisher"):
            cluster.drain(cluster.settings["A"].project_id, subscription)
            return 0
        return original(label, subscription, deliveries)

    cluster.pump = pump
    _publish(cluster, KEYS[0])
    return cluster


def test_a_peer_record_that_disagrees_is_not_agreed(tmp_path):
    cluster = _publish_without_peer_records(tmp_path)
    genuine = releases.record_of(cluster.storage.read(
        cluster.settings["B"].private_bucket, layout.release(KEYS[0])))
    disagreeing = releases.sign({**genuine, "counts_sha256": "1" * 64,
                                 "reports": {**genuine["reports"], "valid": 4}},
                                cluster.signing["B"])
    _deliver_peer_record(cluster, "A", disagreeing)
    shown = status.batch_status(cluster.storage, cluster.settings["A"], KEYS[0])["release"]
    assert (shown["agreed"], shown["differences"]) == (False, ["counts_sha256", "reports"])
    _, problems = _verify(cluster)
    assert problems == [(f"{layout.release_entry(0)}: {BATCH} {DATE}: the peer's record "
                        "differs in counts_sha256, reports")]


@pytest.mark.parametrize("signer, sender, reason", [
    ("A", "B", "its signature does not verify"),  # A's own key is not B's
    ("B", "A", "not sent by the peer"),
])
def test_a_peer_record_not_from_the_peer_is_refused(tmp_path, signer, sender, reason):
    cluster = _publish_without_peer_records(tmp_path)
    genuine = releases.record_of(cluster.storage.read(
        cluster.settings["B"].private_bucket, layout.release(KEYS[0])))
    with pytest.raises(PeerRecordRefused, match=reason):
        _deliver_peer_record(cluster, "A", releases.sign(genuine, cluster.signing[signer]),
                             sender)
    bucket = cluster.settings["A"].private_bucket
    assert not cluster.storage.exists(bucket, layout.peer_release(KEYS[0]))
    shown = status.batch_status(cluster.storage, cluster.settings["A"], KEYS[0])["release"]
    assert shown["agreed"] is None
    _, problems = _verify(cluster)
    assert problems == [(f"{layout.release_entry(0)}: {BATCH} {DATE}: no record of the peer's "
                        "has arrived")]


def test_an_oversized_peer_record_is_refused_unread(tmp_path):
    cluster = _publish_without_peer_records(tmp_path)
    with pytest.raises(PeerRecordRefused, match="larger than 1048576 bytes"):
        _deliver_peer_record(cluster, "A", b"{" * (releases.MAX_RECORD_BYTES + 1))
