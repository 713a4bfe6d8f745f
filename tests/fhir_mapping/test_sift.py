"""The pre-filter pass (prefilter.sift) sends every resource where routing it alone sends it:
the fast path for common lab shapes answers exactly what prefilter.route answers, on any JSON
value, and a broad lab feed is decided without calling route per lab; a medication is dropped
exactly when medication_filter.may_matter (without its memo) says it does not matter, and the
orders of one supportive medication after the first are dropped without calling it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mapping import medication_filter, prefilter
from fhir_mapping.codes import LOINC, normalise_system
from fhir_mapping.parse import OTHER_VERSION_ELEMENTS
from tests.fhir_mapping.test_route import CODES, ELEMENTS, SYSTEMS, TEXT


def reference_sift(resources: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """Each resource routed alone, as the mapping's pre-filter loop did before sift()."""
    kept: list[Any] = []
    population: list[Any] = []
    risk_factors: list[Any] = []
    for raw in resources:
        if raw.get("resourceType") != "Observation":
            rtype = raw.get("resourceType")
            if rtype in MEDICATIONS and not medication_filter.may_matter(raw):
                continue
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


MEDICATIONS = ("MedicationRequest", "MedicationStatement")


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


#: Concept texts: supportive ones no table names, drug names (named), odd JSON values.
MEDICATION_TEXT = (
    st.sampled_from(
        [
            "granisetron 1 MG Oral Tablet",
            "acetaminophen 500 MG Oral Tablet",
            "imatinib (Gleevec) oral",
            "ondansetron 8 MG Oral Tablet",
            "Gleevec",
            "",
            " ",
        ]
    )
    | ODD
)
MEDICATION_CODING = st.fixed_dictionaries(
    {},
    optional={
        "system": st.just("http://www.nlm.nih.gov/research/umls/rxnorm") | ODD,
        "code": st.sampled_from(["282388", "L01XE01", "0", " 1000 "]) | ODD,
        "display": MEDICATION_TEXT,
    },
)
MEDICATION_CONCEPT = st.fixed_dictionaries(
    {"text": MEDICATION_TEXT}, optional={"other": ODD}
) | st.fixed_dictionaries(
    {},
    optional={
        "text": MEDICATION_TEXT,
        "coding": st.lists(MEDICATION_CODING | ODD, min_size=1, max_size=2) | ODD,
    },
)
#: Top-level elements may_matter reads besides the concept, and others it does not.
MEDICATION_ELEMENTS = st.sets(
    st.sampled_from(
        sorted(
            set().union(*OTHER_VERSION_ELEMENTS.values())
            | {"medicationReference", "meta", "status", "note", "dosageInstruction", "identifier"}
        )
    ),
    max_size=3,
)
CANCER_PROFILE = (
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-related-medication-request"
)


@st.composite
def medication(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "resourceType": draw(st.sampled_from([*MEDICATIONS, "Observation", "Procedure"]))
    }
    if draw(st.integers(0, 9)):
        raw["medicationCodeableConcept"] = draw(MEDICATION_CONCEPT | ODD)
    if draw(st.integers(0, 2)) == 0:
        raw["meta"] = draw(
            st.sampled_from(
                [{"profile": [CANCER_PROFILE]}, {"profile": ["urn:x"]}, {}, None, [CANCER_PROFILE]]
            )
        )
    for key in draw(MEDICATION_ELEMENTS):
        raw[key] = {"reference": "Medication/m1"}
    return raw


@settings(max_examples=1500, deadline=None)
@given(medication(), medication())
def test_an_order_after_one_with_its_text_is_dropped_as_may_matter_drops_it(
    first: dict[str, Any], order: dict[str, Any]
) -> None:
    # ``first`` leaves may_matter's answer for the text of ``order``'s concept in the memo.
    concept = order.get("medicationCodeableConcept")
    if isinstance(concept, dict) and "text" in concept:
        first = {**first, "medicationCodeableConcept": {"text": concept["text"]}}
    resources = [first, order, dict(order)]
    assert identities(prefilter.sift(resources)) == identities(reference_sift(resources))


@settings(max_examples=1500, deadline=None)
@given(st.lists(medication() | resource(), max_size=12), st.data())
def test_sift_drops_the_medications_may_matter_drops(
    resources: list[dict[str, Any]], data: st.DataObject
) -> None:
    # Repeats (the same order again, or another order with its content) take the memo's way.
    repeated = resources + [
        data.draw(st.sampled_from(resources)) if resources else {} for _ in range(len(resources))
    ]
    repeated += [dict(raw) for raw in repeated]
    assert identities(prefilter.sift(repeated)) == identities(reference_sift(repeated))


def test_orders_of_a_supportive_medication_are_dropped_with_one_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def supportive(index: int, text: str) -> dict[str, Any]:
        return {
            "resourceType": "MedicationRequest",
            "id": f"s{index}",
            "status": "completed",
            "medicationCodeableConcept": {"text": text},
            "subject": {"reference": "Patient/p1"},
        }

    texts = ["granisetron 1 MG Oral Tablet", "imatinib 400 mg", "senna 8.6 MG Oral Tablet"]
    orders = [supportive(i, texts[i % 3]) for i in range(30)]
    expected = reference_sift(orders)
    calls: list[Any] = []
    original = medication_filter.may_matter

    def counted(raw: Any, names: Any = None) -> bool:
        calls.append(raw)
        return original(raw, names)

    monkeypatch.setattr(medication_filter, "may_matter", counted)
    sifted = prefilter.sift(orders)
    assert identities(sifted) == identities(expected)
    assert [raw["id"] for raw, _ in sifted[0]] == [f"s{i}" for i in range(1, 30, 3)]
    assert len(calls) == 3
