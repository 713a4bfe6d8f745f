"""Tolerability and real practice through the HTTP API: no card pushes a dose back up that the
record shows was not tolerated; imatinib re-challenge and limited progression in refractory GIST
are not flagged as errors."""

from __future__ import annotations

from typing import Any

from tests.scenarios import builders as b
from tests.scenarios.conftest import all_actions, card_with, codes, no_card_with, rule_card

GIST = [b.condition("gist"), b.metastasis("liver")]
EXON9 = [b.kit_exon9(), b.negative("PDGFRA")]
EXON11 = [b.kit_exon11(), b.negative("PDGFRA")]
IMATINIB = (b.RXNORM, "282388")


def _intolerance(drug_code: tuple[str, str], drug: str) -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": f"ai-{drug}",
        "type": "intolerance",
        "category": ["medication"],
        "code": {"coding": [{"system": drug_code[0], "code": drug_code[1]}], "text": drug},
        "patient": b.subject(),
        "reaction": [{"manifestation": [{"text": "severe periorbital oedema"}]}],
    }


def _rules(cards: list[dict[str, Any]]) -> str:
    return " ".join(c["detail"] for c in cards)


def test_exon9_800_mg_stopped_as_not_tolerated_is_not_recommended_again(cds):
    stopped = b.medication("imatinib", status="stopped", mg=400, per_day=2, authored="2024-01-15")
    stopped["statusReason"] = {"text": "Not tolerated (grade 3 fatigue and oedema)"}
    current = b.medication("imatinib", mg=400, authored="2024-03-01")
    cards = cds(b.patient_view(conditions=GIST, genomics=EXON9, medications=[stopped, current]))
    assert "gist-kit-exon9-imatinib-800" not in _rules(cards)
    no_card_with(cards, "exon 9", "800 mg")


def test_exon9_intolerance_record_silences_the_800_mg_card_and_the_draft_warning(cds):
    allergies = [_intolerance(IMATINIB, "imatinib")]
    cards = cds(b.patient_view(conditions=GIST, genomics=EXON9, allergies=allergies))
    assert "gist-kit-exon9-imatinib-800" not in _rules(cards)
    drafted = b.order_sign(
        [b.draft("imatinib", mg=400)], conditions=GIST, genomics=EXON9, allergies=allergies
    )
    assert "gist-kit-exon9-draft-imatinib-400" not in _rules(cds(drafted))


def test_exon9_without_intolerance_still_gets_800_if_tolerated(cds):
    cards = cds(b.patient_view(conditions=GIST, genomics=EXON9))
    card = card_with(cards, "exon 9", "800 mg", "if tolerated", indicator="info")
    assert any(IMATINIB in codes(a["resource"]["medicationCodeableConcept"])
               for a in all_actions([card]))  # fmt: skip


def test_no_escalation_to_800_after_a_documented_reduction_from_800(cds):
    meds = [
        b.medication("imatinib", status="completed", mg=400, per_day=2, authored="2024-01-15"),
        b.medication("imatinib", mg=400, authored="2024-04-01"),
    ]
    statuses = [b.disease_status(b.SCT_WORSENED, date="2024-09-01")]
    cards = cds(b.patient_view(conditions=GIST, genomics=EXON11, medications=meds,
                               statuses=statuses))  # fmt: skip
    assert "gist-imatinib-progression-escalate" not in _rules(cards)


def _refractory() -> list[dict[str, Any]]:
    return [
        b.progressed("imatinib", mg=400, authored="2020-01-15"),
        b.progressed("sunitinib", mg=50, authored="2021-01-15"),
        b.progressed("regorafenib", mg=160, authored="2022-01-15"),
    ]


def test_imatinib_rechallenge_after_three_kinase_inhibitors_is_an_info_card_not_a_pitfall(cds):
    body = b.order_sign(
        [b.draft("imatinib", mg=400)], conditions=GIST, genomics=EXON11, medications=_refractory()
    )
    cards = cds(body)
    card = rule_card(cards, "gist-imatinib-rechallenge")
    assert card["indicator"] == "info" and "RIGHT" in card["detail"]
    assert "pitfall-draft-after-progression" not in _rules(cards)
    assert not [a for a in all_actions(cards) if a["type"] == "delete"]


def test_kinase_inhibitor_renewed_through_focal_progression_is_not_a_pitfall(cds):
    focal = b.disease_status(b.SCT_WORSENED, date="2025-05-01")
    focal["valueCodeableConcept"]["text"] = "Focal progression: single liver lesion, for ablation"
    meds = [
        b.progressed("imatinib", mg=400, authored="2022-01-15"),
        b.medication("sunitinib", mg=37.5, authored="2023-01-15"),
    ]
    body = b.order_sign([b.draft("sunitinib", mg=37.5)], conditions=GIST, genomics=EXON11,
                        medications=meds, statuses=[focal])  # fmt: skip
    assert "pitfall-draft-after-progression" not in _rules(cds(body))
    view = b.patient_view(conditions=GIST, genomics=EXON11, medications=meds, statuses=[focal])
    assert "pitfall-continuing-after-progression" not in _rules(cds(view))
    # the same record without the word "focal" is still flagged
    focal["valueCodeableConcept"].pop("text")
    assert "pitfall-draft-after-progression" in _rules(cds(body))


def test_lms_options_drop_only_the_agent_already_used(cds):
    lms = [b.condition("leiomyosarcoma"), b.metastasis("liver")]
    meds = [
        b.progressed("doxorubicin", authored="2023-01-15"),
        b.progressed("gemcitabine", authored="2023-08-15"),
    ]
    cards = cds(b.patient_view(conditions=lms, genomics=[b.negative("NTRK1", "NTRK2", "NTRK3")],
                               medications=meds))  # fmt: skip
    card = rule_card(cards, "lms-second-line")
    options = next(line for line in card["detail"].splitlines() if "**Options:**" in line).lower()
    assert "trabectedin" in options and "pazopanib" in options
    assert "gemcitabine" not in options


def test_no_order_button_for_a_drug_the_record_shows_was_not_tolerated(cds):
    allergies = [_intolerance(IMATINIB, "imatinib")]
    cards = cds(b.patient_view(conditions=GIST, genomics=EXON11, allergies=allergies))
    card = rule_card(cards, "gist-first-line-imatinib")
    assert not [a for a in all_actions([card]) if a["type"] == "create"]
    assert "Not offered as an order" in card["detail"]
    assert "AllergyIntolerance/ai-imatinib" in card["detail"]
