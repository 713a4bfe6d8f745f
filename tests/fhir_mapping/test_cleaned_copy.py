"""An element R4B does not define is dropped from the copy the mapping reads, never from the
resource the EHR sent: the same prefetch resource is read again by the next call (the verdict
cache), by reference resolution and by the timeline, and must still say what it said."""

from __future__ import annotations

import copy
from typing import Any

from fhir_mapping.parse import check_resource


def _condition(rid: str) -> dict[str, Any]:
    coding = {"system": "http://snomed.info/sct", "code": "420120006", "vendorRank": 1}
    return {
        "resourceType": "Condition",
        "id": rid,
        "subject": {"reference": "Patient/p1"},
        "vendorFlag": "x",
        "code": {"coding": [coding, {"system": "http://snomed.info/sct", "code": "1"}]},
        "bodySite": [{"text": "stomach", "vendorSite": True}],
        "note": [{"text": "n"}],
    }


def test_undefined_elements_are_dropped_from_the_copy_and_left_in_the_sent_resource() -> None:
    for rid in ("cc-1", "cc-1"):  # the second call is answered from the verdict cache
        sent = _condition(rid)
        before = copy.deepcopy(sent)
        cleaned, issues = check_resource(sent)
        assert sent == before
        assert cleaned is not None
        assert "vendorFlag" not in cleaned
        assert cleaned["code"]["coding"][0] == {
            "system": "http://snomed.info/sct",
            "code": "420120006",
        }
        assert cleaned["code"]["coding"][1] == before["code"]["coding"][1]
        assert cleaned["bodySite"] == [{"text": "stomach"}]
        assert cleaned["note"] == before["note"]
        assert sorted(i.problem for i in issues) == [
            "element bodySite.0.vendorSite is not defined in FHIR R4; dropped",
            "element code.coding.0.vendorRank is not defined in FHIR R4; dropped",
            "element vendorFlag is not defined in FHIR R4; dropped",
        ]
        assert {i.kind for i in issues} == {"unknown-element-dropped"}


def test_a_member_shared_by_two_elements_is_cleaned_at_both() -> None:
    shared = {"system": "http://snomed.info/sct", "code": "420120006", "vendorRank": 1}
    sent = _condition("cc-2")
    sent["code"] = {"coding": [shared, shared]}
    cleaned, _ = check_resource(sent)
    assert cleaned is not None
    assert (
        cleaned["code"]["coding"] == [{"system": "http://snomed.info/sct", "code": "420120006"}] * 2
    )
    assert shared["vendorRank"] == 1
