"""In-process CPU cost of a workload-3 call (patient-view, every prefetch key fetched).

    PYTHONPATH=$PWD .venv/bin/python bench/profile_fetch.py [--calls 300] [--profile]

Starts sekmet-fhir loaded with ``bench.workloads.fhir_resources(200)``, builds the production
WSGI app (``cds_hooks.wsgi``, logging INFO to a null stream, gc frozen as in a gunicorn
worker) and calls it directly. Prints the median process CPU per call (this process only: the
request thread and the fetch threads; the FHIR server's own CPU is another process) and the
wall time. ``--profile`` runs the fetches in the request thread (no executor) under cProfile,
so that the HTTP client's share shows.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

#: ROOT=<another checkout> measures that tree with this script (before/after comparisons).
ROOT = Path(os.environ.get("ROOT") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

from bench.workloads import fhir_resources, patient_view_body
from tests.peers import put_resources, sekmet_server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--profile", choices=("tottime", "cumulative"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sekmet_server(Path(tmp) / "sekmet") as fhir:
        put_resources(fhir, fhir_resources(200))
        os.environ.update(
            {
                "CDS_AUTH_MODE": "off",
                "CDS_DATABASE_URL": f"sqlite:///{tmp}/b.sqlite3",
                "CDS_LOG_LEVEL": "INFO",
                "CDS_FHIR_ALLOWLIST": fhir,
                "PROMETHEUS_MULTIPROC_DIR": f"{tmp}/prom",
            }
        )
        from cds_hooks.server import prepare_metrics_dir

        prepare_metrics_dir()
        from cds_hooks import wsgi

        app = wsgi.app
        for handler in logging.getLogger().handlers:
            if hasattr(handler, "stream"):
                handler.stream = open(os.devnull, "w")  # noqa: SIM115
        raw = json.dumps(patient_view_body(fhir)).encode()
        path = "/cds-services/sarcoma-patient-view"
        status: list[str] = []

        def call() -> bytes:
            environ = {
                "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "",
                "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
                "SERVER_PROTOCOL": "HTTP/1.1", "CONTENT_TYPE": "application/json",
                "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw),
                "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": True,
                "wsgi.multiprocess": True, "wsgi.run_once": False, "REMOTE_ADDR": "127.0.0.1",
                "HTTP_HOST": "127.0.0.1:8000",
            }  # fmt: skip
            out = app(environ, lambda s, h, e=None: status.append(s))
            body = b"".join(out)
            if hasattr(out, "close"):
                out.close()
            return body

        for _ in range(30):
            call()
        assert status[-1].startswith("200"), status[-1]
        gc.collect()
        gc.freeze()
        cpu, wall = [], []
        for _ in range(args.calls):
            c, w = time.process_time(), time.perf_counter()
            call()
            cpu.append((time.process_time() - c) * 1000)
            wall.append((time.perf_counter() - w) * 1000)
        print(
            f"w3 in-process: CPU {statistics.median(cpu):.3f} ms/call, wall "
            f"{statistics.median(wall):.3f} ms/call (median of {args.calls})"
        )
        if args.profile:
            import cProfile
            import pstats

            core = app.extensions["cds"] if hasattr(app, "extensions") else None
            if core is not None:
                core.executor = None
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.calls):
                call()
            profiler.disable()
            pstats.Stats(profiler).sort_stats(args.profile).print_stats(50)
    return 0


if __name__ == "__main__":
    sys.exit(main())
