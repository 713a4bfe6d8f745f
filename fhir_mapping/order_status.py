"""The status, stop reason and treatment intent of a medication order or statement.

Read by :mod:`fhir_mapping.medications` (every order) and :mod:`fhir_mapping.plain_orders` (the
common prefetch order): FHIR request and statement statuses to the therapy status, a SNOMED CT
stop reason (or its wording) to why the drug was stopped, and the intent of the therapy from the
mCODE extension, ``courseOfTherapyType`` or the reason's wording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fhir_mapping.codes import (
    SCT_ADJUVANT,
    SCT_COMPLETED_STOP,
    SCT_CURATIVE,
    SCT_NEOADJUVANT,
    SCT_OTHER_STOPS,
    SCT_PALLIATIVE,
    SCT_PROGRESSION_STOP,
    SCT_TOXICITY_STOP,
    SNOMED,
    as_dict,
    as_list,
    as_str,
    concept_codes,
    concept_text,
)
from fhir_mapping.tolerance_text import says_not_tolerated
from rules.patient import Code, StopReason, TherapyStatus, TreatmentIntent

REQUEST_STATUS = {
    "active": TherapyStatus.ACTIVE,
    "on-hold": TherapyStatus.ON_HOLD,
    "cancelled": TherapyStatus.CANCELLED,
    "completed": TherapyStatus.COMPLETED,
    "stopped": TherapyStatus.STOPPED,
    "draft": TherapyStatus.DRAFT,
    "unknown": TherapyStatus.UNKNOWN,
}
STATEMENT_STATUS = {
    "active": TherapyStatus.ACTIVE,
    "on-hold": TherapyStatus.ON_HOLD,
    "completed": TherapyStatus.COMPLETED,
    "stopped": TherapyStatus.STOPPED,
    "intended": TherapyStatus.UNKNOWN,
    "unknown": TherapyStatus.UNKNOWN,
}


# Enum members read once: on Python 3.11 every ``TherapyStatus.X`` load goes through
# EnumType.__getattr__'s hook (~650 instructions), and this runs for every order.
STOPPED, COMPLETED = TherapyStatus.STOPPED, TherapyStatus.COMPLETED
REASON_COMPLETED, REASON_UNKNOWN = StopReason.COMPLETED, StopReason.UNKNOWN


def stop_reason_of(
    status: TherapyStatus, reasons: list[Any]
) -> tuple[StopReason | None, Code | None]:
    if status is not STOPPED and status is not COMPLETED:
        return None, None
    if not any(reasons):  # no reason given (every cycle order but the last)
        return (REASON_COMPLETED if status is COMPLETED else REASON_UNKNOWN), None
    for concept in reasons:
        for code in concept_codes(concept):
            if code.system != SNOMED:
                continue
            if code.code == SCT_PROGRESSION_STOP:
                return StopReason.PROGRESSION, code
            if code.code == SCT_TOXICITY_STOP:
                return StopReason.TOXICITY, code
            if code.code == SCT_COMPLETED_STOP:
                return StopReason.COMPLETED, code
            if code.code in SCT_OTHER_STOPS:
                return StopReason.OTHER, code
    # No coded reason: the words of the reason ("not tolerated", "grade 3 diarrhoea") still
    # say the drug was stopped for toxicity (read liberally; progression is never read from text).
    for concept in reasons:
        texts = [concept_text(concept), *(c.display for c in concept_codes(concept))]
        if any(says_not_tolerated(t) for t in texts):
            return StopReason.TOXICITY, None
    if status is TherapyStatus.COMPLETED:
        return StopReason.COMPLETED, None
    return StopReason.UNKNOWN, None


_INTENT_CODES = {
    SCT_CURATIVE: TreatmentIntent.CURATIVE,
    SCT_PALLIATIVE: TreatmentIntent.PALLIATIVE,
    SCT_ADJUVANT: TreatmentIntent.ADJUVANT,
    SCT_NEOADJUVANT: TreatmentIntent.NEOADJUVANT,
}
_INTENT_WORDS = (
    (re.compile(r"\bneo-?\s?adjuvant\b", re.IGNORECASE), TreatmentIntent.NEOADJUVANT),
    (re.compile(r"\badjuvant\b", re.IGNORECASE), TreatmentIntent.ADJUVANT),
    (re.compile(r"\bpalliative\b", re.IGNORECASE), TreatmentIntent.PALLIATIVE),
)


def _intent_of(concept: Any) -> TreatmentIntent | None:
    for code in concept_codes(concept):
        if code.system == SNOMED and code.code in _INTENT_CODES:
            return _INTENT_CODES[code.code]
    texts = [concept_text(concept), *(c.display for c in concept_codes(concept))]
    for text in texts:
        for pattern, intent in _INTENT_WORDS:
            if text and pattern.search(text):
                return intent
    return None


INTENT_ELEMENTS = frozenset({"extension", "courseOfTherapyType", "reasonCode", "reasonReference"})


def intent_of_order(resource: Mapping[str, Any]) -> TreatmentIntent | None:
    """Treatment intent: the mCODE treatment-intent extension (any url naming "intent"), then
    ``courseOfTherapyType``, then the wording of ``reasonCode`` / ``reasonReference.display``."""
    if resource.keys().isdisjoint(INTENT_ELEMENTS):  # (looks up the four names)
        return None  # none of them: most orders
    for ext in as_list(resource.get("extension")):
        ext_map = as_dict(ext)
        if "intent" not in (as_str(ext_map.get("url")) or "").lower():
            continue
        found = _intent_of(ext_map.get("valueCodeableConcept"))
        if found is not None:
            return found
    found = _intent_of(resource.get("courseOfTherapyType"))
    if found is not None:
        return found
    for concept in as_list(resource.get("reasonCode")):
        found = _intent_of(concept)
        if found is not None:
            return found
    for reference in as_list(resource.get("reasonReference")):
        display = as_str(as_dict(reference).get("display"))
        if display:
            found = _intent_of({"text": display})
            if found is not None:
                return found
    return None
