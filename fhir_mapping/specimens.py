"""What a molecular result was measured on: tissue, plasma (ctDNA) or blood.

Read from, in order: the Specimen that ``Observation.specimen`` references (in the prefetch,
e.g. the optional ``specimens`` key, or contained), the reference's display, and the
Observation's own method, code and note text; a result without any of these takes the
specimen of the DiagnosticReport that lists it. Codes and text patterns are the cited table
``data/specimens.yaml``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fhir_mapping.codes import (
    as_dict,
    as_list,
    as_str,
    concept_codes,
    concept_text,
    normalise_system,
)
from fhir_mapping.tables import _load
from rules.patient import Biomarker, SpecimenKind

_ORDER = (SpecimenKind.PLASMA, SpecimenKind.TISSUE, SpecimenKind.BLOOD)
#: Enum members as module constants (``Enum.MEMBER`` is a descriptor call each time).
_UNKNOWN, _PLASMA, _TISSUE = SpecimenKind.UNKNOWN, SpecimenKind.PLASMA, SpecimenKind.TISSUE


@dataclass(frozen=True, slots=True)
class _Table:
    codes: Mapping[tuple[str, str], SpecimenKind]
    patterns: Sequence[tuple[SpecimenKind, re.Pattern[str]]]


@functools.cache
def _table() -> _Table:
    data = _load("specimens.yaml")
    codes = {
        (normalise_system(str(row["system"])), str(row["code"])): SpecimenKind(row["kind"])
        for row in data["codes"]
    }
    patterns = [
        (kind, re.compile("|".join(data["text"][kind.value]), re.IGNORECASE)) for kind in _ORDER
    ]
    return _Table(codes, patterns)


def kind_from_text(texts: Iterable[str | None]) -> SpecimenKind:
    joined = " | ".join(t for t in texts if t)
    if not joined:
        return _UNKNOWN
    found = set()
    for kind, pattern in _table().patterns:
        if pattern.search(joined):
            found.add(kind)
            joined = pattern.sub(" ", joined)  # "liquid biopsy" is not a tissue biopsy
    if _PLASMA in found:
        # Plasma is drawn from blood; plasma and tissue together name no single specimen.
        return _UNKNOWN if _TISSUE in found else _PLASMA
    return found.pop() if len(found) == 1 else _UNKNOWN


def kind_of_specimen(raw: Mapping[str, Any]) -> SpecimenKind:
    """A Specimen resource's kind: coded type first, then its type text and display."""
    concept = raw.get("type")
    table = _table().codes
    for code in concept_codes(concept):
        found = table.get((normalise_system(code.system), code.code))
        if found is not None:
            return found
    texts = [concept_text(concept), *(c.display for c in concept_codes(concept))]
    return kind_from_text(texts)


def _normalise(reference: str) -> str:
    parts = reference.strip().rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else f"Specimen/{reference.strip()}"


def of_observation(raw: Mapping[str, Any]) -> tuple[SpecimenKind, str | None]:
    """(kind read from the Observation itself, reference to resolve later)."""
    specimen_value = raw.get("specimen")
    if specimen_value is None and raw.get("method") is None and raw.get("note") is None:
        code = raw.get("code")
        if type(code) is dict and code.get("text") is None:
            # Nothing to read (most results): no specimen, method, note or code text.
            return _UNKNOWN, None
    specimen = as_dict(specimen_value)
    ref = as_str(specimen.get("reference"))
    if ref and ref.startswith("#"):
        for contained in as_list(raw.get("contained")):
            item = as_dict(contained)
            if item.get("resourceType") == "Specimen" and as_str(item.get("id")) == ref[1:]:
                found = kind_of_specimen(item)
                if found is not _UNKNOWN:
                    return found, None
        ref = None
    texts = [
        as_str(specimen.get("display")),
        concept_text(raw.get("method")),
        concept_text(raw.get("code")),
        *(as_str(as_dict(n).get("text")) for n in as_list(raw.get("note"))),
    ]
    return kind_from_text(texts), _normalise(ref) if ref else None


@dataclass(frozen=True, slots=True)
class ReportSpecimen:
    results: frozenset[str]
    specimen_refs: tuple[str, ...]
    kind: SpecimenKind


def of_report(raw: Mapping[str, Any]) -> ReportSpecimen | None:
    refs = [as_str(as_dict(s).get("reference")) for s in as_list(raw.get("specimen"))]
    displays = [as_str(as_dict(s).get("display")) for s in as_list(raw.get("specimen"))]
    kind = kind_from_text([*displays, concept_text(raw.get("code"))])
    specimen_refs = tuple(_normalise(r) for r in refs if r and not r.startswith("#"))
    if not specimen_refs and kind is _UNKNOWN:
        return None
    results = frozenset(
        "/".join(r.rstrip("/").split("/")[-2:])
        for r in (as_str(as_dict(x).get("reference")) for x in as_list(raw.get("result")))
        if r and "/" in r
    )
    return ReportSpecimen(results, specimen_refs, kind)


def apply(
    biomarkers: Sequence[Biomarker],
    specimens: Mapping[str, SpecimenKind],
    reports: Sequence[ReportSpecimen],
) -> list[Biomarker]:
    """Resolve each result's specimen against the Specimens and reports of the prefetch."""
    if not specimens and not reports:
        return list(biomarkers)  # nothing to resolve against (most records): as read
    by_result: dict[str, SpecimenKind] = {}
    for report in reports:
        kinds = [specimens.get(r, _UNKNOWN) for r in report.specimen_refs]
        known = {k for k in kinds if k is not _UNKNOWN}
        kind = known.pop() if len(known) == 1 else report.kind if not known else None
        if kind is None or kind is _UNKNOWN:
            continue  # several kinds (tissue and plasma) in one report: not assigned
        for result in report.results:
            by_result.setdefault(result, kind)
    out = []
    for marker in biomarkers:
        kind = marker.specimen
        if marker.specimen_ref is not None:
            kind = specimens.get(marker.specimen_ref, _UNKNOWN)
            if kind is _UNKNOWN:
                kind = marker.specimen
        if kind is _UNKNOWN:
            kind = by_result.get(marker.source_ref, _UNKNOWN)
        out.append(marker if kind is marker.specimen else replace(marker, specimen=kind))
    return out


def table_rows() -> list[Mapping[str, Any]]:
    """The coded rows of ``data/specimens.yaml`` (for the KB document)."""
    return [dict(row) for row in _load("specimens.yaml")["codes"]]


def text_patterns() -> Mapping[str, Sequence[str]]:
    return {str(k): list(v) for k, v in _load("specimens.yaml")["text"].items()}
