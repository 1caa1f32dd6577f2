"""The protobuf contracts: generated code is current, buf lint is clean, no breaking change against main."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("proto_generate", ROOT / "proto" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _buf() -> str:
    found = shutil.which("buf") or str(Path(sys.executable).parent / "buf")
    assert Path(found).exists(), "buf is installed with the test extras (buf-bin)"
    return found


def test_generated_code_is_current(tmp_path):
    written = _generator().generate(tmp_path)
    assert written, "no proto files found"
    committed = ROOT / "services" / "protocol" / "pb"
    for path in written:
        assert (committed / path.name).read_text() == path.read_text(), (
            f"services/protocol/pb/{path.name} is stale: run `python proto/generate.py`"
        )


def test_buf_lint():
    result = subprocess.run([_buf(), "lint"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_buf_breaking_against_main():
    has_main_protos = subprocess.run(
        ["git", "cat-file", "-e", "main:proto/prio/v1"], cwd=ROOT, capture_output=True,
        check=False,
    ).returncode == 0
    if not has_main_protos:
        pytest.skip("main has no proto/ yet: nothing to be compatible with")
    result = subprocess.run(
        [_buf(), "breaking", "proto", "--against", ".git#branch=main,subdir=proto"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_messages_round_trip():
    from services.protocol import pb

    close = pb.BatchClose(batch_id="b-0", submission_date="2026-11-22",
                          kind=pb.BatchClose.KIND_PROPOSAL, sender=pb.Server.SERVER_A,
                          partition_ids=["p1", "p2"])
    assert pb.BatchClose.FromString(close.SerializeToString()) == close
