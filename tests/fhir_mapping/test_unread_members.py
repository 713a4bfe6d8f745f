"""Members no rule reads cost nothing: a bulky resource is validated as its projection onto what
the mapping reads, so the CPU a body costs stays small and linear in its size.

Issue 15: a 2 MB body of 14 GIST Conditions with 9,000 notes each took ~2.7 s of a worker (5 s
on the shared test host), 1 MB of MedicationRequests or Observations with thousands of
identifiers, performers or notes ~1.5 s; after: 0.13, 0.05 and 0.07 s.
"""

from __future__ import annotations

import copy
import gc
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from fhir_mapping import map_prefetch, prune
from fhir_mapping.parse import VERDICTS, check_resource
from tests.fhir_mapping.hostile_bodies import (
    noisy_conditions_body,
    noisy_observations_body,
    noisy_orders_body,
)

BODIES: dict[str, Callable[[], dict[str, Any]]] = {
    "14 Conditions x 9,000 notes (2 MB)": noisy_conditions_body,
    "7 MedicationRequests with 7,500 unread items each (1 MB)": noisy_orders_body,
    "7 KIT Observations with 8,000 unread items each (1 MB)": noisy_observations_body,
}


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """Load the tables once, so the timing below is the mapping's own work."""
    body = noisy_orders_body(1)
    map_prefetch(body["prefetch"], body["context"])


def _cpu_of_mapping(body: dict[str, Any]) -> float:
    VERDICTS.clear()  # no help from an earlier test: every resource is validated
    parsed = orjson.loads(orjson.dumps(body))
    gc.collect()
    gc.freeze()  # the test process's own heap is not this mapping's work (gunicorn freezes it too)
    try:
        started = time.thread_time()
        map_prefetch(parsed["prefetch"], parsed["context"])
        return time.thread_time() - started
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("name", list(BODIES))
def test_a_megabyte_of_unread_members_costs_well_under_a_second_of_cpu(name: str) -> None:
    body = BODIES[name]()
    size = len(orjson.dumps(body))
    assert size > 1_000_000
    cpu = _cpu_of_mapping(body)
    # Before: 1.5 to 5 s on the shared test host; after: under 0.15 s. A generous bound.
    assert cpu < 0.5, f"{name}: {cpu:.2f} s of CPU for {size / 1e6:.1f} MB"


def _without(body: dict[str, Any], members: set[str], key: str) -> dict[str, Any]:
    lean = copy.deepcopy(body)
    for entry in lean["prefetch"][key]["entry"]:
        for member in members:
            entry["resource"].pop(member, None)
    return lean


def test_unread_members_change_no_fact_and_raise_no_issue() -> None:
    noisy = noisy_orders_body()
    lean = _without(noisy, {"identifier", "supportingInformation"}, "medications")
    noisy_result = map_prefetch(noisy["prefetch"], noisy["context"])
    lean_result = map_prefetch(lean["prefetch"], lean["context"])
    assert noisy_result.patient == lean_result.patient
    # An order's notes are read (an intolerance said in words): their cut is the only issue.
    assert noisy_result.issues == lean_result.issues
    assert {i.kind for i in noisy_result.issues} == {"list-truncated"}
    assert len([e for e in noisy_result.patient.exposures if e.agent.ingredient == "imatinib"]) == 8


def test_a_read_list_cut_at_the_cap_is_reported_and_the_rest_is_read() -> None:
    body = noisy_conditions_body(2)
    result = map_prefetch(body["prefetch"], body["context"])
    assert sorted(d.source_ref for d in result.patient.diagnoses) == [
        "Condition/noisy-0",
        "Condition/noisy-1",
    ]
    cut = [i for i in result.issues if i.kind == "list-truncated"]
    assert [i.reference for i in cut] == ["Condition/noisy-0", "Condition/noisy-1"]
    assert cut[0].problem == (
        f"oversized resource: only the first {prune.LIST_CAP} items of note (9000 items) were read"
    )
    # The same Conditions with their notes cut by the sender map to the same patient.
    short = copy.deepcopy(body)
    for entry in short["prefetch"]["conditions"]["entry"]:
        entry["resource"]["note"] = entry["resource"]["note"][: prune.LIST_CAP]
    assert map_prefetch(short["prefetch"], short["context"]).patient == result.patient


