"""Lines of therapy derived from therapy exposures and disease status.

Part of the FHIR-free patient model (:mod:`rules.patient` re-exports these names).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from rules.facts import DiseaseStatus, TherapyExposure
from rules.values import PartialDate
from rules.vocabulary import (
    DiseaseStatusValue,
    StopReason,
    TherapyStatus,
    TreatmentIntent,
)

__all__ = [
    "COMBINATION_WINDOW_DAYS",
    "PROGRESSION_WINDOW_DAYS",
    "LineOfTherapy",
    "derive_lines_of_therapy",
]


@dataclass(frozen=True, slots=True)
class LineOfTherapy:
    """A derived line of therapy in the advanced setting.

    ``ended_by`` is ``None`` while the line is ongoing. ``end_evidence`` lists the references
    that support ``ended_by`` (the stopped order, or a disease-status observation).
    """

    number: int
    agents: tuple[str, ...]
    exposures: tuple[TherapyExposure, ...]
    start: PartialDate | None
    end: PartialDate | None
    ended_by: StopReason | None
    end_evidence: tuple[str, ...] = ()

    @property
    def is_current(self) -> bool:
        return self.ended_by is None

    @property
    def drug_classes(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for exposure in self.exposures:
            if exposure.agent.drug_class:
                seen[exposure.agent.drug_class] = None
        return tuple(seen)

    @property
    def source_refs(self) -> tuple[str, ...]:
        return tuple(e.source_ref for e in self.exposures)


#: Exposures starting within this many days of a line's start join that line (combinations).
COMBINATION_WINDOW_DAYS = 14
#: A progression status up to this many days after a line's end explains an unexplained stop.
PROGRESSION_WINDOW_DAYS = 30

_REASON_PRIORITY = {
    StopReason.PROGRESSION: 0,
    StopReason.TOXICITY: 1,
    StopReason.COMPLETED: 2,
    StopReason.OTHER: 3,
    StopReason.UNKNOWN: 4,
}


#: Recorded intents outside the advanced setting: such courses are never lines of therapy.
_NON_ADVANCED_INTENTS = frozenset(
    {TreatmentIntent.CURATIVE, TreatmentIntent.ADJUVANT, TreatmentIntent.NEOADJUVANT}
)

# Enum members read once at import: on Python 3.11 every ``SomeEnum.MEMBER`` load goes through
# EnumType's __getattr__ hook (~650 instructions), and this runs once per exposure.
_NOT_ORDERED = (TherapyStatus.CANCELLED, TherapyStatus.DRAFT)


def _line_eligible(exposure: TherapyExposure) -> bool:
    return (
        not exposure.is_draft
        and exposure.agent.antineoplastic
        and exposure.agent.ingredient is not None
        and exposure.intent not in _NON_ADVANCED_INTENTS
        and exposure.status not in _NOT_ORDERED
        and exposure.start is not None
    )


def derive_lines_of_therapy(
    exposures: Iterable[TherapyExposure],
    disease_status: Iterable[DiseaseStatus] = (),
) -> tuple[LineOfTherapy, ...]:
    """Order the advanced-setting, cancer-directed exposures into lines of therapy.

    Rules (documented so that a card can explain them):
    * only recognised antineoplastic agents, not drafts, not cancelled, not curative-,
      adjuvant- or neoadjuvant-intent (lines count advanced-setting exposures only),
      and only exposures with a start date (undated exposures cannot be ordered);
    * an exposure joins the current line if its agent is already in it (dose change, renewal)
      or if it starts within ``COMBINATION_WINDOW_DAYS`` of the line's start (combination);
      otherwise it opens a new line;
    * a line ends when all its exposures have ended, or when a later line starts;
      ``ended_by`` is the most informative stop reason of its last-ending exposures
      (progression > toxicity > completed > other > unknown). An unexplained end followed by a
      progression disease-status event in [line start, end + ``PROGRESSION_WINDOW_DAYS``] is
      attributed to progression.
    """
    # (start, reference, position, exposure): sorted by start and reference, ties in the
    # given order; each start's lower bound computed once.
    dated = sorted(
        (e.start.lower_bound(), e.source_ref, position, e)
        for position, e in enumerate(exposures)
        if _line_eligible(e) and e.start is not None
    )
    groups: list[list[TherapyExposure]] = []
    #: The lower bound of each exposure's start, by position in ``groups``.
    starts: list[list[dt.date]] = []
    line_start = dt.date.min
    current_agents: set[str | None] = set()
    for day, _ref, _position, exposure in dated:
        if groups:
            delta = (day - line_start).days
            if exposure.agent.ingredient in current_agents or delta <= COMBINATION_WINDOW_DAYS:
                groups[-1].append(exposure)
                starts[-1].append(day)
                current_agents.add(exposure.agent.ingredient)
                continue
        groups.append([exposure])
        starts.append([day])
        line_start = day
        current_agents = {exposure.agent.ingredient}

    progressions = [
        s for s in disease_status if s.value is DiseaseStatusValue.PROGRESSION and s.date
    ]
    lines: list[LineOfTherapy] = []
    for index, group in enumerate(groups):
        is_last = index == len(groups) - 1
        agents = tuple(dict.fromkeys(e.agent.ingredient for e in group if e.agent.ingredient))
        start = group[0].start
        all_ended = all(e.has_ended for e in group)
        # The last exposures of the line (by start) decide why it ended.
        days = starts[index]
        latest_start = max(days)
        last_exposures = [e for e, day in zip(group, days, strict=True) if day == latest_start]
        ends = [e.end for e in group if e.end is not None]
        end = max(ends, key=PartialDate.sort_key) if ends else None
        ended_by: StopReason | None
        evidence: tuple[str, ...] = ()
        if all_ended or not is_last:
            reasons = sorted(
                ((e.stop_reason or StopReason.UNKNOWN), e.source_ref) for e in last_exposures
            )
            reasons.sort(key=lambda r: _REASON_PRIORITY[r[0]])
            ended_by = reasons[0][0]
            evidence = tuple(ref for reason, ref in reasons if reason is ended_by)
            if ended_by is StopReason.UNKNOWN:
                evidence = ()
            if ended_by in (StopReason.UNKNOWN, StopReason.OTHER) and start is not None:
                window_end = (end or start).upper_bound() + dt.timedelta(
                    days=PROGRESSION_WINDOW_DAYS
                )
                if not is_last:
                    next_start = groups[index + 1][0].start
                    assert next_start is not None
                    window_end = min(window_end, next_start.upper_bound())
                hits = [
                    s
                    for s in progressions
                    if s.date is not None
                    and start.lower_bound() <= s.date.lower_bound() <= window_end
                ]
                if hits and ended_by is StopReason.UNKNOWN:
                    ended_by = StopReason.PROGRESSION
                    evidence = tuple(s.source_ref for s in hits)
        else:
            ended_by = None
        lines.append(
            LineOfTherapy(
                number=index + 1,
                agents=agents,
                exposures=tuple(group),
                start=start,
                end=end if ended_by is not None else None,
                ended_by=ended_by,
                end_evidence=evidence,
            )
        )
    return tuple(lines)
