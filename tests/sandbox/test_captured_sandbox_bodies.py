"""The exact bodies the real CDS Hooks Sandbox sent (tests/fixtures/sandbox, copied from
shared/reference/clients/cds-hooks-sandbox), replayed through the real HTTP API: each hook call
answers the cards the README's demo table promises, and each suggestion does what its label
says when, like the Sandbox, only its first action is applied.

The Sandbox's draft orders carry ``category`` as an object (not valid R4), code the medication
by RxNorm clinical drug (403879 imatinib 400 MG Oral Tablet, 867502 pazopanib 200 MG Oral
Tablet) and dose it as ``1 {pill}`` a day.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.scenarios.builders import SERVICE_FOR_HOOK
from tests.scenarios.conftest import apply_first_action, check_response, draft_orders

BODIES = Path(__file__).resolve().parents[1] / "fixtures" / "sandbox"


def body(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((BODIES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def post(client: FlaskClient, request: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post(f"/cds-services/{SERVICE_FOR_HOOK[request['hook']]}", json=request)
    assert response.status_code == 200, response.get_data(as_text=True)
    return check_response(request, response.get_json())


@pytest.mark.parametrize(
    "name",
    [
        "rx-view-demo-gist-d842v-0-opened--order-select",
        "rx-view-demo-sarcoma-nos-0-opened--order-select",
    ],
)
def test_rx_view_opened_with_no_medication_chosen_is_silent(client: FlaskClient, name: str) -> None:
    # The draft has no medication yet: not an order to check, and no phantom
    # medicationReference problem on any card.
    assert post(client, body(name)) == []


@pytest.mark.parametrize(
    "name",
    [
        "rx-view-demo-gist-d842v-1-chosen--order-select",
        "rx-sign-demo-gist-d842v-2-signed--order-sign",
    ],
)
def test_d842v_imatinib_order_gets_the_critical_card(client: FlaskClient, name: str) -> None:
    request = body(name)
    cards = post(client, request)
    assert cards, "the Sandbox showed 'All clear!' for this order"
    card = cards[0]
    assert card["indicator"] == "critical"
    assert "D842V" in card["summary"] and "avapritinib" in card["summary"]
    # identified by its clinical-drug code: no "identified by name" note; the tablet count
    # times the strength of 403879 is the dose on the card
    assert "by name" not in card["detail"]
    assert "imatinib at 400 mg/day" in card["detail"]
    # the non-conformant category is named as a data-quality line, not a reason to drop
    assert (
        "`MedicationRequest/request-123`: category: object where a list is required"
        in (card["detail"])
    )
    (suggestion,) = card["suggestions"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    # what the Sandbox holds after applying the first (only) action
    after = apply_first_action(draft_orders(request), suggestion)
    (order,) = after.values()
    assert order["id"] == "request-123"
    assert order["medicationCodeableConcept"]["text"] == "avapritinib"
    assert order["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 300
    assert order["requester"] == {"reference": "Practitioner/COREPRACTITIONER1"}
    assert "category" not in order


@pytest.mark.parametrize(
    "name",
    [
        "rx-view-demo-sarcoma-nos-1-chosen--order-select",
        "rx-sign-demo-sarcoma-nos-2-signed--order-sign",
    ],
)
def test_no_subtype_pazopanib_order_gets_the_subtype_warning(
    client: FlaskClient, name: str
) -> None:
    cards = post(client, body(name))
    assert any(c["indicator"] == "warning" and "subtype" in c["summary"].lower() for c in cards), [
        c["summary"] for c in cards
    ]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("pv-demo-gist-d842v--patient-view", ("D842V", "avapritinib")),
        ("pv-demo-gist-progressed--patient-view", ("sunitinib",)),
        ("pv-demo-dsrct--patient-view", ("anlotinib",)),
    ],
)
def test_patient_view_bodies_answer_the_promised_cards(
    client: FlaskClient, name: str, words: tuple[str, ...]
) -> None:
    cards = post(client, body(name))
    assert any(all(w.lower() in c["summary"].lower() for w in words) for c in cards), [
        c["summary"] for c in cards
    ]


def test_feedback_bodies_are_accepted_after_the_call(client: FlaskClient) -> None:
    assert post(client, body("pv-demo-gist-progressed--patient-view"))
    for name in (
        "pv-demo-gist-progressed-suggestion--feedback",
        "pv-demo-gist-progressed-dismissed--feedback",
    ):
        feedback = body(name)
        response = client.post("/cds-services/sarcoma-patient-view/feedback", json=feedback)
        assert response.status_code == 200, response.get_data(as_text=True)


def test_a_malformed_dose_keeps_the_critical_card(client: FlaskClient) -> None:
    request = body("rx-sign-demo-gist-d842v-2-signed--order-sign")
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = "four hundred"
    cards = post(client, request)
    assert cards[0]["indicator"] == "critical"
    assert "dosageInstruction" in cards[0]["detail"]
    assert "four hundred" not in json.dumps(cards)


@pytest.mark.parametrize(
    "breakage",
    [
        {"medicationCodeableConcept": {"coding": {"code": "403879"}}},
        {"medicationReference": {"reference": "Medication/missing"}},
        {"medicationCodeableConcept": {"coding": [{"system": "urn:x", "code": "7"}]}},
    ],
    ids=["coding-object", "unresolvable-reference", "unknown-code-no-name"],
)
def test_an_unreadable_draft_gets_a_not_checked_card(
    client: FlaskClient, breakage: dict[str, Any]
) -> None:
    request = body("rx-sign-demo-gist-d842v-2-signed--order-sign")
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    draft.pop("medicationCodeableConcept")
    draft.update(copy.deepcopy(breakage))
    cards = post(client, request)
    (card,) = cards
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Not checked")
    assert "MedicationRequest/request-123" in card["detail"]


@pytest.mark.parametrize("resource_type", [["MedicationRequest"], {"x": 1}, 7])
def test_a_draft_with_an_unreadable_resource_type_is_a_card_not_a_500(
    client: FlaskClient, resource_type: Any
) -> None:
    request = body("rx-sign-demo-gist-d842v-2-signed--order-sign")
    request["context"]["draftOrders"]["entry"][0]["resource"]["resourceType"] = resource_type
    response = client.post("/cds-services/sarcoma-order-sign", json=request)
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 200:
        cards = response.get_json()["cards"]
        assert any(c["summary"].startswith("Not checked") for c in cards)


def test_an_implausible_tablet_count_gets_a_dose_card_and_keeps_the_critical_card(
    client: FlaskClient,
) -> None:
    # four tablets of imatinib 400 MG a day: 1600 mg/day, twice the labelled maximum
    request = body("rx-sign-demo-gist-d842v-2-signed--order-sign")
    draft = request["context"]["draftOrders"]["entry"][0]["resource"]
    draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 4
    cards = post(client, request)
    assert cards[0]["indicator"] == "critical" and "D842V" in cards[0]["summary"]
    (dose_card,) = [c for c in cards if c["summary"].startswith("Check the dose")]
    assert dose_card["indicator"] == "warning"
    assert (
        "imatinib 1600 mg/day is above the labelled maximum of 800 mg/day" in (dose_card["detail"])
    )
