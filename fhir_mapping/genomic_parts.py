"""Reading the components of a genomic Observation: gene, HGVS, change type, source, region, VAF.

Keys on component LOINC codes only (never slice names or displays); shared by the variant and
single-gene test mappers in :mod:`fhir_mapping.genomics` and by :mod:`fhir_mapping.implications`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from fhir_mapping import text_findings
from fhir_mapping.codes import (
    LA_ABSENT,
    LA_GERMLINE,
    LA_PRESENT,
    LA_SOMATIC,
    LNC_CHANGE_TYPE,
    LNC_DNA_REGION,
    LNC_GENE_STUDIED,
    LNC_GENOMIC_REF_SEQ,
    LNC_GENOMIC_SOURCE,
    LNC_HGVS_C,
    LNC_HGVS_G,
    LNC_HGVS_P,
    LNC_ISCN,
    LNC_RANGES_EXAMINED,
    LNC_REGION_DESCRIPTION,
    LNC_VAF,
    LNC_VARIATION_CODE,
    LOINC,
    MII_BIOMARKER,
    SCT_POSITIVE,
    SNOMED,
    SO,
    TBD,
    as_dict,
    as_list,
    as_str,
    code_pairs,
    concept_codes,
    concept_text,
    has_code,
    normalise_so,
)
from fhir_mapping.genes import gene_from_concept
from fhir_mapping.issues import MappingIssue
from rules.patient import Gene, GenomicSource, ResultValue

#: Component codes (TBD system) that carry a molecular consequence as SO codes.
CONSEQUENCE_COMPONENTS = frozenset({"functional-effect", "feature-consequence"})
#: Enum members as module constants (``Enum.MEMBER`` is a descriptor call each time).
_PRESENT, _ABSENT, _INDETERMINATE = (
    ResultValue.PRESENT,
    ResultValue.ABSENT,
    ResultValue.INDETERMINATE,
)
_SOMATIC, _GERMLINE = GenomicSource.SOMATIC, GenomicSource.GERMLINE
_UNKNOWN_SOURCE = GenomicSource.UNKNOWN
#: The code systems a component is keyed in (:func:`component_key`).
_KEY_SYSTEMS = frozenset({LOINC, TBD, MII_BIOMARKER})

# What :func:`collect_parts` reads from a component, by the component's key.
_GENE, _HGVS, _SO, _SOURCE, _TEXTS, _EXON_VALUES, _RANGES, _REF_SEQ, _VAF = range(9)
_ROLE: dict[tuple[str, str], int] = {
    (LOINC, LNC_GENE_STUDIED): _GENE,
    (MII_BIOMARKER, "five-prime-gene"): _GENE,
    (MII_BIOMARKER, "three-prime-gene"): _GENE,
    (LOINC, LNC_HGVS_C): _HGVS,
    (LOINC, LNC_HGVS_P): _HGVS,
    (LOINC, LNC_HGVS_G): _HGVS,
    (LOINC, LNC_CHANGE_TYPE): _SO,
    (TBD, "molecular-consequence"): _SO,
    **{(TBD, code): _SO for code in CONSEQUENCE_COMPONENTS},
    (LOINC, LNC_GENOMIC_SOURCE): _SOURCE,
    (LOINC, LNC_VARIATION_CODE): _TEXTS,
    (LOINC, LNC_ISCN): _TEXTS,
    (LOINC, LNC_DNA_REGION): _EXON_VALUES,
    (LOINC, LNC_REGION_DESCRIPTION): _EXON_VALUES,
    (LOINC, LNC_RANGES_EXAMINED): _RANGES,
    (LOINC, LNC_GENOMIC_REF_SEQ): _REF_SEQ,
    (LOINC, LNC_VAF): _VAF,
}


#: Compiled once (``re.search`` with a pattern string probes re's cache on every call; with a
#: flag it also pays an enum operation).
_HGVS_PREFIX = re.compile(r"(?:^|:)[cpgnmr]\.")
_EXON_WORD = re.compile(r"\bexon\s*(\d{1,2})\b", re.IGNORECASE)
_EXON_NUMBER = re.compile(r"\s*\d{1,2}\s*")


def component_key(component: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first (system, code) of a component's code in a system the genomic mappers key on."""
    for system, code in code_pairs(component.get("code")):
        if system in _KEY_SYSTEMS:
            return system, code
    return None


def _value_strings(component: Mapping[str, Any]) -> list[str]:
    """String renderings of a component value: coding codes, displays, text, valueString."""
    out: list[str] = []
    concept = component.get("valueCodeableConcept")
    for code in concept_codes(concept):
        out.append(code.code)
        if code.display:
            out.append(code.display)
    for coding in as_list(as_dict(concept).get("coding")):
        # HGVS codings sometimes come without a system.
        value = as_str(as_dict(coding).get("code"))
        if value and value not in out:
            out.append(value)
    text = concept_text(concept)
    if text:
        out.append(text)
    value_string = as_str(component.get("valueString"))
    if value_string:
        out.append(value_string)
    return out


def _hgvs(component: Mapping[str, Any]) -> str | None:
    for value in _value_strings(component):
        if _HGVS_PREFIX.search(value):
            return value.strip()
    return None


