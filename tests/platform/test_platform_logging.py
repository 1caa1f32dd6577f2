"""Logs as Cloud Logging reads them: JSON lines, its trace fields tied to the OTel span, no ANSI."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
from pathlib import Path

import httpx
from opentelemetry.sdk.trace import TracerProvider

from services.common import logging as json_logging

HERE = Path(__file__).resolve().parent
TRACE = "projects/{project}/traces/{trace_id}"
CLOUD_TRACE = "logging.googleapis.com/trace"
CLOUD_SPAN = "logging.googleapis.com/spanId"
CLOUD_SAMPLED = "logging.googleapis.com/trace_sampled"


def _format(record: logging.LogRecord, project_id: str | None = "prio-a") -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_logging.JsonFormatter(project_id))
    handler.handle(record)
    [line] = stream.getvalue().splitlines()
    return json.loads(line)


def _record(message: str = "partition verified", **extra) -> logging.LogRecord:
    return logging.makeLogRecord({"name": "prio_stream.test", "levelname": "INFO",
                                  "levelno": logging.INFO, "msg": message, **extra})


def test_a_line_inside_a_span_carries_its_trace_and_span_for_cloud_logging():
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("verify1") as span:
        entry = _format(_record())
    context = span.get_span_context()
    assert entry[CLOUD_TRACE] == TRACE.format(project="prio-a",
                                              trace_id=format(context.trace_id, "032x"))
    assert entry[CLOUD_SPAN] == format(context.span_id, "016x")
    assert entry[CLOUD_SAMPLED] is True
    assert entry["severity"] == "INFO" and entry["message"] == "partition verified"


def test_a_line_outside_any_span_has_no_trace_fields():
    entry = _format(_record())
    assert not {CLOUD_TRACE, CLOUD_SPAN, CLOUD_SAMPLED} & set(entry)


def test_without_a_project_the_trace_field_is_left_out_but_the_span_kept():
    """A trace name without its project is one Cloud Logging cannot link: better none."""
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("verify1") as span:
        entry = _format(_record(), project_id=None)
    assert CLOUD_TRACE not in entry
    assert entry[CLOUD_SPAN] == format(span.get_span_context().span_id, "016x")


def test_uvicorns_color_message_and_ansi_escapes_are_not_logged():
    record = _record("Uvicorn running on %s", args=("http://0.0.0.0:8080",),
                     color_message="Uvicorn running on \x1b[1m%s\x1b[0m")
    entry = _format(record)
    assert entry["message"] == "Uvicorn running on http://0.0.0.0:8080"
    assert "color_message" not in entry
    assert "\x1b" not in json.dumps(entry, ensure_ascii=False)


def test_escape_sequences_in_a_message_are_removed():
    entry = _format(_record("\x1b[32mINFO\x1b[0m: started"))
    assert entry["message"] == "INFO: started"


def test_severity_names_are_cloud_loggings():
    levels = {logging.DEBUG: "DEBUG", logging.INFO: "INFO", logging.WARNING: "WARNING",
              logging.ERROR: "ERROR", logging.CRITICAL: "CRITICAL"}
    for level, severity in levels.items():
        record = _record()
        record.levelno, record.levelname = level, logging.getLevelName(level)
        assert _format(record)["severity"] == severity


def test_a_served_process_logs_json_lines_tied_to_the_pushed_messages_trace(start_service,
                                                                              tmp_path):
    """A real `prio-stream serve`: every line JSON, no ANSI, no color_message, and the line of a
    failed push carries the trace its traceparent attribute named."""
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    service = start_service("echo_service:build", "serve", {
        "PYTHONPATH": os.pathsep.join([str(HERE.parent.parent), str(HERE)]),
        "TRANSPORT": "inprocess", "STORAGE": "local", "PROJECT_ID": "prio-a",
        "LOCAL_STORAGE_DIR": str(tmp_path / "store"), "OTEL_EXPORTER": "none"})
    envelope = {"subscription": "projects/prio-a/subscriptions/prio-partitions-verifier",
                "message": {"messageId": "m-1", "data": base64.b64encode(b"x").decode(),
                            "attributes": {"fail": "1",
                                           "traceparent": f"00-{trace_id}-{parent}-01"}}}
    response = httpx.post(f"{service.url}/push/prio-partitions-verifier", json=envelope)
    assert response.status_code == 500
    service.stop()
    raw = service.log()
    assert "\x1b" not in raw and "color_message" not in raw
    entries = [json.loads(line) for line in raw.splitlines() if line.strip()]
    assert all("severity" in entry for entry in entries)
    [failed] = [e for e in entries if e["message"] == "handler failed"]
    assert failed["severity"] == "ERROR"
    assert failed[CLOUD_TRACE] == f"projects/prio-a/traces/{trace_id}"
    assert len(failed[CLOUD_SPAN]) == 16 and failed[CLOUD_SPAN] != parent
    assert any(e["message"].startswith("Uvicorn running on") for e in entries)
