"""The closed, typed predicate registry. Rules name predicates; only code defines them.

Each predicate takes the evaluation :class:`Context` and its validated parameters, and returns
the findings that made it true (an empty tuple means false), so every card can say *why*.
Predicates never read the clock: ``as_of`` comes from the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rules import wording
from rules.extent import Extent
from rules.patient import (
    Biomarker,
    BiomarkerKind,
    CypRole,
    Diagnosis,
    DiseaseStatusValue,
    Histology,
    HistologySubtype,
    LineOfTherapy,
    Patient,
    StopReason,
    TherapyExposure,
    TherapyStatus,
)
from rules.results import Finding
from rules.setting import Setting
from rules.valuesets import ATC, RXNORM, ValueSets

Findings = tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class Context:
    patient: Patient
    valuesets: ValueSets
    as_of: date
    hook: str
    lines: tuple[LineOfTherapy, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    #: The current disease setting (rules.setting), computed once per evaluation.
    setting: Setting = field(default_factory=lambda: Setting(Extent.UNKNOWN))
    # Findings per criterion within one evaluation: rules share criteria (histology, draft
    # order of a drug...), and a predicate is a pure function of the patient and its params.
    memo: dict[str, Findings] = field(default_factory=dict)


class Params(BaseModel):
    """Base for predicate parameters: strict, immutable; declares its value-set fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    refs: ClassVar[dict[str, tuple[str, ...]]] = {}

    def valueset_refs(self) -> list[tuple[str, tuple[str, ...]]]:
        out: list[tuple[str, tuple[str, ...]]] = []
        for name, kinds in self.refs.items():
            value = getattr(self, name)
            if isinstance(value, str):
                out.append((value, kinds))
            elif isinstance(value, list | tuple):
                out.extend((str(v), kinds) for v in value)
        return out


P = TypeVar("P", bound=Params)
PredicateFn = Callable[[Context, Any], Findings]


@dataclass(frozen=True, slots=True)
class PredicateSpec:
    name: str
    params: type[Params]
    fn: PredicateFn
    yields_order: bool
    doc: str


PREDICATES: dict[str, PredicateSpec] = {}


def predicate(
    name: str, params: type[P], *, yields_order: bool = False
) -> Callable[[Callable[[Context, P], Findings]], Callable[[Context, P], Findings]]:
    def register(fn: Callable[[Context, P], Findings]) -> Callable[[Context, P], Findings]:
        if name in PREDICATES:
            raise ValueError(f"predicate {name} registered twice")
        PREDICATES[name] = PredicateSpec(
            name=name,
            params=params,
            fn=fn,
            yields_order=yields_order,
            doc=(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else name,
        )
        return fn

    return register


# ---------------------------------------------------------------------------------------------
# helpers

_AA3 = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E",
    "Gly": "G", "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F",
    "Pro": "P", "Ser": "S", "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V",
}  # fmt: skip
_P3_RE = re.compile(r"p\.\(?([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2})\)?")


def protein_short(hgvs_p: str | None) -> str | None:
    """``p.Asp842Val`` -> ``D842V`` (single substitutions only)."""
    if not hgvs_p:
        return None
    match = _P3_RE.search(hgvs_p)
    if not match or match.group(1) not in _AA3 or match.group(3) not in _AA3:
        return None
    return f"{_AA3[match.group(1)]}{match.group(2)}{_AA3[match.group(3)]}"


#: How a failed line is worded, by the reason recorded.
_FAILED = {
    "progression": "progression documented",
    "toxicity": "stopped for toxicity",
    "completed": "completed, then failed",
    "other": "stopped for another reason",
    "unknown": "reason not documented",
}


def _ref(ref: str | None) -> str | None:
    return ref or None


def diagnosis_text(diagnosis: Diagnosis, labels: Mapping[str, str]) -> str:
    name = wording.diagnosis_name(diagnosis.histology.value, diagnosis.subtype, labels)
    return f"Diagnosis: {wording.with_recorded_as(name, diagnosis.code.display)}"


