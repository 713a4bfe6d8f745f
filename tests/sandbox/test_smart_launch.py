"""The therapy-timeline SMART app against a small authorization server run in the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from cds_hooks.timeline.launch import DEFAULT_CLIENT_ID, READ_SCOPES, pkce_pair
from tests.peers import free_port
from tests.sandbox.conftest import serve
from tests.sandbox.smart_peer import SmartPeer

SCENARIO = "gist-progressed-on-imatinib"
PATIENT = "demo-gist-progressed"


@pytest.fixture
def stack(served: Callable[..., str]) -> Iterator[tuple[str, SmartPeer]]:
    cds_port = free_port()
    cds_base = f"http://127.0.0.1:{cds_port}"
    peer = SmartPeer(
        client_id=DEFAULT_CLIENT_ID,
        redirect_uri=f"{cds_base}/app/timeline/callback",
        patient_id=PATIENT,
        scenario=SCENARIO,
    )
    port = free_port()
    peer.base = f"http://127.0.0.1:{port}"
    with serve(peer.app(), port):
        base = served(port=cds_port, base_url=cds_base, fhir_allowlist=[peer.fhir_base])
        assert base == cds_base
        yield base, peer


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _launch(
    browser: requests.Session, base: str, peer: SmartPeer, **params: str
) -> requests.Response:
    launch = browser.get(f"{base}/app/timeline/launch", params=params, allow_redirects=False)
    assert launch.status_code == 302, launch.text
    authorize = browser.get(launch.headers["Location"], allow_redirects=False)
    assert authorize.status_code == 302, authorize.text
    assert authorize.headers["Location"].startswith(f"{base}/app/timeline/callback?")
    return browser.get(authorize.headers["Location"], allow_redirects=False)


def test_ehr_launch_pkce_flow_renders_the_timeline(stack: tuple[str, SmartPeer]) -> None:
    base, peer = stack
    with requests.Session() as browser:
        page = _launch(
            browser, base, peer, patient=PATIENT, iss=peer.fhir_base, launch=peer.launch_value
        )
        assert page.status_code == 200, page.text
        assert page.headers["Content-Type"].startswith("text/html")
        assert page.headers["Cache-Control"] == "no-store"
        html = page.text
        for text in ("imatinib", "400 mg/day", "2023-03-01", "2024-09-16", "progression"):
            assert text in html
        assert "sunitinib" in html.lower()  # the recommended next step
        assert "<details" in html and "Evidence" in html
        # the launch cookie is consumed: replaying the callback fails
        sent = peer.authorize_requests[-1]
        replay = browser.get(
            f"{base}/app/timeline/callback", params={"code": "x", "state": sent["state"]}
        )
        assert replay.status_code == 400
    request = peer.authorize_requests[-1]
    assert set(request["scope"].split()) == {"launch", *READ_SCOPES}
    assert request["launch"] == peer.launch_value
    assert request["aud"] == peer.fhir_base
    assert request["code_challenge_method"] == "S256"
    token_request = peer.token_requests[-1]
    assert token_request["grant_type"] == "authorization_code"
    assert "client_secret" not in token_request
    assert len(token_request["code_verifier"]) >= 43
    assert any(
        p.startswith("/fhir/MedicationRequest?patient=demo-gist-progressed")
        for p in peer.fhir_requests
    )


def test_standalone_launch_asks_for_patient_context(stack: tuple[str, SmartPeer]) -> None:
    base, peer = stack
    with requests.Session() as browser:
        page = _launch(browser, base, peer, iss=peer.fhir_base)
        assert page.status_code == 200
        assert "imatinib" in page.text
    request = peer.authorize_requests[-1]
    assert "launch/patient" in request["scope"].split()
    assert "launch" not in request


def test_state_mismatch_and_missing_cookie_are_refused(stack: tuple[str, SmartPeer]) -> None:
    base, peer = stack
    with requests.Session() as browser:
        launch = browser.get(
            f"{base}/app/timeline/launch", params={"iss": peer.fhir_base}, allow_redirects=False
        )
        authorize = browser.get(launch.headers["Location"], allow_redirects=False)
        query = _query(authorize.headers["Location"])
        forged = browser.get(
            f"{base}/app/timeline/callback", params={"code": query["code"], "state": "forged"}
        )
        assert forged.status_code == 400
        assert "does not belong" in forged.text
    # a fresh browser (no cookie) cannot use a stolen code either
    fresh = requests.get(f"{base}/app/timeline/callback", params=query)
    assert fresh.status_code == 400
    assert "imatinib" not in fresh.text
    assert len(peer.token_requests) == 0  # no code was ever exchanged


def test_fhir_servers_off_the_allowlist_are_refused(stack: tuple[str, SmartPeer]) -> None:
    base, peer = stack
    for iss in ("https://fhir.elsewhere.example/r4", "http://10.0.0.5/fhir", f"{peer.base}/other"):
        page = requests.get(
            f"{base}/app/timeline/launch", params={"iss": iss}, allow_redirects=False
        )
        assert page.status_code == 403, iss
        direct = requests.get(f"{base}/app/timeline", params={"iss": iss, "patient": PATIENT})
        assert direct.status_code == 403
    assert peer.authorize_requests == [] and peer.fhir_requests == []


def test_secured_server_read_directly_is_sent_through_the_launch(
    stack: tuple[str, SmartPeer],
) -> None:
    base, peer = stack
    page = requests.get(
        f"{base}/app/timeline",
        params={"iss": peer.fhir_base, "patient": PATIENT},
        allow_redirects=False,
    )
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/app/timeline/launch?iss=")


def test_authorization_error_is_shown_escaped(stack: tuple[str, SmartPeer]) -> None:
    base, _ = stack
    page = requests.get(
        f"{base}/app/timeline/callback", params={"error": "<script>alert(1)</script>"}
    )
    assert page.status_code == 400
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text


def test_pkce_pair_is_s256() -> None:
    import base64
    import hashlib

    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert challenge == digest.decode()
    assert pkce_pair()[0] != verifier


def _unused(*_: Any) -> None:  # keeps the Any import meaningful for type checkers
    return None


def test_card_patient_must_match_the_launch_patient(stack: tuple[str, SmartPeer]) -> None:
    base, peer = stack
    with requests.Session() as browser:
        page = _launch(
            browser,
            base,
            peer,
            patient="someone-else",
            iss=peer.fhir_base,
            launch=peer.launch_value,
        )
    assert page.status_code == 400
    assert "differs" in page.text


def test_open_server_launch_with_the_card_patient_reads_directly(
    served: Callable[..., str],
) -> None:
    """The card's smart link carries ?patient=; on an open server (no smart-configuration)
    the launch goes straight to the page."""
    base = served(fhir_allowlist=["http://127.0.0.1:9/fhir"])
    # discovery on a closed port fails: a clear 502 page, no crash
    page = requests.get(
        f"{base}/app/timeline/launch",
        params={"iss": "http://127.0.0.1:9/fhir", "launch": "x", "patient": PATIENT},
    )
    assert page.status_code == 502


def test_http_endpoints_are_allowed_only_on_real_loopback_addresses(make_settings):
    from cds_hooks.timeline.launch import url_ok

    settings = make_settings()
    assert url_ok("http://127.0.0.1:9000/token", settings)
    assert url_ok("http://[::1]:9000/token", settings)
    assert url_ok("https://auth.example.org/token", settings)
    # a DNS name that merely starts with 127. is not loopback
    assert not url_ok("http://127.attacker.example/token", settings)
    assert not url_ok("http://auth.example.org/token", settings)
