"""Hereditary tumour syndromes recorded as Conditions (e.g. neurofibromatosis type 1).

Only codes from the cited table ``data/hereditary.yaml`` are read; free text alone is not
enough to assert a syndrome. Refuted and entered-in-error Conditions are never read (the caller
checks that); an inactive or resolved clinical status does not matter for a lifelong syndrome.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from fhir_mapping.codes import ICD10CM, SNOMED, concept_codes, concept_text, reference_of
from fhir_mapping.tables import load_table
from rules.hereditary import HereditaryCondition, HereditarySyndrome


@cache
def _codes() -> Mapping[tuple[str, str], tuple[HereditarySyndrome, str]]:
    table = load_table("hereditary.yaml")
    out: dict[tuple[str, str], tuple[HereditarySyndrome, str]] = {}
    for key, entry in table.items():
        syndrome = HereditarySyndrome(key)
        display = str(entry["display"])
        for field, system in (("snomed", SNOMED), ("icd10cm", ICD10CM)):
            for row in entry.get(field, []):
                out[(system, str(row["code"]))] = (syndrome, display)
    return out


def syndrome_of(raw: Mapping[str, Any]) -> HereditaryCondition | None:
    """The hereditary syndrome a Condition codes, if any (first matching coding wins)."""
    table = _codes()
    for code in concept_codes(raw.get("code")):
        hit = table.get((code.system, code.code))
        if hit is not None:
            syndrome, display = hit
            text = concept_text(raw.get("code")) or display
            return HereditaryCondition(syndrome, reference_of(raw), text)
    return None
