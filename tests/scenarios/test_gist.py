"""GIST scenarios through the HTTP API: issue 5 items 1-4, 17, 18 and 19."""

from __future__ import annotations

import pytest

from tests.scenarios import builders as b
from tests.scenarios.conftest import (
    all_actions,
    card_with,
    codes,
    no_card_with,
    rule_card,
    suggested_orders,
)

GIST = [b.condition("gist"), b.metastasis("liver")]  # advanced disease
EXON11 = [b.kit_exon11(), b.negative("PDGFRA")]
EXON9 = [b.kit_exon9(), b.negative("PDGFRA")]
D842V = [b.pdgfra_d842v(), b.negative("KIT")]
IMATINIB = (b.RXNORM, "282388")
SUNITINIB = (b.RXNORM, "357977")
REGORAFENIB = (b.RXNORM, "1312397")
RIPRETINIB_ATC = (b.ATC, "L01EX19")
AVAPRITINIB_ATC = (b.ATC, "L01EX18")


def _dose(resource: dict) -> tuple[float, int]:
    dosage = resource["dosageInstruction"][0]
    quantity = dosage["doseAndRate"][0]["doseQuantity"]
    assert quantity["unit"] == "mg"
    return quantity["value"], dosage["timing"]["repeat"]["frequency"]


# --- item 1: first line imatinib 400 mg -------------------------------------------------------


def test_item1_first_line_imatinib_400(cds):
    cards = cds(b.patient_view(conditions=GIST, genomics=EXON11))
    card = card_with(cards, "imatinib 400 mg", "first-line", indicator="info")
    assert cards[0] is card  # the lead recommendation comes first
    (order,) = suggested_orders(card)
    assert order["resourceType"] == "MedicationRequest" and order["status"] == "draft"
    assert IMATINIB in codes(order["medicationCodeableConcept"])
    assert _dose(order) == (400, 1)
    assert order["subject"] == {"reference": f"Patient/{b.PATIENT_ID}"}
    assert "until disease progression or intolerance" in card["detail"]


def test_item1_silent_correct_imatinib_400_for_kit_exon11_on_sign(cds):
    assert cds(b.order_sign([b.draft("imatinib", mg=400)], conditions=GIST, genomics=EXON11)) == []


def test_item1_silent_when_already_on_imatinib(cds):
    cards = cds(
        b.patient_view(
            conditions=GIST, genomics=EXON11, medications=[b.medication("imatinib", mg=400)]
        )
    )
    no_card_with(cards, "first-line")
    assert not [o for c in cards for o in suggested_orders(c)]


# --- item 2: KIT exon 9 -> 800 mg ---------------------------------------------------------------


def test_item2_kit_exon9_patient_view_recommends_800(cds):
    cards = cds(b.patient_view(conditions=GIST, genomics=EXON9))
    card = card_with(cards, "exon 9", "800 mg", indicator="info")
    (order,) = suggested_orders(card)
    assert IMATINIB in codes(order["medicationCodeableConcept"])
    assert _dose(order) == (400, 2)
    no_card_with(cards, "400 mg once daily is the first-line")


def test_item2_exon9_duplication_reported_only_as_hgvs_gets_800(cds):
    dup = b.variant("KIT", coding="NM_000222.3:c.1504_1509dup", protein="p.(Ala502_Tyr503dup)")
    cards = cds(b.patient_view(conditions=GIST, genomics=[dup, b.negative("PDGFRA")]))
    card_with(cards, "exon 9", "800 mg", indicator="info")
    no_card_with(cards, "400 mg once daily is the first-line")


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_item2_draft_imatinib_400_for_exon9_is_updated_to_twice_daily(cds, hook):
    drafted = b.draft("imatinib", mg=400)
    cards = cds(b.request(hook, drafts=[drafted], conditions=GIST, genomics=EXON9))
    card = card_with(cards, "exon 9", "800 mg/day", indicator="warning")
    (action,) = all_actions([card])
    assert action["type"] == "update"
    updated = action["resource"]
    # the whole draft resource is carried, with its id, only the dosage changed
    assert updated["id"] == drafted["id"] == "draft-imatinib"
    assert {k: v for k, v in updated.items() if k != "dosageInstruction"} == {
        k: v for k, v in drafted.items() if k != "dosageInstruction"
    }
    assert IMATINIB in codes(updated["medicationCodeableConcept"])
    assert _dose(updated) == (400, 2)
    assert card["suggestions"][0]["isRecommended"] is True


def test_item2_silent_when_draft_is_already_400_twice_daily(cds):
    cards = cds(
        b.order_sign([b.draft("imatinib", mg=400, per_day=2)], conditions=GIST, genomics=EXON9)
    )
    assert cards == []


# --- item 3: progression on imatinib 400 -> escalate, resect limited progression -------------