def biomarker_text(marker: Biomarker) -> str:
    symbols = [g.symbol for g in marker.genes]
    genes = wording.fusion(symbols) if marker.partners else marker.gene.symbol
    detail = []
    if marker.exon is not None:
        detail.append(f"exon {marker.exon}")
    short = marker.hotspot or protein_short(marker.hgvs_p)
    if short:
        detail.append(short)
    elif marker.hgvs_p:
        detail.append(marker.hgvs_p)
    kind = marker.kind.value
    what = f"{genes} {kind}" + (f" ({', '.join(detail)})" if detail else "")
    result = {"present": "detected", "absent": "not detected"}.get(
        marker.result.value, marker.result.value
    )
    suffix = " [text-derived, low confidence]" if marker.confidence.value != "coded" else ""
    return f"{what}: {result}{suffix}"


def _agent_codes(exposure_agent_rx: str | None, atc: str | None) -> list[tuple[str, str]]:
    codes: list[tuple[str, str]] = []
    if exposure_agent_rx:
        codes.append((RXNORM, exposure_agent_rx))
    if atc:
        codes.append((ATC, atc))
    return codes


def exposure_matches(ctx: Context, vs_id: str, exposure: TherapyExposure) -> bool:
    codes = _agent_codes(exposure.agent.rxnorm, exposure.agent.atc)
    if exposure.code is not None:
        codes.append((exposure.code.system, exposure.code.code))
    return ctx.valuesets.matches(vs_id, codes, exposure.agent.ingredient)


def dose_text(exposure: TherapyExposure) -> str:
    if exposure.dose is not None and exposure.dose.schedule:
        return f" at {exposure.dose.schedule}"
    return ""


def exposure_text(exposure: TherapyExposure, prefix: str = "") -> str:
    name = exposure.agent.ingredient or (exposure.code.display if exposure.code else "drug")
    when = ""
    if exposure.start is not None:
        when = f" from {exposure.start}"
        if exposure.end is not None:
            when += f" to {exposure.end}"
    ended = wording.stopped(exposure.stop_reason)
    stop = f", {ended}" if ended else ""
    return f"{prefix}{name}{dose_text(exposure)}{when}{stop}"


def mg_per_day(exposure: TherapyExposure) -> Decimal | None:
    return exposure.dose.mg_per_day if exposure.dose is not None else None


def _draft_finding(draft: TherapyExposure) -> Finding:
    """The finding that ties a recommendation to the draft order it is about."""
    return Finding(
        exposure_text(draft, "Draft order: "),
        draft.source_ref,
        order_id=draft.order_id or draft.source_ref,
    )


def _considered_drafts(ctx: Context) -> tuple[TherapyExposure, ...]:
    """order-select: the selected drafts (all drafts if none is flagged); else all drafts."""
    drafts = ctx.patient.draft_exposures()
    if ctx.hook == "order-select":
        selected = tuple(d for d in drafts if d.is_selected)
        return selected or drafts
    return drafts


def _progression_after(ctx: Context, line: LineOfTherapy) -> tuple[str, ...]:
    """Disease-status progression events dated on or after the start of an ongoing line."""
    if line.start is None:
        return ()
    start = line.start.lower_bound()
    return tuple(
        s.source_ref
        for s in ctx.patient.disease_status
        if s.value is DiseaseStatusValue.PROGRESSION
        and s.date is not None
        and start <= s.date.lower_bound() <= ctx.as_of
    )


def _within(value: Decimal | None, low: float | None, high: float | None) -> bool:
    if low is None and high is None:
        return True
    if value is None:
        return False
    if low is not None and value < Decimal(str(low)):
        return False
    return not (high is not None and value > Decimal(str(high)))


# ---------------------------------------------------------------------------------------------
# diagnosis


class HistologyParams(Params):
    any: list[Histology] = Field(min_length=1)
    subtype: list[HistologySubtype] = Field(default_factory=list)


@predicate("histology", HistologyParams)
def histology(ctx: Context, a: HistologyParams) -> Findings:
    """An active diagnosis of one of the listed histologies (optionally subtypes)."""
    hits = [
        d
        for d in ctx.patient.diagnoses
        if d.is_active
        and d.histology in a.any
        and (not a.subtype or (d.subtype is not None and d.subtype in a.subtype))
    ]
    hits.sort(key=lambda d: (-d.specificity, d.source_ref))
    return tuple(Finding(diagnosis_text(d, ctx.labels), _ref(d.source_ref)) for d in hits[:1])


class NoParams(Params):
    pass


