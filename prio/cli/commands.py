"""python-libprio's CLI commands, in its file formats: `shared-seed` prints bare base64,
`encode-shares` reads bare arrays like [1, 0, 0], `aggregate` writes the total share as a bare
JSON string and `publish` the counts as a bare JSON list. Options, verify files, rejections
and the default PRG mode (raw) are those of the project's `prio` command (prio_cli)."""

from __future__ import annotations

import base64
import json

import click

from libprio_ctypes import generate_shared_secret
from prio_cli import encode, steps
from prio_cli import publish as processor_publish
from prio_cli.keys import keygen
from prio_cli.main import PipelineOrder
from prio_cli.options import data_config, input_1, output_2, public_keys
from prio_cli.records import encode_payload

verify1 = steps.verify1
verify2 = steps.verify2


@click.command()
def shared_seed():
    """Print a new shared server secret: base64 of 16 random bytes."""
    click.echo(base64.b64encode(generate_shared_secret()).decode("ascii"))


@click.command()
@data_config
@public_keys
@input_1("Client inputs: NDJSON lines, each a JSON array of n-data 0/1 values.")
@output_2
def encode_shares(**options):
    """Encode and encrypt client bit vectors into shares for server A and server B."""
    encode.write_shares(options, bare=True)


def _write_json(path: str, value) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(value, file)


def _with_options_of(command: click.Command):
    """A command taking the same options as `command` of prio_cli, with another output."""

    def decorate(callback) -> click.Command:
        return click.Command(command.name, callback=callback, params=command.params,
                             help=callback.__doc__)

    return decorate


@_with_options_of(steps.aggregate)
def aggregate(**options):
    """Sum the shares of the records whose proof checks into this server's total share,
    written as a JSON string of base64."""
    total_share, tally, outfile = steps.total_share_of(options)
    _write_json(outfile, encode_payload(total_share))
    tally.summary()


@_with_options_of(processor_publish.publish)
def publish(**options):
    """Add both servers' total shares into the final counts, written as a JSON list."""
    counts, outfile = processor_publish.combine(options)
    _write_json(outfile, counts)


@click.group(cls=PipelineOrder)
def main():
    """Prio over NDJSON files, in python-libprio's formats."""


for command in (keygen, shared_seed, encode_shares, verify1, verify2, aggregate, publish):
    main.add_command(command)
