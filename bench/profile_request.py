"""Where one hook call spends its time: pyinstrument over many in-process order-sign calls.

    .venv/bin/python bench/profile_request.py [--size 200] [--calls 500]

Runs the real app (same create_app, knowledge base, mapping and rules as production) through
Flask's test client, so the figures exclude the network and gunicorn but include everything
the service does per call.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import tempfile
from pathlib import Path

from pyinstrument import Profiler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.workloads import order_sign_body
from cds_hooks.settings import Settings
from cds_hooks.web import create_app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(auth_mode="off", database_url=f"sqlite:///{tmp}/p.sqlite3")
        app = create_app(settings)
        gc.collect()
        gc.freeze()
        client = app.test_client()
        raw = json.dumps(order_sign_body(args.size)).encode()
        for _ in range(20):
            client.post(
                "/cds-services/sarcoma-order-sign", data=raw, content_type="application/json"
            )
        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(args.calls):
            client.post(
                "/cds-services/sarcoma-order-sign", data=raw, content_type="application/json"
            )
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
        app.extensions["cds.engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
