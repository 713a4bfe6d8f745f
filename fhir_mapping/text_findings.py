"""Conservative free-text pass: gene symbol + a qualifier in the same clause.

Yields ``text-derived`` findings only; they are flagged as such and rules do not act on them
alone. Hedged or planned statements ("requested", "possible", "?") yield nothing. The stored
``evidence_text`` is rebuilt from the recognised parts, never copied from the note.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from fhir_mapping.codes import as_dict, as_list, as_str, concept_text
from fhir_mapping.tables import gene_table
from rules.patient import (
    Biomarker,
    BiomarkerKind,
    Code,
    Confidence,
    Gene,
    GenomicSource,
    PartialDate,
    ResultValue,
)

_NEGATIVE = re.compile(
    r"\b(negative|not (?:detected|identified|found|present|mutated|amplified|rearranged)|"
    r"no (?:\w+ )?(?:mutation|variant|fusion|rearrangement|amplification|alteration)s?|"
    r"absent|wild[- ]?type|without)\b",
    re.IGNORECASE,
)
_POSITIVE = re.compile(
    r"\b(positive|detected|present|mutated|mutation|mutant|rearranged|amplified|fusion|"
    r"deletion|insertion|duplication|variant)\b",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"\?|\b(possible|possibly|probable|suspect\w*|equivocal|cannot be excluded|pending|"
    r"requested|ordered|awaiting|to be|will|planned|recommend\w*|consider\w*|if)\b",
    re.IGNORECASE,
)
_GERMLINE = re.compile(r"\bgermline\b", re.IGNORECASE)
_CLAUSE_SPLIT = re.compile(r"[.;\n]+|,\s+(?=[A-Za-z])")
_EXON = re.compile(r"\bexon\s*(\d{1,2})\b", re.IGNORECASE)
_HOTSPOT = re.compile(r"\b([ACDEFGHIKLMNPQRSTVWY])(\d{2,4})([ACDEFGHIKLMNPQRSTVWY])\b")
_QUALIFIER = re.compile(
    r"\bexon\s*\d|\bc\.\d|\bp\.[A-Z]|\b[ACDEFGHIKLMNPQRSTVWY]\d{2,4}[ACDEFGHIKLMNPQRSTVWY]\b|"
    r"fusion|::|rearrang|amplif|mutat|mutant|deletion|insertion|duplication|wild[- ]?type",
    re.IGNORECASE,
)


@cache
def _gene_pattern() -> re.Pattern[str]:
    symbols = sorted(gene_table().text_symbols, key=len, reverse=True)
    return re.compile(
        r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, symbols)) + r")(?![A-Za-z0-9])"
    )


def result_from_text(text: str) -> ResultValue | None:
    """A result stated in a short value text (e.g. "Not detected"); ``None`` if unclear."""
    if _HEDGE.search(text):
        return None
    if _NEGATIVE.search(text):
        return ResultValue.ABSENT
    if _POSITIVE.search(text):
        return ResultValue.PRESENT
    return None


def observation_texts(raw: Mapping[str, Any]) -> list[str]:
    """valueString, value/component ``.text`` and ``note.text`` of an Observation."""
    texts: list[str | None] = [
        as_str(raw.get("valueString")),
        concept_text(raw.get("valueCodeableConcept")),
    ]
    for component in as_list(raw.get("component")):
        comp = as_dict(component)
        texts.append(as_str(comp.get("valueString")))
        texts.append(concept_text(comp.get("valueCodeableConcept")))
    texts.extend(note_texts(raw))
    return [t for t in texts if t]


def note_texts(raw: Mapping[str, Any]) -> list[str]:
    return [t for t in (as_str(as_dict(n).get("text")) for n in as_list(raw.get("note"))) if t]


def mentions_gene(texts: Iterable[str]) -> bool:
    pattern = _gene_pattern()
    return any(pattern.search(t) for t in texts)


def findings(
    texts: Iterable[str],
    source_ref: str,
    code: Code,
    date: PartialDate | None,
    skip_genes: Iterable[str] = (),
) -> list[Biomarker]:
    """Text-derived findings; genes in ``skip_genes`` (already coded) are left out."""
    table = gene_table()
    skip = {s.upper() for s in skip_genes}
    pattern = _gene_pattern()
    out: dict[tuple[str, tuple[str, ...], BiomarkerKind], Biomarker] = {}
    for text in texts:
        for clause in _CLAUSE_SPLIT.split(text):
            symbols = list(dict.fromkeys(m.group(1).upper() for m in pattern.finditer(clause)))
            if not symbols or not _QUALIFIER.search(clause) or _HEDGE.search(clause):
                continue
            result = ResultValue.ABSENT if _NEGATIVE.search(clause) else ResultValue.PRESENT
            source = GenomicSource.GERMLINE if _GERMLINE.search(clause) else GenomicSource.UNKNOWN
            lowered = clause.lower()
            if "fusion" in lowered or "::" in clause:
                kind = BiomarkerKind.FUSION
            elif "rearrang" in lowered:
                kind = BiomarkerKind.REARRANGEMENT
            elif "amplif" in lowered:
                kind = BiomarkerKind.AMPLIFICATION
            else:
                kind = BiomarkerKind.VARIANT
            genes = [table.gene(s) for s in symbols]
            if kind is BiomarkerKind.FUSION and len(genes) >= 2:
                groups = [(genes[-1], tuple(genes[:-1]))]
            else:
                groups = [(g, ()) for g in genes]
            exons = {int(m.group(1)) for m in _EXON.finditer(clause)}
            hotspots = {"".join(m.groups()) for m in _HOTSPOT.finditer(clause)}
            for gene, partners in groups:
                if gene.symbol in skip or any(p.symbol in skip for p in partners):
                    continue
                exon = exons.pop() if len(exons) == 1 and len(groups) == 1 else None
                hotspot = hotspots.pop() if len(hotspots) == 1 and len(groups) == 1 else None
                summary = _summary(gene, partners, kind, exon, hotspot, result)
                key = (gene.symbol, tuple(p.symbol for p in partners), kind)
                out.setdefault(
                    key,
                    Biomarker(
                        gene=gene,
                        kind=kind,
                        result=result,
                        source_ref=source_ref,
                        code=code,
                        partners=partners,
                        exon=exon,
                        hotspot=hotspot,
                        genomic_source=source,
                        date=date,
                        confidence=Confidence.TEXT_DERIVED,
                        evidence_text=summary,
                    ),
                )
    return list(out.values())


def _summary(
    gene: Gene,
    partners: tuple[Gene, ...],
    kind: BiomarkerKind,
    exon: int | None,
    hotspot: str | None,
    result: ResultValue,
) -> str:
    name = "-".join([*(p.symbol for p in partners), gene.symbol])
    words = [name, kind.value]
    if exon is not None:
        words.append(f"exon {exon}")
    if hotspot:
        words.append(hotspot)
    words.append(result.value)
    return " ".join(words)
