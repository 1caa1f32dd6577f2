"""Files of real pings replayed: `prio-stream embedded --pings` and `prio-stream loadgen --pings`
take NDJSON, gzip-compressed or not; loadgen sends each ping with the upstream's attributes."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import subprocess
import sys
from pathlib import Path

import libprio_ctypes as prio
from services import loadgen
from services.common.inprocess import InProcessTransport
from services.common.provision import Deployment, SubscriptionPolicy, provision
from services.common.storage_local import LocalStorage
from services.ingest import pings
from tests.services.test_embedded import ROOT, VECTOR_KEYS, VECTORS, _embedded

CONFIG = {"raw-0": 12, "raw-1": 4}
UNIQUE, COPIES = 104, 8


def _vector_public(server: str) -> prio.PublicKey:
    keys = json.loads((VECTORS / f"server_{server}_keys.json").read_text())
    return prio.PublicKey.from_hex(keys["public_key"])


def test_embedded_takes_a_gzip_ping_file_and_counts_its_copies(tmp_path):
    today = dt.datetime.now(dt.UTC).date().isoformat()
    work = loadgen.generate(UNIQUE, CONFIG, _vector_public("a"), _vector_public("b"),
                            prio.PrgMode.RAW, today, loadgen.Mix(0.0, 0.0, 0))
    lines = work.pings + work.pings[:COPIES]  # 112 lines, 8 of them copies
    path = tmp_path / "pings.ndjson.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    run = _embedded(
        "--pings", str(path), "--prg-mode", "raw",
        "--data-config", json.dumps([{"batch_id": b, "n_data": n} for b, n in CONFIG.items()]),
        *VECTOR_KEYS, "--expect", json.dumps(work.sums), tmp_path=tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    batches = json.loads(run.stdout)["batches"]
    assert sorted(b["batch_id"] for b in batches) == sorted(CONFIG)
    for batch in batches:
        ingest = batch["ingest"]
        assert (ingest["reports"], ingest["duplicates"], ingest["rejected"]) == (
            UNIQUE, COPIES, {})
        assert batch["result"]["A"]["valid"] == UNIQUE


def test_loadgen_sends_each_ping_with_its_own_upstream_attributes(tmp_path):
    stamped = json.dumps({"id": "doc-1", "submission_timestamp": "2026-03-04T05:06:07Z"})
    plain = json.dumps({"id": "doc-2"})
    long_id = json.dumps({"id": "x" * 1025})
    path = tmp_path / "pings.gz"
    path.write_bytes(gzip.compress(f"{stamped}\n\n{plain}\nnot json\n{long_id}\n".encode()))
    messages = loadgen.read_pings(str(path))
    assert messages == [stamped.encode(), plain.encode(), b"not json", long_id.encode()]
    transport = InProcessTransport()
    provision(transport, Deployment(), SubscriptionPolicy(), LocalStorage(tmp_path / "store"))
    project = Deployment().project_ingest
    loadgen.publish_all(transport, project, messages, None,
                        [loadgen.upstream_attributes(m) for m in messages])
    pulled = transport.pull(project, "prio-pings-ingest", 10)
    upstream = {"document_namespace": "telemetry", "document_type": "prio"}
    assert [(p.message.data, {k: v for k, v in p.message.attributes.items()
                              if k not in ("traceparent", "tracestate")})
            for p in pulled] == [
        (stamped.encode(), {**upstream, "document_id": "doc-1",
                            "submission_timestamp": "2026-03-04T05:06:07Z"}),
        (plain.encode(), {**upstream, "document_id": "doc-2"}),
        (b"not json", upstream),
        (long_id.encode(), upstream),  # over Pub/Sub's attribute limit: the body keeps it
    ]


def test_an_unreadable_or_empty_ping_file_is_one_line_naming_the_option(tmp_path):
    (tmp_path / "empty.ndjson").write_bytes(b"\n\n")
    (tmp_path / "broken.gz").write_bytes(gzip.compress(b'{"id": "a"}\n')[:-6])
    for command in ("loadgen", "embedded"):
        for name, says in (("empty.ndjson", "holds no pings"), ("broken.gz", "cannot read")):
            run = subprocess.run(
                [sys.executable, "-m", "services.main", command, "--pings",
                 str(tmp_path / name)], cwd=tmp_path, capture_output=True, text=True,
                timeout=120, check=False, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
            assert run.returncode == 2, (command, name, run.stderr)
            assert "Traceback" not in run.stderr
            [error] = [line for line in run.stderr.splitlines() if line.startswith("Error")]
            assert "'--pings'" in error and says in error, (command, error)



# --- the documented sample (docs/pings.md, docs/samples/)

SAMPLES = ROOT / "docs" / "samples"


def test_the_sample_pings_parse_into_one_report_per_batch():
    config = {item["batch_id"]: item["n_data"]
              for item in json.loads((SAMPLES / "data_config.json").read_text())}
    lines = loadgen.read_pings(str(SAMPLES / "pings.ndjson"))
    assert len(lines) == 6
    for line in lines:
        reports, rejections = pings.parse(line, {}, config)
        assert rejections == []
        assert sorted(r.batch_id for r in reports) == sorted(config)
        assert json.loads(line)["type"] == "prio"


def test_the_documented_sample_command_publishes_the_expected_counts(tmp_path):
    text = (ROOT / "docs" / "pings.md").read_text()
    command = text.split("## The sample", 1)[1].split("```")[1].strip()
    assert command.startswith("prio-stream embedded --pings docs/samples/pings.ndjson")
    run = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=300,
        check=False, env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                          "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "OK: published counts match" in run.stdout
