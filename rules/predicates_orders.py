"""Order predicates: the draft orders of order-select and order-sign, current therapy and
co-medications.

Registered in the same closed registry as :mod:`rules.predicates` (imported by the loader).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import ClassVar

from pydantic import Field, model_validator

from rules.patient import CypRole, StopReason, TherapyExposure, TherapyStatus
from rules.predicates import (
    Context,
    Findings,
    Params,
    exposure_matches,
    exposure_text,
    mg_per_day,
    predicate,
    predicate_holds,
)
from rules.predicates_therapy import dose_within, progression_after
from rules.results import Finding


def draft_finding(draft: TherapyExposure) -> Finding:
    """The finding that ties a recommendation to the draft order it is about."""
    return Finding(
        exposure_text(draft, "Draft order: "),
        draft.source_ref,
        order_id=draft.order_id or draft.source_ref,
    )


def considered_drafts(ctx: Context) -> tuple[TherapyExposure, ...]:
    """order-select: the selected drafts (all drafts if none is flagged); else all drafts."""
    drafts = ctx.patient.draft_exposures()
    if ctx.hook == "order-select":
        selected = tuple(d for d in drafts if d.is_selected)
        return selected or drafts
    return drafts


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
    for draft in considered_drafts(ctx):
        if not exposure_matches(ctx, a.drug, draft):
            continue
        dose = mg_per_day(draft)
        if not dose_within(dose, a.min_mg_per_day, a.max_mg_per_day):
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
        findings.append(draft_finding(draft))
    return tuple(findings)


class RepeatParams(Params):
    refs: ClassVar[dict[str, tuple[str, ...]]] = {"drug": ("drug", "drug-group")}
    drug: str


@predicate("draft_repeats_progressed_drug", RepeatParams, yields_order=True)
def draft_repeats_progressed_drug(ctx: Context, a: RepeatParams) -> Findings:
    """A draft order for a drug of the group on which progression is documented."""
    findings: list[Finding] = []
    for draft in considered_drafts(ctx):
        if not exposure_matches(ctx, a.drug, draft) or draft.agent.ingredient is None:
            continue
        for line in ctx.lines:
            if draft.agent.ingredient not in line.agents:
                continue
            refs: tuple[str, ...] = ()
            if line.ended_by is StopReason.PROGRESSION:
                refs = line.end_evidence or line.source_refs
            elif line.is_current:
                refs = progression_after(ctx, line)
            if not refs:
                continue
            findings.append(draft_finding(draft))
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
