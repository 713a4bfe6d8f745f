"""Structured JSON logs: one object per line.

Log lines carry only ids, codes, counts and timings: never a token, a request body, a patient
name or identifier. Kept apart from the metrics so that the command line can set up logging
without importing prometheus_client (which picks its storage mode at import).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# What json.dumps(payload, default=str, separators=(",", ":")) would build on every call.
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update(
            {k: v for k, v in vars(record).items() if k not in RESERVED and k[:1] != "_"}
        )
        if record.exc_info and record.exc_info[0] is not None:
            payload["error_type"] = record.exc_info[0].__name__  # never the traceback
        return _ENCODER.encode(payload)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party loggers that would write URLs (with patient ids) at DEBUG stay quiet.
    for name in ("urllib3", "requests", "werkzeug"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # No line shows the caller's file and line, the thread or the multiprocessing process name
    # (the JSON lines leave them out, gunicorn's own show only the pid): the logging HOWTO's
    # "Optimization" switches spare finding them for every record.
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False
