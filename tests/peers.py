"""Real outside software started by tests: the sekmet-fhir FHIR R4 server on loopback.

Used by the end-to-end tests (and reusable by benchmarks). The server binds 127.0.0.1 on a
free port, keeps its data in a temporary folder and is stopped when the context ends.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sekmet_executable() -> str:
    candidate = Path(sys.executable).with_name("sekmet")
    return str(candidate) if candidate.exists() else "sekmet"


@contextlib.contextmanager
def sekmet_server(workdir: Path) -> Iterator[str]:
    """Start sekmet-fhir; yield its FHIR base URL (http://127.0.0.1:PORT/fhir)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "settings.yaml"
    config.write_text(
        f"base_url: {base}\n"
        f"host: 127.0.0.1\n"
        f"port: {port}\n"
        f"data_dir: {workdir / 'data'}\n"
        "simulator: {enabled: false}\n"
        "log_inbound: false\n"
    )
    log = (workdir / "sekmet.log").open("wb")
    process = subprocess.Popen(
        [
            _sekmet_executable(),
            "serve",
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"sekmet exited early; see {workdir / 'sekmet.log'}")
            try:
                if requests.get(f"{base}/metadata", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("sekmet did not answer /metadata within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def put_resources(base: str, resources: list[dict[str, Any]]) -> None:
    """PUT each resource at its stable id (idempotent)."""
    with requests.Session() as session:
        for resource in resources:
            url = f"{base}/{resource['resourceType']}/{resource['id']}"
            resp = session.put(
                url, json=resource, headers={"Content-Type": "application/fhir+json"}, timeout=10
            )
            if resp.status_code not in (200, 201):
                raise RuntimeError(f"PUT {resource['resourceType']} failed: {resp.status_code}")
