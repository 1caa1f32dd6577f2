"""Structured JSON logs, one object per line, in the fields Cloud Logging reads."""

from __future__ import annotations

import json
import logging
import re
import sys
import time

from opentelemetry import trace

# Attributes of every LogRecord: not copied into the JSON object as extra fields.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

# Extra fields that could carry a report, a share or a secret are dropped, whoever passes them;
# uvicorn's color_message repeats the message with terminal escapes a log viewer shows raw.
_NEVER_LOGGED = frozenset(
    {"data", "payload", "share", "shares", "private_key", "private_key_hex", "private_keys",
     "previous_private_keys_hex", "shared_secret", "shared_secrets", "release_signing_key",
     "release_signing_key_hex", "color_message"}
)

# CSI and other ESC sequences: a message that reached us coloured is stored plain.
_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])")

# The special fields Cloud Logging lifts out of a JSON line into the LogEntry (structured logging).
TRACE_FIELD = "logging.googleapis.com/trace"
SPAN_FIELD = "logging.googleapis.com/spanId"
SAMPLED_FIELD = "logging.googleapis.com/trace_sampled"
_SEVERITIES = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


class JsonFormatter(logging.Formatter):
    """severity, message, time, logger, the current span's Cloud Logging trace fields, extras.

    project_id: the project whose Cloud Trace holds the spans; the trace field is a resource
    name there (projects/P/traces/T), so without a project only the span id is written."""

    def __init__(self, project_id: str | None = None) -> None:
        super().__init__()
        self.project_id = project_id

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "severity": record.levelname if record.levelname in _SEVERITIES else "DEFAULT",
            "message": _ANSI_ESCAPE.sub("", record.getMessage()),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "logger": record.name,
            **self._trace_fields(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in _NEVER_LOGGED:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)

    def _trace_fields(self) -> dict:
        span_context = trace.get_current_span().get_span_context()
        if not span_context.is_valid:
            return {}
        fields = {SPAN_FIELD: format(span_context.span_id, "016x"),
                  SAMPLED_FIELD: span_context.trace_flags.sampled}
        if self.project_id:
            fields[TRACE_FIELD] = (
                f"projects/{self.project_id}/traces/{format(span_context.trace_id, '032x')}")
        return fields



def configure(level: int | str = logging.INFO, project_id: str | None = None) -> None:
    """Every logger of the process (uvicorn's too) writes JSON lines to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(project_id))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
