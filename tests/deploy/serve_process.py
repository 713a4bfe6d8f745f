"""Start the production entry point (``sarcoma-cds serve``: gunicorn, its workers and threads)
on a free loopback port, with its own HOME and TMPDIR so that what it leaves behind can be
checked; and a FHIR server stand-in that answers slowly."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from tests.peers import free_port


@dataclass
class Service:
    base: str
    process: subprocess.Popen[bytes]
    home: Path
    tmp: Path
    log: Path

    def workers(self) -> list[int]:
        """The pids of gunicorn's workers (the arbiter's children), oldest first (Linux)."""
        pid = self.process.pid
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def stop(self, timeout: float = 30) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)


@contextlib.contextmanager
def serve(folder: Path, **settings: str) -> Iterator[Service]:
    port = free_port()
    home, tmp = folder / "home", folder / "tmp"
    home.mkdir(parents=True)
    tmp.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CDS_") and k not in {"PROMETHEUS_MULTIPROC_DIR", "XDG_RUNTIME_DIR"}
    }
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp),
        CDS_HOST="127.0.0.1",
        CDS_PORT=str(port),
        CDS_AUTH_MODE="off",
        CDS_DATABASE_URL=f"sqlite:///{folder}/serve.sqlite3",
        CDS_LOG_LEVEL="WARNING",
        **settings,
    )
    log = folder / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("sarcoma-cds")), "serve"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    service = Service(f"http://127.0.0.1:{port}", process, home, tmp, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError("serve exited: " + log.read_text()[-2000:])
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{service.base}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not answer /healthz within 90 s")
            time.sleep(0.2)
        yield service
    finally:
        if process.poll() is None:
            service.stop()


@contextlib.contextmanager
def slow_fhir_server(delay_s: float) -> Iterator[str]:
    """A FHIR base whose every search answers an empty searchset after ``delay_s``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(delay_s)
            body = json.dumps({"resourceType": "Bundle", "type": "searchset"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/fhir"
    finally:
        server.shutdown()
        server.server_close()
