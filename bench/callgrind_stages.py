"""Instructions executed per hook call, stage by stage, counted by valgrind's callgrind.

    .venv/bin/python bench/callgrind_stages.py [--calls 20] [--workload realistic ...]
        [--root OTHER_CHECKOUT --python OTHER_CHECKOUT/.venv/bin/python]

Wall-clock and even CPU-time figures move with the load of a shared host; the number of
instructions a call executes does not (to within a fraction of a percent), so this is the
measurement to compare two commits with on a busy machine. ``--root``/``--python`` run the
stages of another checkout (e.g. ``git worktree add ../bench-old <commit>`` with its own venv)
on the same bodies, written by this checkout's ``bench/workloads.py``.

Each workload runs in one process under ``valgrind --tool=callgrind --instr-atstart=no``: the
app is created and warmed (20 calls; verdict cache, tables and memos filled; gc frozen as
gunicorn's ``post_worker_init`` does) without instrumentation, then each stage runs
``--calls`` times between a zeroing and a dump of callgrind's counters (client requests
issued from a tiny C helper compiled here with the valgrind headers). Stages: JSON parse with
the bounds check, ``map_prefetch``, ``rules.evaluate``, the whole request through Flask's test
client with logging off, the whole request with production's logging (``configure_logging``
at INFO: the JSON access line and any warning, to /dev/null), and the bare-Flask floor app on
the same body. The dump files are kept in
``--out`` for ``callgrind_annotate``.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib.util
import inspect
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
HELPER_C = r"""
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void cg_zero(void) { CALLGRIND_ZERO_STATS; }
void cg_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
"""
STAGES = ("parse", "mapping", "rules", "request", "request+log", "floor")
WORKLOADS = ("order-sign-200", "order-sign-1000", "realistic", "heavy")


def _bodies(folder: Path) -> None:
    sys.path.insert(0, str(HERE))
    from bench.workloads import heavy_body, order_sign_body, realistic_body

    made = {
        "order-sign-200": order_sign_body(200),
        "order-sign-1000": order_sign_body(1000),
        "realistic": realistic_body(),
        "heavy": heavy_body(),
    }
    for name, body in made.items():
        (folder / f"{name}.json").write_text(json.dumps(body))


def _helper(folder: Path) -> Path:
    source, lib = folder / "cg.c", folder / "libcg.so"
    source.write_text(HELPER_C)
    subprocess.run(["cc", "-O1", "-shared", "-fPIC", "-o", str(lib), str(source)], check=True)
    return lib


def child(args: argparse.Namespace) -> None:
    """Runs under valgrind, in the checkout ``args.root``."""
    sys.path.insert(0, str(args.root))
    os.chdir(args.root)
    cg = ctypes.CDLL(str(args.lib))
    raw = (args.bodies / f"{args.workload}.json").read_bytes()
    from cds_hooks.settings import Settings
    from cds_hooks.web import create_app
    from fhir_mapping import map_prefetch
    from rules import evaluate

    options: dict[str, Any] = {
        "auth_mode": "off",
        "database_url": f"sqlite:///{args.bodies}/{args.workload}.sqlite3",
    }
    if "request_cpu_budget_s" in Settings.model_fields:
        # valgrind runs the code ~50x slower: the per-call CPU budget would stop the call.
        options["request_cpu_budget_s"] = 60.0
    settings = Settings(**options)
    try:
        from cds_hooks.json_bounds import parse_json
        from cds_hooks.protocol import json_limits

        limits = json_limits(settings)

        def parse() -> Any:
            return parse_json(raw, limits)
    except ImportError:  # before the bounds moved to their own module
        from cds_hooks.protocol import parse_json as parse_old

        def parse() -> Any:
            return parse_old(raw, settings)

    app = create_app(settings)
    # The floor app of this checkout for both, loaded by path (not via sys.path, which would
    # let later imports resolve to this checkout's modules).
    spec = importlib.util.spec_from_file_location("floor_app", HERE / "bench" / "floor_app.py")
    assert spec and spec.loader
    floor_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(floor_module)
    floor_app = floor_module.app

    core = app.extensions["cds"]
    # The card ledger writes its queue from a thread every 0.5 s of wall-clock time, and
    # callgrind counts every thread. Under valgrind (~50x slower) that write would come once
    # per call or two instead of once per ~50-100 calls, adding ~1 M instructions to each
    # call's figure; it is left out here (one write per worker per 0.5 s in production).
    core.ledger.interval_s = 3600.0
    client, floor = app.test_client(), floor_app.test_client()
    url = "/cds-services/sarcoma-order-sign"

    def request() -> Any:
        response = client.post(url, data=raw, content_type="application/json")
        assert response.status_code == 200, response.status_code
        return response

    def floor_request() -> Any:
        return floor.post("/cds-services/floor", data=raw, content_type="application/json")

    try:  # production's logging: one JSON line per request at INFO (to stderr: /dev/null here)
        from cds_hooks.logs import configure_logging

        configure_logging("INFO")
    except ImportError:
        pass
    logging.disable(logging.CRITICAL)
    for _ in range(20):
        request()
        floor_request()
    parsed = parse()
    as_of, kb = core.clock(), core.kb
    # The mapping as the service calls it: with the day and the KB's laboratory look-back
    # where this checkout has them.
    options_of_mapping: dict[str, Any] = {}
    if "lab_lookback_days" in inspect.signature(map_prefetch).parameters:
        from rules.lab_lookback import lab_lookback_days

        options_of_mapping = {"as_of": as_of, "lab_lookback_days": lab_lookback_days(kb)}
    mapped = map_prefetch(parsed["prefetch"], parsed["context"], **options_of_mapping)
    stages: dict[str, Callable[[], Any]] = {
        "parse": parse,
        "mapping": lambda: map_prefetch(
            parsed["prefetch"], parsed["context"], **options_of_mapping
        ),
        "rules": lambda: evaluate(mapped.patient, kb, as_of, "order-sign"),
        "request": request,
        "request+log": request,
        "floor": floor_request,
    }
    gc.collect()
    gc.freeze()
    try:  # the collector's thresholds of a gunicorn worker (post_fork), where the checkout has them
        from cds_hooks.server import tune_gc

        tune_gc()
    except ImportError:
        pass
    cg.cg_start()
    for name in args.stages:
        if name == "request+log":
            logging.disable(logging.NOTSET)
            for _ in range(3):
                request()
        cg.cg_zero()
        for _ in range(args.calls):
            stages[name]()
        cg.cg_dump(name.encode())
        if name == "request+log":
            logging.disable(logging.CRITICAL)


def run(args: argparse.Namespace, tmp: Path) -> dict[str, dict[str, float]]:
    lib = _helper(tmp)
    _bodies(tmp)
    root = args.root or HERE
    python = args.python or sys.executable
    figures: dict[str, dict[str, float]] = {}
    for workload in args.workload or WORKLOADS:
        out = args.out / f"{root.name}-{workload}"
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("callgrind.out*"):
            old.unlink()
        env = {
            **os.environ,
            "PYTHONHASHSEED": "0",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"prom-{workload}"),
            "CDS_LOG_LEVEL": "INFO",
        }
        (tmp / f"prom-{workload}").mkdir(exist_ok=True)
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}/callgrind.out",
            f"--log-file={out}/valgrind.log",
            python,
            str(Path(__file__).resolve()),
            "--child",
            "--root",
            str(root),
            "--lib",
            str(lib),
            "--bodies",
            str(tmp),
            "--calls",
            str(args.calls),
            "--workload",
            workload,
            "--stage",
            *args.stage,
        ]
        subprocess.run(command, check=True, env=env, stderr=subprocess.DEVNULL)
        figures[workload] = {}
        for dump in sorted(out.glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:])):
            text = dump.read_text(errors="replace")
            name = re.search(r"^desc: Trigger: Client Request: (.+)$", text, re.M)
            total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
            if name and total:
                figures[workload][name.group(1)] = int(total.group(1)) / args.calls / 1e6
        row = " ".join(f"{figures[workload].get(s, float('nan')):12.2f}" for s in args.stage)
        print(f"{workload:16} {row}", flush=True)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--workload", choices=WORKLOADS, action="append")
    parser.add_argument("--stage", choices=STAGES, nargs="+", default=list(STAGES))
    parser.add_argument("--root", type=Path)
    parser.add_argument("--python")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "callgrind")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--lib", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bodies", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.workload = args.workload[0]
        args.stages = args.stage
        child(args)
        return 0
    print(f"{'M instructions per call':16} " + " ".join(f"{s:>12}" for s in args.stage))
    with tempfile.TemporaryDirectory(prefix="cg-") as tmp:
        figures = run(args, Path(tmp))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
