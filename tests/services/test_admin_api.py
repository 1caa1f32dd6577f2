"""The admin API an operator answers from: 404 for batches that never were, /batches with
states, ages and a filter, transition times, published counts, report lookups, hints, typed
OpenAPI, and 4xx (never 500) for what used to fail."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient

from services.aggregator.agreement import Agreement
from services.common.runtime import build_app
from services.protocol import hints, layout, status
from tests.services.harness import BATCH, DATE, Cluster
from tests.services.test_servers import KEY, _write

SERVICES = ("ingest", *(f"{n}-{s}" for s in "AB" for n in ("verifier", "aggregator",
                                                            "publisher")))


def _client(cluster, label: str) -> TestClient:
    app = build_app(cluster.services[label], cluster.contexts[label], run_background=False)
    return TestClient(app, raise_server_exceptions=False)


def _published(cluster, kinds=("valid",) * 3) -> None:
    _write(cluster, "p1", list(kinds))
    cluster.run_servers()
    Agreement(cluster.contexts["aggregator-A"]).close(KEY)
    cluster.run_servers()


@pytest.fixture
def cluster(tmp_path):
    return Cluster(tmp_path)


@pytest.mark.parametrize("label", SERVICES)
def test_a_batch_nothing_was_stored_of_is_404_on_every_service(cluster, label):
    _published(cluster)
    other_day = (dt.date.fromisoformat(DATE) - dt.timedelta(days=1)).isoformat()
    with _client(cluster, label) as client:
        assert client.get(f"/batches/{BATCH}/{DATE}").status_code == 200
        unknown = client.get(f"/batches/nope/{DATE}")
        empty_day = client.get(f"/batches/{BATCH}/{other_day}")
    assert unknown.status_code == 404, unknown.text
    assert "'nope' (not in DATA_CONFIG)" in unknown.json()["detail"]
    assert empty_day.status_code == 404, empty_day.text
    assert "not in DATA_CONFIG" not in empty_day.json()["detail"]


def test_a_published_batch_shows_its_transitions_and_labelled_counts(tmp_path):
    cluster = Cluster(tmp_path, labels_file=None)
    _published(cluster)
    for server in "AB":
        found = status.batch_status(cluster.storage, cluster.settings[server], KEY)
        moments = found["transitions"]
        order = ["first_received", "closed", "total_share", "published"]
        assert all(moments[name] for name in order), moments
        assert [moments[n] for n in order] == sorted(moments[n] for n in order)
        result = json.loads(cluster.storage.read(cluster.settings[server].private_bucket,
                                                 layout.result(KEY)))
        assert found["result"]["counts"] == result["counts"]
        assert found["result"]["valid"] == 3
        assert found["state"] == "published" and not found["stuck"]
        assert found["waiting_for_peer"] == 0 and found["waiting_for_peer_seconds"] is None


def test_batches_lists_states_ages_and_filters_by_state(cluster):
    _published(cluster)
    with _client(cluster, "publisher-B") as client:
        every = client.get("/batches").json()["batches"]
        published = client.get("/batches", params={"state": "published"}).json()["batches"]
        stuck = client.get("/batches", params={"state": "stuck"}).json()["batches"]
        bogus = client.get("/batches", params={"state": "bogus"})
    assert [(b["batch_id"], b["state"], b["server"]) for b in every] == [(BATCH, "published",
                                                                          "B")]
    assert every[0]["age_seconds"] >= 0 and every[0]["idle_seconds"] >= 0
    assert published == every and stuck == []
    assert bogus.status_code == 422


def test_a_partition_waiting_for_the_peer_has_an_age_and_makes_the_batch_stuck(tmp_path):
    cluster = Cluster(tmp_path, stuck_after_seconds=600)
    _write(cluster, "p1", ["valid"] * 2)
    cluster.pump("verifier-A", "prio-partitions-verifier")  # B never answers
    now = dt.datetime.now(dt.UTC)
    settings = cluster.settings["A"]
    fresh = status.batch_summary(cluster.storage, settings, KEY, now)
    later = status.batch_summary(cluster.storage, settings, KEY, now + dt.timedelta(seconds=700))
    assert (fresh["waiting_for_peer"], fresh["stuck"]) == (1, False)
    assert fresh["waiting_for_peer_seconds"] < 600
    assert (later["waiting_for_peer"], later["stuck"]) == (1, True)
    assert later["waiting_for_peer_seconds"] >= 700
    assert later["state"] == "open"


def test_a_closed_batch_not_published_becomes_stuck_once_quiet(tmp_path):
    cluster = Cluster(tmp_path, stuck_after_seconds=600)
    _write(cluster, "p1", ["valid"])
    cluster.run_servers()
    Agreement(cluster.contexts["aggregator-A"]).close(KEY)  # B never accepts: not delivered
    now = dt.datetime.now(dt.UTC)
    found = status.batch_summary(cluster.storage, cluster.settings["A"], KEY,
                                 now + dt.timedelta(seconds=601))
    assert (found["state"], found["stuck"], found["waiting_for_peer"]) == ("closing", True, 0)
    assert found["transitions"]["closed"] is not None
    assert found["transitions"]["published"] is None


def test_report_lookup_by_document_id_on_ingest_and_both_servers(cluster):
    _write(cluster, "p1", ["valid", "tamper_a", "valid"])  # documents doc-0, doc-1, doc-2
    cluster.run_servers()
    lookups = {}
    with _client(cluster, "verifier-A") as client:
        lookups["open"] = client.get("/reports/doc-0", params={"date": DATE}).json()
    _close = Agreement(cluster.contexts["aggregator-A"]).close
    _close(KEY)
    cluster.run_servers()
    _write(cluster, "p2", ["valid"], start=7)  # doc-7, after the close
    cluster.run_servers()
    for label in ("verifier-A", "aggregator-B"):
        with _client(cluster, label) as client:
            for doc in ("doc-0", "doc-1", "doc-7", "nobody"):
                lookups[label, doc] = client.get(f"/reports/{doc}",
                                                 params={"date": DATE}).json()
    with _client(cluster, "ingest") as client:
        ingest = {doc: client.get(f"/reports/{doc}", params={"date": DATE}).json()
                  for doc in ("doc-0", "nobody")}

    def of_batch(found):
        return next(r for r in found["reports"] if r["batch_id"] == BATCH)

    assert of_batch(lookups["open"])["state"] == "pending"
    for label in ("verifier-A", "aggregator-B"):
        states = {doc: (of_batch(lookups[label, doc])["state"],
                        of_batch(lookups[label, doc])["reason"])
                  for doc in ("doc-0", "doc-1", "doc-7", "nobody")}
        assert states == {"doc-0": ("counted", None), "doc-1": ("rejected", "DECRYPT_FAILED"),
                          "doc-7": ("rejected", "LATE"), "nobody": ("not_found", None)}, label
        assert of_batch(lookups[label, "doc-0"])["copies"] == [
            {"partition_id": "p1", "position": 0, "state": "counted", "reason": None}]
    assert [r["batch_id"] for r in ingest["doc-0"]["reports"]] == sorted(
        cluster.settings["ingest"].data_config)
    assert (of_batch(ingest["doc-0"])["state"], of_batch(ingest["doc-0"])["partition_id"]) == (
        "received", "p1")
    assert of_batch(ingest["nobody"])["state"] == "not_found"


def test_the_status_of_a_batch_failing_wholesale_names_the_likely_cause(tmp_path):
    # The clients encode in hash mode (harness); the servers expect raw.
    cluster = Cluster(tmp_path, prg_mode="raw")
    _published(cluster, ["valid"] * 4)
    for server in "AB":
        found = status.batch_status(cluster.storage, cluster.settings[server], KEY)
        assert found["reports"]["rejected"] == {"INVALID_PROOF": 4}
        assert found["likely_cause"].startswith("4 of 4 reports INVALID_PROOF: ")
        assert "PRG_MODE: raw for Firefox and libprio <= 1.6" in found["likely_cause"]
        assert "SHARED_SECRET" in found["likely_cause"]


@pytest.mark.parametrize(("reason", "names"), [
    ("INVALID_PROOF", ("PRG_MODE", "SHARED_SECRET")),
    ("DECRYPT_FAILED", ("PRIVATE_KEY_HEX",)),
    ("BATCH_ID_MISMATCH", ("DATA_CONFIG",)),
    ("WRONG_LENGTH", ("n_data in DATA_CONFIG",)),
])
def test_each_wholesale_reason_names_the_settings_that_fix_it(reason, names):
    cause = hints.likely_cause({reason: 95, "DECRYPT_FAILED" if reason != "DECRYPT_FAILED"
                                else "INVALID_PROOF": 5}, 100)
    assert cause.startswith(f"95 of 100 reports {reason}: ")
    assert all(name in cause for name in names)
    assert hints.likely_cause({reason: 89, "LATE": 11}, 100) is None  # not nearly all
    assert hints.likely_cause({"LATE": 100}, 100) is None  # not a setup mistake


def test_dead_letters_answer_with_the_inprocess_transport(cluster):
    for label in SERVICES:
        with _client(cluster, label) as client:
            found = client.get("/dead-letters")
        assert found.status_code == 200, (label, found.text)
        assert all(value == [] for value in found.json().values())


def test_closing_a_published_batch_again_answers_its_agreed_list(cluster):
    _published(cluster)
    with _client(cluster, "aggregator-A") as client:
        again = client.post(f"/batches/{BATCH}/{DATE}/close", params={"force": "true"})
    assert again.status_code == 200, again.text
    assert again.json()["partition_ids"] == ["p1"]


# FastAPI's own validation-error schemas: not ours to describe.
FASTAPI_SCHEMAS = frozenset({"HTTPValidationError", "ValidationError"})


def _undocumented(schema: dict, where: str) -> list[str]:
    found = []
    if schema.get("additionalProperties") is True and "description" not in schema:
        found.append(f"{where}: additionalProperties true without a description")
    if schema.get("type") == "object" and "properties" not in schema and (
            "additionalProperties" not in schema) and "description" not in schema:
        found.append(f"{where}: an object with no fields")
    for name, prop in schema.get("properties", {}).items():
        if "description" not in prop and "$ref" not in prop and not any(
                "$ref" in option for option in prop.get("anyOf", [])):
            found.append(f"{where}.{name}: no description")
    return found


@pytest.mark.parametrize("label", ["ingest", "verifier-A", "aggregator-A", "publisher-B"])
def test_openapi_documents_every_field_of_every_reply(cluster, label):
    with _client(cluster, label) as client:
        spec = client.get("/openapi.json").json()
    problems = []
    for name, schema in spec["components"]["schemas"].items():
        if name not in FASTAPI_SCHEMAS:
            problems += _undocumented(schema, name)
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            for code, response in operation["responses"].items():
                for content in response.get("content", {}).values():
                    if content["schema"] in ({}, {"type": "object"}) or content["schema"].get(
                            "additionalProperties") is True:
                        problems.append(f"{method} {path} {code}: untyped reply")
    assert problems == []
