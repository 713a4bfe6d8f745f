"""Drug intolerance as EHRs record it -> :class:`rules.tolerability.DrugIntolerance`.

Read liberally, from three places:

* ``AllergyIntolerance`` naming one of our drugs (by RxNorm, ATC, name or brand, like an
  order). ``type`` intolerance gives an intolerance record; allergy or no type gives an allergy
  record: either way the drug was not tolerated. Refuted or entered-in-error records, and
  inactive or resolved ones, are not used. The dose is rarely stated, so it stays unknown
  (any dose of the drug counts).
* A medication order whose ``statusReason`` text says it was not tolerated (when no coded
  reason is given): read as "stopped for toxicity" by :mod:`fhir_mapping.medications`.
* A medication order whose ``note`` says so ("reduced to 400 mg for oedema", "not tolerated"):
  the order carries the words (``TherapyExposure.intolerance_note``).

Documented dose reductions (a later order at a lower dose) are derived in the rules
(:func:`rules.tolerability.derive_intolerances`), not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mapping import medications
from fhir_mapping.codes import as_dict, as_list, as_str, concept_codes, concept_text, reference_of
from fhir_mapping.dates import parse_date
from fhir_mapping.issues import MappingIssue
from fhir_mapping.tolerance_text import short
from rules.patient import DrugIntolerance, IntoleranceKind

_INACTIVE = frozenset({"inactive", "resolved"})
_NOT_TRUE = frozenset({"refuted", "entered-in-error"})


def _status_code(concept: Any) -> str | None:
    for code in concept_codes(concept):
        return code.code.lower()
    text = concept_text(concept)
    return text.strip().lower() if text else None


def map_allergy_intolerance(
    resource: Mapping[str, Any],
) -> tuple[DrugIntolerance | None, list[MappingIssue]]:
    """One AllergyIntolerance -> an intolerance of one of our drugs, or ``None``."""
    ref = reference_of(resource)
    if _status_code(resource.get("verificationStatus")) in _NOT_TRUE:
        return None, []
    if _status_code(resource.get("clinicalStatus")) in _INACTIVE:
        return None, []
    concepts: list[Any] = [resource.get("code")]
    concepts += [
        as_dict(r).get("substance") for r in as_list(resource.get("reaction")) if r is not None
    ]
    identified = medications.identify([c for c in concepts if c is not None])
    if identified is None or identified.drug.agent.ingredient is None:
        return None, []  # not a drug of this knowledge base (food, penicillin ...)
    raw_type = as_str(resource.get("type"))
    kind = (
        IntoleranceKind.INTOLERANCE_RECORD
        if raw_type == "intolerance"
        else IntoleranceKind.ALLERGY_RECORD
    )
    manifestations = [
        concept_text(m) or next((c.display for c in concept_codes(m) if c.display), None)
        for r in as_list(resource.get("reaction"))
        for m in as_list(as_dict(r).get("manifestation"))
    ]
    named = [m for m in manifestations if m]
    detail = short(", ".join(dict.fromkeys(named))) if named else None
    issues: list[MappingIssue] = []
    if identified.matched_by == "name":
        issues.append(
            MappingIssue(
                "medication-matched-by-name",
                ref,
                f"intolerance read as {identified.drug.agent.ingredient} by name, not by code",
            )
        )
    return (
        DrugIntolerance(
            ingredient=identified.drug.agent.ingredient,
            kind=kind,
            source_ref=ref,
            date=parse_date(resource.get("onsetDateTime"))
            or parse_date(resource.get("recordedDate")),
            detail=detail,
        ),
        issues,
    )
