"""Card rendering: wire shape, FHIR suggestions, evidence in the detail, deterministic ids."""

from __future__ import annotations

import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rules"))

from sarcoma_case_factory import build_patient

from cds_hooks.card_ids import CARD_NAMESPACE, card_uuid
from cds_hooks.cards import clip, render
from rules import evaluate, load_kb

KB = load_kb()
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
AS_OF = date(2026, 1, 15)


def _cards(
    spec: dict[str, Any],
    hook: str,
    drafts: dict[str, dict[str, Any]] | None = None,
    hook_instance: str = "hi-1",
    issues: tuple[object, ...] = (),
    user_id: str | None = None,
) -> list[dict[str, Any]]:
    recs = evaluate(build_patient(spec), KB, AS_OF, hook)
    cards = render(
        recs,
        hook=hook,
        hook_instance=hook_instance,
        patient_id="p1",
        draft_orders=drafts or {},
        kb_version=KB.version,
        issues=issues,
        authored_on=AS_OF.isoformat(),
        user_id=user_id,
    )
    return [c.to_wire() for c in cards]


def _walk_empty(value: Any, path: str = "") -> list[str]:
    if value in (None, "", [], {}):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _walk_empty(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _walk_empty(v, f"{path}[{i}]")]
    return []


D842V = {
    "diagnoses": [{"histology": "gist", "ref": "Condition/c1"}],
    "biomarkers": [{"gene": "PDGFRA", "exon": 18, "hotspot": "D842V", "ref": "Observation/o1"}],
}


def test_patient_view_card_recommends_avapritinib_with_a_real_fhir_order() -> None:
    cards = _cards(D842V, "patient-view")
    summary = next(c for c in cards if "avapritinib" in c["summary"])
    assert "avapritinib" in summary["summary"] and len(summary["summary"]) < 140
    detail = summary["detail"]
    assert "`Condition/c1`" in detail and "`Observation/o1`" in detail
    assert "**Evidence:** Regulatory label, read in a secondary copy" in detail
    assert "`gist-pdgfra-d842v-avapritinib@" in detail
    assert KB.version in detail
    assert summary["source"]["url"] == "https://rxreasoner.com/monographs/ayvakit/usage"
    assert all(link["url"].startswith("https://") for link in summary.get("links", []))
    assert summary["selectionBehavior"] == "at-most-one"
    (suggestion,) = summary["suggestions"]
    (action,) = suggestion["actions"]
    resource = action["resource"]
    assert action["type"] == "create"
    assert resource["resourceType"] == "MedicationRequest"
    assert (resource["status"], resource["intent"]) == ("draft", "order")
    assert resource["subject"] == {"reference": "Patient/p1"}
    codings = resource["medicationCodeableConcept"]["coding"]
    assert codings == [
        {"system": "http://www.whocc.no/atc", "code": "L01EX18", "display": "avapritinib"}
    ]
    assert resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 300
    assert {r["code"] for r in summary["overrideReasons"]} >= {"clinical-trial", "tumour-board"}
    assert all(r["display"] for r in summary["overrideReasons"])


def test_patient_view_adds_one_card_per_data_gap_with_a_service_request() -> None:
    cards = _cards({"diagnoses": [{"histology": "gist"}]}, "patient-view")
    gap = next(c for c in cards if "KIT/PDGFRA genotype missing" in c["summary"])
    assert gap["indicator"] == "warning"
    assert gap["selectionBehavior"] == "any"
    codes = {
        a["resource"]["code"]["coding"][0]["code"] for s in gap["suggestions"] for a in s["actions"]
    }
    assert codes == {"55201-8"}  # one KIT/PDGFRA panel order (the rule asks for the full panel)
    resource = gap["suggestions"][0]["actions"][0]["resource"]
    assert resource["resourceType"] == "ServiceRequest"
    assert resource["code"]["coding"][0]["system"] == "http://loinc.org"
    # one card per recommendation, most severe first
    assert all(c["detail"].count("Rule `") == 1 for c in cards)
    order = {"critical": 0, "warning": 1, "info": 2}
    assert [order[c["indicator"]] for c in cards] == sorted(order[c["indicator"]] for c in cards)


def test_order_sign_critical_card_replaces_the_resisted_draft() -> None:
    spec = {**D842V, "drafts": [{"drug": "imatinib", "mg": 400, "id": "mr-9"}]}
    drafts = {"MedicationRequest/mr-9": {"resourceType": "MedicationRequest", "id": "mr-9"}}
    cards = _cards(spec, "order-sign", drafts)
    assert cards[0]["indicator"] == "critical"
    # One update of the draft (same id): clients that apply only the first action of a
    # suggestion (the CDS Hooks Sandbox) then hold avapritinib instead of an emptied order.
    (action,) = cards[0]["suggestions"][0]["actions"]
    assert action["type"] == "update"
    resource = action["resource"]
    assert (resource["resourceType"], resource["id"]) == ("MedicationRequest", "mr-9")
    assert resource["medicationCodeableConcept"]["text"] == "avapritinib"
    (dosage,) = resource["dosageInstruction"]
    assert dosage["text"] == "300 mg orally once daily on an empty stomach"
    assert resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 300
    assert resource["authoredOn"] == AS_OF.isoformat()
    assert "resourceId" not in action
    assert cards[0]["selectionBehavior"] == "at-most-one"
    assert all(c["indicator"] != "info" for c in cards[:1])


