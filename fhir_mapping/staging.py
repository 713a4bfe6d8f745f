"""AJCC staging -> :class:`rules.extent.ExtentFact`: the M category and stage group values
(coded or written) of a Condition's ``stage.summary`` and of TNM staging Observations (LOINC and
SNOMED CT staging types). The conditions side of the extent of disease is
:mod:`fhir_mapping.extent`; codes and their sources are in ``data/extent.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir_mapping.codes import LOINC, SNOMED, as_str, concept_codes, concept_text, reference_of
from fhir_mapping.dates import effective_date
from fhir_mapping.issues import MappingIssue
from fhir_mapping.tables import load_table
from rules.extent import Extent, ExtentFact, ExtentSource
from rules.patient import Code


@dataclass(frozen=True, slots=True)
class _Table:
    m_codes: frozenset[tuple[str, str]]
    stage_codes: frozenset[tuple[str, str]]
    m_values: Mapping[str, str]


@cache
def _table() -> _Table:
    data = load_table("extent.yaml")
    return _Table(
        m_codes=frozenset(
            {(LOINC, c) for c in data["m_category_codes"]["loinc"]}
            | {(SNOMED, c) for c in data["m_category_codes"]["snomed"]}
        ),
        stage_codes=frozenset(
            {(LOINC, c) for c in data["stage_group_codes"]["loinc"]}
            | {(SNOMED, c) for c in data["stage_group_codes"]["snomed"]}
        ),
        m_values={str(r["code"]): str(r["value"]) for r in data["m_values"]},
    )


def staging_observation_codes() -> frozenset[str]:
    """Observation.code values read as TNM stage group or M category (for the pre-filter)."""
    table = _table()
    return frozenset(code for _, code in table.m_codes | table.stage_codes)


_M_VALUE = re.compile(r"(?<![A-Za-z0-9])(?:[cpy]|yp)?M([01])[a-d]?(?:\(\w+\))?(?![A-Za-z0-9])")
_STAGE_GROUP = re.compile(r"(?:\bstage\s*)?\b(IV|III|II|I|[1-4])[A-C]?\b", re.IGNORECASE)
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def m_category(concept: Any) -> tuple[str, Code | None] | None:
    """``("M1", code)`` / ``("M0", code)`` from a coded AJCC value or its written form."""
    table = _table()
    for code in concept_codes(concept):
        if code.system == SNOMED and code.code in table.m_values:
            return table.m_values[code.code], code
    texts = [c.display or "" for c in concept_codes(concept)]
    texts += [c.code for c in concept_codes(concept)]
    texts.append(concept_text(concept) or "")
    for text in texts:
        match = _M_VALUE.search(text)
        if match is not None:
            return f"M{match.group(1)}", next(concept_codes(concept), None)
    return None


def stage_group(concept: Any) -> tuple[int, str] | None:
    """The stage group number (1-4) and its written form, from display/code/text."""
    texts = [c.display or "" for c in concept_codes(concept)]
    texts += [c.code for c in concept_codes(concept) if c.system != SNOMED]
    texts.append(concept_text(concept) or "")
    for text in texts:
        if not text or (
            "stage" not in text.lower() and not re.fullmatch(r"\s*[IV1-4]+[A-C]?\s*", text)
        ):
            continue
        match = _STAGE_GROUP.search(text)
        if match is not None:
            return _ROMAN[match.group(1).upper()], text.strip()
    return None


def stage_extent(group: int) -> Extent:
    # Stage IV (any T, N1 or M1 in the AJCC soft-tissue and GIST schemes) is advanced; I-III
    # have no distant metastasis.
    return Extent.ADVANCED if group == 4 else Extent.LOCALIZED


def staging_kind(raw: Mapping[str, Any]) -> str | None:
    """``"m"`` for an M-category Observation, ``"group"`` for a stage group, else ``None``."""
    table = _table()
    for code in concept_codes(raw.get("code")):
        key = (code.system, code.code)
        if key in table.m_codes:
            return "m"
        if key in table.stage_codes:
            return "group"
    return None


def map_staging_observation(
    resource: Mapping[str, Any], kind: str
) -> tuple[ExtentFact | None, list[MappingIssue]]:
    ref = reference_of(resource)
    if as_str(resource.get("status")) in ("entered-in-error", "cancelled"):
        return None, []
    value = resource.get("valueCodeableConcept")
    when = effective_date(resource)
    if kind == "m":
        m_value = m_category(value)
        if m_value is not None:
            extent = Extent.METASTATIC if m_value[0] == "M1" else Extent.LOCALIZED
            label = m_value[1].display if m_value[1] and m_value[1].display else m_value[0]
            return ExtentFact(extent, ExtentSource.STAGE, label, ref, when, code=m_value[1]), []
    else:
        group = stage_group(value)
        if group is not None:
            return (
                ExtentFact(
                    stage_extent(group[0]),
                    ExtentSource.STAGE,
                    group[1],
                    ref,
                    when,
                    code=next(concept_codes(value), None),
                ),
                [],
            )
    return None, [
        MappingIssue(
            "unmapped-value",
            ref,
            "staging value is neither an AJCC M category nor a stage group this service reads; "
            "skipped",
        )
    ]
