"""The install path: what `make run` and `make test` install, the commands it leaves in .venv/bin,
`make test-fast`, and CI running the README's commands."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO_ROOT

BIN = Path(sys.executable).parent
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
RUN_PACKAGES = {"build-essential", "libssl-dev", "python3-venv"}
EMULATOR_PACKAGE = "google-cloud-cli-pubsub-emulator"


@pytest.mark.parametrize("command", ["prio", "prio-stream"])
def test_both_commands_print_their_version(command):
    done = subprocess.run([str(BIN / command), "--version"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{command} {VERSION}\n", "")


def _outside_make() -> dict[str, str]:
    """This environment without the variables of a `make` running the suite (`make test`): a
    nested make would print its directory changes."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}


def _dry_run(target: str) -> list[list[str]]:
    """The commands `make TARGET` would run from scratch (-B: every target out of date)."""
    done = subprocess.run(["make", "-n", "-B", target], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, check=False, env=_outside_make())
    assert done.returncode == 0, done.stderr
    return [shlex.split(line) for line in done.stdout.splitlines() if line.strip()]


def _system_packages(commands: list[list[str]]) -> set[str]:
    return {word for command in commands if command[0].endswith("install-system-packages")
            for word in command[1:]}


def test_make_run_installs_a_compiler_and_openssl_headers_only():
    commands = _dry_run("run")
    assert _system_packages(commands) == RUN_PACKAGES
    assert not any("install-pubsub-emulator" in command[0] for command in commands)
    installs = [c for c in commands if c[0].endswith("/pip") and "-e" in c]
    assert [c[c.index("-e") + 1] for c in installs] == ["."]
    assert commands[-1] == [".venv/bin/prio-stream", "embedded"]


def test_make_test_adds_the_emulator_java_clang_and_valgrind():
    commands = _dry_run("test")
    packages = _system_packages(commands)
    assert packages > RUN_PACKAGES
    assert {"openjdk-17-jre-headless", "clang", "valgrind"} <= packages
    assert any(c[0] == "./scripts/install-pubsub-emulator" for c in commands)
    installs = [c[c.index("-e") + 1] for c in commands if c[0].endswith("/pip") and "-e" in c]
    assert installs == [".", ".[test]"]
    assert commands[-1] == [".venv/bin/python", "-m", "pytest", "tests"]


def test_make_test_fast_leaves_out_emulator_and_slow_tests():
    commands = _dry_run("test-fast")
    assert commands[-1] == [".venv/bin/python", "-m", "pytest", "-m",
                            "not emulator and not slow", "tests"]


def test_ci_runs_the_readme_install_then_test_command_and_fails_on_no_tests():
    lines = [line for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "make install", "make test"]
    readme = (REPO_ROOT / "README.md").read_text()
    assert "```\nmake run\n```" in readme and "```\nmake test\n```" in readme
    # make propagates pytest's exit code 5 (no test collected): CI then fails, never passes empty
    done = subprocess.run(["make", "-n", "test"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60, check=False, env=_outside_make())
    assert "|| true" not in done.stdout and "-k" not in shlex.split(done.stdout.splitlines()[-1])


def _collect(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-2000:]
    return {line for line in done.stdout.splitlines() if "::" in line}


def test_tests_using_an_emulator_are_marked_by_their_fixtures():
    """`make test-fast`'s filter leaves out a test taking an emulator fixture (no mark of its
    own) and the emulator parameter of a storage test, and keeps the rest."""
    transport, storage = "tests/platform/test_platform_transport.py", \
        "tests/platform/test_platform_storage.py"
    fast = _collect("-m", "not emulator and not slow", transport, storage)
    every = _collect(transport, storage)
    left_out = every - fast
    assert f"{transport}::test_streaming_pull_on_a_missing_subscription_reports_an_error" \
        in left_out
    assert f"{storage}::test_create_is_create_only[gcs]" in left_out
    assert f"{storage}::test_create_is_create_only[local]" in fast
    assert not [test for test in fast if test.endswith(("[gcs]", "[pubsub]"))]


def _stub(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def test_no_emulator_package_and_no_docker_engine_say_what_to_install(tmp_path):
    """Google's apt repository missing (apt cannot locate the package), no Docker engine: one
    line naming what to install, exit 1."""
    for name, script in (("dpkg-query", "exit 1"),
                         ("apt-get", 'echo "E: Unable to locate package $4" >&2; exit 100'),
                         ("docker", "echo 'Cannot connect to the Docker daemon' >&2; exit 1"),
                         ("sudo", 'exec "$@"'), ("id", "echo 0")):
        _stub(tmp_path, name, script)
    env = {key: value for key, value in os.environ.items() if key != "PUBSUB_EMULATOR_BIN"}
    env["PATH"] = f"{tmp_path}:/usr/bin:/bin"
    done = subprocess.run([str(REPO_ROOT / "scripts" / "install-pubsub-emulator")], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("make test needs the Pub/Sub emulator: ")
    assert EMULATOR_PACKAGE in line and "Docker engine" in line and "PUBSUB_EMULATOR_BIN" in line


def test_an_installed_emulator_package_is_enough(tmp_path):
    _stub(tmp_path, "dpkg-query", 'echo "install ok installed"')
    _stub(tmp_path, "apt-get", "echo apt-get must not run >&2; exit 1")
    env = {**os.environ, "PATH": f"{tmp_path}:/usr/bin:/bin"}
    done = subprocess.run([str(REPO_ROOT / "scripts" / "install-pubsub-emulator")], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, "")
