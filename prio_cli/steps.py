"""The server steps `verify1`, `verify2` and `aggregate`: files in, files out, rejections tallied.

Which evaluation-point convention does the work is chosen here; the two modules behind it
(`per_record_evaluation_point`, `fixed_evaluation_point`) read and write the same files.
"""

from __future__ import annotations

import dataclasses

import click

from libprio_ctypes import partition_evaluation_point
from prio_cli import fixed_evaluation_point, per_record_evaluation_point
from prio_cli.config import ServerSetup, server_setup
from prio_cli.options import (
    data_config,
    evaluation_point,
    input_1,
    input_2,
    output_1,
    public_keys,
    server_config,
)
from prio_cli.records import (
    PacketIndex,
    encode_payload,
    index_packets,
    output_path,
    read_records,
    with_payload,
    write_line,
    write_object,
)
from prio_cli.report import Tally, progress

RAW_INPUT_HELP = 'This server\'s raw shares: NDJSON lines {"id", "payload": base64}.'


def _setup(options: dict) -> ServerSetup:
    setup = server_setup(
        batch_id=options["batch_id"],
        n_data=options["n_data"],
        prg_mode=options["prg_mode"],
        server_id=options["server_id"],
        private_key_hex=options["private_key_hex"],
        shared_secret=options["shared_secret"],
        public_key_hex_internal=options["public_key_hex_internal"],
        public_key_hex_external=options["public_key_hex_external"],
    )
    if options["evaluation_point"] == "per-record":
        return setup
    point = partition_evaluation_point(
        setup.shared_secret,
        setup.batch_id,
        options["submission_date"],
        options["partition_id"],
        setup.n_data,
    )
    return dataclasses.replace(setup, evaluation_point=point)


def _convention(setup: ServerSetup):
    return per_record_evaluation_point if setup.evaluation_point is None else fixed_evaluation_point


def _index(path: str, option: str, tally: Tally) -> PacketIndex:
    index = index_packets(path)
    for line in index.rejected:
        tally.warn(f"{option} line {line.line}: {line.reason} (ignored)")
    return index


def _write_packets(path: str, packets) -> None:
    with open(path, "w", encoding="utf-8") as file:
        for record, packet in packets:
            write_line(file, with_payload(record, packet))


@click.command()
@data_config
@server_config()
@public_keys
@evaluation_point
@input_1(RAW_INPUT_HELP)
@output_1(
    "Directory for this server's verify1 packets (created if missing; the file keeps "
    "the input's name)."
)
def verify1(**options):
    """Load this server's shares and write its verify1 packets (first round of the proof check).

    Records that cannot be loaded are left out of the output and reported on stderr.
    """
    setup = _setup(options)
    tally = Tally("verify1")
    entries = read_records(options["input"])
    outfile = output_path(options["output"], options["input"])
    with progress(entries, "verify1") as bar:
        _write_packets(outfile, _convention(setup).verify1(setup, bar, tally))
    tally.summary()


@click.command()
@data_config
@server_config()
@public_keys
@evaluation_point
@input_1(RAW_INPUT_HELP)
@input_2(
    "This server's verify1 file (output of its verify1 step).",
    "The peer server's verify1 file.",
)
@output_1(
    "Directory for this server's verify2 packets (created if missing; the file keeps "
    "the name of --input-internal)."
)
def verify2(**options):
    """Combine both servers' verify1 packets into this server's verify2 packets.

    A record needs a verify1 packet from both servers; records without one, or that cannot be
    loaded, are left out of the output and reported on stderr.
    """
    setup = _setup(options)
    tally = Tally("verify2")
    internal = _index(options["input_internal"], "--input-internal", tally)
    external = _index(options["input_external"], "--input-external", tally)
    entries = read_records(options["input"])
    outfile = output_path(options["output"], options["input_internal"])
    with progress(entries, "verify2") as bar:
        packets = _convention(setup).verify2(setup, bar, internal, external, tally)
        _write_packets(outfile, packets)
    tally.summary()


@click.command()
@data_config
@server_config()
@public_keys
@evaluation_point
@input_1(RAW_INPUT_HELP)
@input_2(
    "This server's verify2 file (output of its verify2 step).",
    "The peer server's verify2 file.",
)
@output_1(
    "Directory for this server's aggregate (created if missing; the file keeps the "
    "name of --input-internal)."
)
def aggregate(**options):
    """Sum the shares of the records whose proof checks into this server's total share.

    Writes one JSON object, {"payload": base64 total share, "error": rejected records,
    "total": lines of --input}, without a trailing newline (as prio-processor).
    """
    total_share, tally, outfile = total_share_of(options)
    write_object(
        outfile,
        {"payload": encode_payload(total_share), "error": tally.errors, "total": tally.total},
    )
    tally.summary()


def total_share_of(options: dict) -> tuple[bytes, Tally, str]:
    """aggregate's work, from its options: the total share, the tally, the output file's path."""
    setup = _setup(options)
    tally = Tally("aggregate")
    internal = _index(options["input_internal"], "--input-internal", tally)
    external = _index(options["input_external"], "--input-external", tally)
    entries = read_records(options["input"])
    with progress(entries, "aggregate") as bar:
        total_share = _convention(setup).aggregate(setup, bar, internal, external, tally)
    return total_share, tally, output_path(options["output"], options["input_internal"])
