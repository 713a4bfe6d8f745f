"""Doses as EHRs write them -> :class:`rules.patient.Dose`.

* Mass doses (mg, g, µg) times the frequency give mg per day.
* Tablet and capsule counts (``{pill}``, ``{tbl}``, ``{capsule}``, "1 tablet") times the
  strength of the coded clinical drug give mg.
* Intermittent doses (an interval of two days or more, such as IV chemotherapy every 21 days)
  and body-surface doses (mg/m²) are kept per cycle with the cycle length; they are not forced
  into mg per day.
* A dose above the drug's labelled maximum (``dose_limits`` of ``drug_products.yaml``) is kept
  for display, marked implausible and given no mg per day, so no dose-based rule acts on it;
  the caller reports it as a mapping issue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from fhir_mapping.codes import as_decimal, as_dict, as_list, as_str, concept_codes
from fhir_mapping.products import DoseLimit, product_table
from rules.frozen import fast_init
from rules.patient import Dose

_MASS_FACTORS = {
    "mg": Decimal(1),
    "g": Decimal(1000),
    "ug": Decimal("0.001"),
    "mcg": Decimal("0.001"),
    "µg": Decimal("0.001"),
}
#: Body-surface units (UCUM ``mg/m2`` and the spellings seen in free-text units).
_PER_M2_UNITS = frozenset({"mg/m2", "mg/m^2", "mg/m²", "mg/(m2)", "mg/m.2"})
_PERIOD_DAYS = {
    "s": Decimal(1) / Decimal(86400),
    "min": Decimal(1) / Decimal(1440),
    "h": Decimal(1) / Decimal(24),
    "d": Decimal(1),
    "wk": Decimal(7),
    "mo": Decimal(30),
}
#: Units that count tablets or capsules (UCUM annotations as EHRs and the CDS Hooks Sandbox send
#: them, and plain words): times the strength of the coded clinical drug, they give milligrams.
_COUNT_UNITS = frozenset(
    {
        *(f"{{{word}}}" for word in ("pill", "pills", "tbl", "tab", "tablet", "tablets")),
        *(f"{{{word}}}" for word in ("capsule", "capsules", "cap", "caps")),
        *("tablet", "tablets", "tab", "tabs", "capsule", "capsules", "cap", "caps"),
        *("pill", "pills", "1"),
    }
)
_COUNT_TEXT = re.compile(r"^\s*1\s+(tablet|capsule|pill)s?\s*$", re.IGNORECASE)
#: Larger than any real dose in any unit: such a value is unreadable, not a dose.
_MAX_VALUE = Decimal(10) ** 9


def is_count_unit(unit: str | None) -> bool:
    """True for a tablet/capsule count unit (``{pill}``, ``{tbl}``, ``tablet``, "1 tablet")."""
    if unit is None:
        return False
    text = unit.strip().lower()
    return text in _COUNT_UNITS or _COUNT_TEXT.match(text) is not None


#: FHIR R4 timing-abbreviation codes (v3-GTSAbbreviation) with a fixed daily frequency
#: (hl7.org/fhir/R4/valueset-timing-abbreviation.html).
_TIMING_CODES = {"QD": Decimal(1), "BID": Decimal(2), "TID": Decimal(3), "QID": Decimal(4)}


def _decimal(value: Any) -> Decimal | None:
    result = as_decimal(value)
    return result if result is not None and abs(result) < _MAX_VALUE else None


def _per_day(timing: Mapping[str, Any]) -> Decimal | None:
    repeat = as_dict(timing.get("repeat"))
    frequency = _decimal(repeat.get("frequency"))
    period = _decimal(repeat.get("period"))
    unit = as_str(repeat.get("periodUnit"))
    if period is not None and unit in _PERIOD_DAYS and period > 0:
        return (frequency if frequency is not None else Decimal(1)) / (period * _PERIOD_DAYS[unit])
    for code in concept_codes(timing.get("code")):
        if code.code.upper() in _TIMING_CODES:
            return _TIMING_CODES[code.code.upper()]
    for coding in as_list(as_dict(timing.get("code")).get("coding")):
        value = (as_str(as_dict(coding).get("code")) or "").upper()
        if value in _TIMING_CODES:
            return _TIMING_CODES[value]
    return None


_WEEKS_ON_OFF = re.compile(r"(\d)\s*weeks?\s*on\W+(\d)\s*weeks?\s*off", re.IGNORECASE)
_DAYS_OF_CYCLE = re.compile(
    r"days?\s*1\s*(?:-|\u2013|to|through)\s*(\d{1,2})\s*(?:of|every|q)\s*(?:each\s*|a\s*)?"
    r"(\d{1,2})[- ]?days?",
    re.IGNORECASE,
)
_SCHEDULE_4_2 = re.compile(r"\bschedule\s*4\s*/\s*2\b", re.IGNORECASE)
_CONTINUOUS = re.compile(r"\bcontinuous(?:ly)?\b|\bcontinuous daily\b", re.IGNORECASE)


def _schedule(text: str) -> tuple[int | None, int | None, bool | None]:
    if match := _WEEKS_ON_OFF.search(text):
        on, off = int(match.group(1)), int(match.group(2))
        return on * 7, (on + off) * 7, off == 0
    if match := _DAYS_OF_CYCLE.search(text):
        on, cycle = int(match.group(1)), int(match.group(2))
        if 0 < on <= cycle:
            return on, cycle, on == cycle
    if _SCHEDULE_4_2.search(text):
        return 28, 42, False
    if _CONTINUOUS.search(text):
        return None, None, True
    return None, None, None


@fast_init
@dataclass(frozen=True, slots=True)
class DoseReading:
    """The dose of one order and what could not be trusted in it (fixed texts, no values)."""

    dose: Dose | None
    problems: tuple[str, ...] = ()


def _normal(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.001")).normalize()


def read_dose(dosages: list[Any], strength_mg: Decimal | None = None) -> DoseReading:
    """The dose of an order; ``strength_mg`` (the coded clinical drug's strength per tablet or
    capsule) turns a tablet or capsule count into milligrams."""
    amount: Decimal | None = None
    unit: str | None = None
    per_day_total: Decimal | None = None
    mg_total: Decimal | None = Decimal(0)
    per_m2 = False
    days_on = cycle = None
    continuous: bool | None = None
    found = False
    problems: list[str] = []
    for dosage in dosages:
        dosage_map = as_dict(dosage)
        for text in (as_str(dosage_map.get("text")), as_str(dosage_map.get("patientInstruction"))):
            if text and days_on is None and continuous is None:
                days_on, cycle, continuous = _schedule(text)
        quantity: Mapping[str, Any] = {}
        for dose_rate in as_list(dosage_map.get("doseAndRate")):
            quantity = as_dict(as_dict(dose_rate).get("doseQuantity"))
            if quantity:
                break
        value = _decimal(quantity.get("value"))
        if value is None:
            if quantity.get("value") is not None:
                problems.append("doseQuantity.value is not a readable dose; dose not used")
            mg_total = None
            continue
        found = True
        this_unit = as_str(quantity.get("code")) or as_str(quantity.get("unit"))
        normalised_unit = (this_unit or "").strip().lower()
        factor = _MASS_FACTORS.get(normalised_unit)
        if (
            factor is None
            and strength_mg is not None
            and (is_count_unit(this_unit) or is_count_unit(as_str(quantity.get("unit"))))
        ):
            value, this_unit, factor = value * strength_mg, "mg", Decimal(1)
        if normalised_unit in _PER_M2_UNITS:
            per_m2, this_unit = True, "mg/m2"
        if amount is None:
            amount, unit = value, this_unit
        per_day = _per_day(as_dict(dosage_map.get("timing")))
        if per_day is not None:
            per_day_total = (per_day_total or Decimal(0)) + per_day
        if mg_total is not None and factor is not None and per_day is not None:
            mg_total += value * factor * per_day
        else:
            mg_total = None
    if not found and days_on is None and continuous is None:
        return DoseReading(None, tuple(problems))
    if continuous is None and days_on is not None and cycle is not None:
        continuous = days_on >= cycle
    mg_per_day = _normal(mg_total) if found and mg_total else None
    per_cycle: Decimal | None = None
    per_cycle_unit: str | None = None
    intermittent = per_day_total is not None and 0 < per_day_total <= Decimal("0.5")
    if found and amount is not None and (intermittent or per_m2):
        # IV chemotherapy: the dose of each cycle, with the cycle length, not mg per day
        per_cycle_unit = "mg/m2" if per_m2 else ("mg" if unit == "mg" else None)
        if intermittent and per_day_total is not None and cycle is None:
            interval = Decimal(1) / per_day_total
            if interval == interval.to_integral_value():
                cycle, per_cycle = int(interval), amount
        elif cycle is not None and days_on is not None and per_day_total is not None:
            per_cycle = amount * per_day_total * days_on
        elif cycle is not None and intermittent and per_day_total is not None:
            per_cycle = amount * per_day_total * cycle
        per_cycle = _normal(per_cycle) if per_cycle is not None and per_cycle_unit else None
        per_cycle_unit = per_cycle_unit if per_cycle is not None else None
        mg_per_day = None
    dose = Dose(
        amount=amount,
        unit=unit,
        administrations_per_day=per_day_total.normalize() if per_day_total else None,
        mg_per_day=mg_per_day,
        days_on=days_on,
        cycle_days=cycle,
        continuous=continuous,
        per_cycle=per_cycle,
        per_cycle_unit=per_cycle_unit,
    )
    return DoseReading(dose, tuple(problems))


def _above(limit: DoseLimit, dose: Dose) -> str | None:
    """Why ``dose`` exceeds ``limit`` (a fixed text with the limit's numbers), or ``None``."""
    daily = dose.mg_per_day
    if limit.max_mg_per_day is not None and daily is not None and daily > limit.max_mg_per_day:
        return f"above the labelled maximum of {limit.max_mg_per_day} mg/day"
    if limit.max_mg_m2_per_cycle is None or limit.min_cycle_days is None:
        return None
    per_cycle_text = (
        f"above the labelled {limit.max_mg_m2_per_cycle} mg/m2 per cycle of at least "
        f"{limit.min_cycle_days} days"
    )
    # average exposure per day, in mg/m2 or (any body surface up to the ceiling) in mg
    ceiling_m2 = limit.max_mg_m2_per_cycle / limit.min_cycle_days
    ceiling_mg = ceiling_m2 * limit.bsa_ceiling_m2
    if dose.per_cycle is not None and dose.cycle_days:
        average = dose.per_cycle / dose.cycle_days
        ceiling = ceiling_m2 if dose.per_cycle_unit == "mg/m2" else ceiling_mg
        if average > ceiling * Decimal("1.001"):
            return per_cycle_text
        if dose.per_cycle_unit == "mg/m2" and dose.per_cycle > limit.max_mg_m2_per_cycle:
            return per_cycle_text
    if dose.mg_per_day is not None and dose.mg_per_day > ceiling_mg:
        return per_cycle_text
    return None


def check_plausible(ingredient: str | None, dose: Dose | None) -> tuple[Dose | None, str | None]:
    """``dose`` marked implausible (no mg per day, no per-cycle dose) when it exceeds the
    drug's labelled maximum, with the reason; unchanged otherwise."""
    if dose is None or ingredient is None:
        return dose, None
    limit = product_table().dose_limits.get(ingredient)
    if limit is None:
        return dose, None
    reason = _above(limit, dose)
    if reason is None:
        return dose, None
    stated = dose.schedule or "the ordered dose"
    implausible = replace(
        dose, mg_per_day=None, per_cycle=None, per_cycle_unit=None, plausible=False
    )
    return implausible, f"{ingredient} {stated} is {reason}; dose not used by any rule"


__all__ = ["DoseReading", "check_plausible", "is_count_unit", "read_dose"]