def test_update_suggestion_carries_the_whole_draft_with_the_new_dose() -> None:
    spec = {
        "diagnoses": [{"histology": "gist"}],
        "biomarkers": [{"gene": "KIT", "exon": 9}],
        "drafts": [{"drug": "imatinib", "mg": 400, "id": "mr-5"}],
    }
    draft = {
        "resourceType": "MedicationRequest",
        "id": "mr-5",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "imatinib 400 mg tablet"},
        "dosageInstruction": [{"text": "400 mg once daily"}],
        "note": [{"text": "kept"}],
    }
    cards = _cards(spec, "order-select", {"MedicationRequest/mr-5": draft})
    card = next(c for c in cards if "exon 9" in c["summary"])
    (action,) = card["suggestions"][0]["actions"]
    assert action["type"] == "update"
    resource = action["resource"]
    assert resource["id"] == "mr-5" and resource["note"] == [{"text": "kept"}]
    assert resource["medicationCodeableConcept"] == {"text": "imatinib 400 mg tablet"}
    dosage = resource["dosageInstruction"][0]
    assert dosage["timing"]["repeat"]["frequency"] == 2
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 400
    assert draft["dosageInstruction"] == [{"text": "400 mg once daily"}], "input not mutated"


def test_nothing_is_said_about_a_correct_order() -> None:
    spec = {
        "diagnoses": [{"histology": "gist"}],
        "biomarkers": [{"gene": "KIT", "exon": 11}],
        "drafts": [{"drug": "imatinib", "mg": 400, "id": "mr-1"}],
    }
    assert _cards(spec, "order-sign") == []


def test_uuids_are_deterministic_per_hook_instance() -> None:
    first = _cards(D842V, "patient-view", hook_instance="a")
    again = _cards(D842V, "patient-view", hook_instance="a")
    other = _cards(D842V, "patient-view", hook_instance="b")
    assert [c["uuid"] for c in first] == [c["uuid"] for c in again]
    assert {c["uuid"] for c in first}.isdisjoint({c["uuid"] for c in other})
    ids = [s["uuid"] for c in first for s in c.get("suggestions", [])]
    assert len(ids) == len(set(ids))


def test_duplicate_recommendations_render_one_card() -> None:
    spec = {**D842V, "drafts": [{"drug": "imatinib", "mg": 400, "id": "mr-9"}]}
    recs = evaluate(build_patient(spec), KB, AS_OF, "order-sign")
    cards = render(
        [*recs, *recs],
        hook="order-sign",
        hook_instance="x",
        patient_id="p1",
        draft_orders={},
        kb_version=KB.version,
    )
    assert len(cards) == len(recs)


def test_wire_cards_never_carry_empty_members_and_summaries_fit() -> None:
    specs = [
        D842V,
        {"diagnoses": [{"histology": "gist"}]},
        {
            "diagnoses": [{"histology": "synovial-sarcoma"}],
            "therapy": [{"drug": "ifosfamide", "start": "2024-01-01", "end": "2024-06-01"}],
        },
    ]
    for spec in specs:
        for card in _cards(spec, "patient-view"):
            assert _walk_empty(card) == []
            assert len(card["summary"]) < 140


def test_unapproved_drug_card_states_the_regulatory_status() -> None:
    spec = {
        "diagnoses": [{"histology": "synovial-sarcoma"}],
        "therapy": [{"drug": "ifosfamide", "start": "2024-01-01", "end": "2024-06-01"}],
    }
    detail = "\n".join(c["detail"] for c in _cards(spec, "patient-view"))
    assert "US (this site), anlotinib: Not approved by the FDA" in detail
    assert "NMPA" in detail and "ORR 8.8%" in detail and "non-randomised" in detail


def test_mapping_issues_are_named_in_the_detail() -> None:
    class Issue:
        reference = "Observation/x1"
        problem = "unknown element dropped"

    cards = _cards(D842V, "patient-view", issues=(Issue(),))
    assert all("`Observation/x1`: unknown element dropped" in c["detail"] for c in cards)


def test_clip_cuts_at_a_word_and_marks_it() -> None:
    text = "word " * 40
    clipped = clip(text)
    assert len(clipped) <= 139 and clipped.endswith("…") and "wor…" not in clipped


