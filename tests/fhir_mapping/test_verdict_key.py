"""The verdict cache's key (parse.VerdictCache) on any JSON value: two resources share a key only
if orjson writes the same text for them, so a cached verdict is never reused for a resource
whose content differs in key order, in type (1, 1.0, true, "1"), in its unicode spelling or in
how its lists nest; and the key check_resource computes (known_small) is the key the cache
stores verdicts under (VerdictCache.key)."""

from __future__ import annotations

import copy
import unicodedata
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mapping.parse import VerdictCache

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0, 1, 0.0, 1.0, -0.0, True, False, "1", "true", "", None])
    | st.text(max_size=12)
    | st.sampled_from(["\u00e9", "e\u0301", "K", "\u212a", "\u017f", "s", "\u0130", "i\u0307"])
    | st.sampled_from(["\u0000", "\ud7ff", "\U0001f600"])
)
KEYS = st.text(max_size=6) | st.sampled_from(["a", "b", "\u00e9", "e\u0301", "resourceType", ""])
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


def _variant(value: Any, how: int) -> Any:
    """A value close to ``value``: its JSON text may or may not differ."""
    if isinstance(value, dict):
        if how == 0:
            return dict(reversed(list(value.items())))  # other key order
        if how == 1:
            return {unicodedata.normalize("NFD", k): v for k, v in value.items()}
        return {k: _variant(v, how) for k, v in value.items()}
    if isinstance(value, list):
        if how == 2:
            return [value]  # one more level of nesting
        if how == 3 and value:
            return value[:-1]
        return [_variant(v, how) for v in value]
    if isinstance(value, bool):
        return int(value) if how == 4 else value
    if isinstance(value, int):
        return float(value) if how == 4 else (value == 1 if how == 5 else value)
    if isinstance(value, float):
        return int(value) if how == 5 and value.is_integer() and abs(value) < 2**63 else value
    if isinstance(value, str):
        return unicodedata.normalize("NFD" if how == 6 else "NFC", value)
    return value


CACHE = VerdictCache()


def _key(value: Any) -> tuple[int, int] | None:
    return CACHE.key({"resourceType": "Observation", "x": value})


def _text(value: Any) -> bytes:
    return orjson.dumps({"resourceType": "Observation", "x": value})


@settings(max_examples=400, deadline=None)
@given(JSON, JSON)
def test_two_values_share_a_key_only_if_their_texts_are_equal(a: Any, b: Any) -> None:
    assert (_key(a) == _key(b)) == (_text(a) == _text(b))


@settings(max_examples=400, deadline=None)
@given(JSON, st.integers(min_value=0, max_value=7))
def test_a_near_copy_shares_the_key_exactly_when_its_text_is_the_same(a: Any, how: int) -> None:
    b = _variant(a, how)
    assert (_key(a) == _key(b)) == (_text(a) == _text(b))
    assert _key(copy.deepcopy(a)) == _key(a)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_check_resource_looks_up_the_key_verdicts_are_stored_under(a: Any) -> None:
    raw = {"resourceType": "Observation", "x": a}
    looked_up, _known = CACHE.known_small(orjson.dumps(raw))
    assert looked_up == CACHE.key(raw)


def test_keys_are_secret_to_the_process() -> None:
    raw = {"resourceType": "Observation", "status": "final"}
    assert VerdictCache().key(raw) != VerdictCache().key(raw)
