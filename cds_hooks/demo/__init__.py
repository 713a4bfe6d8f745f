"""Synthetic demo patients shipped with the package (issue 7).

One FHIR R4 ``transaction`` Bundle per clinical scenario lives next to this module
(``<scenario id>.json``); ``index.json`` lists them with a title, the patient id and one line
saying what the cards should say. Every resource has a stable id and a ``PUT`` request, so
loading a scenario twice leaves the FHIR server unchanged.

Everything here is synthetic: no real person is described. Codes are the verified ones of
``clinical-coding.md`` only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "DISEASE_STATUS_LOINC",
    "Scenario",
    "load_bundle",
    "prefetch_for",
    "resources_of",
    "scenarios",
    "warm_up",
]

LOINC = "http://loinc.org"


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    title: str
    patient_id: str
    expectation: str
    hook: str
    expected_rules: tuple[str, ...]
    absent_rules: tuple[str, ...]


def _package_text(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


@cache
def scenarios() -> tuple[Scenario, ...]:
    """The demo scenarios in index order."""
    index = json.loads(_package_text("index.json"))
    return tuple(
        Scenario(
            id=item["id"],
            title=item["title"],
            patient_id=item["patientId"],
            expectation=item["expectation"],
            hook=item.get("hook", "patient-view"),
            expected_rules=tuple(item.get("expectedRules", ())),
            absent_rules=tuple(item.get("absentRules", ())),
        )
        for item in index["scenarios"]
    )


def scenario(scenario_id: str) -> Scenario:
    for item in scenarios():
        if item.id == scenario_id:
            return item
    raise KeyError(scenario_id)


def load_bundle(scenario_id: str) -> dict[str, Any]:
    """The transaction Bundle of one scenario (a fresh copy each call)."""
    scenario(scenario_id)  # unknown ids raise KeyError, never read arbitrary files
    bundle: dict[str, Any] = json.loads(_package_text(f"{scenario_id}.json"))
    return bundle


def resources_of(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle.get("entry") or []
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    ]


def _searchset(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(items)}
    if items:
        bundle["entry"] = [
            {"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in items
        ]
    return bundle


def prefetch_for(bundle: dict[str, Any]) -> dict[str, Any]:
    """The prefetch a CDS client would send for this patient (the sarcoma prefetch keys)."""
    items = resources_of(bundle)
    patient = next((r for r in items if r.get("resourceType") == "Patient"), None)
    return {
        "patient": patient,
        "conditions": _searchset([r for r in items if r.get("resourceType") == "Condition"]),
        "observations": _searchset([r for r in items if r.get("resourceType") == "Observation"]),
        "medications": _searchset(
            [r for r in items if r.get("resourceType") == "MedicationRequest"]
        ),
        "procedures": _searchset([r for r in items if r.get("resourceType") == "Procedure"]),
        "allergies": _searchset(
            [r for r in items if r.get("resourceType") == "AllergyIntolerance"]
        ),
    }


@cache
def warm_up() -> int:
    """Map every demo patient once (once per process): the mapping's tables and patterns are
    loaded on first use, about half a second, and doing it here, before gunicorn forks, spares
    each worker's first hook call that cost (and its CPU budget). Returns the patients mapped."""
    from fhir_mapping import map_prefetch

    count = 0
    for item in scenarios():
        map_prefetch(prefetch_for(load_bundle(item.id)), {"patientId": item.patient_id})
        count += 1
    return count
