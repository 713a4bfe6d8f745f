"""The mapping checks the request's CPU budget every ``budget.EVERY`` resources (the clock read
each time), not on a call per resource: a long record is still stopped within that many
resources of its budget running out."""

from __future__ import annotations

import json

import pytest

from bench.workloads import order_sign_body
from fhir_mapping import budget, map_prefetch


class _Clock:
    """``time.thread_time`` stand-in: counts its readings; the budget is spent after ``spent``."""

    def __init__(self, spent: int | None = None) -> None:
        self.reads = 0
        self.spent = spent

    def thread_time(self) -> float:
        self.reads += 1
        return 1e9 if self.spent is not None and self.reads > self.spent else 0.0


def _body() -> dict:
    return json.loads(json.dumps(order_sign_body(1000)))


def test_the_clock_is_read_at_least_once_per_every_resources(monkeypatch) -> None:
    body = _body()
    resources = len(body["prefetch"]["observations"]["entry"])
    clock = _Clock()
    monkeypatch.setattr(budget, "time", clock)
    with budget.cpu_budget(10.0):
        map_prefetch(body["prefetch"], body["context"])
    assert clock.reads - 1 >= resources // budget.EVERY


@pytest.mark.parametrize("spent_after", [1, 5, 40])
def test_a_spent_budget_stops_the_mapping(monkeypatch, spent_after: int) -> None:
    body = _body()
    clock = _Clock(spent=spent_after)
    monkeypatch.setattr(budget, "time", clock)
    with pytest.raises(budget.WorkBudgetExceeded), budget.cpu_budget(10.0):
        map_prefetch(body["prefetch"], body["context"])
    assert clock.reads == spent_after + 1  # raised at the first reading after it ran out
