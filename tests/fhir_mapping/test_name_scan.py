"""Drug names and brands are found in free text by NameScanner exactly where the tables' regular
expressions find them: the same names, in the same order, on texts built from the tables' names
and brands, their pieces, hyphens, underscores, digits, punctuation and case changes; and a
medication named by text is identified as before."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mapping import medications
from fhir_mapping.medications import identify
from fhir_mapping.name_scan import NameScanner
from fhir_mapping.products import product_table
from fhir_mapping.tables import drug_table

DRUGS = drug_table()
PRODUCTS = product_table()
NAMES = sorted(DRUGS.by_name)
BRANDS = sorted(PRODUCTS.by_brand)


def _pieces() -> list[str]:
    pieces = set(NAMES) | set(BRANDS)
    for name in NAMES + BRANDS:
        pieces.update(re.findall(r"\w+", name))
        pieces.add(name[: len(name) // 2])
        pieces.add(name.upper())
        pieces.add(name.title())
    return sorted(pieces)


PIECES = st.sampled_from(_pieces())
GLUE = st.sampled_from([" ", "  ", "-", "_", "/", "(", ")", ".", ",", "'", "1", "x", "\t", ""])
TEXTS = st.lists(st.tuples(PIECES | st.text(max_size=4), GLUE), max_size=6).map(
    lambda parts: "".join(piece + glue for piece, glue in parts)
)


def _regex(pattern: re.Pattern[str] | None, text: str) -> list[str]:
    return [] if pattern is None else [m.group(0).lower() for m in pattern.finditer(text)]


@given(TEXTS)
@settings(max_examples=1500, deadline=None)
def test_the_scanner_finds_what_the_drug_pattern_finds(text: str) -> None:
    assert DRUGS.scanner is not None and PRODUCTS.scanner is not None
    found = DRUGS.scanner.names_in(text)
    assert found is None or found == _regex(DRUGS.name_pattern, text)
    found = PRODUCTS.scanner.names_in(text)
    assert found is None or found == _regex(PRODUCTS.brand_pattern, text)
    if text.isascii():
        assert DRUGS.scanner.names_in(text) is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("imatinib 400 mg", ["imatinib"]),
        ("IMATINIB", ["imatinib"]),
        ("pre-imatinib", []),
        ("imatinib-like", []),
        ("imatinib_x", []),
        ("imatinibs", []),
        ("sunitinib or imatinib", ["sunitinib", "imatinib"]),
        ("St. John's Wort tea", ["st. john's wort"]),
        ("caf\u00e9 imatinib", None),  # not ASCII: the pattern answers
    ],
)
def test_the_scanner_on_words_and_boundaries(text: str, expected: list[str] | None) -> None:
    assert DRUGS.scanner is not None
    found = DRUGS.scanner.names_in(text)
    assert found == expected
    if expected is not None:
        assert found == _regex(DRUGS.name_pattern, text)


def test_names_the_scanner_cannot_read_turn_it_off() -> None:
    assert NameScanner(["imatinib", "caf\u00e9"]).names_in("imatinib") is None
    assert NameScanner(["imatinib", "-x"]).names_in("imatinib") is None


@given(TEXTS)
@settings(max_examples=400, deadline=None)
def test_identification_by_name_is_the_same_without_the_scanner(text: str) -> None:
    concepts = [{"text": text}, {"coding": [{"system": "urn:x", "code": "1", "display": text}]}]
    with_scanner = [identify([concept]) for concept in concepts]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(medications, "drug_table", lambda: replace(DRUGS, scanner=None))
        patch.setattr(medications, "product_table", lambda: replace(PRODUCTS, scanner=None))
        assert [identify([concept]) for concept in concepts] == with_scanner


_WORDS = st.sampled_from(["a", "ab", "b", "bc", "st.", "x'y", "c1", "d_e"])
_SYNTHETIC_NAMES = st.lists(
    st.lists(_WORDS, min_size=1, max_size=3).map(" ".join), min_size=1, max_size=6, unique=True
)
_SYNTHETIC_TEXTS = st.lists(
    st.tuples(_WORDS | st.sampled_from(["A", "AB", "B C"]), GLUE), max_size=8
).map(lambda parts: "".join(piece + glue for piece, glue in parts))


@given(_SYNTHETIC_NAMES, _SYNTHETIC_TEXTS)
@settings(max_examples=1500, deadline=None)
def test_the_scanner_is_the_pattern_on_any_table(names: list[str], text: str) -> None:
    """Tables built the way drugs.yaml and drug_products.yaml are read (longest names first),
    with names that overlap, share words or end inside one another."""
    alternatives = sorted(names, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in alternatives) + r")(?![\w-])",
        re.IGNORECASE,
    )
    assert NameScanner(alternatives).names_in(text) == _regex(pattern, text)
