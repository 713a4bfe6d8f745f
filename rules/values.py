"""Value types of the patient model: codes, partial dates, genes, agents and doses.

Dates keep their precision (:class:`PartialDate`): ``"2021"`` is not ``2021-01-01``.
Part of the FHIR-free patient model (:mod:`rules.patient` re-exports these names).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import total_ordering
from typing import Any

from rules.frozen import fast_init, twin

__all__ = [
    "Agent",
    "Code",
    "Dose",
    "Gene",
    "PartialDate",
    "day_of",
]


@fast_init
@dataclass(frozen=True, slots=True)
class Code:
    """A coded value: system URI, code and (informational only) display."""

    system: str
    code: str
    display: str | None = None

    def matches(self, system: str, code: str) -> bool:
        return self.system == system and self.code == code


_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@total_ordering
@fast_init
@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date that keeps its precision: year, year-month or full date.

    Ordering compares lower bounds, then precision (``2021`` < ``2021-01`` < ``2021-01-01``).
    """

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.day is not None and self.month is None:
            raise ValueError("a day needs a month")
        # validates ranges (raises ValueError on 2021-02-30 etc.)
        dt.date(self.year, self.month or 1, self.day or 1)

    @classmethod
    def parse(cls, text: str) -> PartialDate | None:
        """Parse a FHIR date/dateTime/instant prefix; ``None`` if it is not one."""
        match = _DATE_RE.match(text.strip())
        if match is None:
            return None
        year, month, day = match.groups()
        try:
            return cls(int(year), int(month) if month else None, int(day) if day else None)
        except ValueError:
            return None

    @classmethod
    def from_date(cls, value: dt.date) -> PartialDate:
        return cls(value.year, value.month, value.day)

    @property
    def precision(self) -> str:
        if self.day is not None:
            return "day"
        if self.month is not None:
            return "month"
        return "year"

    def lower_bound(self) -> dt.date:
        """The earliest calendar day this partial date can mean."""
        return dt.date(self.year, self.month or 1, self.day or 1)

    def upper_bound(self) -> dt.date:
        """The latest calendar day this partial date can mean."""
        if self.day is not None and self.month is not None:
            return dt.date(self.year, self.month, self.day)
        if self.month is not None:
            if self.month == 12:
                return dt.date(self.year, 12, 31)
            return dt.date(self.year, self.month + 1, 1) - dt.timedelta(days=1)
        return dt.date(self.year, 12, 31)

    def isoformat(self) -> str:
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def _key(self) -> tuple[dt.date, int]:
        return (self.lower_bound(), {"year": 0, "month": 1, "day": 2}[self.precision])

    def sort_key(self) -> tuple[int, int, int, int]:
        """A key that orders as ``<`` does (lower bound, then precision): ``max(dates,
        key=PartialDate.sort_key)`` is ``max(dates)`` without a comparison call per pair."""
        month, day = self.month, self.day
        precision = 0 if month is None else (1 if day is None else 2)
        return (self.year, month or 1, day or 1, precision)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        return self.isoformat()


#: :class:`PartialDate`'s twin for :func:`day_of` (:func:`rules.frozen.twin`): a field of it is
#: a plain slot store.
_PartialDateBuilding = twin(PartialDate)
_new = object.__new__


def day_of(value: dt.date) -> PartialDate:
    """``PartialDate.from_date(value)`` for a :class:`datetime.date`, without the range check
    of ``PartialDate.__post_init__``: a date is a real calendar day already, so the check
    cannot fail (a third of the cost of a full date read from FHIR). The object is a plain
    :class:`PartialDate` when it leaves (equal, same hash, immutable)."""
    made: Any = _new(_PartialDateBuilding)
    made.year = value.year
    made.month = value.month
    made.day = value.day
    made.__class__ = PartialDate
    return made  # type: ignore[no-any-return]


@fast_init
@dataclass(frozen=True, slots=True)
class Gene:
    """A gene: HGNC id (``HGNC:6342``) when coded, and the symbol (``KIT``)."""

    symbol: str
    hgnc_id: str | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class Agent:
    """A normalised drug ingredient.

    ``ingredient`` is the lower-case ingredient name from the drug table (``"imatinib"``),
    or ``None`` when the medication was not recognised.
    """

    ingredient: str | None
    rxnorm: str | None = None
    atc: str | None = None
    drug_class: str | None = None
    antineoplastic: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class Dose:
    """Dose and schedule as ordered, normalised where the data allow it.

    ``mg_per_day`` is only set when the dose is in mass units (or a tablet count of a coded
    strength) and the frequency is daily or more often. ``days_on``/``cycle_days`` describe
    intermittent schedules (sunitinib 4/2 is 28/42). IV chemotherapy given every few weeks or
    dosed by body surface keeps its dose per cycle (``per_cycle`` in ``per_cycle_unit``, "mg"
    or "mg/m2", every ``cycle_days``) instead of a daily dose. ``plausible`` is False when the
    ordered dose exceeds the drug's labelled maximum: it is shown, never acted on.
    """

    amount: Decimal | None = None
    unit: str | None = None
    administrations_per_day: Decimal | None = None
    mg_per_day: Decimal | None = None
    days_on: int | None = None
    cycle_days: int | None = None
    continuous: bool | None = None  # True only when the order says so (or days_on == cycle)
    per_cycle: Decimal | None = None
    per_cycle_unit: str | None = None
    plausible: bool = True

    @property
    def schedule(self) -> str | None:
        """A short schedule label such as ``"400 mg/day"``, ``"50 mg/day 28/42 days"`` or
        ``"75 mg/m2 every 21 days"``."""
        parts: list[str] = []
        if self.mg_per_day is not None:
            parts.append(f"{_fmt_decimal(self.mg_per_day)} mg/day")
        elif self.per_cycle is not None and self.per_cycle_unit and self.cycle_days:
            total = f"{_fmt_decimal(self.per_cycle)} {self.per_cycle_unit}"
            days = self.days_on
            if days is not None and 1 < days < self.cycle_days and self.amount is not None:
                each = f"{_fmt_decimal(self.amount)} {self.per_cycle_unit}"
                return f"{each} on days 1-{days} of {self.cycle_days} ({total} per cycle)"
            return f"{total} every {self.cycle_days} days"
        elif not self.plausible and self.amount is not None and self.unit:
            times = self.administrations_per_day
            per = f" x{_fmt_decimal(times)}/day" if times is not None else ""
            parts.append(f"{_fmt_decimal(self.amount)} {self.unit}{per} (implausible)")
        if self.days_on is not None and self.cycle_days is not None:
            if self.days_on < self.cycle_days:
                parts.append(f"days 1-{self.days_on} of {self.cycle_days}")
            else:
                parts.append("continuous")
        elif self.continuous:
            parts.append("continuous")
        return " ".join(parts) or None


def _fmt_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text
