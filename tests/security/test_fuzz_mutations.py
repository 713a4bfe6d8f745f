"""Mutation fuzzing of the real services: valid hook calls (the CDS Hooks Sandbox's own bodies,
a fixture and a benchmark order-sign) with wrong types put at any node, one to three at a time.

Random bodies (``test_fuzz.py``) rarely get past the protocol checks; these do, so the prefetch
resolution, the FHIR mapping, the rules and the card renderer see hostile shapes where they
expect a string, a list or an object. Invariant: never a 5xx; an error is a typed
OperationOutcome with a stable code. ``FUZZ_EXAMPLES`` scales the run.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.workloads import order_sign_body
from cds_hooks.settings import Settings
from cds_hooks.web import create_app
from tests.security.conftest import APP_KINDS
from tests.security.test_fuzz import check

# Bodies the real CDS Hooks Sandbox sent (synthetic demo patients), kept as seeds.
SEED_DIR = Path(__file__).parent / "seeds"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "fhir"
EXAMPLES = max(50, int(os.environ.get("FUZZ_EXAMPLES", "1000")) * 3 // 10)
SERVICE_BY_HOOK = {
    "patient-view": "sarcoma-patient-view",
    "order-select": "sarcoma-order-select",
    "order-sign": "sarcoma-order-sign",
}
# One value of every JSON type, plus the shapes that broke the service before (a list or an
# object where a string is read; a dose written in words).
WRONG = [
    None,
    True,
    0,
    -1,
    1.5,
    1e308,
    "",
    "x",
    "four hundred",
    [],
    [None],
    ["MedicationRequest"],
    {},
    {"x": 1},
    {"coding": 3},
    [[[]]],
]


def _seed_bodies() -> list[dict[str, Any]]:
    seeds = [order_sign_body(20)]
    for path in sorted(SEED_DIR.glob("*.json")):
        body = json.loads(path.read_text())
        body.pop("fhirServer", None)  # every key is prefetched; nothing is fetched back
        seeds.append(body)
    seeds.append(json.loads((FIXTURES / "gist-journey-order-select.json").read_text())["document"])
    return seeds


SEEDS = _seed_bodies()


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every node of a JSON value, as a path of keys and indexes (the root excluded)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from paths(child, (*prefix, index))


SEED_PATHS = [list(paths(seed)) for seed in SEEDS]


def mutate(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = body
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = copy.deepcopy(value)


Mutation = tuple[tuple[Any, ...], Any]


@st.composite
def mutated_requests(draw: st.DrawFn) -> tuple[str, dict[str, Any], list[Mutation]]:
    index = draw(st.integers(min_value=0, max_value=len(SEEDS) - 1))
    body = copy.deepcopy(SEEDS[index])
    done: list[Mutation] = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        candidates = list(paths(body))
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        value = draw(st.sampled_from(WRONG))
        mutate(body, path, value)
        done.append((path, value))
    hook = SEEDS[index]["hook"]
    return SERVICE_BY_HOOK[hook], body, done


@pytest.fixture(scope="module")
def real_app(tmp_path_factory) -> Iterator[Flask]:
    if "real" not in APP_KINDS:
        pytest.skip("the clinical services are not importable yet")
    folder = tmp_path_factory.mktemp("mutations")
    app = create_app(
        Settings(
            host="127.0.0.1",
            auth_mode="off",
            base_url="https://cds.example.org",
            database_url=f"sqlite:///{folder}/fuzz.sqlite3",
        )
    )
    yield app
    app.extensions["cds.engine"].dispose()


def test_the_seed_bodies_are_valid_calls(real_app):
    assert {seed["hook"] for seed in SEEDS} == set(SERVICE_BY_HOOK)
    client = real_app.test_client()
    for seed in SEEDS:
        resp = client.post(f"/cds-services/{SERVICE_BY_HOOK[seed['hook']]}", json=seed)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert client.post("/cds-services/sarcoma-order-sign", json=SEEDS[0]).get_json()["cards"]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(request=mutated_requests())
def test_wrong_types_at_any_node_of_a_valid_call_never_answer_5xx(real_app, request):
    service, body, _mutations = request
    resp = real_app.test_client().post(f"/cds-services/{service}", json=body)
    check(resp, "mutation")


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_each_node_of_the_draft_orders_with_each_wrong_type(real_app, seed):
    """Exhaustive over the draft orders (the part a wrong card comes from): every node, every
    wrong type, one at a time."""
    base = SEEDS[seed]
    drafts = [p for p in SEED_PATHS[seed] if p[:2] == ("context", "draftOrders")]
    client = real_app.test_client()
    for path in drafts:
        for value in WRONG:
            body = copy.deepcopy(base)
            mutate(body, path, value)
            resp = client.post(f"/cds-services/{SERVICE_BY_HOOK[base['hook']]}", json=body)
            check(resp, "mutation")
