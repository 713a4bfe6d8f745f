"""The JSON bounds (a level-by-level walk in C) agree with a recursive walk, for any JSON."""

from __future__ import annotations

import json
import time
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_hooks.errors import InvalidJson
from cds_hooks.json_bounds import (
    JsonLimits,
    longest_json_string,
    measure,
    parse_json,
    within,
)

TEXT = st.text(alphabet=st.sampled_from(list('ab"\\{}[]:, \né')), max_size=8)
PLAIN = st.text(alphabet=st.sampled_from(list("ab{}[]:, é")), max_size=8)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def longest(value: Any) -> int:
    if isinstance(value, dict):
        own = max((len(k.encode()) for k in value), default=0)
        return max([own, *(longest(v) for v in value.values())])
    if isinstance(value, list):
        return max((longest(v) for v in value), default=0)
    return len(value.encode()) if isinstance(value, str) else 0


@settings(max_examples=400, deadline=None)
@given(JSON, st.integers(min_value=0, max_value=8), st.booleans())
def test_depth_check_matches_the_parsed_structure(value, limit, ascii_only):
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert (measure(orjson.loads(raw), limit).depth > limit) == (depth(value) > limit)


PLAIN_JSON = st.recursive(
    st.none() | st.integers() | PLAIN,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(PLAIN, children, max_size=4),
    max_leaves=40,
)


@settings(max_examples=200, deadline=None)
@given(PLAIN_JSON)
def test_longest_string_is_the_longest_utf8_string(value):
    raw = json.dumps(value, ensure_ascii=False).encode()
    assert longest_json_string(raw) == longest(value)


def test_brackets_inside_strings_do_not_count():
    limits = JsonLimits(10_000, 1, 10_000, 100, 1000)
    raw = json.dumps({"note": '[[[[[[[[[[ {{{{{{ " ]]]] \\'}).encode()
    assert parse_json(raw, limits)["note"].startswith("[[[")
    with pytest.raises(InvalidJson) as refused:
        parse_json(json.dumps([["x"]]).encode(), limits)
    assert "nests deeper" in refused.value.message


def shape_of(value: Any) -> tuple[int, int]:
    """(largest container, values) as :class:`Shape` defines them, by walking the value."""
    if isinstance(value, dict | list):
        children = list(value.values()) if isinstance(value, dict) else value
        largest, values = max(len(children), 1), max(len(children), 1)
        for child in children:
            child_largest, child_values = shape_of(child)
            largest = max(largest, child_largest)
            values += child_values - 1
        return largest, values + 1
    return 0, 1


@settings(max_examples=400, deadline=None)
@given(JSON, st.booleans())
def test_item_and_value_counts_match_the_parsed_structure(value, ascii_only):
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    shape = measure(orjson.loads(raw), 64)
    assert (shape.max_items, shape.values) == shape_of(value)


LIMITS = JsonLimits(
    max_bytes=5_000_000,
    max_depth=64,
    max_string_length=1_000_000,
    max_items=10_000,
    max_values=300_000,
)


def test_a_huge_array_in_an_unread_member_is_refused_cheaply():
    """Issue 15: a 1.2 MB body whose Patient held a 400,000-item array cost ~4-7 s of a worker."""
    body = {"hook": "order-sign", "prefetch": {"patient": {"extension": [1] * 400_000}}}
    raw = json.dumps(body).encode()
    started = time.thread_time()
    with pytest.raises(InvalidJson) as refused:
        parse_json(raw, LIMITS)
    assert time.thread_time() - started < 0.5
    assert "10000 items" in refused.value.message


def test_too_many_values_in_small_arrays_are_refused():
    raw = json.dumps({"a": [[0] * 1000 for _ in range(400)]}).encode()
    with pytest.raises(InvalidJson) as refused:
        parse_json(raw, LIMITS)
    assert "300000 JSON values" in refused.value.message


def test_a_large_realistic_hook_call_is_within_the_bounds():
    from bench.workloads import order_sign_body

    raw = json.dumps(order_sign_body(1000)).encode()
    assert parse_json(raw, LIMITS)["hook"] == "order-sign"


@settings(max_examples=500, deadline=None)
@given(
    JSON,
    st.booleans(),
    st.integers(min_value=0, max_value=8),
    st.integers(min_value=0, max_value=6),
    st.integers(min_value=1, max_value=60),
)
def test_the_fast_bounds_check_agrees_with_measure(value, ascii_only, depth, items, values):
    """parse_json's fast path (``within``) accepts exactly what the exact measure accepts."""
    parsed = orjson.loads(json.dumps(value, ensure_ascii=ascii_only).encode())
    shape = measure(parsed, 64)
    limits = JsonLimits(10_000, depth, 10_000, items, values)
    exact = shape.depth <= depth and shape.max_items <= items and shape.values <= values
    assert within(parsed, limits) == exact


@pytest.mark.parametrize("size", [200, 1000])
def test_the_bench_bodies_pass_the_fast_bounds_check(size):
    from bench.workloads import order_sign_body

    raw = json.dumps(order_sign_body(size)).encode()
    parsed = orjson.loads(raw)
    shape = measure(parsed, 64)
    assert within(parsed, LIMITS)
    for limits in (
        JsonLimits(5_000_000, 64, 1_000_000, shape.max_items - 1, 300_000),
        JsonLimits(5_000_000, shape.depth - 1, 1_000_000, 10_000, 300_000),
        JsonLimits(5_000_000, 64, 1_000_000, 10_000, shape.values - 1),
    ):
        assert not within(parsed, limits)
        with pytest.raises(InvalidJson):
            parse_json(raw, limits)
