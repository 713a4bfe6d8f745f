"""Medication safety over HTTP: each CYP3A4 tier, the new strong modulators, acid reducers, QT
and the sarcoma drugs as perpetrators, with co-medications sent as text-only MedicationRequests
(the way many EHRs send drugs outside their formulary coding)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.scenarios import builders as b
from tests.scenarios.conftest import card_with, no_card_with

GIST = [b.condition("gist")]
EXON11 = [b.kit_exon11(), b.negative("PDGFRA")]
D842V = [b.pdgfra_d842v(), b.negative("KIT")]
IMT = [b.condition("imt")]


def text_med(name: str, *, status: str = "active") -> dict[str, Any]:
    """A MedicationRequest that names its drug in text only (no coding)."""
    return {
        "resourceType": "MedicationRequest",
        "id": f"comed-{name.split(maxsplit=1)[0].lower()}-{status}",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"text": name},
        "subject": b.subject(b.PATIENT_ID),
        "authoredOn": "2025-05-01",
    }


@pytest.mark.parametrize(
    ("comed", "tier"),
    [
        ("Fluconazole 200 mg tablet", "moderate inhibitor"),
        ("Diltiazem 120 mg ER capsule", "moderate inhibitor"),
        ("Efavirenz 600 mg", "moderate inducer"),
        ("Cobicistat 150 mg", "strong inhibitor"),
        ("Enzalutamide 40 mg capsule", "strong inducer"),
        ("Grapefruit juice", "strong inhibitor"),
    ],
)
def test_avapritinib_draft_warns_for_every_cyp3a_tier(cds, comed, tier):
    cards = cds(
        b.order_sign(
            [b.draft("avapritinib", mg=300)],
            conditions=GIST,
            genomics=D842V,
            medications=[text_med(comed)],
        )
    )
    card = card_with(cards, "avapritinib", "CYP3A4", indicator="warning")
    assert f"{tier} of CYP3A4" in card["detail"]
    assert "100 mg" in card["summary"]


def test_stopped_moderate_inhibitor_is_not_an_interaction(cds):
    cards = cds(
        b.order_sign(
            [b.draft("avapritinib", mg=300)],
            conditions=GIST,
            genomics=D842V,
            medications=[text_med("Fluconazole 200 mg tablet", status="stopped")],
        )
    )
    no_card_with(cards, "CYP3A4")


def test_entrectinib_with_an_inducer_for_seizures(cds):
    cards = cds(
        b.order_sign(
            [b.draft("entrectinib", mg=600)],
            conditions=[b.condition("leiomyosarcoma")],
            genomics=[b.fusion("ETV6", "NTRK3")],
            medications=[b.medication("carbamazepine")],
        )
    )
    card = card_with(cards, "entrectinib", "CYP3A", indicator="warning")
    assert "inducers" in card["detail"]


def test_pazopanib_with_a_proton_pump_inhibitor(cds):
    cards = cds(
        b.order_sign(
            [b.draft("pazopanib", mg=800)],
            conditions=[b.condition("leiomyosarcoma")],
            medications=[text_med("Omeprazole 20 mg capsule")],
        )
    )
    card = card_with(cards, "pazopanib", "acid-reducing", indicator="warning")
    assert "antacid" in card["detail"] and "MedicationRequest/comed-omeprazole" in card["detail"]


def test_crizotinib_with_ondansetron_prompts_a_qt_check(cds):
    cards = cds(
        b.order_sign(
            [b.draft("crizotinib", mg=250, per_day=2)],
            conditions=IMT,
            medications=[text_med("Ondansetron 8 mg ODT")],
        )
    )
    card_with(cards, "QT", "ECG", indicator="warning")


def test_imatinib_as_perpetrator_with_simvastatin_and_warfarin(cds):
    cards = cds(
        b.order_sign(
            [b.draft("imatinib", mg=400)],
            conditions=GIST,
            genomics=EXON11,
            medications=[text_med("Simvastatin 40 mg"), text_med("Warfarin 5 mg tablet")],
        )
    )
    card = card_with(cards, "imatinib raises", indicator="warning")
    assert "simvastatin" in card["detail"] and "warfarin" in card["detail"]
