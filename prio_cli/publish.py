"""`publish`: combine the two servers' total shares into the final counts."""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import uuid

import click

from libprio_ctypes import PrioError, final
from prio_cli.config import libprio_config
from prio_cli.options import (
    data_config,
    evaluation_point,
    input_2,
    output_1,
    public_keys,
    server_config,
)
from prio_cli.records import output_path, write_object


def read_total_share(path: str, option: str) -> bytes:
    def bad(message: str) -> click.BadParameter:
        return click.BadParameter(message, param_hint=f"'{option}'")

    try:
        with open(path, encoding="utf-8") as file:
            fields = json.load(file)
    except ValueError:
        raise bad("not a JSON aggregate file")
    # python-libprio's aggregate files hold the bare base64 string
    payload = fields.get("payload") if isinstance(fields, dict) else fields
    if not isinstance(payload, str):
        raise bad('not an aggregate: no "payload" string')
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise bad("bad base64 in payload")


def combine(options: dict) -> tuple[list[int], str]:
    """The counts of both aggregate files of publish's options, and the output file's path."""
    n_data, server_id = options["n_data"], options["server_id"]
    own = read_total_share(options["input_internal"], "--input-internal")
    peer = read_total_share(options["input_external"], "--input-external")
    share_a, share_b = (peer, own) if server_id == "B" else (own, peer)
    config = libprio_config(n_data, options["batch_id"], options["prg_mode"], None, None)
    try:
        counts = final(config, share_a, share_b)
    except PrioError as error:
        raise click.UsageError(
            f"the total shares do not combine ({error.reason.name}): they must be server A's "
            f"and server B's aggregates of the same batch, with --n-data {n_data}"
        )
    return counts, output_path(options["output"], options["input_internal"])


@click.command()
@data_config
@server_config(required=False)
@public_keys
@evaluation_point
@input_2(
    "This server's aggregate file (output of its aggregate step).",
    "The peer server's aggregate file.",
)
@output_1(
    "Directory for the result (created if missing; the file keeps the name of --input-internal)."
)
def publish(**options):
    """Add both servers' total shares into the final counts.

    Writes one JSON object, {"id": uuid4, "timestamp": UTC ISO-8601, "payload": [counts]},
    without a trailing newline (as prio-processor). --server-id tells which share is A's
    (default A). The private key, shared secret and evaluation-point options are not needed;
    they are accepted so that one set of server options serves every step.
    """
    counts, outfile = combine(options)
    timestamp = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    result = {"id": str(uuid.uuid4()), "timestamp": timestamp.isoformat(), "payload": counts}
    write_object(outfile, result)
