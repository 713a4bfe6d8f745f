"""Missing prefetch keys go to the FHIR server as one FHIR batch of GETs when it takes one, and
one GET each otherwise: the data the service works from is the same either way.

Many EHR FHIR servers refuse a batch (405, 400, 403) or answer it with something else than a
``batch-response``; those get their reads one by one, and are remembered so that later calls
do not offer the batch again. An entry the server did not answer ``200`` is read with its own
GET, so a failed read stays a failure only when the GET fails too. The FHIR server here is a
scripted HTTP server on loopback that records every request.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from urllib3.util.url import parse_url

from cds_hooks.fhir_http import request_target
from tests.cds_hooks.echo_service import SEEN, STAND_IN_KB, echo_registry


@dataclass
class Sent:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FhirServer:
    """Answers (method, path with query) from ``routes``: (status, JSON value or raw bytes)."""

    base: str = ""
    routes: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    gzip: bool = False
    close_after_answer: bool = False  # drops keep-alive connections without saying so

    def methods(self) -> list[str]:
        return [s.method for s in self.sent]


@pytest.fixture
def fhir() -> Iterator[FhirServer]:
    state = FhirServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as FHIR servers do

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.sent.append(Sent(self.command, self.path, dict(self.headers.items()), body))
            status, value = state.routes.get((self.command, self.path), (404, {}))
            raw = value if isinstance(value, bytes) else json.dumps(value).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            if state.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
                raw = gzip.compress(raw)
                self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(raw)
            if state.close_after_answer:
                self.close_connection = True

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female"}
CONDITIONS = {
    "resourceType": "Bundle",
    "type": "searchset",
    "total": 1,
    "link": [{"relation": "self", "url": "http://fhir.example.org/Condition?patient=p1"}],
    "entry": [{"resource": {"resourceType": "Condition", "id": "c1"}}],
}
#: What the echo service receives for the two keys, however they were read: the search as
#: one Bundle without its links (every page merged), the read as the resource.
EXPECTED = {
    "patient": PATIENT,
    "conditions": {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [{"resource": {"resourceType": "Condition", "id": "c1"}}],
    },
}
AUTH = {
    "access_token": "s3cr3t-token",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "user/Patient.read user/Condition.read",
    "subject": "sarcoma-cds",
}


def hook_call(base: str) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": base,
        "fhirAuthorization": AUTH,
        "context": {"userId": "Practitioner/example", "patientId": "p1"},
    }


def batch_answer(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "batch-response", "entry": list(entries)}


def ok(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resource": resource, "response": {"status": "200 OK"}}


PATIENT_GET = ("GET", "/fhir/Patient/p1")
CONDITIONS_GET = ("GET", "/fhir/Condition?patient=p1")
BATCH = ("POST", "/fhir")


@pytest.fixture
def echo(make_app, make_settings, fhir):
    app = make_app(
        make_settings(fhir_allowlist=[fhir.base]), registry=echo_registry(), kb=STAND_IN_KB
    )
    SEEN.clear()
    with app.test_client() as test_client:
        yield test_client


def call(echo, fhir: FhirServer, payload: dict[str, Any] | None = None) -> Any:
    return echo.post("/cds-services/echo", json=payload or hook_call(fhir.base))


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_missing_keys_are_read_in_one_batch_when_the_server_takes_it(echo, fhir, compressed):
    fhir.gzip = compressed
    fhir.routes[BATCH] = (200, batch_answer(ok(PATIENT), ok(CONDITIONS)))
    resp = call(echo, fhir)
    assert resp.status_code == 200, resp.get_json()
    assert fhir.methods() == ["POST"]  # no GET at all
    post = fhir.sent[0]
    assert post.path == "/fhir"
    assert post.headers["Authorization"] == "Bearer s3cr3t-token"
    assert post.headers["Accept"] == "application/fhir+json"
    assert post.headers["Content-Type"] == "application/fhir+json"
    assert json.loads(post.body) == {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Patient/p1"}},
            {"request": {"method": "GET", "url": "Condition?patient=p1"}},
        ],
    }
    assert SEEN[-1] == EXPECTED


def test_the_batch_connection_is_kept_alive_between_calls(echo, fhir):
    fhir.routes[BATCH] = (200, batch_answer(ok(PATIENT), ok(CONDITIONS)))
    for _ in range(3):
        assert call(echo, fhir).status_code == 200
    assert fhir.methods() == ["POST"] * 3
    assert SEEN[-1] == EXPECTED


@pytest.mark.parametrize(
    "refusal",
    [
        (405, {}),
        (403, {"resourceType": "OperationOutcome", "issue": []}),
        (302, {}),
        (200, {"resourceType": "Bundle", "type": "transaction-response", "entry": []}),
        (200, batch_answer(ok(PATIENT))),  # one entry for two requests
        (200, b"not json"),
    ],
    ids=["405", "403", "redirect", "not-a-batch-response", "entry-count", "not-json"],
)
def test_a_server_that_does_not_take_the_batch_gets_one_get_per_key_and_is_remembered(
    echo, fhir, refusal
):
    fhir.routes[BATCH] = refusal
    fhir.routes[PATIENT_GET] = (200, PATIENT)
    fhir.routes[CONDITIONS_GET] = (200, CONDITIONS)
    assert call(echo, fhir).status_code == 200
    assert SEEN[-1] == EXPECTED  # the same data as through the batch
    assert sorted(fhir.methods()) == ["GET", "GET", "POST"]
    fhir.sent.clear()
    assert call(echo, fhir).status_code == 200
    assert fhir.methods() == ["GET", "GET"]  # no second offer
    assert all(s.headers["Authorization"] == "Bearer s3cr3t-token" for s in fhir.sent)
    assert SEEN[-1] == EXPECTED


def test_an_entry_not_answered_200_is_read_with_its_own_get(echo, fhir):
    failed = {"response": {"status": "500 Internal Server Error"}}
    fhir.routes[BATCH] = (200, batch_answer(ok(PATIENT), failed))
    fhir.routes[CONDITIONS_GET] = (200, CONDITIONS)
    assert call(echo, fhir).status_code == 200
    assert [(s.method, s.path) for s in fhir.sent] == [BATCH, CONDITIONS_GET]
    assert SEEN[-1] == EXPECTED


def test_a_read_that_fails_in_the_batch_and_alone_still_fails_the_call(echo, fhir):
    """A required key the server could not give is a 412, never a call without it."""
    fhir.routes[BATCH] = (200, batch_answer(ok(PATIENT), {"response": {"status": "500"}}))
    fhir.routes[CONDITIONS_GET] = (500, {})
    resp = call(echo, fhir)
    assert resp.status_code == 412
    assert resp.get_json()["issue"][0]["expression"] == ["prefetch.conditions"]


def test_a_missing_resource_in_the_batch_is_no_data_as_with_a_get(echo, fhir):
    """A read answered 404 (entry and GET alike) means the resource does not exist."""
    missing = {"response": {"status": "404 Not Found"}}
    fhir.routes[BATCH] = (200, batch_answer(missing, ok(CONDITIONS)))
    fhir.routes[PATIENT_GET] = (404, {})
    assert call(echo, fhir).status_code == 200
    assert SEEN[-1] == {**EXPECTED, "patient": None}


def test_next_pages_of_a_search_answered_in_the_batch_are_followed(echo, fhir):
    page2 = f"{fhir.base}/Condition?patient=p1&page=2"
    first_page = {**CONDITIONS, "link": [{"relation": "next", "url": page2}]}
    fhir.routes[BATCH] = (200, batch_answer(ok(PATIENT), ok(first_page)))
    fhir.routes[("GET", "/fhir/Condition?patient=p1&page=2")] = (
        200,
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": {"resourceType": "Condition", "id": "c2"}}],
        },
    )
    assert call(echo, fhir).status_code == 200
    conditions = SEEN[-1]["conditions"]
    assert [e["resource"]["id"] for e in conditions["entry"]] == ["c1", "c2"]
    assert "link" not in conditions


def test_an_oversized_batch_answer_is_read_key_by_key_and_the_server_keeps_the_batch(
    make_app, make_settings, fhir
):
    """Too large is about this patient's record, not about the server: no memo."""
    app = make_app(
        make_settings(fhir_allowlist=[fhir.base], fhir_max_response_bytes=2048),
        registry=echo_registry(),
        kb=STAND_IN_KB,
    )
    big = {**PATIENT, "text": {"status": "generated", "div": "x" * 5000}}
    fhir.routes[BATCH] = (200, batch_answer(ok(big), ok(CONDITIONS)))
    fhir.routes[PATIENT_GET] = (200, PATIENT)
    fhir.routes[CONDITIONS_GET] = (200, CONDITIONS)
    with app.test_client() as client:
        for _ in range(2):
            SEEN.clear()
            assert client.post("/cds-services/echo", json=hook_call(fhir.base)).status_code == 200
            assert SEEN[-1] == EXPECTED
    assert fhir.methods().count("POST") == 2


