"""The settings loader: defaults, validation, role requirements, and secrets never shown."""

from __future__ import annotations

import base64
import json
import traceback

import pytest

from services.common.config import ConfigError, Settings, environment_names, load_settings

PRIVATE_KEY = "8f1c" * 16
SHARED_SECRET = base64.b64encode(b"sixteen byte key").decode()
PUBLIC_A, PUBLIC_B = "a1" * 32, "b2" * 32
DATA_CONFIG = json.dumps([{"batch_id": "content.blocking_blocked_TESTONLY-0", "n_data": 2046},
                          {"batch_id": "content.blocking_blocked_TESTONLY-1", "n_data": 441}])


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in environment_names():
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def verifier_env(monkeypatch):
    env = {"SERVER_ID": "B", "PRIVATE_KEY_HEX": PRIVATE_KEY, "SHARED_SECRET": SHARED_SECRET,
           "PUBLIC_KEY_HEX_INTERNAL": PUBLIC_B, "PUBLIC_KEY_HEX_EXTERNAL": PUBLIC_A,
           "DATA_CONFIG": DATA_CONFIG}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _error_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error)


def test_defaults_of_the_architecture_doc():
    settings = load_settings()
    assert settings.server_id is None
    assert (settings.prg_mode, settings.transport, settings.storage) == ("raw", "pubsub", "gcs")
    assert (settings.retry_limit, settings.retry_delay, settings.retry_backoff_exponent) == (
        5, 2.0, 2.0)
    assert (settings.project_id, settings.peer_project_id, settings.ingest_project_id) == (
        "prio-a", "prio-b", "prio-ingest")
    assert (settings.inbox_bucket, settings.private_bucket) == ("prio-a-inbox", "prio-a-private")
    assert (settings.partition_max_reports, settings.partition_max_age_seconds) == (1000, 30.0)
    assert settings.min_batch_size == 100 and settings.max_delivery_attempts == 5
    assert (settings.push_auth, settings.otel_exporter, settings.port) == ("oidc", "none", 8080)
    assert settings.labels is None


def test_server_b_derives_its_own_names(verifier_env):
    settings = load_settings("verifier")
    assert (settings.project_id, settings.peer_project_id) == ("prio-b", "prio-a")
    assert (settings.inbox_bucket, settings.private_bucket, settings.peer_inbox_bucket) == (
        "prio-b-inbox", "prio-b-private", "prio-a-inbox")
    assert settings.private_key == bytes.fromhex(PRIVATE_KEY)
    assert settings.shared_secret_bytes == b"sixteen byte key"
    assert settings.data_config == {"content.blocking_blocked_TESTONLY-0": 2046,
                                    "content.blocking_blocked_TESTONLY-1": 441}
    assert settings.peer_server_id == "A"


def test_explicit_names_win_over_derived_ones(monkeypatch):
    monkeypatch.setenv("SERVER_ID", "a")
    monkeypatch.setenv("PROJECT_ID", "server-a")
    monkeypatch.setenv("PRIVATE_BUCKET", "my-private")
    settings = load_settings()
    assert (settings.server_id, settings.project_id, settings.private_bucket) == (
        "A", "server-a", "my-private")
    assert settings.peer_project_id == "prio-b"


