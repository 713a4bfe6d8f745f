"""code_pairs (the genomic path's coding reader) against concept_codes, the reference.

classify, component_key and the SO / reference-sequence loops of collect_parts read a
concept's codings through code_pairs instead of building a Code per coding; a variant must map
to the same findings either way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mapping import genomics
from fhir_mapping.codes import (
    HGNC,
    HGNC_STU2,
    LNC_REGION_STUDIED,
    LNC_VARIANT,
    LOINC,
    MII_BIOMARKER,
    SO,
    TBD,
    code_pairs,
    concept_codes,
)
from fhir_mapping.genomic_parts import component_key
from fhir_mapping.implications import CONSEQUENCE_CODE, IMPLICATION_CODES
from fhir_mapping.tables import genomic_tests
from rules.patient import Gene

_SYSTEMS = st.sampled_from(
    [
        LOINC,
        f" {LOINC} ",
        TBD,
        MII_BIOMARKER,
        HGNC,
        HGNC_STU2,
        HGNC_STU2 + "/",
        SO,
        SO + "/",
        "",
        "   ",
        "urn:other",
    ]
)
_CODES = st.sampled_from(
    [
        LNC_VARIANT,
        LNC_REGION_STUDIED,
        " 48018-6 ",
        "48002-0",
        CONSEQUENCE_CODE,
        *sorted(IMPLICATION_CODES),
        "five-prime-gene",
        "SO:0001565",
        "NC_000004.12",
        "",
        "  ",
        "HGNC:6342",
    ]
)
_VALUES = st.one_of(st.none(), st.integers(), st.booleans(), st.lists(st.text(max_size=3)))
_CODING = st.fixed_dictionaries(
    {},
    optional={
        "system": st.one_of(_SYSTEMS, _VALUES),
        "code": st.one_of(_CODES, _VALUES, st.text(max_size=6)),
        "display": st.one_of(st.text(max_size=6), st.none()),
    },
)
_ITEM = st.one_of(_CODING, _CODING.map(MappingProxyType), _VALUES, st.text(max_size=3), st.just([]))
_CONCEPT = st.one_of(
    _VALUES,
    st.text(max_size=4),
    st.fixed_dictionaries({}, optional={"coding": st.one_of(st.lists(_ITEM, max_size=5), _VALUES)}),
    st.fixed_dictionaries({"coding": st.lists(_ITEM, max_size=5)}).map(MappingProxyType),
)


def _classify_reference(raw: Mapping[str, Any]) -> str | None:
    """genomics.classify as it was, on concept_codes."""
    tests = genomic_tests().by_loinc
    for code in concept_codes(raw.get("code")):
        if code.system == LOINC:
            if code.code == LNC_VARIANT:
                return genomics.KIND_VARIANT
            if code.code == LNC_REGION_STUDIED:
                return genomics.KIND_REGION
            if code.code in tests:
                return genomics.KIND_SINGLE_TEST
        elif code.system == TBD:
            if code.code in IMPLICATION_CODES:
                return genomics.KIND_IMPLICATION
            if code.code == CONSEQUENCE_CODE:
                return genomics.KIND_CONSEQUENCE
    return None


def _component_key_reference(component: Mapping[str, Any]) -> tuple[str, str] | None:
    for code in concept_codes(component.get("code")):
        if code.system in (LOINC, TBD, MII_BIOMARKER):
            return code.system, code.code
    return None


@settings(max_examples=400, deadline=None)
@given(_CONCEPT)
def test_code_pairs_are_the_system_and_code_of_every_coding_concept_codes_reads(
    concept: Any,
) -> None:
    assert code_pairs(concept) == [(c.system, c.code) for c in concept_codes(concept)]


@settings(max_examples=300, deadline=None)
@given(_CONCEPT)
def test_a_genomic_observation_is_classified_and_its_components_keyed_as_before(
    concept: Any,
) -> None:
    raw = {"resourceType": "Observation", "code": concept}
    assert genomics.classify(raw) == _classify_reference(raw)
    assert component_key(raw) == _component_key_reference(raw)


_TEST_CODES = sorted(genomic_tests().by_loinc)
_ONE_CODING = st.fixed_dictionaries(
    {"system": st.sampled_from([LOINC, f" {LOINC}", LOINC + "/", TBD]) | _VALUES},
    optional={
        "code": st.one_of(
            st.sampled_from([*_TEST_CODES, *(f" {c} " for c in _TEST_CODES[:3])]),
            _CODES,
            _VALUES,
            st.text(max_size=6),
        ),
        "display": st.one_of(st.text(max_size=6), st.none()),
    },
)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        _ONE_CODING.map(lambda coding: {"coding": [coding]}),
        _ONE_CODING.map(lambda coding: {"coding": [coding], "text": "x"}),
        _ONE_CODING.map(lambda coding: {"coding": [MappingProxyType(coding)]}),
        _ONE_CODING.map(lambda coding: MappingProxyType({"coding": [coding]})),
    )
)
def test_a_single_coding_is_classified_as_the_loop_classifies_it(concept: Any) -> None:
    """classify's one-lookup answer for a single LOINC coding (every single-gene test code,
    padded codes, other spellings of the system) is the general loop's."""
    raw = {"resourceType": "Observation", "code": concept}
    assert genomics.classify(raw) == _classify_reference(raw)


def test_a_variant_with_versioned_systems_and_padded_codes_is_still_a_variant() -> None:
    raw = {
        "code": {
            "coding": [
                {"system": " urn:other ", "code": LNC_VARIANT},
                {"system": f" {LOINC} ", "code": f" {LNC_VARIANT} "},
            ]
        }
    }
    assert genomics.classify(raw) == genomics.KIND_VARIANT
    assert code_pairs(
        {"coding": [{"system": HGNC_STU2 + "/", "code": " HGNC:6342 "}, {"system": SO + "/"}]}
    ) == [(HGNC, "HGNC:6342")]


def _text_mentions_reference(texts: list[str], genes: list[Gene], words: str) -> bool:
    """genomics._text_mentions as it was (gene symbols read before the texts)."""
    symbols = [g.symbol.upper() for g in genes]
    for text in texts:
        upper = text.upper()
        if re.search(words, upper) and any(
            re.search(rf"(?<![A-Z0-9]){re.escape(s)}(?![A-Z0-9])", upper) for s in symbols
        ):
            return True
    return False


_WORDS = st.sampled_from(["KIT", "ETV6", "NTRK3", "fusion", "::", "rearranged", "amplified", "-"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(_WORDS, max_size=4).map(" ".join), max_size=3),
    st.lists(st.sampled_from(["KIT", "ETV6", "NTRK3", "PDGFRA"]), max_size=3),
    st.sampled_from([r"FUSION|::", r"REARRANG", r"AMPLIF"]),
)
def test_a_variant_text_mentions_a_fusion_rearrangement_or_amplification_as_before(
    texts: list[str], symbols: list[str], words: str
) -> None:
    genes = [Gene(symbol=s) for s in symbols]
    assert genomics._text_mentions(texts, genes, words) == _text_mentions_reference(
        texts, genes, words
    )