@predicate("sarcoma_diagnosis", NoParams)
def sarcoma_diagnosis(ctx: Context, a: NoParams) -> Findings:
    """An active sarcoma diagnosis of any histology, including sarcoma NOS."""
    hits = [d for d in ctx.patient.diagnoses if d.is_active and d.histology.specificity >= 1]
    hits.sort(key=lambda d: (-d.specificity, d.source_ref))
    return tuple(Finding(diagnosis_text(d, ctx.labels), _ref(d.source_ref)) for d in hits[:1])


@predicate("no_specific_histology", NoParams)
def no_specific_histology(ctx: Context, a: NoParams) -> Findings:
    """No diagnosis on record names a specific sarcoma histology."""
    if any(d.histology.specificity == 2 for d in ctx.patient.diagnoses):
        return ()
    vague = [d for d in ctx.patient.diagnoses if d.histology.specificity == 1]
    if vague:
        return tuple(
            Finding(
                "Only a non-specific diagnosis is on record "
                f"({d.code.display or d.code.code}); no histologic subtype",
                _ref(d.source_ref),
            )
            for d in vague[:1]
        )
    return (Finding("No sarcoma diagnosis with a histologic subtype is on record", None),)


# ---------------------------------------------------------------------------------------------
# biomarkers


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
    return tuple(Finding(biomarker_text(m), _ref(m.source_ref)) for m in _biomarker_hits(ctx, a))


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
                _ref(m.source_ref),
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
        findings.append(Finding(biomarker_text(negatives[0]), _ref(negatives[0].source_ref)))
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
    return tuple(Finding(biomarker_text(m), _ref(ref)) for ref, m in sorted(hits.items()))


# ---------------------------------------------------------------------------------------------
# therapy history


class ExposureParams(Params):
    refs: ClassVar[dict[str, tuple[str, ...]]] = {"drug": ("drug", "drug-group")}
    drug: str
    outcome: Literal["any", "progression", "failure", "ended", "ongoing"] = "any"
    min_mg_per_day: float | None = None
    max_mg_per_day: float | None = None


@predicate("exposure", ExposureParams)
def exposure(ctx: Context, a: ExposureParams) -> Findings:
    """A past or current (not draft) exposure to a drug, optionally with its outcome and dose.

    ``progression``: the line containing the drug ended by progression, or is ongoing with a
    progression status recorded since it started. ``failure``: progression or intolerance.
    """
    findings: list[Finding] = []
    for line in ctx.lines:
        matching = [e for e in line.exposures if exposure_matches(ctx, a.drug, e)]
        matching = [e for e in matching if _within(mg_per_day(e), a.min_mg_per_day,
                                                     a.max_mg_per_day)]  # fmt: skip
        if not matching:
            continue
        progression_refs: tuple[str, ...] = ()
        if line.ended_by is StopReason.PROGRESSION:
            progression_refs = line.end_evidence
        elif line.is_current:
            progression_refs = _progression_after(ctx, line)
        ok = {
            "any": True,
            "ongoing": line.is_current,
            "ended": not line.is_current,
            "progression": line.ended_by is StopReason.PROGRESSION or bool(progression_refs),
            "failure": line.ended_by in (StopReason.PROGRESSION, StopReason.TOXICITY)
            or bool(progression_refs),
        }[a.outcome]
        if not ok:
            continue
        for item in matching:
            findings.append(Finding(exposure_text(item, f"Line {line.number}: "), item.source_ref))
        if a.outcome in {"progression", "failure"}:
            reason = "progression" if progression_refs or line.ended_by is StopReason.PROGRESSION \
                else (line.ended_by.value if line.ended_by else "unknown")  # fmt: skip
            refs = progression_refs or line.end_evidence
            findings.extend(
                Finding(f"Line {line.number} failed: {_FAILED.get(reason, reason)}", ref)
                for ref in refs
                if ref not in {f.source_ref for f in findings}
            )
    if findings or a.outcome not in {"any", "ongoing"}:
        return tuple(findings)
    # exposures that could not be placed in a line (undated) still count as exposure
    for item in ctx.patient.historical_exposures():
        if item.status is TherapyStatus.CANCELLED or not exposure_matches(ctx, a.drug, item):
            continue
        if a.outcome == "ongoing" and item.has_ended:
            continue
        if _within(mg_per_day(item), a.min_mg_per_day, a.max_mg_per_day):
            findings.append(Finding(exposure_text(item, "Undated exposure: "), item.source_ref))
    return tuple(findings)


