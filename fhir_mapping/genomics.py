"""Genomic Observations -> Biomarker / TherapeuticImplication.

Keys on component LOINC codes only (never slice names or displays); accepts GRIG STU2 and STU3,
mCODE STU4, the MII 5'/3' fusion components, and the single-gene LOINC tests.
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
    LNC_GENOMIC_SOURCE,
    LNC_HGVS_C,
    LNC_HGVS_G,
    LNC_HGVS_P,
    LNC_ISCN,
    LNC_MEDICATION_ASSESSED,
    LNC_VAF,
    LNC_VARIANT,
    LNC_VARIATION_CODE,
    LOINC,
    MII_BIOMARKER,
    RXNORM,
    SCT_POSITIVE,
    SNOMED,
    SO,
    SO_FUSION_CODES,
    TBD,
    as_dict,
    as_list,
    as_str,
    concept_codes,
    concept_text,
    has_code,
    normalise_so,
    reference_of,
)
from fhir_mapping.dates import effective_date
from fhir_mapping.exons import locate
from fhir_mapping.genes import gene_from_concept
from fhir_mapping.issues import MappingIssue
from fhir_mapping.negatives import regions_by_gene
from fhir_mapping.tables import GenomicTest, drug_table, gene_table, genomic_tests
from rules.patient import (
    Agent,
    Biomarker,
    BiomarkerKind,
    Code,
    Confidence,
    Gene,
    GenomicSource,
    ImplicationValue,
    ResultValue,
    TherapeuticImplication,
)

KIND_VARIANT = "variant"
KIND_SINGLE_TEST = "single-test"
KIND_IMPLICATION = "implication"
KIND_CONSEQUENCE = "consequence"

_IMPLICATION_CODES = frozenset({"therapeutic-implication", "predicted-therapeutic-implication"})
#: Observation codes (TBD system) of therapeutic implications and molecular consequences.
IMPLICATION_CODES = _IMPLICATION_CODES
CONSEQUENCE_CODE = "molecular-consequence"
_IMPLICATION_VALUES = {
    "LA6677-4": ImplicationValue.RESPONSIVE,
    "LA6676-6": ImplicationValue.RESISTANT,
    "LA9661-5": ImplicationValue.PRESUMED_RESPONSIVE,
    "LA9660-7": ImplicationValue.PRESUMED_RESISTANT,
    "LA9662-3": ImplicationValue.PRESUMED_NON_RESPONSIVE,
}
_CONSEQUENCE_COMPONENTS = frozenset({"functional-effect", "feature-consequence"})


def classify(raw: Mapping[str, Any]) -> str | None:
    """Which genomic shape a raw Observation is, from its code only (cheap pre-filter)."""
    tests = genomic_tests().by_loinc
    for code in concept_codes(raw.get("code")):
        if code.system == LOINC:
            if code.code == LNC_VARIANT:
                return KIND_VARIANT
            if code.code in tests:
                return KIND_SINGLE_TEST
        elif code.system == TBD:
            if code.code in _IMPLICATION_CODES:
                return KIND_IMPLICATION
            if code.code == CONSEQUENCE_CODE:
                return KIND_CONSEQUENCE
    return None


def _component_key(component: Mapping[str, Any]) -> tuple[str, str] | None:
    for code in concept_codes(component.get("code")):
        if code.system in (LOINC, TBD, MII_BIOMARKER):
            return code.system, code.code
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


def _result(
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


def _exon_from_text(values: Iterable[str]) -> int | None:
    exons = set()
    for value in values:
        for match in re.finditer(r"\bexon\s*(\d{1,2})\b", value, flags=re.IGNORECASE):
            exons.add(int(match.group(1)))
        if re.fullmatch(r"\s*\d{1,2}\s*", value):
            exons.add(int(value))
    return exons.pop() if len(exons) == 1 else None


@dataclass
class _VariantParts:
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


def _collect_parts(
    resource: Mapping[str, Any], ref: str, issues: list[MappingIssue]
) -> _VariantParts:
    parts = _VariantParts()
    for component in as_list(resource.get("component")):
        comp = as_dict(component)
        key = _component_key(comp)
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
            system == TBD and code in ("molecular-consequence", *_CONSEQUENCE_COMPONENTS)
        ):
            for value_code in concept_codes(concept):
                if value_code.system == SO:
                    parts.so_codes.add(normalise_so(value_code.code))
        elif system == LOINC and code == LNC_GENOMIC_SOURCE:
            if has_code(concept, LOINC, LA_SOMATIC):
                parts.source = GenomicSource.SOMATIC
            elif has_code(concept, LOINC, LA_GERMLINE):
                parts.source = GenomicSource.GERMLINE
        elif system == LOINC and code in (LNC_VARIATION_CODE, LNC_ISCN):
            parts.texts.extend(_value_strings(comp))
        elif system == LOINC and code == LNC_DNA_REGION:
            parts.exon_values.extend(_value_strings(comp))
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


def _text_mentions(texts: Iterable[str], genes: Iterable[Gene], words: str) -> bool:
    symbols = [g.symbol.upper() for g in genes]
    for text in texts:
        upper = text.upper()
        if re.search(words, upper) and any(
            re.search(rf"(?<![A-Z0-9]){re.escape(s)}(?![A-Z0-9])", upper) for s in symbols
        ):
            return True
    return False


def _regions_or_unknown(regions: Mapping[str, list[int]], gene: Gene) -> list[int | None]:
    """The exons stated as tested for a gene, or a single unknown region."""
    stated: list[int | None] = list(regions.get(gene.symbol, []))
    return stated or [None]


def map_variant(
    resource: Mapping[str, Any], consequence_codes: Mapping[str, set[str]]
) -> tuple[list[Biomarker], list[MappingIssue]]:
    ref = reference_of(resource)
    issues: list[MappingIssue] = []
    if as_str(resource.get("status")) in ("entered-in-error", "cancelled"):
        return [], []
    parts = _collect_parts(resource, ref, issues)
    parts.so_codes |= consequence_codes.get(ref, set())
    obs_code = Code(LOINC, LNC_VARIANT, "Genetic variant assessment")
    if not parts.genes:
        issues.append(
            MappingIssue("unresolved-gene", ref, "variant without a resolvable gene; skipped")
        )
        return [], issues
    result, from_text = _result(resource)
    if result is None:
        issues.append(
            MappingIssue("missing-value", ref, "variant without a result value; indeterminate")
        )
        result = ResultValue.INDETERMINATE
    confidence = Confidence.TEXT_DERIVED if from_text else Confidence.CODED
    date = effective_date(resource)

    fusion_by_so = bool(parts.so_codes & SO_FUSION_CODES)
    fusion_by_text = _text_mentions(parts.texts, parts.genes, r"FUSION|::")
    rearranged_by_text = _text_mentions(parts.texts, parts.genes, r"REARRANG")
    amplified_by_text = _text_mentions(parts.texts, parts.genes, r"AMPLIF")
    roles = parts.five_prime is not None or parts.three_prime is not None
    multi_gene = len(parts.genes) >= 2

    regions = regions_by_gene(parts.exon_values, parts.genes)
    if (
        result is ResultValue.ABSENT
        and (multi_gene or sum(map(len, regions.values())) > 1)
        and not (fusion_by_so or fusion_by_text or roles)
    ):
        # Pertinent negative: one absent finding per gene and per exon stated as tested.
        return [
            Biomarker(
                gene=gene,
                kind=BiomarkerKind.VARIANT,
                result=result,
                source_ref=ref,
                code=obs_code,
                exon=exon,
                genomic_source=parts.source,
                date=date,
                confidence=confidence,
            )
            for gene in parts.genes
            for exon in _regions_or_unknown(regions, gene)
        ], issues

    if fusion_by_so or fusion_by_text or roles or multi_gene:
        kind = BiomarkerKind.FUSION
    elif rearranged_by_text:
        kind = BiomarkerKind.REARRANGEMENT
    elif amplified_by_text:
        kind = BiomarkerKind.AMPLIFICATION
    else:
        kind = BiomarkerKind.VARIANT

    main = parts.three_prime if parts.three_prime is not None else parts.genes[0]
    partners = tuple(g for g in parts.genes if g != main)
    hotspot = None
    exon = None
    if kind is BiomarkerKind.VARIANT:
        located = locate(
            main.symbol,
            parts.hgvs_c,
            parts.hgvs_p,
            _exon_from_text(parts.exon_values) or _exon_from_text(parts.texts),
            parts.hgvs_g,
        )
        issues.extend(MappingIssue(k, ref, text) for k, text in located.problems)
        exon, hotspot = located.exon, located.hotspot
        if exon is None and hotspot is not None and not located.problems:
            exon = genomic_tests().hotspot_exons.get((main.symbol, hotspot))
    return [
        Biomarker(
            gene=main,
            kind=kind,
            result=result,
            source_ref=ref,
            code=obs_code,
            partners=partners,
            five_prime=parts.five_prime,
            three_prime=parts.three_prime,
            exon=exon,
            hgvs_c=parts.hgvs_c,
            hgvs_p=parts.hgvs_p,
            hgvs_g=parts.hgvs_g,
            hotspot=hotspot,
            genomic_source=parts.source,
            date=date,
            confidence=confidence,
            allele_frequency=parts.vaf,
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
    result, from_text = _result(resource)
    if result is None:
        issues.append(MappingIssue("missing-value", ref, "test without a result; indeterminate"))
        result = ResultValue.INDETERMINATE
    parts = _collect_parts(resource, ref, issues)
    if from_text:
        issues.append(
            MappingIssue(
                "text-derived-finding",
                ref,
                f"{test.gene.symbol} result read from free text only (low confidence)",
            )
        )
    return [
        Biomarker(
            gene=test.gene,
            kind=test.kind,
            result=result,
            source_ref=ref,
            code=Code(code.system, code.code, code.display),
            partners=test.partners,
            any_of=test.any_of,
            exon=test.exon,
            hgvs_c=test.hgvs_c,
            hgvs_p=test.hgvs_p,
            hotspot=test.hotspot,
            genomic_source=parts.source,
            date=effective_date(resource),
            confidence=Confidence.TEXT_DERIVED if from_text else Confidence.CODED,
        )
    ], issues


def consequence_targets(resource: Mapping[str, Any]) -> dict[str, set[str]]:
    """MolecularConsequence (STU3): SO codes per derivedFrom reference (pattern C)."""
    codes: set[str] = set()
    for component in as_list(resource.get("component")):
        comp = as_dict(component)
        key = _component_key(comp)
        if key and key[0] == TBD and key[1] in _CONSEQUENCE_COMPONENTS:
            for value_code in concept_codes(comp.get("valueCodeableConcept")):
                if value_code.system == SO:
                    codes.add(normalise_so(value_code.code))
    out: dict[str, set[str]] = {}
    for derived in as_list(resource.get("derivedFrom")):
        target = as_str(as_dict(derived).get("reference"))
        if target:
            out.setdefault(target, set()).update(codes)
    return out


def _agent_from_concept(concept: Any) -> tuple[Agent | None, Code | None]:
    table = drug_table()
    for code in concept_codes(concept):
        if code.system == RXNORM and code.code in table.by_rxnorm:
            return table.by_rxnorm[code.code].agent, code
    texts = [c.display for c in concept_codes(concept) if c.display]
    text = concept_text(concept)
    if text:
        texts.append(text)
    for candidate in texts:
        drug = table.match_name(candidate)
        if drug is not None:
            return drug.agent, next(concept_codes(concept), None)
    return None, next(concept_codes(concept), None)


def map_implication(
    resource: Mapping[str, Any],
) -> tuple[list[TherapeuticImplication], list[MappingIssue]]:
    ref = reference_of(resource)
    if as_str(resource.get("status")) in ("entered-in-error", "cancelled"):
        return [], []
    obs_code = next(
        (c for c in concept_codes(resource.get("code")) if c.system == TBD),
        Code(TBD, "therapeutic-implication"),
    )
    implication: ImplicationValue | None = None
    medication: Agent | None = None
    medication_code: Code | None = None
    for component in as_list(resource.get("component")):
        comp = as_dict(component)
        key = _component_key(comp)
        if key is None:
            continue
        concept = comp.get("valueCodeableConcept")
        if key[0] == TBD and key[1] in _IMPLICATION_CODES:
            for code in concept_codes(concept):
                if code.system == LOINC and code.code in _IMPLICATION_VALUES:
                    implication = _IMPLICATION_VALUES[code.code]
            if implication is None and concept is not None:
                implication = ImplicationValue.OTHER
        elif key == (LOINC, LNC_MEDICATION_ASSESSED):
            medication, medication_code = _agent_from_concept(concept)
    if implication is None:
        return [], [
            MappingIssue(
                "missing-value", ref, "therapeutic implication without an implication; skipped"
            )
        ]
    derived = tuple(
        r
        for r in (as_str(as_dict(d).get("reference")) for d in as_list(resource.get("derivedFrom")))
        if r
    )
    return [
        TherapeuticImplication(
            implication=implication,
            code=obs_code,
            source_ref=ref,
            medication=medication,
            medication_code=medication_code,
            derived_from=derived,
            date=effective_date(resource),
        )
    ], []


def known_symbols() -> frozenset[str]:
    return gene_table().text_symbols
