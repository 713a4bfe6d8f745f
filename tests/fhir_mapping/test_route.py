"""One pass over an Observation's codings routes it exactly as the three classifiers it
replaces did, called one after the other (special populations, GIST risk, pre-filter)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mapping import gist_risk, populations, prefilter


def reference_route(raw: dict[str, Any]) -> tuple[int, str | None]:
    population = populations.kind(raw)
    if population is not None:
        return prefilter.POPULATION, population
    risk = gist_risk.kind(raw)
    if risk is not None:
        return prefilter.RISK_FACTOR, risk
    return prefilter.screen(raw), None


CODES = st.sampled_from(
    [
        "1742-6",
        " 1975-2 ",
        "82810-3",
        "35591-7",
        "21889-1",
        " 21889-1",
        "69548-6",
        "48018-6",
        "21908-9",
        "718-7",
        "2951-2",
        "",
        " ",
        *sorted(prefilter.relevant_observation_codes())[:12],
    ]
)
SYSTEMS = st.sampled_from(
    ["http://loinc.org", " http://loinc.org ", "loinc", "", " ", "http://snomed.info/sct"]
)
WORDS = st.sampled_from(
    ["Mitotic count", "Tumour RUPTURE", "GIST risk", "risk", "AFIP", "ALT", "M\u0130TOTIC", ""]
)
TEXT = st.lists(WORDS, max_size=3).map(" ".join) | st.none() | st.integers()
CODING = st.fixed_dictionaries(
    {},
    optional={
        "system": SYSTEMS | st.none() | st.integers(),
        "code": CODES | st.none() | st.integers(),
        "display": TEXT,
    },
)
#: Codings with all three elements, so a display is part of the GIST risk label.
FULL_CODING = st.fixed_dictionaries({"system": SYSTEMS, "code": CODES, "display": TEXT})
CONCEPT = st.fixed_dictionaries(
    {},
    optional={
        "text": TEXT,
        "coding": st.lists(FULL_CODING | CODING | st.integers(), max_size=4) | st.none(),
    },
)
ELEMENTS = st.sets(st.sampled_from(["valueString", "valueCodeableConcept", "component", "note"]))


@settings(max_examples=1500, deadline=None)
@given(CONCEPT | st.none() | st.text(max_size=3), ELEMENTS)
def test_route_matches_the_three_classifiers(code: Any, elements: set[str]) -> None:
    raw: dict[str, Any] = {"resourceType": "Observation", "code": code}
    raw.update({key: "x" for key in elements})
    assert prefilter.route(raw) == reference_route(raw)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(CONCEPT | st.none(), ELEMENTS), max_size=6))
def test_the_per_call_display_memo_changes_no_route(observations: list[Any]) -> None:
    displays: dict[str, bool] = {}
    for code, elements in observations:
        raw: dict[str, Any] = {"resourceType": "Observation", "code": code}
        raw.update({key: "x" for key in elements})
        assert prefilter.route(raw, displays) == reference_route(raw)
