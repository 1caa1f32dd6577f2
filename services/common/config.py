"""All settings of every service: one loader, read from the environment, defaults beside the names."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# The core's keyring holds 16 keys (PRIO_MAX_KEYS): the current one and 15 previous ones. A report
# no key opens costs one X25519 per key, so the ring stays small.
MAX_PREVIOUS_KEYS = 15
_EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+")

# What each role cannot start without (names as in docs/architecture.md). Roles not
# listed here (setup, dead-letters, tests) need nothing beyond the defaults.
REQUIRED_FOR_ROLE: dict[str, tuple[str, ...]] = {
    "ingest": ("DATA_CONFIG",),
    "verifier": (
        "SERVER_ID",
        "PRIVATE_KEY_HEX",
        "SHARED_SECRET",
        "PUBLIC_KEY_HEX_INTERNAL",
        "PUBLIC_KEY_HEX_EXTERNAL",
        "DATA_CONFIG",
    ),
    # aggregate_partition decrypts the valid reports' shares again: it needs the private key.
    "aggregator": ("SERVER_ID", "PRIVATE_KEY_HEX", "DATA_CONFIG"),
    "publisher": ("SERVER_ID", "DATA_CONFIG"),
}


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the setting, never a secret's value."""


class Settings(BaseSettings):
    """The architecture doc's Settings table; field `foo_bar` is the variable `FOO_BAR`."""

    model_config = SettingsConfigDict(
        case_sensitive=False, env_ignore_empty=True, extra="ignore", frozen=True
    )

    # --- identity and secrets
    server_id: Literal["A", "B"] | None = None
    private_key_hex: SecretStr | None = None
    # Keys still decrypting reports clients encrypted to them (a rotation): comma-separated 64 hex.
    previous_private_keys_hex: SecretStr | None = None
    shared_secret: SecretStr | None = None
    # Versions of the shared secret, each in force from its date (the first from the
    # beginning): "base64,2027-03-01:base64". Instead of SHARED_SECRET, never with it.
    shared_secrets: SecretStr | None = None
    # This server's Ed25519 key signing its release records, and the peer's public key
    # checking the peer's (none: this publisher keeps no release log).
    release_signing_key_hex: SecretStr | None = None
    release_public_key_hex_external: str | None = None
    public_key_hex_internal: str | None = None
    public_key_hex_external: str | None = None
    prg_mode: Literal["hash", "raw"] = "raw"  # Firefox clients and prio-processor data
    # batch_id -> n_data; the variable holds a JSON list or a path to a file holding one
    data_config: Annotated[dict[str, int] | None, NoDecode] = None

    # --- retries toward a late peer
    retry_limit: int = Field(5, ge=0)
    retry_delay: float = Field(2.0, gt=0)
    retry_backoff_exponent: float = Field(2.0, ge=1)

    # --- projects and buckets (defaults follow SERVER_ID: A -> prio-a, B -> prio-b)
    project_id: str | None = None
    peer_project_id: str | None = None
    ingest_project_id: str = "prio-ingest"
    inbox_bucket: str | None = None
    private_bucket: str | None = None
    peer_inbox_bucket: str | None = None
    ingest_bucket: str = "prio-ingest"  # ingest's own: anti-replay store and its outcomes

    # --- adapters
    transport: Literal["pubsub", "inprocess"] = "pubsub"
    storage: Literal["gcs", "local"] = "gcs"
    local_storage_dir: Path = Path("./prio-data")
    max_delivery_attempts: int = Field(5, ge=5, le=100)  # Pub/Sub's own bounds
    pubsub_max_messages: int = Field(16, gt=0)  # streaming-pull flow control, per subscription
    pubsub_max_bytes: int = Field(256 * 1024 * 1024, gt=0)
    pubsub_handler_threads: int = Field(16, gt=0)  # per subscription, at most max_messages

    # --- pipeline bounds
    partition_max_reports: int = Field(1000, gt=0)
    # Bytes of shares per partition at most: keeps a partition file, and what each service holds
    # of it, the same size whatever n_data (1,000 reports are 64 MiB at n_data 2046).
    partition_max_bytes: int = Field(16 * 1024 * 1024, gt=0)
    partition_max_age_seconds: float = Field(30.0, gt=0)
    min_batch_size: int = Field(100, gt=0)
    # A report id seen within this many days before a report's submission date is a replay.
    replay_retention_days: int = Field(7, ge=1)
    # One ping at most (two entries of n_data 2046 are ~300 KB); Pub/Sub's own message limit
    # bounds it from above.
    ping_max_bytes: int = Field(1024 * 1024, gt=0, le=10_000_000)
    # How far ahead of ingest's clock a ping's submission time may be (clocks differ); a date
    # older than REPLAY_RETENTION_DAYS is refused too.
    ping_clock_skew_seconds: float = Field(600.0, ge=0, le=86400)
    # Scheduled close: a batch date closes this long after the end of its submission date.
    close_grace_seconds: float = Field(3600.0, ge=0)
    # The scheduled close also waits until ingest has written nothing of the batch for this
    # long: a backfill of old pings is not closed half way (services/protocol/arrivals.py).
    close_quiet_seconds: float = Field(900.0, ge=0)
    # The leader's worker closes due batches itself; off where something else closes them
    # (embedded mode closes each batch once every report is verified).
    scheduled_close: bool = True
    # Status: a batch not published or refused, owing work (a partition unverified or
    # waiting for the peer, a close not finished, a day past its close), is `stuck` once
    # nothing of it was written, or a partition has waited for the peer, this long.
    stuck_after_seconds: float = Field(3600.0, gt=0)
    # Resume sweep: work whose trigger message was lost is started again after this long.
    sweep_interval_seconds: float = Field(60.0, gt=0)
    # TEST ONLY (services/common/faults.py): injected faults, e.g.
    # "storage_error=0.2,crash_after=intermediate/internal/state/". Never set in production.
    faults: str | None = None
    labels_file: Path | None = None
    # Import reads staged share files only from these buckets (none: import is disabled), and
    # only objects up to this size: the caller names the bucket and the object.
    staging_buckets: Annotated[tuple[str, ...], NoDecode] = ()
    staging_max_bytes: int = Field(64 * 1024 * 1024, gt=0)

    # --- HTTP, push authentication, telemetry
    push_auth: Literal["oidc", "none"] = "oidc"
    push_audience: str | None = None
    push_service_account: str | None = None
    # Admin routes: a Google ID token for ADMIN_AUDIENCE (comma-separated: any of them) whose
    # email is in OPERATORS changes state; READERS (and operators) read.
    admin_auth: Literal["oidc", "none"] = "oidc"
    admin_audience: Annotated[tuple[str, ...], NoDecode] = ()
    operators: Annotated[tuple[str, ...], NoDecode] = ()
    readers: Annotated[tuple[str, ...], NoDecode] = ()
    # Set by Cloud Run (the service's name): a token whose signature Cloud Run removed after
    # checking it is then taken on its claims (services/common/push_auth.py).
    k_service: str | None = None
    otel_exporter: Literal["otlp", "console", "none"] = "none"
    port: int = Field(8080, ge=1, le=65535)

    # --- emulators (the standard Google names)
    pubsub_emulator_host: str | None = None
    storage_emulator_host: str | None = None

    @field_validator("server_id", mode="before")
    @classmethod
    def _upper_server_id(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("private_key_hex")
    @classmethod
    def _check_private_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _HEX64.fullmatch(value.get_secret_value()):
            raise ValueError("must be 64 hexadecimal characters (32 bytes)")
        return value

    @field_validator("previous_private_keys_hex")
    @classmethod
    def _check_previous_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        keys = _split_keys(value.get_secret_value())
        if not all(_HEX64.fullmatch(key) for key in keys):
            raise ValueError("must be comma-separated keys of 64 hexadecimal characters")
        if len(keys) > MAX_PREVIOUS_KEYS:
            raise ValueError(f"holds {len(keys)} keys: at most {MAX_PREVIOUS_KEYS}")
        if len({key.lower() for key in keys}) != len(keys):
            raise ValueError("holds a key twice")
        return value

    @field_validator("public_key_hex_internal", "public_key_hex_external",
                     "release_public_key_hex_external")
    @classmethod
    def _check_public_key(cls, value: str | None) -> str | None:
        if value is not None and not _HEX64.fullmatch(value):
            raise ValueError("must be 64 hexadecimal characters (32 bytes)")
        return value

    @field_validator("shared_secret")
    @classmethod
    def _check_shared_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64") from None
        if len(raw) != 16:
            raise ValueError("must be base64 of exactly 16 bytes")
        return value

    @field_validator("shared_secrets")
    @classmethod
    def _check_shared_secrets(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _parse_secret_versions(value.get_secret_value())
        return value

    @field_validator("release_signing_key_hex")
    @classmethod
    def _check_signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _HEX64.fullmatch(value.get_secret_value()):
            raise ValueError("must be 64 hexadecimal characters (a 32-byte Ed25519 seed)")
        return value

    @field_validator("data_config", mode="before")
    @classmethod
    def _parse_data_config(cls, value: Any) -> Any:
        if value is None or isinstance(value, dict):
            return value
        return _parse_data_config(value)

    @field_validator("staging_buckets", mode="before")
    @classmethod
    def _split_staging_buckets(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("admin_audience", mode="before")
    @classmethod
    def _split_audiences(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("operators", "readers", mode="before")
    @classmethod
    def _check_emails(cls, value: Any) -> Any:
        emails = _comma_list(value)
        if not isinstance(emails, tuple):
            return emails  # not strings: pydantic says so
        if not all(_EMAIL.fullmatch(email) for email in emails):
            raise ValueError("must be a comma-separated list of email addresses")
        return tuple(email.lower() for email in emails)

    @field_validator("labels_file")
    @classmethod
    def _check_labels_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            _read_labels(value)
        return value

    @model_validator(mode="after")
    def _one_secret_setting(self) -> Settings:
        if self.shared_secret is not None and self.shared_secrets is not None:
            raise ValueError("set SHARED_SECRET (one version) or SHARED_SECRETS (versions by "
                             "date), not both")
        return self

    @model_validator(mode="after")
    def _derive_defaults(self) -> Settings:
        own, peer = ("b", "a") if self.server_id == "B" else ("a", "b")
        defaults = {
            "project_id": f"prio-{own}",
            "peer_project_id": f"prio-{peer}",
            "inbox_bucket": f"prio-{own}-inbox",
            "private_bucket": f"prio-{own}-private",
            "peer_inbox_bucket": f"prio-{peer}-inbox",
        }
        for name, default in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, default)
        return self

    # --- derived values

    @property
    def private_key(self) -> bytes:
        return bytes.fromhex(self._secret("private_key_hex"))

    @property
    def private_keys(self) -> list[bytes]:
        """The keyring: PRIVATE_KEY_HEX (current) first, then PREVIOUS_PRIVATE_KEYS_HEX."""
        current = self.private_key
        previous = [bytes.fromhex(key) for key in _split_keys(
            self.previous_private_keys_hex.get_secret_value()
            if self.previous_private_keys_hex is not None else "")]
        if current in previous:
            raise ConfigError("PREVIOUS_PRIVATE_KEYS_HEX holds PRIVATE_KEY_HEX: list a key once "
                              "(the current one in PRIVATE_KEY_HEX, the others as previous)")
        return [current, *previous]

    @property
    def shared_secret_bytes(self) -> bytes:
        return base64.b64decode(self._secret("shared_secret"))

    @property
    def shared_secret_versions(self) -> list[tuple[str, bytes]]:
        """(first date in force, secret), oldest first; the first's date is "" (always)."""
        if self.shared_secrets is not None:
            return _parse_secret_versions(self.shared_secrets.get_secret_value())
        return [("", self.shared_secret_bytes)]

    @property
    def release_signing_key(self) -> bytes | None:
        key = self.release_signing_key_hex
        return None if key is None else bytes.fromhex(key.get_secret_value())

    @property
    def peer_server_id(self) -> str:
        return "A" if self.server_id == "B" else "B"

    @functools.cached_property
    def labels(self) -> list[str] | None:
        return None if self.labels_file is None else _read_labels(self.labels_file)

    def _secret(self, name: str) -> str:
        value = getattr(self, name)
        if value is None:
            raise ConfigError(f"{name.upper()} is required")
        return value.get_secret_value()

    def require(self, *names: str) -> Settings:
        """Fails with one message naming every missing setting among names."""
        missing = [n.upper() + (" (or SHARED_SECRETS)" if n.lower() == "shared_secret" else "")
                   for n in names if getattr(self, n.lower()) is None
                   and not (n.lower() == "shared_secret" and self.shared_secrets is not None)]
        if missing:
            raise ConfigError(f"missing required setting(s): {', '.join(missing)}")
        return self

    def require_role(self, role: str) -> Settings:
        self.require(*REQUIRED_FOR_ROLE.get(role, ()))
        if self.private_key_hex is not None:
            _ = self.private_keys  # a key listed twice is refused at start, not at a report
        if role in REQUIRED_FOR_ROLE:
            self._refuse_open_routes()
        return self

    def _refuse_open_routes(self) -> None:
        """A service must not serve unauthenticated routes in production: `none` is accepted
        only with the emulators or the local adapters (embedded mode, tests)."""
        if self.pubsub_emulator_host or self.storage_emulator_host or \
                self.transport == "inprocess" or self.storage == "local":
            return
        for name, needs in (("admin_auth", "ADMIN_AUDIENCE, OPERATORS and READERS"),
                            ("push_auth", "PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT")):
            if getattr(self, name) == "none":
                raise ConfigError(
                    f"{name.upper()}=none leaves the service's routes open: it is for the "
                    f"emulators and local runs only; set {name.upper()}=oidc with {needs}, or "
                    f"point PUBSUB_EMULATOR_HOST / STORAGE_EMULATOR_HOST at the emulators")


def load_settings(role: str | None = None, **overrides: Any) -> Settings:
    """Reads the environment (overrides win) and checks what role needs; raises ConfigError."""
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None
    except SettingsError as error:  # the message of a settings source may quote a value
        raise ConfigError(f"unreadable settings: {type(error.__cause__).__name__}") from None
    return settings.require_role(role) if role else settings


def _describe(error: ValidationError) -> str:
    # Built from locations and messages only: pydantic's own text quotes input values.
    problems = []
    for item in error.errors(include_url=False, include_input=False, include_context=False):
        name = ".".join(str(part) for part in item["loc"]).upper() or "settings"
        problems.append(f"{name}: {item['msg']}")
    return "invalid setting(s): " + "; ".join(problems)


def _parse_data_config(value: Any) -> dict[str, int]:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and not text.startswith(("[", "{")):
        path = Path(text)
        if not path.is_file():
            raise ValueError("must be a JSON list or the path of a file holding one")
        text = path.read_text()
    try:
        items = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        raise ValueError("is not valid JSON") from None
    if not isinstance(items, list) or not items:
        raise ValueError('must be a non-empty list of {"batch_id", "n_data"}')
    mapping: dict[str, int] = {}
    for item in items:
        batch_id = item.get("batch_id") if isinstance(item, dict) else None
        n_data = item.get("n_data") if isinstance(item, dict) else None
        if not isinstance(batch_id, str) or not batch_id:
            raise ValueError("every entry needs a non-empty string batch_id")
        if isinstance(n_data, bool) or not isinstance(n_data, int) or n_data <= 0:
            raise ValueError(f"n_data of batch {batch_id!r} must be a positive integer")
        if batch_id in mapping:
            raise ValueError(f"batch {batch_id!r} appears twice")
        mapping[batch_id] = n_data
    return mapping


def _parse_secret_versions(text: str) -> list[tuple[str, bytes]]:
    """SHARED_SECRETS: comma-separated `YYYY-MM-DD:base64`, dates rising; the first may omit
    its date (in force from the beginning; a dated first one is too). Errors quote no value."""
    versions: list[tuple[str, bytes]] = []
    last = ""
    for position, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        date, _, encoded = entry.rpartition(":")
        if date:
            try:
                if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", date):
                    raise ValueError
                dt.date.fromisoformat(date)
            except ValueError:
                raise ValueError(f"version {position}: the date must be YYYY-MM-DD") from None
        elif position > 1:
            raise ValueError(f"version {position} needs the date it applies from "
                             "(YYYY-MM-DD:base64)")
        if versions and date <= last:
            raise ValueError(f"version {position}: dates must rise from one version to the next")
        last = date
        try:
            secret = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"version {position}: must be base64") from None
        if len(secret) != 16:
            raise ValueError(f"version {position}: must be base64 of exactly 16 bytes")
        versions.append(("" if position == 1 else date, secret))
    return versions


def _comma_list(value: Any) -> Any:
    """A list setting as Terraform and shells write it: comma-separated (None: empty)."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(item.strip() for item in value if item.strip())
    return value


def _split_keys(text: str) -> list[str]:
    """PREVIOUS_PRIVATE_KEYS_HEX's keys; "none" is none (a Secret Manager secret holds a value
    before the first rotation too)."""
    if text.strip().lower() == "none":
        return []
    return [key.strip() for key in text.split(",") if key.strip()]


def _read_labels(path: Path) -> list[str]:
    try:
        labels = json.loads(Path(path).read_text())
    except OSError:
        raise ValueError("cannot be read") from None
    except json.JSONDecodeError:
        raise ValueError("is not valid JSON") from None
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ValueError("must hold a JSON list of strings")
    return labels


def environment_names() -> list[str]:
    """The variable names the loader reads (for docs and `prio-stream` help)."""
    return sorted(name.upper() for name in Settings.model_fields)


__all__ = ["REQUIRED_FOR_ROLE", "ConfigError", "Settings", "environment_names", "load_settings"]

