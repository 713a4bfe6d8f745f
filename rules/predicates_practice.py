"""Real-practice predicates: documented intolerance and limited (focal) progression.

Registered in the same closed registry as :mod:`rules.predicates` (imported by the loader).
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from rules.patient import DiseaseStatusValue
from rules.predicates import Context, Findings, NoParams, Params, predicate
from rules.results import Finding


class IntoleranceParams(Params):
    refs: ClassVar[dict[str, tuple[str, ...]]] = {"drug": ("drug", "drug-group")}
    drug: str
    rules_out_mg_per_day: float | None = Field(
        default=None,
        description=(
            "only intolerances that rule this daily dose out: one at this dose or below, or "
            "one whose dose the record does not state; empty: any intolerance of the drug"
        ),
    )


@predicate("intolerance", IntoleranceParams)
def intolerance(ctx: Context, a: IntoleranceParams) -> Findings:
    """The record shows the drug was not tolerated: an AllergyIntolerance, an order stopped for
    toxicity, a note saying so, or a documented dose reduction (:mod:`rules.tolerability`)."""
    dose = Decimal(str(a.rules_out_mg_per_day)) if a.rules_out_mg_per_day is not None else None
    hits = [
        i
        for i in ctx.patient.intolerances()
        if ctx.valuesets.matches(a.drug, (), i.ingredient) and i.covers(dose)
    ]
    hits.sort(key=lambda i: (i.source_ref, i.kind))
    return tuple(Finding(i.text, i.source_ref) for i in hits)


@predicate("limited_progression_on_current_line", NoParams)
def limited_progression_on_current_line(ctx: Context, a: NoParams) -> Findings:
    """The current line is ongoing and every progression recorded since it started is said to
    be limited (focal, oligo-, isolated): the record reads as treatment through limited
    progression, with local treatment of the growing lesion, not as an ignored failure."""
    current = ctx.lines[-1] if ctx.lines and ctx.lines[-1].is_current else None
    if current is None or current.start is None:
        return ()
    start = current.start.lower_bound()
    events = [
        s
        for s in ctx.patient.disease_status
        if s.value is DiseaseStatusValue.PROGRESSION
        and s.date is not None
        and start <= s.date.lower_bound() <= ctx.as_of
    ]
    if not events or not all(s.limited for s in events):
        return ()
    agents = "+".join(current.agents)
    return tuple(
        Finding(f"Limited progression recorded on {agents} ({s.date})", s.source_ref)
        for s in events
    )
