"""Biomarker predicates: a coded finding for a gene (present or a pertinent negative), genes
not tested or wild type, a fusion, and the list of results on record. Registered on import (the
loader imports this module)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import Field

from rules.patient import Biomarker, BiomarkerKind
from rules.predicates import (
    Context,
    Findings,
    NoParams,
    Params,
    biomarker_text,
    predicate,
    protein_short,
)
from rules.results import Finding


class BiomarkerParams(Params):
    gene: str = Field(pattern=r"^[A-Z0-9]+$")
    result: Literal["present", "absent"] = "present"
    kinds: list[BiomarkerKind] = Field(default_factory=list)
    exons: list[int] = Field(default_factory=list)
    hotspots: list[str] = Field(default_factory=list)


def _biomarker_hits(ctx: Context, a: BiomarkerParams) -> list[Biomarker]:
    if a.result == "present":
        pool: Iterable[Biomarker] = ctx.patient.driver_biomarkers(a.gene)
    else:
        pool = ctx.patient.tested_negative(a.gene)
    hits = []
    for marker in pool:
        if a.kinds and marker.kind not in a.kinds:
            continue
        if a.exons and marker.exon not in a.exons:
            continue
        if a.hotspots:
            names = {
                x.upper() for x in (marker.hotspot, protein_short(marker.hgvs_p)) if x is not None
            }
            if not names & {h.upper() for h in a.hotspots}:
                continue
        hits.append(marker)
    return sorted(hits, key=lambda m: m.source_ref)


@predicate("biomarker", BiomarkerParams)
def biomarker(ctx: Context, a: BiomarkerParams) -> Findings:
    """A coded, non-germline finding for a gene (present, or a pertinent negative)."""
    return tuple(Finding(biomarker_text(m), m.source_ref or None) for m in _biomarker_hits(ctx, a))


class GenesParams(Params):
    genes: list[str] = Field(min_length=1)


@predicate("not_tested", GenesParams)
def not_tested(ctx: Context, a: GenesParams) -> Findings:
    """No coded result (present, absent or indeterminate) for any of the genes."""
    coded = [m for g in a.genes for m in ctx.patient.biomarkers_for_gene(g)]
    if coded:
        return ()
    texts = [
        m for g in a.genes for m in ctx.patient.biomarkers_for_gene(g, include_text_derived=True)
    ]
    if texts:
        return tuple(
            Finding(
                f"Only a free-text mention, not a coded result: {biomarker_text(m)}",
                m.source_ref or None,
            )
            for m in texts[:2]
        )
    return (Finding(f"No coded {'/'.join(a.genes)} test result is on record", None),)


@predicate("wild_type", GenesParams)
def wild_type(ctx: Context, a: GenesParams) -> Findings:
    """Every listed gene has a coded negative result and none has a driver finding."""
    findings: list[Finding] = []
    for gene in a.genes:
        if ctx.patient.driver_biomarkers(gene):
            return ()
        negatives = ctx.patient.tested_negative(gene)
        if not negatives:
            return ()
        findings.append(Finding(biomarker_text(negatives[0]), negatives[0].source_ref or None))
    return tuple(findings)


class FusionParams(Params):
    genes: list[str] = Field(min_length=1)


@predicate("fusion", FusionParams)
def fusion(ctx: Context, a: FusionParams) -> Findings:
    """A coded, present fusion or rearrangement involving any of the genes."""
    hits = {
        m.source_ref: m
        for g in a.genes
        for m in ctx.patient.driver_biomarkers(g)
        if m.kind in (BiomarkerKind.FUSION, BiomarkerKind.REARRANGEMENT)
    }
    return tuple(Finding(biomarker_text(m), ref or None) for ref, m in sorted(hits.items()))


@predicate("biomarkers_on_record", NoParams)
def biomarkers_on_record(ctx: Context, a: NoParams) -> Findings:
    """Always true: lists the biomarker results on record (or says there are none)."""
    markers = sorted(ctx.patient.biomarkers, key=lambda m: (m.gene.symbol, m.source_ref))
    if not markers:
        return (Finding("No molecular test result on record", None),)
    return tuple(Finding(biomarker_text(m), m.source_ref or None) for m in markers)
