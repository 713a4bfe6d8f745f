"""Draft orders of order-select / order-sign: which are orders to check, which could not be.

Never "no cards" for an order the service could not check: a draft MedicationRequest whose
medication cannot be identified or whose needed elements are unreadable becomes an
:class:`UncheckedOrder`, which the service turns into a card naming the draft and the reason.
A draft with no medication chosen yet (the CDS Hooks Sandbox sends one as soon as its order
screen opens) is not an order to check: it is skipped without a finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir_mapping.codes import as_dict, as_list, as_str, codings, concept_text

#: The elements that say which medication is ordered (R4 ``medication[x]``).
MEDICATION_ELEMENTS = ("medicationCodeableConcept", "medicationReference")


@dataclass(frozen=True, slots=True)
class UncheckedOrder:
    """A draft order the rules could not check.

    ``reference`` is ``Type/id``; ``label`` is what the order names as its medication (text or
    coding display, shown on the card only); ``reason`` is a fixed explanation that never
    contains text from the resource. ``selected`` is whether order-select flagged it.
    """

    reference: str
    reason: str
    label: str | None = None
    selected: bool = False
    #: "order": the order could not be checked at all; "dose": the drug was checked, but its
    #: dose is above the labelled maximum and no dose rule used it.
    kind: str = "order"


def no_medication_chosen(raw: Mapping[str, Any]) -> bool:
    """True for a draft without any ``medication[x]`` element: nothing has been ordered yet."""
    return all(raw.get(name) in (None, {}, [], "") for name in MEDICATION_ELEMENTS)


def label_of(raw: Mapping[str, Any]) -> str | None:
    """The medication's name as the order gives it (text, then a coding display, then the
    reference display), clipped to 80 characters; ``None`` when it gives none."""
    concept = raw.get("medicationCodeableConcept")
    candidates: list[str | None] = [concept_text(concept)]
    candidates += [as_str(c.get("display")) for c in codings(concept)]
    candidates.append(as_str(as_dict(raw.get("medicationReference")).get("display")))
    for candidate in candidates:
        if candidate:
            text = " ".join(candidate.split())
            return text if len(text) <= 80 else text[:79] + "…"
    return None


def has_name(concepts: list[Any]) -> bool:
    """True if a medication concept carries a text or a coding display (a name to read)."""
    for concept in concepts:
        if concept_text(concept):
            return True
        for coding in as_list(as_dict(concept).get("coding")):
            if as_str(as_dict(coding).get("display")):
                return True
    return False


__all__ = ["MEDICATION_ELEMENTS", "UncheckedOrder", "has_name", "label_of", "no_medication_chosen"]
