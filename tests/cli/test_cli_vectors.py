"""The CLI reproduces real libprio's prio-processor runs byte for byte (mode R and mode H)."""

from __future__ import annotations

import datetime
import json
import uuid

import pytest

from tests.cli.servers import VECTOR_SETS, run_pipeline

STEPS = ["verify1", "verify2", "aggregate"]


@pytest.mark.parametrize("vectors", VECTOR_SETS, ids=lambda v: v.name)
def test_pipeline_reproduces_libprio_bytes(vectors, invoke, tmp_path):
    raw = {server: vectors.raw(server) for server in "AB"}
    outputs = run_pipeline(invoke, vectors, raw, tmp_path)
    for server in "AB":
        for step in STEPS:
            expected = vectors.intermediate(server, "internal", step).read_bytes()
            assert outputs[server, step][0].read_bytes() == expected, (server, step)
        published = json.loads(outputs[server, "publish"][0].read_text())
        assert published["payload"] == vectors.published_counts()


@pytest.mark.parametrize("vectors", VECTOR_SETS, ids=lambda v: v.name)
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("server", ["A", "B"])
def test_each_step_on_the_recorded_inputs(vectors, step, server, invoke, tmp_path):
    """Each step alone, fed the vector's own intermediate files (not our earlier outputs)."""
    args = [step, *vectors.server_args(server), "--input", vectors.raw(server)]
    if step != "verify1":
        previous = STEPS[STEPS.index(step) - 1]
        args += [
            "--input-internal", vectors.intermediate(server, "internal", previous),
            "--input-external", vectors.intermediate(server, "external", previous),
        ]  # fmt: skip
    result = invoke([*args, "--output", tmp_path])
    expected = vectors.intermediate(server, "internal", step).read_bytes()
    assert (tmp_path / "data.ndjson").read_bytes() == expected
    assert result.stdout == ""
    lines = sum(1 for _ in vectors.raw(server).open())
    assert result.stderr == f"{step}: 0 errors out of {lines} total\n"


@pytest.mark.parametrize("vectors", VECTOR_SETS, ids=lambda v: v.name)
@pytest.mark.parametrize("server", ["A", "B"])
def test_publish_gives_the_recorded_counts(vectors, server, invoke, tmp_path):
    invoke(
        [
            "publish",
            *vectors.server_args(server),
            "--input-internal",
            vectors.intermediate(server, "internal", "aggregate"),
            "--input-external",
            vectors.intermediate(server, "external", "aggregate"),
            "--output",
            tmp_path,
        ]
    )
    text = (tmp_path / "data.ndjson").read_text()
    assert not text.endswith("\n")
    result = json.loads(text)
    assert list(result) == ["id", "timestamp", "payload"]
    assert result["payload"] == vectors.published_counts()
    assert uuid.UUID(result["id"]).version == 4
    assert datetime.datetime.fromisoformat(result["timestamp"]).tzinfo is None
    # json.dump's default separators, as prio-processor wrote it.
    assert text == json.dumps(result)
