"""End to end against a real FHIR R4 server (sekmet-fhir) on loopback (spec items 33-36, 44).

The service gets no prefetch and must fetch what its declaration needs from ``fhirServer``;
with the server stopped it must answer 412; with a slow server its time budget must hold.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.cds_hooks.echo_service import SEEN, STAND_IN_KB, echo_registry
from tests.peers import free_port, put_resources, sekmet_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fhir_base(tmp_path_factory) -> Iterator[str]:
    with sekmet_server(Path(tmp_path_factory.mktemp("sekmet"))) as base:
        resources = [{"resourceType": "Patient", "id": "e2e-p1", "gender": "female"}]
        resources += [
            {
                "resourceType": "Condition",
                "id": f"e2e-c{i}",
                "subject": {"reference": "Patient/e2e-p1"},
                "code": {
                    "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C49.A2"}]
                },
            }
            for i in range(30)
        ]
        put_resources(base, resources)
        yield base


def hook_call(fhir_base: str) -> dict:
    return {
        "hook": "patient-view",
        "hookInstance": "0b7c5f0e-5d8e-4a1c-9a7e-2f0d8f3c1b11",
        "fhirServer": fhir_base,
        "context": {"userId": "Practitioner/e2e", "patientId": "e2e-p1"},
    }


def test_service_fetches_every_missing_prefetch_key_from_the_fhir_server(
    make_app, make_settings, fhir_base
):
    app = make_app(
        make_settings(fhir_allowlist=[fhir_base]), registry=echo_registry(), kb=STAND_IN_KB
    )
    SEEN.clear()
    resp = app.test_client().post("/cds-services/echo", json=hook_call(fhir_base))
    assert resp.status_code == 200, resp.get_json()
    got = SEEN[-1]
    assert got["patient"]["id"] == "e2e-p1"
    ids = {e["resource"]["id"] for e in got["conditions"]["entry"]}
    assert ids == {f"e2e-c{i}" for i in range(30)}  # all pages followed


def test_service_answers_412_when_the_fhir_server_is_down(make_app, make_settings):
    dead = f"http://127.0.0.1:{free_port()}/fhir"  # nothing listens here
    app = make_app(make_settings(fhir_allowlist=[dead]), registry=echo_registry(), kb=STAND_IN_KB)
    resp = app.test_client().post("/cds-services/echo", json=hook_call(dead))
    assert resp.status_code == 412
    assert resp.get_json()["issue"][0]["details"]["coding"][0]["code"] == "prefetch-unavailable"


class _SlowHandler(BaseHTTPRequestHandler):
    delay_s = 5.0

    def do_GET(self) -> None:
        time.sleep(self.delay_s)
        body = b'{"resourceType":"Patient","id":"e2e-p1"}'
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        return


def test_slow_fhir_server_is_cut_off_by_the_time_budget(make_app, make_settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    try:
        app = make_app(
            make_settings(fhir_allowlist=[base], fhir_timeout_s=0.5),
            registry=echo_registry(),
            kb=STAND_IN_KB,
        )
        started = time.monotonic()
        resp = app.test_client().post("/cds-services/echo", json=hook_call(base))
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert resp.status_code == 412
    # Two keys, each with a 0.5 s budget: far below the server's 5 s delay.
    assert elapsed < 2.5


class _SlowBatchHandler(BaseHTTPRequestHandler):
    """Answers GETs at once but sits on a POSTed batch for longer than the time budget."""

    posts: list[str] = []

    def do_POST(self) -> None:
        self.posts.append(self.path)
        time.sleep(3.0)
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.endswith("/Patient/e2e-p1"):
            body = b'{"resourceType":"Patient","id":"e2e-p1"}'
        else:
            body = b'{"resourceType":"Bundle","type":"searchset"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


def test_a_batch_the_server_sits_on_costs_one_time_budget_once(make_app, make_settings):
    """The batch has the time budget of one callback; past it, the keys are read with their own
    GETs (each with its budget) and that server is not offered a batch again."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowBatchHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    _SlowBatchHandler.posts = []
    try:
        app = make_app(
            make_settings(fhir_allowlist=[base], fhir_timeout_s=0.5),
            registry=echo_registry(),
            kb=STAND_IN_KB,
        )
        client = app.test_client()
        SEEN.clear()
        started = time.monotonic()
        first = client.post("/cds-services/echo", json=hook_call(base))
        first_s = time.monotonic() - started
        second = client.post("/cds-services/echo", json=hook_call(base))
    finally:
        server.shutdown()
        server.server_close()
    assert first.status_code == 200 and second.status_code == 200
    assert SEEN[-1]["patient"]["id"] == "e2e-p1"
    assert _SlowBatchHandler.posts == ["/fhir"]  # offered once: the second call only GETs
    assert first_s < 2.0  # the batch's 0.5 s, then the GETs: not the server's 3 s
