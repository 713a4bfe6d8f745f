"""The production entry point (``sarcoma-cds serve``) under hostile peers, measured for real:
slow clients and a slow FHIR server do not starve other requests or the health endpoints,
/metrics serves every series the README lists across workers, and SIGTERM drains queued
requests, then leaves no temporary folder and no control socket behind.

Timings are bounds a user would notice (a liveness probe times out after 3 s), not
benchmarks: the machine may be shared.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.workloads import order_sign_body
from tests.deploy.serve_process import Service, serve, slow_fhir_server
from tests.peers import free_port

README = Path(__file__).resolve().parents[2] / "README.md"
HOOK = "/cds-services/sarcoma-order-sign"


def hook_body(fhir_server: str | None = None) -> dict[str, Any]:
    body = order_sign_body(20)
    body["hookInstance"] = str(uuid.uuid4())
    if fhir_server:
        body["fhirServer"] = fhir_server
        del body["prefetch"]["conditions"]  # the service must fetch it
    return body


def timed_get(url: str) -> tuple[int, float]:
    started = time.monotonic()
    status = requests.get(url, timeout=10).status_code
    return status, time.monotonic() - started


@pytest.fixture(scope="module")
def slow_fhir() -> Iterator[str]:
    with slow_fhir_server(2.5) as base:
        yield base


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory, slow_fhir) -> Iterator[Service]:
    """One worker with four threads: the smallest production-shaped server."""
    with serve(
        tmp_path_factory.mktemp("one-worker"),
        CDS_WORKERS="1",
        CDS_THREADS="4",
        CDS_FHIR_ALLOWLIST=slow_fhir,
        CDS_REQUEST_READ_TIMEOUT_S="2",
    ) as service:
        yield service


def test_slow_clients_hold_no_thread(one_worker):
    """Issue 15: as many connections as workers, sending headers a byte at a time, blocked
    /healthz and hook calls until gunicorn killed the workers 30 s later."""
    stop = threading.Event()
    port = int(one_worker.base.rsplit(":", 1)[1])
    request = f"POST {HOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]

    def trickle() -> None:
        for byte in request.encode():
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.send(bytes([byte]))
            if stop.wait(0.3):
                return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)  # every slow connection has sent its first bytes
        for _ in range(5):
            status, elapsed = timed_get(f"{one_worker.base}/healthz")
            assert status == 200
            assert elapsed < 2.0, f"/healthz took {elapsed:.1f} s behind slow clients"
        started = time.monotonic()
        resp = requests.post(one_worker.base + HOOK, json=hook_body(), timeout=10)
        assert resp.status_code == 200
        assert time.monotonic() - started < 5.0
    finally:
        stop.set()
        thread.join(5)
        for sock in sockets:
            sock.close()


def test_a_client_that_stalls_is_dropped_after_the_read_timeout(one_worker):
    port = int(one_worker.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"POST {HOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode())
        sock.settimeout(6)
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server, without an answer
        assert 1.5 < time.monotonic() - started < 5.5


def test_expect_100_continue_and_keep_alive_work_through_the_buffering_worker(one_worker):
    """.NET clients (and curl above 1 KB) send ``Expect: 100-continue`` and wait for it before
    the body; answers on one kept-alive connection stay in order."""
    port = int(one_worker.base.rsplit(":", 1)[1])
    payload = json.dumps(hook_body()).encode()
    head = (
        f"POST {HOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(payload)
        answer = b""
        while b'"cards"' not in answer:
            chunk = sock.recv(65536)
            assert chunk, answer[:200]
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 OK")  # one 100 Continue, sent before the body
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while b'"ok"' not in answer:
            chunk = sock.recv(65536)
            assert chunk, answer[:200]
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")


def test_a_slow_fhir_server_delays_only_the_calls_that_need_it(one_worker, slow_fhir):
    """Issue 15: while a few calls waited on a slow FHIR server, /healthz and prefetched hook
    calls queued behind them (p50 14 ms -> 3 s)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = [
            pool.submit(
                requests.post, one_worker.base + HOOK, json=hook_body(slow_fhir), timeout=15
            )
            for _ in range(2)
        ]
        time.sleep(0.5)  # both are waiting on the FHIR server now
        for _ in range(3):
            status, elapsed = timed_get(f"{one_worker.base}/healthz")
            assert (status, elapsed < 1.5) == (200, True), elapsed
            started = time.monotonic()
            resp = requests.post(one_worker.base + HOOK, json=hook_body(), timeout=10)
            assert resp.status_code == 200
            assert time.monotonic() - started < 2.0
        assert not any(future.done() for future in slow)  # they were still waiting
        assert [future.result().status_code for future in slow] == [200, 200]


def _readme_series() -> list[str]:
    section = README.read_text().split("## Observability", 1)[1].split("\n## ", 1)[0]
    names = re.findall(r"`(cds_[a-z_]+)`", section)
    assert len(names) >= 7
    return names


def test_metrics_after_real_calls_then_a_graceful_drain_that_leaves_nothing_behind(tmp_path):
    dead_fhir = f"http://127.0.0.1:{free_port()}/fhir"  # nothing listens: the callback fails
    with (
        slow_fhir_server(1.0) as slow,
        serve(
            tmp_path,
            CDS_WORKERS="2",
            CDS_THREADS="2",
            CDS_FHIR_ALLOWLIST=f"{slow},{dead_fhir}",
        ) as service,
    ):
        body = hook_body()
        body["prefetch"]["conditions"]["entry"].append(
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "negated",
                    "subject": {"reference": "Patient/bench-gist-1"},
                    "code": {"text": "leiomyosarcoma"},
                    "modifierExtension": [{"url": "http://example.org/x", "valueBoolean": True}],
                }
            }
        )
        cards = requests.post(service.base + HOOK, json=body, timeout=10).json()["cards"]
        feedback = {
            "card": cards[0]["uuid"],
            "outcome": "overridden",
            "overrideReason": {
                "reason": {"system": "urn:sarcoma-cds:override-reason", "code": "tumour-board"}
            },
            "outcomeTimestamp": "2026-11-30T10:00:00Z",
        }
        assert requests.post(
            service.base + HOOK + "/feedback", json={"feedback": [feedback]}, timeout=10
        ).ok
        failed = requests.post(service.base + HOOK, json=hook_body(dead_fhir), timeout=10)
        assert failed.status_code == 412
        # both workers answer /metrics with the same aggregated series
        for _ in range(4):
            text = requests.get(
                f"{service.base}/metrics", headers={"Connection": "close"}, timeout=10
            ).text
            for name in _readme_series():
                assert name in text, name
            assert 'cds_feedback_total{outcome="overridden",reason="tumour-board"' in text
            assert 'cds_mapping_issues_total{kind="modifier-extension"}' in text

        # SIGTERM while requests are queued behind the four threads: all are answered
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [
                pool.submit(requests.post, service.base + HOOK, json=hook_body(slow), timeout=30)
                for _ in range(8)
            ]
            time.sleep(0.5)
            service.process.terminate()
            statuses = [future.result().status_code for future in futures]
        assert statuses == [200] * 8
        assert service.process.wait(30) == 0
    assert not list(service.tmp.iterdir()), "the metrics folder was left behind"
    assert not (service.home / ".gunicorn").exists(), "a shared gunicorn control socket"
