"""The plain-order path (OrderMapping.medication, fhir_mapping.plain_orders) maps a prefetch
MedicationRequest exactly as the general path does: the same facts, issues, unchecked orders and
answer, on the bench records' orders and on generated and mutated orders of any JSON shape
(statuses, stop reasons, dosages with and without bounds, notes, intents, subjects of other
patients, elements of another FHIR version, odd values anywhere), one order at a time and as a
record whose orders share the per-call memos."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.workloads import heavy_body, realistic_body
from fhir_mapping import map_prefetch
from fhir_mapping import orders as order_mapping
from fhir_mapping.builder import PatientBuilder
from fhir_mapping.bundles import collect
from fhir_mapping.codes import reference_of
from fhir_mapping.orders import OrderMapping
from tests.fhir_mapping.test_cheap_reader import DATES, ODD_VALUES, STRINGS, mutated
from tests.fhir_mapping.test_cheap_reader_medications import DOSAGE

RXN = "http://www.nlm.nih.gov/research/umls/rxnorm"
SCT = "http://snomed.info/sct"

CONCEPTS = st.sampled_from(
    [
        {"coding": [{"system": RXN, "code": "282388", "display": "imatinib"}], "text": "Gleevec"},
        {"coding": [{"system": RXN, "code": "357977"}]},
        {"coding": [{"system": "http://www.whocc.no/atc", "code": "L01EX01"}]},
        {"text": "clarithromycin 500 MG Oral Tablet"},
        {"text": "omeprazole 20 MG Delayed Release Oral Capsule"},
        {"text": "ondansetron 8 MG Oral Tablet"},
        {"text": "dexamethasone 4 MG Oral Tablet"},
        {"text": "Sutent 50 mg"},
        {"text": "imatinib or sunitinib"},
        {"text": "acetaminophen 500 MG"},
        {"coding": [{"system": "http://www.whocc.no/atc", "code": "L01XX99"}]},
        {},
    ]
)
REASONS = st.sampled_from(
    [
        {"coding": [{"system": SCT, "code": "266721009"}], "text": "progression"},
        {"coding": [{"system": SCT, "code": "407563006"}]},
        {"text": "not tolerated: grade 3 diarrhoea"},
        {"text": "completed"},
        {},
    ]
)
BOUNDED = st.fixed_dictionaries(
    {},
    optional={
        "timing": st.fixed_dictionaries(
            {},
            optional={
                "repeat": st.fixed_dictionaries(
                    {},
                    optional={
                        "boundsPeriod": st.fixed_dictionaries(
                            {}, optional={"start": DATES, "end": DATES}
                        )
                        | ODD_VALUES,
                        "frequency": st.integers(1, 2),
                    },
                )
                | ODD_VALUES
            },
        )
        | ODD_VALUES,
        "doseAndRate": st.just([{"doseQuantity": {"value": 400, "unit": "mg"}}]),
    },
)
INTENTS = st.sampled_from(
    [
        {"courseOfTherapyType": {"text": "palliative"}},
        {"reasonCode": [{"text": "adjuvant treatment"}]},
        {"reasonReference": [{"display": "neoadjuvant"}]},
        {"extension": [{"url": "http://x/intent", "valueCodeableConcept": {"text": "palliative"}}]},
        {},
    ]
)
SUBJECTS = st.sampled_from(
    [
        *[{"reference": "Patient/p1"}] * 6,
        {"reference": "Patient/p2"},
        {"reference": "p1"},
        {},
        None,
        "Patient/p1",
        {"reference": "Patient/p1", "display": "x"},
    ]
)


GOOD_BOUNDS = st.fixed_dictionaries(
    {}, optional={"start": st.sampled_from(["2024-01-01", "2024-02"]), "end": DATES}
)
GOOD_DOSAGE = st.fixed_dictionaries(
    {},
    optional={
        "text": st.just("as directed"),
        "timing": st.fixed_dictionaries(
            {},
            optional={
                "repeat": st.fixed_dictionaries(
                    {},
                    optional={
                        "frequency": st.integers(1, 2),
                        "period": st.just(1),
                        "periodUnit": st.just("d"),
                        "boundsPeriod": GOOD_BOUNDS,
                    },
                )
            },
        ),
        "doseAndRate": st.sampled_from(
            [
                [{"doseQuantity": {"value": 400, "unit": "mg"}}],
                [{"doseQuantity": {"value": 9000, "unit": "mg"}}],
                [{"doseQuantity": {"value": 2, "unit": "tablet"}}],
                [{"doseQuantity": {"value": 1, "unit": "furlong"}}],
            ]
        ),
    },
)
STATUSES = st.sampled_from(
    [
        *("active", "completed", "stopped", "on-hold", "cancelled", "draft", "unknown"),
        *("entered-in-error", "bogus"),
    ]
)


@st.composite
def plain_orders(draw: st.DrawFn) -> dict[str, Any]:
    """Conformant orders (what an EHR sends), of every status, stop reason, dosage, note and
    intent, for the context's patient (p1) or not."""
    raw: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": draw(st.sampled_from(["m1", "m-2", "cycle.3"])),
        "status": draw(STATUSES),
        "intent": "order",
        "medicationCodeableConcept": draw(CONCEPTS.filter(bool)),
        "subject": draw(st.sampled_from([{"reference": "Patient/p1"}, {"reference": "p1"}])),
    }
    if draw(st.integers(0, 3)):
        raw["authoredOn"] = draw(st.sampled_from(["2024-03-01", "2025-12", "2024-02-01T09:00:00Z"]))
    if draw(st.booleans()):
        raw["statusReason"] = draw(REASONS.filter(bool))
    if draw(st.integers(0, 3)):
        raw["dosageInstruction"] = draw(st.lists(GOOD_DOSAGE.filter(bool), min_size=1, max_size=2))
    raw.update(draw(INTENTS))
    if draw(st.booleans()):
        raw["note"] = draw(st.sampled_from([[{"text": "not tolerated"}], [{"text": "with food"}]]))
    return raw


