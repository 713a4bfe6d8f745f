"""The pre-filter pass (prefilter.sift) sends every resource where routing it alone sends it:
the fast path for common lab shapes answers exactly what prefilter.route answers, on any JSON
value, and a broad lab feed is decided without calling route per lab."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mapping import prefilter
from fhir_mapping.codes import LOINC, normalise_system
from tests.fhir_mapping.test_route import CODES, ELEMENTS, SYSTEMS, TEXT


def reference_sift(resources: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """Each resource routed alone, as the mapping's pre-filter loop did before sift()."""
    kept: list[Any] = []
    population: list[Any] = []
    risk_factors: list[Any] = []
    for raw in resources:
        if raw.get("resourceType") != "Observation":
            kept.append((raw, prefilter.NOT_OBSERVATION))
            continue
        screened, kind = prefilter.route(raw)
        if screened == prefilter.POPULATION and kind is not None:
            population.append((raw, kind))
        elif screened == prefilter.RISK_FACTOR and kind is not None:
            risk_factors.append((raw, kind))
        elif screened != prefilter.UNRELATED:
            kept.append((raw, screened))
    return kept, population, risk_factors


def identities(sifted: tuple[list[Any], list[Any], list[Any]]) -> list[list[tuple[int, Any]]]:
    return [[(id(raw), outcome) for raw, outcome in part] for part in sifted]


#: Other JSON values where an object, a list or a string is expected (unhashable ones too).
ODD = st.sampled_from([None, 0, 1, 1.0, True, "", " ", "x", [], {}, ["1742-6"], {"a": 1}])
LAB_DISPLAYS = st.sampled_from(["Creatinine", "Hemoglobin [Mass/volume] in Blood"])
POPULATION_CODES = st.sampled_from(["1742-6", "1975-2", "82810-3", " 1920-8", "2164-2"])
CODING = st.fixed_dictionaries(
    {},
    optional={
        "system": SYSTEMS | st.just(LOINC) | ODD,
        "code": CODES | POPULATION_CODES | ODD,
        "display": TEXT | LAB_DISPLAYS | ODD,
    },
)
LAB_CODING = st.fixed_dictionaries(
    {
        "system": st.just(LOINC),
        "code": st.sampled_from(
            ["2160-0", "718-7", "1742-6", "1975-2", "21889-1", "69548-6", "53041-0", "21908-9"]
        ),
        "display": st.sampled_from(["Creatinine", "ALT", "Tumor size", "risk", "AFIP"]),
    }
)
CONCEPT = st.fixed_dictionaries(
    {},
    optional={
        "text": TEXT | ODD,
        "coding": st.lists(LAB_CODING | CODING | ODD, max_size=3) | ODD,
    },
)


@st.composite
def resource(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    rtype = draw(
        st.sampled_from(["Observation", "Observation", "Observation", "Condition", None, 3])
    )
    if rtype is not None:
        raw["resourceType"] = rtype
    if draw(st.integers(0, 9)):
        raw["code"] = draw(CONCEPT | ODD)
    raw.update({key: "x" for key in draw(ELEMENTS)})
    return raw


@settings(max_examples=2000, deadline=None)
@given(st.lists(resource(), max_size=40))
def test_sift_routes_every_resource_as_route_does(resources: list[dict[str, Any]]) -> None:
    assert identities(prefilter.sift(resources)) == identities(reference_sift(resources))


def test_the_exact_loinc_system_is_its_own_normal_form() -> None:
    # The fast path compares the system with LOINC as written; route normalises it first.
    assert normalise_system(LOINC) == LOINC


def test_a_broad_lab_feed_is_routed_without_calling_route(monkeypatch: pytest.MonkeyPatch) -> None:
    def lab(index: int, code: str, display: str, **extra: Any) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": f"lab-{index}",
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}], **extra},
            "valueQuantity": {"value": 1, "unit": "mg/dL"},
        }

    feed = [lab(i, "2160-0", "Creatinine [Mass/volume] in Serum or Plasma") for i in range(40)]
    feed += [lab(40 + i, "1742-6", "ALT", text="Alanine aminotransferase") for i in range(10)]
    expected = reference_sift(feed)

    def no_route(*args: Any) -> Any:
        raise AssertionError("route() called for a common lab")

    monkeypatch.setattr(prefilter, "route", no_route)
    kept, population, risk_factors = prefilter.sift(feed)
    assert identities((kept, population, risk_factors)) == identities(expected)
    assert kept == [] and risk_factors == []
    assert [kind for _, kind in population] == ["alt"] * 10


def test_genomic_observations_are_kept_as_coded_without_calling_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A panel's variant assessments (a code the mapping reads, the exact LOINC system): CODED,
    # as route() says, without calling it; a population code after it still wins.
    def variant(index: int, *extra: dict[str, Any]) -> dict[str, Any]:
        coding = [{"system": LOINC, "code": "69548-6", "display": "Genetic variant assessment"}]
        return {
            "resourceType": "Observation",
            "id": f"gen-{index}",
            "code": {"coding": [*coding, *extra]},
            "component": [],
        }

    panel = [variant(i) for i in range(12)]
    panel.append(variant(12, {"system": LOINC, "code": "1742-6", "display": "ALT"}))
    expected = reference_sift(panel)

    def no_route(*args: Any) -> Any:
        raise AssertionError("route() called for a genomic Observation")

    monkeypatch.setattr(prefilter, "route", no_route)
    sifted = prefilter.sift(panel)
    assert identities(sifted) == identities(expected)
    assert [outcome for _, outcome in sifted[0]] == [prefilter.CODED] * 12
    assert [kind for _, kind in sifted[1]] == ["alt"]
