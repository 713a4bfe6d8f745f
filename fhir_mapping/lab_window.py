"""Which organ-function laboratory Observations are worth validating on this call.

The rules read only one laboratory result per kind: the most recent one dated within their
look-back window before the day of the call (``rules.lab_lookback``; 30 days today). A
year-long record holds hundreds of ALT, AST, bilirubin and creatinine clearance results, and
validating and mapping every one of them made the cost of a call grow with the length of the
record. Here the candidates are chosen by a cheap read of their raw date elements first, and
only those that can be the result the rules read are mapped:

* a result every date element of which parses to a day outside the window (older than the
  look-back, or after the day of the call) can never be read by a rule: skipped, like an
  unrelated lab (never validated, so no issue about it);
* a result with no readable date at all is mapped as before (its missing-date issue stays);
* the others are mapped per kind, newest first, until a mapped result is at least as recent
  as every candidate left (results of that same day are all mapped: ties are broken by
  reference in the rules).

Exact, not a heuristic: validation only ever drops elements, so the date a mapped result
carries is one of the raw dates read here (``fhir_mapping.dates.effective_date`` takes the
first that parses), and the newest in-window date of a candidate is an upper bound of it.
The property test in ``tests/fhir_mapping/test_lab_window.py`` checks that the rules' lab
reading (``latest_lab`` for every kind and window up to the look-back) is identical to
reading every result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fhir_mapping.dates import parse_date
from rules.populations import LabKind, LabResult

#: Kinds this module selects among (pregnancy records are always read).
LAB_KINDS = frozenset(kind.value for kind in LabKind)

_UNDATED = 0
_OUTSIDE = 1


_from_iso = dt.date.fromisoformat


def _day(value: Any) -> dt.date | None:
    """``parse_date(value).lower_bound()``, ``None`` when it does not parse: the common full
    date or dateTime (``"2024-03-01T09:00:00Z"``) read in C, as ``parse_date`` first reads it,
    without building the :class:`~rules.patient.PartialDate` (the lower bound of a full date
    is that day); anything else through ``parse_date`` itself."""
    if type(value) is str and len(value) >= 10 and value[4] == "-" and value[7] == "-":
        try:
            return _from_iso(value[:10])
        except ValueError:
            pass
    date = parse_date(value)
    return None if date is None else date.lower_bound()


def newest_in_window(raw: Mapping[str, Any], earliest: dt.date, latest: dt.date) -> Any:
    """The newest day in ``[earliest, latest]`` among the raw dates ``effective_date`` may
    read (effectiveDateTime, effectivePeriod.start, effectiveInstant, issued); else
    :data:`_OUTSIDE` if one of them parses (all outside the window), else :data:`_UNDATED`."""
    value = raw.get("effectiveDateTime")
    if (
        type(value) is str
        and len(value) >= 10
        and value[4] == "-"
        and value[7] == "-"
        and raw.get("effectivePeriod") is None
        and raw.get("effectiveInstant") is None
        and raw.get("issued") is None
    ):
        # The common result: one full dateTime and no other date element (the loop below,
        # for that one value, read in C).
        try:
            only = _from_iso(value[:10])
        except ValueError:
            pass
        else:
            return only if earliest <= only <= latest else _OUTSIDE
    period = raw.get("effectivePeriod")
    best: dt.date | None = None
    parsed = False
    for value in (
        raw.get("effectiveDateTime"),
        period.get("start") if period is not None and isinstance(period, Mapping) else None,
        raw.get("effectiveInstant"),
        raw.get("issued"),
    ):
        if value is None:
            continue
        day: dt.date | None
        if type(value) is str and len(value) >= 10 and value[4] == "-" and value[7] == "-":
            try:  # (_day's common case, inlined: once per laboratory result)
                day = _from_iso(value[:10])
            except ValueError:
                day = _day(value)
        else:
            day = _day(value)
        if day is None:
            continue
        parsed = True
        if earliest <= day <= latest and (best is None or day > best):
            best = day
    if best is not None:
        return best
    return _OUTSIDE if parsed else _UNDATED


def chosen(
    entries: Sequence[tuple[Mapping[str, Any], str]],
    as_of: dt.date,
    lookback_days: int,
    read: Callable[[int], Sequence[LabResult]],
) -> set[int]:
    """Indexes of the ``(raw, kind)`` entries to map. ``read(index)`` maps one entry (the
    caller keeps what it produced) and returns its laboratory results. Entries that are not
    organ-function labs are always chosen."""
    earliest = as_of - dt.timedelta(days=lookback_days)
    keep: set[int] = set()
    candidates: dict[str, list[tuple[dt.date, int]]] = {}
    for index, (raw, kind) in enumerate(entries):
        if kind not in LAB_KINDS:
            keep.add(index)
            continue
        newest = newest_in_window(raw, earliest, as_of)
        if newest is _UNDATED:
            keep.add(index)
        elif newest is not _OUTSIDE:
            candidates.setdefault(kind, []).append((newest, index))
    for found in candidates.values():
        found.sort(key=lambda item: item[0], reverse=True)
        best: dt.date | None = None
        for newest, index in found:
            if best is not None and newest < best:
                break
            keep.add(index)
            for lab in read(index):
                if lab.date is None:
                    continue
                day = lab.date.lower_bound()
                if earliest <= day <= as_of and (best is None or day > best):
                    best = day
    return keep
