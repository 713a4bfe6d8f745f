"""Immunohistochemistry results read by text (SDHB): see ``data/ihc.yaml`` for why no code."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fhir_mapping.codes import as_list, as_str, concept_codes, concept_text, reference_of
from fhir_mapping.dates import effective_date
from fhir_mapping.issues import MappingIssue
from fhir_mapping.tables import _load, gene_table
from rules.patient import Biomarker, BiomarkerKind, Code, Confidence, ResultValue


@dataclass(frozen=True, slots=True)
class _Marker:
    gene: str
    name: re.Pattern[str]
    method: re.Pattern[str]
    loss: re.Pattern[str]
    retained: re.Pattern[str]


def _pattern(items: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(items), re.IGNORECASE)


@functools.cache
def _markers() -> tuple[_Marker, ...]:
    return tuple(
        _Marker(
            gene=str(row["gene"]),
            name=_pattern(row["name"]),
            method=_pattern(row["method"]),
            loss=_pattern(row["loss"]),
            retained=_pattern(row["retained"]),
        )
        for row in _load("ihc.yaml")["markers"]
    )


def _name_texts(raw: Mapping[str, Any]) -> list[str]:
    code = raw.get("code")
    texts = [
        concept_text(code),
        *(c.display for c in concept_codes(code)),
        concept_text(raw.get("method")),
    ]
    return [t for t in texts if t]


def _value_texts(raw: Mapping[str, Any]) -> list[str]:
    concept = raw.get("valueCodeableConcept")
    texts = [
        as_str(raw.get("valueString")),
        concept_text(concept),
        *(c.display for c in concept_codes(concept)),
        *(concept_text(i) for i in as_list(raw.get("interpretation"))),
    ]
    return [t for t in texts if t]


#: Clauses about the stain's internal control (normal cells keep SDHB), not about the tumour.
_CONTROL = re.compile(r"\b(control|endothelial|non-?neoplastic|normal)\b", re.IGNORECASE)


def _result(marker: _Marker, texts: Iterable[str]) -> ResultValue | None:
    clauses = [c for t in texts for c in re.split(r"[.;,\n]+", t)]
    joined = " | ".join(c for c in clauses if not _CONTROL.search(c))
    lost, kept = bool(marker.loss.search(joined)), bool(marker.retained.search(joined))
    if lost == kept:
        return None
    return ResultValue.ABSENT if lost else ResultValue.PRESENT


def marker_of(raw: Mapping[str, Any]) -> str | None:
    """The gene whose immunostain this Observation reports (by its name texts), if any."""
    names = " | ".join(_name_texts(raw))
    for marker in _markers():
        if marker.name.search(names) and marker.method.search(names):
            return marker.gene
    return None


def map_ihc(raw: Mapping[str, Any]) -> tuple[list[Biomarker], list[MappingIssue]]:
    """An immunostain Observation -> a protein-expression finding (absent = loss), text-derived."""
    ref = reference_of(raw)
    gene = marker_of(raw)
    if gene is None or as_str(raw.get("status")) in ("entered-in-error", "cancelled"):
        return [], []
    marker = next(m for m in _markers() if m.gene == gene)
    result = _result(marker, _value_texts(raw))
    if result is None:
        return [], [
            MappingIssue(
                "unmapped-value",
                ref,
                f"{gene} immunohistochemistry without a readable loss/retained value; not read",
            )
        ]
    code = next(concept_codes(raw.get("code")), None)
    name = concept_text(raw.get("code")) or (code.display if code else None) or f"{gene} IHC"
    state = "loss of expression" if result is ResultValue.ABSENT else "expression retained"
    return [
        Biomarker(
            gene=gene_table().gene(gene),
            kind=BiomarkerKind.PROTEIN_EXPRESSION,
            result=result,
            source_ref=ref,
            code=Code(code.system, code.code, code.display) if code else Code("text", name),
            date=effective_date(raw),
            confidence=Confidence.TEXT_DERIVED,
            evidence_text=f"{gene} immunohistochemistry: {state} (read from text)",
        )
    ], [
        MappingIssue(
            "text-derived-finding",
            ref,
            f"{gene} immunohistochemistry read from text (no verified code for this stain)",
        )
    ]


def table_rows() -> list[Mapping[str, Any]]:
    """The rows of ``data/ihc.yaml`` (for the KB document)."""
    return [dict(row) for row in _load("ihc.yaml")["markers"]]
