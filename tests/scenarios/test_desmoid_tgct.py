"""Desmoid tumour and tenosynovial giant cell tumour through the HTTP API: the FDA-approved
agents (nirogacestat; vimseltinib, pexidartinib), their order-time checks, and records coded the
way registries and pathology systems send them (ICD-O-3 8821/1, 9252/1; brand names as text)."""

from __future__ import annotations

from typing import Any

from tests.scenarios import builders as b
from tests.scenarios.conftest import card_with, no_card_with, rule_card

DESMOID = b.condition("desmoid", code=(b.ICDO3, "8821/1", "Aggressive fibromatosis"))
TGCT = b.condition("tgct", code=(b.ICDO3, "9252/1", "Tenosynovial giant cell tumor, diffuse"))
PROGRESSING = b.disease_status(b.SCT_WORSENED, date="2025-05-01")


def text_drug(text: str, *, status: str = "draft", id: str = "draft-1") -> dict[str, Any]:
    """A MedicationRequest that names its drug in text only, as many order screens send it."""
    return {
        "resourceType": "MedicationRequest",
        "id": id,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"text": text},
        "subject": b.subject(),
        "authoredOn": "2025-06-01",
    }


# --- desmoid tumour ------------------------------------------------------------------------------


def test_progressing_desmoid_gets_nirogacestat_with_the_facts_behind_it(cds):
    cards = cds(b.patient_view(conditions=[DESMOID], statuses=[PROGRESSING]))
    card = rule_card(cards, "desmoid-nirogacestat")
    assert card["indicator"] == "info"
    assert "nirogacestat 150 mg twice daily" in card["summary"]
    assert f"Condition/{DESMOID['id']}" in card["detail"]
    assert f"Observation/{PROGRESSING['id']}" in card["detail"]
    assert "not yet clinically reviewed" in card["detail"].lower()
    # a desmoid is not a sarcoma work-up: no NTRK testing prompt
    no_card_with(cards, "NTRK")


def test_resected_desmoid_gets_no_systemic_option(cds):
    ned = b.disease_status("550991000124107", date="2025-05-01")
    cards = cds(b.patient_view(conditions=[DESMOID], statuses=[ned]))
    no_card_with(cards, "nirogacestat")


def test_nirogacestat_ordered_with_clarithromycin_is_flagged(cds):
    clarithromycin = b.medication("clarithromycin", authored="2025-05-20")
    body = b.order_sign(
        [text_drug("Ogsiveo 50 mg tablet")],
        conditions=[DESMOID],
        statuses=[PROGRESSING],
        medications=[clarithromycin],
    )
    cards = cds(body)
    card = rule_card(cards, "cyp3a4-nirogacestat")
    assert card["indicator"] == "warning"
    assert "avoid" in card["summary"].lower()
    assert f"MedicationRequest/{clarithromycin['id']}" in card["detail"]


def test_nirogacestat_ordered_without_interacting_drug_is_silent(cds):
    body = b.order_sign(
        [text_drug("nirogacestat 150 mg tablet")], conditions=[DESMOID], statuses=[PROGRESSING]
    )
    cards = cds(body)
    no_card_with(cards, "CYP3A")
    no_card_with(cards, "PPI")


def test_nirogacestat_ordered_with_omeprazole_is_flagged(cds):
    omeprazole = text_drug("omeprazole 20 mg capsule", status="active", id="ppi-1")
    body = b.order_sign(
        [text_drug("nirogacestat 150 mg tablet")],
        conditions=[DESMOID],
        statuses=[PROGRESSING],
        medications=[omeprazole],
    )
    card = rule_card(cds(body), "nirogacestat-acid-reducer")
    assert "antacids 2 hours apart" in card["summary"]


# --- tenosynovial giant cell tumour --------------------------------------------------------------


def test_tgct_gets_vimseltinib_first_and_pexidartinib_as_alternative(cds):
    cards = cds(b.patient_view(conditions=[TGCT], statuses=[PROGRESSING]))
    card = rule_card(cards, "tgct-csf1r-inhibitor")
    assert card["indicator"] == "info"
    assert "vimseltinib 30 mg twice weekly" in card["summary"]
    assert "72 hours" in card["detail"]
    assert "pexidartinib" in card["detail"].lower() and "REMS" in card["detail"]
    assert f"Condition/{TGCT['id']}" in card["detail"]
    no_card_with(cards, "NTRK")


def test_tgct_already_on_vimseltinib_gets_no_option_card(cds):
    on_drug = text_drug("Romvimza 30 mg capsule", status="active", id="med-vims")
    cards = cds(b.patient_view(conditions=[TGCT], statuses=[PROGRESSING], medications=[on_drug]))
    no_card_with(cards, "vimseltinib 30 mg twice weekly")


def test_pexidartinib_order_carries_the_boxed_warning_and_rems(cds):
    body = b.order_sign(
        [text_drug("Turalio 125 mg capsule")], conditions=[TGCT], statuses=[PROGRESSING]
    )
    card = card_with(cds(body), "pexidartinib", "REMS", indicator="warning")
    assert "boxed warning" in card["summary"]
    assert "weekly 8 weeks" in card["detail"]


def test_vimseltinib_order_has_no_pexidartinib_warning(cds):
    body = b.order_sign(
        [text_drug("vimseltinib 30 mg capsule")], conditions=[TGCT], statuses=[PROGRESSING]
    )
    no_card_with(cds(body), "REMS")


def test_pexidartinib_ordered_with_ketoconazole_is_flagged(cds):
    ketoconazole = b.medication("ketoconazole", authored="2025-05-20")
    body = b.order_sign(
        [text_drug("pexidartinib 125 mg capsule")],
        conditions=[TGCT],
        statuses=[PROGRESSING],
        medications=[ketoconazole],
    )
    card = rule_card(cds(body), "cyp3a4-pexidartinib")
    assert "reduce the dose" in card["summary"]
    assert f"MedicationRequest/{ketoconazole['id']}" in card["detail"]
