"""The byte-level JSON bounds agree with a walk over the parsed value, for any JSON."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_hooks.protocol import json_depth_exceeds, longest_json_string

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
    assert json_depth_exceeds(raw, limit) == (depth(value) > limit)


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
    raw = json.dumps({"note": '[[[[[[[[[[ {{{{{{ " ]]]] \\'}).encode()
    assert not json_depth_exceeds(raw, 1)
    assert json_depth_exceeds(json.dumps([[["x"]]]).encode(), 2)
