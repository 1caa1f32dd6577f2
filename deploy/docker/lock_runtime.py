"""The image's dependency lock: prio-stream's runtime dependency closure as tested in .venv.

    .venv/bin/python deploy/docker/lock_runtime.py > deploy/docker/runtime-constraints.txt

The Dockerfile installs with this file as pip constraints, so the image runs exactly the
versions the test suite ran; tests/deploy/test_image.py fails when the two drift apart.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

from packaging.requirements import Requirement

HEADER = (
    "# prio-stream's runtime dependencies, pinned as tested (generated: do not edit).\n"
    "# Regenerate: .venv/bin/python deploy/docker/lock_runtime.py"
    " > deploy/docker/runtime-constraints.txt\n"
)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(root: str = "prio-stream") -> dict[str, str]:
    """name -> installed version of every distribution root needs at run time (no extras)."""
    found: dict[str, str] = {}
    pending: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    expanded: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras = pending.pop()
        if (canonical(name), extras) in expanded:
            continue
        expanded.add((canonical(name), extras))
        dist = metadata.distribution(name)
        found[canonical(name)] = dist.version
        for line in dist.requires or []:
            requirement = Requirement(line)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in ("", *extras)
            )
            if wanted:
                pending.append((requirement.name, frozenset(requirement.extras)))
    found.pop(canonical(root), None)
    return found


def render(pins: dict[str, str]) -> str:
    return HEADER + "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


if __name__ == "__main__":
    sys.stdout.write(render(closure()))
