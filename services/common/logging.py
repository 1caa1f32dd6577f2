"""Structured JSON logs, one object per line, in the fields Cloud Logging reads."""

from __future__ import annotations

import json
import logging
import sys
import time

from opentelemetry import trace

# Attributes of every LogRecord: not copied into the JSON object as extra fields.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

# Extra fields that could carry a report, a share or a secret are dropped, whoever passes them.
_NEVER_LOGGED = frozenset(
    {"data", "payload", "share", "shares", "private_key", "private_key_hex", "shared_secret"}
)

_SEVERITY = {"WARNING": "WARNING", "CRITICAL": "CRITICAL", "ERROR": "ERROR"}


class JsonFormatter(logging.Formatter):
    """severity, message, time, logger, trace ids of the current span, and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "severity": _SEVERITY.get(record.levelname, record.levelname),
            "message": record.getMessage(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "logger": record.name,
        }
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry["trace_id"] = format(span_context.trace_id, "032x")
            entry["span_id"] = format(span_context.span_id, "016x")
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in _NEVER_LOGGED:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: int | str = logging.INFO) -> None:
    """Every logger of the process (uvicorn's too) writes JSON lines to stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