def test_summary_leads_with_an_option_approved_in_the_site_jurisdiction() -> None:
    cards = _cards({"diagnoses": [{"histology": "alveolar-soft-part-sarcoma"}]}, "patient-view")
    # ASPS at a US site: the FDA-approved atezolizumab leads; off-label pazopanib and the
    # unapproved anlotinib follow
    assert "atezolizumab" in cards[0]["summary"]
    assert "anlotinib" not in cards[0]["summary"].lower()
    assert any("pazopanib" in c["summary"] for c in cards[1:])
    assert any("anlotinib" in c["summary"].lower() for c in cards[1:])


def test_every_card_of_an_unsigned_rule_says_it_is_not_yet_clinically_reviewed() -> None:
    cards = [c for c in _cards(D842V, "patient-view") if "_Rule `" in c["detail"]]
    assert cards
    for card in cards:
        assert (
            "not yet clinically reviewed (content checked by knowledge-base author"
            in (card["detail"])
        )


PROGRESSED_ON_IMATINIB = {
    "diagnoses": [{"histology": "gist", "ref": "Condition/c1"}],
    "biomarkers": [{"gene": "KIT", "exon": 11, "ref": "Observation/o1"}],
    "therapy": [
        {"drug": "imatinib", "start": "2024-01", "end": "2024-09", "stop": "progression", "mg": 400}
    ],
    "status": [{"value": "progression", "date": "2025-01"}],
}


def test_suggested_order_carries_ingredient_clinical_drug_atc_date_and_requester() -> None:
    cards = _cards(PROGRESSED_ON_IMATINIB, "patient-view", user_id="PractitionerRole/onc-7")
    orders = [
        a["resource"]
        for c in cards
        for s in c.get("suggestions", [])
        for a in s["actions"]
        if a["type"] == "create" and a["resource"]["resourceType"] == "MedicationRequest"
    ]
    sunitinib = next(o for o in orders if o["medicationCodeableConcept"]["text"] == "sunitinib")
    assert sunitinib["medicationCodeableConcept"]["coding"] == [
        {"system": RXNORM, "code": "357977", "display": "sunitinib"},
        {"system": RXNORM, "code": "616289", "display": "sunitinib 50 MG Oral Capsule"},
        {"system": "http://www.whocc.no/atc", "code": "L01EX01", "display": "sunitinib"},
    ]
    assert sunitinib["authoredOn"] == AS_OF.isoformat()
    assert sunitinib["requester"] == {"reference": "PractitionerRole/onc-7"}


@pytest.mark.parametrize("user_id", [None, "Patient/p1", "Practitioner/", "x"])
def test_no_requester_unless_the_user_is_a_practitioner(user_id: str | None) -> None:
    cards = _cards(PROGRESSED_ON_IMATINIB, "patient-view", user_id=user_id)
    resources = [
        a["resource"] for c in cards for s in c.get("suggestions", []) for a in s["actions"]
    ]
    assert resources and all("requester" not in r for r in resources)


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_card_uuids_are_the_uuid5_of_their_name(parts: list[str]) -> None:
    """Card and suggestion uuids stay the RFC 4122 name-based (SHA-1) uuids that feedback and
    the card ledger have always used, for any text (non-ASCII included)."""
    assert card_uuid(*parts) == str(uuid.uuid5(CARD_NAMESPACE, "/".join(parts)))


def test_cards_of_one_call_do_not_change_the_cards_of_another() -> None:
    """Sources, links and override reasons are shared between calls (knowledge-base data):
    a call's timeline link and patient never reach another call's cards."""
    spec = {**D842V, "drafts": [{"drug": "imatinib", "mg": 400, "id": "mr-9"}]}
    recs = evaluate(build_patient(spec), KB, AS_OF, "order-sign")
    assert recs

    def wire(patient_id: str, timeline_url: str | None) -> list[dict[str, Any]]:
        cards = render(
            recs,
            hook="order-sign",
            hook_instance="x",
            patient_id=patient_id,
            draft_orders={},
            kb_version=KB.version,
            timeline_url=timeline_url,
        )
        return [c.to_wire() for c in cards]

    plain = wire("p1", None)
    first = wire("p1", "https://cds.example.org/app/timeline/launch")
    second = wire("p2", "https://cds.example.org/app/timeline/launch")
    assert wire("p1", None) == plain
    assert wire("p1", "https://cds.example.org/app/timeline/launch") == first
    for cards, patient in ((first, "p1"), (second, "p2")):
        smart = [[link for link in c["links"] if link["type"] == "smart"] for c in cards]
        assert all(len(links) == 1 for links in smart)
        assert all(links[0]["url"].endswith(f"?patient={patient}") for links in smart)
    assert all(link["type"] != "smart" for c in plain for link in c.get("links", []))
    assert all(c.get("overrideReasons") for c in plain)