def _progressing_on_400() -> dict:
    return b.patient_view(
        conditions=GIST,
        genomics=EXON11,
        medications=[b.medication("imatinib", mg=400, authored="2024-01-15")],
        statuses=[b.disease_status(b.SCT_WORSENED, date="2024-09-01")],
    )


def test_item3_progression_on_400_offers_escalation_and_resection(cds):
    cards = cds(_progressing_on_400())
    summary = rule_card(cards, "gist-imatinib-progression-escalate")
    assert "800 mg" in summary["detail"] and "resection" in summary["detail"]
    escalations = [
        o for o in suggested_orders(summary) if IMATINIB in codes(o["medicationCodeableConcept"])
    ]
    assert [_dose(o) for o in escalations] == [(400, 2)]
    # the pitfall: the current therapy continues although progression is documented
    pitfall = card_with(cards, "Progression documented", indicator="warning")
    assert "escalation to 800 mg" in pitfall["detail"]


def test_item3_escalation_comes_before_switching(cds):
    cards = cds(_progressing_on_400())
    summary = next(c for c in cards if c["indicator"] == "info")  # the first recommendation
    assert "800" in summary["summary"]
    recommended = [s for s in summary["suggestions"] if s.get("isRecommended")]
    assert recommended and "imatinib" in recommended[0]["label"].lower()


def test_item3_silent_when_already_on_800(cds):
    cards = cds(
        b.patient_view(
            conditions=GIST,
            genomics=EXON11,
            medications=[b.medication("imatinib", mg=400, per_day=2, authored="2024-01-15")],
            statuses=[b.disease_status(b.SCT_WORSENED, date="2024-09-01")],
        )
    )
    details = " ".join(c["detail"] for c in cards).lower()
    assert "consider 800 mg/day before switching" not in details
    assert "gist-imatinib-progression-escalate" not in details


# --- item 4: second line sunitinib ------------------------------------------------------------


def test_item4_sunitinib_after_imatinib_failure(cds):
    cards = cds(
        b.patient_view(
            conditions=GIST,
            genomics=EXON11,
            medications=[b.progressed("imatinib", mg=400, per_day=2)],
        )
    )
    card = card_with(cards, "sunitinib", "imatinib failure", indicator="info")
    orders = suggested_orders(card)
    assert all(SUNITINIB in codes(o["medicationCodeableConcept"]) for o in orders)
    assert sorted(_dose(o) for o in orders) == [(37.5, 1), (50, 1)]
    assert "4 weeks on" in card["detail"]


def test_item4_silent_when_sunitinib_already_given(cds):
    cards = cds(
        b.patient_view(
            conditions=GIST,
            genomics=EXON11,
            medications=[
                b.progressed("imatinib", mg=400, authored="2022-01-01"),
                b.medication("sunitinib", mg=50, authored="2023-01-01"),
            ],
        )
    )
    no_card_with(cards, "imatinib failure")
    assert "gist-second-line-sunitinib" not in " ".join(c["detail"] for c in cards)


# --- item 17: PDGFRA D842V ---------------------------------------------------------------------


@pytest.mark.parametrize("drug", ["imatinib", "sunitinib", "regorafenib"])
@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_item17_d842v_draft_tki_is_critical_and_replaced_by_avapritinib(cds, drug, hook):
    drafted = b.draft(drug, mg=400 if drug == "imatinib" else 50)
    cards = cds(b.request(hook, drafts=[drafted], conditions=GIST, genomics=D842V))
    assert cards[0]["indicator"] == "critical"
    card = card_with(cards, "D842V", "avapritinib", indicator="critical")
    actions = all_actions([card])
    assert [a["type"] for a in actions] == ["update"]
    created = actions[0]["resource"]
    assert (created["resourceType"], created["id"]) == ("MedicationRequest", drafted["id"])
    assert AVAPRITINIB_ATC in codes(created["medicationCodeableConcept"])
    assert not any(c["system"] == b.RXNORM for c in created["medicationCodeableConcept"]["coding"])
    assert _dose(created) == (300, 1)


def test_item17_d842v_reported_only_as_c_hgvs_on_imatinib_is_critical(cds):
    d842v = b.variant("PDGFRA", coding="NM_006206.4:c.2525A>T")
    cards = cds(
        b.patient_view(
            conditions=GIST,
            genomics=[d842v, b.negative("KIT")],
            medications=[b.medication("imatinib", mg=400)],
        )
    )
    card_with(cards, "D842V", "switch to avapritinib", indicator="critical")
    no_card_with(cards, "800 mg/day before switching")


def test_item17_other_pdgfra_exon18_deletion_gets_imatinib_not_avapritinib(cds):
    deletion = b.variant("PDGFRA", protein="NP_006197.1:p.Ile843_Asp846del")
    cards = cds(b.patient_view(conditions=GIST, genomics=[deletion, b.negative("KIT")]))
    no_card_with(cards, "avapritinib")
    card_with(cards, "imatinib 400 mg once daily")


