"""Fixtures of the `prio` command tests: a CLI runner with a clean environment."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from prio_cli.main import cli

# Every environment variable the commands read: unset unless a test sets it, so that a
# developer's shell cannot change what a test sees.
OPTION_ENV = dict.fromkeys(
    [
        "BATCH_ID",
        "N_DATA",
        "PRG_MODE",
        "SERVER_ID",
        "PRIVATE_KEY_HEX",
        "SHARED_SECRET",
        "PUBLIC_KEY_HEX_INTERNAL",
        "PUBLIC_KEY_HEX_EXTERNAL",
        "EVALUATION_POINT",
        "SUBMISSION_DATE",
        "PARTITION_ID",
        "INPUT",
        "INPUT_INTERNAL",
        "INPUT_EXTERNAL",
        "OUTPUT",
        "OUTPUT_A",
        "OUTPUT_B",
    ]
)


@pytest.fixture
def invoke():
    """Run `prio ARGS` in-process; stdout and stderr apart, exceptions left to click."""
    runner = CliRunner()

    def run(args, env=None, expect=0):
        result = runner.invoke(
            cli,
            [str(arg) for arg in args],
            env={**OPTION_ENV, **(env or {})},
            catch_exceptions=False,
        )
        assert result.exit_code == expect, result.output
        return result

    return run
