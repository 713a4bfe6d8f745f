"""Thread CPU time per hook call in process, for the service or the floor, on one bench body.

    .venv/bin/python bench/thread_cpu.py {service,floor} {200,1000,realistic,heavy}
        [--calls 300] [--profile tottime|cumulative] [--root OTHER_CHECKOUT]

The WSGI app is called directly (no test client, no HTTP, no gunicorn), with production's JSON
access line written to /dev/null, after 30 warm calls, with the heap frozen and the young
generation's threshold the gunicorn workers use. It prints the median of five batches of
``time.thread_time()`` per call: on two saturated cores the ratio of ``make bench``'s
throughputs follows the ratio of the floor's CPU per call to the service's, and thread CPU time
moves far less with the host's load than wall time does. ``--root`` measures another checkout
(e.g. a ``git worktree`` at an older commit) on its own bodies; compare before and after in the
same minute. ``--profile`` prints a cProfile listing instead.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PATHS = {"service": "/cds-services/sarcoma-order-sign", "floor": "/cds-services/floor"}


def _app(which: str, workdir: str) -> Callable[..., Iterable[bytes]]:
    if which == "floor":
        from bench.floor_app import app as floor

        return floor.wsgi_app
    from cds_hooks.logs import configure_logging
    from cds_hooks.settings import Settings
    from cds_hooks.web import create_app

    service = create_app(Settings(auth_mode="off", database_url=f"sqlite:///{workdir}/t.db"))
    configure_logging("INFO")
    sink = open(os.devnull, "w")  # noqa: SIM115  (kept open for the life of the process)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)
    return service.wsgi_app


def _body(name: str) -> dict[str, Any]:
    from bench.workloads import heavy_body, order_sign_body, realistic_body

    makers: dict[str, Callable[[], dict[str, Any]]] = {
        "200": lambda: order_sign_body(200),
        "1000": lambda: order_sign_body(1000),
        "realistic": realistic_body,
        "heavy": heavy_body,
    }
    return makers[name]()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("which", choices=sorted(PATHS))
    parser.add_argument("body", choices=["200", "1000", "realistic", "heavy"])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--profile", choices=["tottime", "cumulative"])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    raw = json.dumps(_body(args.body)).encode()
    app = _app(args.which, tempfile.mkdtemp(prefix="thread-cpu-"))
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PATHS[args.which],
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }

    def call() -> None:
        statuses: list[str] = []
        out = app(
            {**environ, "wsgi.input": io.BytesIO(raw)}, lambda s, h, e=None: statuses.append(s)
        )
        b"".join(out)
        getattr(out, "close", lambda: None)()
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{args.which} answered {statuses[0]}")

    for _ in range(30):
        call()
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 10, 10)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.calls):
            call()
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.profile).print_stats(45)
        return 0
    batch = max(1, args.calls // 5)
    per_call = []
    for _ in range(5):
        started = time.thread_time()
        for _ in range(batch):
            call()
        per_call.append((time.thread_time() - started) / batch * 1000)
    runs = ", ".join(f"{x:.2f}" for x in sorted(per_call))
    median = statistics.median(per_call)
    print(f"{args.which} {args.body}: {median:.3f} ms thread CPU per call (batches {runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
