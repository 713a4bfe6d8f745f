"""Non-GIST and cross-histology scenarios through the HTTP API: issue 5 items 5-16, 20, 21."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.scenarios import builders as b
from tests.scenarios.conftest import (
    all_actions,
    card_with,
    check_response,
    codes,
    no_card_with,
    rule_card,
    suggested_orders,
)

LMS = [b.condition("leiomyosarcoma"), b.metastasis("liver")]  # advanced disease
LPS = [b.condition("liposarcoma"), b.metastasis("liver")]  # advanced disease
GIST = [b.condition("gist"), b.metastasis("liver")]  # advanced disease
NTRK_NEG = [b.negative("NTRK1", "NTRK2", "NTRK3")]
AFTER_DOXORUBICIN = [b.completed("doxorubicin", authored="2023-03-01")]
ANLOTINIB_OK = "12 mg once daily, days 1-14 of each 21-day cycle"


def _first_recommendation(cards):
    """The first info card: the lead recommendation (warnings and critical cards go first)."""
    return next(c for c in cards if c["indicator"] == "info")


# --- items 5 and 6: leiomyosarcoma, liposarcoma ---------------------------------------------


@pytest.mark.parametrize(("conditions", "name"), [(LMS, "Leiomyosarcoma"), (LPS, "Liposarcoma")])
def test_items5_6_first_line_anthracycline(cds, conditions, name):
    cards = cds(b.patient_view(conditions=conditions, genomics=NTRK_NEG))
    card = card_with(cards, name, "anthracycline", "first line", indicator="info")
    assert "doxorubicin" in card["detail"]


def test_item5_lms_second_line_options(cds):
    cards = cds(b.patient_view(conditions=LMS, genomics=NTRK_NEG, medications=AFTER_DOXORUBICIN))
    card = card_with(cards, "Leiomyosarcoma after anthracycline", indicator="info")
    for word in ("trabectedin", "gemcitabine", "docetaxel", "dacarbazine", "pazopanib"):
        assert word in card["summary"].lower()
    no_card_with(cards, "no systemic therapy yet")


def test_item6_lps_second_line_options(cds):
    cards = cds(b.patient_view(conditions=LPS, genomics=NTRK_NEG, medications=AFTER_DOXORUBICIN))
    card = card_with(cards, "Liposarcoma after anthracycline", indicator="info")
    for word in ("eribulin", "trabectedin", "myxoid", "ifosfamide"):
        assert word in card["summary"].lower()
    assert "pazopanib" not in card["summary"].lower()


def test_items5_6_silent_second_line_before_anthracycline(cds):
    cards = cds(b.patient_view(conditions=LMS, genomics=NTRK_NEG))
    no_card_with(cards, "after anthracycline")


# --- item 7: histology-specific table ----------------------------------------------------------


@pytest.mark.parametrize(
    ("histology", "words", "code"),
    [
        ("dfsp", ("dermatofibrosarcoma", "imatinib"), None),
        ("pecoma", ("PEComa", "sirolimus"), None),
        # the FDA-approved atezolizumab leads at a US site (no verified code: no order)
        ("asps", ("ASPS", "atezolizumab", "1200 mg"), None),
        ("sft", ("solitary fibrous", "pazopanib or sunitinib"), None),
        ("emc", ("myxoid chondrosarcoma", "pazopanib"), None),
        ("angiosarcoma", ("angiosarcoma", "paclitaxel", "liposomal doxorubicin"), None),
    ],
)
def test_item7_histology_specific_option(cds, histology, words, code):
    cards = cds(b.patient_view(conditions=[b.condition(histology)], genomics=NTRK_NEG))
    card = card_with(cards, *words, indicator="info")
    assert card is _first_recommendation(cards)
    if code is not None:
        assert code in codes(suggested_orders(card)[0]["medicationCodeableConcept"])


def test_item7_imt_alk_rearranged_crizotinib(cds):
    cards = cds(
        b.patient_view(
            conditions=[b.condition("imt")], genomics=[b.fusion("EML4", "ALK"), *NTRK_NEG]
        )
    )
    card = card_with(cards, "ALK-positive", "crizotinib 250 mg twice daily", indicator="info")
    (order,) = suggested_orders(card)
    assert (b.RXNORM, "1148495") in codes(order["medicationCodeableConcept"])
    dosage = order["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 250
    assert dosage["timing"]["repeat"]["frequency"] == 2


def test_item7_imt_silent_without_alk_rearrangement(cds):
    cards = cds(
        b.patient_view(conditions=[b.condition("imt")], genomics=[b.negative("ALK"), *NTRK_NEG])
    )
    no_card_with(cards, "crizotinib")
    assert not [o for c in cards for o in suggested_orders(c)]


def test_item7_dfsp_silent_when_on_imatinib(cds):
    cards = cds(
        b.patient_view(
            conditions=[b.condition("dfsp")],
            genomics=NTRK_NEG,
            medications=[b.medication("imatinib", mg=400)],
        )
    )
    no_card_with(cards, "dermatofibrosarcoma")


# --- items 7 and 21: NTRK fusion --------------------------------------------------------------

NTRK_FUSIONS = [
    [b.fusion("ETV6", "NTRK3")],
    [b.single_test("93813-4", "NTRK1 gene & NTRK2 gene & NTRK3 gene rearrangements", present=True)],
]


@pytest.mark.parametrize("genomics", NTRK_FUSIONS, ids=["two-gene-variant", "pan-ntrk-test"])
def test_item21_ntrk_fusion_without_trk_inhibitor(cds, genomics):
    cards = cds(b.patient_view(conditions=LMS, genomics=genomics))
    card = card_with(cards, "NTRK fusion", "larotrectinib", "entrectinib", indicator="info")
    orders = {o["medicationCodeableConcept"]["text"]: o for o in suggested_orders(card)}
    assert (b.ATC, "L01EX12") in codes(orders["larotrectinib"]["medicationCodeableConcept"])
    assert (b.RXNORM, "2197862") in codes(orders["entrectinib"]["medicationCodeableConcept"])
    no_card_with(cards, "No NTRK fusion result")


def test_item21_silent_when_on_a_trk_inhibitor(cds):
    cards = cds(
        b.patient_view(
            conditions=LMS,
            genomics=[b.fusion("ETV6", "NTRK3")],
            medications=[b.medication("entrectinib", mg=600)],
        )
    )
    no_card_with(cards, "NTRK fusion found")


def test_item21_silent_for_a_negative_ntrk_result(cds):
    cards = cds(b.patient_view(conditions=LMS, genomics=NTRK_NEG))
    no_card_with(cards, "NTRK fusion found")
    no_card_with(cards, "No NTRK fusion result")


# --- item 8: testing -----------------------------------------------------------------------------


def test_item8_gist_without_kit_pdgfra_result_creates_service_requests(cds):
    cards = cds(b.patient_view(conditions=GIST))
    card = card_with(cards, "KIT/PDGFRA", "genotype", indicator="warning")
    assert "PDGFRA exons 12, 14, 18" in card["summary"]  # never PDGFRA exon 18 alone
    orders = suggested_orders(card)
    assert {o["resourceType"] for o in orders} == {"ServiceRequest"}
    assert {c for o in orders for c in codes(o["code"])} == {(b.LOINC, "55201-8")}
    assert all(o["status"] == "draft" and o["intent"] == "order" for o in orders)


def test_item8_silent_when_gist_genotype_known(cds):
    cards = cds(b.patient_view(conditions=GIST, genomics=[b.kit_exon11(), b.negative("PDGFRA")]))
    no_card_with(cards, "genotype missing")
    no_card_with(cards, "NTRK testing")  # GIST is excluded from the NTRK prompt


def test_item8_ntrk_testing_prompt(cds):
    cards = cds(b.patient_view(conditions=LMS))
    card = card_with(cards, "No NTRK fusion result", indicator="info")
    (order,) = suggested_orders(card)
    assert order["resourceType"] == "ServiceRequest"
    assert (b.LOINC, "93813-4") in codes(order["code"])


def test_item8_imt_alk_testing(cds):
    cards = cds(b.patient_view(conditions=[b.condition("imt")], genomics=NTRK_NEG))
    card = card_with(cards, "without an ALK result", indicator="warning")
    (order,) = suggested_orders(card)
    assert (b.LOINC, "78205-2") in codes(order["code"])


def test_item8_imt_silent_with_alk_result(cds):
    cards = cds(
        b.patient_view(conditions=[b.condition("imt")], genomics=[b.negative("ALK"), *NTRK_NEG])
    )
    no_card_with(cards, "ALK result")


# --- item 9: targeted therapy after chemotherapy in non-GIST sarcoma -------------------------


def test_item9_targeted_before_chemotherapy_warns(cds):
    cards = cds(b.order_sign([b.draft("pazopanib", mg=800)], conditions=LMS, genomics=NTRK_NEG))
    card = card_with(cards, "Targeted agent", "before any chemotherapy", indicator="warning")
    assert "MedicationRequest/draft-pazopanib" in card["detail"]


@pytest.mark.parametrize(
    ("history", "genomics"),
    [(AFTER_DOXORUBICIN, NTRK_NEG), ([], [b.fusion("ETV6", "NTRK3")])],
    ids=["after-chemotherapy", "molecularly-driven"],
)
def test_item9_silent_after_chemo_or_when_molecularly_driven(cds, history, genomics):
    drafted = b.draft("pazopanib", mg=800) if history else b.draft("entrectinib", mg=600)
    cards = cds(b.order_sign([drafted], conditions=LMS, genomics=genomics, medications=history))
    no_card_with(cards, "before any chemotherapy")


# --- item 10: pitfalls at order time -----------------------------------------------------------

SARCOMA_NOS = [b.condition("nos", code=(b.SNOMED, "424952003", "Sarcoma of soft tissue"))]


def test_item10_no_histologic_subtype(cds):
    cards = cds(b.order_sign([b.draft("doxorubicin")], conditions=SARCOMA_NOS))
    card_with(cards, "no histologic subtype", indicator="warning")


def test_item10_silent_with_subtype(cds):
    cards = cds(b.order_sign([b.draft("doxorubicin")], conditions=LMS, genomics=NTRK_NEG))
    assert cards == []


def test_item10_continuing_after_progression_on_sign_deletes_the_draft(cds):
    cards = cds(
        b.order_sign(
            [b.draft("doxorubicin")],
            conditions=LMS,
            medications=[b.progressed("doxorubicin", authored="2023-03-01")],
        )
    )
    card = card_with(cards, "already failed", indicator="warning")
    (action,) = all_actions([card])
    assert action == {
        "type": "delete",
        "description": action["description"],
        "resourceId": "MedicationRequest/draft-doxorubicin",
    }


def test_item10_continuing_after_progression_on_patient_view(cds):
    cards = cds(
        b.patient_view(
            conditions=LMS,
            genomics=NTRK_NEG,
            medications=[b.medication("doxorubicin", authored="2024-01-15")],
            statuses=[b.disease_status(date="2024-09-01")],
        )
    )
    card_with(cards, "Progression documented", "current therapy continues", indicator="warning")


def test_item10_silent_with_stable_disease(cds):
    cards = cds(
        b.patient_view(
            conditions=LMS,
            genomics=NTRK_NEG,
            medications=[b.medication("doxorubicin", authored="2024-01-15")],
            statuses=[b.disease_status(b.SCT_STABLE, date="2024-09-01")],
        )
    )
    assert {c["indicator"] for c in cards} == {"info"}


@pytest.mark.parametrize(
    ("modulator", "words"),
    [("ketoconazole", ("strong CYP3A4 inhibitor", "37.5 mg")), ("rifampin", ("inducer", "87.5"))],
)
def test_item10_sunitinib_with_cyp3a4_modulator(cds, modulator, words):
    cards = cds(
        b.order_sign(
            [b.draft("sunitinib", mg=50)],
            conditions=GIST,
            genomics=[b.kit_exon11(), b.negative("PDGFRA")],
            medications=[b.progressed("imatinib", mg=400), b.medication(modulator)],
        )
    )
    card = card_with(cards, "Sunitinib", *words, indicator="warning")
    assert "MedicationRequest/" in card["detail"]


def test_item10_pazopanib_for_liposarcoma(cds):
    cards = cds(
        b.order_sign([b.draft("pazopanib", mg=800)], conditions=LPS, medications=AFTER_DOXORUBICIN)
    )
    card = card_with(cards, "Pazopanib", "liposarcoma", "non-adipocytic", indicator="warning")
    (action,) = all_actions([card])
    assert action["type"] == "delete"
    assert action["resourceId"] == "MedicationRequest/draft-pazopanib"


def test_item10_pazopanib_silent_for_leiomyosarcoma_after_chemo(cds):
    # Recent baseline liver tests: without them the boxed-warning card asks for them.
    cards = cds(
        b.order_sign(
            [b.draft("pazopanib", mg=800)],
            conditions=LMS,
            genomics=[*NTRK_NEG, *b.liver_panel()],
            medications=AFTER_DOXORUBICIN,
        )
    )
    assert cards == []


# --- item 11: monitoring ---------------------------------------------------------------------


def test_item11_monitoring_on_therapy(cds):
    cards = cds(
        b.patient_view(
            conditions=GIST,
            genomics=[b.kit_exon11(), b.negative("PDGFRA")],
            medications=[b.medication("imatinib", mg=400)],
        )
    )
    summary = rule_card(cards, "monitoring-imaging-and-toxicity")
    assert "every 2-3 months" in summary["detail"]
    assert "toxicity" in summary["detail"].lower()


def test_item11_silent_without_therapy(cds):
    cards = cds(b.patient_view(conditions=GIST, genomics=[b.kit_exon11(), b.negative("PDGFRA")]))
    assert "every 2-3 months" not in " ".join(c["detail"] for c in cards)


# --- items 12-16: anlotinib ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mg", "text"),
    [(12, None), (12, "12 mg once daily continuously"), (15, ANLOTINIB_OK)],
    ids=["no-cycle", "continuous", "off-dose"],
)
def test_item12_anlotinib_off_schedule_is_flagged(cds, mg, text):
    drafted = b.draft("anlotinib", mg=mg, text=text)
    cards = cds(
        b.order_sign([drafted], conditions=LMS, genomics=NTRK_NEG, medications=AFTER_DOXORUBICIN)
    )
    card = card_with(cards, "Anlotinib", "off schedule", indicator="warning")
    (action,) = all_actions([card])
    assert action["type"] == "update"
    updated = action["resource"]
    assert updated["id"] == "draft-anlotinib"
    assert updated["medicationCodeableConcept"] == drafted["medicationCodeableConcept"]
    dosage = updated["dosageInstruction"][0]
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 12
    assert "1-14" in dosage["text"] and "21" in dosage["text"]


@pytest.mark.parametrize("mg", [12, 10, 8])
def test_item12_silent_on_schedule(cds, mg):
    text = f"{mg} mg once daily, days 1-14 of each 21-day cycle"
    cards = cds(
        b.order_sign(
            [b.draft("anlotinib", mg=mg, text=text)],
            conditions=LMS,
            genomics=NTRK_NEG,
            medications=AFTER_DOXORUBICIN,
        )
    )
    no_card_with(cards, "off schedule")


def test_item16_anlotinib_order_card_states_regulatory_status(cds):
    cards = cds(
        b.order_sign(
            [b.draft("anlotinib", mg=12)],
            conditions=LMS,
            genomics=NTRK_NEG,
            medications=AFTER_DOXORUBICIN,
        )
    )
    detail = card_with(cards, "Anlotinib", "off schedule")["detail"]
    assert "Not approved by the FDA" in detail and "NMPA" in detail
    # the baseline checklist comes with the order (blood pressure, TSH, liver tests, counts)
    checks = card_with(cards, "Anlotinib", "baseline")
    assert "ALT" in checks["detail"] and "neutrophils" in checks["detail"]


def test_items13_16_second_line_anlotinib_with_efficacy_limits_and_status(cds):
    cards = cds(b.patient_view(conditions=LMS, genomics=NTRK_NEG, medications=AFTER_DOXORUBICIN))
    detail = rule_card(cards, "anlotinib-second-line-sts")["detail"]
    for fact in ("ORR 8.8%", "DCR 70.7%", "6.68 months", "non-randomised", "Chinese"):
        assert fact in detail
    assert "US (this site), anlotinib: Not approved by the FDA" in detail
    assert "NMPA" in detail
    # the FDA-approved options come first: anlotinib is not the headline for a US site
    assert "anlotinib" not in _first_recommendation(cards)["summary"].lower()
    assert not [o for o in suggested_orders(_first_recommendation(cards)) if "anlotinib" in str(o)]


@pytest.mark.parametrize("histology", ["asps", "ccs"])
def test_item13_first_line_anlotinib_for_asps_and_ccs(cds, histology):
    conditions = [b.condition(histology), b.metastasis("lung")]
    cards = cds(b.patient_view(conditions=conditions, genomics=NTRK_NEG))
    summary = rule_card(cards, "anlotinib-first-line-asps-ccs")
    assert "first-line option" in summary["detail"]
    assert "Not approved by the FDA" in summary["detail"]
    if histology == "ccs":
        assert "not an approved use" in summary["summary"]


def test_item13_silent_first_line_anlotinib_for_leiomyosarcoma(cds):
    cards = cds(b.patient_view(conditions=LMS, genomics=NTRK_NEG))
    details = " ".join(c["detail"] for c in cards)
    assert "`anlotinib-first-line-asps-ccs@" not in details
    assert "`anlotinib-second-line-sts@" not in details  # no chemotherapy yet


def test_item14_anlotinib_monitoring(cds):
    cards = cds(
        b.patient_view(
            conditions=LMS,
            genomics=NTRK_NEG,
            medications=[
                *AFTER_DOXORUBICIN,
                b.medication("anlotinib", mg=12, text=ANLOTINIB_OK, authored="2024-01-15"),
            ],
        )
    )
    detail = rule_card(cards, "anlotinib-monitoring")["detail"]
    for item in ("Blood pressure", "Hand-foot", "Thyroid", "Lipids", "Urine protein",
                 "Pneumothorax", "Bleeding"):  # fmt: skip
        assert item in detail


def test_item14_silent_without_anlotinib(cds):
    cards = cds(b.patient_view(conditions=LMS, genomics=NTRK_NEG, medications=AFTER_DOXORUBICIN))
    assert "Hand-foot" not in " ".join(c["detail"] for c in cards)


def test_item15_dsrct_case_report_said_plainly(cds):
    cards = cds(
        b.patient_view(
            conditions=[b.condition("dsrct")], genomics=NTRK_NEG, medications=AFTER_DOXORUBICIN
        )
    )
    card = card_with(cards, "DSRCT", "case report", indicator="info")
    assert "Case report" in card["detail"]
    assert "Not approved by the FDA" in card["detail"]


def test_item15_silent_before_chemotherapy(cds):
    cards = cds(b.patient_view(conditions=[b.condition("dsrct")], genomics=NTRK_NEG))
    no_card_with(cards, "DSRCT")


def test_item16_jurisdiction_setting_changes_presentation(make_app, make_settings):
    body = b.patient_view(conditions=[b.condition("ccs")], genomics=NTRK_NEG)
    details = {}
    for jurisdiction in ("US", "CN"):
        app: Flask = make_app(make_settings(jurisdiction=jurisdiction))
        with app.test_client() as client:
            response = client.post("/cds-services/sarcoma-patient-view", json=body)
        assert response.status_code == 200
        cards = check_response(body, response.get_json())
        details[jurisdiction] = rule_card(cards, "anlotinib-first-line-asps-ccs")["detail"]
    assert "US (this site), anlotinib: Not approved by the FDA" in details["US"]
    assert "approved in CN (NMPA)" in details["US"]
    assert "CN (this site), anlotinib: Reported as approved by China's NMPA" in details["CN"]
    assert "not approved in US (FDA)" in details["CN"]
    assert "US (this site)" not in details["CN"]


# --- item 20: CYP3A4 interactions of the kinase inhibitors ---------------------------------


@pytest.mark.parametrize(
    ("drug", "mg", "conditions", "modulator", "words"),
    [
        ("imatinib", 400, GIST, "clarithromycin", ("Imatinib", "CYP3A4")),
        ("pazopanib", 800, [b.condition("sft")], "rifampin", ("Pazopanib", "inducer")),
        ("pazopanib", 800, [b.condition("sft")], "itraconazole", ("Pazopanib", "400 mg")),
        ("regorafenib", 160, GIST, "carbamazepine", ("Regorafenib", "CYP3A4")),
        ("crizotinib", 250, [b.condition("imt")], "ketoconazole", ("Crizotinib", "CYP3A4")),
        ("entrectinib", 600, LMS, "clarithromycin", ("Entrectinib", "100 mg")),
        ("larotrectinib", 100, LMS, "rifampin", ("Larotrectinib", "double")),
        ("avapritinib", 300, GIST, "ketoconazole", ("Avapritinib", "100 mg")),
        ("ripretinib", 150, GIST, "rifampin", ("Ripretinib", "CYP3A4")),
    ],
)
def test_item20_cyp3a4_interaction_on_sign(cds, drug, mg, conditions, modulator, words):
    cards = cds(
        b.order_sign(
            [b.draft(drug, mg=mg)], conditions=conditions, medications=[b.medication(modulator)]
        )
    )
    card = card_with(cards, *words, indicator="warning")
    assert "CYP3A4" in card["summary"] or "CYP3A4" in card["detail"]


def test_item20_cyp3a4_on_patient_view_for_current_therapy(cds):
    cards = cds(
        b.patient_view(
            conditions=GIST,
            genomics=[b.kit_exon11(), b.negative("PDGFRA")],
            medications=[b.medication("imatinib", mg=400), b.medication("rifampin")],
        )
    )
    card_with(cards, "Imatinib", "CYP3A4", indicator="warning")


def test_item20_silent_with_a_stopped_modulator(cds):
    cards = cds(
        b.order_sign(
            [b.draft("imatinib", mg=400)],
            conditions=GIST,
            genomics=[b.kit_exon11(), b.negative("PDGFRA")],
            medications=[b.medication("clarithromycin", status="completed")],
        )
    )
    assert cards == []


def test_item20_interacting_drug_drafted_for_a_patient_on_a_kinase_inhibitor(cds):
    # The pitfall of seed 000 is just as real when the inhibitor is the new order.
    cards = cds(
        b.order_sign(
            [b.draft("clarithromycin")],
            conditions=GIST,
            genomics=[b.kit_exon11(), b.negative("PDGFRA")],
            medications=[b.progressed("imatinib", mg=400), b.medication("sunitinib", mg=50)],
        )
    )
    card = card_with(cards, "Sunitinib", indicator="warning")
    assert "MedicationRequest/draft-clarithromycin" in card["detail"]
