"""Renal impairment stated by a Condition (CKD stage, end-stage renal disease, dialysis), as
problem lists send it: SNOMED CT or ICD-10-CM, with or without the dot."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mapping import map_prefetch
from tests.fhir_mapping.builders import CTX, bundle, concept

SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def condition(system: str, code: str, display: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "ckd",
        "clinicalStatus": concept(CLINICAL, "active"),
        "verificationStatus": concept(VER, "confirmed"),
        "code": concept(system, code, display),
        "subject": {"reference": "Patient/p1"},
        "recordedDate": "2025-03-02",
        **extra,
    }


def renal(*conditions: dict[str, Any]) -> Any:
    result = map_prefetch({"conditions": bundle(*conditions)}, CTX)
    return result.patient.renal_conditions, result.issues


@pytest.mark.parametrize(
    ("system", "code", "band", "dialysis"),
    [
        (SCT, "431857002", (15, 30), False),
        (SCT, "700379002", (30, 45), False),
        (SCT, "714152005", (0, 15), True),
        (SCT, "46177005", (0, 15), False),
        (ICD, "N18.4", (15, 30), False),
        (ICD, "N184", (15, 30), False),
        (ICD, "N18.31", (45, 60), False),
        (ICD, "N18.6", (0, 15), False),
        (ICD, "Z99.2", (0, 15), True),
    ],
)
def test_ckd_stage_is_read_as_its_egfr_band(system, code, band, dialysis) -> None:
    (record,), issues = renal(condition(system, code))
    assert (record.egfr_from, record.egfr_below) == band
    assert record.dialysis is dialysis
    assert record.source_ref == "Condition/ckd"
    assert str(record.date) == "2025-03-02"
    assert issues == ()


def test_the_card_wording_names_an_egfr_band_never_a_clearance() -> None:
    (record,), _ = renal(condition(SCT, "431857002", "Chronic kidney disease stage 4"))
    assert record.text == "Chronic kidney disease stage 4"
    assert record.band == "eGFR 15-29 mL/min/1.73 m2"


@pytest.mark.parametrize(
    "extra",
    [
        {"clinicalStatus": concept(CLINICAL, "resolved")},
        {"verificationStatus": concept(VER, "refuted")},
        {"verificationStatus": concept(VER, "entered-in-error")},
        {"abatementDateTime": "2025-06-01"},
    ],
)
def test_ended_or_refuted_ckd_is_not_read(extra: dict[str, Any]) -> None:
    records, _ = renal(condition(SCT, "431857002", **extra))
    assert records == ()


def test_earlier_stages_and_other_codes_are_not_read() -> None:
    records, _ = renal(
        condition(SCT, "431856006", "Chronic kidney disease stage 2"),
        condition(ICD, "N18.2"),
        condition(ICD, "N18.9"),
    )
    assert records == ()
