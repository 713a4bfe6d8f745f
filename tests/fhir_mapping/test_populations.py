"""Pregnancy status and organ-function laboratory results, as real EHRs and labs send them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fhir_mapping import map_prefetch
from rules.populations import LabKind, PregnancyStatus
from tests.fhir_mapping.builders import CTX, bundle, concept

LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def observation(oid: str, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": concept(LOINC, code),
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-20",
        **extra,
    }


def pregnancy_obs(value: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return observation("preg", "82810-3", valueCodeableConcept=value, **extra)


def pregnancy_condition(clinical: str = "active", verification: str = "confirmed", **extra: Any):
    return {
        "resourceType": "Condition",
        "id": "pregnant",
        "clinicalStatus": concept(CLINICAL, clinical),
        "verificationStatus": concept(VER, verification),
        "code": concept(SCT, "77386006", "Pregnant"),
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


def mapped(
    observations: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
) -> Any:
    return map_prefetch(
        {"observations": bundle(*(observations or [])), "conditions": bundle(*(conditions or []))},
        CTX,
    )


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (concept(LOINC, "LA15173-0", "Pregnant"), PregnancyStatus.PREGNANT),
        (concept(LOINC, "LA26683-5", "Not pregnant"), PregnancyStatus.NOT_PREGNANT),
        (concept(SCT, "77386006", "Pregnant"), PregnancyStatus.PREGNANT),
        (concept(SCT, "60001007", "Not pregnant"), PregnancyStatus.NOT_PREGNANT),
        ({"text": "Pregnant"}, PregnancyStatus.PREGNANT),
        ({"text": "not pregnant"}, PregnancyStatus.NOT_PREGNANT),
    ],
)
def test_pregnancy_status_answers(value: dict[str, Any], status: PregnancyStatus) -> None:
    (record,) = mapped([pregnancy_obs(value)]).patient.pregnancy
    assert record.status is status
    assert record.source_ref == "Observation/preg"
    assert str(record.date) == "2026-11-20"


def test_unknown_answer_and_free_text_sentences_say_nothing() -> None:
    result = mapped(
        [
            pregnancy_obs(concept(LOINC, "LA4489-6", "Unknown")),
            {**pregnancy_obs({"text": "patient thinks she may be pregnant"}), "id": "p2"},
        ]
    )
    assert result.patient.pregnancy == ()


def test_undated_or_preliminary_pregnancy_status_is_reported_not_read() -> None:
    undated = pregnancy_obs(concept(LOINC, "LA15173-0"))
    del undated["effectiveDateTime"]
    preliminary = {
        **pregnancy_obs(concept(LOINC, "LA15173-0")),
        "id": "p2",
        "status": "preliminary",
    }
    result = mapped([undated, preliminary])
    assert result.patient.pregnancy == ()
    kinds = {(i.kind, i.reference) for i in result.issues}
    assert ("missing-date", "Observation/preg") in kinds
    assert ("unread-status", "Observation/p2") in kinds


def test_entered_in_error_pregnancy_status_is_silently_dropped() -> None:
    result = mapped([pregnancy_obs(concept(LOINC, "LA15173-0"), status="entered-in-error")])
    assert result.patient.pregnancy == ()
    assert not [i for i in result.issues if i.reference == "Observation/preg"]


def test_active_pregnancy_condition_is_read_with_its_onset() -> None:
    result = mapped(conditions=[pregnancy_condition(onsetDateTime="2026-09-01")])
    (record,) = result.patient.pregnancy
    assert (record.status, record.source_kind, str(record.date)) == (
        PregnancyStatus.PREGNANT,
        "condition",
        "2026-09-01",
    )
    assert result.patient.diagnoses == ()


@pytest.mark.parametrize(
    "cond",
    [
        pregnancy_condition(clinical="resolved"),
        pregnancy_condition(clinical="inactive"),
        pregnancy_condition(verification="refuted"),
        pregnancy_condition(verification="entered-in-error"),
        pregnancy_condition(abatementDateTime="2026-10-01"),
    ],
)
def test_ended_or_refuted_pregnancy_condition_is_not_read(cond: dict[str, Any]) -> None:
    assert mapped(conditions=[cond]).patient.pregnancy == ()


def quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}


def test_bilirubin_with_its_reference_range_gives_multiples_of_uln() -> None:
    bili = observation(
        "bili",
        "1975-2",
        valueQuantity=quantity(51.3, "umol/L"),
        referenceRange=[{"low": quantity(3, "umol/L"), "high": quantity(20.5, "umol/L")}],
    )
    (lab,) = mapped([bili]).patient.labs
    assert lab.kind is LabKind.BILIRUBIN_TOTAL
    assert lab.uln == Decimal("20.5")
    assert lab.times_uln is not None and round(lab.times_uln, 1) == Decimal("2.5")


def test_no_uln_is_assumed_when_the_lab_sends_no_reference_range() -> None:
    bili = observation("bili", "1975-2", valueQuantity=quantity(3.1, "mg/dL"))
    result = mapped([bili])
    (lab,) = result.patient.labs
    assert lab.uln is None and lab.times_uln is None
    assert any(i.kind == "missing-reference-range" for i in result.issues)


def test_reference_range_in_another_unit_is_not_used() -> None:
    bili = observation(
        "bili",
        "1975-2",
        valueQuantity=quantity(3.1, "mg/dL"),
        referenceRange=[{"high": quantity(20.5, "umol/L")}],
    )
    (lab,) = mapped([bili]).patient.labs
    assert lab.uln is None


@pytest.mark.parametrize(("code", "kind"), [("1742-6", LabKind.ALT), ("1920-8", LabKind.AST)])
def test_transaminases(code: str, kind: LabKind) -> None:
    obs = observation(
        "t", code, valueQuantity=quantity(88, "U/L"), referenceRange=[{"high": quantity(40, "U/L")}]
    )
    (lab,) = mapped([obs]).patient.labs
    assert (lab.kind, lab.value, lab.uln) == (kind, Decimal(88), Decimal(40))


@pytest.mark.parametrize("code", ["2164-2", "35591-7"])
def test_creatinine_clearance_measured_or_cockcroft_gault(code: str) -> None:
    (lab,) = mapped([observation("crcl", code, valueQuantity=quantity(34, "mL/min"))]).patient.labs
    assert (lab.kind, lab.value, lab.unit) == (LabKind.CREATININE_CLEARANCE, Decimal(34), "mL/min")


def test_clearance_in_an_unread_unit_or_without_value_is_reported() -> None:
    per_area = observation("a", "2164-2", valueQuantity=quantity(34, "mL/min/{1.73_m2}"))
    text_only = observation("b", "35591-7", valueString="34 mL/min")
    result = mapped([per_area, text_only])
    assert result.patient.labs == ()
    assert {i.reference for i in result.issues if i.kind == "unmapped-value"} == {
        "Observation/a",
        "Observation/b",
    }


def test_egfr_and_serum_creatinine_are_not_read_as_clearance() -> None:
    egfr = observation("egfr", "98979-8", valueQuantity=quantity(25, "mL/min/{1.73_m2}"))
    creat = observation("cr", "2160-0", valueQuantity=quantity(2.4, "mg/dL"))
    result = mapped([egfr, creat])
    assert [lab.kind for lab in result.patient.labs] == [LabKind.EGFR]  # context, not CrCl
    assert not [i for i in result.issues if i.reference in {"Observation/egfr", "Observation/cr"}]


def test_lab_about_another_patient_is_skipped() -> None:
    obs = observation("crcl", "2164-2", valueQuantity=quantity(20, "mL/min"))
    obs["subject"] = {"reference": "Patient/other"}
    result = mapped([obs])
    assert result.patient.labs == ()
    assert any(i.kind == "subject-mismatch" for i in result.issues)


@pytest.mark.parametrize("code", ["1742-6", "1920-8"])
def test_transaminase_without_reference_range_is_read_without_an_issue(code: str) -> None:
    """Only the bilirubin ULN is read (hepatic categories): a missing ALT/AST range changes no
    card, and as a data-quality note it crowded the patient facts out of unrelated cards."""
    result = mapped([observation("t", code, valueQuantity=quantity(22, "U/L"))])
    (lab,) = result.patient.labs
    assert lab.uln is None
    assert result.issues == ()


@pytest.mark.parametrize("code", ["98979-8", "62238-1", "33914-3"])
@pytest.mark.parametrize("unit", ["mL/min/{1.73_m2}", "mL/min/1.73m2"])
def test_egfr_is_read_in_its_own_unit_without_a_reference_range(code: str, unit: str) -> None:
    result = mapped([observation("egfr", code, valueQuantity=quantity(24, unit))])
    (lab,) = result.patient.labs
    assert (lab.kind, lab.value, lab.unit) == (LabKind.EGFR, Decimal(24), "mL/min/1.73 m2")
    assert lab.uln is None and result.issues == ()


def test_egfr_in_ml_per_min_is_not_taken_for_a_clearance() -> None:
    result = mapped([observation("egfr", "98979-8", valueQuantity=quantity(24, "mL/min"))])
    assert result.patient.labs == ()
    assert [i.kind for i in result.issues] == ["unmapped-value"]
