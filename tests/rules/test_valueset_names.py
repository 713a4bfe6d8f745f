"""A drug named in free text: one search over all of a value set's names answers exactly as
searching for each name in turn as a whole word."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rules import load_kb

VALUESETS = load_kb().valuesets
IDS = [vs_id for vs_id in VALUESETS.ids() if VALUESETS.get(vs_id).names]


def reference(vs_id: str, text: str | None) -> bool:
    if not text:
        return False
    lowered = text.lower()
    return any(
        re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", lowered)
        for name in VALUESETS.get(vs_id).names
    )


def texts(vs_id: str) -> st.SearchStrategy[str]:
    names = sorted(VALUESETS.get(vs_id).names)
    pieces = st.sampled_from([*names, "x", "1", " ", "-", "/", "IMATINIB", "Mesylate", "sunit"])
    return st.lists(pieces, max_size=4).map("".join)


@settings(max_examples=800, deadline=None)
@given(st.sampled_from(IDS).flatmap(lambda vs_id: st.tuples(st.just(vs_id), texts(vs_id))))
def test_names_search_matches_one_search_per_name(case: tuple[str, str]) -> None:
    vs_id, text = case
    assert VALUESETS.matches_name(vs_id, text) is reference(vs_id, text)


def test_a_value_set_without_names_matches_no_text() -> None:
    plain = next(vs_id for vs_id in VALUESETS.ids() if not VALUESETS.get(vs_id).names)
    assert VALUESETS.matches_name(plain, "imatinib") is False
    assert len(IDS) > 5
