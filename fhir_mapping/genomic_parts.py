"""Reading the components of a genomic Observation: gene, HGVS, change type, source, region, VAF.

Keys on component LOINC codes only (never slice names or displays); shared by the variant and
single-gene test mappers in :mod:`fhir_mapping.genomics` and by :mod:`fhir_mapping.implications`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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


def component_key(component: Mapping[str, Any]) -> tuple[str, str] | None:
    for system, code in code_pairs(component.get("code")):
        if system in (LOINC, TBD, MII_BIOMARKER):
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
        if re.search(r"(?:^|:)[cpgnmr]\.", value):
            return value.strip()
    return None


def read_result(
    resource: Mapping[str, Any],
) -> tuple[ResultValue | None, bool]:
    """(result, from_text). ``None`` means the value is missing."""
    concept = resource.get("valueCodeableConcept")
    if has_code(concept, LOINC, LA_PRESENT):
        return ResultValue.PRESENT, False
    if has_code(concept, LOINC, LA_ABSENT):
        return ResultValue.ABSENT, False
    if concept is None and as_str(resource.get("valueString")) is None:
        for interpretation in as_list(resource.get("interpretation")):
            if has_code(interpretation, SNOMED, SCT_POSITIVE):
                return ResultValue.PRESENT, False
        return None, False
    text = concept_text(concept) or as_str(resource.get("valueString"))
    if text:
        from_text = text_findings.result_from_text(text)
        if from_text is not None:
            return from_text, True
    return ResultValue.INDETERMINATE, False


def exon_from_text(values: Iterable[str]) -> int | None:
    exons = set()
    for value in values:
        for match in re.finditer(r"\bexon\s*(\d{1,2})\b", value, flags=re.IGNORECASE):
            exons.add(int(match.group(1)))
        if re.fullmatch(r"\s*\d{1,2}\s*", value):
            exons.add(int(value))
    return exons.pop() if len(exons) == 1 else None


@dataclass
class VariantParts:
    genes: list[Gene] = field(default_factory=list)
    five_prime: Gene | None = None
    three_prime: Gene | None = None
    hgvs_c: str | None = None
    hgvs_p: str | None = None
    hgvs_g: str | None = None
    so_codes: set[str] = field(default_factory=set)
    source: GenomicSource = GenomicSource.UNKNOWN
    texts: list[str] = field(default_factory=list)
    exon_values: list[str] = field(default_factory=list)
    vaf: Decimal | None = None
    #: ranges examined (51959-5) and the genomic reference sequence (48013-7) they are on
    ranges: list[tuple[int, int]] = field(default_factory=list)
    accession: str | None = None


def collect_parts(
    resource: Mapping[str, Any], ref: str, issues: list[MappingIssue]
) -> VariantParts:
    parts = VariantParts()
    for component in as_list(resource.get("component")):
        comp = as_dict(component)
        key = component_key(comp)
        if key is None:
            continue
        system, code = key
        concept = comp.get("valueCodeableConcept")
        if (system, code) in ((LOINC, LNC_GENE_STUDIED),) or (
            system == MII_BIOMARKER and code in ("five-prime-gene", "three-prime-gene")
        ):
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
        elif system == LOINC and code in (LNC_HGVS_C, LNC_HGVS_P, LNC_HGVS_G):
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
        elif (system == LOINC and code == LNC_CHANGE_TYPE) or (
            system == TBD and code in ("molecular-consequence", *CONSEQUENCE_COMPONENTS)
        ):
            for value_system, value in code_pairs(concept):
                if value_system == SO:
                    parts.so_codes.add(normalise_so(value))
        elif system == LOINC and code == LNC_GENOMIC_SOURCE:
            if has_code(concept, LOINC, LA_SOMATIC):
                parts.source = GenomicSource.SOMATIC
            elif has_code(concept, LOINC, LA_GERMLINE):
                parts.source = GenomicSource.GERMLINE
        elif system == LOINC and code in (LNC_VARIATION_CODE, LNC_ISCN):
            parts.texts.extend(_value_strings(comp))
        elif system == LOINC and code in (LNC_DNA_REGION, LNC_REGION_DESCRIPTION):
            parts.exon_values.extend(_value_strings(comp))
        elif system == LOINC and code == LNC_RANGES_EXAMINED:
            span = as_dict(comp.get("valueRange"))
            low = as_dict(span.get("low")).get("value")
            high = as_dict(span.get("high")).get("value")
            if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low <= high:
                parts.ranges.append((int(low), int(high)))
        elif system == LOINC and code == LNC_GENOMIC_REF_SEQ:
            for _value_system, value in code_pairs(concept):
                if value.upper().startswith("NC_"):
                    parts.accession = value
        elif system == LOINC and code == LNC_VAF:
            raw_value = as_dict(comp.get("valueQuantity")).get("value")
            if isinstance(raw_value, (int, float, str, Decimal)) and not isinstance(
                raw_value, bool
            ):
                try:
                    parts.vaf = Decimal(str(raw_value))
                except InvalidOperation:
                    parts.vaf = None
    return parts
