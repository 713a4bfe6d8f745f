"""gunicorn settings for production (also used by ``make bench``).

EHRs call order-sign synchronously and drop late cards (the spec asks for ~500 ms; Da Vinci CRD
allows 5 s): a worker stuck beyond ``timeout`` is recycled long before an EHR would still wait.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil

bind = f"{os.environ.get('CDS_HOST', '127.0.0.1')}:{os.environ.get('CDS_PORT', '8080')}"
# The work is CPU-bound (mapping and rules; FHIR callbacks run on threads inside the worker),
# so one worker per core plus one: more workers only add context switches and tail latency
# (measured in bench/RESULTS.md).
workers = int(os.environ.get("CDS_WORKERS", "0")) or multiprocessing.cpu_count() + 1
worker_class = "sync"
timeout = 10  # seconds; below every EHR's CDS timeout
graceful_timeout = 20  # finish in-flight hook calls on SIGTERM (rolling updates)
keepalive = 5
max_requests = 20000  # recycle workers now and then
max_requests_jitter = 2000
accesslog = None  # the app logs one JSON line per request, never a body
errorlog = "-"
loglevel = os.environ.get("CDS_LOG_LEVEL", "info").lower()
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("CDS_FORWARDED_ALLOW_IPS", "127.0.0.1")
preload_app = True  # the knowledge base is loaded and validated once, before forking


# Start with an empty Prometheus multiprocess folder (stale files would double count). This
# runs when gunicorn reads this file, before the preloaded app creates its metrics.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_dir:
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)


def child_exit(server: object, worker: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
