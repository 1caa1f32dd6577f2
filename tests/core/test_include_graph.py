"""The C core's modules depend on each other without a circle (#include lines and calls of exports)."""

import re
from pathlib import Path

CSRC = Path(__file__).resolve().parents[2] / "libprio_ctypes" / "csrc"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
# an export's definition starts at column 0 with its return type; its calls are indented
DEFINITION = re.compile(r"^[A-Za-z_][\w \t*]*?\b(prio_\w+)\s*\(", re.MULTILINE)
CALL = re.compile(r"\b(prio_\w+)\s*\(")


def unit(path: Path) -> str:
    """foo.c and foo.h are one module, named by their path under csrc without the suffix."""
    return path.relative_to(CSRC).with_suffix("").as_posix()


def dependency_graph(sources: dict[Path, str]) -> dict[str, set[str]]:
    """Module -> the modules it needs. prio.h is implemented by many files, so a call of an
    export is an edge to the file that defines it; every other header names its module."""
    code = {path: COMMENT.sub("", text) for path, text in sources.items()}
    defined_in = {name: unit(p) for p, text in code.items() if p.suffix == ".c"
                  for name in DEFINITION.findall(text)}
    graph: dict[str, set[str]] = {unit(p): set() for p in code}
    for path, text in code.items():
        needs = {unit(CSRC / header) for header in INCLUDE.findall(text)}
        if path.suffix == ".c":  # a header only declares exports
            needs |= {defined_in[name] for name in CALL.findall(text) if name in defined_in}
        graph[unit(path)] |= needs - {unit(path)}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of the graph as a path that comes back to its start, or [] when there is none."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node):
        state[node], _ = "open", stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node], _ = "done", stack.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def csrc_sources() -> dict[Path, str]:
    return {p: p.read_text() for p in sorted(CSRC.rglob("*.[ch]"))}


def test_the_c_core_has_no_dependency_circle():
    assert find_cycle(dependency_graph(csrc_sources())) == []


def test_every_include_names_a_file_of_csrc():
    for path, text in csrc_sources().items():
        for header in INCLUDE.findall(text):
            assert (CSRC / header).is_file(), f"{path.name} includes {header}"


def test_a_circle_through_a_call_of_an_export_is_found():
    sources = {
        CSRC / "sizes.c": '#include "packet.h"\nuint64_t prio_h_points(int32_t n) {\n    return 1;\n}\n',
        CSRC / "packet.h": '#include "field.h"\n',
        CSRC / "packet.c": '#include "packet.h"\n#include "prio.h"\nsize_t f(void) {\n'
                           "    return (size_t)prio_h_points(3); /* prio_other() */\n}\n",
        CSRC / "prio.h": "PRIO_API uint64_t prio_h_points(int32_t n_data);\n",
    }
    assert find_cycle(dependency_graph(sources)) == ["packet", "sizes", "packet"]
