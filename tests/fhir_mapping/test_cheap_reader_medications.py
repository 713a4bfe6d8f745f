"""The cheap reader vouches for a MedicationRequest only when R4B validation finds nothing.

The same differential property as for Conditions (tests/fhir_mapping/test_cheap_reader.py),
on the MedicationRequests of the fixtures, the scenario builders and the bench records (cycle
orders, supportive orders, drafts), on generated orders (dosage, dispense request, status
reason, notes, intent extensions) and on mutations of both, including second members of the
choice groups an order has (medication[x], reported[x], dose[x], asNeeded[x]). And what a user
notices: the cards' input, the mapping, is the same with or without it, and a record's orders
are read without one R4B validation.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.workloads import heavy_body, realistic_body
from fhir_mapping import cheap_reader, judge, map_prefetch, parse, r4
from tests.fhir_mapping.test_cheap_reader import (
    CONCEPT,
    DATES,
    ODD_VALUES,
    STRINGS,
    _agrees,
    _parent,
    _paths,
    extension,
    fixture_resources,
    mutated,
    resources_of,
)
from tests.scenarios import builders


def _corpus() -> list[dict[str, Any]]:
    found = fixture_resources("MedicationRequest")
    for drug in sorted(d for d, c in builders.DRUG_CODES.items() if c is not None):
        found.append(builders.medication(drug, mg=400, per_day=2, text="with food"))
        found.append(builders.progressed(drug))
        found.append(builders.draft(drug, mg=50))
    resources_of(realistic_body(), "MedicationRequest", found)
    resources_of(
        heavy_body()["prefetch"]["medications"]["entry"][35:45], "MedicationRequest", found
    )
    return found


CORPUS = _corpus()


def test_the_corpus_is_real_and_read_cheaply() -> None:
    assert len(CORPUS) >= 100
    valid = [m for m in CORPUS if judge.full_judge(m) == judge.CONFORMANT]
    assert len(valid) >= 90
    assert all(cheap_reader.conformant(m) for m in valid)
    assert "MedicationRequest" in judge.CHEAP_TYPES


_CHOICE_SIBLINGS = {
    "medicationReference": {"reference": "Medication/m1"},
    "reportedBoolean": True,
    "reportedReference": {"reference": "Practitioner/x"},
    "doseRange": {"low": {"value": 1}},
    "doseQuantity": {"value": 400, "unit": "mg"},
    "asNeededBoolean": False,
    "asNeededCodeableConcept": {"text": "nausea"},
    "rateRatio": {"numerator": {"value": 1}},
}


@st.composite
def _with_sibling(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A second member of a choice group (or a misplaced one) at any object of the order."""
    resource = copy.deepcopy(draw(base))
    objects = [p for p in _paths(resource) if isinstance(_walk(resource, p), dict)]
    target = _walk(resource, draw(st.sampled_from(objects)))
    name = draw(st.sampled_from(sorted(_CHOICE_SIBLINGS)))
    target[name] = copy.deepcopy(_CHOICE_SIBLINGS[name])
    if draw(st.booleans()):
        path = draw(st.sampled_from(_paths(resource)))
        if path:
            _parent(resource, path)[path[-1]] = copy.deepcopy(draw(ODD_VALUES))
    return resource


def _walk(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for step in path:
        node = node[step]
    return node


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(st.sampled_from(CORPUS)))
def test_mutated_fixture_orders(resource: dict[str, Any]) -> None:
    _agrees(resource)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_with_sibling(st.sampled_from(CORPUS)))
def test_orders_with_a_second_choice_member(resource: dict[str, Any]) -> None:
    _agrees(resource)