def test_a_bulky_resource_is_projected_again_once_its_verdict_is_cached() -> None:
    """The verdict cache remembers which texts are under the bulk thresholds, never that a
    bulky one is not: the EHR re-sending the same oversized Conditions gets the same cut and
    the same issues, call after call."""
    VERDICTS.clear()
    body = noisy_conditions_body(2)
    first = map_prefetch(body["prefetch"], body["context"])
    again = map_prefetch(copy.deepcopy(body)["prefetch"], body["context"])
    assert VERDICTS.hits > 0
    assert again == first
    assert [i.kind for i in again.issues].count("list-truncated") == 2


def test_a_gene_named_in_a_note_within_the_cap_is_still_read() -> None:
    body = noisy_observations_body(1)
    obs = body["prefetch"]["observations"]["entry"][-1]["resource"]
    obs["note"][3] = {"text": "PDGFRA exon 18 D842V mutation detected"}
    result = map_prefetch(body["prefetch"], body["context"])
    derived = [i for i in result.issues if i.kind == "text-derived-finding"]
    assert [i.reference for i in derived] == ["Observation/noisy-obs-0"]
    assert "PDGFRA" in derived[0].problem


def test_a_modifier_extension_inside_an_unread_member_still_skips_the_bulky_resource() -> None:
    body = noisy_orders_body(1)
    med = body["prefetch"]["medications"]["entry"][0]["resource"]
    med["dispenseRequest"] = {
        "modifierExtension": [{"url": "http://example.org/x", "valueBoolean": True}]
    }
    cleaned, issues = check_resource(med)
    assert cleaned is None
    assert [i.kind for i in issues] == ["modifier-extension"]


def test_an_ordinary_resource_is_checked_whole() -> None:
    """Below the bulk thresholds nothing is projected: a malformed unread member is still
    reported as before (the Sandbox's ``category`` object)."""
    med = noisy_orders_body(1)["prefetch"]["medications"]["entry"][0]["resource"]
    for member in ("note", "identifier", "supportingInformation"):
        del med[member]
    med["category"] = {"coding": [{"code": "community"}]}
    assert prune.project(med).resource is med
    cleaned, issues = check_resource(med)
    assert cleaned is not None and "category" not in cleaned
    assert [i.kind for i in issues] == ["non-conformant-element"]


def test_a_bulky_contained_list_keeps_its_medications() -> None:
    med = noisy_orders_body(1)["prefetch"]["medications"]["entry"][0]["resource"]
    med["contained"] = [
        {"resourceType": "Medication", "id": "m", "code": {"text": "imatinib"}},
        *({"resourceType": "Basic", "id": f"b{i}", "code": {"text": "x"}} for i in range(500)),
    ]
    projected = prune.project(med).resource
    assert [c["id"] for c in projected["contained"]] == ["m"]
    assert "identifier" not in projected and len(projected["note"]) == prune.LIST_CAP


def test_no_module_of_the_mapping_reads_a_member_the_projection_leaves_out() -> None:
    package = Path(prune.__file__).parent
    sources = {
        path.name: path.read_text()
        for path in package.glob("*.py")
        # parse.py and conformance.py name elements to validate or drop, not to read.
        if path.name not in {"prune.py", "parse.py", "conformance.py"}
    }
    names = set(prune.UNREAD) - {"text"}
    for extra in prune.UNREAD_BY_TYPE.values():
        names |= extra
    read = {
        (name, module)
        for name in names
        for module, text in sources.items()
        if re.search(rf"[\"']{name}[\"']", text)
    }
    # ``note`` is read by the free-text pass and for an Observation's specimen, for Conditions
    # and Observations only; in exons.py
    # "substitution" is an HGVS change, not MedicationRequest.substitution.
    # Also read: an order's note (tolerance_text.py: an intolerance in words) and a disease
    # status' note (disease_status.py: limited progression). observation_builder.py (an
    # Observation), plain_variants.py (a variant's specimen) and plain_orders.py (an order)
    # test whether a note is there before calling those readers.
    assert read == {
        ("note", "observation_builder.py"),
        ("note", "plain_variants.py"),
        ("note", "plain_orders.py"),
        ("note", "disease_status.py"),
        ("note", "tolerance_text.py"),
        ("note", "prefilter.py"),
        ("note", "text_findings.py"),
        ("note", "specimens.py"),
        ("substitution", "exons.py"),
    }