def test_item17_d842v_patient_view_on_imatinib_is_critical(cds):
    cards = cds(
        b.patient_view(
            conditions=GIST, genomics=D842V, medications=[b.medication("imatinib", mg=400)]
        )
    )
    assert cards[0]["indicator"] == "critical"
    card = card_with(cards, "D842V", "switch to avapritinib", indicator="critical")
    (order,) = suggested_orders(card)
    assert AVAPRITINIB_ATC in codes(order["medicationCodeableConcept"])


def test_item17_d842v_without_tki_recommends_avapritinib_as_info(cds):
    cards = cds(b.patient_view(conditions=GIST, genomics=D842V))
    assert {c["indicator"] for c in cards} == {"info"}
    card = card_with(cards, "D842V", "avapritinib 300 mg")
    (order,) = suggested_orders(card)
    assert AVAPRITINIB_ATC in codes(order["medicationCodeableConcept"])
    no_card_with(cards, "imatinib 400 mg once daily")


def test_item17_silent_for_draft_avapritinib(cds):
    cards = cds(b.order_sign([b.draft("avapritinib", mg=300)], conditions=GIST, genomics=D842V))
    assert cards == []


# --- item 18: regorafenib, ripretinib and the sequence ----------------------------------------

TWO_LINES = [
    b.progressed("imatinib", mg=400, authored="2022-01-01"),
    b.progressed("sunitinib", mg=50, authored="2023-01-01"),
]
THREE_LINES = [*TWO_LINES, b.progressed("regorafenib", mg=160, authored="2024-01-01")]


def test_item18_third_line_regorafenib(cds):
    cards = cds(b.patient_view(conditions=GIST, genomics=EXON11, medications=TWO_LINES))
    card = card_with(cards, "regorafenib 160 mg", "days 1-21 of 28")
    (order,) = suggested_orders(card)
    assert REGORAFENIB in codes(order["medicationCodeableConcept"])
    assert _dose(order) == (160, 1)


def test_item18_fourth_line_ripretinib(cds):
    cards = cds(b.patient_view(conditions=GIST, genomics=EXON11, medications=THREE_LINES))
    card = card_with(cards, "ripretinib 150 mg")
    (order,) = suggested_orders(card)
    assert RIPRETINIB_ATC in codes(order["medicationCodeableConcept"])
    assert _dose(order) == (150, 1)


@pytest.mark.parametrize(
    ("drug", "mg", "history", "words"),
    [
        ("sunitinib", 50, [], ("no imatinib", "imatinib")),
        ("regorafenib", 160, [b.progressed("imatinib", mg=400)], ("no sunitinib", "sunitinib")),
        ("ripretinib", 150, TWO_LINES, ("regorafenib",)),
    ],
)
def test_item18_skipped_sequence_warns(cds, drug, mg, history, words):
    cards = cds(
        b.order_sign([b.draft(drug, mg=mg)], conditions=GIST, genomics=EXON11, medications=history)
    )
    card = card_with(cards, drug.capitalize(), *words, indicator="warning")
    assert card["overrideReasons"]


def test_item18_ripretinib_too_early_names_the_expected_step(cds):
    cards = cds(
        b.order_sign(
            [b.draft("ripretinib", mg=150)], conditions=GIST, genomics=EXON11, medications=TWO_LINES
        )
    )
    card = card_with(cards, "Ripretinib", indicator="warning")
    assert "regorafenib" in card["summary"].lower()


@pytest.mark.parametrize(
    ("drug", "mg", "history"),
    [
        ("sunitinib", 50, [b.progressed("imatinib", mg=400)]),
        ("regorafenib", 160, TWO_LINES),
        ("ripretinib", 150, THREE_LINES),
    ],
)
def test_item18_silent_when_sequence_is_followed(cds, drug, mg, history):
    # Recent liver tests on record: sunitinib and regorafenib carry a boxed hepatotoxicity
    # warning that asks for them (their own cards are tested with the special populations).
    labs = [*EXON11, *b.liver_panel(5)]
    cards = cds(
        b.order_sign([b.draft(drug, mg=mg)], conditions=GIST, genomics=labs, medications=history)
    )
    assert cards == []


# --- item 19: wild-type GIST ---------------------------------------------------------------------


FULL_PANEL = "KIT exons 9, 11, 13, 17; PDGFRA exons 12, 14, 18"


