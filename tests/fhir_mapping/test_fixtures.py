"""Every JSON fixture under tests/fixtures/fhir maps to its expected patient model."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fhir_mapping import explain
from fhir_mapping.r4 import validate

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "fhir").glob("*.json"))
#: Fixtures hand-converted from ../shared/reference/ig-examples (must be valid R4).
IG_FIXTURES = [p for p in FIXTURES if p.name.startswith("ig-")]


def assert_subset(expected: Any, actual: Any, where: str = "$") -> None:
    """``expected`` must be contained in ``actual``; lists must match element by element."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: missing {key!r} (have {sorted(actual)})"
            assert_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected a list, got {actual!r}"
        assert len(actual) == len(expected), (
            f"{where}: {len(actual)} items, expected {len(expected)}: {actual!r}"
        )
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(e, a, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def assert_absent(path: str, actual: Any) -> None:
    """``path`` (``a.b[0].c``) must lead to a missing member: explain() omits empty and ``None``
    members, so this asserts that the model has nothing there. Every step before the last must
    exist, so a misspelt path fails instead of passing vacuously."""
    steps = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    assert steps, f"bad path {path!r}"
    node = actual
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        if step.startswith("["):
            position = int(step[1:-1])
            assert isinstance(node, list) and position < len(node), f"{path}: no {step}"
            assert not last, f"{path}: must end with a member name"
            node = node[position]
            continue
        assert isinstance(node, dict), f"{path}: {step!r} is not in an object"
        if last:
            assert step not in node, f"{path}: expected absent, got {node[step]!r}"
        else:
            assert step in node, f"{path}: missing {step!r}"
            node = node[step]


def resources(node: Any) -> Iterator[dict[str, Any]]:
    """Every resource (other than Bundles) nested anywhere in ``node``."""
    if isinstance(node, dict):
        if "resourceType" in node and node["resourceType"] != "Bundle":
            yield node
        for value in node.values():
            yield from resources(value)
    elif isinstance(node, list):
        for value in node:
            yield from resources(value)


def test_fixture_directory_is_not_empty() -> None:
    assert len(FIXTURES) >= 5


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_maps_to_expected_model(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    result = explain(case["document"])
    json.dumps(result)  # JSON-serialisable
    assert_subset(case["expected"], result)
    for path_text in case.get("absent", ()):
        assert_absent(path_text, result)


@pytest.mark.parametrize("path", IG_FIXTURES, ids=lambda p: p.stem)
def test_ig_fixture_resources_are_valid_r4(path: Path) -> None:
    # The mapper never validates what its pre-filter drops (e.g. a non-sarcoma Condition),
    # so a conversion slip there would go unnoticed without this.
    case = json.loads(path.read_text(encoding="utf-8"))
    found = list(resources(case["document"]))
    assert found
    for resource in found:
        result = validate(resource)
        assert result.valid, f"{resource['resourceType']}/{resource.get('id')}: {result}"


def test_subset_helper_detects_differences() -> None:
    with pytest.raises(AssertionError):
        assert_subset({"a": [1, 2]}, {"a": [1]})
    with pytest.raises(AssertionError):
        assert_subset({"a": {"b": 1}}, {"a": {"b": 2}})


def test_absent_helper_detects_members_and_bad_paths() -> None:
    actual = {"patient": {"disease_status": [{"value": "improved"}], "diagnoses": [{}]}}
    assert_absent("patient.exposures", actual)
    assert_absent("patient.disease_status[0].focus_refs", actual)
    for present_or_bad in (
        "patient.diagnoses",  # present
        "patient.disease_status[0].value",  # present
        "patients.exposures",  # misspelt parent
        "patient.disease_status[1].focus_refs",  # no such item
        "patient.disease_status[0]",  # does not end with a member name
    ):
        with pytest.raises(AssertionError):
            assert_absent(present_or_bad, actual)