def _loinc_answer(concept: Any, first: str, second: str) -> str | None:
    """``first`` if the concept has that LOINC answer code, else ``second`` if it has that one,
    else ``None``: ``has_code`` for each in turn, in one walk over the codings."""
    found = None
    for system, code in code_pairs(concept):
        if system == LOINC:
            if code == first:
                return first
            if code == second:
                found = second
    return found


def read_result(
    resource: Mapping[str, Any],
) -> tuple[ResultValue | None, bool]:
    """(result, from_text). ``None`` means the value is missing."""
    concept = resource.get("valueCodeableConcept")
    answer = _loinc_answer(concept, LA_PRESENT, LA_ABSENT)
    if answer is not None:
        return (_PRESENT if answer == LA_PRESENT else _ABSENT), False
    if concept is None and as_str(resource.get("valueString")) is None:
        for interpretation in as_list(resource.get("interpretation")):
            if has_code(interpretation, SNOMED, SCT_POSITIVE):
                return _PRESENT, False
        return None, False
    text = concept_text(concept) or as_str(resource.get("valueString"))
    if text:
        from_text = text_findings.result_from_text(text)
        if from_text is not None:
            return from_text, True
    return _INDETERMINATE, False


def exon_from_text(values: Iterable[str]) -> int | None:
    exons = set()
    for value in values:
        for match in _EXON_WORD.finditer(value):
            exons.add(int(match.group(1)))
        if _EXON_NUMBER.fullmatch(value):
            exons.add(int(value))
    return exons.pop() if len(exons) == 1 else None


@dataclass(slots=True, init=False)
class VariantParts:
    """What :func:`collect_parts` read from the components (one per genomic Observation)."""

    genes: list[Gene]
    five_prime: Gene | None
    three_prime: Gene | None
    hgvs_c: str | None
    hgvs_p: str | None
    hgvs_g: str | None
    so_codes: set[str]
    source: GenomicSource
    texts: list[str]
    exon_values: list[str]
    vaf: Decimal | None
    #: ranges examined (51959-5) and the genomic reference sequence (48013-7) they are on
    ranges: list[tuple[int, int]]
    accession: str | None

    def __init__(self) -> None:
        # Written out: the dataclass __init__ with default factories costs twice as much, once
        # per genomic Observation.
        self.genes = []
        self.five_prime = self.three_prime = None
        self.hgvs_c = self.hgvs_p = self.hgvs_g = None
        self.so_codes = set()
        self.source = _UNKNOWN_SOURCE
        self.texts = []
        self.exon_values = []
        self.vaf = None
        self.ranges = []
        self.accession = None


def collect_parts(
    resource: Mapping[str, Any], ref: str, issues: list[MappingIssue]
) -> VariantParts:
    parts = VariantParts()
    components = resource.get("component")
    if not isinstance(components, list):
        return parts
    for component in components:
        comp = component if type(component) is dict else as_dict(component)
        key = component_key(comp)
        if key is None:
            continue
        role = _ROLE.get(key)
        if role is None:
            continue
        code = key[1]
        concept = comp.get("valueCodeableConcept")
        if role == _GENE:
            gene, problem = gene_from_concept(concept)
            if problem:
                issues.append(MappingIssue("gene-display-mismatch", ref, problem))
            if gene is None:
                continue
            if gene not in parts.genes:
                parts.genes.append(gene)
            if code == "five-prime-gene":
                parts.five_prime = gene
            elif code == "three-prime-gene":
                parts.three_prime = gene
        elif role == _HGVS:
            value = _hgvs(comp)
            if value is None:
                continue
            if code == LNC_HGVS_C:
                parts.hgvs_c = parts.hgvs_c or value
            elif code == LNC_HGVS_P:
                parts.hgvs_p = parts.hgvs_p or value
            elif ":c." in value or value.startswith("c."):
                issues.append(
                    MappingIssue(
                        "hgvs-slot-mismatch",
                        ref,
                        "a coding (c.) HGVS was sent in the genomic (g.) HGVS component "
                        "(81290-9); read as c. HGVS",
                    )
                )
                parts.hgvs_c = parts.hgvs_c or value
            else:
                parts.hgvs_g = parts.hgvs_g or value
        elif role == _SO:
            for value_system, value in code_pairs(concept):
                if value_system == SO:
                    parts.so_codes.add(normalise_so(value))
        elif role == _SOURCE:
            answer = _loinc_answer(concept, LA_SOMATIC, LA_GERMLINE)
            if answer is not None:
                parts.source = _SOMATIC if answer == LA_SOMATIC else _GERMLINE
        elif role == _TEXTS:
            parts.texts.extend(_value_strings(comp))
        elif role == _EXON_VALUES:
            parts.exon_values.extend(_value_strings(comp))
        elif role == _RANGES:
            span = as_dict(comp.get("valueRange"))
            low = as_dict(span.get("low")).get("value")
            high = as_dict(span.get("high")).get("value")
            if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low <= high:
                parts.ranges.append((int(low), int(high)))
        elif role == _REF_SEQ:
            for _value_system, value in code_pairs(concept):
                if value.upper().startswith("NC_"):
                    parts.accession = value
        else:  # _VAF
            raw_value = as_dict(comp.get("valueQuantity")).get("value")
            if isinstance(raw_value, (int, float, str, Decimal)) and not isinstance(
                raw_value, bool
            ):
                try:
                    parts.vaf = Decimal(str(raw_value))
                except InvalidOperation:
                    parts.vaf = None
    return parts