QUANTITY = st.fixed_dictionaries(
    {},
    optional={
        "value": st.integers(-2, 900) | st.floats(allow_nan=True) | STRINGS,
        "unit": STRINGS,
        "system": st.sampled_from(["http://unitsofmeasure.org", "x y"]),
        "code": st.sampled_from(["mg", "mg/m2", "a  b"]),
        "comparator": st.sampled_from(["<", ">=", "about"]),
    },
)
DOSAGE = st.fixed_dictionaries(
    {},
    optional={
        "text": STRINGS,
        "sequence": st.integers(-1, 3),
        "timing": st.fixed_dictionaries(
            {},
            optional={
                "repeat": st.fixed_dictionaries(
                    {},
                    optional={
                        "frequency": st.integers(-1, 3),
                        "period": st.integers(0, 2) | st.floats(),
                        "periodUnit": st.sampled_from(["d", "wk", "day"]),
                        "boundsPeriod": st.fixed_dictionaries(
                            {}, optional={"start": DATES, "end": DATES}
                        ),
                    },
                )
            },
        ),
        "route": CONCEPT,
        "doseAndRate": st.lists(
            st.fixed_dictionaries(
                {}, optional={"doseQuantity": QUANTITY, "type": CONCEPT, "rateQuantity": QUANTITY}
            ),
            max_size=2,
        ),
    },
)
GENERATED = st.fixed_dictionaries(
    {
        "resourceType": st.just("MedicationRequest"),
        "subject": st.just({"reference": "Patient/p1"}),
        "status": st.sampled_from(["active", "completed", "stopped", "draft", "bogus", ""]),
        "intent": st.sampled_from(["order", "plan", "x y", ""]),
    },
    optional={
        "id": st.from_regex(r"\A[A-Za-z0-9.\-]{1,70}\Z") | STRINGS,
        "medicationCodeableConcept": CONCEPT,
        "authoredOn": DATES,
        "statusReason": CONCEPT,
        "reasonCode": st.lists(CONCEPT, max_size=2),
        "courseOfTherapyType": CONCEPT,
        "extension": st.lists(extension(), max_size=2),
        "dosageInstruction": st.lists(DOSAGE, max_size=2),
        "dispenseRequest": st.fixed_dictionaries(
            {},
            optional={
                "validityPeriod": st.fixed_dictionaries({}, optional={"start": DATES}),
                "numberOfRepeatsAllowed": st.integers(-1, 2),
                "quantity": QUANTITY,
            },
        ),
        "meta": st.fixed_dictionaries(
            {}, optional={"lastUpdated": DATES, "profile": st.lists(STRINGS, max_size=2)}
        ),
        "note": st.lists(st.fixed_dictionaries({"text": STRINGS}), max_size=2),
        "requester": st.fixed_dictionaries({}, optional={"reference": STRINGS}),
    },
)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GENERATED)
def test_generated_orders(resource: dict[str, Any]) -> None:
    _agrees(resource)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(GENERATED))
def test_mutated_generated_orders(resource: dict[str, Any]) -> None:
    _agrees(resource)


def test_check_resource_is_the_same_with_or_without_the_cheap_reader(monkeypatch) -> None:
    parse.VERDICTS.clear()
    cheap = [parse.check_resource(m) for m in CORPUS]
    monkeypatch.setattr(judge, "CHEAP_TYPES", judge.CHEAP_TYPES - {"MedicationRequest"})
    parse.VERDICTS.clear()
    full = [parse.check_resource(m) for m in CORPUS]
    parse.VERDICTS.clear()
    assert cheap == full


def test_a_record_maps_the_same_and_its_orders_need_no_r4b_validation(monkeypatch) -> None:
    body = heavy_body()
    parse.VERDICTS.clear()
    calls: list[str] = []
    validate = r4.validate

    def counting(raw: Any) -> r4.Validation:
        calls.append(str(raw.get("resourceType")))
        return validate(raw)

    monkeypatch.setattr(r4, "validate", counting)
    cheap = map_prefetch(body["prefetch"], body["context"])
    assert "MedicationRequest" not in calls  # 40 cycle orders, co-medications, the draft
    monkeypatch.setattr(judge, "CHEAP_TYPES", judge.CHEAP_TYPES - {"MedicationRequest"})
    parse.VERDICTS.clear()
    assert map_prefetch(body["prefetch"], body["context"]) == cheap
    assert "MedicationRequest" in calls
    parse.VERDICTS.clear()
