"""Only the laboratory results a rule can read are validated (fhir_mapping.lab_window), and the
rules read exactly what they read when every result is mapped."""

from __future__ import annotations

import datetime as dt
from types import CodeType, FunctionType, SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mapping import map_prefetch
from fhir_mapping.dates import parse_date
from fhir_mapping.lab_window import _OUTSIDE, _UNDATED, _day, newest_in_window
from rules import load_kb
from rules.lab_lookback import LAB_WINDOWS, lab_lookback_days
from rules.populations import LabKind
from rules.predicates import PREDICATES
from rules.predicates_populations import latest_lab
from tests.fhir_mapping.builders import CTX, bundle, concept

LOINC = "http://loinc.org"
AS_OF = dt.date(2026, 11, 30)
LOOKBACK = 30
CODES = {
    "1742-6": "U/L",
    "1920-8": "U/L",
    "1975-2": "mg/dL",
    "2164-2": "mL/min",
    "35591-7": "mL/min",
}


def lab(oid: str | None, code: str, **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": concept(LOINC, code),
        "subject": {"reference": "Patient/p1"},
        "valueQuantity": {"value": 40, "unit": CODES[code]},
        "referenceRange": [{"high": {"value": 35, "unit": CODES[code]}}],
        **extra,
    }
    if oid is not None:
        raw["id"] = oid
    return raw


def day(days_ago: int) -> str:
    return (AS_OF - dt.timedelta(days=days_ago)).isoformat()


def both(*observations: dict[str, Any]) -> tuple[Any, Any]:
    prefetch = {"observations": bundle(*observations)}
    every = map_prefetch(prefetch, CTX)
    windowed = map_prefetch(prefetch, CTX, as_of=AS_OF, lab_lookback_days=LOOKBACK)
    return every, windowed


def read_by_rules(result: Any, kind: LabKind, window: int) -> Any:
    context = SimpleNamespace(patient=result.patient, as_of=AS_OF, derived={})
    found = latest_lab(context, kind, window)  # type: ignore[arg-type]
    return (
        None
        if found is None
        else (found.value, found.unit, found.source_ref, found.date, found.uln)
    )


def test_results_outside_the_window_are_never_validated() -> None:
    # An ALT of last year with a malformed element: read in full it is reported; no rule can
    # read it, so with the window it costs nothing and says nothing.
    old = lab("old", "1742-6", effectiveDateTime=day(400), method="high")
    every, windowed = both(old)
    assert [lab.source_ref for lab in every.patient.labs] == ["Observation/old"]
    assert any(i.reference == "Observation/old" for i in every.issues)
    assert windowed.patient.labs == ()
    assert windowed.issues == ()


def test_only_the_newest_readable_result_per_kind_is_mapped() -> None:
    results = [
        lab("alt-3", "1742-6", effectiveDateTime=day(3), status="preliminary"),  # not read
        lab("alt-5", "1742-6", effectiveDateTime=day(5)),
        lab("alt-9", "1742-6", effectiveDateTime=day(9)),
        lab("bili-20", "1975-2", effectiveDateTime=day(20)),
        lab("crcl-undated", "2164-2"),
    ]
    _, windowed = both(*results)
    assert [lab.source_ref for lab in windowed.patient.labs] == [
        "Observation/alt-5",
        "Observation/bili-20",
    ]
    # The preliminary result newer than the one read keeps its issue, and so does the undated one.
    assert {i.reference for i in windowed.issues} == {
        "Observation/alt-3",
        "Observation/crcl-undated",
    }


def test_a_result_whose_date_validation_drops_falls_back_to_its_other_dates() -> None:
    # effectiveDateTime is not a FHIR dateTime (no seconds): validation drops it, and the
    # result's date is its issued instant, 40 days ago: outside the window either way.
    odd = lab("odd", "1742-6", effectiveDateTime=day(2) + "T08:00", issued=day(40) + "T08:00:00Z")
    every, windowed = both(odd, lab("alt-10", "1742-6", effectiveDateTime=day(10)))
    for kind in LabKind:
        assert read_by_rules(every, kind, 30) == read_by_rules(windowed, kind, 30)


#: Few distinct days (ties), both edges of the window and days after the call.
DAYS = st.sampled_from([-3, 0, 0, 4, 4, 4, 12, 29, 30, 31, 45])
DATE_TEXT = st.one_of(
    DAYS.map(day),
    DAYS.map(day),
    DAYS.map(lambda d: day(d)[:7]),
    DAYS.map(lambda d: day(d) + "T08:00"),
    DAYS.map(lambda d: day(d) + "T08:00:00Z"),
    st.sampled_from(["2026", "garbage", "", "2026-02-30", "2026-13-01"]),
    st.integers(min_value=0, max_value=5),
)


