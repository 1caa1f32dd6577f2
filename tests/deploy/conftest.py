"""Deployment tests: the contract of docs/architecture.md as data, and the tools that check files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = REPO_ROOT / "docs" / "architecture.md"
DOCKER_COMPOSE_VERSION = "1.29.2"
# docker-compose 1.29.2 pins PyYAML 5.4.x, whose build breaks with Cython 3.
DOCKER_COMPOSE_CONSTRAINTS = "Cython<3\n"
TOOLS_DIR = REPO_ROOT / ".venv" / "tools"


def _section(title: str) -> str:
    text = ARCHITECTURE.read_text()
    match = re.search(rf"^## {re.escape(title)}.*?$(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"docs/architecture.md has no section '## {title}'"
    return match.group(1)


def _table_rows(section: str) -> list[list[str]]:
    rows = []
    for line in section.splitlines():
        if line.startswith("|") and not re.match(r"^\|\s*-", line):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[1:]  # without the header


@pytest.fixture(scope="session")
def settings_names() -> set[str]:
    """Every variable of the Settings table (first column, each `NAME` in backticks)."""
    names = set()
    for row in _table_rows(_section("Settings")):
        names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", row[0]))
    assert len(names) > 20, names
    return names


@pytest.fixture(scope="session")
def doc_commands() -> dict[str, set[str]]:
    """`prio-stream` subcommand -> its allowed first arguments ({} when free-form)."""
    block = re.search(r"```\n(prio-stream .*?)```", _section("Commands"), re.DOTALL)
    assert block, "no prio-stream command block in the Commands section"
    commands: dict[str, set[str]] = {}
    for line in block.group(1).splitlines():
        words = line.split("#")[0].split()
        if len(words) >= 2 and words[0] == "prio-stream":
            choice = re.fullmatch(r"\{(.*)\}", words[2]) if len(words) > 2 else None
            commands[words[1]] = set(choice.group(1).split("|")) if choice else set()
    return commands


@pytest.fixture(scope="session")
def doc_topics() -> dict[str, dict]:
    """Topic -> {"subscriptions": {name}, "publisher": text} from the topics table."""
    topics = {}
    for row in _table_rows(_section("Topics and subscriptions")):
        names = re.findall(r"`([^`]+)`", row[0])
        if not names or "<topic>" in names[0]:
            continue
        topics[names[0]] = {
            "publisher": row[1],
            "subscriptions": set(re.findall(r"`(prio-[a-z0-9-]+)`", row[2])),
            "ingest_project": "ingest project" in row[0],
        }
    return topics


@pytest.fixture(scope="session")
def doc_peer_topics(doc_topics) -> set[str]:
    """Topics the peer server publishes to (cross-project)."""
    return {t for t, info in doc_topics.items() if "peer" in info["publisher"]}


def check_prio_stream_command(argv: list[str], doc_commands: dict[str, set[str]]) -> None:
    assert argv and argv[0] == "prio-stream", f"not a prio-stream command: {argv}"
    assert len(argv) >= 2 and argv[1] in doc_commands, f"unknown subcommand: {argv}"
    allowed = doc_commands[argv[1]]
    if allowed:
        assert len(argv) >= 3 and argv[2] in allowed, f"{argv[1]} takes one of {allowed}: {argv}"
    # and the command the image runs is the one installed here (services/main.py)
    from click.testing import CliRunner

    from services.main import cli

    result = CliRunner().invoke(cli, [*argv[1:2], "--help"])
    assert result.exit_code == 0, f"`prio-stream {argv[1]} --help` fails: {result.output}"


def install_tool(target: Path, command: str, requirement: str, constraints: str = "") -> Path:
    """`command` of PyPI's `requirement`, in a venv of its own at target (apart from the
    project's pins); installed on first use, a failure fails the test."""
    binary = target / "bin" / command
    if binary.exists():
        return binary
    target.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if constraints:
        env["PIP_CONSTRAINT"] = str(target.parent / f"{target.name}-constraints.txt")
        Path(env["PIP_CONSTRAINT"]).write_text(constraints)
    steps = [
        [sys.executable, "-m", "venv", str(target)],
        [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", requirement],
    ]
    for step in steps:
        done = subprocess.run(step, env=env, check=False, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            pytest.fail(
                f"cannot install {requirement} (PyPI, with PIP_CONSTRAINT holding "
                f"{constraints.strip()!r}) into {target}:\n{done.stderr[-3000:]}"
            )
    return binary


@pytest.fixture(scope="session")
def docker_compose() -> Path:
    """docker-compose 1.29.2 in its own venv (.venv/tools/), apart from the project's pins.

    DOCKER_COMPOSE names another binary. Installed on first use; a failure fails the tests."""
    given = os.environ.get("DOCKER_COMPOSE")
    if given:
        return Path(given)
    return install_tool(TOOLS_DIR / "docker-compose", "docker-compose",
                        f"docker-compose=={DOCKER_COMPOSE_VERSION}", DOCKER_COMPOSE_CONSTRAINTS)


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov as pinned by pyproject's `checkov` extra, in its own venv (.venv/tools/): it pins
    packaging<24 and ships an old python-hcl2 fork as `hcl2`, which the project's pins refuse."""
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    [requirement] = extras["checkov"]
    # the version in the folder's name: a new pin gets a new venv, not the old binary
    return install_tool(TOOLS_DIR / requirement.replace("==", "-"), "checkov", requirement)