class CountParams(Params):
    refs: ClassVar[dict[str, tuple[str, ...]]] = {"drug": ("drug-group",)}
    drug: str
    min: int = Field(default=0, ge=0)
    max: int | None = Field(default=None, ge=0)


@predicate("prior_agent_count", CountParams)
def prior_agent_count(ctx: Context, a: CountParams) -> Findings:
    """The number of distinct agents of a group the patient has received is in [min, max]."""
    members = ctx.valuesets.drug_members(a.drug)
    received: dict[str, str] = {}
    for item in ctx.patient.historical_exposures():
        if item.status is TherapyStatus.CANCELLED:
            continue
        for member in members:
            if member not in received and exposure_matches(ctx, member, item):
                received[member] = item.source_ref
    count = len(received)
    if count < a.min or (a.max is not None and count > a.max):
        return ()
    names = ", ".join(ctx.valuesets.get(m).display for m in sorted(received)) or "none"
    title = ctx.valuesets.get(a.drug).title
    agents = wording.count(count, "prior agent")
    return (Finding(f"{agents} from {title}: {names}", None),)


class LineCountParams(Params):
    min: int = Field(default=0, ge=0)
    max: int | None = Field(default=None, ge=0)


@predicate("line_count", LineCountParams)
def line_count(ctx: Context, a: LineCountParams) -> Findings:
    """The number of derived lines of systemic therapy is in [min, max]."""
    count = len(ctx.lines)
    if count < a.min or (a.max is not None and count > a.max):
        return ()
    if not ctx.lines:
        return (Finding("No line of systemic therapy on record", None),)
    text = "; ".join(f"line {ln.number}: {'+'.join(ln.agents)}" for ln in ctx.lines)
    return (Finding(f"{wording.count(count, 'line')} of systemic therapy: {text}", None),)


@predicate("progression_on_current_line", NoParams)
def progression_on_current_line(ctx: Context, a: NoParams) -> Findings:
    """The current line is ongoing although progression was documented since it started."""
    current = ctx.lines[-1] if ctx.lines and ctx.lines[-1].is_current else None
    if current is None:
        return ()
    refs = _progression_after(ctx, current)
    if not refs:
        return ()
    agents = "+".join(current.agents)
    return (
        Finding(f"Line {current.number} ({agents}) is still active", current.source_refs[0]),
        *(Finding(f"Progression documented on {agents}", ref) for ref in refs),
    )


# ---------------------------------------------------------------------------------------------
# draft orders (order-select / order-sign)


class DraftParams(Params):
    refs: ClassVar[dict[str, tuple[str, ...]]] = {"drug": ("drug", "drug-group")}
    drug: str
    min_mg_per_day: float | None = None
    max_mg_per_day: float | None = None
    not_mg_per_day: list[float] = Field(default_factory=list)
    schedule_not: tuple[int, int] | None = Field(
        default=None, description="(days_on, cycle_days) the draft's schedule must differ from"
    )

    @model_validator(mode="after")
    def _one_dose_rule(self) -> DraftParams:
        bounds = self.min_mg_per_day is not None or self.max_mg_per_day is not None
        if bounds and self.not_mg_per_day:
            raise ValueError("use either bounds or not_mg_per_day")
        return self


@predicate("draft_order", DraftParams, yields_order=True)
def draft_order(ctx: Context, a: DraftParams) -> Findings:
    """A draft order (selected, in order-select) for a drug, optionally with a dose condition.

    Dose conditions only match drafts whose daily dose (or schedule) is known.
    """
    findings: list[Finding] = []
    for draft in _considered_drafts(ctx):
        if not exposure_matches(ctx, a.drug, draft):
            continue
        dose = mg_per_day(draft)
        if not _within(dose, a.min_mg_per_day, a.max_mg_per_day):
            continue
        off_dose = (
            bool(a.not_mg_per_day)
            and dose is not None
            and all(dose != Decimal(str(v)) for v in a.not_mg_per_day)
        )
        off_schedule = False
        if a.schedule_not is not None and draft.dose is not None:
            days_on, cycle = draft.dose.days_on, draft.dose.cycle_days
            off_schedule = (days_on, cycle) != a.schedule_not and (
                days_on is not None or cycle is not None
            )
            if days_on is None and cycle is None and dose is not None:
                # a daily dose with no cycle information reads as continuous dosing
                off_schedule = True
        if (a.not_mg_per_day or a.schedule_not is not None) and not (off_dose or off_schedule):
            continue
        findings.append(_draft_finding(draft))
    return tuple(findings)


