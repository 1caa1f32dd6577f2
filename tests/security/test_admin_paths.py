"""Admin paths as an attacker writes them (NUL, 5,000 characters, impossible dates), and a close
of a day not over yet: clear 4xx answers, never a 500, and nothing closed by mistake."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from services.common.runtime import build_app
from services.ingest import pings
from services.ingest.partitions import PartitionWriter
from services.protocol import layout
from services.protocol.layout import BatchKey
from tests.services.harness import BATCH, DATE, Cluster

BATCH_ID_MESSAGE = ("batch id must be 1 to 256 printable characters, without '/' and not "
                    "starting with '.'")
BAD_BATCH_IDS = ["%00", "a%00b", "x" * 5000, "x" * 257, "a%0Ab", "%1B[31m", ".hidden"]
DATE_MESSAGE = "submission date must be a calendar date YYYY-MM-DD"
BAD_DATES = ["2026-13-01", "2026-02-30", "0000-01-01", "26-01-01", "2026-1-1", "2026-01-01x",
             "%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-01-01", "x" * 5000, "%00"]


@pytest.fixture
def cluster(tmp_path):
    return Cluster(tmp_path)


def _client(cluster: Cluster, label: str) -> TestClient:
    return TestClient(build_app(cluster.services[label], cluster.contexts[label],
                                run_background=False), raise_server_exceptions=False)


def _calls(batch_id: str, date: str) -> list[tuple[str, str, str, dict | None]]:
    """(service, method, path, body): every admin route that takes a batch and a date."""
    body = {"bucket": "staging", "server_a_object": "a", "server_b_object": "b"}
    return [("aggregator-A", "GET", f"/batches/{batch_id}/{date}", None),
            ("publisher-B", "GET", f"/batches/{batch_id}/{date}", None),
            ("ingest", "GET", f"/batches/{batch_id}/{date}", None),
            ("aggregator-A", "POST", f"/batches/{batch_id}/{date}/close?force=true", None),
            ("ingest", "POST", f"/batches/{batch_id}/{date}/import", body)]


def _answers(cluster, batch_id: str, date: str) -> list[tuple[int, dict]]:
    answers = []
    for label, method, path, body in _calls(batch_id, date):
        with _client(cluster, label) as client:
            response = client.request(method, path, json=body)
        answers.append((response.status_code, response.json()))
    return answers


@pytest.mark.parametrize("batch_id", BAD_BATCH_IDS)
def test_a_malformed_batch_id_is_400_on_every_admin_path(cluster, batch_id):
    assert _answers(cluster, batch_id, DATE) == [(400, {"detail": BATCH_ID_MESSAGE})] * 5


@pytest.mark.parametrize("date", BAD_DATES)
def test_a_malformed_date_is_400_on_every_admin_path(cluster, date):
    assert _answers(cluster, BATCH, date) == [(400, {"detail": DATE_MESSAGE})] * 5


def test_closing_a_batch_not_in_data_config_is_404(cluster):
    with _client(cluster, "aggregator-A") as client:
        response = client.post(f"/batches/not-configured/{DATE}/close")
    assert (response.status_code, response.json()) == (
        404, {"detail": "batch id 'not-configured' is not in DATA_CONFIG"})


# --- a close of today or later needs force=true

def _aggregated(cluster: Cluster, date: str) -> BatchKey:
    key = BatchKey(BATCH, date)
    reports = []
    for i in range(2):
        reports += pings.parse(cluster.ping(f"doc-{i}", [i % 2] * 8), {}, {BATCH: 8})[0]
    PartitionWriter(cluster.contexts["ingest"]).write(key, "p1", reports)
    cluster.run_servers()
    return key


def _closed(cluster: Cluster, key: BatchKey) -> bool:
    return cluster.storage.exists(cluster.settings["A"].private_bucket,
                                  layout.batch_record(key, "close.pb"))


@pytest.mark.parametrize("days", [0, 1])
def test_closing_today_or_later_needs_force(cluster, days):
    today = dt.datetime.now(dt.UTC).date()
    key = _aggregated(cluster, (today + dt.timedelta(days=days)).isoformat())
    path = f"/batches/{key.batch_id}/{key.submission_date}/close"
    with _client(cluster, "aggregator-A") as client:
        refused = client.post(path)
        refused_false = client.post(f"{path}?force=false")
        assert not _closed(cluster, key)
        forced = client.post(f"{path}?force=true")
    expected = {"detail": (
        f"{key.submission_date} is not over yet (today is {today.isoformat()} UTC): reports still arriving "
        f"would be counted LATE, and a close cannot be undone; add ?force=true to close it now")}
    assert (refused.status_code, refused.json()) == (409, expected)
    assert (refused_false.status_code, refused_false.json()) == (409, expected)
    assert forced.status_code == 200 and forced.json()["partition_ids"] == ["p1"]
    assert _closed(cluster, key)


def test_closing_a_past_day_needs_no_force(cluster):
    key = _aggregated(cluster, DATE)
    with _client(cluster, "aggregator-A") as client:
        closed = client.post(f"/batches/{key.batch_id}/{key.submission_date}/close")
    assert closed.status_code == 200 and closed.json()["partition_ids"] == ["p1"]


def test_close_due_never_closes_today(cluster):
    key = _aggregated(cluster, dt.datetime.now(dt.UTC).date().isoformat())
    with _client(cluster, "aggregator-A") as client:
        due = client.post("/batches/close-due")
    assert due.status_code == 200
    assert due.json()["closed"] == [] and not _closed(cluster, key)
