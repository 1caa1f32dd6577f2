"""The deployment docs name commands, options and ports that exist."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from tests.deploy.conftest import REPO_ROOT

DOCS = [REPO_ROOT / "docs" / "deployment.md", REPO_ROOT / "docs" / "runbook.md"]


def command_lines() -> list[list[str]]:
    found = []
    for doc in DOCS:
        for match in re.finditer(r"(?<![\w-])(prio-stream|prio) ([a-z][\w-]*(?: [^`\n|;#]*)?)",
                                 doc.read_text()):
            words = [match.group(1), *match.group(2).split()]
            found.append(words)
    return found


def cli_for(program: str):
    if program == "prio-stream":
        from services.main import cli
    else:
        from prio_cli.main import cli
    return cli


def test_documented_commands_and_options_exist():
    lines = command_lines()
    assert len(lines) > 10
    checked = 0
    for words in lines:
        cli = cli_for(words[0])
        if words[1] not in cli.commands:
            if words[0] == "prio" and words[1] in ("keygen", "shared-seed"):
                pytest.fail(f"prio {words[1]} is missing")
            continue  # prose: "prio-stream runs as ..."
        command, rest = cli.commands[words[1]], words[2:]
        if hasattr(command, "commands") and rest and rest[0] in command.commands:
            command, rest = command.commands[rest[0]], rest[1:]
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in options, f"{' '.join(words)}: no option {word}"
        checked += 1
    assert checked >= 8


def test_prio_keygen_and_shared_seed_print_what_the_docs_say():
    from prio_cli.main import cli

    keys = CliRunner().invoke(cli, ["keygen"])
    assert re.fullmatch(r'\{"private_key": "[0-9A-F]{64}", "public_key": "[0-9A-F]{64}"\}\n',
                        keys.output)
    seed = CliRunner().invoke(cli, ["shared-seed"])
    assert re.fullmatch(r'\{"shared_seed": "[A-Za-z0-9+/]{22}=="\}\n', seed.output)


def test_compose_ports_in_the_docs_are_published():
    compose = (REPO_ROOT / "docker-compose.yml").read_text()
    published = set(re.findall(r'"127\.0\.0\.1:(\d+):\d+"', compose))
    documented = set(re.findall(r"localhost:(\d{4})", DOCS[0].read_text()))
    assert documented and documented <= published
