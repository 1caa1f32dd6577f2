"""Copies of a ping (same document id, same content) are counted as duplicates, once each,
whether they land in the partition still holding the first copy or in a later one."""

from __future__ import annotations

import pytest

import libprio_ctypes as prio
from services import loadgen
from services.common.transport import Message
from services.ingest import status as ingest_status
from services.protocol.layout import BatchKey
from tests.services.harness import DATE, Cluster

PINGS = "prio-pings-ingest"
UNIQUE, COPIES = 104, 8


def ping_file_with_copies(cluster: Cluster) -> list[bytes]:
    """112 lines, as loadgen makes them: 104 pings and 8 copies, half right after their
    original, half at the end of the file."""
    work = loadgen.generate(UNIQUE, cluster.settings["ingest"].data_config,
                            cluster.key_a.public_key, cluster.key_b.public_key,
                            prio.PrgMode.HASH, DATE, loadgen.Mix(0.0, 0.0, 0))
    lines = list(work.pings)
    for i in range(COPIES // 2):
        lines.insert(2 * i + 1, work.pings[i])
    lines += work.pings[-COPIES // 2:]
    assert len(lines) == UNIQUE + COPIES
    return lines


@pytest.mark.parametrize("partition_max_reports", [1000, 10])
def test_copies_count_as_duplicates_in_one_partition_or_several(tmp_path,
                                                                partition_max_reports):
    cluster = Cluster(tmp_path, partition_max_reports=partition_max_reports)
    handler = cluster.services["ingest"].handlers[PINGS]
    futures = [handler(Message(line, {}, f"m-{i}", PINGS))
               for i, line in enumerate(ping_file_with_copies(cluster))]
    cluster.services["ingest"].drain()
    assert [f.result(timeout=60) for f in futures] == [None] * (UNIQUE + COPIES)
    for batch_id in cluster.settings["ingest"].data_config:
        status = ingest_status.batch_status(cluster.storage, cluster.settings["ingest"],
                                            BatchKey(batch_id, DATE))
        assert (status["reports"], status["duplicates"], status["rejected"]) == (
            UNIQUE, COPIES, {}), batch_id