class RepeatParams(Params):
    refs: ClassVar[dict[str, tuple[str, ...]]] = {"drug": ("drug", "drug-group")}
    drug: str


@predicate("draft_repeats_progressed_drug", RepeatParams, yields_order=True)
def draft_repeats_progressed_drug(ctx: Context, a: RepeatParams) -> Findings:
    """A draft order for a drug of the group on which progression is documented."""
    findings: list[Finding] = []
    for draft in _considered_drafts(ctx):
        if not exposure_matches(ctx, a.drug, draft) or draft.agent.ingredient is None:
            continue
        for line in ctx.lines:
            if draft.agent.ingredient not in line.agents:
                continue
            refs: tuple[str, ...] = ()
            if line.ended_by is StopReason.PROGRESSION:
                refs = line.end_evidence or line.source_refs
            elif line.is_current:
                refs = _progression_after(ctx, line)
            if not refs:
                continue
            findings.append(_draft_finding(draft))
            findings.extend(
                Finding(
                    f"Progression documented on {draft.agent.ingredient} (line {line.number})",
                    ref,
                )
                for ref in refs
            )
            break
    return tuple(findings)


# ---------------------------------------------------------------------------------------------
# current therapy and co-medications


class OnTherapyParams(Params):
    refs: ClassVar[dict[str, tuple[str, ...]]] = {"drug": ("drug", "drug-group")}
    drug: str


@predicate("on_therapy", OnTherapyParams)
def on_therapy(ctx: Context, a: OnTherapyParams) -> Findings:
    """A current (active or on-hold, not draft) exposure to a drug of the set."""
    hits = [
        e
        for e in ctx.patient.historical_exposures()
        if e.status in (TherapyStatus.ACTIVE, TherapyStatus.ON_HOLD)
        and not e.has_ended
        and exposure_matches(ctx, a.drug, e)
    ]
    return tuple(Finding(exposure_text(e, "Current therapy: "), e.source_ref) for e in hits)


class ComedicationParams(Params):
    roles: list[CypRole] = Field(min_length=1)


@predicate("comedication", ComedicationParams)
def comedication(ctx: Context, a: ComedicationParams) -> Findings:
    """A current or drafted co-medication with one of the CYP3A4 roles."""
    hits = sorted(ctx.patient.comedications_with_role(*a.roles), key=lambda c: c.source_ref)
    drafts = [c for c in hits if c.is_draft]
    # A drafted co-medication is itself an order in focus (order-select: the selected ones), so
    # an interaction card also appears when the interacting drug is the one being ordered.
    in_focus = {c.source_ref for c in drafts}
    if ctx.hook == "order-select":
        anything_selected = any(d.is_selected for d in ctx.patient.draft_exposures()) or any(
            c.is_selected for c in drafts
        )
        if anything_selected:
            in_focus = {c.source_ref for c in drafts if c.is_selected}
    return tuple(
        Finding(
            f"Co-medication {c.agent.ingredient or (c.code.display if c.code else 'drug')}"
            f"{' (draft order)' if c.is_draft else ''}: "
            f"{c.role.replace('-', ' ') if c.role else 'no role'} of CYP3A4",
            c.source_ref,
            c.order_id if c.is_draft and c.source_ref in in_focus else None,
        )
        for c in hits
    )


@predicate("biomarkers_on_record", NoParams)
def biomarkers_on_record(ctx: Context, a: NoParams) -> Findings:
    """Always true: lists the biomarker results on record (or says there are none)."""
    markers = sorted(ctx.patient.biomarkers, key=lambda m: (m.gene.symbol, m.source_ref))
    if not markers:
        return (Finding("No molecular test result on record", None),)
    return tuple(Finding(biomarker_text(m), _ref(m.source_ref)) for m in markers)
