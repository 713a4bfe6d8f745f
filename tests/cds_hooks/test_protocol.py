"""Protocol behaviour keyed to the numbered items of ../shared/reference/cds-hooks-spec.md.

These tests use a protocol-test service (``echo``) so that each prefetch state and error can be
asserted without clinical content; the clinical services have their own contract tests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import responses

from cds_hooks.registry import TemplateError, check_template, render_template
from tests.cds_hooks.echo_service import SEEN, STAND_IN_KB, echo_registry

FHIR = "https://fhir.example.org/r4"
PATIENT = {"resourceType": "Patient", "id": "p1"}


def body(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": "p1"},
        "prefetch": {
            "patient": PATIENT,
            "conditions": {"resourceType": "Bundle", "type": "searchset", "total": 0},
        },
    }
    value.update(overrides)
    return value


@pytest.fixture
def echo_app(make_app, make_settings):
    return make_app(make_settings(fhir_allowlist=[FHIR]), registry=echo_registry(), kb=STAND_IN_KB)


@pytest.fixture
def echo(echo_app):
    SEEN.clear()
    with echo_app.test_client() as test_client:
        yield test_client


def outcome_code(resp) -> str:
    data = resp.get_json()
    assert data["resourceType"] == "OperationOutcome"
    return data["issue"][0]["details"]["coding"][0]["code"]


# -- C. invocation: items 13, 14, 17, 4 ------------------------------------------------------


def test_item13_unknown_service_id_answers_404(echo):
    resp = echo.post("/cds-services/no-such-service", json=body())
    assert resp.status_code == 404
    assert outcome_code(resp) == "unknown-service"


def test_item13_other_methods_answer_405_with_allow_header(echo):
    resp = echo.put("/cds-services/echo", json=body())
    assert resp.status_code == 405
    assert "POST" in resp.headers["Allow"]
    assert outcome_code(resp) == "method-not-allowed"


@pytest.mark.parametrize("field", ["hook", "hookInstance", "context"])
def test_item14_missing_required_field_answers_400_naming_it(echo, field):
    payload = body()
    del payload[field]
    resp = echo.post("/cds-services/echo", json=payload)
    assert resp.status_code == 400
    data = resp.get_json()
    assert data["issue"][0]["expression"] == [field]
    assert field in data["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"hookInstance": 42}, "hookInstance"),
        ({"context": []}, "context"),
        ({"fhirServer": "not a url"}, "fhirServer"),
        ({"prefetch": "Patient/1"}, "prefetch"),
    ],
)
def test_item14_ill_typed_required_field_answers_400(echo, patch, path):
    resp = echo.post("/cds-services/echo", json=body(**patch))
    assert resp.status_code == 400
    assert resp.get_json()["issue"][0]["expression"] == [path]


def test_item14_fhir_authorization_without_fhir_server_is_400(echo):
    auth = {
        "access_token": "t",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "s",
        "subject": "cds",
    }
    resp = echo.post("/cds-services/echo", json=body(fhirAuthorization=auth))
    assert resp.status_code == 400
    assert "fhirServer" in resp.get_json()["issue"][0]["diagnostics"]


def test_item14_hook_not_served_by_this_id_is_400(echo):
    resp = echo.post("/cds-services/echo", json=body(hook="order-sign"))
    assert resp.status_code == 400
    assert outcome_code(resp) == "hook-not-served"


@pytest.mark.parametrize(
    ("context", "field"),
    [
        ({"userId": "Practitioner/1"}, "context.patientId"),
        ({"patientId": "p1"}, "context.userId"),
        ({"userId": "abc", "patientId": "p1"}, "context.userId"),
        ({"userId": "Practitioner/1", "patientId": "Patient/p1"}, "context.patientId"),
    ],
)
def test_item18_patient_view_context_is_validated(echo, context, field):
    resp = echo.post("/cds-services/echo", json=body(context=context))
    assert resp.status_code == 400
    assert resp.get_json()["issue"][0]["expression"] == [field]


def test_item4_item17_unknown_members_and_extensions_are_tolerated(echo):
    payload = body(extension={"com.example.flag": True}, futureMember={"x": 1})
    payload["context"]["futureContextField"] = "added in a minor hook version"
    resp = echo.post("/cds-services/echo", json=payload)
    assert resp.status_code == 200


def test_item15_fhir_authorization_without_expires_in_is_tolerated(echo):
    auth = {
        "access_token": "t0k",
        "token_type": "Bearer",
        "scope": "user/Patient.read",
        "subject": "cds",
    }
    resp = echo.post("/cds-services/echo", json=body(fhirServer=FHIR, fhirAuthorization=auth))
    assert resp.status_code == 200


def test_non_json_body_answers_415(echo):
    resp = echo.post("/cds-services/echo", data="hook=patient-view", content_type="text/plain")
    assert resp.status_code == 415
    assert outcome_code(resp) == "unsupported-media-type"


def test_malformed_json_answers_400(echo):
    resp = echo.post("/cds-services/echo", data="{not json", content_type="application/json")
    assert resp.status_code == 400
    assert outcome_code(resp) == "invalid-json"


@pytest.mark.parametrize(
    ("sent", "announced", "code"),
    [
        (b"", 10, "invalid-json"),  # the client left
        (b"{}", 10, "invalid-request"),  # what arrived is parsed as it is
        (json.dumps(body()).encode()[:-1], len(json.dumps(body())), "invalid-json"),
    ],
    ids=["client-left", "short-but-json", "cut-off"],
)
def test_a_body_shorter_than_its_content_length_answers_400(echo, sent, announced, code):
    resp = echo.post(
        "/cds-services/echo",
        data=sent,
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": str(announced)},
    )
    assert resp.status_code == 400
    assert outcome_code(resp) == code


def test_only_the_announced_length_is_read(echo):
    sent = json.dumps(body()).encode()
    resp = echo.post(
        "/cds-services/echo",
        data=sent + b"not json",
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": str(len(sent))},
    )
    assert resp.status_code == 200, resp.get_json()


def test_body_over_the_configured_limit_answers_413(make_app, make_settings):
    app = make_app(make_settings(max_body_bytes=2048), registry=echo_registry(), kb=STAND_IN_KB)
    payload = body()
    payload["prefetch"]["patient"]["text"] = {"div": "x" * 4096}
    resp = app.test_client().post("/cds-services/echo", json=payload)
    assert resp.status_code == 413
    assert outcome_code(resp) == "payload-too-large"


def test_deeply_nested_json_is_refused_with_400(echo):
    nested: Any = {}
    for _ in range(200):
        nested = {"a": nested}
    resp = echo.post("/cds-services/echo", json=body(extension=nested))
    assert resp.status_code == 400
    assert outcome_code(resp) == "invalid-json"


# -- D. order hooks: items 19, 20, 22 ----------------------------------------------------------


def order_body(hook: str, status: str = "draft", **context: Any) -> dict[str, Any]:
    order = {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
    }
    ctx = {
        "userId": "Practitioner/1",
        "patientId": "p1",
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": order}],
        },
    }
    ctx.update(context)
    return {"hook": hook, "hookInstance": "h-1", "context": ctx}


def test_item20_order_sign_accepts_revised_orders_that_are_not_draft(echo):
    resp = echo.post("/cds-services/echo-sign", json=order_body("order-sign", status="active"))
    assert resp.status_code == 200


def test_item20_order_sign_requires_draft_orders(echo):
    payload = order_body("order-sign")
    del payload["context"]["draftOrders"]
    resp = echo.post("/cds-services/echo-sign", json=payload)
    assert resp.status_code == 400
    assert resp.get_json()["issue"][0]["expression"] == ["context.draftOrders"]


def test_item22_draft_orders_bundle_of_any_type_is_accepted(echo):
    payload = order_body("order-sign")
    payload["context"]["draftOrders"]["type"] = "transaction"
    assert echo.post("/cds-services/echo-sign", json=payload).status_code == 200


# -- E. prefetch templates: items 25-29 ----------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "Patient/{{context.patientId}}",
        "Condition?patient={{context.patientId}}&_count=100",
        "Observation?patient={{context.patientId}}&code=http://loinc.org|97509-4&_sort=-date",
        "Observation?patient={{context.patientId}}&code:in=http://example.org/vs",
        "Observation?patient={{context.patientId}}&date=ge2020-01-01",
        "PractitionerRole?_id={{userPractitionerRoleId}}",
    ],
)
def test_items25_29_valid_templates_are_accepted(template):
    check_template(template, "patient-view")


@pytest.mark.parametrize(
    "template",
    [
        "https://fhir.example.org/Patient/{{context.patientId}}",  # item 25: relative only
        "Patient/{{Patient.id}}",  # legacy token (item 26)
        "MedicationRequest?_id={{context.draftOrders.MedicationRequest.id}}",  # item 27
        "Practitioner/{{context.userId}}",  # item 28: doubles the type
        "Observation?patient={{context.patientId}}&sort:desc=date",  # item 29: DSTU2 sort
        "Observation?patient={{context.patientId}}&code:text=kit",  # modifier outside subset
        "Observation?patient={{today()}}",  # FHIRPath tokens are 3.0 only (item 32)
        "Condition?patient={{context.selections}}",  # selections is not a token (item 19)
    ],
)
def test_items25_29_invalid_templates_are_refused(template):
    with pytest.raises(TemplateError):
        check_template(template, "order-select")


def test_item28_user_tokens_render_from_user_id():
    ctx = {"userId": "PractitionerRole/r-9", "patientId": "p 1"}
    assert render_template("PractitionerRole?_id={{userPractitionerRoleId}}", ctx) == (
        "PractitionerRole?_id=r-9"
    )
    assert render_template("{{context.userId}}", ctx) == "PractitionerRole/r-9"
    assert render_template("Patient/{{context.patientId}}", ctx) == "Patient/p%201"
    assert render_template("Encounter/{{context.encounterId}}", ctx) is None


# -- F/G. prefetch states and FHIR callbacks: items 33-45 ----------------------------------------


def test_item34_present_resource_and_searchset_are_used_without_callbacks(echo):
    with responses.RequestsMock() as mock:  # any HTTP call would fail the test
        resp = echo.post("/cds-services/echo", json=body(fhirServer=FHIR))
        assert len(mock.calls) == 0
    assert resp.status_code == 200
    assert SEEN[-1]["patient"] == PATIENT


def test_item34_null_prefetch_means_no_data_and_is_not_requeried(echo):
    payload = body(fhirServer=FHIR)
    payload["prefetch"] = {"patient": None, "conditions": None}
    with responses.RequestsMock() as mock:
        resp = echo.post("/cds-services/echo", json=payload)
        assert len(mock.calls) == 0
    assert resp.status_code == 200
    assert SEEN[-1] == {"patient": None, "conditions": None}


def test_items34_40_45_absent_keys_are_fetched_with_bearer_token(echo):
    auth = {
        "access_token": "s3cr3t-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "user/Patient.read user/Condition.read",
        "subject": "sarcoma-cds",
    }
    payload = body(fhirServer=FHIR, fhirAuthorization=auth)
    del payload["prefetch"]
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": {"resourceType": "Condition", "id": "c1"}}],
    }
    with responses.RequestsMock() as mock:
        mock.get(f"{FHIR}/Patient/p1", json=PATIENT)
        mock.get(f"{FHIR}/Condition?patient=p1", json=bundle)
        resp = echo.post("/cds-services/echo", json=payload)
        assert resp.status_code == 200
        for call in mock.calls:
            assert call.request.headers["Authorization"] == "Bearer s3cr3t-token"
            assert call.request.headers["Accept"] == "application/fhir+json"
    assert SEEN[-1]["conditions"]["entry"][0]["resource"]["id"] == "c1"


def test_item43_open_fhir_server_is_called_without_authorization(echo):
    payload = body(fhirServer=FHIR)
    del payload["prefetch"]["conditions"]
    with responses.RequestsMock() as mock:
        mock.get(
            f"{FHIR}/Condition?patient=p1", json={"resourceType": "Bundle", "type": "searchset"}
        )
        assert echo.post("/cds-services/echo", json=payload).status_code == 200
        assert "Authorization" not in mock.calls[0].request.headers


def test_item34_paged_searchset_is_followed_to_the_end(echo):
    page2 = f"{FHIR}/Condition?patient=p1&page=2"
    payload = body(fhirServer=FHIR)
    payload["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": page2}],
        "entry": [{"resource": {"resourceType": "Condition", "id": "c1"}}],
    }
    with responses.RequestsMock() as mock:
        mock.get(
            page2,
            json={
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": {"resourceType": "Condition", "id": "c2"}}],
            },
        )
        assert echo.post("/cds-services/echo", json=payload).status_code == 200
    ids = [e["resource"]["id"] for e in SEEN[-1]["conditions"]["entry"]]
    assert ids == ["c1", "c2"]


def test_item34_operation_outcome_in_prefetch_is_refetched_from_the_server(echo):
    payload = body(fhirServer=FHIR)
    payload["prefetch"]["conditions"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    with responses.RequestsMock() as mock:
        mock.get(
            f"{FHIR}/Condition?patient=p1", json={"resourceType": "Bundle", "type": "searchset"}
        )
        assert echo.post("/cds-services/echo", json=payload).status_code == 200
    assert SEEN[-1]["conditions"]["resourceType"] == "Bundle"


def test_item34_operation_outcome_without_server_answers_412(echo):
    payload = body()
    payload["prefetch"]["conditions"] = {"resourceType": "OperationOutcome", "issue": []}
    resp = echo.post("/cds-services/echo", json=payload)
    assert resp.status_code == 412
    assert resp.get_json()["issue"][0]["expression"] == ["prefetch.conditions"]


def test_item36_missing_required_key_and_no_server_answers_412(echo):
    payload = body()
    del payload["prefetch"]["conditions"]
    resp = echo.post("/cds-services/echo", json=payload)
    assert resp.status_code == 412
    assert outcome_code(resp) == "prefetch-unavailable"


def test_item36_server_failure_answers_412(echo):
    payload = body(fhirServer=FHIR)
    del payload["prefetch"]
    with responses.RequestsMock() as mock:
        mock.get(f"{FHIR}/Patient/p1", json=PATIENT)
        mock.get(f"{FHIR}/Condition?patient=p1", status=500)
        resp = echo.post("/cds-services/echo", json=payload)
    assert resp.status_code == 412


def test_optional_key_that_cannot_be_had_does_not_fail_the_call(make_app, make_settings):
    app = make_app(make_settings(), registry=echo_registry(required=False), kb=STAND_IN_KB)
    payload = body()
    del payload["prefetch"]["patient"]
    assert app.test_client().post("/cds-services/echo", json=payload).status_code == 200


def test_item43_fhir_server_off_the_allowlist_is_never_called(echo):
    payload = body(fhirServer="https://evil.example.net/fhir")
    del payload["prefetch"]["conditions"]
    with responses.RequestsMock() as mock:
        resp = echo.post("/cds-services/echo", json=payload)
        assert len(mock.calls) == 0
    assert resp.status_code == 412


def test_redirects_from_the_fhir_server_are_not_followed(echo):
    payload = body(fhirServer=FHIR)
    del payload["prefetch"]["conditions"]
    with responses.RequestsMock() as mock:
        mock.get(
            f"{FHIR}/Condition?patient=p1",
            status=302,
            headers={"Location": "https://evil.example.net/steal"},
        )
        resp = echo.post("/cds-services/echo", json=payload)
        assert len(mock.calls) == 1
    assert resp.status_code == 412


def test_next_links_off_the_fhir_base_are_not_followed(echo):
    payload = body(fhirServer=FHIR)
    payload["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": "https://evil.example.net/page2"}],
    }
    with responses.RequestsMock() as mock:
        resp = echo.post("/cds-services/echo", json=payload)
        assert len(mock.calls) == 0
    assert resp.status_code == 412


def test_oversized_fhir_response_is_refused(make_app, make_settings):
    app = make_app(
        make_settings(fhir_allowlist=[FHIR], fhir_max_response_bytes=2048),
        registry=echo_registry(),
        kb=STAND_IN_KB,
    )
    payload = body(fhirServer=FHIR)
    del payload["prefetch"]["conditions"]
    big = {"resourceType": "Bundle", "type": "searchset", "id": "x" * 5000}
    with responses.RequestsMock() as mock:
        mock.get(f"{FHIR}/Condition?patient=p1", body=json.dumps(big))
        resp = app.test_client().post("/cds-services/echo", json=payload)
    assert resp.status_code == 412


# -- I. CORS: items 59-61 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/cds-services", "/cds-services/echo", "/cds-services/echo/feedback"]
)
def test_item60_preflight_on_every_endpoint(echo, path):
    resp = echo.options(
        path,
        headers={
            "Origin": "https://sandbox.cds-hooks.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert resp.status_code in {200, 204}
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    allowed = resp.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/cds-services/echo", {"json": body()}, 200),
        ("post", "/cds-services/missing", {"json": body()}, 404),
        ("post", "/cds-services/echo", {"json": {"hook": "patient-view"}}, 400),
        ("post", "/cds-services/echo", {"json": {**body(), "prefetch": {}}}, 412),
        ("put", "/cds-services/echo", {"json": body()}, 405),
        ("post", "/cds-services/echo", {"data": "x", "content_type": "text/plain"}, 415),
    ],
)
def test_item61_cors_headers_on_post_and_error_responses(echo, method, path, kwargs, status):
    resp = getattr(echo, method)(path, headers={"Origin": "https://ehr.example.org"}, **kwargs)
    assert resp.status_code == status
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_allowlisted_origins_are_echoed_and_others_get_no_allow_origin(
    make_app, make_settings
):
    app = make_app(
        make_settings(cors_origins=["https://ehr.example.org"]),
        registry=echo_registry(),
        kb=STAND_IN_KB,
    )
    c = app.test_client()
    ok = c.get("/cds-services", headers={"Origin": "https://ehr.example.org"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    assert "Origin" in ok.headers["Vary"]
    other = c.get("/cds-services", headers={"Origin": "https://evil.example.net"})
    assert "Access-Control-Allow-Origin" not in other.headers


# -- J. errors ----------------------------------------------------------------------------------


def test_unknown_route_answers_operation_outcome_404(echo):
    resp = echo.get("/.well-known/cds-services")  # item 5: the pre-1.0 path is not served
    assert resp.status_code == 404
    assert outcome_code(resp) == "not-found"


def test_unhandled_failure_answers_500_without_stack_trace(make_app, make_settings, caplog):
    from cds_hooks.models import Card
    from cds_hooks.registry import Registry, ServiceDefinition

    def boom(ctx) -> list[Card]:
        raise RuntimeError("secret patient detail Jane Doe")

    registry = Registry()
    registry.register(
        ServiceDefinition(
            id="boom",
            hook="patient-view",
            title="b",
            description="fails",
            usage_requirements="",
            prefetch=(),
            handler=boom,
        )
    )
    app = make_app(make_settings(), registry=registry, kb=STAND_IN_KB)
    resp = app.test_client().post("/cds-services/boom", json=body())
    assert resp.status_code == 500
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and "Jane" not in text
    assert outcome_code(resp) == "internal-error"
    assert "Jane" not in caplog.text and "Traceback" not in caplog.text


def test_next_links_with_dot_segments_are_not_followed(echo):
    payload = body(fhirServer=FHIR)
    payload["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": f"{FHIR}/../../admin/Condition?page=2"}],
    }
    with responses.RequestsMock() as mock:
        resp = echo.post("/cds-services/echo", json=payload)
        assert len(mock.calls) == 0
    assert resp.status_code == 412


@pytest.mark.parametrize(
    "server",
    [
        f"{FHIR}/../admin",
        f"{FHIR}/%2e%2e/admin",
        f"{FHIR}/./x",
        "https://user:pw@fhir.example.org/r4",
    ],
)
def test_fhir_server_urls_that_could_escape_the_allowlist_are_refused(server):
    from cds_hooks.fhir_client import fhir_server_allowed

    assert not fhir_server_allowed(server, [FHIR], allow_insecure_loopback=False)
    assert fhir_server_allowed(f"{FHIR}/sub", [FHIR], allow_insecure_loopback=False)


def test_unknown_service_is_refused_before_the_body_is_parsed(echo):
    resp = echo.post(
        "/cds-services/no-such-service", data="{not json", content_type="application/json"
    )
    assert resp.status_code == 404
    assert outcome_code(resp) == "unknown-service"


@pytest.mark.parametrize("link", [5, True, 1.5, "next", {"relation": "next"}, [None, 3, "x"]])
def test_a_prefetched_bundle_with_an_ill_typed_link_is_used_as_one_page(echo, link):
    """Issue 15 (fuzz): a Bundle whose ``link`` is not a list of objects answered 500."""
    payload = body(fhirServer=FHIR)
    payload["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": link,
        "entry": [{"resource": {"resourceType": "Condition", "id": "c1"}}],
    }
    with responses.RequestsMock() as mock:
        resp = echo.post("/cds-services/echo", json=payload)
        assert len(mock.calls) == 0
    assert resp.status_code == 200
    assert [e["resource"]["id"] for e in SEEN[-1]["conditions"]["entry"]] == ["c1"]


@pytest.mark.parametrize("page", [{"link": 7}, {"entry": 3}, {"entry": {"resource": {}}}])
def test_a_fetched_page_with_ill_typed_members_does_not_answer_500(echo, page):
    page2 = f"{FHIR}/Condition?patient=p1&page=2"
    payload = body(fhirServer=FHIR)
    payload["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": page2}],
        "entry": [{"resource": {"resourceType": "Condition", "id": "c1"}}],
    }
    with responses.RequestsMock() as mock:
        mock.get(page2, json={"resourceType": "Bundle", "type": "searchset", **page})
        resp = echo.post("/cds-services/echo", json=payload)
    assert resp.status_code in {200, 412}, resp.get_data(as_text=True)
