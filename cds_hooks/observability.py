"""Structured JSON logs and Prometheus metrics (multiprocess-safe under gunicorn).

Log lines and metric labels carry only ids, codes, counts and timings: never a token, a
request body, a patient name or identifier.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "cds_requests_total",
    "HTTP requests answered, per endpoint, service and status",
    ["endpoint", "service", "status"],
)
REQUEST_LATENCY = Histogram(
    "cds_request_duration_seconds",
    "Time to answer, per endpoint and service",
    ["endpoint", "service"],
    buckets=LATENCY_BUCKETS,
)
CARDS = Counter(
    "cds_cards_total",
    "Cards emitted, per service, rule and indicator",
    ["service", "rule", "indicator"],
)
FHIR_CALLBACK_LATENCY = Histogram(
    "cds_fhir_callback_duration_seconds",
    "Duration of one FHIR callback request",
    buckets=LATENCY_BUCKETS,
)
FHIR_CALLBACK_FAILURES = Counter(
    "cds_fhir_callback_failures_total", "FHIR callbacks that failed, per reason", ["reason"]
)
MAPPING_ISSUES = Counter(
    "cds_mapping_issues_total", "FHIR mapping issues recorded, per kind", ["kind"]
)
FEEDBACK = Counter(
    "cds_feedback_total",
    "Feedback received, per service, rule, outcome and override reason",
    ["service", "rule", "outcome", "reason"],
)


def metrics_payload() -> tuple[bytes, str]:
    """The exposition text; aggregates all gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


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
            if key not in RESERVED and not key.startswith("_"):
                payload[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            payload["error_type"] = record.exc_info[0].__name__  # never the traceback
        return json.dumps(payload, default=str, separators=(",", ":"))


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party loggers that would write URLs (with patient ids) at DEBUG stay quiet.
    for name in ("urllib3", "requests", "werkzeug"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
