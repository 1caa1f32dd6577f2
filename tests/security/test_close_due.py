"""The scheduled close (`POST /batches/close-due`): one bad batch never stops the others."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from services.aggregator.schedule import Schedule
from services.common.runtime import build_app
from services.ingest import pings
from services.ingest.partitions import PartitionWriter
from services.protocol.layout import BatchKey
from tests.services.harness import BATCH, DATE, Cluster

FAR = BatchKey(BATCH, "9999-12-31")  # its day end does not fit a datetime
DUE = BatchKey(BATCH, DATE)
ALSO_DUE = BatchKey("test-1", DATE)


def _aggregated(cluster: Cluster, *keys: BatchKey) -> None:
    """A partition of each batch written, verified and aggregated on both servers (written
    as an earlier ingest or an import did: ingest no longer takes such dates)."""
    for n, key in enumerate(keys):
        values = [1] * cluster.settings["ingest"].data_config[key.batch_id]
        reports = pings.parse(cluster.ping(f"doc-{n}", values, key.batch_id), {},
                              cluster.settings["ingest"].data_config)[0]
        reports = [dataclasses.replace(r, date=key.submission_date) for r in reports]
        PartitionWriter(cluster.contexts["ingest"]).write(key, f"p{n}", reports)
    cluster.run_servers()


def _batch(key: BatchKey) -> dict:
    return {"batch_id": key.batch_id, "submission_date": key.submission_date}


def test_a_far_future_batch_does_not_stop_close_due(tmp_path):
    cluster = Cluster(tmp_path, admin_auth="none")
    _aggregated(cluster, FAR, DUE)
    app = build_app(cluster.services["aggregator-A"], cluster.contexts["aggregator-A"],
                    run_background=False)
    with TestClient(app) as client:
        response = client.post("/batches/close-due")
    assert response.status_code == 200, response.text
    assert response.json() == {"closed": [_batch(DUE)], "nothing_aggregated_yet": [], "still_arriving": [],
                               "errors": []}


def test_a_batch_whose_close_fails_is_reported_and_the_others_close(tmp_path, caplog):
    cluster = Cluster(tmp_path)
    _aggregated(cluster, ALSO_DUE, DUE)
    closer = Schedule(cluster.contexts["aggregator-A"])
    close = closer.agreement.close

    def failing(key: BatchKey) -> dict:
        if key == ALSO_DUE:
            raise OverflowError("date value out of range")
        return close(key)

    closer.agreement.close = failing
    found = closer.close_due()
    assert found == {"closed": [_batch(DUE)], "nothing_aggregated_yet": [], "still_arriving": [],
                     "errors": [{**_batch(ALSO_DUE), "error": "OverflowError"}]}
    assert "batch not closed" in caplog.text
    # The next round tries it again (nothing was recorded for it).
    closer.agreement.close = close
    assert closer.close_due()["closed"] == [_batch(ALSO_DUE)]


def test_an_invalid_folder_name_in_storage_does_not_stop_close_due(tmp_path):
    """A folder no valid batch could have written (a date 2026-13-45) is skipped by the
    listing, not a failed round for every batch."""
    cluster = Cluster(tmp_path)
    _aggregated(cluster, DUE)
    cluster.storage.create("prio-a-inbox", "raw/batch_id=x/submission_date=2026-13-45/p1.ndjson",
                           b"")
    found = Schedule(cluster.contexts["aggregator-A"]).close_due()
    assert found["closed"] == [_batch(DUE)]
