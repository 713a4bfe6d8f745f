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
