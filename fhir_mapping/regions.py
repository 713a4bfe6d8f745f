"""Region lists: which KIT/PDGFRA exons a negative result covers, read from a panel's region list.

Three shapes are read (codes verified in the Genomics Reporting IG STU2 source, HL7/genomics-
reporting @ 155bf19 ``input/fsh/CGFindings.fsh`` profile ``RegionStudied``, and in mCODE STU4
``GenomicRegionStudied``, HL7/fhir-mCODE-ig @ 543477b ``EX_ExtendedExample.fsh``):

* a RegionStudied Observation (code LOINC 53041-0 "DNA region of interest panel") with
  gene-studied (48018-6; one component may carry several genes), region-description (81293-3,
  text such as "KIT exons 9, 11, 13, 17"), ranges-examined (51959-5, genomic Ranges, read with
  the genomic reference sequence 48013-7 and the exon table) and region-coverage
  (tbd-codes-cs#region-coverage, not needed here);
* a DiagnosticReport whose ``result`` references such an Observation, or whose ``conclusion``,
  ``conclusionCode`` text or string extensions name the regions;
* the same components on the negative Observation itself (read in
  :mod:`fhir_mapping.genomic_parts`).

A region list alone is not a result. Its regions become negative findings only for a negative
result it belongs to: an Absent result in the same report (or linked by ``hasMember`` /
``derivedFrom``), a report conclusion that states no variant was found, or a RegionStudied
Observation that itself carries an Absent value (non-conformant, read liberally).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fhir_mapping import text_findings
from fhir_mapping.codes import (
    LA_ABSENT,
    LNC_DNA_REGION,
    LNC_GENE_STUDIED,
    LNC_GENOMIC_REF_SEQ,
    LNC_RANGES_EXAMINED,
    LNC_REGION_DESCRIPTION,
    LNC_REGION_STUDIED,
    LOINC,
    SCT_NOT_DETECTED,
    SNOMED,
    as_dict,
    as_list,
    as_str,
    code_pairs,
    concept_codes,
    concept_text,
    has_code,
    reference_of,
)
from fhir_mapping.dates import effective_date
from fhir_mapping.exons import exon_table
from fhir_mapping.genes import gene_from_concept
from fhir_mapping.issues import MappingIssue
from fhir_mapping.negatives import regions_by_gene
from fhir_mapping.tables import gene_table
from rules.patient import Biomarker, BiomarkerKind, Code, Gene, PartialDate, ResultValue

#: Region texts that mean the whole coding sequence of the gene(s) named.
_WHOLE_GENE = re.compile(
    r"\b(all (coding )?exons|entire coding|complete coding|full[- ]length coding|"
    r"protein[- ]coding (and exon[- ]splicing )?regions?|whole gene|full gene)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class RegionList:
    """Exons stated as studied, per gene, by one resource."""

    source_ref: str
    exons: Mapping[str, tuple[int, ...]]
    genes: Mapping[str, Gene]
    code: Code
    date: PartialDate | None = None
    #: Observations this list applies to (report results, hasMember, derivedFrom).
    members: frozenset[str] = frozenset()
    #: The resource itself states that nothing was found in these regions.
    negative: bool = False


@dataclass
class Regions:
    """Region lists and reports gathered during mapping, applied once at the end."""

    lists: list[RegionList] = field(default_factory=list)
    reports: list[RegionList] = field(default_factory=list)


def normalise_ref(reference: str) -> str:
    parts = reference.strip().rstrip("/").split("/")
    if len(parts) >= 2:
        return "/".join(parts[-2:])
    return f"Observation/{reference.strip()}"


def _refs(values: Iterable[Any]) -> frozenset[str]:
    out = set()
    for value in values:
        ref = as_str(as_dict(value).get("reference"))
        if ref and not ref.startswith("#"):
            out.add(normalise_ref(ref))
    return frozenset(out)


def is_region_studied(raw: Mapping[str, Any]) -> bool:
    return has_code(raw.get("code"), LOINC, LNC_REGION_STUDIED)


def _genes_of(concept: Any) -> list[Gene]:
    """Every gene named by a CodeableConcept (mCODE puts several codings in one component)."""
    genes: list[Gene] = []
    codings = as_list(as_dict(concept).get("coding"))
    for coding in codings or [None]:
        single = {"coding": [coding]} if coding is not None else concept
        gene, _ = gene_from_concept(single)
        if gene is not None and gene not in genes:
            genes.append(gene)
    return genes


def _all_coding_exons(gene: str) -> tuple[int, ...]:
    table = exon_table().get(gene)
    if table is None:
        return ()
    return tuple(e.number for e in table.exons if table.codons(e) is not None)


def exons_in_range(gene: str, accession: str | None, low: int, high: int) -> tuple[int, ...]:
    """Exons whose coding part lies wholly inside a genomic range on the named chromosome."""
    table = exon_table().get(gene)
    if table is None or accession is None:
        return ()
    builds = [b for b, nc in table.chromosome.items() if nc.upper() == accession.upper()]
    if not builds:
        return ()
    build = builds[0]
    cds_end = table.protein_length * 3 + 3
    found = []
    for exon in table.exons:
        if table.codons(exon) is None:
            continue
        start, end = exon.genomic[build]
        coding_start = start + (-exon.c_first if exon.c_first < 0 else 0)  # no c.0
        coding_end = end - max(0, exon.c_last - cds_end)
        if low <= coding_start and coding_end <= high:
            found.append(exon.number)
    return tuple(found)


def _ranges(components: Sequence[Mapping[str, Any]]) -> list[tuple[int, int]]:
    out = []
    for comp in components:
        value = as_dict(comp.get("valueRange"))
        low = as_dict(value.get("low")).get("value")
        high = as_dict(value.get("high")).get("value")
        if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low <= high:
            out.append((int(low), int(high)))
    return out


def _text_values(comp: Mapping[str, Any]) -> list[str]:
    values = [as_str(comp.get("valueString")), concept_text(comp.get("valueCodeableConcept"))]
    values.extend(c.display for c in concept_codes(comp.get("valueCodeableConcept")) if c.display)
    return [v for v in values if v]


def _exons_from_texts(texts: list[str], genes: list[Gene]) -> dict[str, list[int]]:
    found = regions_by_gene(texts, genes)
    if any(_WHOLE_GENE.search(t) for t in texts):
        for gene in genes:
            if gene.symbol not in found:
                whole = _all_coding_exons(gene.symbol)
                if whole:
                    found[gene.symbol] = list(whole)
    return found


def map_region_studied(raw: Mapping[str, Any]) -> tuple[RegionList | None, list[MappingIssue]]:
    """A RegionStudied Observation (53041-0) -> its region list (``None`` if it states none)."""
    ref = reference_of(raw)
    issues: list[MappingIssue] = []
    if as_str(raw.get("status")) in ("entered-in-error", "cancelled"):
        return None, issues
    genes: list[Gene] = []
    texts: list[str] = []
    range_comps: list[Mapping[str, Any]] = []
    accession: str | None = None
    for component in as_list(raw.get("component")):
        comp = as_dict(component)
        codes = {code for system, code in code_pairs(comp.get("code")) if system == LOINC}
        if LNC_GENE_STUDIED in codes:
            genes.extend(g for g in _genes_of(comp.get("valueCodeableConcept")) if g not in genes)
        elif codes & {LNC_REGION_DESCRIPTION, LNC_DNA_REGION}:
            texts.extend(_text_values(comp))
        elif LNC_RANGES_EXAMINED in codes:
            range_comps.append(comp)
        elif LNC_GENOMIC_REF_SEQ in codes:
            values = [c.code for c in concept_codes(comp.get("valueCodeableConcept"))]
            accession = next((v for v in values if v.upper().startswith("NC_")), accession)
    found = _exons_from_texts(texts, genes)
    ranges = _ranges(range_comps)
    if ranges and accession is None:
        issues.append(
            MappingIssue(
                "region-ranges-unread",
                ref,
                "ranges examined without a genomic reference sequence (48013-7); not read",
            )
        )
    for gene in genes:
        for low, high in ranges:
            for exon in exons_in_range(gene.symbol, accession, low, high):
                bucket = found.setdefault(gene.symbol, [])
                if exon not in bucket:
                    bucket.append(exon)
    if not found:
        return None, issues
    result, _ = _result(raw)
    return (
        RegionList(
            source_ref=ref,
            exons={g: tuple(sorted(e)) for g, e in found.items()},
            genes={g.symbol: g for g in genes},
            code=Code(LOINC, LNC_REGION_STUDIED, "DNA region of interest panel"),
            date=effective_date(raw),
            members=_refs([*as_list(raw.get("hasMember")), *as_list(raw.get("derivedFrom"))]),
            negative=result is ResultValue.ABSENT,
        ),
        issues,
    )


def _result(raw: Mapping[str, Any]) -> tuple[ResultValue | None, bool]:
    concept = raw.get("valueCodeableConcept")
    if has_code(concept, LOINC, LA_ABSENT) or has_code(concept, SNOMED, SCT_NOT_DETECTED):
        return ResultValue.ABSENT, False
    text = concept_text(concept) or as_str(raw.get("valueString"))
    return (text_findings.result_from_text(text), True) if text else (None, False)


def _report_texts(raw: Mapping[str, Any]) -> list[str]:
    texts = [as_str(raw.get("conclusion"))]
    for concept in as_list(raw.get("conclusionCode")):
        texts.append(concept_text(concept))
        texts.extend(c.display for c in concept_codes(concept) if c.display)
    for extension in as_list(raw.get("extension")):
        ext = as_dict(extension)
        texts.append(as_str(ext.get("valueString")))
        texts.append(concept_text(ext.get("valueCodeableConcept")))
    return [t for t in texts if t]


def _report_negative(raw: Mapping[str, Any], texts: list[str]) -> bool:
    """The report states that nothing was found (coded, or in every conclusion text)."""
    for concept in as_list(raw.get("conclusionCode")):
        if has_code(concept, SNOMED, SCT_NOT_DETECTED) or has_code(concept, LOINC, LA_ABSENT):
            return True
    clauses = [c for t in texts for c in re.split(r"[.;\n]+", t) if c.strip()]
    stated = [text_findings.result_from_text(c) for c in clauses]
    return ResultValue.ABSENT in stated and ResultValue.PRESENT not in stated


def map_report(raw: Mapping[str, Any]) -> RegionList | None:
    """A DiagnosticReport -> its results, and the regions its own text names (may be none)."""
    if as_str(raw.get("status")) in ("entered-in-error", "cancelled"):
        return None
    members = _refs(as_list(raw.get("result")))
    texts = _report_texts(raw)
    table = gene_table()
    genes = [table.by_symbol[g] for g in exon_table() if g in table.by_symbol]
    mentioned = [g for g in genes if any(re.search(rf"\b{g.symbol}\b", t) for t in texts)]
    found = _exons_from_texts(texts, mentioned) if mentioned else {}
    code = next(concept_codes(raw.get("code")), None) or Code("text", "report")
    return RegionList(
        source_ref=reference_of(raw),
        exons={g: tuple(sorted(e)) for g, e in found.items()},
        genes={g.symbol: g for g in mentioned},
        code=Code(code.system, code.code, code.display),
        date=effective_date(raw),
        members=members,
        negative=_report_negative(raw, texts),
    )


def _merge(lists: Iterable[RegionList]) -> dict[str, tuple[set[int], list[str], Gene | None]]:
    merged: dict[str, tuple[set[int], list[str], Gene | None]] = {}
    for item in lists:
        for gene, exons in item.exons.items():
            bucket, refs, known = merged.setdefault(gene, (set(), [], item.genes.get(gene)))
            bucket.update(exons)
            if item.source_ref not in refs:
                refs.append(item.source_ref)
            if known is None and gene in item.genes:
                merged[gene] = (bucket, refs, item.genes[gene])
    return merged


def apply(biomarkers: Sequence[Biomarker], regions: Regions) -> list[Biomarker]:
    """Negative results with a region list count for exactly those regions.

    A negative KIT/PDGFRA variant result that states no region of its own (exon ``None``, not a
    hotspot test) and belongs to a region list becomes one negative finding per exon listed. A
    region list that itself states the negative (a report conclusion, an Absent RegionStudied)
    adds negative findings for its regions, under its own reference.
    """
    if not regions.lists and not regions.reports:
        return list(biomarkers)  # no region list (most records): every result as it is
    by_ref = {item.source_ref: item for item in regions.lists}
    links: dict[str, list[RegionList]] = {}
    for item in regions.lists:
        for member in item.members:
            links.setdefault(member, []).append(item)
    standing: list[tuple[RegionList, list[RegionList]]] = []
    for report in regions.reports:
        attached = [by_ref[m] for m in sorted(report.members) if m in by_ref]
        if report.exons:
            attached.append(report)
        for member in report.members:
            links.setdefault(member, []).extend(attached)
        if report.negative and attached:
            standing.append((report, attached))
    standing.extend((item, [item]) for item in regions.lists if item.negative)

    out: list[Biomarker] = []
    covered: set[tuple[str, str, int]] = set()  # (list ref, gene, exon) already expanded
    for marker in biomarkers:
        lists = links.get(marker.source_ref)
        if (
            lists
            and marker.result is ResultValue.ABSENT
            and marker.kind is BiomarkerKind.VARIANT
            and marker.exon is None
            and marker.hotspot is None
        ):
            merged = _merge(lists).get(marker.gene.symbol)
            if merged and merged[0]:
                exons, refs, _ = merged
                note = "regions tested per " + ", ".join(refs)
                out.extend(replace(marker, exon=exon, evidence_text=note) for exon in sorted(exons))
                covered.update((r, marker.gene.symbol, e) for r in refs for e in exons)
                continue
        out.append(marker)
    present_value = ResultValue.PRESENT  # once: Enum.MEMBER is a descriptor call
    present = {m.gene.symbol for m in biomarkers if m.result is present_value}
    for owner, lists in standing:
        for gene, (exons, refs, known) in sorted(_merge(lists).items()):
            if gene in present:
                continue  # the report found something in this gene: not a negative for it
            new = sorted(e for e in exons if not any((r, gene, e) in covered for r in refs))
            out.extend(
                Biomarker(
                    gene=known or gene_table().gene(gene),
                    kind=BiomarkerKind.VARIANT,
                    result=ResultValue.ABSENT,
                    source_ref=owner.source_ref,
                    code=owner.code,
                    exon=exon,
                    date=owner.date,
                    evidence_text="no variant found in the regions listed by " + ", ".join(refs),
                )
                for exon in new
            )
    return out
