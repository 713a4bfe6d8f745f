"""FHIR date/dateTime/Period -> PartialDate (precision kept)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mapping.codes import as_dict, as_str
from rules.patient import PartialDate


def parse_date(value: Any) -> PartialDate | None:
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
