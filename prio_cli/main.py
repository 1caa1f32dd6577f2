"""The `prio` command group: prio-processor's pipeline steps, in pipeline order."""

from __future__ import annotations

import click

from prio_cli.encode import encode_shares
from prio_cli.keys import keygen, shared_seed
from prio_cli.publish import publish
from prio_cli.steps import aggregate, verify1, verify2


class PipelineOrder(click.Group):
    def list_commands(self, ctx):
        return list(self.commands)

    def invoke(self, ctx):
        # A file that cannot be read or written is the user's to fix: a message, no traceback.
        try:
            return super().invoke(ctx)
        except OSError as error:
            where = f": {error.filename}" if error.filename else ""
            raise click.ClickException(f"{error.strerror or error}{where}")


@click.group(cls=PipelineOrder, context_settings={"max_content_width": 100})
@click.version_option(package_name="prio-stream", prog_name="prio", message="%(prog)s %(version)s")
def cli():
    """Prio over NDJSON files: prio-processor's command line on the libprio_ctypes core.

    \b
    Pipeline (every option can also be set by its environment variable, e.g. N_DATA):
      keygen, shared-seed   once, to set up the two servers
      encode-shares         client side: bit vectors -> shares for A and B
      verify1, verify2      each server, with the peer's output of the previous step
      aggregate             each server: total share of the valid records
      publish               either server: both total shares -> counts

    Rejected records are reported on stderr with their reason and counted, never fatal.
    Bad options or client inputs end with a usage error (exit code 2).
    """


for command in (keygen, shared_seed, encode_shares, verify1, verify2, aggregate, publish):
    cli.add_command(command)
