"""Small builders of raw FHIR JSON for tests."""

from __future__ import annotations

from typing import Any

LOINC = "http://loinc.org"


def obs(oid: str, code: str, system: str = LOINC, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


def component(code: str, system: str = LOINC, **value: Any) -> dict[str, Any]:
    return {"code": {"coding": [{"system": system, "code": code}]}, **value}


def concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


CTX: dict[str, Any] = {"patientId": "p1"}
