"""GIST risk of recurrence: a recorded risk category, or the pathology factors it is derived from.

* Tumour size: mCODE TumorSize (LOINC 21889-1, longest dimension component 33728-7, or a
  ``valueQuantity``), in cm or mm.
* Mitotic count, tumour rupture and a recorded risk category have no code in mCODE or the
  references checked here; they are recognised by the Observation's code wording ("mitotic
  count", "mitoses per 5 mm2", "tumour rupture", "GIST risk (Miettinen/AFIP/NIH)") and their
  structured value. The category is then derived from the cited AFIP table in
  :mod:`rules.gist_risk`.

The site comes from the GIST diagnosis (ICD-10-CM C49.A2 stomach, C49.A3 small intestine,
C49.A5 rectum, or the body-site wording).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from fhir_mapping.codes import (
    ICD10CM,
    LOINC,
    as_dict,
    as_list,
    as_str,
    concept_codes,
    concept_text,
    has_code,
    reference_of,
)
from fhir_mapping.dates import effective_date
from rules.extent import GistRisk, GistRiskAssessment
from rules.patient import Diagnosis, Histology, PartialDate

LNC_TUMOUR_SIZE = "21889-1"  # mCODE TumorSize (MC4 SD_TumorSize.fsh)
LNC_LONGEST_DIMENSION = "33728-7"  # "Size.maximum dimension in Tumor" (same)
#: The risk factors found by their Observation code (the others only by their wording): the
#: prefetch templates search for these codes, derived from here (contract-tested).
SEARCHABLE_LOINC = (LNC_TUMOUR_SIZE,)
LA_PRESENT = "LA9633-4"
LA_ABSENT = "LA9634-2"

_MITOSES = re.compile(r"mitot|mitos", re.IGNORECASE)
_RUPTURE = re.compile(r"ruptur", re.IGNORECASE)
_RISK = re.compile(r"\brisk\b", re.IGNORECASE)
_RISK_CONTEXT = re.compile(r"GIST|stromal|recurrence|Miettinen|AFIP|NIH|Joensuu", re.IGNORECASE)
_RISK_VALUES = (
    (re.compile(r"very[- ]low", re.I), GistRisk.VERY_LOW),
    (re.compile(r"\bhigh\b", re.I), GistRisk.HIGH),
    (re.compile(r"\b(intermediate|moderate)\b", re.I), GistRisk.INTERMEDIATE),
    (re.compile(r"\blow\b", re.I), GistRisk.LOW),
    (re.compile(r"\bnone\b|\bno risk\b", re.I), GistRisk.NONE),
)
_YES = re.compile(r"^\s*(yes|present|ruptured|positive|true)\b", re.IGNORECASE)
_NO = re.compile(r"^\s*(no|absent|none|intact|negative|false)\b", re.IGNORECASE)
_SITES = (
    (re.compile(r"stomach|gastric", re.I), "gastric"),
    (re.compile(r"duoden", re.I), "duodenum"),
    (re.compile(r"jejun|ileum|ileal", re.I), "jejunum-ileum"),
    (re.compile(r"rect", re.I), "rectum"),
    (re.compile(r"small (intestine|bowel)", re.I), "small-intestine"),
)
_ICD10_SITES = {"C49.A2": "gastric", "C49.A3": "small-intestine", "C49.A5": "rectum"}


def _label(raw: Mapping[str, Any]) -> str:
    code = raw.get("code")
    parts = [concept_text(code) or ""]
    parts += [c.display or "" for c in concept_codes(code)]
    return " ".join(parts)


#: Any wording :func:`kind` looks for. The label is made of whole strings of the concept joined
#: by spaces, and none of these words spans a space, so a label can only match if the text or
#: one of the displays matches on its own.
_ANY_KIND = re.compile(r"mitot|mitos|ruptur|\brisk\b", re.IGNORECASE)
#: The same words for ASCII text, found with ``str.lower`` and ``in`` (a case-insensitive
#: alternation costs sre about ten times more; for ASCII text, IGNORECASE is ``lower``).
_ASCII_WORDS = ("mitot", "mitos", "ruptur", "risk")


def may_name_a_kind(value: Any) -> bool:
    """False when ``value`` cannot hold any wording :func:`kind` looks for (cheap, exact)."""
    if not isinstance(value, str):
        return False
    if value.isascii():
        lowered = value.lower()
        # _ASCII_WORDS written out: a generator costs more than the four searches.
        return "mitot" in lowered or "mitos" in lowered or "ruptur" in lowered or "risk" in lowered
    return _ANY_KIND.search(value) is not None


def _may_be_risk_factor(concept: Any) -> bool:
    """False when no string of ``concept`` could make :func:`kind` answer (cheap, exact):
    called on every Observation of the prefetch, most of them unrelated labs."""
    if not (type(concept) is dict or isinstance(concept, Mapping)):
        return False
    if may_name_a_kind(concept.get("text")):
        return True
    items = concept.get("coding")
    if not isinstance(items, list):
        return False
    for coding in items:
        if (type(coding) is dict or isinstance(coding, Mapping)) and may_name_a_kind(
            coding.get("display")
        ):
            return True
    return False


def kind(raw: Mapping[str, Any]) -> str | None:
    """``size``, ``mitoses``, ``rupture`` or ``risk`` for a GIST-risk Observation, else None."""
    concept = raw.get("code")
    if has_code(concept, LOINC, LNC_TUMOUR_SIZE):
        return "size"
    if not _may_be_risk_factor(concept):
        return None
    label = _label(raw)
    if not label.strip():
        return None
    if _MITOSES.search(label):
        return "mitoses"
    if _RUPTURE.search(label):
        return "rupture"
    if _RISK.search(label) and _RISK_CONTEXT.search(label):
        return "risk"
    return None


def _quantity(value: Any) -> tuple[Decimal, str] | None:
    quantity = as_dict(value)
    try:
        number = Decimal(str(quantity.get("value")))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    unit = (as_str(quantity.get("code")) or as_str(quantity.get("unit")) or "").lower()
    return number, unit


@dataclass(frozen=True, slots=True)
class Factor:
    kind: str
    source_ref: str
    date: PartialDate | None
    size_cm: Decimal | None = None
    mitoses: Decimal | None = None
    rupture: bool | None = None
    risk: GistRisk | None = None
    text: str | None = None


def map_factor(resource: Mapping[str, Any], what: str) -> Factor | None:
    ref = reference_of(resource)
    if as_str(resource.get("status")) in ("entered-in-error", "cancelled"):
        return None
    when = effective_date(resource)
    if what == "size":
        value = resource.get("valueQuantity")
        for component in as_list(resource.get("component")):
            comp = as_dict(component)
            if any(c.code == LNC_LONGEST_DIMENSION for c in concept_codes(comp.get("code"))):
                value = comp.get("valueQuantity")
        parsed = _quantity(value)
        if parsed is None or parsed[1] not in ("cm", "mm"):
            return None
        size = parsed[0] / 10 if parsed[1] == "mm" else parsed[0]
        return Factor("size", ref, when, size_cm=size)
    if what == "mitoses":
        parsed = _quantity(resource.get("valueQuantity"))
        number = parsed[0] if parsed else None
        if number is None and isinstance(resource.get("valueInteger"), int):
            number = Decimal(resource["valueInteger"])
        if number is None or number < 0:
            return None
        unit = (parsed[1] if parsed else "") + " " + _label(resource)
        # Per 5 mm2 or per 50 HPF (the AFIP scale); a count over another area is not converted.
        if not re.search(r"5\s*\.?\s*mm|50\s*hpf|50\s*high", unit, re.IGNORECASE):
            return None
        return Factor("mitoses", ref, when, mitoses=number)
    if what == "rupture":
        flag = resource.get("valueBoolean")
        if not isinstance(flag, bool):
            concept = resource.get("valueCodeableConcept")
            codes = {c.code for c in concept_codes(concept)}
            text = " ".join(
                [concept_text(concept) or "", *(c.display or "" for c in concept_codes(concept))]
            )
            if LA_PRESENT in codes or _YES.search(text):
                flag = True
            elif LA_ABSENT in codes or _NO.search(text):
                flag = False
            else:
                return None
        return Factor("rupture", ref, when, rupture=flag)
    concept = resource.get("valueCodeableConcept")
    text = " ".join(
        [
            as_str(resource.get("valueString")) or "",
            concept_text(concept) or "",
            *(c.display or "" for c in concept_codes(concept)),
        ]
    )
    for pattern, risk in _RISK_VALUES:
        if pattern.search(text):
            return Factor("risk", ref, when, risk=risk, text=f"recorded: {text.strip()}")
    return None


def gist_site(diagnoses: list[Diagnosis], texts: list[str]) -> str | None:
    """The GIST's site: ICD-10-CM C49.A2/A3/A5, else the wording of its code, body site or
    ``texts`` (the Condition's code text and body-site text, collected by the mapping)."""
    words = list(texts)
    for diagnosis in diagnoses:
        if diagnosis.histology is not Histology.GIST:
            continue
        for code in (diagnosis.code, *([diagnosis.site] if diagnosis.site else [])):
            if code.system == ICD10CM and code.code.upper() in _ICD10_SITES:
                return _ICD10_SITES[code.code.upper()]
            words.append(code.display or "")
    for text in words:
        for pattern, site in _SITES:
            if pattern.search(text):
                return site
    return None


def assessments(factors: list[Factor], site: str | None) -> list[GistRiskAssessment]:
    """Recorded categories as they are; the latest size, mitoses and rupture combined into one
    assessment (referenced by the mitotic count, the decisive factor)."""
    out = [
        GistRiskAssessment(f.source_ref, risk=f.risk, text=f.text, date=f.date)
        for f in factors
        if f.kind == "risk"
    ]

    def latest(what: str) -> Factor | None:
        found = [f for f in factors if f.kind == what]
        return (
            max(found, key=lambda f: f.date.lower_bound() if f.date else dt.date.min)
            if found
            else None
        )

    size, mitoses, rupture = latest("size"), latest("mitoses"), latest("rupture")
    anchor = mitoses or rupture or size
    if anchor is not None:
        out.append(
            GistRiskAssessment(
                anchor.source_ref,
                date=max((f.date for f in (size, mitoses, rupture) if f and f.date), default=None),
                size_cm=size.size_cm if size else None,
                mitoses_per_5mm2=mitoses.mitoses if mitoses else None,
                site=site,
                rupture=rupture.rupture if rupture else None,
            )
        )
    return out
