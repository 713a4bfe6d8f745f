"""Structured JSON logs: one object per line.

Log lines carry only ids, codes, counts and timings: never a token, a request body, a patient
name or identifier. Kept apart from the metrics so that the command line can set up logging
without importing prometheus_client (which picks its storage mode at import).
"""

from __future__ import annotations

import json
import logging
import math
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# What json.dumps(payload, default=str, separators=(",", ":")) would build on every call.
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))
# Values orjson writes exactly as the standard library's encoder does (floats are checked
# apart: below 1e-4 the standard library writes an exponent, orjson does not).
_PLAIN = frozenset({str, int, bool, type(None)})


def encode_line(payload: dict[str, Any]) -> str:
    """``_ENCODER.encode(payload)`` (ASCII only, ``default=str``), byte for byte; written by
    orjson, in C, when every value is a plain string, integer, boolean, null or float in
    orjson's and the standard library's common notation, and the line is ASCII without DEL
    (which the standard library escapes): an access line, always. Anything else takes the
    standard library's encoder."""
    for value in payload.values():
        kind = type(value)
        if kind is float:
            if not (value == 0.0 or 1e-4 <= abs(value) < math.inf):
                return _ENCODER.encode(payload)
        elif kind not in _PLAIN:
            return _ENCODER.encode(payload)
    try:
        out = orjson.dumps(payload)
    except TypeError:  # an integer beyond 64 bits, a key of a subclass of str
        return _ENCODER.encode(payload)
    if out.isascii() and b"\x7f" not in out:
        return out.decode()
    return _ENCODER.encode(payload)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in RESERVED and key[:1] != "_":
                payload[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            payload["error_type"] = record.exc_info[0].__name__  # never the traceback
        return encode_line(payload)


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
