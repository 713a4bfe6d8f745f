"""Property tests: valid-but-odd resources never raise and never yield unsourced facts."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fhir_mapping import explain, map_prefetch
from fhir_mapping.dates import parse_date
from rules.patient import PartialDate

LOINC = "http://loinc.org"
SYSTEMS = st.sampled_from(
    [
        LOINC,
        "http://www.genenames.org",
        "http://www.genenames.org/geneId",
        "http://www.sequenceontology.org/",
        "http://snomed.info/sct",
        "http://terminology.hl7.org/CodeSystem/icd-o-3",
        "http://www.nlm.nih.gov/research/umls/rxnorm",
        "urn:odd",
    ]
)
CODES = st.sampled_from(
    [
        "69548-6",
        "48018-6",
        "48005-3",
        "48002-0",
        "81252-9",
        "LA9633-4",
        "LA9634-2",
        "LA6683-2",
        "HGNC:6342",
        "6342",
        "HGNC:427",
        "SO:0001565",
        "8936/3",
        "89363",
        "80463/3",
        "420120006",
        "282388",
        "77171-7",
        "93813-4",
        "97509-4",
        "271299001",
        "",
    ]
)
TEXT = st.text(max_size=40) | st.sampled_from(
    ["KIT exon 11 mutated", "no ALK fusion", "ETV6::NTRK3", "? PDGFRA D842V", "GIST"]
)
CODING = st.fixed_dictionaries({"system": SYSTEMS, "code": CODES}, optional={"display": TEXT})
CONCEPT = st.fixed_dictionaries({}, optional={"coding": st.lists(CODING, max_size=3), "text": TEXT})
COMPONENT = st.fixed_dictionaries(
    {"code": CONCEPT},
    optional={"valueCodeableConcept": CONCEPT, "valueString": TEXT},
)
OBSERVATION = st.fixed_dictionaries(
    {
        "resourceType": st.just("Observation"),
        "id": st.from_regex(r"[A-Za-z0-9\-]{1,8}", fullmatch=True),
        "status": st.sampled_from(["final", "amended", "entered-in-error", "preliminary"]),
        "code": CONCEPT,
    },
    optional={
        "valueCodeableConcept": CONCEPT,
        "valueString": TEXT,
        "component": st.lists(COMPONENT, max_size=5),
        "effectiveDateTime": st.sampled_from(["2020", "2020-02", "2020-02-29", "2021-13-01"]),
        "note": st.lists(st.fixed_dictionaries({"text": TEXT}), max_size=2),
        "derivedFrom": st.lists(st.fixed_dictionaries({"reference": TEXT}), max_size=2),
    },
)
CONDITION = st.fixed_dictionaries(
    {"resourceType": st.just("Condition"), "id": st.just("c"), "code": CONCEPT},
    optional={
        "extension": st.lists(
            st.fixed_dictionaries(
                {
                    "url": st.just("http://x/histology-morphology-behavior"),
                    "valueCodeableConcept": CONCEPT,
                }
            ),
            max_size=1,
        ),
        "note": st.lists(st.fixed_dictionaries({"text": TEXT}), max_size=2),
        "onsetDateTime": st.sampled_from(["2019", "2019-05", "junk"]),
    },
)
MEDREQ = st.fixed_dictionaries(
    {
        "resourceType": st.just("MedicationRequest"),
        "id": st.just("m"),
        "status": st.sampled_from(["active", "stopped", "completed", "draft", "weird"]),
        "intent": st.just("order"),
        "subject": st.just({"reference": "Patient/p1"}),
        "medicationCodeableConcept": CONCEPT,
    },
    optional={
        "statusReason": CONCEPT,
        "authoredOn": st.sampled_from(["2020", "2020-05-01", "bad"]),
        "dosageInstruction": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "text": TEXT,
                    "doseAndRate": st.just([{"doseQuantity": {"value": 400, "unit": "mg"}}]),
                    "timing": st.just({"repeat": {"frequency": 2, "period": 0, "periodUnit": "d"}}),
                },
            ),
            max_size=2,
        ),
    },
)
ANY_RESOURCE = st.one_of(
    OBSERVATION, CONDITION, MEDREQ, st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ANY_RESOURCE, max_size=6))
def test_odd_resources_never_raise_and_every_fact_has_a_source(resources: list[Any]) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }
    result = map_prefetch({"x": bundle}, {"patientId": "p1"})
    patient = result.patient
    for fact in (
        *patient.biomarkers,
        *patient.diagnoses,
        *patient.exposures,
        *patient.disease_status,
        *patient.comedications,
        *patient.therapeutic_implications,
    ):
        assert fact.source_ref and "/" in fact.source_ref
    for biomarker in patient.biomarkers:
        assert biomarker.code is not None
    patient.lines_of_therapy()
    explain(bundle)


@given(
    st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2))
)
def test_garbage_prefetch_values_never_raise(value: Any) -> None:
    map_prefetch({"x": value}, {"draftOrders": value, "selections": value})


@given(st.integers(1900, 2100), st.integers(1, 12) | st.none(), st.integers(1, 28) | st.none())
def test_partial_date_bounds_and_order(year: int, month: int | None, day: int | None) -> None:
    if month is None:
        day = None
    date = PartialDate(year, month, day)
    assert date.lower_bound() <= date.upper_bound()
    assert PartialDate.parse(date.isoformat()) == date
    assert PartialDate(year) <= date


_DATE_PARTS = st.sampled_from(
    ["2024", "1999", "0000", "\u0662\u0660\u0662\u0664", "12", "02", "30", "31", "1", "x"]
)


@given(
    st.lists(st.one_of(_DATE_PARTS, st.sampled_from(["-", "T", " ", ":", "Z"])), max_size=8).map(
        "".join
    )
    | st.text(max_size=14)
    | st.none()
    | st.integers()
)
@example("2024-02-30")
@example("2024-03-01T09:00:00Z")
@example("\u0662\u0660\u0662\u0664-03-01")
@example("2024-13-01")
@example(" 2024-03-01")
@example("2024-03-1x")
@example("2024-0\u0663-01")
@example("2024-02-29T00:00")
@example("2023-02-29")
@example("0000-01-01")
@example("2024-W01-1")
@example("20240301")
@settings(max_examples=500)
def test_date_reading_is_partial_date_parse(value: Any) -> None:
    """The fast path for full dates reads what PartialDate.parse reads (invalid days too)."""
    text = value if isinstance(value, str) and value.strip() else None
    read = parse_date(value)
    assert read == (PartialDate.parse(text) if text else None)
    if read is not None:  # a plain, immutable PartialDate (rules.values.day_of for full dates)
        assert type(read) is PartialDate
        assert hash(read) == hash(PartialDate(read.year, read.month, read.day))
        with pytest.raises(dataclasses.FrozenInstanceError):
            read.day = None  # type: ignore[misc]
