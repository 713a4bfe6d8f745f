"""Collecting a searchset keeps the common entry on a fast path: the resources, the reference
index, the issues and the de-duplication are exactly those of reading each entry in full."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from fhir_mapping import bundles

RESOURCE = st.fixed_dictionaries(
    {},
    optional={
        "resourceType": st.sampled_from(
            ["Observation", "Condition", "OperationOutcome", "", " ", "Bundle", "Patient", "Basic"]
        )
        | st.none()
        | st.integers()
        | st.sampled_from([["Observation"], {"a": 1}]),
        "id": st.sampled_from(["a", "b", "c", " ", ""])
        | st.none()
        | st.integers()
        | st.sampled_from([["a"], {"a": 1}]),
        "meta": st.fixed_dictionaries(
            {"lastUpdated": st.sampled_from(["2024-01-01", "2025-01-01"])}
        ),
        "status": st.sampled_from(["final", "amended"]),
    },
)
#: Entries with a type and an id (the fast path's candidates), duplicates likely.
TYPED = st.fixed_dictionaries(
    {
        "resourceType": st.sampled_from(
            ["Observation", "MedicationRequest", "Bundle", "OperationOutcome", " ", " Basic"]
        ),
        "id": st.sampled_from(["a", "b", " "]),
    },
    optional={"meta": st.fixed_dictionaries({"lastUpdated": st.sampled_from(["1", "2"])})},
)
ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "resource": TYPED | RESOURCE | st.none() | st.integers(),
        "fullUrl": st.sampled_from(["urn:uuid:1", "urn:uuid:2", "", " "]) | st.none(),
    },
)


def reference(entries: list[Any]) -> bundles.Collected:
    """Each entry read by the general path (``_add``), as before the fast path."""
    collected = bundles.Collected()
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        inner = entry.get("resource")
        if inner is None:
            continue
        url = entry.get("fullUrl")
        if not isinstance(url, str) or not url.strip():
            url = None
        bundles._add(collected, collected.resources, inner, url, "Bundle/(no id)", 1)
    return collected


#: A Bundle inside a Bundle: its entries are read (depth + 1) between the outer ones.
NESTED = st.fixed_dictionaries(
    {
        "resource": st.fixed_dictionaries(
            {"resourceType": st.just("Bundle"), "entry": st.lists(ENTRY, max_size=4)}
        )
    }
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(ENTRY | NESTED | st.integers(), max_size=8))
@example([{"resource": {"resourceType": "Bundle", "id": "a"}}])
@example([{"resource": {"resourceType": "OperationOutcome", "id": "a"}}])
def test_fast_path_keeps_what_reading_each_entry_keeps(entries: list[Any]) -> None:
    fast = bundles.collect({"o": {"resourceType": "Bundle", "entry": entries}}, {})
    slow = reference(entries)
    assert [id(r) for r in fast.resources] == [id(r) for r in slow.resources]
    assert {k: id(v) for k, v in fast.index.items()} == {k: id(v) for k, v in slow.index.items()}
    assert list(fast.index) == list(slow.index)
    assert fast.issues == slow.issues
    assert fast._seen == slow._seen


@settings(max_examples=500, deadline=None)
@given(st.lists(ENTRY, max_size=5), st.lists(ENTRY, max_size=3))
def test_draft_orders_are_indexed_under_the_prefetch(entries: list[Any], drafts: list[Any]) -> None:
    bundle = {"resourceType": "Bundle", "entry": entries}
    draft_bundle = {"resourceType": "Bundle", "entry": drafts}
    collected = bundles.collect({"o": bundle}, {"draftOrders": draft_bundle})
    expected = dict(reference(entries).index)
    for key, resource in reference(drafts).index.items():
        expected.setdefault(key, resource)
    assert {k: id(v) for k, v in collected.index.items()} == {k: id(v) for k, v in expected.items()}
    assert list(collected.index) == list(expected)
    assert collected.resolve("Observation/a") is expected.get("Observation/a")


def test_the_plain_types_are_the_ones_the_full_reading_keeps_as_is() -> None:
    # The fast path takes these without the blank-type and Bundle/OperationOutcome tests.
    for rtype in bundles._PLAIN_TYPES:
        assert rtype.strip() == rtype != ""
        assert rtype not in bundles._NOT_KEPT_AS_IS
