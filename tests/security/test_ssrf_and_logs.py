"""SSRF: ``fhirServer`` may only reach an allowed base (no request leaves otherwise, counted on
loopback servers), and the full-hook-call log test: no token, JWT, patient name or identifier in
any log line."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from tests.security.conftest import FEEDBACK_BODY, Env
from tests.security.kit import (
    DISCOVERY_AUD,
    CountingServer,
    RecordingSession,
    bearer,
    counting_server,
)

PATIENT_ID = "ssrf-p1"
PATIENT_NAME = ("Quixotica", "Marmaduke-Zellweger")
MRN = "MRN-88127364"
ACCESS_TOKEN = "fhir-access-" + uuid.uuid4().hex


def patient() -> dict:
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "name": [{"family": PATIENT_NAME[1], "given": [PATIENT_NAME[0]]}],
        "identifier": [{"system": "urn:oid:1.2.840.114350.1.1", "value": MRN}],
        "gender": "female",
        "birthDate": "1961-04-17",
    }


def conditions() -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}


@pytest.fixture
def fhir() -> Iterator[CountingServer]:
    with counting_server() as server:
        server.json_route(f"/fhir/Patient/{PATIENT_ID}", patient())
        server.json_route("/fhir/Condition", conditions())
        yield server


@pytest.fixture
def elsewhere() -> Iterator[CountingServer]:
    """Another loopback server that must never be reached."""
    with counting_server() as server:
        server.json_route(f"/fhir/Patient/{PATIENT_ID}", patient())
        server.json_route("/fhir/Condition", conditions())
        yield server


def hook(fhir_server: str, **extra) -> dict:
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": fhir_server,
        "fhirAuthorization": {
            "access_token": ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "cds-service",
        },
        "context": {"userId": "Practitioner/ssrf-u1", "patientId": PATIENT_ID},
    }
    body.update(extra)
    return body


def call(env: Env, body: dict):
    path = "/cds-services/echo"
    return env.client.post(path, json=body, headers=bearer(env.epic_token(env.aud(path))))


def assert_412(resp) -> None:
    assert resp.status_code == 412, resp.get_json()
    assert resp.get_json()["issue"][0]["details"]["coding"][0]["code"] == "prefetch-unavailable"


def test_allowed_fhir_server_is_called_with_the_access_token(build_env, fhir):
    env = build_env(fhir_servers=[f"{fhir.base}/fhir"])
    resp = call(env, hook(f"{fhir.base}/fhir"))
    assert resp.status_code == 200, resp.get_json()
    assert sorted(p.split("?")[0] for m, p, _ in fhir.hits if m == "GET") == [
        "/fhir/Condition",
        f"/fhir/Patient/{PATIENT_ID}",
    ]
    # Before them, one offer of both reads as a FHIR batch (POST [base]), which this server
    # does not take.
    assert [(m, p) for m, p, _ in fhir.hits if m != "GET"] == [("POST", "/fhir")]
    assert all(h["Authorization"] == f"Bearer {ACCESS_TOKEN}" for _, _, h in fhir.hits)
    assert all(h["Accept"] == "application/fhir+json" for _, _, h in fhir.hits)


def test_fhir_server_on_a_non_allowed_host_gets_no_request(build_env, fhir):
    session = RecordingSession()
    env = build_env(fhir_servers=[f"{fhir.base}/fhir"], session=session)
    for server in (
        f"http://localhost:{fhir.port}/fhir",  # same socket, host not allowed
        "https://evil.example.org/fhir",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        f"http://127.0.0.1:{fhir.port}@evil.example.org/fhir",
        f"http://evil.example.org#@127.0.0.1:{fhir.port}/fhir",
        f"http://[::1]:{fhir.port}/fhir",
        f"http://2130706433:{fhir.port}/fhir",  # 127.0.0.1 as an integer
    ):
        assert_412(call(env, hook(server)))
    assert fhir.hits == []
    assert session.urls == []


def test_fhir_server_on_another_loopback_port_gets_no_request(build_env, fhir, elsewhere):
    env = build_env(fhir_servers=[f"{fhir.base}/fhir"])
    assert_412(call(env, hook(f"{elsewhere.base}/fhir")))
    assert elsewhere.hits == []
    assert fhir.hits == []


def test_fhir_server_outside_the_allowed_path_gets_no_request(build_env, fhir):
    env = build_env(fhir_servers=[f"{fhir.base}/fhir"])
    for server in (f"{fhir.base}/fhir-admin", f"{fhir.base}/", f"{fhir.base}/other/fhir"):
        assert_412(call(env, hook(server)))
    assert fhir.hits == []


def test_fhir_server_dot_segments_cannot_escape_the_allowed_path(build_env, fhir):
    env = build_env(fhir_servers=[f"{fhir.base}/fhir"])
    for server in (f"{fhir.base}/fhir/../admin", f"{fhir.base}/fhir/%2e%2e/admin"):
        call(env, hook(server))
    escaped = [
        p
        for p in fhir.paths()
        if not p.startswith("/fhir/") or ".." in p.lower() or "%2e%2e" in p.lower()
    ]
    assert escaped == [], fhir.paths()


def test_redirecting_fhir_server_is_not_followed(build_env, fhir, elsewhere):
    env = build_env(fhir_servers=[f"{fhir.base}/fhir"])
    fhir.redirect_route(
        f"/fhir/Patient/{PATIENT_ID}", f"{elsewhere.base}/fhir/Patient/{PATIENT_ID}"
    )
    fhir.redirect_route("/fhir/Condition", f"{elsewhere.base}/fhir/Condition")
    assert_412(call(env, hook(f"{fhir.base}/fhir")))
    assert len(fhir.hits) >= 1  # the allowed base was asked ...
    assert elsewhere.hits == []  # ... and its redirect was not followed


def test_bundle_next_link_off_the_allowed_base_is_not_followed(build_env, fhir, elsewhere):
    env = build_env(fhir_servers=[f"{fhir.base}/fhir"])
    paged = conditions() | {
        "link": [{"relation": "next", "url": f"{elsewhere.base}/fhir/Condition?page=2"}]
    }
    fhir.json_route("/fhir/Condition", paged)
    assert_412(call(env, hook(f"{fhir.base}/fhir")))
    assert elsewhere.hits == []


def test_fhir_allowlist_setting_also_allows_a_base(build_env, fhir, elsewhere):
    env = build_env(fhir_allowlist=[f"{fhir.base}/fhir"])
    assert call(env, hook(f"{fhir.base}/fhir")).status_code == 200
    assert_412(call(env, hook(f"{elsewhere.base}/fhir")))
    assert elsewhere.hits == []


def test_fhir_servers_of_one_client_are_not_granted_to_another(build_env, fhir):
    env = build_env(fhir_servers=[f"{fhir.base}/fhir"])
    path = "/cds-services/echo"
    token = env.sandbox_token(env.aud(path))  # the Sandbox entry has no fhir_servers
    resp = env.client.post(path, json=hook(f"{fhir.base}/fhir"), headers=bearer(token))
    assert_412(resp)
    assert fhir.hits == []


# -- logs --------------------------------------------------------------------------------------


def _rendered(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    lines = []
    for record in records:
        lines.append(formatter.format(record))
        lines.append(repr(record.__dict__))
    return lines


def test_no_token_jwt_patient_name_or_identifier_in_any_log_line(build_env, fhir):
    env = build_env(fhir_servers=[f"{fhir.base}/fhir"])
    path = "/cds-services/echo"
    jwts = []

    def token(aud: str) -> str:
        value = env.epic_token(aud, sub="epic-user-8271")
        jwts.append(value)
        return value

    # discovery, a hook call that fetches from fhirServer, one with full prefetch, feedback,
    # a replay, a tampered token, and a refused fhirServer
    assert env.discovery(token(DISCOVERY_AUD)).status_code == 200
    resp = env.client.post(
        path, json=hook(f"{fhir.base}/fhir"), headers=bearer(token(env.aud(path)))
    )
    assert resp.status_code == 200
    prefetched = hook(
        f"{fhir.base}/fhir", prefetch={"patient": patient(), "conditions": conditions()}
    )
    resp = env.client.post(path, json=prefetched, headers=bearer(token(env.aud(path))))
    assert resp.status_code == 200
    feedback = f"{path}/feedback"
    resp = env.client.post(feedback, json=FEEDBACK_BODY, headers=bearer(token(env.aud(feedback))))
    assert resp.status_code == 200
    assert env.discovery(jwts[0]).status_code == 401
    tampered = jwts[1][:-6] + "AAAAAA"
    resp = env.client.post(path, json=hook(f"{fhir.base}/fhir"), headers=bearer(tampered))
    assert resp.status_code == 401
    resp = env.client.post(
        path, json=hook("https://evil.example.org/fhir"), headers=bearer(token(env.aud(path)))
    )
    assert resp.status_code == 412

    forbidden = {ACCESS_TOKEN, MRN, *PATIENT_NAME, "1961-04-17", "epic-user-8271"}
    for value in jwts:
        forbidden.update(value.split("."))  # header, payload and signature segments
        forbidden.add(
            json.loads(__import__("base64").urlsafe_b64decode(value.split(".")[1] + "==="))["jti"]
        )
    lines = _rendered(env.records)
    assert len(env.records) >= 7  # the calls were logged ...
    leaks = [(secret, line) for line in lines for secret in forbidden if secret in line]
    assert leaks == []  # ... without any secret or patient data


def test_patient_id_is_not_logged_by_the_service(build_env, fhir):
    # The service's own loggers never log the patient id (third-party DEBUG loggers such as
    # urllib3 log request paths; the service runs at INFO).
    env = build_env(fhir_servers=[f"{fhir.base}/fhir"])
    path = "/cds-services/echo"
    resp = env.client.post(
        path, json=hook(f"{fhir.base}/fhir"), headers=bearer(env.epic_token(env.aud(path)))
    )
    assert resp.status_code == 200
    own = [r for r in env.records if r.name.startswith("cds_hooks") or r.levelno >= logging.INFO]
    assert own
    assert [line for line in _rendered(own) if PATIENT_ID in line] == []
