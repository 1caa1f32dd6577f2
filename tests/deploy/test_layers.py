"""What may import what (docs/architecture.md, Layers), read from the source: no circle among
the Python modules, no FastAPI in the protocol or the servers' domain code, no product in the
platform."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.deploy.conftest import REPO_ROOT

PACKAGES = ("services", "libprio_ctypes", "prio_cli", "prio")
# The protocol and the servers' domain code: HTTP lives in the routes modules.
NO_FASTAPI = ("services/protocol/", "services/aggregator/", "services/verifier/")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            relative = path.relative_to(REPO_ROOT).with_suffix("")
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            found[".".join(parts)] = path
    return found


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Modules of the tree that path imports at its top level (a deferred import inside a
    function does not make a circle at import time)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[:len(package.split(".")) - node.level + 1],
                                 *([base] if base else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        found |= {t for t in targets if t in modules}
    # A module's own packages are initialised before it runs: importing from them is no circle.
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return found - ancestors - {name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, name, modules) for name, path in modules.items()}


def test_no_import_circle():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                circles.append(" -> ".join([*path[path.index(target):], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_fastapi_only_in_http_modules():
    found = []
    for path in (REPO_ROOT / "services").rglob("*.py"):
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative.startswith(NO_FASTAPI):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(n == "fastapi" or n.startswith(("fastapi.", "starlette")) for n in names):
                    found.append(relative)
    assert found == []


def test_the_platform_knows_no_service():
    graph = _graph()
    product = ("services.ingest", "services.verifier", "services.aggregator",
               "services.publisher", "services.protocol", "services.registry",
               "services.embedded", "services.main")
    found = {name: sorted(t for t in targets if t.startswith(product))
             for name, targets in graph.items() if name.startswith("services.common")}
    assert {name: targets for name, targets in found.items() if targets} == {}


def test_no_generated_code_under_common():
    assert not list((REPO_ROOT / "services" / "common").rglob("*_pb2.py"))


def _service(module: str) -> str | None:
    """The service a module belongs to (services.<service>...), if any."""
    parts = module.split(".")
    return parts[1] if parts[0] == "services" and parts[1:2] and parts[1] in (
        "ingest", "verifier", "aggregator", "publisher") else None


def test_no_service_imports_another():
    found = [(name, target) for name, targets in _graph().items() if (own := _service(name))
             for target in sorted(targets) if _service(target) not in (None, own)]
    assert found == []
