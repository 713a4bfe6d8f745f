"""conditions.status_code (one pass over a plain JSON concept's codings, no Code per coding)
answers what status_code_of_codes (first_code, then the first bare code) answers, for status
concepts of any JSON shape: codings with and without systems, blank and padded codes, systems
written in another spelling, codings that are not objects, concepts that are not objects. And
map_condition's statuses (dict look-ups) are the members the enums' constructors give."""

from __future__ import annotations

import dataclasses
from collections import UserDict
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from fhir_mapping.codes import CONDITION_CLINICAL, CONDITION_VER_STATUS, HGNC, HGNC_STU2, SO
from fhir_mapping.conditions import map_condition, status_code, status_code_of_codes
from fhir_mapping.histology import _SPECIFICITY
from rules.patient import ClinicalStatus, Diagnosis, Histology, VerificationStatus
from tests.fhir_mapping.test_cheap_reader import ODD_VALUES

SYSTEMS = [CONDITION_CLINICAL, CONDITION_VER_STATUS, HGNC, SO]
SYSTEM_VALUES = st.sampled_from(
    [
        *SYSTEMS,
        f" {CONDITION_CLINICAL} ",
        f"{CONDITION_VER_STATUS}/",
        HGNC_STU2,
        f"{SO}/",
        "",
        " ",
        "urn:other",
    ]
)
CODE_VALUES = st.sampled_from(
    ["active", " active ", "confirmed", "refuted", "", " ", "\t", "entered-in-error", "x"]
)
CODING = st.fixed_dictionaries(
    {},
    optional={
        "system": SYSTEM_VALUES | ODD_VALUES,
        "code": CODE_VALUES | ODD_VALUES,
        "display": st.sampled_from(["Active", ""]),
    },
)
CODINGS = st.lists(CODING | ODD_VALUES | CODING.map(UserDict) | st.just([]), max_size=4)
CONCEPTS = (
    st.fixed_dictionaries({}, optional={"coding": CODINGS | ODD_VALUES, "text": st.just("x")})
    | st.fixed_dictionaries({"coding": CODINGS}).map(UserDict)
    | ODD_VALUES
    | CODINGS
)


@given(concept=CONCEPTS, system=st.sampled_from(SYSTEMS))
@example(
    concept={"coding": [{"code": " bare "}, {"system": CONDITION_CLINICAL, "code": " a "}]},
    system=CONDITION_CLINICAL,
)
@example(
    concept={"coding": [{"system": f"{SO}/", "code": "b"}, {"system": SO, "code": "a"}]},
    system=SO,
)
@example(concept={"coding": [7, {"system": HGNC_STU2, "code": "c"}]}, system=HGNC)
@example(concept={"coding": [{"code": "d"}, UserDict({"code": "e"})]}, system=SO)
@settings(max_examples=800)
def test_status_code_is_the_code_reading(concept: Any, system: str) -> None:
    assert status_code(concept, system) == status_code_of_codes(concept, system)


GIST = {
    "resourceType": "Condition",
    "id": "c1",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "420120006"}]},
}
STATUS_WORDS = st.sampled_from(
    [m.value for m in ClinicalStatus]
    + [m.value for m in VerificationStatus]
    + ["Active", " confirmed ", "", "refuted", "entered-in-error", "other"]
) | st.text(max_size=6)


def _member(enum: Any, code: str | None) -> Any:
    """What the enum's constructor reads (ValueError: unknown)."""
    try:
        return enum(code) if code else enum.UNKNOWN
    except ValueError:
        return enum.UNKNOWN


@given(clinical=STATUS_WORDS, verification=STATUS_WORDS)
@settings(max_examples=300)
def test_the_statuses_of_a_diagnosis_are_the_enum_members(clinical: str, verification: str) -> None:
    """map_condition reads the statuses with dict look-ups: the members the enums' constructors
    give, UNKNOWN for any other word; the diagnosis is the one its fields make."""
    resource = {
        **GIST,
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": clinical}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VER_STATUS, "code": verification}]},
    }
    diagnosis, _ = map_condition(resource)
    verification_code = status_code(resource["verificationStatus"], CONDITION_VER_STATUS)
    if verification_code in ("refuted", "entered-in-error"):
        assert diagnosis is None
        return
    assert diagnosis is not None
    clinical_code = status_code(resource["clinicalStatus"], CONDITION_CLINICAL)
    assert diagnosis.clinical_status is _member(ClinicalStatus, clinical_code)
    assert diagnosis.verification_status is _member(VerificationStatus, verification_code)
    values = {f.name: getattr(diagnosis, f.name) for f in dataclasses.fields(diagnosis)}
    assert values["histology"] is Histology.GIST and values["source_ref"] == "Condition/c1"
    assert Diagnosis(**values) == diagnosis and type(diagnosis) is Diagnosis


def test_the_specificity_table_is_the_property() -> None:
    assert all(_SPECIFICITY[h] == h.specificity for h in Histology)
