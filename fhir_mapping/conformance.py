"""How much of a resource the mapping needs, and how a non-conformance is worded.

A non-conformance in a *needed* top-level element makes the resource unreadable; any other
element is dropped and named (:func:`is_needed`). :func:`describe` words a validation error by
structure and type only, never with a value from the resource. Used by
:mod:`fhir_mapping.parse`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mapping import r4

#: Top-level elements the medication mapping cannot do without: what was ordered, its status and
#: whose order it is. A non-conformance there makes the order unreadable; any other element of a
#: MedicationRequest/MedicationStatement is dropped when non-conformant (a dropped dose or date
#: leaves that fact unknown, and no dose-based rule acts on an unknown dose).
MEDICATION_NEEDED = frozenset(
    {"resourceType", "status", "medicationCodeableConcept", "medicationReference", "subject"}
)
#: Elements of the other resource types whose loss cannot change a fact the rules use: dropped
#: when non-conformant. Administrative elements no mapping reads, plus ``method``,
#: ``dataAbsentReason`` and ``severity`` (never read) and ``note`` (read only for flagged
#: text findings: a malformed note loses those, not the coded result). Every other element of
#: those types (status, code, value, components, interpretation, dates, extensions) is needed.
ADMINISTRATIVE = frozenset(
    {
        "meta",
        "method",
        "dataAbsentReason",
        "severity",
        "note",
        "text",
        "language",
        "implicitRules",
        "identifier",
        "category",
        "performer",
        "issued",
        "basedOn",
        "partOf",
        "encounter",
        "specimen",
        "device",
        "referenceRange",
        "hasMember",
        "recorder",
        "asserter",
        "evidence",
        "telecom",
        "address",
        "contact",
        "communication",
        "generalPractitioner",
        "managingOrganization",
        "photo",
        "maritalStatus",
        "link",
    }
)
_MEDICATION_TYPES = frozenset({"MedicationRequest", "MedicationStatement"})


def is_needed(rtype: str, element: str | int) -> bool:
    """True if a non-conformance in top-level ``element`` makes a ``rtype`` resource unreadable."""
    if not isinstance(element, str):
        return True
    if rtype in _MEDICATION_TYPES:
        return element in MEDICATION_NEEDED
    return element not in ADMINISTRATIVE


#: pydantic error types -> what the element should have been.
_EXPECTED = {
    "list_type": "a list",
    "string_type": "a string",
    "string_pattern_mismatch": "a conformant string",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "json_invalid": "an object",
    "bool_type": "a boolean",
    "bool_parsing": "a boolean",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "decimal_type": "a number",
    "decimal_parsing": "a number",
    "value_error": "a valid value",
    "missing": "present",
}


def _kind_of(value: Any) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null" if value is None else "value"


def _at(raw: Any, path: r4.Path) -> Any:
    node = raw
    for step in path:
        if isinstance(node, Mapping) and isinstance(step, str):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return None
    return node


def describe(raw: Mapping[str, Any], path: r4.Path, error_type: str) -> str:
    """``category: object where a list is required`` (structure and types, never a value)."""
    expected = _EXPECTED.get(error_type)
    where = path_text(path)
    if expected is None:
        return f"{where}: not a valid R4 value ({error_type})"
    if expected == "present":
        return f"{where}: required but absent"
    return f"{where}: {_kind_of(_at(raw, path))} where {expected} is required"


def path_text(path: r4.Path) -> str:
    """``dosage.0.text``: a path as written in issues (``(root)`` when empty)."""
    return ".".join(str(p) for p in path) or "(root)"
