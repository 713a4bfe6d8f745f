"""Hereditary syndromes recorded as Conditions (neurofibromatosis type 1)."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mapping import map_prefetch
from rules.hereditary import HereditarySyndrome
from tests.fhir_mapping.builders import CTX, bundle, concept

SCT = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def condition(cid: str, code: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "code": code,
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


def hereditary(*conditions: dict[str, Any]) -> Any:
    gist = condition("gist", concept(ICDO3, "8936/3", "Gastrointestinal stromal tumor"))
    result = map_prefetch({"conditions": bundle(gist, *conditions)}, CTX)
    return result.patient


@pytest.mark.parametrize(
    ("system", "code"),
    [(SCT, "92824003"), (ICD10, "Q85.01")],
)
def test_nf1_condition_is_read_by_snomed_or_icd10cm(system: str, code: str) -> None:
    patient = hereditary(condition("nf1", concept(system, code)))
    (found,) = patient.hereditary_conditions
    assert found.syndrome is HereditarySyndrome.NEUROFIBROMATOSIS_TYPE_1
    assert found.source_ref == "Condition/nf1"
    assert found.text == "Neurofibromatosis type 1"
    # The GIST is still the diagnosis; NF1 is not a cancer diagnosis.
    assert [d.source_ref for d in patient.diagnoses] == ["Condition/gist"]


def test_the_conditions_own_text_is_kept() -> None:
    code = {**concept(ICD10, "Q85.01"), "text": "NF1 (von Recklinghausen)"}
    (found,) = hereditary(condition("nf1", code)).hereditary_conditions
    assert found.text == "NF1 (von Recklinghausen)"


@pytest.mark.parametrize(
    "resource",
    [
        # unspecified neurofibromatosis and other types are not NF1
        condition("nf-unspecified", concept(ICD10, "Q85.00")),
        condition("nf2", concept(ICD10, "Q85.02")),
        # wording alone does not assert the syndrome
        condition("nf-text", {"text": "neurofibromatosis type 1"}),
        condition(
            "nf1-refuted",
            concept(SCT, "92824003"),
            verificationStatus={"coding": [{"system": VER, "code": "refuted"}]},
        ),
        {
            **condition("nf1-other", concept(SCT, "92824003")),
            "subject": {"reference": "Patient/p2"},
        },
    ],
)
def test_not_read_as_nf1(resource: dict[str, Any]) -> None:
    assert hereditary(resource).hereditary_conditions == ()
