"""The command-line surface shared by the commands: options, their environment variables, types.

Names and environment variables are prio-processor's, so its scripts run unchanged. Values
are checked here, before any work, so a bad one ends with a usage error (exit code 2) that
names the option; secrets are never echoed back.
"""

from __future__ import annotations

import base64
import binascii
import datetime

import click

from libprio_ctypes import MAX_DATA_FIELDS

SHARED_SECRET_BYTES = 16
KEY_HEX_CHARS = 64
MAX_KEYS = 16  # the core's keyring: the current key and up to 15 previous ones


class HexKey(click.ParamType):
    """An X25519 key as 64 hex characters (any case), returned as given."""

    name = "HEX64"

    def convert(self, value, param, ctx):
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
        text = text.strip()
        if len(text) != KEY_HEX_CHARS:
            self.fail(f"must be {KEY_HEX_CHARS} hex characters, got {len(text)}", param, ctx)
        try:
            bytes.fromhex(text)
        except ValueError:
            self.fail(f"must be {KEY_HEX_CHARS} hex characters (0-9, A-F)", param, ctx)
        return text


class HexKeys(click.ParamType):
    """A keyring: comma-separated X25519 private keys of 64 hex characters each, the current
    one first (the others: previous keys whose reports still decrypt). Returned as a tuple."""

    name = "HEX64[,HEX64...]"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
        keys = tuple(HexKey().convert(part, param, ctx) for part in text.split(","))
        if len(keys) > MAX_KEYS:
            self.fail(f"holds {len(keys)} keys: at most {MAX_KEYS}", param, ctx)
        if len({key.lower() for key in keys}) != len(keys):
            self.fail("holds a key twice: give each key once, the current first", param, ctx)
        return keys


class SharedSecret(click.ParamType):
    """The servers' shared secret: base64 of exactly 16 bytes."""

    name = "BASE64"

    def convert(self, value, param, ctx):
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
        try:
            secret = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            self.fail("is not valid base64", param, ctx)
        if len(secret) != SHARED_SECRET_BYTES:
            self.fail(
                f"must encode {SHARED_SECRET_BYTES} bytes, got {len(secret)} bytes", param, ctx
            )
        return secret


class BatchId(click.ParamType):
    """The batch id as text; libprio binds its UTF-8 bytes into every packet."""

    name = "TEXT"

    def convert(self, value, param, ctx):
        return value if isinstance(value, bytes) else str(value).encode("utf-8")


