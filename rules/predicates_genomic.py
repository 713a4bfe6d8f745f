"""Genotype predicates for GIST: variant classes and primary versus secondary mutations
(whether KIT/PDGFRA genotyping is complete enough to call a tumour wild-type, and the wild-type
subtypes: :mod:`rules.predicates_wild_type`).

Registered in the same closed registry as :mod:`rules.predicates` (imported by the loader).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from rules.patient import (
    Biomarker,
    BiomarkerKind,
    DiseaseStatusValue,
    GenomicSource,
    Histology,
    LineOfTherapy,
    PartialDate,
    ResultValue,
    SpecimenKind,
    StopReason,
)
from rules.predicates import (
    Context,
    Findings,
    Params,
    biomarker_text,
    exposure_matches,
    predicate,
)
from rules.results import Finding
from rules.variant_classes import classes_of, variant_classes

#: Drug group whose progression turns later-reported KIT/PDGFRA variants into secondary ones.
KINASE_INHIBITORS = "group-gist-kinase-inhibitors"
#: Genes whose germline variants drive the tumour in GIST (familial GIST).
GIST_DRIVER_GENES = ("KIT", "PDGFRA")

# Enum members read once at import: on Python 3.11 every ``SomeEnum.MEMBER`` load goes through
# EnumType's __getattr__ hook (~650 instructions), and this runs once per finding.
_PRESENT, _GERMLINE = ResultValue.PRESENT, GenomicSource.GERMLINE


def _classes(ctx: Context, marker: Biomarker) -> tuple[str, ...]:
    """:func:`classes_of` the finding, once per evaluation."""
    key = ("classes", id(marker))
    found: tuple[str, ...] | None = ctx.derived.get(key)
    if found is None:
        found = ctx.derived[key] = classes_of(marker)
    return found


def gist_driver_findings(ctx: Context, gene: str) -> tuple[Biomarker, ...]:
    """Present, coded findings that can drive a GIST: somatic, or germline KIT/PDGFRA in GIST."""
    key = ("drivers", gene)
    found: tuple[Biomarker, ...] | None = ctx.derived.get(key)
    if found is None:
        found = ctx.derived[key] = _gist_driver_findings(ctx, gene)
    return found


def _gist_driver_findings(ctx: Context, gene: str) -> tuple[Biomarker, ...]:
    drivers = list(ctx.patient.driver_biomarkers(gene))
    if gene.upper() in GIST_DRIVER_GENES and ctx.patient.has_histology(Histology.GIST):
        drivers.extend(
            b
            for b in ctx.patient.biomarkers_for_gene(gene)
            if b.result is _PRESENT and b.genomic_source is _GERMLINE
        )
    return tuple(sorted(drivers, key=lambda m: m.source_ref))


def _progression_dates(ctx: Context, line: LineOfTherapy) -> list[PartialDate]:
    dates = []
    if line.ended_by is StopReason.PROGRESSION and line.end is not None:
        dates.append(line.end)
    if line.start is not None:
        dates.extend(
            s.date
            for s in ctx.patient.disease_status
            if s.value is DiseaseStatusValue.PROGRESSION
            and s.date is not None
            and line.start <= s.date
        )
    return dates


def progression_on_kinase_inhibitor(ctx: Context) -> tuple[PartialDate, str] | None:
    """Earliest documented progression on a GIST kinase inhibitor: (date, drug)."""
    key = ("ki-progression", None)
    if key not in ctx.derived:
        ctx.derived[key] = _progression_on_kinase_inhibitor(ctx)
    found: tuple[PartialDate, str] | None = ctx.derived[key]
    return found


def _progression_on_kinase_inhibitor(ctx: Context) -> tuple[PartialDate, str] | None:
    events: list[tuple[PartialDate, str]] = []
    for line in ctx.lines:
        kis = [e for e in line.exposures if exposure_matches(ctx, KINASE_INHIBITORS, e)]
        if not kis:
            continue
        name = kis[0].agent.ingredient or "a kinase inhibitor"
        events.extend((when, name) for when in _progression_dates(ctx, line))
    return min(events, key=lambda e: e[0]) if events else None


def first_kinase_inhibitor(ctx: Context) -> tuple[PartialDate, str] | None:
    """Earliest start of a GIST kinase inhibitor (any setting, drafts excluded): (date, drug)."""
    key = ("ki-first", None)
    if key not in ctx.derived:
        ctx.derived[key] = _first_kinase_inhibitor(ctx)
    found: tuple[PartialDate, str] | None = ctx.derived[key]
    return found


def _first_kinase_inhibitor(ctx: Context) -> tuple[PartialDate, str] | None:
    starts = [
        (e.start, e.agent.ingredient or "a kinase inhibitor")
        for e in ctx.patient.exposures
        if not e.is_draft and e.start is not None and exposure_matches(ctx, KINASE_INHIBITORS, e)
    ]
    return min(starts, key=lambda s: s[0]) if starts else None


def _specimen_words(marker: Biomarker) -> str:
    if marker.specimen is SpecimenKind.UNKNOWN:
        return ""
    return f" in {marker.specimen.wording}"


def is_secondary(ctx: Context, marker: Biomarker) -> str | None:
    """Why a finding is a secondary (acquired) mutation, or ``None`` for a primary one.

    Secondary: a variant of a secondary-role class, first reported (specimen or result date)
    after documented progression on a kinase inhibitor, or first reported in plasma (ctDNA)
    after a kinase inhibitor was started, and not reported before that point.
    """
    key = ("secondary", id(marker))
    if key not in ctx.derived:
        ctx.derived[key] = _is_secondary(ctx, marker)
    found: str | None = ctx.derived[key]
    return found


def _is_secondary(ctx: Context, marker: Biomarker) -> str | None:
    if marker.date is None:
        return None
    # Only variants of a secondary-role class (KIT exons 13/14/17/18) can be acquired: a KIT exon
    # 11 or PDGFRA driver genotyped late, after progression, is still the primary genotype.
    table = variant_classes()
    if not any(table.get(c).role == "secondary" for c in _classes(ctx, marker)):
        return None
    progression = progression_on_kinase_inhibitor(ctx)
    started = first_kinase_inhibitor(ctx)
    if progression is not None and not marker.date < progression[0]:
        when, drug = progression
        why = f"first seen{_specimen_words(marker)} after progression on {drug} ({when})"
    elif (
        marker.specimen is SpecimenKind.PLASMA and started is not None and started[0] < marker.date
    ):
        # ctDNA is drawn on treatment to look for resistance; no tissue test is needed first.
        when, drug = started
        why = f"first seen in plasma (ctDNA) after {drug} start ({when})"
    else:
        return None
    mine = set(_classes(ctx, marker))
    earlier = [
        b
        for b in gist_driver_findings(ctx, marker.gene.symbol)
        if b is not marker
        and b.date is not None
        and b.date < when
        and (b.hotspot, b.hgvs_p, b.exon) == (marker.hotspot, marker.hgvs_p, marker.exon)
        and set(_classes(ctx, b)) == mine
    ]
    if earlier:
        return None
    return why


class VariantClassParams(Params):
    classes: list[str] = Field(min_length=1)
    #: false when a finding of any of these classes is also on record
    without: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known(self) -> VariantClassParams:
        unknown = set(self.classes + self.without) - variant_classes().ids
        if unknown:
            raise ValueError(f"unknown variant class(es): {sorted(unknown)}")
        return self


@predicate("variant_class", VariantClassParams)
def variant_class(ctx: Context, a: VariantClassParams) -> Findings:
    """A coded driver finding of one of the variant classes, in the class's role.

    Primary classes take findings that are not secondary; secondary classes take only findings
    first reported after progression on a kinase inhibitor. Germline KIT/PDGFRA variants count
    as drivers in GIST. ``without``: false if a finding of one of those classes is on record.
    """
    if a.without and _class_findings(ctx, a.without):
        return ()
    return _class_findings(ctx, a.classes)


def _class_findings(ctx: Context, class_ids: list[str]) -> Findings:
    table = variant_classes()
    findings: list[Finding] = []
    for class_id in class_ids:
        item = table.get(class_id)
        for marker in gist_driver_findings(ctx, item.gene):
            if marker.kind is not BiomarkerKind.VARIANT or class_id not in _classes(ctx, marker):
                continue
            why = is_secondary(ctx, marker)
            if (item.role == "secondary") != (why is not None):
                continue
            notes = [item.label]
            if why:
                # The timing and its hedge first: cards show only the start of a finding.
                hedge = (
                    []
                    if _primary_on_record(ctx)
                    else ["no primary genotype on record: by timing alone"]
                )
                notes = [f"secondary: {why}", *hedge, item.label]
            else:
                late = _first_genotyped_on_treatment(ctx, marker)
                if late:
                    notes.append(late)
            if marker.genomic_source is GenomicSource.GERMLINE:
                notes.append("germline: familial GIST, offer genetic counselling")
            text = f"{biomarker_text(marker)} [{'; '.join(notes)}]"
            if all(f.source_ref != marker.source_ref or f.text != text for f in findings):
                findings.append(Finding(text, marker.source_ref))
    return tuple(findings)


def _primary_on_record(ctx: Context) -> bool:
    key = ("primary-on-record", None)
    found: bool | None = ctx.derived.get(key)
    if found is None:
        table = variant_classes()
        found = ctx.derived[key] = any(
            table.get(c).role == "primary" and is_secondary(ctx, m) is None
            for gene in GIST_DRIVER_GENES
            for m in gist_driver_findings(ctx, gene)
            for c in _classes(ctx, m)
        )
    return found


def _first_genotyped_on_treatment(ctx: Context, marker: Biomarker) -> str | None:
    """A hedge for a primary-class variant whose first genotype postdates kinase-inhibitor
    exposure: it is still read as the primary genotype (never swapped), and the card says so."""
    started = first_kinase_inhibitor(ctx)
    if started is None or marker.date is None or not started[0] < marker.date:
        return None
    before = [
        m
        for gene in GIST_DRIVER_GENES
        for m in ctx.patient.biomarkers_for_gene(gene)
        if m.date is not None and m.date < started[0]
    ]
    if before:
        return None
    return (
        f"first genotyped{_specimen_words(marker)} after {started[1]} start ({started[0]}), "
        "none before: kept as the primary genotype"
    )
