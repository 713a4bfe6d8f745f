"""The cheap reader vouches for an Observation only when R4B validation finds nothing.

The differential property of tests/fhir_mapping/test_cheap_reader.py, on the Observations of
the fixtures, the scenario builders and the bench records (genomic variants and pertinent
negatives with their components, fusions, single-gene tests, disease status, pathology
factors, organ-function labs, unrelated labs) and on mutations of them, including a second
member of a choice group (value[x], effective[x]). And what a user notices: the mapping is
the same with or without it, and a record's Observations are read without R4B validation.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.workloads import heavy_body, order_sign_body
from fhir_mapping import cheap_reader, judge, map_prefetch, parse, r4
from tests.fhir_mapping.test_cheap_reader import (
    ODD_VALUES,
    _agrees,
    _parent,
    _paths,
    fixture_resources,
    mutated,
    resources_of,
)
from tests.scenarios import builders


def _corpus() -> list[dict[str, Any]]:
    found = fixture_resources("Observation")
    found += [
        builders.kit_exon11(),
        builders.kit_exon9(),
        builders.pdgfra_d842v(),
        builders.negative("PDGFRA", regions="exons 12, 14, 18"),
        builders.negative("KIT", "PDGFRA"),
        builders.fusion("ETV6", "NTRK3"),
        builders.disease_status(),
        *builders.liver_panel(3),
        builders.lab_result("1975-2", 2.5, "mg/dL", high=1.2, days_ago=4, id="bili"),
        builders.lab_result("2164-2", 25, "mL/min", high=None, days_ago=4, id="crcl"),
    ]
    resources_of(heavy_body()["prefetch"]["observations"]["entry"][:45], "Observation", found)
    resources_of(order_sign_body(40)["prefetch"]["observations"], "Observation", found)
    return found


CORPUS = _corpus()


def test_the_corpus_is_real_and_read_cheaply() -> None:
    assert len(CORPUS) >= 80
    valid = [o for o in CORPUS if judge.full_judge(o) == judge.CONFORMANT]
    assert len(valid) >= 70
    # Not proven (left to the full check): contained resources, an implication component.
    assert sum(cheap_reader.conformant(o) for o in valid) >= len(valid) - 3
    assert "Observation" in judge.CHEAP_TYPES


_CHOICE_SIBLINGS = {
    "valueString": "positive",
    "valueBoolean": True,
    "valueQuantity": {"value": 3, "unit": "cm"},
    "valueCodeableConcept": {"text": "detected"},
    "valueInteger": 4,
    "effectivePeriod": {"start": "2024-01-01"},
    "effectiveInstant": "2024-01-01T08:00:00Z",
    "effectiveDateTime": "2024-01-01",
}


def _walk(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for step in path:
        node = node[step]
    return node


@st.composite
def _with_sibling(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A second member of a choice group (or a misplaced one) at any object of the resource."""
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


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(st.sampled_from(CORPUS)))
def test_mutated_observations(resource: dict[str, Any]) -> None:
    _agrees(resource)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_with_sibling(st.sampled_from(CORPUS)))
def test_observations_with_a_second_choice_member(resource: dict[str, Any]) -> None:
    _agrees(resource)


def test_check_resource_is_the_same_with_or_without_the_cheap_reader(monkeypatch) -> None:
    parse.VERDICTS.clear()
    cheap = [parse.check_resource(o) for o in CORPUS]
    monkeypatch.setattr(judge, "CHEAP_TYPES", judge.CHEAP_TYPES - {"Observation"})
    parse.VERDICTS.clear()
    full = [parse.check_resource(o) for o in CORPUS]
    parse.VERDICTS.clear()
    assert cheap == full


def test_a_record_maps_the_same_and_its_observations_need_no_r4b_validation(monkeypatch) -> None:
    body = heavy_body()
    parse.VERDICTS.clear()
    calls: list[str] = []
    validate = r4.validate

    def counting(raw: Any) -> r4.Validation:
        calls.append(str(raw.get("resourceType")))
        return validate(raw)

    monkeypatch.setattr(r4, "validate", counting)
    cheap = map_prefetch(body["prefetch"], body["context"])
    assert "Observation" not in calls  # 40 genomic Observations, 25 ALT results
    monkeypatch.setattr(judge, "CHEAP_TYPES", judge.CHEAP_TYPES - {"Observation"})
    parse.VERDICTS.clear()
    assert map_prefetch(body["prefetch"], body["context"]) == cheap
    assert "Observation" in calls
    parse.VERDICTS.clear()
