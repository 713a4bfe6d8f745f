"""Every JSON fixture under tests/fixtures/fhir maps to its expected patient model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fhir_mapping import explain

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "fhir").glob("*.json"))


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


def test_fixture_directory_is_not_empty() -> None:
    assert len(FIXTURES) >= 5


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_maps_to_expected_model(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    result = explain(case["document"])
    json.dumps(result)  # JSON-serialisable
    assert_subset(case["expected"], result)


def test_subset_helper_detects_differences() -> None:
    with pytest.raises(AssertionError):
        assert_subset({"a": [1, 2]}, {"a": [1]})
    with pytest.raises(AssertionError):
        assert_subset({"a": {"b": 1}}, {"a": {"b": 2}})
