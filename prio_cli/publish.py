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
    if not isinstance(fields, dict) or not isinstance(fields.get("payload"), str):
        raise bad('not an aggregate: no "payload" string')
    try:
        return base64.b64decode(fields["payload"], validate=True)
    except (binascii.Error, ValueError):
        raise bad("bad base64 in payload")


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
def publish(
    batch_id, n_data, prg_mode, server_id, input_internal, input_external, output, **_unused
):
    """Add both servers' total shares into the final counts.

    Writes one JSON object, {"id": uuid4, "timestamp": UTC ISO-8601, "payload": [counts]},
    without a trailing newline (as prio-processor). --server-id tells which share is A's
    (default A). The private key, shared secret and evaluation-point options are not needed;
    they are accepted so that one set of server options serves every step.
    """
    own = read_total_share(input_internal, "--input-internal")
    peer = read_total_share(input_external, "--input-external")
    share_a, share_b = (peer, own) if server_id == "B" else (own, peer)
    config = libprio_config(n_data, batch_id, prg_mode, None, None)
    try:
        counts = final(config, share_a, share_b)
    except PrioError as error:
        raise click.UsageError(
            f"the total shares do not combine ({error.reason.name}): they must be server A's "
            f"and server B's aggregates of the same batch, with --n-data {n_data}"
        )
    timestamp = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    result = {"id": str(uuid.uuid4()), "timestamp": timestamp.isoformat(), "payload": counts}
    write_object(output_path(output, input_internal), result)
