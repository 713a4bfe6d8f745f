"""Workload 3 (patient-view, every prefetch key fetched from a FHIR server) against workload 1.

    PYTHONPATH=$PWD .venv/bin/python bench/fetch_path.py [--seconds 8] [--rounds 2]

Starts sekmet-fhir (loaded with ``bench.workloads.fhir_resources(200)``) and the service under
the production gunicorn settings, as ``bench/run.py`` does, then runs wrk on workload 1 and
workload 3 in alternating rounds and prints p50/p99 and the w3/w1 p50 ratio, with the CPU
milliseconds the service (gunicorn master and workers, recycled ones included) and sekmet
spent per request: where the all-prefetch-missing path spends its time. On a shared host the
CPU figures are the ones to compare (latency follows the load of other processes); a quick
look, not ``make bench``. ``ROOT=<checkout>`` measures another tree with this script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

#: ROOT=<another checkout> runs that tree (before/after comparisons).
ROOT = Path(os.environ.get("ROOT") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

from bench.run import LUA, check_answer, ensure_wrk, gunicorn
from bench.workloads import fhir_resources, order_sign_body, patient_view_body
from tests.peers import free_port, put_resources, sekmet_server

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _tree_cpu_s(root: int) -> float:
    """CPU seconds of ``root`` and its children, living or reaped (gunicorn recycles workers:
    a reaped worker's time is in its parent's cutime/cstime)."""
    fields = _stat(root)
    total = sum(int(x) for x in fields[11:15]) if fields else 0
    out = subprocess.run(
        ["pgrep", "-P", str(root)], check=False, capture_output=True, text=True
    ).stdout
    for child in out.split():
        f = _stat(int(child))
        total += int(f[11]) + int(f[12]) if f else 0
    return total / TICKS


def _listener(port: int) -> int:
    """The process that opened the listening socket on ``port`` (gunicorn's master)."""
    out = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], check=False, capture_output=True, text=True
    )
    pids = {
        int(p.split("=")[1]) for p in out.stdout.replace(",", " ").split() if p.startswith("pid=")
    }
    for pid in pids:
        fields = _stat(pid)
        if fields and int(fields[1]) not in pids:  # its parent does not share the socket
            return pid
    raise RuntimeError(f"no listener on {port}")


def wrk_run(wrk: str, url: str, body: Path, seconds: int, groups: dict[str, int]) -> dict:
    env = {**os.environ, "BENCH_BODY": str(body)}
    subprocess.run(
        [wrk, "-t2", "-c8", "-d2s", "-s", str(LUA), url], env=env, check=True, capture_output=True
    )
    before = {name: _tree_cpu_s(root) for name, root in groups.items()}
    proc = subprocess.Popen(
        [wrk, "-t2", "-c8", f"-d{seconds}s", "--latency", "-s", str(LUA), url],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = proc.communicate()
    after = {name: _tree_cpu_s(root) for name, root in groups.items()}
    raw = json.loads(
        next(x for x in out.splitlines() if x.startswith("BENCH_JSON ")).removeprefix("BENCH_JSON ")
    )
    n = raw["requests"]
    return {
        "rps": round(n / (raw["duration_us"] / 1e6), 1),
        "p50": raw["p50_us"] / 1000,
        "p99": raw["p99_us"] / 1000,
        "errors": sum(v for k, v in raw.items() if k.startswith("errors_")),
        "cpu_ms_per_req": {k: round((after[k] - before[k]) * 1000 / n, 2) for k in groups},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only3", action="store_true")
    args = parser.parse_args()
    wrk = ensure_wrk()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fetchbench-")))
        fhir = stack.enter_context(sekmet_server(workdir / "sekmet"))
        put_resources(fhir, fhir_resources(200))
        env = {
            "CDS_AUTH_MODE": "off",
            "CDS_FHIR_ALLOWLIST": fhir,
            "CDS_DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3",
            "CDS_LOG_LEVEL": "INFO",
        }
        port = free_port()
        service = stack.enter_context(gunicorn("cds_hooks.wsgi:app", port, env, workdir))
        sekmet_port = int(fhir.split(":")[2].split("/")[0])
        groups = {"gunicorn": _listener(port), "sekmet": _listener(sekmet_port)}
        bodies = {"w1": order_sign_body(200), "w3": patient_view_body(fhir)}
        urls = {
            "w1": f"{service}/cds-services/sarcoma-order-sign",
            "w3": f"{service}/cds-services/sarcoma-patient-view",
        }
        files = {}
        for name, body in bodies.items():
            files[name] = workdir / f"{name}.json"
            files[name].write_text(json.dumps(body))
            print(name, "cards", check_answer(urls[name], body, True))
        names = ["w3"] if args.only3 else ["w1", "w3"]
        res: dict[str, list[dict]] = {n: [] for n in names}
        for _ in range(args.rounds):
            for n in names:
                r = wrk_run(wrk, urls[n], files[n], args.seconds, groups)
                res[n].append(r)
                print(n, r, flush=True)
        if not args.only3:
            p1 = sorted(r["p50"] for r in res["w1"])
            p3 = sorted(r["p50"] for r in res["w3"])
            print(
                "median p50 w1",
                p1[len(p1) // 2],
                "w3",
                p3[len(p3) // 2],
                "ratio",
                round(p3[len(p3) // 2] / p1[len(p1) // 2], 2),
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
