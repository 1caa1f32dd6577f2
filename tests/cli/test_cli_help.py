"""`--help` describes every command and every option."""

from __future__ import annotations

import pytest

from prio_cli.main import cli

COMMANDS = ["keygen", "shared-seed", "encode-shares", "verify1", "verify2", "aggregate", "publish"]


def test_the_group_lists_every_command_in_pipeline_order(invoke):
    output = invoke(["--help"]).stdout
    listed = [line.split()[0] for line in output.split("Commands:\n")[1].splitlines() if line]
    assert listed == COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_of_a_command_has_help(name, invoke):
    command = cli.commands[name]
    assert command.help and command.get_short_help_str()
    output = invoke([name, "--help"]).stdout
    for param in command.params:
        assert param.help, (name, param.name)
        for flag in param.opts:
            assert flag in output
        if param.envvar:
            assert param.envvar in output, (name, param.envvar)
