"""How production runs the service: the gunicorn settings and hooks, in one place.

``sarcoma-cds serve`` and ``deploy/gunicorn.conf.py`` both take their settings from
:func:`gunicorn_options`, so the two cannot drift apart. This module imports neither Flask nor
prometheus_client: it runs before the application is loaded, and the Prometheus folder must be
chosen before prometheus_client is first imported (:func:`prepare_metrics_dir`).

The server model (measured in ``tests/deploy/test_server_model.py``):

* ``cds_hooks.http_worker.BufferingWorker``: gunicorn's threaded worker, except that the
  main loop of each worker reads every request (headers and a Content-Length or chunked
  body) without blocking, and only a complete request is handed to a thread. A client that
  sends slowly holds a connection slot, never a thread, and is dropped when
  ``CDS_REQUEST_READ_TIMEOUT_S`` passes. The threads (``CDS_THREADS`` per worker) wait on
  FHIR servers without holding the interpreter, so a slow FHIR server delays only the calls
  that need it.
* ``timeout`` 10 s: a worker whose main loop stops answering the arbiter is replaced; workers
  are recycled after ``max_requests`` (with jitter) so no process lives forever.
* Graceful drain on SIGTERM: stop accepting, accept what is already queued, finish in-flight
  and queued requests within ``graceful_timeout``, then exit.
* No gunicorn control socket (it defaults to one shared path per user, which several
  instances on one machine would fight over).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from cds_hooks.settings import Settings

log = logging.getLogger(__name__)

WORKER_TIMEOUT_S = 10  # below every EHR's CDS timeout (the spec asks for ~500 ms; CRD 5 s)
GRACEFUL_TIMEOUT_S = 15  # in-flight and queued requests finish within this on SIGTERM
KEEPALIVE_S = 5
MAX_REQUESTS = 20_000  # recycle each worker after this many requests...
MAX_REQUESTS_JITTER = 2_000  # ...not all at once
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The cyclic garbage collector's young-generation threshold in each worker (CPython's default
#: is 700 allocations). A hook call allocates tens of thousands of containers (the parsed body,
#: the mapping's objects) that nearly all die when it ends; at 700 the collector scans them
#: again and again while they are alive: ~3.5 % of the instructions of a 1,000-resource call
#: and ~2 % of a realistic one (callgrind, bench/RESULTS.md). Cyclic garbage is still
#: collected, at most this many allocations later.
GC_YOUNG_THRESHOLD = 100_000

# The folder this process created for the metrics (removed on exit); empty when the operator
# chose the folder (it is emptied at start, and left in place).
_created_metrics_dirs: list[Path] = []


def prepare_metrics_dir() -> Path:
    """Choose and empty the Prometheus multiprocess folder; must run before prometheus_client
    is imported. ``PROMETHEUS_MULTIPROC_DIR`` when set (emptied: stale files from an earlier
    run would be counted again), else a new temporary folder removed by :func:`on_exit`."""
    chosen = os.environ.get(METRICS_ENV)
    if chosen:
        folder = Path(chosen)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="sarcoma-cds-metrics-"))
        os.environ[METRICS_ENV] = str(folder)
        _created_metrics_dirs.append(folder)
    return folder


def cleanup_metrics_dir() -> None:
    while _created_metrics_dirs:
        shutil.rmtree(_created_metrics_dirs.pop(), ignore_errors=True)


def worker_count(settings: Settings) -> int:
    # CPU-bound mapping and rules: one worker per core (bench/RESULTS.md: a third worker on two
    # cores raised p99 by a third and CPU per call by 3-30 %, its processes time-sliced on the
    # cores); the threads of each worker cover the I/O waits, and cds_hooks.accept_balance
    # spreads the connections evenly over the workers.
    return settings.workers or multiprocessing.cpu_count()


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """The gunicorn settings of production (``serve`` and ``deploy/gunicorn.conf.py``)."""
    from cds_hooks import accept_balance, http_worker

    workers = worker_count(settings)
    accept_balance.prepare(workers)
    http_worker.max_body_bytes = settings.max_body_bytes
    http_worker.request_read_timeout_s = settings.request_read_timeout_s
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": workers,
        "worker_class": "cds_hooks.http_worker.BufferingWorker",
        "threads": settings.threads,
        "worker_connections": 1000,
        "timeout": WORKER_TIMEOUT_S,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "keepalive": KEEPALIVE_S,
        "max_requests": MAX_REQUESTS,
        "max_requests_jitter": MAX_REQUESTS_JITTER,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "accesslog": None,  # the app logs one JSON line per request, never a body
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "preload_app": True,  # the knowledge base is loaded and validated once, before forking
        "control_socket_disable": True,
        "post_fork": post_fork,
        "child_exit": child_exit,
        "worker_exit": worker_exit,
        "on_exit": on_exit,
    }


def tune_gc() -> None:
    """Collect young objects every :data:`GC_YOUNG_THRESHOLD` allocations, not every 700."""
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def post_fork(server: Any, worker: Any) -> None:
    """In each worker, just after the fork."""
    tune_gc()


def child_exit(server: Any, worker: Any) -> None:
    """In the arbiter, when a worker has exited: free its row of the connection table and
    drop its live gauges from the metrics."""
    from cds_hooks import accept_balance

    accept_balance.forget(worker.pid)
    if os.environ.get(METRICS_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def worker_exit(server: Any, worker: Any) -> None:
    """In a worker that is about to exit (recycled or stopping): flush what it still holds."""
    app = getattr(worker, "wsgi", None)
    core = getattr(app, "extensions", {}).get("cds") if app is not None else None
    if core is not None:
        core.shutdown()


def on_exit(server: Any) -> None:
    """In the arbiter, last thing before the process exits."""
    cleanup_metrics_dir()
