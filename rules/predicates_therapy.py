"""Therapy predicates: therapy history and lines of therapy (draft orders, current therapy and
co-medications: :mod:`rules.predicates_orders`).

Registered in the same closed registry as :mod:`rules.predicates` (imported by the loader).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field

from rules import wording
from rules.patient import (
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


def progression_after(ctx: Context, line: LineOfTherapy) -> tuple[str, ...]:
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


def dose_within(value: Decimal | None, low: float | None, high: float | None) -> bool:
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
        matching = [e for e in matching if dose_within(mg_per_day(e), a.min_mg_per_day,
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
        progression_refs = progression_after(ctx, line)
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
        if dose_within(mg_per_day(item), a.min_mg_per_day, a.max_mg_per_day):
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
                and dose_within(mg_per_day(e), a.min_mg_per_day, a.max_mg_per_day)
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
    refs = progression_after(ctx, current)
    if not refs:
        return ()
    agents = "+".join(current.agents)
    return (
        Finding(f"Line {current.number} ({agents}) is still active", current.source_refs[0]),
        *(Finding(f"Progression documented on {agents}", ref) for ref in refs),
    )
