"""Regenerates services/protocol/pb from proto/ (run `python proto/generate.py` after editing a .proto)."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = ROOT / "proto"
PACKAGE = ROOT / "services" / "protocol" / "pb"
# protoc writes `from prio.v1 import x_pb2`; the package lives under services.protocol.pb.
_IMPORT = re.compile(r"^from prio\.v1 import ", re.MULTILINE)


def generate(out: Path) -> list[Path]:
    """Writes the generated modules (code + type stubs) under out; returns their paths."""
    protos = sorted(PROTO_ROOT.rglob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"  # google/protobuf/*.proto
    with tempfile.TemporaryDirectory() as scratch:
        args = [
            "protoc", f"-I{PROTO_ROOT}", f"-I{include}",
            f"--python_out={scratch}", f"--pyi_out={scratch}",
            *(str(p.relative_to(PROTO_ROOT)) for p in protos),
        ]
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed")
        written = []
        for source in sorted(Path(scratch, "prio", "v1").glob("*_pb2.py*")):
            target = out / source.name
            target.write_text(_IMPORT.sub("from services.protocol.pb import ", source.read_text()))
            written.append(target)
    return written


if __name__ == "__main__":
    for path in generate(PACKAGE):
        print(path.relative_to(ROOT), file=sys.stderr)
