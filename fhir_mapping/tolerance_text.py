"""Words in an order's note or stop reason that say a drug was not tolerated.

Shared by :mod:`fhir_mapping.medications` (statusReason text, notes) and
:mod:`fhir_mapping.intolerance` (AllergyIntolerance).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fhir_mapping.codes import as_dict, as_list, as_str

#: Words that say a drug was not tolerated. Negated forms ("no toxicity") are excluded below.
_NOT_TOLERATED = re.compile(
    r"\b(not\s+tolerat\w*|intoleran\w*|poorly\s+tolerat\w*|toxicit\w*|side[- ]effects?|"
    r"adverse\s+(?:event|reaction|effect|drug\s+reaction)s?|grade\s+[34]\b|"
    r"dose[- ]limiting|dose\s+reduc\w*|(?:reduced|decreased|lowered)\s+(?:dose|to|from)\b)",
    re.IGNORECASE,
)
_NEGATED = re.compile(
    r"\b(?:no|nil|without|denies|free\s+of)\s+(?:\w+\s+){0,2}?"
    r"(?:toxicit\w*|side[- ]effects?|adverse|intoleran\w*)",
    re.IGNORECASE,
)
_DETAIL_CHARS = 60


def says_not_tolerated(text: str | None) -> bool:
    """Free text that says the drug was not tolerated (and does not deny it)."""
    if not text:
        return False
    cleaned = _NEGATED.sub(" ", text)
    return bool(_NOT_TOLERATED.search(cleaned))


def note_text(resource: Mapping[str, Any]) -> str | None:
    """The notes of a resource that say the drug was not tolerated, shortened, or ``None``."""
    notes = resource.get("note")
    if not notes:
        return None
    texts = [as_str(as_dict(n).get("text")) for n in as_list(notes)]
    hits = [" ".join(t.split()) for t in texts if t and says_not_tolerated(t)]
    return short("; ".join(hits)) if hits else None


def short(text: str) -> str:
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1].rstrip() + "…"
