"""How far back the knowledge base reads organ-function laboratory results.

Every predicate that reads ``Patient.labs`` does it through
:func:`rules.predicates_populations.latest_lab`, with a window of days before the day of the
call: the organ-impairment dose rules (by laboratory result or by renal Condition) with the
organ table's ``lab_window_days``, the baseline liver tests with their own ``window_days``.
The mapping uses the longest of them to validate only the results a rule can read
(``fhir_mapping.lab_window``). A new predicate that reads laboratory results must be added
to :data:`LAB_WINDOWS` (a test checks that every registered predicate calling
``latest_lab``, directly or through a helper, is).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rules.compiled import BoundCriterion, CompiledRule
from rules.loader import KnowledgeBase
from rules.populations_tables import organ_dose_table
from rules.predicates import Params
from rules.predicates_populations import BaselineParams

__all__ = ["LAB_WINDOWS", "lab_lookback_days"]


def _baseline_window(params: Params | None) -> int:
    assert isinstance(params, BaselineParams)
    return params.window_days


#: Predicate name -> the window (days before the day of the call) it reads results in.
LAB_WINDOWS: dict[str, Callable[[Params | None], int]] = {
    "organ_impairment_dose": lambda _params: organ_dose_table().lab_window_days,
    "renal_condition_dose": lambda _params: organ_dose_table().lab_window_days,
    "liver_tests_missing": _baseline_window,
}

#: id of a KB's rule tuple -> (that tuple, its look-back); the tuple is kept so its id stays
#: its own.
_MEMO: dict[int, tuple[tuple[CompiledRule, ...], int]] = {}


def _windows(criteria: Iterable[BoundCriterion]) -> Iterable[int]:
    for criterion in criteria:
        if criterion.name == "any_of":
            yield from _windows(criterion.any_of)
        elif criterion.name in LAB_WINDOWS:
            yield LAB_WINDOWS[criterion.name](criterion.params)


def lab_lookback_days(kb: KnowledgeBase) -> int:
    """The longest window, in days before the day of the call, in which any rule of ``kb``
    (active or not) reads a laboratory result; 0 when none does. Memoised per rule set."""
    memo = _MEMO.get(id(kb.rules))
    if memo is not None and memo[0] is kb.rules:
        return memo[1]
    days = max((d for c in kb.rules for d in _windows((*c.when, *c.unless))), default=0)
    _MEMO[id(kb.rules)] = (kb.rules, days)
    return days
