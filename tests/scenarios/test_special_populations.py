"""Special populations over HTTP: pregnancy, hepatic and renal impairment, and the pazopanib
boxed-warning liver tests. Observations carry dates relative to today (the service's clock),
since pregnancy and laboratory results are only read while they are recent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.scenarios import builders as b
from tests.scenarios.conftest import card_with, no_card_with

LMS = [b.condition("leiomyosarcoma")]
GIST = [b.condition("gist")]
EXON11 = [b.kit_exon11(), b.negative("PDGFRA")]
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def days_ago(days: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


def pregnancy_status(answer: str, display: str, *, days: int = 10, id: str = "preg-1") -> dict:
    """LOINC 82810-3 Pregnancy status with a LOINC answer (LA15173-0 / LA26683-5)."""
    return {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": b.LOINC, "code": "82810-3", "display": "Pregnancy status"}]},
        "subject": b.subject(),
        "effectiveDateTime": days_ago(days),
        "valueCodeableConcept": {
            "coding": [{"system": b.LOINC, "code": answer, "display": display}]
        },
    }


def pregnancy_condition(*, clinical: str = "active", verification: str = "confirmed") -> dict:
    """SNOMED 77386006 Pregnant as a Condition."""
    return {
        "resourceType": "Condition",
        "id": "cond-pregnant",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": clinical}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VER, "code": verification}]},
        "code": {"coding": [{"system": b.SNOMED, "code": "77386006", "display": "Pregnant"}]},
        "subject": b.subject(),
        "onsetDateTime": days_ago(60),
    }


def lab(
    loinc: str, value: float, unit: str, *, high: float | None, days: int = 5, id: str
) -> dict[str, Any]:
    return b.lab_result(loinc, value, unit, high=high, days_ago=days, id=id)


def bilirubin(value: float, *, high: float | None = 1.2, days: int = 5) -> dict[str, Any]:
    return lab("1975-2", value, "mg/dL", high=high, days=days, id="bili-1")


def liver_panel(days: int = 5) -> list[dict[str, Any]]:
    return b.liver_panel(days)


# --- pregnancy -------------------------------------------------------------------------------


def test_pregnancy_observation_and_imatinib_order_warns_with_the_label_statement(cds):
    cards = cds(
        b.order_sign(
            [b.draft("imatinib", mg=400)],
            conditions=GIST,
            genomics=[*EXON11, pregnancy_status("LA15173-0", "Pregnant")],
        )
    )
    card = card_with(cards, "Pregnancy", "fetus", indicator="warning")
    assert "`Observation/preg-1`" in card["detail"]
    assert "can cause fetal harm" in card["detail"]
    assert "not yet clinically reviewed" in card["detail"]


def test_pregnancy_condition_and_pazopanib_selection_warns(cds):
    cards = cds(
        b.order_select(
            [b.draft("pazopanib", mg=800)],
            conditions=[*LMS, pregnancy_condition()],
            genomics=liver_panel(),
        )
    )
    card = card_with(cards, "Pregnancy", "fetus", indicator="warning")
    assert "`Condition/cond-pregnant`" in card["detail"]


def test_regorafenib_card_gives_the_labelled_contraception_period(cds):
    cards = cds(
        b.order_sign(
            [b.draft("regorafenib", mg=160)],
            conditions=GIST,
            genomics=[*EXON11, pregnancy_status("LA15173-0", "Pregnant")],
        )
    )
    card = card_with(cards, "Pregnancy", "fetus")
    assert "2 months after the last dose" in card["detail"]


def test_not_pregnant_observation_is_silent(cds):
    cards = cds(
        b.order_sign(
            [b.draft("imatinib", mg=400)],
            conditions=GIST,
            genomics=[*EXON11, pregnancy_status("LA26683-5", "Not pregnant")],
        )
    )
    no_card_with(cards, "fetus")


def test_later_not_pregnant_result_ends_an_earlier_pregnancy(cds):
    cards = cds(
        b.order_sign(
            [b.draft("imatinib", mg=400)],
            conditions=GIST,
            genomics=[
                *EXON11,
                pregnancy_status("LA15173-0", "Pregnant", days=200, id="preg-old"),
                pregnancy_status("LA26683-5", "Not pregnant", days=3, id="preg-new"),
            ],
        )
    )
    no_card_with(cards, "fetus")


def test_stale_pregnancy_observation_is_silent(cds):
    cards = cds(
        b.order_sign(
            [b.draft("imatinib", mg=400)],
            conditions=GIST,
            genomics=[*EXON11, pregnancy_status("LA15173-0", "Pregnant", days=400)],
        )
    )
    no_card_with(cards, "fetus")


def test_resolved_or_entered_in_error_pregnancy_condition_is_silent(cds):
    for cond in (
        pregnancy_condition(clinical="resolved"),
        pregnancy_condition(verification="entered-in-error"),
        pregnancy_condition(verification="refuted"),
    ):
        cards = cds(
            b.order_sign([b.draft("imatinib", mg=400)], conditions=[*GIST, cond], genomics=EXON11)
        )
        no_card_with(cards, "fetus")


# --- hepatic impairment ----------------------------------------------------------------------


def test_pazopanib_in_moderate_hepatic_impairment_gets_the_200_mg_label_dose(cds):
    cards = cds(
        b.order_sign(
            [b.draft("pazopanib", mg=800)],
            conditions=LMS,
            genomics=[
                bilirubin(3.0),
                lab("1742-6", 60, "U/L", high=40, id="alt-1"),
                lab("1920-8", 58, "U/L", high=40, id="ast-1"),
            ],
        )
    )
    card = card_with(cards, "hepatic impairment", indicator="warning")
    assert "200 mg once daily" in card["detail"]
    assert "2.5x ULN" in card["detail"]
    assert "`Observation/bili-1`" in card["detail"]


def test_pazopanib_in_severe_hepatic_impairment_is_not_recommended(cds):
    cards = cds(
        b.order_sign([b.draft("pazopanib", mg=400)], conditions=LMS, genomics=[bilirubin(4.5)])
    )
    card = card_with(cards, "hepatic impairment", indicator="warning")
    assert "not recommended" in card["detail"]


def test_pazopanib_already_at_the_hepatic_dose_is_silent(cds):
    cards = cds(
        b.order_sign([b.draft("pazopanib", mg=200)], conditions=LMS, genomics=[bilirubin(3.0)])
    )
    no_card_with(cards, "hepatic impairment")


def test_bilirubin_without_reference_range_is_not_graded_and_says_so(cds):
    cards = cds(
        b.order_sign(
            [b.draft("pazopanib", mg=800)], conditions=LMS, genomics=[bilirubin(4.5, high=None)]
        )
    )
    no_card_with(cards, "hepatic impairment")
    assert any("upper limit of normal" in c["detail"] for c in cards)


def test_old_bilirubin_is_not_used(cds):
    cards = cds(
        b.order_sign(
            [b.draft("pazopanib", mg=800)], conditions=LMS, genomics=[bilirubin(4.5, days=60)]
        )
    )
    no_card_with(cards, "hepatic impairment")


def test_crizotinib_in_severe_hepatic_impairment(cds):
    cards = cds(
        b.order_sign(
            [b.draft("crizotinib", mg=250, per_day=2)],
            conditions=[b.condition("imt")],
            genomics=[b.fusion("EML4", "ALK"), bilirubin(4.0)],
        )
    )
    card = card_with(cards, "hepatic impairment", indicator="warning")
    assert "250 mg once daily" in card["detail"]


# --- renal impairment ------------------------------------------------------------------------


def test_imatinib_with_measured_creatinine_clearance_30(cds):
    cards = cds(
        b.order_sign(
            [b.draft("imatinib", mg=400)],
            conditions=GIST,
            genomics=[*EXON11, lab("2164-2", 30, "mL/min", high=None, id="crcl-1")],
        )
    )
    card = card_with(cards, "creatinine clearance", indicator="warning")
    assert "halve the starting dose" in card["detail"]
    assert "`Observation/crcl-1`" in card["detail"]


def test_crizotinib_with_cockcroft_gault_clearance_25(cds):
    cards = cds(
        b.order_sign(
            [b.draft("crizotinib", mg=250, per_day=2)],
            conditions=[b.condition("imt")],
            genomics=[b.fusion("EML4", "ALK"), lab("35591-7", 25, "mL/min", high=None, id="cg")],
        )
    )
    card = card_with(cards, "creatinine clearance", indicator="warning")
    assert "250 mg once daily" in card["detail"]


def test_normal_clearance_is_silent(cds):
    cards = cds(
        b.order_sign(
            [b.draft("imatinib", mg=400)],
            conditions=GIST,
            genomics=[*EXON11, lab("2164-2", 95, "mL/min", high=None, id="crcl-1")],
        )
    )
    no_card_with(cards, "creatinine clearance")


# --- pazopanib boxed warning: baseline liver tests -------------------------------------------


def test_pazopanib_without_recent_liver_tests_prompts_baseline(cds):
    cards = cds(b.order_sign([b.draft("pazopanib", mg=800)], conditions=LMS))
    card = card_with(cards, "boxed warning", "liver tests", indicator="warning")
    assert "every 4 weeks" in card["detail"]
    assert "No result sent or found for the 30 days before this order" in card["detail"]


def test_liver_tests_in_the_population_key_silence_the_baseline_card(cds):
    cards = cds(b.order_sign([b.draft("pazopanib", mg=800)], conditions=LMS, labs=liver_panel()))
    no_card_with(cards, "boxed warning")


def test_population_key_neither_sent_nor_fetchable_is_not_read_as_no_liver_tests(cds):
    """No `populations` key and no fhirServer: the card prompts the check but does not state
    that the record holds no liver tests."""
    body = b.order_sign([b.draft("pazopanib", mg=800)], conditions=LMS)
    del body["prefetch"]["populations"]
    card = card_with(cds(body), "boxed warning", "liver tests", indicator="warning")
    assert "sent or found" in card["summary"]
    assert "could not be run (results may exist in the record)" in card["detail"]
    assert "No result sent or found" not in card["detail"]


def test_pazopanib_with_recent_liver_tests_has_no_baseline_card(cds):
    cards = cds(
        b.order_sign([b.draft("pazopanib", mg=800)], conditions=LMS, genomics=liver_panel())
    )
    no_card_with(cards, "boxed warning")


# --- renal impairment recorded as a Condition ------------------------------------------------


def ckd_condition(code: str, display: str, *, system: str = b.SNOMED, **extra: Any) -> dict:
    return {
        "resourceType": "Condition",
        "id": "ckd-1",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VER, "code": "confirmed"}]},
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
        "subject": b.subject(),
        "recordedDate": "2025-02-10",
        **extra,
    }


ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CKD4 = ckd_condition("N18.4", "Chronic kidney disease, stage 4 (severe)", system=ICD10CM)


def test_ckd_stage_4_condition_and_imatinib_order_asks_for_a_clearance(cds):
    cards = cds(b.order_sign([b.draft("imatinib", mg=400)], conditions=[*GIST, CKD4]))
    card = card_with(cards, "Chronic kidney disease", "creatinine clearance", indicator="warning")
    assert "`Condition/ckd-1`" in card["detail"]
    assert "not a creatinine clearance" in card["detail"]
    assert "eGFR 15-29" in card["detail"]
    no_card_with(cards, "Low creatinine clearance")  # no clearance is claimed


def test_crizotinib_with_ckd_stage_5_shows_the_labelled_starting_dose(cds):
    ckd5 = ckd_condition("433146000", "Chronic kidney disease stage 5")
    cards = cds(
        b.order_sign(
            [b.draft("crizotinib", mg=250, per_day=2)],
            conditions=[b.condition("imt"), ckd5],
        )
    )
    card = card_with(cards, "Chronic kidney disease", indicator="warning")
    assert "250 mg once daily" in card["detail"]


def test_recent_clearance_decides_and_the_ckd_condition_card_stays_silent(cds):
    cards = cds(
        b.order_sign(
            [b.draft("imatinib", mg=400)],
            conditions=[*GIST, CKD4],
            labs=[lab("35591-7", 72, "mL/min", high=None, id="crcl-1")],
        )
    )
    no_card_with(cards, "Chronic kidney disease")
    no_card_with(cards, "creatinine clearance")


def test_resolved_ckd_condition_or_dialysis_for_crizotinib_is_silent(cds):
    resolved = ckd_condition(
        "431857002",
        "Chronic kidney disease stage 4",
        clinicalStatus={"coding": [{"system": CONDITION_CLINICAL, "code": "resolved"}]},
    )
    cards = cds(b.order_sign([b.draft("imatinib", mg=400)], conditions=[*GIST, resolved]))
    no_card_with(cards, "Chronic kidney disease")
    dialysis = ckd_condition("Z99.2", "Dependence on renal dialysis", system=ICD10CM)
    cards = cds(
        b.order_sign(
            [b.draft("crizotinib", mg=250, per_day=2)],
            conditions=[b.condition("imt"), dialysis],
        )
    )
    no_card_with(cards, "Chronic kidney disease")


def test_recent_egfr_is_shown_on_the_ckd_card_as_context_only(cds):
    ckd5 = ckd_condition("433146000", "Chronic kidney disease stage 5")
    cards = cds(
        b.order_sign(
            [b.draft("crizotinib", mg=250, per_day=2)],
            conditions=[b.condition("imt"), ckd5],
            labs=[lab("98979-8", 12, "mL/min/{1.73_m2}", high=None, id="egfr-1")],
        )
    )
    card = card_with(cards, "Chronic kidney disease", indicator="warning")
    assert "eGFR 12 mL/min/1.73 m2" in card["detail"]
    assert "`Observation/egfr-1`" in card["detail"]
    assert "context only" in card["detail"]
    no_card_with(cards, "Low creatinine clearance")  # an eGFR is never taken for a CrCl
