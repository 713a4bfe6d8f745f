"""A hook call that keeps its thread busy on the CPU is stopped by its own budget, with a typed
503: gunicorn's worker timeout never fires for one busy thread of a threaded worker (the main
loop keeps answering the arbiter).

Before: 3,000 GIST Conditions (1.2 MB, within every JSON bound) held a thread for ~1.4 s of CPU
and any larger record as long as it took; with a budget of 0.1 s the call is stopped after
~0.1 s. (Conformant, those are now read cheaply; the Conditions below each carry 50 errors in an
element the mapping needs, which still takes the full R4B check.)"""

from __future__ import annotations

import gc
import time

import pytest

from bench.workloads import heavy_body, order_sign_body
from fhir_mapping import budget
from tests.fhir_mapping.hostile_bodies import broken_conditions_body

HOOK = "/cds-services/sarcoma-order-sign"


def test_no_budget_outside_a_hook_call() -> None:
    for _ in range(10 * budget.EVERY):
        budget.checkpoint(now=True)


def test_a_busy_loop_is_stopped_soon_after_its_budget() -> None:
    started = time.thread_time()
    with pytest.raises(budget.WorkBudgetExceeded), budget.cpu_budget(0.05):
        while time.thread_time() - started < 2:
            sum(range(2_000))
            budget.checkpoint()
    assert time.thread_time() - started < 0.3
    budget.checkpoint(now=True)  # the budget ended with its block


def test_a_call_over_its_cpu_budget_is_a_typed_503(make_app, make_settings) -> None:
    with make_app().test_client() as warm:  # load the tables once, within the default budget
        assert warm.post(HOOK, json=order_sign_body(200)).status_code == 200
    app = make_app(make_settings(request_cpu_budget_s=0.1))
    body = broken_conditions_body(3_000)
    with app.test_client() as client:
        # A full collection of the whole test process's heap (thousands of earlier tests'
        # objects) is not this call's work: freeze that heap first, as gunicorn's workers do.
        gc.collect()
        gc.freeze()
        try:
            started = time.thread_time()
            resp = client.post(HOOK, json=body)
            cpu = time.thread_time() - started
        finally:
            gc.unfreeze()
        assert resp.status_code == 503
        outcome = resp.get_json()["issue"][0]
        assert outcome["code"] == "too-costly"
        assert outcome["details"]["coding"][0]["code"] == "request-too-costly"
        assert "Retry-After" not in resp.headers
        assert cpu < 0.6, f"{cpu:.2f} s of CPU before the call was stopped"
        # the next call is served as usual
        assert client.post(HOOK, json=order_sign_body(200)).status_code == 200


def test_the_default_budget_leaves_a_heavy_record_alone(client) -> None:
    resp = client.post(HOOK, json=heavy_body())
    assert resp.status_code == 200
    assert resp.get_json()["cards"]
