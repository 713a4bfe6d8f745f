"""Therapy predicates: therapy history, lines of therapy, draft orders, current therapy and
co-medications.

Registered in the same closed registry as :mod:`rules.predicates` (imported by the loader).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from rules import wording
from rules.patient import (
    CypRole,
    DiseaseStatusValue,
    LineOfTherapy,
    StopReason,
    TherapyExposure,
    TherapyStatus,
)
from rules.predicates import (
    Context,
    Findings,
    NoParams,
    Params,
    exposure_matches,
    exposure_text,
    mg_per_day,
    predicate,
    predicate_holds,
)
from rules.results import Finding

#: How a failed line is worded, by the reason recorded.
_FAILED = {
    "progression": "progression documented",
    "toxicity": "stopped for toxicity",
    "completed": "completed, then failed",
    "other": "stopped for another reason",
    "unknown": "reason not documented",
}


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
# therapy history


class ExposureParams(Params):
    refs: ClassVar[dict[str, tuple[str, ...]]] = {"drug": ("drug", "drug-group")}
    drug: str
    outcome: Literal["any", "progression", "failure", "ended", "ongoing"] = "any"
    min_mg_per_day: float | None = None
    max_mg_per_day: float | None = None


def _exposure_lines(
    ctx: Context, a: ExposureParams
) -> Iterator[tuple[LineOfTherapy, list[TherapyExposure], tuple[str, ...]]]:
    """The lines with exposures to the drug (at the dose) whose outcome fits: (line, its
    matching exposures, never empty, the progression events since it started if ongoing)."""
    for line in ctx.lines:
        matching = [e for e in line.exposures if exposure_matches(ctx, a.drug, e)]
        matching = [e for e in matching if _within(mg_per_day(e), a.min_mg_per_day,
                                                     a.max_mg_per_day)]  # fmt: skip
        if not matching:
            continue
        ok, progression_refs = _line_outcome(ctx, line, a.outcome)
        if ok:
            yield line, matching, progression_refs


def _line_outcome(ctx: Context, line: LineOfTherapy, outcome: str) -> tuple[bool, tuple[str, ...]]:
    """Whether the line's outcome fits ``outcome``, and the progression events that end it
    (or, if ongoing, those since it started)."""
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
    }[outcome]
    return ok, progression_refs


def _undated_exposures(ctx: Context, a: ExposureParams) -> Iterator[TherapyExposure]:
    """Exposures to the drug (at the dose) that could not be placed in a line (undated):
    asked only when no line has one, for outcomes ``any`` and ``ongoing``."""
    for item in ctx.patient.historical_exposures():
        if item.status is TherapyStatus.CANCELLED or not exposure_matches(ctx, a.drug, item):
            continue
        if a.outcome == "ongoing" and item.has_ended:
            continue
        if _within(mg_per_day(item), a.min_mg_per_day, a.max_mg_per_day):
            yield item


@predicate("exposure", ExposureParams)
def exposure(ctx: Context, a: ExposureParams) -> Findings:
    """A past or current (not draft) exposure to a drug, optionally with its outcome and dose.

    ``progression``: the line containing the drug ended by progression, or is ongoing with a
    progression status recorded since it started. ``failure``: progression or intolerance.
    """
    findings: list[Finding] = []
    for line, matching, progression_refs in _exposure_lines(ctx, a):
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
    for item in _undated_exposures(ctx, a):
        findings.append(Finding(exposure_text(item, "Undated exposure: "), item.source_ref))
    return tuple(findings)


@predicate_holds("exposure", ExposureParams)
def exposure_holds(ctx: Context, a: ExposureParams) -> bool:
    """``bool(exposure(ctx, a))``: a line yields at least one finding per matching exposure.
    A line is read up to its first exposure to the drug at the dose (the cycles of a regimen
    are dozens of orders), not to its end."""
    for line in ctx.lines:
        if (
            any(
                exposure_matches(ctx, a.drug, e)
                and _within(mg_per_day(e), a.min_mg_per_day, a.max_mg_per_day)
                for e in line.exposures
            )
            and _line_outcome(ctx, line, a.outcome)[0]
        ):
            return True
    if a.outcome not in {"any", "ongoing"}:
        return False
    return next(_undated_exposures(ctx, a), None) is not None


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


# Enum members read once at import: on Python 3.11 every ``SomeEnum.MEMBER`` load goes through
# EnumType's __getattr__ hook (~650 instructions), and this runs once per exposure for every
# on_therapy criterion.
_CURRENT_STATUSES = (TherapyStatus.ACTIVE, TherapyStatus.ON_HOLD)


class OnTherapyParams(Params):
    refs: ClassVar[dict[str, tuple[str, ...]]] = {"drug": ("drug", "drug-group")}
    drug: str


def _current_exposures(ctx: Context) -> tuple[TherapyExposure, ...]:
    """Active or on-hold, not ended, not draft exposures, in record order (once per call)."""
    key = ("current-exposures", None)
    found: tuple[TherapyExposure, ...] | None = ctx.derived.get(key)
    if found is None:
        found = ctx.derived[key] = tuple(
            e
            for e in ctx.patient.historical_exposures()
            if e.status in _CURRENT_STATUSES and not e.has_ended
        )
    return found


def _on_therapy_hits(ctx: Context, a: OnTherapyParams) -> Iterator[TherapyExposure]:
    for e in _current_exposures(ctx):
        if exposure_matches(ctx, a.drug, e):
            yield e


@predicate("on_therapy", OnTherapyParams)
def on_therapy(ctx: Context, a: OnTherapyParams) -> Findings:
    """A current (active or on-hold, not draft) exposure to a drug of the set."""
    return tuple(
        Finding(exposure_text(e, "Current therapy: "), e.source_ref)
        for e in _on_therapy_hits(ctx, a)
    )


@predicate_holds("on_therapy", OnTherapyParams)
def on_therapy_holds(ctx: Context, a: OnTherapyParams) -> bool:
    """``bool(on_therapy(ctx, a))``."""
    return next(_on_therapy_hits(ctx, a), None) is not None


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
