"""Probe: the worker CPU and the answer of hostile hook bodies under the real ``sarcoma-cds serve``.

    .venv/bin/python -m tests.deploy.hostile_probe [--runs 3] [--only NAME ...]

One worker (so its CPU is the call's), the default threads and CPU budget (1 s), auth off,
SQLite. For each body: its size, the HTTP status (and error code), the wall time and the
worker's user+system CPU seconds (``/proc/PID/stat``) for the call, median of ``--runs``
(each with new resource ids, so the verdict cache does not answer).
Bodies: the 1.2 MB Patient holding a 400,000-item array; 3,000 distinct conformant GIST
Conditions (1.24 MB); the same with an element R4B does not define in each; 2,000 whose
``bodySite`` holds 50 numbers (1.2 MB, the costliest shape per byte found); a 1.2 MB fuzz body
(fixture resources with wrong types at random nodes, seeded). Not a test: figures for notes.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench.workloads import order_sign_body, realistic_body
from tests.deploy.serve_process import serve
from tests.fhir_mapping.hostile_bodies import broken_conditions_body, many_conditions_body

HOOK = "/cds-services/sarcoma-order-sign"
TICK = os.sysconf("SC_CLK_TCK")
ODD: list[Any] = [None, "", 0, -1, 1.5, True, [], {}, "x", [None], {"x": 1}, "2021-02-30"]


def array_body() -> dict[str, Any]:
    body = order_sign_body(20)
    body["prefetch"]["patient"] = {
        "resourceType": "Patient",
        "id": body["context"]["patientId"],
        "extension": [1] * 400_000,
    }
    return body


def _mutate(node: Any, rng: random.Random) -> Any:
    if isinstance(node, dict) and node:
        key = rng.choice(sorted(node))
        if rng.random() < 0.5:
            node[key] = copy.deepcopy(rng.choice(ODD))
        else:
            node[key] = _mutate(node[key], rng)
    elif isinstance(node, list) and node:
        index = rng.randrange(len(node))
        node[index] = _mutate(node[index], rng)
    else:
        return copy.deepcopy(rng.choice(ODD))
    return node


def fuzz_body(size: int = 1_200_000, seed: int = 15) -> dict[str, Any]:
    """The realistic body's resources, copied with new ids and a wrong type at 1-3 random nodes
    each, until the body reaches ``size`` bytes."""
    rng = random.Random(seed)
    body = realistic_body()
    pool = [
        (key, entry["resource"])
        for key, value in body["prefetch"].items()
        if isinstance(value, dict) and value.get("resourceType") == "Bundle"
        for entry in value.get("entry", [])
    ]
    count = 0
    while len(json.dumps(body)) < size:
        for _ in range(200):
            key, resource = rng.choice(pool)
            copied = copy.deepcopy(resource)
            copied["id"] = f"fuzz-{count}"
            for _ in range(rng.randint(1, 3)):
                _mutate(copied, rng)
            body["prefetch"][key]["entry"].append({"resource": copied})
            count += 1
    return body


BODIES: dict[str, Callable[[], dict[str, Any]]] = {
    "array-400k": array_body,
    "conditions-3000": many_conditions_body,
    "conditions-3000-unknown-element": lambda: many_conditions_body(unknown=True),
    "conditions-2000-broken-bodySite": lambda: broken_conditions_body(2_000),
    "fuzz-1.2MB": fuzz_body,
}


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", action="append", choices=sorted(BODIES))
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="probe-") as tmp,
        serve(Path(tmp), CDS_WORKERS="1", CDS_MAX_BODY_BYTES="5000000") as service,
    ):
        worker = service.workers()[0]
        headers = {"Content-Type": "application/json"}
        requests.post(service.base + HOOK, json=order_sign_body(20), timeout=30)  # warm
        for name in args.only or list(BODIES):
            data = json.dumps(BODIES[name]()).encode()
            cpus, walls, outcome = [], [], ""
            for run in range(args.runs):
                # new ids on every run: the verdict cache would answer a resource it has seen
                fresh = data.replace(b'"noisy-', b'"r%d-' % run).replace(b'"fuzz-', b'"f%d-' % run)
                cpu0, wall0 = _cpu(worker), time.monotonic()
                resp = requests.post(service.base + HOOK, data=fresh, headers=headers, timeout=60)
                walls.append(time.monotonic() - wall0)
                cpus.append(_cpu(worker) - cpu0)
                outcome = str(resp.status_code)
                if resp.status_code == 200:
                    outcome += f" ({len(resp.json()['cards'])} cards)"
                else:
                    outcome += " " + resp.json()["issue"][0]["details"]["coding"][0]["code"]
            print(
                f"{name:34} {len(data) / 1e6:5.2f} MB  {outcome:28} "
                f"CPU {statistics.median(cpus):.2f} s  wall {statistics.median(walls):.2f} s"
            )


if __name__ == "__main__":
    main()
