"""Hostile requests through the production entry point (``sarcoma-cds serve``).

Chunked request bodies (Transfer-Encoding: chunked): the body size limit and the read timeout
apply to them as to Content-Length bodies, malformed framing is a typed 400, never a 500.

Before: a 6 MB chunked body was answered 400 ``invalid-json`` (read cut at the limit), a
malformed chunk size 500 ``internal-error``, Content-Length with Transfer-Encoding an HTML 400
from gunicorn (and, once typed, these 400s were not counted in ``cds_requests_total``); a
chunked client that stalled was never dropped, and eight slow chunked clients
held every thread (``/healthz`` timed out after 5 s).

CPU-bound calls: a call that keeps its thread busy is stopped by its CPU budget with a typed
503 (gunicorn's worker timeout does not see one busy thread). Before: 200 after as much CPU as
the body asked for.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.deploy.serve_process import Service, serve
from tests.deploy.test_server_model import HOOK, hook_body, timed_get
from tests.fhir_mapping.hostile_bodies import broken_conditions_body, many_conditions_body

HEAD = (
    f"POST {HOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n\r\n"
).encode()


def chunked(payload: bytes, size: int = 65536) -> bytes:
    parts = [payload[i : i + size] for i in range(0, len(payload), size)]
    return b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in parts) + b"0\r\n\r\n"


def exchange(service: Service, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` on a new connection; the status, headers and body of the answer."""
    port = int(service.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(data)
        answer = b""
        while True:
            if b"\r\n\r\n" in answer:
                head, _, body = answer.partition(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                fields = (line.partition(":") for line in lines[1:])
                headers = {k.strip().lower(): v.strip() for k, _, v in fields}
                if len(body) >= int(headers.get("content-length", "0")):
                    return int(lines[0].split()[1]), headers, body
            chunk = sock.recv(65536)
            assert chunk, answer[:200]
            answer += chunk


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[Service]:
    with serve(
        tmp_path_factory.mktemp("chunked"),
        CDS_WORKERS="1",
        CDS_THREADS="4",
        CDS_REQUEST_READ_TIMEOUT_S="2",
        CDS_MAX_BODY_BYTES="1000000",
        CDS_REQUEST_CPU_BUDGET_S="0.3",
    ) as running:
        yield running


def error_code(body: bytes) -> str:
    return str(json.loads(body)["issue"][0]["details"]["coding"][0]["code"])


def test_a_chunked_hook_call_is_answered_like_any_other(service):
    status, _, body = exchange(service, HEAD + chunked(json.dumps(hook_body()).encode(), 1000))
    assert status == 200
    assert json.loads(body)["cards"]


def test_a_chunked_body_over_the_limit_is_a_413(service):
    big = b'{"hook": "order-sign", "pad": "' + b"a" * 1_500_000 + b'"}'
    status, headers, body = exchange(service, HEAD + chunked(big))
    assert (status, error_code(body)) == (413, "payload-too-large")
    assert headers["connection"] == "close"


@pytest.mark.parametrize(
    ("framing", "data"),
    [
        ("malformed chunk size", HEAD + b"zz\r\nabc\r\n0\r\n\r\n"),
        ("no CRLF after a chunk", HEAD + b"2\r\n{}XX0\r\n\r\n"),
        (
            "Content-Length and Transfer-Encoding",
            HEAD.replace(b"\r\n\r\n", b"\r\nContent-Length: 7\r\n\r\n") + chunked(b"{}"),
        ),
        (
            "gzip transfer coding (the body is not gzip: it was read as plain JSON, 200)",
            HEAD.replace(b"chunked", b"gzip, chunked") + chunked(json.dumps(hook_body()).encode()),
        ),
    ],
)
def test_framing_that_is_not_http_1_1_is_a_typed_400(service, framing, data):
    status, headers, body = exchange(service, data)
    assert (status, headers["content-type"]) == (400, "application/json"), framing
    assert error_code(body) == "invalid-request"


def _framing_400s(service: Service, status: str = "400") -> float:
    text = requests.get(f"{service.base}/metrics", timeout=10).text
    found = re.search(
        rf'^cds_requests_total\{{endpoint="bad-framing",service="-",status="{status}"\}} (\S+)$',
        text,
        re.MULTILINE,
    )
    return float(found.group(1)) if found else 0.0


def test_the_workers_own_framing_400s_are_counted_in_the_request_metrics(service):
    """Before: answered and logged by the worker, but absent from ``cds_requests_total``."""
    before = _framing_400s(service)
    for data in (
        HEAD + b"zz\r\nabc\r\n0\r\n\r\n",
        HEAD.replace(b"\r\n\r\n", b"\r\nContent-Length: 7\r\n\r\n") + chunked(b"{}"),
        HEAD.replace(b"chunked", b"gzip, chunked") + chunked(b"{}"),
    ):
        assert exchange(service, data)[0] == 400
    assert _framing_400s(service) - before == 3
    # a well-framed call is still counted under its own endpoint, not this one
    assert requests.post(service.base + HOOK, json=hook_body(), timeout=10).status_code == 200
    assert _framing_400s(service) - before == 3


def test_requests_the_parser_refuses_are_counted_too(service):
    """A malformed header name or a request line over the limit is answered by gunicorn's
    parser (400, 414). Before: answered, never counted in ``cds_requests_total``."""
    before = _framing_400s(service), _framing_400s(service, "414")
    bad_header = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n"
    assert exchange(service, bad_header)[0] == 400
    long_line = b"GET /healthz?" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    assert exchange(service, long_line)[0] == 414
    after = _framing_400s(service), _framing_400s(service, "414")
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)


def test_a_chunked_client_that_stalls_is_dropped_after_the_read_timeout(service):
    port = int(service.base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(HEAD + b'5\r\n{"a":')
        sock.settimeout(8)
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server, without an answer
        assert 1.5 < time.monotonic() - started < 5.5


def test_slow_chunked_clients_hold_no_thread(service):
    port = int(service.base.rsplit(":", 1)[1])
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(0.3):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.send(b"1\r\n \r\n")

    for sock in sockets:
        sock.sendall(HEAD)
    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        for _ in range(3):
            status, elapsed = timed_get(f"{service.base}/healthz")
            assert (status, elapsed < 2.0) == (200, True), elapsed
        started = time.monotonic()
        assert requests.post(service.base + HOOK, json=hook_body(), timeout=10).status_code == 200
        assert time.monotonic() - started < 5.0
    finally:
        stop.set()
        thread.join(5)
        for sock in sockets:
            sock.close()


def test_expect_100_continue_with_a_chunked_body(service):
    port = int(service.base.rsplit(":", 1)[1])
    head = HEAD.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(chunked(json.dumps(hook_body()).encode()))
        answer = b""
        while b'"cards"' not in answer:
            chunk = sock.recv(65536)
            assert chunk, answer[:200]
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 OK")


def test_calls_that_spend_their_cpu_budget_are_stopped_and_free_their_threads(service):
    # Conditions the cheap reader cannot vouch for: each needs the full R4B check.
    # Distinct ids in the two calls, or one would find the other's verdicts in the cache.
    costly = json.dumps(broken_conditions_body(1_600)).encode()
    bodies = [costly.replace(b'"noisy-', b'"call%d-' % i) for i in range(2)]
    headers = {"Content-Type": "application/json"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(requests.post, service.base + HOOK, data=body, headers=headers, timeout=30)
            for body in bodies
        ]
        time.sleep(0.3)
        status, elapsed = timed_get(f"{service.base}/healthz")
        assert (status, elapsed < 2.0) == (200, True), elapsed
        answers = [future.result() for future in futures]
    for resp in answers:
        assert resp.status_code == 503
        assert error_code(resp.content) == "request-too-costly"
    assert requests.post(service.base + HOOK, json=hook_body(), timeout=10).status_code == 200


@pytest.fixture(scope="module")
def shipped_budget(tmp_path_factory) -> Iterator[Service]:
    """The production entry point with the CPU budget and body limit it ships with."""
    with serve(tmp_path_factory.mktemp("shipped"), CDS_WORKERS="1", CDS_THREADS="2") as running:
        yield running


@pytest.mark.parametrize("unknown", [False, True], ids=["conformant", "undefined-element"])
def test_thousands_of_distinct_conditions_the_mapping_reads_are_answered_within_budget(
    shipped_budget, unknown
):
    """2,000 distinct GIST Conditions (0.8-0.9 MB), members the mapping reads: answered 200 with
    the KIT exon 9 card inside the CPU budget the service ships with, also when each carries an
    element R4B does not define (dropped and named). Speed itself is the benchmark's to
    measure: in process this call used 0.28-0.30 s (conformant) and 0.34-0.46 s (undefined
    element) of thread CPU on a host running three times slower than usual (the floor's
    realistic call at 2.7 ms against 0.84-0.91 ms), so the 0.3 s budget this test once set
    failed on a slow host without telling anything a user would see. What the
    cheap reader changed is asserted by the R4B-validation count in
    ``tests/fhir_mapping/test_cheap_reader.py``."""
    body = json.dumps(many_conditions_body(2_000, unknown=unknown)).encode()
    body = body.replace(b'"noisy-', b'"budget-%d-' % unknown)  # not answered by the cache
    headers = {"Content-Type": "application/json"}
    resp = requests.post(shipped_budget.base + HOOK, data=body, headers=headers, timeout=30)
    assert resp.status_code == 200, resp.text[:300]
    summaries = [card["summary"] for card in resp.json()["cards"]]
    assert any("KIT exon 9" in summary for summary in summaries), summaries