def test_item19_wild_type_work_up(cds):
    negative = b.negative("KIT", "PDGFRA", regions=FULL_PANEL)
    cards = cds(b.patient_view(conditions=GIST, genomics=[negative]))
    card = card_with(cards, "wild-type", indicator="warning")
    for word in ("SDH", "NF1", "BRAF", "NTRK", "limited imatinib benefit"):
        assert word in card["summary"]
    orders = suggested_orders(card)
    assert [o["resourceType"] for o in orders] == ["ServiceRequest", "ServiceRequest"]
    assert (b.LOINC, "93813-4") in codes(orders[0]["code"])
    no_card_with(cards, "imatinib 400 mg once daily")
    no_card_with(cards, "genotype missing or incomplete")


def test_item19_negative_without_regions_is_incomplete_genotyping_not_wild_type(cds):
    cards = cds(b.patient_view(conditions=GIST, genomics=[b.negative("KIT", "PDGFRA")]))
    no_card_with(cards, "wild-type")
    card = card_with(cards, "genotype missing or incomplete", indicator="warning")
    assert "KIT exons 9, 11, 13, 17" in card["detail"]


def test_item19_single_exon_tests_are_not_wild_type(cds):
    kit11 = b.single_test("77171-7", "KIT gene exon 11 targeted mutation analysis", present=False)
    pdgfra18 = b.single_test(
        "71357-8", "PDGFRA gene exon 18 targeted mutation analysis", present=False
    )
    cards = cds(b.patient_view(conditions=GIST, genomics=[kit11, pdgfra18]))
    no_card_with(cards, "wild-type")
    card = card_with(cards, "genotype missing or incomplete")
    assert "KIT exons 9, 13, 17" in card["detail"] and "PDGFRA exons 12, 14" in card["detail"]


def test_item19_silent_with_a_kit_mutation(cds):
    cards = cds(b.patient_view(conditions=GIST, genomics=EXON11))
    no_card_with(cards, "wild-type")


# --- NF1-associated GIST ----------------------------------------------------------------------

NF1 = b.condition("nf1", code=(b.ICD10CM, "Q85.01", "Neurofibromatosis, type 1"))


def test_nf1_diagnosis_without_kit_pdgfra_driver_warns_limited_benefit(cds):
    negative = b.negative("KIT", "PDGFRA", regions=FULL_PANEL)
    cards = cds(b.patient_view(conditions=[*GIST, NF1], genomics=[negative]))
    card = card_with(cards, "NF1-associated", "limited benefit", indicator="warning")
    assert "Neurofibromatosis type 1 (clinical diagnosis on record) (`Condition/" in card["detail"]
    no_card_with(cards, "adjuvant")


def test_nf1_diagnosis_with_a_kit_exon11_driver_is_silent(cds):
    cards = cds(b.patient_view(conditions=[*GIST, NF1], genomics=EXON11))
    no_card_with(cards, "NF1-associated")


# --- BRAF V600E -------------------------------------------------------------------------------


def _braf_v600e() -> dict:
    return b.variant("BRAF", protein="p.Val600Glu")


def test_braf_v600e_after_imatinib_progression_offers_dabrafenib_trametinib(cds):
    negative = b.negative("KIT", "PDGFRA", regions=FULL_PANEL)
    cards = cds(
        b.patient_view(
            conditions=GIST,
            genomics=[negative, _braf_v600e()],
            medications=[b.progressed("imatinib")],
        )
    )
    card = card_with(cards, "BRAF V600E", "dabrafenib + trametinib", indicator="info")
    assert "2022" in card["detail"] and "6 years" in card["detail"]


def test_braf_v600e_without_prior_treatment_is_silent(cds):
    negative = b.negative("KIT", "PDGFRA", regions=FULL_PANEL)
    cards = cds(b.patient_view(conditions=GIST, genomics=[negative, _braf_v600e()]))
    no_card_with(cards, "dabrafenib")


# --- SDHB loss by immunohistochemistry (read from text) -----------------------------------------


def _sdhb_stain(value: str) -> dict:
    return {
        "resourceType": "Observation",
        "id": "sdhb-ihc",
        "status": "final",
        "subject": b.subject(),
        "effectiveDateTime": "2025-03-01",
        "code": {"text": "SDHB immunohistochemistry"},
        "valueString": value,
    }


def test_sdhb_loss_by_immunohistochemistry_gives_the_sdh_deficient_card(cds):
    negative = b.negative("KIT", "PDGFRA", regions=FULL_PANEL)
    stain = _sdhb_stain("Loss of SDHB staining in tumour cells; endothelial control retained")
    cards = cds(b.patient_view(conditions=GIST, genomics=[negative, stain]))
    card = card_with(cards, "SDH-deficient", indicator="warning")
    assert "SDHB immunohistochemistry: loss of expression (read from text)" in card["detail"]


def test_sdhb_retained_by_immunohistochemistry_is_silent(cds):
    negative = b.negative("KIT", "PDGFRA", regions=FULL_PANEL)
    cards = cds(b.patient_view(conditions=GIST, genomics=[negative, _sdhb_stain("Retained")]))
    no_card_with(cards, "SDH-deficient")
