"""The common genomic variant Observation, mapped in fewer steps than the general path.

A panel report sends a dozen to forty variant assessments (69548-6) of one shape: a coded
answer (LA9634-2 absent, LA9633-4 present) as the only coding of ``valueCodeableConcept``, and
two kinds of component, each with one LOINC coding: the gene studied (48018-6) as one HGNC
coding of a gene in the table, and the genomic source (48002-0) as one LOINC answer (somatic or
germline). :func:`map_plain_variant` reads such an Observation with subscripts and answers
exactly what :func:`fhir_mapping.genomics.map_variant` answers for it; for anything else
(another component, a second coding, a second gene, a display naming another known gene, a
withdrawn status, a molecular consequence read elsewhere for it) it answers ``None`` before any
effect, for ``map_variant`` to read. A component or answer equal to one already read in the
same call is answered from the call's :class:`VariantMemo`. ``tests/fhir_mapping/
test_plain_variants.py`` holds the two paths to the same result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mapping.codes import (
    HGNC,
    HGNC_STU2,
    LA_ABSENT,
    LA_GERMLINE,
    LA_PRESENT,
    LA_SOMATIC,
    LNC_GENE_STUDIED,
    LNC_GENOMIC_SOURCE,
    LOINC,
    only_coding,
)
from fhir_mapping.dates import effective_date
from fhir_mapping.genes import _table_ids
from fhir_mapping.genomics import _VARIANT_CODE, _WITHDRAWN, _date
from fhir_mapping.issues import MappingIssue
from fhir_mapping.specimens import of_observation
from fhir_mapping.tables import gene_table
from rules.patient import (
    Biomarker,
    BiomarkerKind,
    Confidence,
    GenomicSource,
    PartialDate,
    ResultValue,
    SpecimenKind,
)

__all__ = ["VariantMemo", "map_plain_variant"]

#: The answer codes read, as :func:`fhir_mapping.genomic_parts.read_result` reads them.
_RESULTS: dict[str | None, ResultValue] = {
    LA_PRESENT: ResultValue.PRESENT,
    LA_ABSENT: ResultValue.ABSENT,
}
#: The genomic sources read, as :func:`fhir_mapping.genomic_parts.collect_parts` reads them.
_SOURCES: dict[str | None, GenomicSource] = {
    LA_SOMATIC: GenomicSource.SOMATIC,
    LA_GERMLINE: GenomicSource.GERMLINE,
}
_UNKNOWN_SOURCE = GenomicSource.UNKNOWN
_UNKNOWN_SPECIMEN = SpecimenKind.UNKNOWN
_VARIANT, _CODED = BiomarkerKind.VARIANT, Confidence.CODED
#: The system spellings read (both HGNC ones normalise to HGNC: fhir_mapping.codes).
_LOINC, _HGNC = frozenset({LOINC}), frozenset({HGNC, HGNC_STU2})


class VariantMemo:
    """Per-call memo of :func:`map_plain_variant` (one per mapping call, like the builder's dates
    memo; nothing outlives the call): the reading of each component and answer concept already
    read, under the code its value carries, with the element it was read from. A later element
    is answered from it only when it is equal (``==``, compared in C) to that element: equal
    JSON values are read alike (the codes read are strings, which equal only strings), so the
    answer is the one reading the element again would give. A panel repeats the same few
    components (one genomic source, a dozen genes) in every one of its variants."""

    __slots__ = ("answers", "components", "dates")

    def __init__(self) -> None:
        #: effectiveDateTime string -> date (genomics._date's memo, on both paths).
        self.dates: dict[str, PartialDate] = {}
        #: value code -> (component, (True, Gene) for a gene studied or (False, GenomicSource)).
        self.components: dict[Any, tuple[Any, tuple[bool, Any]]] = {}
        #: answer code -> (valueCodeableConcept, ResultValue).
        self.answers: dict[Any, tuple[Any, ResultValue]] = {}


def _read_component(component: dict[str, Any]) -> tuple[bool, Any] | None:
    """``(True, gene)`` for a gene-studied component of the common shape, ``(False, source)``
    for a genomic-source one; ``None`` for any other component."""
    role = only_coding(component.get("code"), _LOINC)
    if role == LNC_GENE_STUDIED:
        hgnc_id = only_coding(component.get("valueCodeableConcept"), _HGNC)
        if hgnc_id is None or hgnc_id not in _table_ids():
            return None
        table = gene_table()
        known = table.by_hgnc.get(hgnc_id)
        if known is None:
            return None
        display = component["valueCodeableConcept"]["coding"][0].get("display")
        if type(display) is str and display.strip():
            upper = display.strip().upper()
            if upper != known.symbol.upper() and upper in table.by_symbol:
                return None  # a display naming another gene: an issue to raise
        return True, known
    if role == LNC_GENOMIC_SOURCE:
        answer = _SOURCES.get(only_coding(component.get("valueCodeableConcept"), _LOINC))
        return None if answer is None else (False, answer)
    return None


def map_plain_variant(
    resource: dict[str, Any],
    consequence_codes: Mapping[str, set[str]],
    ref: str,
    dates: dict[str, PartialDate] | None,
    memo: VariantMemo | None = None,
) -> tuple[list[Biomarker], list[MappingIssue]] | None:
    """``map_variant(resource, consequence_codes, ref, dates)`` for a checked variant
    Observation of the common shape (see the module); ``None`` for any other. ``memo``: the
    call's :class:`VariantMemo` (a fresh one without it)."""
    status = resource.get("status")
    if type(status) is not str or status in _WITHDRAWN or consequence_codes.get(ref):
        return None
    if memo is None:
        memo = VariantMemo()
    concept: Any = resource.get("valueCodeableConcept")
    answers = memo.answers
    try:
        key = concept["coding"][0]["code"]
        seen = answers.get(key)
    except (LookupError, TypeError):  # another shape, or an unhashable code: read it
        key = seen = None
    if seen is not None and seen[0] == concept:
        result = seen[1]
    else:
        answer = _RESULTS.get(only_coding(concept, _LOINC))
        if answer is None:
            return None
        result = answer
        if key is not None:
            answers[key] = (concept, result)
    components = resource.get("component")
    if type(components) is not list:
        return None
    read = memo.components
    gene = None
    source = _UNKNOWN_SOURCE
    for component in components:
        if type(component) is not dict:
            return None
        try:
            key = component["valueCodeableConcept"]["coding"][0]["code"]
            seen_part = read.get(key)
        except (LookupError, TypeError):
            key = seen_part = None
        if seen_part is not None and seen_part[0] == component:
            reading = seen_part[1]
        else:
            found = _read_component(component)
            if found is None:
                return None
            reading = found
            if key is not None:
                read[key] = (component, reading)
        if reading[0]:
            if gene is not None and reading[1] is not gene:
                return None
            gene = reading[1]
        else:
            source = reading[1]
    if gene is None:
        return None
    value = resource.get("effectiveDateTime")
    date = dates.get(value) if dates is not None and type(value) is str else None
    if date is None:  # (a day read before in this call: _date's answer, without the call)
        date = _date(resource, dates) if dates is not None else effective_date(resource)
    code = resource.get("code")
    if (
        type(code) is dict
        and code.get("text") is None
        and resource.get("specimen") is None
        and resource.get("method") is None
        and resource.get("note") is None
    ):
        specimen, specimen_ref = _UNKNOWN_SPECIMEN, None  # of_observation's answer for it
    else:
        specimen, specimen_ref = of_observation(resource)
    # One gene, no text, exon, range, HGVS or consequence: a single variant finding, present or
    # absent (map_variant's pertinent-negative branch needs two genes or two exons).
    # Positional, in the order of genomics._FIELDS.
    return [
        Biomarker(
            gene,
            _VARIANT,
            result,
            ref,
            _VARIANT_CODE,
            (),
            (),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            source,
            date,
            _CODED,
            None,
            None,
            specimen,
            specimen_ref,
        )
    ], []
