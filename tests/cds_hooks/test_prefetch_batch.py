"""Missing prefetch keys go to the FHIR server as one FHIR batch of GETs when it takes one, and
one GET each otherwise: the data the service works from is the same either way.

Many EHR FHIR servers refuse a batch (405, 400, 403) or answer it with something else than a
``batch-response``; those get their reads one by one, and are remembered so that later calls
do not offer the batch again. An entry the server did not answer ``200`` is read with its own
GET, so a failed read stays a failure only when the GET fails too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from tests.cds_hooks.echo_service import SEEN, STAND_IN_KB, echo_registry

FHIR = "https://fhir.example.org/r4"
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female"}
CONDITIONS = {
    "resourceType": "Bundle",
    "type": "searchset",
    "total": 1,
    "link": [{"relation": "self", "url": f"{FHIR}/Condition?patient=p1"}],
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


def hook_call() -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "fhirServer": FHIR,
        "fhirAuthorization": AUTH,
        "context": {"userId": "Practitioner/example", "patientId": "p1"},
    }


def batch_answer(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "batch-response", "entry": list(entries)}


def ok(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resource": resource, "response": {"status": "200 OK"}}


@pytest.fixture
def echo(make_app, make_settings):
    app = make_app(make_settings(fhir_allowlist=[FHIR]), registry=echo_registry(), kb=STAND_IN_KB)
    SEEN.clear()
    with app.test_client() as test_client:
        yield test_client


def calls_by_method(mock: responses.RequestsMock) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for call in mock.calls:
        out.setdefault(call.request.method, []).append(call.request)
    return out


def test_missing_keys_are_read_in_one_batch_when_the_server_takes_it(echo):
    with responses.RequestsMock() as mock:
        mock.post(FHIR, json=batch_answer(ok(PATIENT), ok(CONDITIONS)))
        resp = echo.post("/cds-services/echo", json=hook_call())
        assert resp.status_code == 200, resp.get_json()
        sent = calls_by_method(mock)
    assert list(sent) == ["POST"] and len(sent["POST"]) == 1  # no GET at all
    post = sent["POST"][0]
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


@pytest.mark.parametrize(
    "refusal",
    [
        {"status": 405},
        {"status": 403, "json": {"resourceType": "OperationOutcome", "issue": []}},
        {"json": {"resourceType": "Bundle", "type": "transaction-response", "entry": []}},
        {"json": batch_answer(ok(PATIENT))},  # one entry for two requests
        {"body": "not json"},
    ],
    ids=["405", "403", "not-a-batch-response", "entry-count", "not-json"],
)
def test_a_server_that_does_not_take_the_batch_gets_one_get_per_key_and_is_remembered(
    echo, refusal
):
    with responses.RequestsMock() as mock:
        mock.post(FHIR, **refusal)
        mock.get(f"{FHIR}/Patient/p1", json=PATIENT)
        mock.get(f"{FHIR}/Condition?patient=p1", json=CONDITIONS)
        assert echo.post("/cds-services/echo", json=hook_call()).status_code == 200
        first = calls_by_method(mock)
        assert SEEN[-1] == EXPECTED  # the same data as through the batch
        mock.calls.reset()
        assert echo.post("/cds-services/echo", json=hook_call()).status_code == 200
        second = calls_by_method(mock)
    assert len(first["POST"]) == 1 and len(first["GET"]) == 2
    assert list(second) == ["GET"] and len(second["GET"]) == 2  # no second offer
    for request in first["GET"] + second["GET"]:
        assert request.headers["Authorization"] == "Bearer s3cr3t-token"
    assert SEEN[-1] == EXPECTED


def test_an_entry_not_answered_200_is_read_with_its_own_get(echo):
    failed = {"response": {"status": "500 Internal Server Error"}}
    with responses.RequestsMock() as mock:
        mock.post(FHIR, json=batch_answer(ok(PATIENT), failed))
        mock.get(f"{FHIR}/Condition?patient=p1", json=CONDITIONS)
        assert echo.post("/cds-services/echo", json=hook_call()).status_code == 200
        sent = calls_by_method(mock)
    assert [r.url for r in sent["GET"]] == [f"{FHIR}/Condition?patient=p1"]
    assert SEEN[-1] == EXPECTED


def test_a_read_that_fails_in_the_batch_and_alone_still_fails_the_call(echo):
    """A required key the server could not give is a 412, never a call without it."""
    failed = {"response": {"status": "500"}}
    with responses.RequestsMock() as mock:
        mock.post(FHIR, json=batch_answer(ok(PATIENT), failed))
        mock.get(f"{FHIR}/Condition?patient=p1", status=500)
        resp = echo.post("/cds-services/echo", json=hook_call())
    assert resp.status_code == 412
    assert resp.get_json()["issue"][0]["expression"] == ["prefetch.conditions"]


def test_a_missing_resource_in_the_batch_is_no_data_as_with_a_get(echo):
    """A read answered 404 (entry and GET alike) means the resource does not exist."""
    missing = {"response": {"status": "404 Not Found"}}
    with responses.RequestsMock() as mock:
        mock.post(FHIR, json=batch_answer(missing, ok(CONDITIONS)))
        mock.get(f"{FHIR}/Patient/p1", status=404)
        assert echo.post("/cds-services/echo", json=hook_call()).status_code == 200
    assert SEEN[-1] == {**EXPECTED, "patient": None}


def test_next_pages_of_a_search_answered_in_the_batch_are_followed(echo):
    page2 = f"{FHIR}/Condition?patient=p1&page=2"
    first_page = {**CONDITIONS, "link": [{"relation": "next", "url": page2}]}
    with responses.RequestsMock() as mock:
        mock.post(FHIR, json=batch_answer(ok(PATIENT), ok(first_page)))
        mock.get(
            page2,
            json={
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": {"resourceType": "Condition", "id": "c2"}}],
            },
        )
        assert echo.post("/cds-services/echo", json=hook_call()).status_code == 200
    conditions = SEEN[-1]["conditions"]
    assert [e["resource"]["id"] for e in conditions["entry"]] == ["c1", "c2"]
    assert "link" not in conditions


def test_a_single_missing_key_is_read_with_a_get(echo):
    payload = hook_call()
    payload["prefetch"] = {"patient": PATIENT}
    with responses.RequestsMock() as mock:
        mock.get(f"{FHIR}/Condition?patient=p1", json=CONDITIONS)
        assert echo.post("/cds-services/echo", json=payload).status_code == 200
        assert [c.request.method for c in mock.calls] == ["GET"]
    assert SEEN[-1] == EXPECTED
