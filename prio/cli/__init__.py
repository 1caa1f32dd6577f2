"""python-libprio's command line (`prio.cli.commands`), on the project's `prio` CLI."""
