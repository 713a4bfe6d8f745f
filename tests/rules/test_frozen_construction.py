"""The patient model's cheap constructor (rules.frozen.fast_init) builds the same objects as the
dataclass's own ``__init__``: same fields, equality, hash and repr, and they stay immutable."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import extent, facts, hereditary, populations, tolerability, values
from rules.frozen import builder, fast_init

MODEL = (
    values.Code,
    values.Gene,
    values.Agent,
    values.Dose,
    facts.Diagnosis,
    facts.Biomarker,
    facts.TherapeuticImplication,
    facts.TherapyExposure,
    facts.DiseaseStatus,
    facts.CoMedication,
    populations.PregnancyRecord,
    populations.LabResult,
    populations.RenalImpairmentRecord,
    extent.ExtentFact,
    extent.Resection,
    extent.GistRiskAssessment,
    hereditary.HereditaryCondition,
    tolerability.DrugIntolerance,
)

# Hashable values of several kinds; the dataclass does not check types, so any will do to
# compare the two construction paths field by field.
VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.tuples(st.text(max_size=3), st.integers()),
    st.frozensets(st.text(max_size=3), max_size=3),
)


def _dataclass_built(cls: type, *args: Any, **kwargs: Any) -> Any:
    """The object the dataclass's generated ``__init__`` makes (fast_init keeps it as the
    fallback for subclasses)."""
    instance = object.__new__(cls)
    cls.__init__.__globals__["_slow"](instance, *args, **kwargs)
    return instance


def _check_same(fast: Any, slow: Any) -> None:
    assert type(fast) is type(slow)
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
    for field in dataclasses.fields(fast):
        assert getattr(fast, field.name) == getattr(slow, field.name)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(fast, field.name, None)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(fast, field.name)
    assert dataclasses.replace(fast) == fast


@given(data=st.data(), index=st.integers(0, len(MODEL) - 1))
def test_fast_init_builds_what_the_dataclass_builds(data: st.DataObject, index: int) -> None:
    cls = MODEL[index]
    fields = dataclasses.fields(cls)
    required = [f for f in fields if f.default is dataclasses.MISSING]
    optional = [f for f in fields if f.default is not dataclasses.MISSING]
    positional = [data.draw(VALUE) for _ in required]
    keywords = {f.name: data.draw(VALUE) for f in optional if data.draw(st.booleans())}
    fast = cls(*positional, **keywords)
    slow = _dataclass_built(cls, *positional, **keywords)
    _check_same(fast, slow)
    # Equality and hash follow the values, whichever path built the other object.
    other = data.draw(VALUE)
    changed = {fields[0].name: other}
    original = getattr(slow, fields[0].name)
    assert (dataclasses.replace(fast, **changed) == slow) == (other == original)


@given(data=st.data(), index=st.integers(0, len(MODEL) - 1))
def test_builder_builds_what_the_class_builds(data: st.DataObject, index: int) -> None:
    """rules.frozen.builder's function (every field positionally) builds what the class call
    builds (fast_init's) and what the dataclass's own __init__ builds."""
    cls = MODEL[index]
    values_ = [data.draw(VALUE) for _ in dataclasses.fields(cls)]
    built = builder(cls)(*values_)
    _check_same(built, cls(*values_))
    _check_same(built, _dataclass_built(cls, *values_))
    with pytest.raises(TypeError):
        builder(cls)(*values_[:-1])  # every field is required


@given(day=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_builder_runs_post_init(day: dt.date) -> None:
    build = builder(values.PartialDate)
    _check_same(build(day.year, day.month, None), values.PartialDate(day.year, day.month, None))
    with pytest.raises(ValueError, match="a day needs a month"):
        build(day.year, None, day.day)
    with pytest.raises(ValueError):
        build(day.year, 2, 30)


@given(
    day=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    precision=st.sampled_from(("year", "month", "day")),
)
def test_partial_dates_are_the_same_and_still_validated(day: dt.date, precision: str) -> None:
    month = day.month if precision != "year" else None
    day_of_month = day.day if precision == "day" else None
    fast = values.PartialDate(day.year, month, day_of_month)
    _check_same(fast, _dataclass_built(values.PartialDate, day.year, month, day_of_month))
    assert fast.isoformat() == values.PartialDate.parse(fast.isoformat()).isoformat()  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="a day needs a month"):
        values.PartialDate(day.year, None, day.day)
    with pytest.raises(ValueError):
        values.PartialDate(day.year, 2, 30)


@given(day=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_day_of_builds_the_partial_date_of_the_day(day: dt.date) -> None:
    """values.day_of (no range check: a date is a real day) builds what the dataclass builds."""
    fast = values.day_of(day)
    _check_same(fast, _dataclass_built(values.PartialDate, day.year, day.month, day.day))
    _check_same(fast, values.PartialDate.from_date(day))
    assert fast.lower_bound() == fast.upper_bound() == day


def test_a_subclass_is_built_by_the_dataclass_init() -> None:
    class Coded(values.Code):
        __slots__ = ()

    coded = Coded("http://loinc.org", "1-8", None)
    assert type(coded) is Coded
    assert (coded.system, coded.code, coded.display) == ("http://loinc.org", "1-8", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        coded.code = "2"  # type: ignore[misc]


def test_only_plain_frozen_slotted_dataclasses_are_accepted() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Factory:
        a: tuple[int, ...] = dataclasses.field(default_factory=tuple)

    for cls in (NoSlots, Factory):
        with pytest.raises(TypeError):
            fast_init(cls)
        with pytest.raises(TypeError):
            builder(cls)
