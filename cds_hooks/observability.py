"""Prometheus metrics (multiprocess-safe under gunicorn); JSON logs are in :mod:`cds_hooks.logs`.

Metric labels carry only ids, codes, counts and timings: never a token, a request body, a
patient name or identifier.

prometheus_client chooses its storage when it is imported: in-process values, or files in
``PROMETHEUS_MULTIPROC_DIR`` shared by gunicorn workers. ``sarcoma-cds serve`` and
``deploy/gunicorn.conf.py`` set that folder before anything imports this module
(:func:`cds_hooks.server.prepare_metrics_dir`).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
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

LEDGER_PENDING = Gauge(
    "cds_card_ledger_pending",
    "Issued-card rows waiting to be written (they wait during a database outage)",
    multiprocess_mode="livesum",
)
LEDGER_LOST = Counter(
    "cds_card_ledger_lost_total",
    "Issued-card rows that could not be kept (queue full, or a worker exited during an outage)",
)


_children: dict[tuple[object, tuple[str, ...]], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, kept for the next call: prometheus_client checks and
    converts the label values on every ``labels()`` call. Only for labels from small fixed
    sets (routes, service and rule ids, status codes, issue kinds)."""
    key = (metric, labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def metrics_payload() -> tuple[bytes, str]:
    """The exposition text; aggregates all gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def multiprocess_mode() -> bool:
    """True when the metrics live in files shared by processes (the library decided at import)."""
    from prometheus_client import values

    return values.ValueClass is not values.MutexValue
