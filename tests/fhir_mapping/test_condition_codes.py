"""conditions.status_code (one pass over a plain JSON concept's codings, no Code per coding)
answers what status_code_of_codes (first_code, then the first bare code) answers, for status
concepts of any JSON shape: codings with and without systems, blank and padded codes, systems
written in another spelling, codings that are not objects, concepts that are not objects."""

from __future__ import annotations

from collections import UserDict
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from fhir_mapping.codes import CONDITION_CLINICAL, CONDITION_VER_STATUS, HGNC, HGNC_STU2, SO
from fhir_mapping.conditions import status_code, status_code_of_codes
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