def test_data_config_from_a_file(monkeypatch, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(DATA_CONFIG)
    monkeypatch.setenv("DATA_CONFIG", str(path))
    assert load_settings().data_config["content.blocking_blocked_TESTONLY-1"] == 441


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SERVER_ID", "C", "SERVER_ID"),
        ("PRG_MODE", "fast", "PRG_MODE"),
        ("TRANSPORT", "kafka", "TRANSPORT"),
        ("PORT", "70000", "PORT"),
        ("PARTITION_MAX_REPORTS", "0", "PARTITION_MAX_REPORTS"),
        ("PARTITION_MAX_AGE_SECONDS", "-1", "PARTITION_MAX_AGE_SECONDS"),
        ("MIN_BATCH_SIZE", "zero", "MIN_BATCH_SIZE"),
        ("MAX_DELIVERY_ATTEMPTS", "3", "MAX_DELIVERY_ATTEMPTS"),
        ("PUBLIC_KEY_HEX_EXTERNAL", "abc", "PUBLIC_KEY_HEX_EXTERNAL"),
        ("DATA_CONFIG", "[{\"batch_id\": \"x\", \"n_data\": 0}]", "DATA_CONFIG"),
        ("DATA_CONFIG", '[{"batch_id": "x", "n_data": 1}, {"batch_id": "x", "n_data": 2}]',
         "appears twice"),
        ("DATA_CONFIG", "[{\"n_data\": 4}]", "DATA_CONFIG"),
        ("DATA_CONFIG", "[not json", "DATA_CONFIG"),
        ("DATA_CONFIG", "no/such/file.json", "DATA_CONFIG"),
        ("LABELS_FILE", "no/such/labels.json", "LABELS_FILE"),
    ],
)
def test_invalid_values_fail_naming_the_setting(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PRIVATE_KEY_HEX", "deadbeefcafe" * 5 + "zzzz"),  # 64 chars, not hex
        ("PRIVATE_KEY_HEX", PRIVATE_KEY[:-2]),  # hex, too short
        ("SHARED_SECRET", base64.b64encode(b"fifteen bytes!!").decode()),
        ("SHARED_SECRET", "not-base64-secret-value!!"),
    ],
)
def test_bad_secrets_are_named_but_never_echoed(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert name in str(raised.value)
    text = _error_text(raised.value)
    assert value not in text
    assert value[:12] not in text


def test_valid_secrets_never_appear_in_repr_or_dump(verifier_env):
    settings = load_settings("verifier")
    shown = repr(settings) + str(settings) + json.dumps(settings.model_dump(mode="json"))
    assert PRIVATE_KEY not in shown and SHARED_SECRET not in shown
    assert "**********" in shown


def test_a_bad_secret_beside_other_errors_is_still_hidden(monkeypatch):
    monkeypatch.setenv("SHARED_SECRET", "c2hvcnQ=")
    monkeypatch.setenv("PRIVATE_KEY_HEX", "0" * 63 + "x")
    monkeypatch.setenv("PORT", "-1")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    text = _error_text(raised.value)
    for name in ("SHARED_SECRET", "PRIVATE_KEY_HEX", "PORT"):
        assert name in str(raised.value)
    assert "c2hvcnQ=" not in text and "0" * 63 not in text


@pytest.mark.parametrize(
    ("role", "missing"),
    [
        ("verifier", ["SERVER_ID", "PRIVATE_KEY_HEX", "SHARED_SECRET (or SHARED_SECRETS)",
                      "PUBLIC_KEY_HEX_INTERNAL", "PUBLIC_KEY_HEX_EXTERNAL", "DATA_CONFIG"]),
        ("aggregator", ["SERVER_ID", "PRIVATE_KEY_HEX", "DATA_CONFIG"]),
        ("ingest", ["DATA_CONFIG"]),
    ],
)
def test_each_role_requires_its_own_settings(role, missing):
    with pytest.raises(ConfigError) as raised:
        load_settings(role)
    assert str(raised.value) == f"missing required setting(s): {', '.join(missing)}"


def test_ingest_starts_without_any_key(monkeypatch):
    monkeypatch.setenv("DATA_CONFIG", DATA_CONFIG)
    settings = load_settings("ingest")
    assert settings.private_key_hex is None
    with pytest.raises(ConfigError, match="PRIVATE_KEY_HEX"):
        settings.private_key  # noqa: B018


def test_labels_file_is_read_and_checked(monkeypatch, tmp_path):
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(["example.com", "example.org"]))
    monkeypatch.setenv("LABELS_FILE", str(path))
    assert load_settings().labels == ["example.com", "example.org"]
    path.write_text(json.dumps({"not": "a list"}))
    with pytest.raises(ConfigError, match="LABELS_FILE"):
        load_settings()


def test_overrides_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("TRANSPORT", "pubsub")
    assert load_settings(transport="inprocess").transport == "inprocess"
    assert isinstance(load_settings(), Settings)