class SubmissionDate(click.ParamType):
    """A date as YYYY-MM-DD, returned as that text (it is hashed into the evaluation point)."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        try:
            return datetime.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            self.fail(f"{value!r} is not a date in the form YYYY-MM-DD", param, ctx)


def _apply(func, options):
    for option in reversed(options):
        func = option(func)
    return func


def data_config(func):
    return _apply(
        func,
        [
            click.option(
                "--batch-id",
                envvar="BATCH_ID",
                show_envvar=True,
                required=True,
                type=BatchId(),
                help="Batch identifier shared by clients and servers; bound into every packet.",
            ),
            click.option(
                "--n-data",
                envvar="N_DATA",
                show_envvar=True,
                required=True,
                type=click.IntRange(1, MAX_DATA_FIELDS),
                help="Length of the clients' bit vectors.",
            ),
            click.option(
                "--prg-mode",
                envvar="PRG_MODE",
                show_envvar=True,
                type=click.Choice(["raw", "hash"]),
                default="raw",
                show_default=True,
                help="How libprio keys its PRG from a seed: 'raw' (libprio <= 1.6: Firefox's "
                "clients and the prio-processor fixtures) or 'hash' (libprio since 2020-07, "
                "PyPI prio 1.1). Clients and both servers must agree.",
            ),
        ],
    )


def server_config(required: bool = True):
    """--server-id, --private-key-hex, --shared-secret (publish accepts them unused)."""

    def decorate(func):
        return _apply(
            func,
            [
                click.option(
                    "--server-id",
                    envvar="SERVER_ID",
                    show_envvar=True,
                    required=required,
                    type=click.Choice(["A", "B"]),
                    help="Which of the two servers runs this step.",
                ),
                click.option(
                    "--private-key-hex",
                    envvar="PRIVATE_KEY_HEX",
                    show_envvar=True,
                    required=required,
                    type=HexKeys(),
                    help="This server's X25519 private key as 64 hex characters (secret). A "
                    "comma-separated list is a keyring: the first key is current (it must "
                    "match --public-key-hex-internal), the others are previous keys whose "
                    "reports still decrypt (key rotation).",
                ),
                click.option(
                    "--shared-secret",
                    envvar="SHARED_SECRET",
                    show_envvar=True,
                    required=required,
                    type=SharedSecret(),
                    help="The servers' shared secret: base64 of 16 bytes (secret).",
                ),
            ],
        )

    return decorate


def public_keys(func):
    return _apply(
        func,
        [
            click.option(
                "--public-key-hex-internal",
                envvar="PUBLIC_KEY_HEX_INTERNAL",
                show_envvar=True,
                required=True,
                type=HexKey(),
                help="Public key of this server (for encode-shares: server A's) as 64 hex "
                "characters.",
            ),
            click.option(
                "--public-key-hex-external",
                envvar="PUBLIC_KEY_HEX_EXTERNAL",
                show_envvar=True,
                required=True,
                type=HexKey(),
                help="Public key of the peer server (for encode-shares: server B's) as 64 hex "
                "characters.",
            ),
        ],
    )


def evaluation_point(func):
    return _apply(
        func,
        [
            click.option(
                "--evaluation-point",
                envvar="EVALUATION_POINT",
                show_envvar=True,
                type=click.Choice(["per-record", "fixed"]),
                default="per-record",
                show_default=True,
                help="'per-record': prio-processor's convention, a fresh server per step and "
                "one evaluation point per loaded record in file order (outputs byte-identical "
                "to libprio's). 'fixed': one evaluation point for the whole file, derived from "
                "the shared secret, batch id, --submission-date and --partition-id (the "
                "services' convention; a record's result does not depend on the others). All "
                "steps of both servers must use the same value.",
            ),
            click.option(
                "--submission-date",
                envvar="SUBMISSION_DATE",
                show_envvar=True,
                type=SubmissionDate(),
                default="1970-01-01",
                show_default=True,
                help="With --evaluation-point fixed: the date part of the partition's identity. "
                "Both servers must pass the same value.",
            ),
            click.option(
                "--partition-id",
                envvar="PARTITION_ID",
                show_envvar=True,
                default="0",
                show_default=True,
                help="With --evaluation-point fixed: the partition's id within its batch and "
                "date; the whole file is one partition. Both servers must pass the same value.",
            ),
        ],
    )


def _input_path():
    return click.Path(exists=True, dir_okay=False)


def _output_dir():
    return click.Path(file_okay=False)


def input_1(help_text: str):
    return click.option(
        "--input",
        envvar="INPUT",
        show_envvar=True,
        required=True,
        type=_input_path(),
        help=help_text,
    )


def input_2(help_internal: str, help_external: str):
    def decorate(func):
        return _apply(
            func,
            [
                click.option(
                    "--input-internal",
                    envvar="INPUT_INTERNAL",
                    show_envvar=True,
                    required=True,
                    type=_input_path(),
                    help=help_internal,
                ),
                click.option(
                    "--input-external",
                    envvar="INPUT_EXTERNAL",
                    show_envvar=True,
                    required=True,
                    type=_input_path(),
                    help=help_external,
                ),
            ],
        )

    return decorate


def output_1(help_text: str):
    return click.option(
        "--output",
        envvar="OUTPUT",
        show_envvar=True,
        required=True,
        type=_output_dir(),
        help=help_text,
    )


def output_2(func):
    return _apply(
        func,
        [
            click.option(
                "--output-A",
                "output_a",
                envvar="OUTPUT_A",
                show_envvar=True,
                required=True,
                type=_output_dir(),
                help="Directory for server A's shares (created if missing); the file keeps "
                "the input's name.",
            ),
            click.option(
                "--output-B",
                "output_b",
                envvar="OUTPUT_B",
                show_envvar=True,
                required=True,
                type=_output_dir(),
                help="Directory for server B's shares (created if missing); the file keeps "
                "the input's name.",
            ),
        ],
    )
