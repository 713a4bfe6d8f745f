"""Wild-type GIST predicates: whether KIT/PDGFRA genotyping covers every required region (a
wild-type call, or what is still missing), and the wild-type subtypes (SDH-deficient, NF1 and
the other subtype genes a rule names).

Registered in the same closed registry as :mod:`rules.predicates` (imported by the loader).
"""

from __future__ import annotations

from pydantic import Field

from rules.hereditary import HereditarySyndrome
from rules.patient import Biomarker, BiomarkerKind, GenomicSource, Histology, ResultValue
from rules.predicates import Context, Findings, NoParams, Params, biomarker_text, predicate
from rules.predicates_genomic import gist_driver_findings
from rules.results import Finding
from rules.variant_classes import variant_classes

# ---------------------------------------------------------------------------------------------
# genotyping coverage


def _covered_exons(marker: Biomarker) -> int | None:
    """The exon a negative result covers: exon-level tests only, never a hotspot-only test."""
    if marker.kind is not BiomarkerKind.VARIANT or marker.hotspot is not None:
        return None
    return marker.exon


def _coverage(ctx: Context) -> tuple[dict[str, set[int]], dict[str, list[Biomarker]]]:
    required = variant_classes().gist_genotyping.regions
    covered: dict[str, set[int]] = {}
    negatives: dict[str, list[Biomarker]] = {}
    for gene in required:
        found = sorted(ctx.patient.tested_negative(gene), key=lambda m: m.source_ref)
        negatives[gene] = found
        covered[gene] = {e for e in map(_covered_exons, found) if e is not None}
    return covered, negatives


def _missing(covered: dict[str, set[int]]) -> dict[str, list[int]]:
    required = variant_classes().gist_genotyping.regions
    return {
        gene: [e for e in exons if e not in covered.get(gene, set())]
        for gene, exons in required.items()
        if any(e not in covered.get(gene, set()) for e in exons)
    }


def _any_driver(ctx: Context) -> bool:
    return any(gist_driver_findings(ctx, g) for g in variant_classes().gist_genotyping.regions)


@predicate("kit_pdgfra_wild_type", NoParams)
def kit_pdgfra_wild_type(ctx: Context, a: NoParams) -> Findings:
    """KIT exons 9/11/13/17 and PDGFRA exons 12/14/18 all covered by negative results, no driver."""
    if _any_driver(ctx):
        return ()
    covered, negatives = _coverage(ctx)
    if _missing(covered):
        return ()
    findings: list[Finding] = []
    for found in negatives.values():
        findings.extend(
            Finding(biomarker_text(m), m.source_ref) for m in found if _covered_exons(m)
        )
    return tuple(findings)


def _region_text(missing: dict[str, list[int]]) -> str:
    return "; ".join(
        f"{gene} exon{'s' if len(exons) > 1 else ''} {', '.join(map(str, exons))}"
        for gene, exons in missing.items()
    )


@predicate("kit_pdgfra_genotyping_incomplete", NoParams)
def kit_pdgfra_genotyping_incomplete(ctx: Context, a: NoParams) -> Findings:
    """Some KIT/PDGFRA result is on record, no driver, and required regions are not covered."""
    genes = list(variant_classes().gist_genotyping.regions)
    coded = [m for g in genes for m in ctx.patient.biomarkers_for_gene(g)]
    if not coded or _any_driver(ctx):
        return ()
    covered, negatives = _coverage(ctx)
    missing = _missing(covered)
    if not missing:
        return ()
    findings = [Finding(f"Not yet covered by a negative result: {_region_text(missing)}", None)]
    for gene, found in negatives.items():
        for marker in found:
            exon = _covered_exons(marker)
            if exon is not None:
                what = f"{gene} exon {exon} tested negative"
            elif marker.hotspot:
                what = f"{gene} {marker.hotspot} only: a single-variant test"
            else:
                what = f"{gene} negative result that does not state the regions tested"
            findings.append(Finding(what, marker.source_ref))
    findings.extend(
        Finding(f"{biomarker_text(m)}: not a negative result", m.source_ref)
        for m in sorted(coded, key=lambda m: m.source_ref)
        if m.result is ResultValue.INDETERMINATE
    )
    return tuple(findings)


class SubtypeGenesParams(Params):
    genes: list[str] = Field(min_length=1)
    #: Hereditary syndromes whose clinical diagnosis counts as well (e.g. NF1 without a variant).
    syndromes: list[HereditarySyndrome] = Field(default_factory=list)
    #: Genes whose loss of expression by immunohistochemistry counts as well (SDHB).
    ihc_loss: list[str] = Field(default_factory=list)


@predicate("gist_subtype_variant", SubtypeGenesParams)
def gist_subtype_variant(ctx: Context, a: SubtypeGenesParams) -> Findings:
    """In GIST, a coded present variant (somatic or germline) of one of the genes (SDHx, NF1),
    a loss of expression by immunohistochemistry of one of the ``ihc_loss`` genes (read from
    text: no code for the stain is verified), or a recorded diagnosis of one of the named
    hereditary syndromes."""
    if not ctx.patient.has_histology(Histology.GIST):
        return ()
    hits = sorted(
        {
            b.source_ref: b
            for gene in a.genes
            for b in ctx.patient.biomarkers_for_gene(gene)
            if b.result is ResultValue.PRESENT and b.kind is BiomarkerKind.VARIANT
        }.values(),
        key=lambda m: m.source_ref,
    )
    germline = " [germline: offer genetic counselling]"
    variants = tuple(
        Finding(
            biomarker_text(m) + (germline if m.genomic_source is GenomicSource.GERMLINE else ""),
            m.source_ref,
        )
        for m in hits
    )
    wanted = set(a.syndromes)
    diagnosed = tuple(
        Finding(f"{c.text} (clinical diagnosis on record)", c.source_ref)
        for c in sorted(ctx.patient.hereditary_conditions, key=lambda c: c.source_ref)
        if c.syndrome in wanted
    )
    stains = tuple(
        Finding(m.evidence_text or f"{m.gene.symbol} immunohistochemistry: loss", m.source_ref)
        for gene in a.ihc_loss
        # Read from text on purpose: no code for the stain is verified (fhir_mapping/data/ihc.yaml).
        for m in sorted(
            ctx.patient.biomarkers_for_gene(gene, include_text_derived=True),
            key=lambda m: m.source_ref,
        )
        if m.kind is BiomarkerKind.PROTEIN_EXPRESSION and m.result is ResultValue.ABSENT
    )
    return variants + stains + diagnosed
