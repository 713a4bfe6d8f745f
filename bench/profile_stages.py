"""In-process CPU cost per hook call, stage by stage, for each benchmark body.

    .venv/bin/python bench/profile_stages.py [--calls 300] [--workload realistic] [--profile]

CPU time (``time.process_time``, not wall time) so that figures hold on a loaded, shared host.
Stages: JSON parse with the bounds check, request model validation, ``map_prefetch``,
``rules.evaluate``, card rendering and the whole request through Flask's test client (the real
``create_app``: same knowledge base, mapping and rules as production, warm caches, gc frozen as
gunicorn's ``post_worker_init`` does). ``--profile`` adds a pyinstrument tree of the whole call.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.workloads import heavy_body, order_sign_body, realistic_body
from cds_hooks.cards import render
from cds_hooks.json_bounds import parse_json
from cds_hooks.protocol import json_limits
from cds_hooks.settings import Settings
from cds_hooks.web import create_app
from fhir_mapping import map_prefetch
from rules import evaluate

WORKLOADS: dict[str, Callable[[], dict[str, Any]]] = {
    "realistic": realistic_body,
    "heavy": heavy_body,
    "order-sign-200": lambda: order_sign_body(200),
    "order-sign-1000": lambda: order_sign_body(1000),
}


def _cpu_ms(fn: Callable[[], Any], calls: int) -> float:
    samples = []
    for _ in range(calls):
        start = time.process_time()
        fn()
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


def _measure(name: str, client: Any, core: Any, limits: Any, calls: int, profile: bool) -> None:
    url = "/cds-services/sarcoma-order-sign"
    body = WORKLOADS[name]()
    raw = json.dumps(body).encode()
    for _ in range(20):  # warm: verdict cache, tables, memo
        client.post(url, data=raw, content_type="application/json")
    parsed = parse_json(raw, limits)
    as_of, kb = core.clock(), core.kb
    mapped = map_prefetch(parsed["prefetch"], parsed["context"])
    recs = evaluate(mapped.patient, kb, as_of, "order-sign")
    parse_ms = _cpu_ms(lambda: parse_json(raw, limits), calls)
    map_ms = _cpu_ms(lambda: map_prefetch(parsed["prefetch"], parsed["context"]), calls)
    rules_ms = _cpu_ms(lambda: evaluate(mapped.patient, kb, as_of, "order-sign"), calls)
    cards_ms = _cpu_ms(
        lambda: render(
            recs,
            hook="order-sign",
            hook_instance=body["hookInstance"],
            patient_id=body["context"]["patientId"],
            draft_orders={},
            kb_version=kb.version,
            issues=mapped.issues,
            timeline_url="http://localhost/app/timeline/launch",
            unchecked=list(mapped.unchecked),
            authored_on=as_of.isoformat(),
            user_id="Practitioner/bench",
        ),
        calls,
    )
    total_ms = _cpu_ms(lambda: client.post(url, data=raw, content_type="application/json"), calls)
    print(
        f"{name:16} {parse_ms:7.3f} {map_ms:8.3f} {rules_ms:7.3f} {cards_ms:7.3f} "
        f"{total_ms:7.3f}   ms CPU per call (median of {calls})"
    )
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(calls):
            client.post(url, data=raw, content_type="application/json")
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--workload", choices=sorted(WORKLOADS), action="append")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(auth_mode="off", database_url=f"sqlite:///{tmp}/p.sqlite3")
        app = create_app(settings)
        core = app.extensions["cds"]
        gc.collect()
        gc.freeze()
        client = app.test_client()
        limits = json_limits(settings)
        print(f"{'workload':16} {'parse':>7} {'mapping':>8} {'rules':>7} {'cards':>7} {'total':>7}")
        for name in args.workload or list(WORKLOADS):
            _measure(name, client, core, limits, args.calls, args.profile)
        app.extensions["cds.engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
