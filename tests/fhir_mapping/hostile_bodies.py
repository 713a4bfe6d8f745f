"""Hook bodies within the JSON bounds (items per array 10,000, values 300,000) whose bulk sits in
members no rule reads, or in long lists of members the mapping reads (notes): what an attacker,
or a misconfigured EHR export, sends to make a worker validate for seconds."""

from __future__ import annotations

import copy
from typing import Any

from bench.workloads import draft_imatinib, order_sign_body, searchset

NOTES_PER_RESOURCE = 9_000


def _notes(count: int) -> list[dict[str, str]]:
    return [{"text": f"n{i % 10}"} for i in range(count)]


def _gist_condition(index: int, notes: int = NOTES_PER_RESOURCE) -> dict[str, Any]:
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"noisy-{index}",
        "subject": {"reference": "Patient/bench-gist-1"},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {
            "coding": [
                {
                    "system": "http://snomed.info/sct",
                    "code": "420120006",
                    "display": "Gastrointestinal stromal tumor",
                }
            ]
        },
    }
    if notes:
        condition["note"] = _notes(notes)
    return condition


def noisy_conditions_body(conditions: int = 14) -> dict[str, Any]:
    """``conditions`` GIST Conditions with 9,000 ``note`` entries each (14: about 2 MB)."""
    body = order_sign_body(20)
    body["prefetch"]["conditions"] = searchset([_gist_condition(i) for i in range(conditions)])
    return body


def noisy_orders_body(orders: int = 7) -> dict[str, Any]:
    """Imatinib MedicationRequests whose ``note``, ``identifier`` and ``supportingInformation``
    hold thousands of entries (about 1 MB for 7)."""
    body = order_sign_body(20)
    meds = []
    for i in range(orders):
        med = copy.deepcopy(draft_imatinib())
        med.update(
            id=f"noisy-med-{i}",
            status="active",
            note=_notes(3_000),
            identifier=[{"value": f"{i}-{j}"} for j in range(3_000)],
            supportingInformation=[{"reference": f"Observation/x{j}"} for j in range(1_500)],
        )
        meds.append(med)
    body["prefetch"]["medications"] = searchset(meds)
    return body


def noisy_observations_body(observations: int = 7) -> dict[str, Any]:
    """KIT variant Observations whose ``note``, ``performer``, ``identifier`` and
    ``referenceRange`` hold thousands of entries (about 1 MB for 7)."""
    body = order_sign_body(20)
    entries = body["prefetch"]["observations"]["entry"]
    variant = next(e["resource"] for e in entries if e["resource"]["id"] == "gen-0")
    for i in range(observations):
        noisy = copy.deepcopy(variant)
        noisy.update(
            id=f"noisy-obs-{i}",
            note=_notes(2_000),
            performer=[{"reference": f"Practitioner/p{j}"} for j in range(2_000)],
            identifier=[{"value": f"{i}-{j}"} for j in range(2_000)],
            referenceRange=[{"text": "n"} for _ in range(2_000)],
        )
        entries.append({"fullUrl": f"urn:uuid:noisy-obs-{i}", "resource": noisy})
    return body


def many_conditions_body(conditions: int = 3_000, *, unknown: bool = False) -> dict[str, Any]:
    """``conditions`` distinct GIST Conditions without any unread bulk (about 1.2 MB for
    3,000): every one is read. Conformant, the cheap reader vouches for each (before it, each
    was validated by R4B); with ``unknown``, each also carries an element R4B does not define,
    which the cheap reader names as the full check would (dropped and reported)."""
    body = order_sign_body(20)
    lean = []
    for i in range(conditions):
        condition = _gist_condition(i, notes=0)
        if unknown:
            condition["grade"] = {"text": "high"}
        lean.append(condition)
    body["prefetch"]["conditions"] = searchset(lean)
    return body


def broken_conditions_body(conditions: int = 1_600) -> dict[str, Any]:
    """``conditions`` distinct GIST Conditions whose ``bodySite`` holds 50 numbers (about 0.93
    MB for 1,600): the cheap reader cannot vouch for them, so each is validated by R4B, which
    reports 50 errors in an element the mapping needs, and each is skipped as unreadable. The
    costliest shape per byte of those tried: about 0.65 s of CPU per MB in ``map_prefetch``."""
    body = many_conditions_body(conditions)
    for entry in body["prefetch"]["conditions"]["entry"]:
        entry["resource"]["bodySite"] = list(range(50))
    return body
