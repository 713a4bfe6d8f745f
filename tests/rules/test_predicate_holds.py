"""The cheap "does it hold" form of a predicate (used for ``unless`` criteria) answers exactly
``bool`` of its findings, for every criterion of the knowledge base that has one, on every
case patient, demo patient and benchmark record, on every hook."""

from __future__ import annotations

import datetime as dt

from rules import load_kb
from rules.compiled import BoundCriterion
from rules.engine import current_setting
from rules.predicates import PREDICATES, Context
from rules.rule_index import HOOKS
from tests.rules.test_rule_index import PATIENTS

KB = load_kb()


def _leaves(criterion: BoundCriterion) -> list[BoundCriterion]:
    if criterion.name == "any_of":
        return [leaf for part in criterion.any_of for leaf in _leaves(part)]
    return [criterion]


CRITERIA = {
    leaf.key: leaf
    for compiled in KB.rules
    for criterion in (*compiled.when, *compiled.unless)
    for leaf in _leaves(criterion)
    if PREDICATES[leaf.name].holds is not None
}


def test_holds_equals_bool_of_findings_on_every_patient() -> None:
    assert {c.name for c in CRITERIA.values()} >= {"exposure", "on_therapy"}
    asked = held = 0
    for _name, patient, as_of in PATIENTS:
        for hook in sorted(HOOKS):
            ctx = Context(
                patient=patient,
                valuesets=KB.valuesets,
                as_of=as_of or dt.date(2026, 11, 30),
                hook=hook,
                lines=patient.lines_of_therapy(),
                setting=current_setting(patient),
            )
            for criterion in CRITERIA.values():
                spec = PREDICATES[criterion.name]
                assert spec.holds is not None
                answer = spec.holds(ctx, criterion.params)
                assert answer is bool(spec.fn(ctx, criterion.params)), (_name, criterion.key)
                asked += 1
                held += answer
    assert asked > 1000
    assert 0 < held < asked  # both answers are exercised
