"""`encode-shares`: the client side; bit vectors in, one encrypted share file per server out.

The whole input is checked before anything is written, so a bad line leaves no half-written
share files behind.
"""

from __future__ import annotations

import json
import os
import uuid

import click

from libprio_ctypes import Client
from prio_cli.config import client_config
from prio_cli.options import data_config, input_1, output_2, public_keys
from prio_cli.records import encode_payload, output_path, read_lines, write_line
from prio_cli.report import progress


def _bad(number: int, message: str) -> click.BadParameter:
    return click.BadParameter(f"line {number}: {message}", param_hint="'--input'")


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 20 else text[:17] + "..."


def parse_vector(number: int, text: str, n_data: int, bare: bool = False) -> bytes:
    """One input line: {"payload": [bits]} (prio-processor), or [bits] when `bare`
    (python-libprio's format)."""
    try:
        fields = json.loads(text)
    except ValueError:
        raise _bad(number, "malformed JSON")
    if bare:
        if not isinstance(fields, list):
            raise _bad(number, "not a JSON array of 0/1 values")
        values = fields
    elif not isinstance(fields, dict) or "payload" not in fields:
        raise _bad(number, 'not an object with a "payload"')
    else:
        values = fields["payload"]
    if not isinstance(values, list):
        raise _bad(number, "payload is not a list")
    if len(values) != n_data:
        raise _bad(number, f"payload has {len(values)} values, --n-data is {n_data}")
    # Set tests first: a per-value Python loop would cost more than encoding a long vector.
    if not (set(map(type, values)) <= {int} and set(values) <= {0, 1}):
        for position, value in enumerate(values):
            # bool is an int in Python; JSON true/false are not bits of the vector.
            if type(value) is not int or value not in (0, 1):
                raise _bad(number, f"value {_short(value)} at position {position} is not 0 or 1")
    return bytes(values)


def read_vectors(path: str, n_data: int, bare: bool = False) -> list[bytes]:
    """The bit vectors of the input; blank lines are skipped."""
    return [
        parse_vector(number, text, n_data, bare)
        for number, text in read_lines(path)
        if text.strip()
    ]


def write_shares(options: dict, bare: bool = False) -> None:
    """encode-shares' work, from its options; `bare`: input lines are bare arrays."""
    source, output_a, output_b = options["input"], options["output_a"], options["output_b"]
    if os.path.realpath(output_a) == os.path.realpath(output_b):
        raise click.UsageError("--output-A and --output-B must be different directories")
    config = client_config(
        options["batch_id"],
        options["n_data"],
        options["prg_mode"],
        options["public_key_hex_internal"],
        options["public_key_hex_external"],
    )
    vectors = read_vectors(source, options["n_data"], bare)
    client = Client(config)
    path_a, path_b = output_path(output_a, source), output_path(output_b, source)
    with (
        open(path_a, "w", encoding="utf-8") as file_a,
        open(path_b, "w", encoding="utf-8") as file_b,
        progress(vectors, "encode-shares") as bar,
    ):
        for vector in bar:
            share_a, share_b = client.encode(vector)
            record_id = str(uuid.uuid4())
            write_line(file_a, {"id": record_id, "payload": encode_payload(share_a)})
            write_line(file_b, {"id": record_id, "payload": encode_payload(share_b)})
    click.echo(f"encode-shares: {len(vectors)} reports encoded", err=True)


@click.command()
@data_config
@public_keys
@input_1('Client inputs: NDJSON lines {"payload": [0 or 1, ... n-data values]}.')
@output_2
def encode_shares(**options):
    """Encode and encrypt client bit vectors into shares for server A and server B.

    --public-key-hex-internal is server A's key, --public-key-hex-external server B's. Each
    input line gives one line {"id": uuid4, "payload": base64 encrypted share} in both outputs,
    with the same id.
    """
    write_shares(options)