@st.composite
def orders(draw: st.DrawFn) -> dict[str, Any]:
    """A conformant order with a few elements of another shape, type or value (any of them
    may send the order to the general path, or through validation's issues)."""
    raw = draw(plain_orders())
    for _ in range(draw(st.integers(0, 3))):
        name = draw(
            st.sampled_from(
                [
                    "resourceType",
                    "id",
                    "status",
                    "medicationCodeableConcept",
                    "medicationReference",
                    "subject",
                    "patient",
                    "authoredOn",
                    "statusReason",
                    "dosageInstruction",
                    "note",
                    "renderedDosageInstruction",
                    "context",
                    "modifierExtension",
                    "unknownElement",
                ]
            )
        )
        raw[name] = draw(
            {
                "resourceType": st.sampled_from(["MedicationStatement", "Observation", 3]),
                "id": st.sampled_from([" ", "", 7, None]) | STRINGS,
                "status": st.sampled_from([" active", "", None, 3]),
                "medicationCodeableConcept": CONCEPTS | ODD_VALUES,
                "medicationReference": st.just({"reference": "Medication/x", "display": "x"}),
                "subject": SUBJECTS,
                "patient": st.just({"reference": "Patient/p1"}),
                "authoredOn": DATES | ODD_VALUES,
                "statusReason": REASONS | ODD_VALUES,
                "dosageInstruction": st.lists(BOUNDED | DOSAGE | ODD_VALUES, max_size=2)
                | ODD_VALUES,
                "note": st.sampled_from([[], "x", [{"text": 3}]]) | ODD_VALUES,
                "modifierExtension": st.just([{"url": "x", "valueBoolean": True}]),
            }.get(name, st.just({}) | ODD_VALUES)
        )
    return raw


def _state(builder: PatientBuilder, answers: list[str | None]) -> tuple[Any, ...]:
    return (
        answers,
        builder.issues,
        builder.exposures,
        builder.comedications,
        builder.unchecked,
    )


def _map(resources: list[Any], patient_id: str | None, *, plain: bool) -> tuple[Any, ...]:
    """Each order as map_prefetch hands it over (its reference computed), through one builder."""
    builder = PatientBuilder(collect({}, {}), patient_id)
    answers = []
    for raw in resources:
        ref = reference_of(raw)
        if plain:
            answers.append(builder.medication(raw, ref=ref))
        else:
            answers.append(OrderMapping._medication(builder, raw, ref=ref))
    return _state(builder, answers)


PATIENTS = st.sampled_from(["p1", "p2", None])


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_orders(), PATIENTS)
def test_a_conformant_order_maps_the_same_on_both_paths(
    raw: dict[str, Any], patient_id: str | None
) -> None:
    assert _map([raw], patient_id, plain=True) == _map([raw], patient_id, plain=False)


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders(), PATIENTS)
def test_an_order_maps_the_same_on_both_paths(raw: dict[str, Any], patient_id: str | None) -> None:
    assert _map([raw], patient_id, plain=True) == _map([raw], patient_id, plain=False)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(plain_orders()), PATIENTS)
def test_a_mutated_order_maps_the_same_on_both_paths(
    raw: dict[str, Any], patient_id: str | None
) -> None:
    assert _map([raw], patient_id, plain=True) == _map([raw], patient_id, plain=False)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(plain_orders() | orders(), min_size=1, max_size=4), st.integers(1, 3), PATIENTS)
def test_cycles_of_orders_share_the_memos_and_map_the_same(
    bases: list[dict[str, Any]], cycles: int, patient_id: str | None
) -> None:
    """Cycles of one order (the same content, other ids and dates) through one builder."""
    record = []
    for base in bases:
        for cycle in range(cycles):
            order = copy.deepcopy(base)
            order["id"] = f"{base.get('id')}-{cycle}"
            order["authoredOn"] = f"2024-0{cycle + 1}-01"
            record.append(order)
    assert _map(record, patient_id, plain=True) == _map(record, patient_id, plain=False)


@pytest.mark.parametrize("make", [realistic_body, heavy_body])
def test_the_bench_records_take_the_plain_path_and_map_the_same(
    make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = json.loads(json.dumps(make()))
    resources = [e["resource"] for e in body["prefetch"]["medications"]["entry"]]
    patient_id = body["context"]["patientId"]
    assert _map(resources, patient_id, plain=True) == _map(resources, patient_id, plain=False)
    taken: list[str] = []
    plain_request = order_mapping.map_plain_request

    def counting(resource: Any, identified: Any, ref: str, memo: Any) -> Any:
        answer = plain_request(resource, identified, ref, memo)
        if answer[0] is not None:
            taken.append(ref)
        return answer

    monkeypatch.setattr(order_mapping, "map_plain_request", counting)
    fast = map_prefetch(body["prefetch"], body["context"])
    # Every cycle order and every co-medication the filter keeps takes the plain path.
    assert len(taken) >= 33
    monkeypatch.setattr(OrderMapping, "medication", OrderMapping._medication)
    assert map_prefetch(body["prefetch"], body["context"]) == fast
