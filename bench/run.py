"""Benchmark: the service under gunicorn exactly as production runs it, loaded by wrk.

Prints throughput, p50/p95/p99 and errors for each workload, the ratio of each order-sign
workload to the floor (a bare Flask endpoint under the same gunicorn settings, same body), and
writes the figures to ``bench/results.json``. Workloads: 1. order-sign, ~200 resources;
2. order-sign, ~1,000 resources (stress); 3. patient-view with every prefetch key missing
(fetched from a FHIR server); 5. realistic oncology record; 6. heavy oncology record
(``bench/workloads.py``). Run with ``make bench``; it needs only this checkout (wrk is installed
from Debian when missing and the script runs as root).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pairs import pair_order, pair_ratios, ratio_to_floor, summarise
from bench.workloads import (
    fhir_resources,
    heavy_body,
    order_sign_body,
    patient_view_body,
    realistic_body,
)
from tests.peers import free_port, put_resources, sekmet_server

GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
#: Each service workload and the floor measured on the same body, pair by pair.
RATIOS = (
    ("1-order-sign-200", "4-floor-200"),
    ("2-order-sign-1000", "4-floor-1000"),
    ("5-realistic", "4-floor-realistic"),
    ("6-heavy", "4-floor-heavy"),
)
LUA = ROOT / "bench" / "report.lua"


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdout=subprocess.DEVNULL,
        )
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit("bench: wrk is needed (Debian package 'wrk'); install it and run again")


@contextmanager
def gunicorn(app: str, port: int, env: dict[str, str], workdir: Path) -> Iterator[str]:
    log = (workdir / f"gunicorn-{port}.log").open("wb")
    full_env = {
        **os.environ,
        **env,
        "CDS_HOST": "127.0.0.1",
        "CDS_PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / f"prom-{port}"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), app],
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.flush()
                tail = Path(log.name).read_text(errors="replace")[-3000:]
                raise RuntimeError(f"gunicorn {app} exited:\n{tail}")
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {app} did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _wrk(wrk: str, url: str, body_file: Path, connections: int, seconds: int) -> str:
    """wrk's output after loading ``url`` with the body for ``seconds``."""
    return subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(LUA), url],
        env={**os.environ, "BENCH_BODY": str(body_file)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def warm(wrk: str, url: str, body_file: Path, connections: int, seconds: int) -> None:
    """Load ``url`` with the body for ``seconds``, unmeasured."""
    if seconds:
        _wrk(wrk, url, body_file, connections, seconds)


def run_wrk(wrk: str, url: str, body_file: Path, connections: int, seconds: int) -> dict[str, Any]:
    """One measured slice."""
    out = _wrk(wrk, url, body_file, connections, seconds)
    line = next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    errors = sum(v for k, v in raw.items() if k.startswith("errors_"))
    return {
        "requests": raw["requests"],
        "throughput_rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": errors,
    }


def check_answer(url: str, body: dict, expect_cards: bool) -> int:
    resp = requests.post(url, json=body, timeout=30)
    if resp.status_code != 200:
        raise RuntimeError(f"{url} answered {resp.status_code}: {resp.text[:300]}")
    cards = resp.json()["cards"]
    if expect_cards and not cards:
        raise RuntimeError(f"{url} answered no cards; the workload would not be realistic")
    return len(cards)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=3, help="length of each slice")
    parser.add_argument("--warmup", type=int, default=2, help="per server and body, once")
    parser.add_argument(
        "--pairs", type=int, default=8, help="floor/service pairs per body (median ratio kept)"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="gunicorn workers for service and floor alike (default: deploy/gunicorn.conf.py)",
    )
    args = parser.parse_args()
    wrk = ensure_wrk()
    # The host may be shared: the load average at the start and end goes into the figures.
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load_at_start = os.getloadavg()
    results: dict[str, dict] = {}
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        fhir = stack.enter_context(sekmet_server(workdir / "sekmet"))
        put_resources(fhir, fhir_resources(200))
        service_env = {
            "CDS_AUTH_MODE": "off",
            "CDS_FHIR_ALLOWLIST": fhir,
            "CDS_DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3",
            "CDS_LOG_LEVEL": "INFO",  # production: one JSON access line per request
        }
        if args.workers:
            service_env["CDS_WORKERS"] = str(args.workers)
        # deploy/gunicorn.conf.py reads the service settings, so the floor gets valid ones too
        # (they only shape gunicorn: workers, timeouts); the floor app itself ignores them.
        floor_env = {
            "CDS_AUTH_MODE": "off",
            "CDS_DATABASE_URL": f"sqlite:///{workdir}/floor.sqlite3",
            "CDS_LOG_LEVEL": "INFO",
            **({"CDS_WORKERS": str(args.workers)} if args.workers else {}),
        }
        service = stack.enter_context(
            gunicorn("cds_hooks.wsgi:app", free_port(), service_env, workdir)
        )
        floor = stack.enter_context(
            gunicorn("bench.floor_app:app", free_port(), floor_env, workdir)
        )
        bodies = {
            "1-order-sign-200": order_sign_body(200),
            "2-order-sign-1000": order_sign_body(1000),
            "3-patient-view-fetch": patient_view_body(fhir),
            "5-realistic": realistic_body(),
            "6-heavy": heavy_body(),
        }
        files = {}
        for name, body in bodies.items():
            files[name] = workdir / f"{name}.json"
            files[name].write_text(json.dumps(body))
        urls = {
            "1-order-sign-200": f"{service}/cds-services/sarcoma-order-sign",
            "2-order-sign-1000": f"{service}/cds-services/sarcoma-order-sign",
            "3-patient-view-fetch": f"{service}/cds-services/sarcoma-patient-view",
            "5-realistic": f"{service}/cds-services/sarcoma-order-sign",
            "6-heavy": f"{service}/cds-services/sarcoma-order-sign",
        }
        cards = {name: check_answer(urls[name], bodies[name], True) for name in bodies}
        # Short pairs of slices, floor and service back to back on the same body in alternating
        # order (bench/pairs.py); workload 3 gets a slice after each pair of workload 1, whose
        # p50 it is compared with. Each server is warmed on a body once, before its pairs.
        floor_url = f"{floor}/cds-services/floor"
        slices: dict[str, list[dict]] = {}
        for service_name, floor_name in RATIOS:
            extra = ["3-patient-view-fetch"] if service_name == "1-order-sign-200" else []
            targets_of = {
                floor_name: (floor_url, files[service_name]),
                service_name: (urls[service_name], files[service_name]),
                **{name: (urls[name], files[name]) for name in extra},
            }
            for url, body_file in targets_of.values():
                warm(wrk, url, body_file, args.connections, args.warmup)
            for index in range(args.pairs):
                for name in (*pair_order(index, floor_name, service_name), *extra):
                    url, body_file = targets_of[name]
                    slices.setdefault(name, []).append(
                        run_wrk(wrk, url, body_file, args.connections, args.seconds)
                    )
        for name, measured in slices.items():
            results[name] = summarise(measured)
            if name in cards:
                results[name]["cards"] = cards[name]
        for name, floor_name in RATIOS:
            ratios = pair_ratios(slices[name], slices[floor_name])
            results[name]["pair_ratios"] = [round(r, 3) for r in ratios]
            results[name]["ratio_to_floor"] = ratio_to_floor(ratios)
    results["3-patient-view-fetch"]["p50_over_workload1_p50"] = round(
        results["3-patient-view-fetch"]["p50_ms"] / results["1-order-sign-200"]["p50_ms"], 2
    )
    ratio = {name: results[name]["ratio_to_floor"] for name, _ in RATIOS}
    targets = {
        "workload 1 >= 40% of floor": ratio["1-order-sign-200"] >= 0.40,
        "workload 1 p99 < 50 ms": results["1-order-sign-200"]["p99_ms"] < 50,
        "workload 2 (1,000-resource stress) >= 80% of floor": ratio["2-order-sign-1000"] >= 0.80,
        "workload 3 (all prefetch missing) p50 < 4x workload 1": results["3-patient-view-fetch"][
            "p50_over_workload1_p50"
        ]
        < 4,
        "realistic >= 40% of floor": ratio["5-realistic"] >= 0.40,
        "realistic p99 < 50 ms": results["5-realistic"]["p99_ms"] < 50,
        "heavy >= 50% of floor": ratio["6-heavy"] >= 0.50,
        "no errors": all(r["errors"] == 0 for r in results.values()),
    }
    document = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "load_average": {"start": load_at_start, "end": os.getloadavg()},
        "started_utc": started,
        "settings": {
            "connections": args.connections,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "pairs": args.pairs,
            "gunicorn": "deploy/gunicorn.conf.py",
            "workers": args.workers or "CPU count (deploy/gunicorn.conf.py)",
        },
        "results": results,
        "targets": targets,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(
        f"{'workload':24} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'worst p99':>9} {'errors':>6} {'ratio':>6} {'pair ratios (min-max)':>22}"
    )
    for name, r in results.items():
        shown = r.get("ratio_to_floor", "")
        pairs = r.get("pair_ratios")
        spread = f"{min(pairs):.3f}-{max(pairs):.3f}" if pairs else ""
        print(
            f"{name:24} {r['throughput_rps']:9.1f} {r['p50_ms']:8.2f} {r['p95_ms']:8.2f} "
            f"{r['p99_ms']:8.2f} {max(r['slices_p99_ms']):9.2f} {r['errors']:6d} "
            f"{shown!s:>6} {spread:>22}"
        )
    for target, ok in targets.items():
        print(f"{'PASS' if ok else 'FAIL'}  {target}")
    print(
        "(medians over the slices; worst p99: the largest of any slice; "
        f"{args.pairs} pairs of {args.seconds}-second slices per ratio)"
    )
    print(f"load average (1/5/15 min) at start {load_at_start}, at end {os.getloadavg()}")
    print(f"figures written to {args.out}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
