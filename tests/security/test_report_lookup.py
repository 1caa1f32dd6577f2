"""The report lookup takes a document id and a date from the caller: both are checked before
anything is read, on ingest and on the servers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.common.runtime import build_app
from tests.services.harness import DATE, Cluster


@pytest.fixture
def cluster(tmp_path):
    return Cluster(tmp_path)


@pytest.mark.parametrize("label", ["ingest", "verifier-A", "publisher-B"])
@pytest.mark.parametrize(("document_id", "date", "detail"), [
    ("d" * 257, DATE, "a document id is 1 to 256 printable characters"),
    ("doc%0Aforged", DATE, "a document id is 1 to 256 printable characters"),
    ("doc-0", "2026-13-01", "submission date must be a calendar date YYYY-MM-DD"),
    ("doc-0", "../../x", "submission date must be a calendar date YYYY-MM-DD"),
])
def test_a_lookup_naming_no_possible_report_is_400_before_any_read(cluster, label, document_id,
                                                                   date, detail, monkeypatch):
    reads = []
    for method in ("read", "list", "times"):
        original = getattr(cluster.storage, method)
        monkeypatch.setattr(cluster.storage, method,
                            lambda *a, _o=original, **k: reads.append(a) or _o(*a, **k))
    app = build_app(cluster.services[label], cluster.contexts[label], run_background=False)
    with TestClient(app) as client:
        answer = client.get(f"/reports/{document_id}", params={"date": date})
    assert (answer.status_code, answer.json()) == (400, {"detail": detail})
    assert reads == []
