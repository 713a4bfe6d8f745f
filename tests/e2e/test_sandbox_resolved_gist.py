"""The demo patient demo-gist-resected, with prefetch resolved the way the CDS Hooks Sandbox does.

The Sandbox (cds-hooks/sandbox, service-exchange.js) resolves every template of the discovery
document itself: a search is POSTed to ``{type}/_search`` as a form body (``|`` and ``,``
percent-encoded as %7C and %2C), with GET as the fallback; ``next`` pages are never followed;
a failed key is dropped. The HTTP scenarios send the GIST risk Observations directly, which hid
that the templates did not fetch them: patient-view then answered only the summary card.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests

from cds_hooks.demo import __file__ as demo_init
from tests.contract.wire import assert_valid_card, empty_members
from tests.peers import put_resources, sekmet_server

pytestmark = pytest.mark.e2e

PATIENT = "demo-gist-resected"
BUNDLE = Path(demo_init).parent / "gist-resected-high-risk.json"


@pytest.fixture(scope="module")
def fhir_base(tmp_path_factory) -> Iterator[str]:
    bundle = json.loads(BUNDLE.read_text())
    with sekmet_server(Path(tmp_path_factory.mktemp("sekmet-gist"))) as base:
        put_resources(base, [entry["resource"] for entry in bundle["entry"]])
        yield base


def sandbox_prefetch(base: str, templates: dict[str, str], patient: str) -> dict[str, Any]:
    """Each template resolved as the Sandbox does: POST _search (form body), GET on error,
    first page only; a key whose query fails on both is left out."""
    prefetch: dict[str, Any] = {}
    with requests.Session() as session:
        for key, template in templates.items():
            path, _, query = template.replace("{{context.patientId}}", patient).partition("?")
            headers = {"Accept": "application/fhir+json"}
            if query:
                params = parse_qsl(query)
                resp = session.post(f"{base}/{path}/_search", data=params, headers=headers)
                if not resp.ok:
                    resp = session.get(f"{base}/{path}", params=params, headers=headers)
            else:
                resp = session.get(f"{base}/{path}", headers=headers)
            if resp.ok:
                prefetch[key] = resp.json()
    return prefetch


def test_patient_view_on_sandbox_resolved_prefetch_does_not_stay_silent(
    make_app, make_settings, fhir_base
):
    app = make_app(make_settings(fhir_allowlist=[fhir_base]))
    client = app.test_client()
    service = next(
        s
        for s in client.get("/cds-services").get_json()["services"]
        if s["id"] == "sarcoma-patient-view"
    )
    prefetch = sandbox_prefetch(fhir_base, service["prefetch"], PATIENT)
    assert set(prefetch) == set(service["prefetch"])  # every key resolved
    observations = [e["resource"]["id"] for e in prefetch["observations"].get("entry", [])]
    # Tumour size (LOINC 21889-1) is fetched by the template; the text-only mitotic count is not.
    assert "demo-gist-resected-lab-4" in observations, observations
    body = {
        "hook": "patient-view",
        "hookInstance": "c3a1d2b4-0000-4000-8000-00000000e2a7",
        "context": {"userId": "Practitioner/e2e", "patientId": PATIENT},
        "prefetch": prefetch,
    }
    resp = client.post("/cds-services/sarcoma-patient-view", json=body)
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert empty_members(data) == []
    cards = data["cards"]
    summaries = [c["summary"] for c in cards]
    gap = [c for c in cards if "risk of recurrence not available" in c["summary"]]
    assert gap, summaries  # not only the summary card
    detail = gap[0]["detail"]
    assert "not available: mitotic count per 5 mm2;" in detail, detail
    assert "`Observation/demo-gist-resected-lab-4`" in detail  # the size that was found
    assert "adjuvant imatinib" in gap[0]["summary"]
    # No first-line (advanced-setting) card for a resected GIST.
    assert not [s for s in summaries if "first line" in s.lower()], summaries
    for card in cards:
        assert_valid_card(card)
