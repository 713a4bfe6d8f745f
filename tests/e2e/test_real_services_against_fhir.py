"""The real sarcoma services fetch a patient's whole record from a real FHIR server.

A KIT exon 9 GIST patient is loaded into sekmet-fhir; the hooks arrive with no prefetch at
all, and the cards show that conditions, genomics and medications were fetched and used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.workloads import PATIENT_ID, draft_imatinib, fhir_resources
from tests.contract.wire import assert_valid_card, empty_members
from tests.peers import put_resources, sekmet_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fhir_base(tmp_path_factory) -> Iterator[str]:
    with sekmet_server(Path(tmp_path_factory.mktemp("sekmet-real"))) as base:
        put_resources(base, fhir_resources(60))
        yield base


def test_patient_view_without_prefetch_reads_the_record_from_the_fhir_server(
    make_app, make_settings, fhir_base
):
    app = make_app(make_settings(fhir_allowlist=[fhir_base]))
    body = {
        "hook": "patient-view",
        "hookInstance": "c3a1d2b4-0000-4000-8000-00000000e2e1",
        "fhirServer": fhir_base,
        "context": {"userId": "Practitioner/e2e", "patientId": PATIENT_ID},
    }
    resp = app.test_client().post("/cds-services/sarcoma-patient-view", json=body)
    assert resp.status_code == 200, resp.get_json()
    data = resp.get_json()
    assert empty_members(data) == []
    details = "\n".join(card.get("detail", "") for card in data["cards"])
    assert "Condition/cond-gist" in details  # conditions were fetched
    assert "Observation/gen-0" in details and "exon 9" in details  # genomics were fetched
    for card in data["cards"]:
        assert_valid_card(card)


def test_order_sign_without_prefetch_warns_on_the_draft_dose(make_app, make_settings, fhir_base):
    app = make_app(make_settings(fhir_allowlist=[fhir_base]))
    draft = draft_imatinib()
    body = {
        "hook": "order-sign",
        "hookInstance": "c3a1d2b4-0000-4000-8000-00000000e2e2",
        "fhirServer": fhir_base,
        "context": {
            "userId": "Practitioner/e2e",
            "patientId": PATIENT_ID,
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": draft}],
            },
        },
    }
    resp = app.test_client().post("/cds-services/sarcoma-order-sign", json=body)
    assert resp.status_code == 200, resp.get_json()
    cards = resp.get_json()["cards"]
    assert [c["indicator"] for c in cards] == ["warning"]
    assert "exon 9" in cards[0]["summary"]
    update = cards[0]["suggestions"][0]["actions"][0]
    assert update["type"] == "update"
    assert update["resource"]["id"] == draft["id"]
    assert_valid_card(cards[0], {"MedicationRequest/draft-imatinib"})


class MethodRecordingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.methods: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.methods.append(method if isinstance(method, str) else method.decode())
        return super().request(method, url, *args, **kwargs)


def test_patient_view_cards_are_the_same_whether_the_record_is_read_in_a_batch_or_not(
    make_app, make_settings, fhir_base
):
    """sekmet takes a FHIR batch: the six searches go in one POST. With the batch refused the
    service reads them with six GETs; the cards are the same, word for word."""
    body = {
        "hook": "patient-view",
        "hookInstance": "c3a1d2b4-0000-4000-8000-00000000e2e3",
        "fhirServer": fhir_base,
        "context": {"userId": "Practitioner/e2e", "patientId": PATIENT_ID},
    }
    answers = {}
    for batch in (True, False):
        session = MethodRecordingSession()
        app = make_app(make_settings(fhir_allowlist=[fhir_base]), session=session)
        if not batch:
            app.extensions["cds"].batch_support.refuse(fhir_base, "test")
        resp = app.test_client().post("/cds-services/sarcoma-patient-view", json=body)
        assert resp.status_code == 200, resp.get_json()
        assert session.methods == (["POST"] if batch else ["GET"] * 6)
        cards = resp.get_json()["cards"]
        for card in cards:
            card.pop("uuid", None)
        answers[batch] = cards
    assert answers[True] and answers[True] == answers[False]
