"""The `prio` package is installed with the project (pyproject's package list)."""

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]


def test_prio_and_its_cli_are_packaged():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = set(find_packages(str(ROOT), include=include))
    assert {"prio", "prio.cli", "prio_cli", "libprio_ctypes"} <= packages
    assert not any(p.startswith("tests") for p in packages)
