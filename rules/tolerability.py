"""Drug intolerance: what the record shows a patient did not tolerate, and at what dose.

Part of the FHIR-free patient model. Two kinds of fact end up here:

* recorded ones, read by the mapping: an AllergyIntolerance naming one of our drugs (type
  ``intolerance``, ``allergy`` or not stated), or a medication order whose note or stop reason
  says in words that it was not tolerated (:class:`RecordedIntolerance`);
* derived ones, from the therapy history (:func:`derive_intolerances`): an exposure stopped
  for toxicity (SNOMED CT 407563006 or the words of its statusReason), and a documented dose
  reduction, i.e. a later non-draft order of the same drug at a lower daily dose.

A rule never pushes a drug back to a dose at or above one of these (``intolerance`` predicate;
the engine also drops such order actions). ``mg_per_day`` is the dose that was not tolerated;
``None`` means the record does not say, and then any dose of that drug counts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from rules.facts import TherapyExposure
from rules.frozen import fast_init
from rules.values import PartialDate, _fmt_decimal
from rules.vocabulary import StopReason, TherapyStatus

__all__ = [
    "DrugIntolerance",
    "IntoleranceKind",
    "derive_intolerances",
]


class IntoleranceKind(StrEnum):
    INTOLERANCE_RECORD = "intolerance-record"  # AllergyIntolerance, type intolerance
    ALLERGY_RECORD = "allergy-record"  # AllergyIntolerance, type allergy or not stated
    STOPPED_FOR_TOXICITY = "stopped-for-toxicity"
    DOSE_REDUCTION = "dose-reduction"
    NOTE = "note"  # an order's note or stop-reason text says it was not tolerated


@fast_init
@dataclass(frozen=True, slots=True)
class DrugIntolerance:
    """One drug (by ingredient) the record shows was not tolerated, with the dose if known."""

    ingredient: str
    kind: IntoleranceKind
    source_ref: str
    mg_per_day: Decimal | None = None
    reduced_to_mg_per_day: Decimal | None = None
    date: PartialDate | None = None
    detail: str | None = None  # the record's own words (reaction, note), already shortened

    def covers(self, mg_per_day: Decimal | None) -> bool:
        """True when ``mg_per_day`` (None: any dose) is at or above the dose not tolerated."""
        if self.mg_per_day is None or mg_per_day is None:
            return True
        return mg_per_day >= self.mg_per_day

    @property
    def text(self) -> str:
        dose = f" {_fmt_decimal(self.mg_per_day)} mg/day" if self.mg_per_day is not None else ""
        if self.kind is IntoleranceKind.DOSE_REDUCTION and self.reduced_to_mg_per_day is not None:
            lower = _fmt_decimal(self.reduced_to_mg_per_day)
            return f"{self.ingredient.capitalize()} reduced from{dose} to {lower} mg/day"
        what = {
            IntoleranceKind.INTOLERANCE_RECORD: "intolerance recorded",
            IntoleranceKind.ALLERGY_RECORD: "allergy or intolerance recorded",
            IntoleranceKind.STOPPED_FOR_TOXICITY: "stopped for toxicity",
            IntoleranceKind.NOTE: "not tolerated, per the order's note",
        }[self.kind]
        tail = f" ({self.detail})" if self.detail else ""
        return f"{self.ingredient.capitalize()}{dose}: {what}{tail}"


def _mg(exposure: TherapyExposure) -> Decimal | None:
    return exposure.dose.mg_per_day if exposure.dose is not None else None


# Enum members read once at import: on Python 3.11 every ``SomeEnum.MEMBER`` load goes through
# EnumType's __getattr__ hook (~650 instructions), and this runs once per exposure.
_NOT_ORDERED = (TherapyStatus.CANCELLED, TherapyStatus.DRAFT)
_TOXICITY = StopReason.TOXICITY


def _countable(exposure: TherapyExposure) -> bool:
    return (
        not exposure.is_draft
        and exposure.agent.ingredient is not None
        and exposure.status not in _NOT_ORDERED
    )


def derive_intolerances(
    exposures: Iterable[TherapyExposure],
) -> tuple[DrugIntolerance, ...]:
    """Intolerances shown by the therapy history itself (see the module docstring).

    A dose reduction is an order that starts after an earlier order of the same drug, with no
    other cancer drug started in between, and has a lower known daily dose; the earlier,
    higher dose is the one not tolerated. (A re-challenge after other lines is not a
    reduction.)
    """
    exposures = tuple(exposures)
    other_starts = sorted(
        (e.start.lower_bound(), e.agent.ingredient)
        for e in exposures
        if _countable(e) and e.agent.antineoplastic and e.start is not None
    )
    found: list[DrugIntolerance] = []
    by_drug: dict[str, list[TherapyExposure]] = {}
    for exposure in exposures:
        if not _countable(exposure):
            continue
        assert exposure.agent.ingredient is not None
        if exposure.stop_reason is _TOXICITY:
            found.append(
                DrugIntolerance(
                    ingredient=exposure.agent.ingredient,
                    kind=IntoleranceKind.STOPPED_FOR_TOXICITY,
                    source_ref=exposure.source_ref,
                    mg_per_day=_mg(exposure),
                    date=exposure.end or exposure.start,
                )
            )
        elif exposure.intolerance_note is not None:
            found.append(
                DrugIntolerance(
                    ingredient=exposure.agent.ingredient,
                    kind=IntoleranceKind.NOTE,
                    source_ref=exposure.source_ref,
                    mg_per_day=_mg(exposure),
                    date=exposure.start,
                    detail=exposure.intolerance_note,
                )
            )
        if exposure.start is not None and _mg(exposure) is not None:
            by_drug.setdefault(exposure.agent.ingredient, []).append(exposure)
    for ingredient, orders in sorted(by_drug.items()):
        orders.sort(key=lambda e: (e.start.lower_bound() if e.start else dt.date.min, e.source_ref))
        highest: TherapyExposure | None = None
        for order in orders:
            dose, top = _mg(order), _mg(highest) if highest is not None else None
            assert dose is not None
            if highest is not None and top is not None and dose < top:
                assert highest.start is not None and order.start is not None
                before, after = highest.start.lower_bound(), order.start.lower_bound()
                switched = any(
                    before < day < after and other != ingredient for day, other in other_starts
                )
                if after > before and not switched:
                    found.append(
                        DrugIntolerance(
                            ingredient=ingredient,
                            kind=IntoleranceKind.DOSE_REDUCTION,
                            source_ref=order.source_ref,
                            mg_per_day=top,
                            reduced_to_mg_per_day=dose,
                            date=order.start,
                        )
                    )
            if top is None or dose > top:
                highest = order
    return tuple(found)
