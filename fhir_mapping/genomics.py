"""Genomic Observations -> Biomarker: variant assessments and single-gene LOINC tests.

Keys on component LOINC codes only (never slice names or displays); accepts GRIG STU2 and STU3,
mCODE STU4, the MII 5'/3' fusion components, and the single-gene LOINC tests. Component reading
lives in :mod:`fhir_mapping.genomic_parts`; therapeutic implications and molecular consequences
in :mod:`fhir_mapping.implications`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from fhir_mapping.codes import (
    LNC_REGION_STUDIED,
    LNC_VARIANT,
    LOINC,
    SO_FUSION_CODES,
    TBD,
    as_str,
    code_pairs,
    concept_codes,
    only_coding,
    reference_of,
)
from fhir_mapping.dates import effective_date, parse_date
from fhir_mapping.exons import locate
from fhir_mapping.genomic_parts import collect_parts, exon_from_text, read_result
from fhir_mapping.implications import CONSEQUENCE_CODE, IMPLICATION_CODES
from fhir_mapping.issues import MappingIssue
from fhir_mapping.negatives import regions_by_gene
from fhir_mapping.regions import exons_in_range
from fhir_mapping.specimens import of_observation
from fhir_mapping.tables import GenomicTest, gene_table, genomic_tests
from rules.frozen import expect_fields
from rules.patient import (
    Biomarker,
    BiomarkerKind,
    Code,
    Confidence,
    Gene,
    PartialDate,
    ResultValue,
)

KIND_VARIANT = "variant"
KIND_SINGLE_TEST = "single-test"
KIND_IMPLICATION = "implication"
KIND_CONSEQUENCE = "consequence"
KIND_REGION = "region-studied"


#: The code of every variant finding (immutable: one instance serves every call).
_VARIANT_CODE = Code(LOINC, LNC_VARIANT, "Genetic variant assessment")
#: Statuses of a result that was withdrawn: nothing is read from it.
_WITHDRAWN = ("entered-in-error", "cancelled")

#: The findings below are built with positional arguments: keyword arguments cost more than
#: twice as much per Biomarker (21 fields, several findings per genomic Observation). The
#: order they are written in is this one; a model whose fields differ stops the import.
_FIELDS = (
    "gene",
    "kind",
    "result",
    "source_ref",
    "code",
    "partners",
    "any_of",
    "five_prime",
    "three_prime",
    "exon",
    "hgvs_c",
    "hgvs_p",
    "hgvs_g",
    "hotspot",
    "genomic_source",
    "date",
    "confidence",
    "allele_frequency",
    "evidence_text",
    "specimen",
    "specimen_ref",
)
expect_fields(Biomarker, _FIELDS, "fhir_mapping.genomics (_FIELDS and its calls)")


#: Enum members as module constants: ``Enum.MEMBER`` is a descriptor call each time (~0.14 us
#: in Python 3.11), several per variant.
_INDETERMINATE, _ABSENT = ResultValue.INDETERMINATE, ResultValue.ABSENT
_TEXT_DERIVED, _CODED = Confidence.TEXT_DERIVED, Confidence.CODED
_VARIANT, _FUSION = BiomarkerKind.VARIANT, BiomarkerKind.FUSION
_REARRANGEMENT, _AMPLIFICATION = BiomarkerKind.REARRANGEMENT, BiomarkerKind.AMPLIFICATION


#: The system of classify's common code, spelt exactly (for :func:`only_coding`).
_LOINC = frozenset({LOINC})


@functools.cache
def _loinc_kinds() -> Mapping[str, str]:
    """:func:`classify`'s answer for each LOINC code it names (the variant and region codes
    written last: they win over a single-gene test of the same code, as in its loop)."""
    kinds = dict.fromkeys(genomic_tests().by_loinc, KIND_SINGLE_TEST)
    kinds[LNC_REGION_STUDIED] = KIND_REGION
    kinds[LNC_VARIANT] = KIND_VARIANT
    return kinds


def classify(raw: Mapping[str, Any]) -> str | None:
    """Which genomic shape a raw Observation is, from its code only (cheap pre-filter).

    The common code (one coding, the LOINC system spelt exactly) is answered with one lookup
    of its stripped code: what the loop of :func:`_classify` answers for it
    (``tests/fhir_mapping/test_code_pairs.py`` holds the two to the same answer)."""
    code = only_coding(raw.get("code"), _LOINC)
    if code is not None:
        return _loinc_kinds().get(code.strip())
    return _classify(raw)


def _classify(raw: Mapping[str, Any]) -> str | None:
    tests = genomic_tests().by_loinc
    for system, code in code_pairs(raw.get("code")):
        if system == LOINC:
            if code == LNC_VARIANT:
                return KIND_VARIANT
            if code == LNC_REGION_STUDIED:
                return KIND_REGION
            if code in tests:
                return KIND_SINGLE_TEST
        elif system == TBD:
            if code in IMPLICATION_CODES:
                return KIND_IMPLICATION
            if code == CONSEQUENCE_CODE:
                return KIND_CONSEQUENCE
    return None


def _text_mentions(texts: Iterable[str], genes: Iterable[Gene], words: str) -> bool:
    symbols: list[str] | None = None  # read when a text has the words (most variants: no text)
    for text in texts:
        upper = text.upper()
        if re.search(words, upper):
            if symbols is None:
                symbols = [g.symbol.upper() for g in genes]
            if any(re.search(rf"(?<![A-Z0-9]){re.escape(s)}(?![A-Z0-9])", upper) for s in symbols):
                return True
    return False


def _regions_or_unknown(regions: Mapping[str, list[int]], gene: Gene) -> list[int | None]:
    """The exons stated as tested for a gene, or a single unknown region."""
    stated: list[int | None] = list(regions.get(gene.symbol, []))
    return stated or [None]


def _date(resource: Mapping[str, Any], memo: dict[str, PartialDate]) -> PartialDate | None:
    """``effective_date(resource)``, with the date of an ``effectiveDateTime`` string memoised."""
    value = resource.get("effectiveDateTime")
    if type(value) is not str:
        return effective_date(resource)
    found = memo.get(value)
    if found is None:
        found = parse_date(value)
        if found is None:  # not a date: effective_date reads the other elements
            return effective_date(resource)
        memo[value] = found
    return found


def map_variant(
    resource: Mapping[str, Any],
    consequence_codes: Mapping[str, set[str]],
    ref: str | None = None,
    dates: dict[str, PartialDate] | None = None,
) -> tuple[list[Biomarker], list[MappingIssue]]:
    """``ref``: ``reference_of(resource)`` when the caller has it; ``dates``: a per-call memo of
    the dates read from ``effectiveDateTime`` strings (the same few days recur in a record)."""
    if ref is None:
        ref = reference_of(resource)
    issues: list[MappingIssue] = []
    status = resource.get("status")
    if isinstance(status, str) and status in _WITHDRAWN:
        return [], []
    parts = collect_parts(resource, ref, issues)
    consequences = consequence_codes.get(ref)
    if consequences:
        parts.so_codes |= consequences
    obs_code = _VARIANT_CODE
    if not parts.genes:
        issues.append(
            MappingIssue("unresolved-gene", ref, "variant without a resolvable gene; skipped")
        )
        return [], issues
    result, from_text = read_result(resource)
    if result is None:
        issues.append(
            MappingIssue("missing-value", ref, "variant without a result value; indeterminate")
        )
        result = _INDETERMINATE
    confidence = _TEXT_DERIVED if from_text else _CODED
    date = _date(resource, dates) if dates is not None else effective_date(resource)
    specimen, specimen_ref = of_observation(resource)

    fusion_by_so = bool(parts.so_codes) and not parts.so_codes.isdisjoint(SO_FUSION_CODES)
    texts = parts.texts
    fusion_by_text = bool(texts) and _text_mentions(texts, parts.genes, r"FUSION|::")
    rearranged_by_text = bool(texts) and _text_mentions(texts, parts.genes, r"REARRANG")
    amplified_by_text = bool(texts) and _text_mentions(texts, parts.genes, r"AMPLIF")
    roles = parts.five_prime is not None or parts.three_prime is not None
    multi_gene = len(parts.genes) >= 2

    regions = regions_by_gene(parts.exon_values, parts.genes) if parts.exon_values else {}
    if parts.ranges:
        for gene in parts.genes:
            for low, high in parts.ranges:
                for number in exons_in_range(gene.symbol, parts.accession, low, high):
                    bucket = regions.setdefault(gene.symbol, [])
                    if number not in bucket:
                        bucket.append(number)
    if (
        result is _ABSENT
        and (
            multi_gene
            or (regions and sum(map(len, regions.values())) > 1)
            or (parts.ranges and regions)
        )
        and not (fusion_by_so or fusion_by_text or roles)
    ):
        # Pertinent negative: one absent finding per gene and per exon stated as tested.
        return [
            # Positional, in the order of _FIELDS (see there).
            Biomarker(
                gene,
                _VARIANT,
                result,
                ref,
                obs_code,
                (),
                (),
                None,
                None,
                exon,
                None,
                None,
                None,
                None,
                parts.source,
                date,
                confidence,
                None,
                None,
                specimen,
                specimen_ref,
            )
            for gene in parts.genes
            for exon in _regions_or_unknown(regions, gene)
        ], issues

    if fusion_by_so or fusion_by_text or roles or multi_gene:
        kind = _FUSION
    elif rearranged_by_text:
        kind = _REARRANGEMENT
    elif amplified_by_text:
        kind = _AMPLIFICATION
    else:
        kind = _VARIANT

    main = parts.three_prime if parts.three_prime is not None else parts.genes[0]
    if multi_gene or parts.genes[0] is not main:
        partners = tuple(g for g in parts.genes if g != main)
    else:
        partners = ()  # the only gene is the main one
    hotspot = None
    exon = None
    if kind is _VARIANT:
        reported = (exon_from_text(parts.exon_values) if parts.exon_values else None) or (
            exon_from_text(texts) if texts else None
        )
        if parts.hgvs_c is None and parts.hgvs_p is None and parts.hgvs_g is None:
            # No HGVS: locate() would find no exon, hotspot or problem of its own.
            exon = reported
        else:
            located = locate(main.symbol, parts.hgvs_c, parts.hgvs_p, reported, parts.hgvs_g)
            issues.extend(MappingIssue(k, ref, text) for k, text in located.problems)
            exon, hotspot = located.exon, located.hotspot
            if exon is None and hotspot is not None and not located.problems:
                exon = genomic_tests().hotspot_exons.get((main.symbol, hotspot))
    return [
        # Positional, in the order of _FIELDS (see there).
        Biomarker(
            main,
            kind,
            result,
            ref,
            obs_code,
            partners,
            (),
            parts.five_prime,
            parts.three_prime,
            exon,
            parts.hgvs_c,
            parts.hgvs_p,
            parts.hgvs_g,
            hotspot,
            parts.source,
            date,
            confidence,
            parts.vaf,
            None,
            specimen,
            specimen_ref,
        )
    ], issues


def map_single_test(resource: Mapping[str, Any]) -> tuple[list[Biomarker], list[MappingIssue]]:
    ref = reference_of(resource)
    if as_str(resource.get("status")) in ("entered-in-error", "cancelled"):
        return [], []
    tests = genomic_tests().by_loinc
    test: GenomicTest | None = None
    code: Code | None = None
    for candidate in concept_codes(resource.get("code")):
        if candidate.system == LOINC and candidate.code in tests:
            test, code = tests[candidate.code], candidate
            break
    if test is None or code is None:
        return [], []
    issues: list[MappingIssue] = []
    result, from_text = read_result(resource)
    if result is None:
        issues.append(MappingIssue("missing-value", ref, "test without a result; indeterminate"))
        result = _INDETERMINATE
    parts = collect_parts(resource, ref, issues)
    specimen, specimen_ref = of_observation(resource)
    if from_text:
        issues.append(
            MappingIssue(
                "text-derived-finding",
                ref,
                f"{test.gene.symbol} result read from free text only (low confidence)",
            )
        )
    return [
        # Positional, in the order of _FIELDS (see there).
        Biomarker(
            test.gene,
            test.kind,
            result,
            ref,
            code,  # a Code of its own (concept_codes builds one per coding)
            test.partners,
            test.any_of,
            None,
            None,
            test.exon,
            test.hgvs_c,
            test.hgvs_p,
            None,
            test.hotspot,
            parts.source,
            effective_date(resource),
            _TEXT_DERIVED if from_text else _CODED,
            None,
            None,
            specimen,
            specimen_ref,
        )
    ], issues


def known_symbols() -> frozenset[str]:
    return gene_table().text_symbols
