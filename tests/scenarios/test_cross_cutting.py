"""Cross-cutting properties over HTTP: critical only for resistance, safety, order-select scope,
no empty members, determinism of uuids (issue 5, "Engine and cards" and "Tests")."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from tests.contract.wire import empty_members
from tests.scenarios import builders as b
from tests.scenarios.conftest import (
    all_actions,
    card_with,
    check_response,
    created_drugs,
    marked_unsafe,
)

GIST = [b.condition("gist"), b.metastasis("liver")]  # advanced disease
D842V = [b.pdgfra_d842v(), b.negative("KIT")]
EXON11 = [b.kit_exon11(), b.negative("PDGFRA")]
EXON9 = [b.kit_exon9(), b.negative("PDGFRA")]

#: A spread of requests over the three hooks (each item's firing case and a few silent ones).
CORPUS = {
    "pv-gist-untested": b.patient_view(conditions=GIST),
    "pv-gist-d842v-on-imatinib": b.patient_view(
        conditions=GIST, genomics=D842V, medications=[b.medication("imatinib", mg=400)]
    ),
    "pv-gist-d842v-after-imatinib-failure": b.patient_view(
        conditions=GIST, genomics=D842V, medications=[b.progressed("imatinib", mg=400)]
    ),
    "pv-gist-wild-type": b.patient_view(conditions=GIST, genomics=[b.negative("KIT", "PDGFRA")]),
    "pv-gist-4l": b.patient_view(
        conditions=GIST,
        genomics=EXON11,
        medications=[
            b.progressed("imatinib", mg=400, authored="2021-01-01"),
            b.progressed("sunitinib", mg=50, authored="2022-01-01"),
            b.progressed("regorafenib", mg=160, authored="2023-01-01"),
        ],
    ),
    "pv-lms-ntrk": b.patient_view(
        conditions=[b.condition("leiomyosarcoma")], genomics=[b.fusion("ETV6", "NTRK3")]
    ),
    "pv-ccs": b.patient_view(conditions=[b.condition("ccs")]),
    "sign-d842v-three-tkis": b.order_sign(
        [b.draft("imatinib", mg=400), b.draft("sunitinib", mg=50), b.draft("regorafenib", mg=160)],
        conditions=GIST,
        genomics=D842V,
        medications=[b.medication("clarithromycin")],
    ),
    "select-exon9-two-drafts": b.order_select(
        [b.draft("imatinib", mg=400), b.draft("ripretinib", mg=150)],
        conditions=GIST,
        genomics=EXON9,
    ),
    "sign-lps-pazopanib": b.order_sign(
        [b.draft("pazopanib", mg=800)],
        conditions=[b.condition("liposarcoma")],
        medications=[b.medication("rifampin")],
    ),
}


def _post(client: FlaskClient, body: dict) -> dict:
    response = client.post(f"/cds-services/{b.SERVICE_FOR_HOOK[body['hook']]}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_no_empty_member_and_valid_cards_in_every_answer(client, name):
    body = CORPUS[name]
    answer = _post(client, body)
    assert empty_members(answer) == []
    check_response(body, answer)  # assert_valid_card on every card, with the draft ids
    assert answer["cards"], "each corpus request is a firing scenario"


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_safety_no_suggestion_orders_a_resisted_drug(client, name):
    cards = _post(client, CORPUS[name])["cards"]
    assert not marked_unsafe(cards) & created_drugs(cards)


def test_safety_d842v_marks_the_kinase_inhibitors_and_orders_only_avapritinib(client):
    cards = _post(client, CORPUS["pv-gist-d842v-after-imatinib-failure"])["cards"]
    assert {"imatinib", "sunitinib", "regorafenib"} <= marked_unsafe(cards)
    assert created_drugs(cards) == {"avapritinib"}
    assert "sunitinib" not in " ".join(c["summary"] for c in cards).lower()


def test_critical_only_for_resistant_genotype_or_contraindicated_drug(client):
    for name, body in CORPUS.items():
        for card in _post(client, body)["cards"]:
            if card["indicator"] == "critical":
                assert "D842V" in card["summary"], (name, card["summary"])
                assert "resist" in card["detail"].lower() or "inactive" in card["summary"]


def test_order_sign_cards_critical_first_one_per_draft(client):
    body = CORPUS["sign-d842v-three-tkis"]
    cards = _post(client, body)["cards"]
    order = {"critical": 0, "warning": 1, "info": 2}
    assert [order[c["indicator"]] for c in cards] == sorted(order[c["indicator"]] for c in cards)
    critical = card_with(cards, "D842V", indicator="critical")
    replaced = {
        f"MedicationRequest/{a['resource']['id']}"
        for a in all_actions([critical])
        if a["type"] == "update"
    }
    assert replaced == {
        "MedicationRequest/draft-imatinib",
        "MedicationRequest/draft-sunitinib",
        "MedicationRequest/draft-regorafenib",
    }
    summaries = [c["summary"] for c in cards]
    assert len(summaries) == len(set(summaries)), "no duplicate cards"


def test_order_select_cards_only_concern_the_selected_order(client):
    imatinib, ripretinib = b.draft("imatinib", mg=400), b.draft("ripretinib", mg=150)
    both = _post(client, CORPUS["select-exon9-two-drafts"])["cards"]
    assert {c["summary"].split()[0] for c in both} >= {"KIT", "Ripretinib"}
    only_ripretinib = b.order_select(
        [imatinib, ripretinib],
        selections=["MedicationRequest/draft-ripretinib"],
        conditions=GIST,
        genomics=EXON9,
    )
    cards = check_response(only_ripretinib, _post(client, only_ripretinib))
    assert cards and all(c["summary"].startswith("Ripretinib") for c in cards)
    assert all("MedicationRequest/draft-imatinib" not in json.dumps(c) for c in cards)
    only_imatinib = b.order_select(
        [imatinib, ripretinib],
        selections=["MedicationRequest/draft-imatinib"],
        conditions=GIST,
        genomics=EXON9,
    )
    cards = check_response(only_imatinib, _post(client, only_imatinib))
    assert [c["summary"].split()[0] for c in cards] == ["KIT"]
    assert all("ripretinib" not in json.dumps(c).lower() for c in cards)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_determinism_same_request_same_json(client, name):
    first = _post(client, CORPUS[name])
    second = _post(client, CORPUS[name])
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def _uuids(answer: dict) -> set[str]:
    out = set()
    for card in answer["cards"]:
        out.add(card["uuid"])
        out |= {s["uuid"] for s in card.get("suggestions", [])}
    return out


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_determinism_other_hook_instance_other_uuids(client, name):
    body = json.loads(json.dumps(CORPUS[name]))
    first = _post(client, body)
    body["hookInstance"] = "0b7e6f0a-2c1d-4e5f-8a9b-0c1d2e3f4a5b"
    second = _post(client, body)
    assert _uuids(first) and not _uuids(first) & _uuids(second)
    strip = [
        {k: v for k, v in c.items() if k not in {"uuid", "suggestions"}} for c in first["cards"]
    ]
    again = [
        {k: v for k, v in c.items() if k not in {"uuid", "suggestions"}} for c in second["cards"]
    ]
    assert strip == again, "only the uuids depend on the hook instance"
