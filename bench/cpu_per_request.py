"""CPU time the gunicorn workers spend per request, over HTTP, for the service and the floor.

    .venv/bin/python bench/cpu_per_request.py [--workload realistic ...] [--threads 8]
        [--worker-class sync] [--seconds 8]

On a shared host the throughput of a run depends on what else runs; the CPU time the workers
use per answered request depends far less on it. Since both the service and the floor are
CPU-bound under ``wrk -c8`` on two cores, the ratio of their CPU per request estimates the
throughput ratio ``make bench`` would see on an idle host. The workers' user+system time
(``/proc/PID/stat``) and voluntary/involuntary context switches (``/proc/PID/status``) are read
before and after a ``wrk`` run (after a warm-up); the same gunicorn configuration as
``make bench`` (``deploy/gunicorn.conf.py``), with ``--threads``/``--worker-class`` to compare
server models (``--worker-class sync`` is the model of 2026-11-23).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import LUA, ensure_wrk, gunicorn
from bench.workloads import heavy_body, order_sign_body, realistic_body
from tests.peers import free_port

BODIES = {
    "order-sign-200": lambda: order_sign_body(200),
    "order-sign-1000": lambda: order_sign_body(1000),
    "realistic": realistic_body,
    "heavy": heavy_body,
}
TICK = os.sysconf("SC_CLK_TCK")


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _workers(port: int) -> list[int]:
    """The gunicorn workers listening on ``port`` (the arbiter is their parent)."""
    out = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], check=True, capture_output=True, text=True
    ).stdout
    pids = {int(part.split(",")[0]) for part in out.split("pid=")[1:]}
    return sorted(pid for pid in pids if _parent(pid) in pids)


def _usage(pids: list[int]) -> tuple[float, int, int, float, int]:
    """CPU seconds, voluntary and involuntary switches, system CPU seconds, minor faults."""
    cpu, voluntary, involuntary, system, faults = 0.0, 0, 0, 0.0, 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu += (int(fields[11]) + int(fields[12])) / TICK
        system += int(fields[12]) / TICK
        faults += int(fields[7])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches"):
                voluntary += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches"):
                involuntary += int(line.split()[1])
    return cpu, voluntary, involuntary, system, faults


def measure(base: str, path: str, body: Path, seconds: int, connections: int) -> dict:
    port = int(base.rsplit(":", 1)[1])
    workers = _workers(port)
    env = {**os.environ, "BENCH_BODY": str(body)}
    wrk = [ensure_wrk(), "-t2", f"-c{connections}", "-s", str(LUA)]
    subprocess.run([*wrk, "-d2s", base + path], env=env, check=True, capture_output=True)
    cpu0, vol0, inv0, sys0, flt0 = _usage(workers)
    out = subprocess.run(
        [*wrk, f"-d{seconds}s", base + path], env=env, check=True, capture_output=True, text=True
    ).stdout
    cpu1, vol1, inv1, sys1, flt1 = _usage(workers)
    raw = json.loads(next(x for x in out.splitlines() if x.startswith("BENCH_JSON "))[11:])
    n = raw["requests"]
    if not n:
        raise RuntimeError(f"no request answered:\n{out}")
    return {
        "requests": n,
        "rps": round(n / (raw["duration_us"] / 1e6), 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "cpu_ms_per_request": round((cpu1 - cpu0) * 1000 / n, 3),
        "voluntary_cs_per_request": round((vol1 - vol0) / n, 2),
        "involuntary_cs_per_request": round((inv1 - inv0) / n, 2),
        "system_ms_per_request": round((sys1 - sys0) * 1000 / n, 3),
        "minor_faults_per_request": round((flt1 - flt0) / n, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workload", choices=sorted(BODIES), action="append")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="CDS_THREADS (default: settings)")
    parser.add_argument("--worker-class", help="override the worker class (e.g. sync)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cpu-") as tmp:
        work = Path(tmp)
        env = {"CDS_AUTH_MODE": "off", "CDS_LOG_LEVEL": "INFO"}
        if args.threads:
            env["CDS_THREADS"] = str(args.threads)
        if args.worker_class:
            env["GUNICORN_CMD_ARGS"] = f"--worker-class {args.worker_class} --threads 1"
        service_env = {**env, "CDS_DATABASE_URL": f"sqlite:///{work}/s.sqlite3"}
        floor_env = {**env, "CDS_DATABASE_URL": f"sqlite:///{work}/f.sqlite3"}
        with (
            gunicorn("cds_hooks.wsgi:app", free_port(), service_env, work) as service,
            gunicorn("bench.floor_app:app", free_port(), floor_env, work) as floor,
        ):
            print(
                f"{'workload':16} {'side':8} {'req/s':>7} {'p50':>7} {'p99':>7} "
                f"{'cpu ms/req':>10} {'sys ms/req':>10} {'faults/req':>10} "
                f"{'vcs/req':>8} {'ics/req':>8}"
            )
            for name in args.workload or list(BODIES):
                body = work / f"{name}.json"
                body.write_text(json.dumps(BODIES[name]()))
                rows = {
                    "floor": measure(
                        floor, "/cds-services/floor", body, args.seconds, args.connections
                    ),
                    "service": measure(
                        service,
                        "/cds-services/sarcoma-order-sign",
                        body,
                        args.seconds,
                        args.connections,
                    ),
                }
                for side, r in rows.items():
                    print(
                        f"{name:16} {side:8} {r['rps']:7.1f} {r['p50_ms']:7.1f} "
                        f"{r['p99_ms']:7.1f} {r['cpu_ms_per_request']:10.3f} "
                        f"{r['system_ms_per_request']:10.3f} {r['minor_faults_per_request']:10.1f} "
                        f"{r['voluntary_cs_per_request']:8.2f} "
                        f"{r['involuntary_cs_per_request']:8.2f}"
                    )
                ratio = rows["floor"]["cpu_ms_per_request"] / rows["service"]["cpu_ms_per_request"]
                print(f"{name:16} floor/service CPU per request = {ratio:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
