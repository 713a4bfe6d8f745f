"""Project a bulky resource onto the members the mapping reads, before it is validated.

Validating with fhir.resources costs tens of microseconds per element (about 50 us for each
``note`` Annotation), so a 2 MB body of fourteen Conditions with 9,000 notes each took seconds of
a worker although no rule reads a note beyond the first few. A resource is *bulky* when its JSON
text is over :data:`BULKY_BYTES` or holds more than :data:`BULKY_CONTAINERS` objects and arrays
(counted on the bytes, at C speed); ordinary resources are a few kilobytes and a few dozen
containers, and are checked exactly as before. A bulky resource is validated and mapped as its
projection:

* top-level members no mapping reads (:data:`UNREAD`, :data:`UNREAD_BY_TYPE`) are left out,
  unvalidated and without an issue: their loss cannot change a fact the rules use;
* ``meta`` keeps only ``profile`` and ``lastUpdated``, ``contained`` only Medication and
  Specimen resources (what :mod:`fhir_mapping.medications` and :mod:`fhir_mapping.specimens`
  resolve);
* every list inside the members kept is cut to its first :data:`LIST_CAP` items. That can hide
  something the mapping would have read (a note past the cap, a coding at position 5,000), so
  each cut is reported as a ``list-truncated`` mapping issue naming the element.

A resource with a ``modifierExtension`` anywhere is not projected: it is skipped whole, as
before, and its check stops before validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from fhir_mapping.issues import MappingIssue

#: A resource whose JSON text is longer than this is bulky (ordinary ones are 1-5 KB).
BULKY_BYTES = 64 * 1024
#: ... or that holds more objects and arrays than this (ordinary ones: a few dozen).
BULKY_CONTAINERS = 1_000
#: Longest list kept inside the members of a bulky resource.
LIST_CAP = 100

#: Top-level members that no module of the mapping reads, whatever the resource type. A test
#: (tests/fhir_mapping/test_unread_members.py) fails when one of these names appears in another
#: module of fhir_mapping/, so a mapping that starts reading one must take it off this list.
#: ``text`` (the narrative) is the exception that test cannot see: concepts and notes have a
#: ``text`` too.
UNREAD = frozenset(
    {
        "text",
        "language",
        "implicitRules",
        "identifier",
        "dataAbsentReason",
        "severity",
        "category",
        "performer",
        "basedOn",
        "encounter",
        "device",
        "recorder",
        "asserter",
        "evidence",
        "requester",
        "supportingInformation",
        "insurance",
        "dispenseRequest",
        "substitution",
        "priorPrescription",
        "detectedIssue",
        "eventHistory",
        "instantiatesCanonical",
        "instantiatesUri",
        "groupIdentifier",
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
#: Members read for some resource types only: ``note`` feeds the free-text pass of Conditions
#: and Observations and the intolerance reading of medication orders (fhir_mapping.intolerance),
#: nothing else.
UNREAD_BY_TYPE: dict[str, frozenset[str]] = {
    "Procedure": frozenset({"note"}),
    "Patient": frozenset({"note"}),
}
_META_READ = ("profile", "lastUpdated")
_MODIFIER = b'"modifierExtension"'


@dataclass(frozen=True, slots=True)
class Projection:
    """What :func:`project` made of a resource: the resource to check (``raw`` itself when it
    is not bulky) and the paths of the lists that were cut, with their original length."""

    resource: Mapping[str, Any]
    truncated: tuple[tuple[str, int], ...] = ()


def is_bulky(data: bytes) -> bool:
    """True if the JSON text ``data`` of one resource is over the bulk thresholds."""
    if len(data) > BULKY_BYTES:
        return True
    # Braces inside strings count too: that can only make a resource look bulkier.
    return data.count(b"{") + data.count(b"[") > BULKY_CONTAINERS


def _has_modifier_extension(node: Any) -> bool:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if item.get("modifierExtension"):
                return True
            stack.extend(v for v in item.values() if isinstance(v, (Mapping, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (Mapping, list)))
    return False


def _capped(value: Any, path: str, cuts: list[tuple[str, int]]) -> Any:
    """A copy of ``value`` whose lists (at any depth) keep at most :data:`LIST_CAP` items."""
    if isinstance(value, Mapping):
        return {k: _capped(v, f"{path}.{k}", cuts) for k, v in value.items()}
    if isinstance(value, list):
        if len(value) > LIST_CAP:
            cuts.append((path, len(value)))
        return [_capped(v, f"{path}.{i}", cuts) for i, v in enumerate(value[:LIST_CAP])]
    return value


def project(raw: Mapping[str, Any]) -> Projection:
    """The projection of ``raw`` onto what the mapping reads if it is bulky, else ``raw``."""
    try:
        data = orjson.dumps(raw)
    except (TypeError, orjson.JSONEncodeError):
        return Projection(raw)  # not JSON-shaped: validation reports it as it is
    if not is_bulky(data):
        return Projection(raw)
    if _MODIFIER in data and _has_modifier_extension(raw):
        return Projection(raw)  # skipped whole before validation
    rtype = raw.get("resourceType")
    unread = UNREAD | UNREAD_BY_TYPE.get(rtype if isinstance(rtype, str) else "", frozenset())
    out: dict[str, Any] = {}
    cuts: list[tuple[str, int]] = []
    for key, member in raw.items():
        if key in unread:
            continue
        kept = member
        if key == "meta" and isinstance(member, Mapping):
            kept = {k: member[k] for k in _META_READ if k in member}
        elif key == "contained" and isinstance(member, list):
            kept = [
                item
                for item in member
                if isinstance(item, Mapping)
                and item.get("resourceType") in ("Medication", "Specimen")
            ]
        out[key] = _capped(kept, str(key), cuts)
    return Projection(out, tuple(cuts))


def truncation_issues(ref: str, cuts: tuple[tuple[str, int], ...]) -> list[MappingIssue]:
    """One ``list-truncated`` issue for the lists cut in one resource (paths and counts only)."""
    if not cuts:
        return []
    shown = ", ".join(f"{path} ({count} items)" for path, count in cuts[:3])
    more = f" and {len(cuts) - 3} more lists" if len(cuts) > 3 else ""
    return [
        MappingIssue(
            "list-truncated",
            ref,
            f"oversized resource: only the first {LIST_CAP} items of {shown}{more} were read",
        )
    ]
