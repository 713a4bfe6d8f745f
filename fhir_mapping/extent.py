"""Extent of disease from the shapes EHRs and mCODE use -> :class:`rules.extent.ExtentFact`.

* secondary cancer Conditions (mCODE SecondaryCancerCondition profile, SNOMED CT / ICD-10-CM
  secondary-malignancy codes, the related-primary extension, ICD-O-3 behaviour /6);
* the cancer Condition's own ``stage.summary`` and wording ("metastatic GIST", "unresectable");
* TNM stage group and M category Observations (LOINC and SNOMED CT staging types; AJCC values),
  read in :mod:`fhir_mapping.staging`.

Codes and their sources are in ``data/extent.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir_mapping import staging
from fhir_mapping.codes import (
    CONDITION_CLINICAL,
    ICD10CM,
    ICDO3,
    SNOMED,
    as_dict,
    as_list,
    as_str,
    concept_codes,
    concept_text,
    first_code,
    parse_icdo3_morphology,
    reference_of,
)
from fhir_mapping.dates import parse_date, period_start
from fhir_mapping.issues import MappingIssue
from fhir_mapping.tables import histology_table, load_table
from rules.extent import Extent, ExtentFact, ExtentSource
from rules.patient import Code, Diagnosis


@dataclass(frozen=True, slots=True)
class _Table:
    secondary_snomed: Mapping[str, str | None]
    secondary_icd10: tuple[tuple[str, str], ...]  # longest prefix first
    profile_marker: str
    related_urls: frozenset[str]


@cache
def _table() -> _Table:
    data = load_table("extent.yaml")
    icd = sorted(
        ((str(k).upper(), str(v)) for k, v in data["secondary_icd10cm"].items()),
        key=lambda kv: -len(kv[0]),
    )
    return _Table(
        secondary_snomed={str(r["code"]): r.get("site") for r in data["secondary_snomed"]},
        secondary_icd10=tuple(icd),
        profile_marker=str(data["secondary_profile_marker"]),
        related_urls=frozenset(str(u) for u in data["related_primary_urls"]),
    )


# --- wording -------------------------------------------------------------------------------------

_HEDGE = re.compile(
    r"\b(no|not|without|negative|rule[- ]?out|r/o|suspect\w*|possible|probable|history of|"
    r"query|exclude\w*)\b|\?",
    re.IGNORECASE,
)
_METASTATIC = re.compile(r"\bmetasta(?:sis|ses|tic)\b|\bsecondary malignan", re.IGNORECASE)
_LOCALLY_ADVANCED = re.compile(r"\bunresectable\b|\blocally advanced\b|\binoperable\b", re.I)
_SITE_WORDS = re.compile(
    r"\b(liver|hepatic|lung|pulmonary|peritone\w*|bone|brain|lymph node\w*|pleura\w*|"
    r"omentum|mesentery|adrenal|skin)\b",
    re.IGNORECASE,
)
_SITE_NORMAL = {"hepatic": "liver", "pulmonary": "lung"}


def _site_from_text(text: str | None) -> str | None:
    if not text:
        return None
    match = _SITE_WORDS.search(text)
    if match is None:
        return None
    word = match.group(1).lower()
    if word.startswith("peritone"):
        return "peritoneum"
    if word.startswith("lymph"):
        return "lymph nodes"
    if word.startswith("pleura"):
        return "pleura"
    return _SITE_NORMAL.get(word, word)


def wording_extent(text: str | None) -> Extent | None:
    """Extent named by free wording ("metastatic GIST", "unresectable"), unless hedged."""
    if not text or _HEDGE.search(text):
        return None
    if _METASTATIC.search(text):
        return Extent.METASTATIC
    if _LOCALLY_ADVANCED.search(text):
        return Extent.LOCALLY_ADVANCED
    return None


# --- Conditions ----------------------------------------------------------------------------------


def _clinical(resource: Mapping[str, Any]) -> str | None:
    code = first_code(resource.get("clinicalStatus"), CONDITION_CLINICAL)
    if code is not None:
        return code.code
    for coding in as_list(as_dict(resource.get("clinicalStatus")).get("coding")):
        value = as_str(as_dict(coding).get("code"))
        if value:
            return value
    return None


def _is_active(resource: Mapping[str, Any]) -> bool:
    return _clinical(resource) in (None, "active", "recurrence", "relapse")


def _onset(resource: Mapping[str, Any]) -> Any:
    return (
        parse_date(resource.get("onsetDateTime"))
        or period_start(resource.get("onsetPeriod"))
        or parse_date(resource.get("recordedDate"))
    )


def _secondary_site(code: Code) -> tuple[bool, str | None]:
    table = _table()
    if code.system == SNOMED and code.code in table.secondary_snomed:
        return True, table.secondary_snomed[code.code]
    if code.system == ICD10CM:
        upper = code.code.strip().upper()
        for prefix, site in table.secondary_icd10:
            if upper.startswith(prefix):
                return True, site
    if code.system == ICDO3:
        parsed = parse_icdo3_morphology(code.code)
        if parsed is not None and parsed[1] == "6":
            return True, None
    return False, None


def _extension_concepts(resource: Mapping[str, Any]) -> Iterator[Any]:
    for ext in as_list(resource.get("extension")):
        yield as_dict(ext).get("valueCodeableConcept")


def may_be_secondary(raw: Mapping[str, Any]) -> bool:
    """Cheap pre-filter on a raw Condition that is not a sarcoma diagnosis: could it be a
    secondary cancer condition (code, profile, related-primary extension or wording)?"""
    table = _table()
    for code in concept_codes(raw.get("code")):
        if _secondary_site(code)[0]:
            return True
    profiles = as_list(as_dict(raw.get("meta")).get("profile"))
    if any(table.profile_marker in (as_str(p) or "") for p in profiles):
        return True
    for ext in as_list(raw.get("extension")):
        if as_str(as_dict(ext).get("url")) in table.related_urls:
            return True
        for code in concept_codes(as_dict(ext).get("valueCodeableConcept")):
            if code.system == ICDO3 and _secondary_site(code)[0]:
                return True
    text = concept_text(raw.get("code")) or next(
        (c.display for c in concept_codes(raw.get("code")) if c.display), None
    )
    return bool(text and _METASTATIC.search(text))


def secondary_condition(
    resource: Mapping[str, Any],
) -> tuple[ExtentFact | None, list[MappingIssue]]:
    """A metastatic-disease fact for a secondary cancer Condition, else ``None``."""
    ref = reference_of(resource)
    table = _table()
    codes = list(concept_codes(resource.get("code")))
    for concept in _extension_concepts(resource):
        codes.extend(c for c in concept_codes(concept) if c.system == ICDO3)
    coded = [(c, *_secondary_site(c)) for c in codes]
    hits = [(c, site) for c, is_secondary, site in coded if is_secondary]
    profiles = [as_str(p) or "" for p in as_list(as_dict(resource.get("meta")).get("profile"))]
    by_profile = any(table.profile_marker in p for p in profiles)
    related = any(
        as_str(as_dict(ext).get("url")) in table.related_urls
        for ext in as_list(resource.get("extension"))
    )
    text = concept_text(resource.get("code")) or next((c.display for c in codes if c.display), None)
    issues: list[MappingIssue] = []
    if not hits and not by_profile:
        wording = wording_extent(text)
        if wording is not Extent.METASTATIC or not (related or _METASTATIC.search(text or "")):
            return None, []
        if not related:
            issues.append(
                MappingIssue(
                    "text-derived-finding",
                    ref,
                    "metastatic disease read from the Condition's wording only (no secondary "
                    "cancer code or profile)",
                )
            )
    code = hits[0][0] if hits else next(iter(codes), None)
    site = next((s for _, s in hits if s), None) or _site_from_text(text)
    for body_site in as_list(resource.get("bodySite")):
        site = site or _site_from_text(concept_text(body_site) or next(
            (c.display for c in concept_codes(body_site) if c.display), None
        ))  # fmt: skip
    label = text or (code.display if code else None) or "secondary malignant neoplasm"
    return (
        ExtentFact(
            Extent.METASTATIC,
            ExtentSource.SECONDARY_CONDITION,
            label,
            ref,
            _onset(resource),
            site=site,
            code=code,
            active=_is_active(resource),
        ),
        issues,
    )


def primary_condition_facts(resource: Mapping[str, Any], ref: str) -> list[ExtentFact]:
    """Facts from a primary cancer Condition: ``stage.summary`` and its own wording."""
    facts: list[ExtentFact] = []
    when = _onset(resource)
    for stage in as_list(resource.get("stage")):
        summary = as_dict(stage).get("summary")
        m_value = staging.m_category(summary)
        if m_value is not None:
            extent = Extent.METASTATIC if m_value[0] == "M1" else Extent.LOCALIZED
            facts.append(
                ExtentFact(extent, ExtentSource.CONDITION, m_value[0], ref, when, code=m_value[1])
            )
            continue
        group = staging.stage_group(summary)
        if group is not None:
            facts.append(
                ExtentFact(
                    staging.stage_extent(group[0]),
                    ExtentSource.CONDITION,
                    group[1],
                    ref,
                    when,
                    code=next(concept_codes(summary), None),
                )
            )
    text = concept_text(resource.get("code"))
    wording = wording_extent(text)
    if wording is not None and text is not None:
        facts.append(
            ExtentFact(
                wording,
                ExtentSource.CONDITION,
                text,
                ref,
                when,
                site=_site_from_text(text),
                active=_is_active(resource),
            )
        )
    return facts


_NOT_MALIGNANT = {
    "0": "ICD-O-3 behaviour /0 (benign)",
    "1": "ICD-O-3 behaviour /1 (uncertain malignant potential)",
}


def behaviour_fact(diagnosis: Diagnosis) -> ExtentFact | None:
    """A localized fact for a /0 or /1 code that the histology table marks as localized (GIST
    8936/0 and 8936/1): such a record is not metastatic disease. Entities coded /0 or /1 by
    definition (IMT 8825/1, DFSP NOS 8832/1, SFT NOS 8815/1, desmoid 8821/1, TGCT 9252/0 and
    9252/1) get no such fact: their digit says nothing about the extent of disease."""
    if diagnosis.behaviour not in _NOT_MALIGNANT or diagnosis.code.system != ICDO3:
        return None
    parsed = parse_icdo3_morphology(diagnosis.code.code)
    row = histology_table().icdo3.get(parsed[0]) if parsed else None
    if row is None or diagnosis.behaviour not in row.localized:
        return None
    return ExtentFact(
        Extent.LOCALIZED,
        ExtentSource.CONDITION,
        _NOT_MALIGNANT[diagnosis.behaviour],
        diagnosis.source_ref,
        diagnosis.onset or diagnosis.recorded,
        code=diagnosis.code,
    )
