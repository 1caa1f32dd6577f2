"""`python -m prio_cli` runs the `prio` command (the benchmarks time it this way)."""

from prio_cli.main import cli

cli(prog_name="prio")