@st.composite
def lab_observation(draw: st.DrawFn, index: int) -> dict[str, Any]:
    code = draw(st.sampled_from(["1742-6", "1975-2", "2164-2", "35591-7"]))
    oid = draw(st.sampled_from([f"l{index}", f"l{index}", None]))
    extra: dict[str, Any] = {}
    for key in ("effectiveDateTime", "effectiveInstant", "issued"):
        if draw(st.integers(0, 2)) == 0:
            extra[key] = draw(DATE_TEXT)
    if draw(st.integers(0, 3)) == 0:
        extra["effectivePeriod"] = {"start": draw(DATE_TEXT)}
    raw = lab(oid, code, **extra)
    raw["status"] = draw(
        st.sampled_from(["final", "final", "amended", "preliminary", "entered-in-error"])
    )
    raw["valueQuantity"] = {
        "value": draw(st.sampled_from([3, 40, 40, 120, -1, "x"])),
        "unit": draw(st.sampled_from([CODES[code], CODES[code], "g/L"])),
    }
    if draw(st.booleans()):
        del raw["referenceRange"]
    if draw(st.integers(0, 5)) == 0:
        raw["subject"] = {"reference": "Patient/someone-else"}
    return raw


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_rules_read_the_same_results_as_when_every_result_is_mapped(data: Any) -> None:
    count = data.draw(st.integers(min_value=1, max_value=14))
    observations = [data.draw(lab_observation(i)) for i in range(count)]
    every, windowed = both(*observations)
    for kind in LabKind:
        for window in (0, 1, 5, 14, 29, 30):
            assert read_by_rules(every, kind, window) == read_by_rules(windowed, kind, window)
    # What is left out is only ever results and issues about laboratory results.
    assert set(windowed.patient.labs) <= set(every.patient.labs)
    assert set(windowed.issues) <= set(every.issues)


def test_the_look_back_is_the_longest_window_any_rule_reads() -> None:
    assert lab_lookback_days(load_kb()) == 30


def _names(function: FunctionType, seen: set[str] | None = None) -> set[str]:
    """Every name a function refers to, its comprehensions' and, transitively, those of the
    functions of its module it calls."""
    seen = set() if seen is None else seen
    names: set[str] = set()
    codes = [function.__code__]
    while codes:
        code = codes.pop()
        names |= set(code.co_names)
        codes.extend(c for c in code.co_consts if isinstance(c, CodeType))
    for name in sorted(names - seen):
        seen.add(name)
        called = function.__globals__.get(name)
        if isinstance(called, FunctionType) and called.__module__ == function.__module__:
            names |= _names(called, seen)
    return names


def test_every_predicate_reading_laboratory_results_declares_its_window() -> None:
    readers = {
        name
        for name, spec in PREDICATES.items()
        if isinstance(spec.fn, FunctionType) and {"latest_lab", "labs"} & _names(spec.fn)
    }
    assert readers == set(LAB_WINDOWS)


@settings(max_examples=800, deadline=None)
@given(
    DATE_TEXT
    | st.text(alphabet="0123456789-T:Z+ \u0663x", max_size=22)
    | st.sampled_from([None, 2026, [], "2026-02-29", "2024-02-29T00:00:00Z", "٢٠٢٦-01-01"])
)
def test_the_day_of_a_raw_date_is_the_lower_bound_parse_date_reads(value: Any) -> None:
    parsed = parse_date(value)
    assert _day(value) == (None if parsed is None else parsed.lower_bound())


def _newest_reference(raw: dict[str, Any], earliest: dt.date, latest: dt.date) -> Any:
    """lab_window.newest_in_window as the loop over every date element reads it."""
    period = raw.get("effectivePeriod")
    best = None
    parsed = False
    for value in (
        raw.get("effectiveDateTime"),
        period.get("start") if isinstance(period, dict) else None,
        raw.get("effectiveInstant"),
        raw.get("issued"),
    ):
        found = None if value is None else _day(value)
        if found is None:
            continue
        parsed = True
        if earliest <= found <= latest and (best is None or found > best):
            best = found
    return best if best is not None else _OUTSIDE if parsed else _UNDATED


@settings(max_examples=600, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "effectiveDateTime": DATE_TEXT | st.none(),
            "effectivePeriod": st.fixed_dictionaries({}, optional={"start": DATE_TEXT}) | st.none(),
            "effectiveInstant": DATE_TEXT | st.none(),
            "issued": DATE_TEXT | st.none(),
        },
    ),
    DAYS,
)
def test_the_newest_day_in_the_window_is_the_loops(raw: dict[str, Any], back: int) -> None:
    """newest_in_window's one-dateTime fast path answers what reading every element does."""
    earliest, latest = AS_OF - dt.timedelta(days=LOOKBACK + back), AS_OF
    assert newest_in_window(raw, earliest, latest) == _newest_reference(raw, earliest, latest)
