"""What checking one resource concludes (:class:`Verdict`): a pure function of the resource's
content, never a value from it, so that :mod:`fhir_mapping.parse` can keep verdicts in its
per-process cache and turn them into mapping issues.

The cheap reader (:mod:`fhir_mapping.cheap_reader`) vouches for the common conformant
Condition, MedicationRequest and Observation; anything else goes through R4B validation, with a
second validation once the unknown and non-conformant elements are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir_mapping import cheap_reader, r4
from fhir_mapping.conformance import is_needed


def has_modifier_extension(node: Any, depth: int = 0) -> bool:
    if depth > 64:
        return False
    if isinstance(node, Mapping):
        if node.get("modifierExtension"):
            return True
        return any(has_modifier_extension(v, depth + 1) for v in node.values())
    if isinstance(node, list):
        return any(has_modifier_extension(v, depth + 1) for v in node)
    return False


def drop_path(raw: dict[str, Any], path: r4.Path, copied: set[int]) -> None:
    """Remove the element at ``path`` from ``raw``. Every dict or list on the way whose id is
    not in ``copied`` (the containers already copied for this cleaning) is first replaced by a
    shallow copy, so the removal never reaches a container ``raw`` shares with its source."""
    node: Any = raw
    for step in path[:-1]:
        if isinstance(node, dict) and isinstance(step, str):
            child = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            child = node[step]
        else:
            return
        if isinstance(child, dict | list) and id(child) not in copied:
            child = dict(child) if isinstance(child, dict) else list(child)
            copied.add(id(child))
            node[step] = child
        node = child
    if isinstance(node, dict) and path and isinstance(path[-1], str):
        node.pop(path[-1], None)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What checking one resource concluded: structure only, never a value from the resource.

    ``validation`` is ``None`` when a ``modifierExtension`` stopped the check before
    validation. ``fatal`` are the errors in needed elements (the resource is unreadable);
    ``dropped`` the top-level elements dropped for their non-conformance. ``still_valid`` is
    whether the resource validates once the ``unknown`` and ``dropped`` elements are gone
    (``None`` when nothing was dropped).
    """

    modifier_extension: bool
    validation: r4.Validation | None
    still_valid: bool | None
    fatal: tuple[tuple[r4.Path, str], ...] = ()
    dropped: tuple[str, ...] = ()


def cleaned_copy(
    raw: Mapping[str, Any], unknown: tuple[r4.Path, ...], dropped: tuple[str, ...] = ()
) -> dict[str, Any]:
    """``raw`` without the elements at ``unknown`` and the top-level ``dropped``; ``raw`` is
    left as it was. Only the containers on the way to a removed element are copied (the mapping
    never writes into a resource, as with the plain ``dict(raw)`` of a conformant one)."""
    cleaned = dict(raw)
    copied = {id(cleaned)}
    for path in unknown:
        drop_path(cleaned, path, copied)
    for element in dropped:
        cleaned.pop(element, None)
    return cleaned


#: Resource types whose conformant members :mod:`fhir_mapping.cheap_reader` may vouch for
#: instead of R4B validation (each covered by a differential test: test_cheap_reader.py,
#: test_cheap_reader_medications.py, test_cheap_reader_observations.py).
CHEAP_TYPES = frozenset({"Condition", "MedicationRequest", "Observation"})

#: The verdict of the full check on a resource with nothing to report.
CONFORMANT = Verdict(False, r4.Validation((), ()), None)


def judge(raw: Mapping[str, Any]) -> Verdict:
    """The full check (modifierExtension walk, R4B validation, re-validation after cleaning),
    unless the cheap reader proves there is nothing to find."""
    rtype = raw.get("resourceType")
    if isinstance(rtype, str) and rtype in CHEAP_TYPES:
        unknown = cheap_reader.unknown_elements(raw)
        if unknown == ():
            return CONFORMANT
        if unknown is not None:  # valid once these are dropped, as the full check would find
            return Verdict(False, r4.Validation(tuple((k,) for k in unknown), ()), True)
    return full_judge(raw)


def full_judge(raw: Mapping[str, Any]) -> Verdict:
    """The full check, always through R4B validation."""
    if has_modifier_extension(raw):
        return Verdict(True, None, None)
    result = r4.validate(raw)
    rtype = raw.get("resourceType")
    rtype = rtype if isinstance(rtype, str) else ""
    fatal = tuple((p, t) for p, t in result.errors if not p or is_needed(rtype, p[0]))
    if fatal:
        return Verdict(False, result, None, fatal=fatal)
    dropped = tuple(dict.fromkeys(str(p[0]) for p, _ in result.errors))
    if not result.unknown and not dropped:
        return Verdict(False, result, None)
    cleaned = cleaned_copy(raw, result.unknown, dropped)
    # Once the offending elements are gone, the cheap reader can often vouch for the rest.
    still_valid = (rtype in CHEAP_TYPES and cheap_reader.conformant(cleaned)) or r4.validate(
        cleaned
    ).valid
    return Verdict(False, result, still_valid, dropped=dropped)


__all__ = [
    "CHEAP_TYPES",
    "CONFORMANT",
    "Verdict",
    "cleaned_copy",
    "full_judge",
    "has_modifier_extension",
    "judge",
]
