"""The checks of `prio-stream embedded`'s options: every mistake is a usage error naming the
option, found before any work starts. Secret values are never echoed back."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import re
from pathlib import Path

import click

import libprio_ctypes as prio
from services.common.config import MAX_PREVIOUS_KEYS, ConfigError, load_settings
from services.protocol import shares

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
MAX_KEYS = 1 + MAX_PREVIOUS_KEYS  # a keyring: the current key and the previous ones


def _named(value: str) -> str:
    """value as the error may show it: a file name has a dot; a key or a secret has none."""
    return f" {value!r}" if "." in value else ""


def _json_file(path: Path, field: str) -> dict:
    """The JSON object in path, which has a string `field`."""
    try:
        item = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise click.BadParameter(f"cannot read {path} as JSON ({type(error).__name__})") from None
    if not isinstance(item, dict) or not isinstance(item.get(field), str):
        raise click.BadParameter(f"{path} holds no {field!r}")
    return item


def private_key(_ctx, _param, value: str | None) -> prio.PrivateKey | None:
    """64 hex characters, or a `prio keygen` JSON file."""
    if value is None:
        return None
    path = Path(value)
    if path.is_file():
        item = _json_file(path, "private_key")
    elif _HEX64.fullmatch(value):
        item = {"private_key": value}
    else:
        raise click.BadParameter(f"no such file{_named(value)}, and not 64 hex characters")
    try:
        return prio.PrivateKey.from_hex(item["private_key"], item.get("public_key"))
    except (prio.PrioError, ValueError, TypeError):
        raise click.BadParameter("not a valid X25519 private key") from None


def private_keys(ctx, param, values: tuple[str, ...]) -> tuple[prio.PrivateKey, ...]:
    """A repeated key option: a keyring, the first key current (none given: generated)."""
    keys = tuple(private_key(ctx, param, value) for value in values)
    if len(keys) > MAX_KEYS:
        raise click.BadParameter(f"at most {MAX_KEYS} keys")
    if len({key.to_bytes() for key in keys}) != len(keys):
        raise click.BadParameter("a key given twice: give each key once, the current first")
    return keys


def shared_secret(_ctx, _param, value: str | None) -> bytes | None:
    """base64 of 16 bytes, or a `prio shared-seed` JSON file."""
    if value is None:
        return None
    path = Path(value)
    text = _json_file(path, "shared_seed")["shared_seed"] if path.is_file() else value
    try:
        secret = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        secret = b""
    if len(secret) != 16:
        raise click.BadParameter(f"no such file{_named(value)}, and not base64 of 16 bytes")
    return secret


def data_config(_ctx, _param, value: str | None) -> dict[str, int] | None:
    if value is None:
        return None
    try:
        return load_settings(data_config=value).data_config
    except ConfigError as error:  # names DATA_CONFIG, the variable: keep what follows it
        raise click.BadParameter(str(error).split("DATA_CONFIG: ", 1)[-1]) from None


def date(_ctx, _param, value: str | None) -> str:
    if value is None:
        return dt.datetime.now(dt.UTC).date().isoformat()
    try:
        if _DATE.fullmatch(value):
            return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise click.BadParameter(f"{value[:40]!r} is not a date YYYY-MM-DD")


def output(_ctx, _param, value: str | None) -> Path | None:
    """A folder that exists or can be created, and can be written to."""
    if value is None:
        return None
    root = Path(value).absolute()
    existing = next(p for p in (root, *root.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise click.BadParameter(f"{value} cannot be created or written to")
    return root


def expect(_ctx, _param, value: str | None) -> dict | None:
    if value is None:
        return None
    try:
        found = json.loads(value)
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise click.BadParameter('must be a JSON object {"batch_id": [counts]}')
    return found


def staged(staged_a: str | None, staged_b: str | None, batch_id: str | None,
           config: dict[str, int]) -> tuple[bytes, bytes]:
    """Both staged files' bytes, once each is a non-empty share file of a configured batch."""
    if not (staged_a and staged_b and batch_id):
        raise click.UsageError("--staged-a and --staged-b go together, with --batch-id")
    if batch_id not in config:
        raise click.BadParameter(
            f"{batch_id[:64]!r} is not in --data-config ({', '.join(sorted(config))})",
            param_hint="'--batch-id'")
    files = []
    for option, path in (("--staged-a", staged_a), ("--staged-b", staged_b)):
        data = Path(path).read_bytes()
        try:
            lines = shares.decode(data)
        except ValueError as error:
            raise click.BadParameter(f"{path}: {error}", param_hint=f"'{option}'") from None
        if not lines:
            raise click.BadParameter(f"{path} holds no shares", param_hint=f"'{option}'")
        files.append(data)
    return files[0], files[1]
