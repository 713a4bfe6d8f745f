"""FHIR date/dateTime/Period -> PartialDate (precision kept)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fhir_mapping.codes import as_dict, as_str
from rules.patient import PartialDate
from rules.values import day_of

_from_iso = dt.date.fromisoformat


def parse_date(value: Any) -> PartialDate | None:
    if type(value) is str and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        # The common full date or dateTime ("2024-03-01", "2024-03-01T09:00:00Z") without the
        # regular expression: the same fields PartialDate.parse reads (its pattern's \d is
        # str.isdecimal), the same validation. First in C: a "YYYY-MM-DD" of ASCII digits
        # that is a real day; anything else (other decimal digits, day 30 of February) takes
        # the field-by-field path below.
        try:
            parsed = _from_iso(value[:10])
        except ValueError:
            pass
        else:
            return day_of(parsed)  # (PartialDate.from_date without re-checking the day)
        year, month, day = value[:4], value[5:7], value[8:10]
        if year.isdecimal() and month.isdecimal() and day.isdecimal():
            try:
                return PartialDate(int(year), int(month), int(day))
            except ValueError:
                return None
    text = as_str(value)
    return PartialDate.parse(text) if text else None


def period_start(value: Any) -> PartialDate | None:
    return parse_date(as_dict(value).get("start"))


def period_end(value: Any) -> PartialDate | None:
    return parse_date(as_dict(value).get("end"))


def effective_date(resource: Mapping[str, Any]) -> PartialDate | None:
    """Observation effective[x] (dateTime, Period.start, instant), falling back to issued."""
    return (
        parse_date(resource.get("effectiveDateTime"))
        or period_start(resource.get("effectivePeriod"))
        or parse_date(resource.get("effectiveInstant"))
        or parse_date(resource.get("issued"))
    )