def test_a_single_missing_key_is_read_with_a_get(echo, fhir):
    payload = hook_call(fhir.base)
    payload["prefetch"] = {"patient": PATIENT}
    fhir.routes[CONDITIONS_GET] = (200, CONDITIONS)
    assert call(echo, fhir, payload).status_code == 200
    assert fhir.methods() == ["GET"]
    assert SEEN[-1] == EXPECTED


def test_a_connection_the_server_dropped_while_idle_is_replaced(echo, fhir):
    fhir.close_after_answer = True
    fhir.routes[BATCH] = (200, batch_answer(ok(PATIENT), ok(CONDITIONS)))
    for _ in range(3):
        assert call(echo, fhir).status_code == 200
        assert SEEN[-1] == EXPECTED
    assert fhir.methods() == ["POST"] * 3  # never refused, never a GET


@pytest.mark.parametrize(
    "url",
    [
        "https://fhir.example.org/r4",
        "http://127.0.0.1:8080/fhir/Observation?patient=p1&code=http://loinc.org|1-8,x|y&_count=2",
        "https://ehr.example.org/fhir/R4/Patient/a b",
        "https://ehr.example.org/fhir/Observation?code=%7c7&x=[1]",
        "https://ehr.example.org/fhir/Patient?name=Müller",
    ],
)
def test_the_target_is_percent_encoded_as_requests_would_send_it(url):
    prepared = requests.Request("GET", url).prepare().url
    assert prepared is not None
    parsed = parse_url(prepared)
    found = request_target(url)
    assert found is not None
    origin, target = found
    assert target == parsed.request_uri
    assert origin == (
        parsed.scheme,
        parsed.host,
        parsed.port or (443 if parsed.scheme == "https" else 80),
    )
