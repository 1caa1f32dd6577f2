"""ruff over the whole tree, as CI runs it: any finding fails the suite, listed."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from tests.deploy.conftest import REPO_ROOT


def test_ruff_is_a_pinned_test_dependency():
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["test"]
    assert [pin for pin in extras if re.fullmatch(r"ruff==[\d.]+", pin)], extras


def test_ruff_check_finds_nothing():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
