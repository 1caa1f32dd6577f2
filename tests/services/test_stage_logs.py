"""One structured line per partition stage, per batch transition and per partition's
rejection summary, with the batch, date and partition; never a secret or a share."""

from __future__ import annotations

import json
import logging

from services.aggregator.agreement import Agreement
from services.common.logging import JsonFormatter
from tests.services.harness import BATCH, DATE, Cluster
from tests.services.test_servers import KEY, _write

BATCH_FIELDS = {"batch_id": BATCH, "submission_date": DATE}


def _lines(caplog) -> list[dict]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records
            if record.name.startswith("prio_stream.")]


def _run(cluster, caplog, kinds) -> list[dict]:
    with caplog.at_level(logging.INFO, logger="prio_stream"):
        _write(cluster, "p1", kinds)
        cluster.run_servers()
        Agreement(cluster.contexts["aggregator-A"]).close(KEY)
        cluster.run_servers()
    return _lines(caplog)


def test_each_partition_stage_and_batch_transition_logs_one_line(tmp_path, caplog):
    cluster = Cluster(tmp_path)
    lines = _run(cluster, caplog, ["valid", "tamper_a", "valid"])
    stages = [(line["server"], line["stage"]) for line in lines if "stage" in line]
    for server in "AB":
        assert [stage for s, stage in stages if s == server] == [
            "loaded", "verify1 sent", "verify2 sent", "verified"], stages
    for line in (line for line in lines if "stage" in line):
        assert line["message"] == f"partition {line['stage']}"
        assert {**BATCH_FIELDS, "partition_id": "p1"}.items() <= line.items()
    verified = [line for line in lines if line.get("stage") == "verified"]
    assert [(v["reports"], v["valid"], v["rejected"]) for v in verified] == [
        (3, 2, {"DECRYPT_FAILED": 1})] * 2
    assert all(v["severity"] == "INFO" and "likely_cause" not in v for v in verified)
    loaded = {line["server"]: line for line in lines if line.get("stage") == "loaded"}
    assert (loaded["A"]["loaded"], loaded["A"]["rejected"]) == (2, {"DECRYPT_FAILED": 1})
    assert (loaded["B"]["loaded"], loaded["B"]["rejected"]) == (3, {})
    transitions = sorted((line["server"], line["transition"]) for line in lines
                         if "transition" in line)
    assert transitions == sorted([(s, t) for s in "AB"
                                  for t in ("closed", "total_share", "published")])
    for line in (line for line in lines if "transition" in line):
        assert BATCH_FIELDS.items() <= line.items()


def test_a_batch_failing_wholesale_logs_its_likely_cause(tmp_path, caplog):
    cluster = Cluster(tmp_path, prg_mode="raw")  # the harness's clients encode in hash mode
    lines = _run(cluster, caplog, ["valid"] * 3)
    verified = [line for line in lines if line.get("stage") == "verified"]
    assert len(verified) == 2
    for line in verified:
        assert line["severity"] == "WARNING"
        assert line["likely_cause"].startswith("3 of 3 reports INVALID_PROOF: ")
        assert "PRG_MODE" in line["likely_cause"]
    refused = [line for line in lines if line.get("transition") == "refused"]
    assert sorted(line["server"] for line in refused) == ["A", "B"]  # 0 valid < MIN_BATCH_SIZE
    assert all("INVALID_PROOF" in line["likely_cause"] for line in refused)


def test_no_log_line_carries_a_secret_or_a_share(tmp_path, caplog):
    cluster = Cluster(tmp_path)
    lines = _run(cluster, caplog, ["valid"] * 2)
    text = "\n".join(json.dumps(line) for line in lines)
    secrets = [cluster.key_a.to_hex(), cluster.key_b.to_hex(),
               cluster.settings["A"].shared_secret.get_secret_value()]
    assert lines and not [s for s in secrets if s in text]
    assert "payload" not in text and "share_a" not in text
