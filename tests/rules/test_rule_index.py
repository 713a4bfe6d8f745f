"""The rule index (rules by hook and histology) gives exactly the cards of trying every rule
of the hook, on every case patient, every demo patient and the benchmark records, for every
hook."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest

from bench.workloads import heavy_body, order_sign_body, realistic_body
from cds_hooks.demo import load_bundle, prefetch_for, scenarios
from fhir_mapping import map_prefetch
from rules import KnowledgeBase, Patient, evaluate, load_kb
from rules.rule_index import HOOKS, rules_of_hook
from tests.rules.sarcoma_case_factory import load_all_cases

KB: KnowledgeBase = load_kb()
AS_OF = dt.date(2026, 11, 30)


def patients() -> list[tuple[str, Patient, dt.date]]:
    found = [(case.id, case.patient, case.as_of) for case in load_all_cases()]
    for scenario in scenarios():
        prefetch = prefetch_for(load_bundle(scenario.id))
        context = {"patientId": scenario.patient_id}
        found.append((scenario.id, map_prefetch(prefetch, context).patient, AS_OF))
    for name, body in (
        ("bench-200", order_sign_body(200)),
        ("bench-realistic", realistic_body()),
        ("bench-heavy", heavy_body()),
    ):
        parsed: Any = orjson.loads(orjson.dumps(body))
        found.append((name, map_prefetch(parsed["prefetch"], parsed["context"]).patient, AS_OF))
    return found


PATIENTS = patients()


@pytest.mark.parametrize(("name", "patient", "as_of"), PATIENTS, ids=[p[0] for p in PATIENTS])
def test_indexed_rules_give_the_cards_of_every_rule(
    name: str, patient: Patient, as_of: dt.date
) -> None:
    for hook in sorted(HOOKS):
        indexed = evaluate(patient, KB, as_of, hook)
        every = evaluate(patient, KB, as_of, hook, rule_index=False)
        assert indexed == every, f"{name} on {hook}"


def test_the_index_skips_rules_of_other_histologies() -> None:
    gated = [c for c, histologies in rules_of_hook(KB, "order-sign") if histologies is not None]
    assert len(gated) >= 10  # many rules name their histologies
