"""dict -> checked raw resource, one at a time (architecture S7).

A resource that fails validation, carries a ``modifierExtension`` or looks like another FHIR
version becomes a :class:`MappingIssue` and is skipped; elements R4B does not know are dropped
and reported. The mapping reads the cleaned dict afterwards.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from fhir_mapping import r4
from fhir_mapping.codes import as_str, reference_of
from fhir_mapping.issues import MappingIssue

#: Resource types that only exist in other FHIR versions.
OTHER_VERSION_TYPES = frozenset({"MedicationOrder", "DiagnosticOrder", "GenomicStudy"})

#: Top-level elements that identify a resource of another FHIR version (R5 or STU3).
OTHER_VERSION_ELEMENTS: dict[str, frozenset[str]] = {
    "MedicationRequest": frozenset(
        {"medication", "renderedDosageInstruction", "statusChanged", "informationSource"}
        | {"definition", "context"}
    ),
    "MedicationStatement": frozenset({"medication", "adherence", "taken"}),
    "Observation": frozenset({"triggeredBy", "instantiatesCanonical", "bodyStructure", "context"}),
    "Condition": frozenset({"participant", "assertedDate"}),
}


def _has_modifier_extension(node: Any, depth: int = 0) -> bool:
    if depth > 64:
        return False
    if isinstance(node, Mapping):
        if node.get("modifierExtension"):
            return True
        return any(_has_modifier_extension(v, depth + 1) for v in node.values())
    if isinstance(node, list):
        return any(_has_modifier_extension(v, depth + 1) for v in node)
    return False


def _drop(raw: dict[str, Any], path: r4.Path) -> None:
    node: Any = raw
    for step in path[:-1]:
        if isinstance(node, dict) and isinstance(step, str):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return
    if isinstance(node, dict) and path and isinstance(path[-1], str):
        node.pop(path[-1], None)


def _path_text(path: r4.Path) -> str:
    return ".".join(str(p) for p in path) or "(root)"


def other_version(raw: Mapping[str, Any]) -> MappingIssue | None:
    """A ``wrong-fhir-version`` issue if ``raw`` looks like a non-R4 resource (cheap check)."""
    ref = reference_of(raw)
    rtype = as_str(raw.get("resourceType")) or ""
    if rtype in OTHER_VERSION_TYPES:
        return MappingIssue(
            "wrong-fhir-version", ref, f"{rtype} is not an R4 resource type; skipped"
        )
    markers = sorted(OTHER_VERSION_ELEMENTS.get(rtype, frozenset()) & raw.keys())
    if markers:
        return MappingIssue(
            "wrong-fhir-version",
            ref,
            f"elements {', '.join(markers)} belong to another FHIR version; skipped",
        )
    return None


def check_resource(raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[MappingIssue]]:
    """Return a cleaned copy of ``raw`` ready to map, or ``None``, plus the issues found."""
    ref = reference_of(raw)
    rtype = as_str(raw.get("resourceType"))
    if rtype is None:
        return None, [MappingIssue("invalid-resource", ref, "resource without resourceType")]
    version_issue = other_version(raw)
    if version_issue is not None:
        return None, [version_issue]
    if _has_modifier_extension(raw):
        return None, [
            MappingIssue(
                "modifier-extension",
                ref,
                "carries a modifierExtension that may change its meaning; skipped",
            )
        ]
    result = r4.validate(raw)
    if result.errors:
        path, error_type = result.errors[0]
        more = len(result.errors) - 1
        suffix = f" (+{more} more)" if more else ""
        return None, [
            MappingIssue(
                "invalid-resource",
                ref,
                f"failed R4 validation at {_path_text(path)}: {error_type}{suffix}; skipped",
            )
        ]
    if not result.unknown:
        return dict(raw), []
    cleaned = copy.deepcopy(dict(raw))
    issues = []
    for path in result.unknown:
        _drop(cleaned, path)
        issues.append(
            MappingIssue(
                "unknown-element-dropped",
                ref,
                f"element {_path_text(path)} is not defined in FHIR R4; dropped",
            )
        )
    again = r4.validate(cleaned)
    if not again.valid:
        return None, [
            *issues,
            MappingIssue("invalid-resource", ref, "still invalid after dropping unknown elements"),
        ]
    return cleaned, issues
