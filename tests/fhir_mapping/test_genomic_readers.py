"""The genomic path's readers against the straightforward versions they replaced.

gene_from_concept, read_result and specimens.of_observation walk the raw codings themselves
(no Code per coding, one walk for both result answers, nothing read when an Observation has
no specimen, method, note or code text); map_variant memoises the dates of its
effectiveDateTime strings for one call. A variant must map to the same findings either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fhir_mapping import genomics
from fhir_mapping.codes import (
    HGNC,
    HGNC_STU2,
    LA_ABSENT,
    LA_PRESENT,
    LOINC,
    SCT_POSITIVE,
    SNOMED,
    as_dict,
    as_list,
    as_str,
    concept_codes,
    concept_text,
    has_code,
    normalise_hgnc,
)
from fhir_mapping.dates import effective_date
from fhir_mapping.genes import gene_from_concept
from fhir_mapping.genomic_parts import read_result
from fhir_mapping.specimens import kind_from_text, of_observation
from fhir_mapping.tables import gene_table
from fhir_mapping.text_findings import result_from_text
from rules.patient import Gene, ResultValue, SpecimenKind

_SYSTEMS = st.sampled_from(
    [HGNC, f" {HGNC} ", HGNC_STU2, HGNC_STU2 + "/", LOINC, f"{LOINC} ", SNOMED, "", " ", "urn:x"]
)
_CODES = st.sampled_from(
    [
        "HGNC:6342",
        " HGNC:6342 ",
        "6342",
        "hgnc:6342",
        "HGNC:8803",
        "HGNC:99999",
        "HGNC:abc",
        "HGNC:\u0661\u0662",
        LA_PRESENT,
        LA_ABSENT,
        f" {LA_ABSENT} ",
        SCT_POSITIVE,
        "",
        "  ",
    ]
)
_DISPLAYS = st.sampled_from(
    ["KIT", "kit", " KIT ", "PDGFRA", "BRAF", "FOO-1", "FOO BAR", "HGNC:6342", "", " "]
)
_VALUES = st.one_of(st.none(), st.integers(), st.booleans(), st.lists(st.text(max_size=2)))
_CODING = st.fixed_dictionaries(
    {},
    optional={
        "system": st.one_of(_SYSTEMS, _VALUES),
        "code": st.one_of(_CODES, _VALUES, st.text(max_size=4)),
        "display": st.one_of(_DISPLAYS, _VALUES),
    },
)
_ITEM = st.one_of(_CODING, _CODING.map(MappingProxyType), _VALUES, st.just([]))
_CONCEPT = st.one_of(
    _VALUES,
    st.text(max_size=3),
    st.fixed_dictionaries(
        {},
        optional={
            "coding": st.one_of(st.lists(_ITEM, max_size=4), _VALUES),
            "text": st.one_of(_DISPLAYS, _VALUES),
        },
    ),
    st.fixed_dictionaries({"coding": st.lists(_ITEM, max_size=4)}).map(MappingProxyType),
)


def _gene_reference(concept: Any) -> tuple[Gene | None, str | None]:
    """gene_from_concept as it was, on concept_codes."""
    table = gene_table()
    for code in concept_codes(concept):
        if code.system != HGNC:
            continue
        hgnc_id = normalise_hgnc(code.code)
        if hgnc_id is None:
            continue
        display = (code.display or "").strip().upper()
        known = table.by_hgnc.get(hgnc_id)
        if known is not None:
            problem = None
            if display and display != known.symbol.upper() and display in table.by_symbol:
                problem = (
                    f"gene display {display} does not match {hgnc_id} ({known.symbol}); "
                    "the code was used"
                )
            return known, problem
        if display and display not in table.by_symbol and display.replace("-", "").isalnum():
            return Gene(symbol=display, hgnc_id=hgnc_id), None
        return Gene(symbol=hgnc_id, hgnc_id=hgnc_id), None
    candidates = [c.display for c in concept_codes(concept) if c.display]
    text = concept_text(concept)
    if text:
        candidates.append(text)
    for candidate in candidates:
        symbol = candidate.strip().upper()
        if symbol in table.by_symbol:
            return table.by_symbol[symbol], None
    return None, None


def _result_reference(resource: Mapping[str, Any]) -> tuple[ResultValue | None, bool]:
    """read_result as it was, with has_code for each answer in turn."""
    concept = resource.get("valueCodeableConcept")
    if has_code(concept, LOINC, LA_PRESENT):
        return ResultValue.PRESENT, False
    if has_code(concept, LOINC, LA_ABSENT):
        return ResultValue.ABSENT, False
    if concept is None and as_str(resource.get("valueString")) is None:
        for interpretation in as_list(resource.get("interpretation")):
            if has_code(interpretation, SNOMED, SCT_POSITIVE):
                return ResultValue.PRESENT, False
        return None, False
    text = concept_text(concept) or as_str(resource.get("valueString"))
    if text:
        from_text = result_from_text(text)
        if from_text is not None:
            return from_text, True
    return ResultValue.INDETERMINATE, False


@settings(max_examples=500, deadline=None)
@given(_CONCEPT)
def test_a_gene_concept_resolves_to_the_same_gene_and_problem_as_before(concept: Any) -> None:
    assert gene_from_concept(concept) == _gene_reference(concept)


def test_every_table_gene_is_found_by_its_hgnc_code_in_any_spelling() -> None:
    for hgnc_id, gene in gene_table().by_hgnc.items():
        if not hgnc_id:
            continue
        digits = hgnc_id.split(":", 1)[1]
        for code in (hgnc_id, f" {hgnc_id} ", digits, f"hgnc:{digits}"):
            concept = {"coding": [{"system": HGNC_STU2, "code": code}]}
            assert gene_from_concept(concept) == (gene, None)


@settings(max_examples=500, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "valueCodeableConcept": _CONCEPT,
            "valueString": st.sampled_from(["Not detected", "positive", "?", " ", "unclear"]),
            "interpretation": st.lists(_CONCEPT, max_size=2),
        },
    )
)
def test_a_result_value_is_read_as_before(resource: dict[str, Any]) -> None:
    assert read_result(resource) == _result_reference(resource)


def test_present_wins_over_absent_in_either_order() -> None:
    for first, second in ((LA_ABSENT, LA_PRESENT), (LA_PRESENT, LA_ABSENT)):
        concept = {"coding": [{"system": LOINC, "code": first}, {"system": LOINC, "code": second}]}
        assert read_result({"valueCodeableConcept": concept}) == (ResultValue.PRESENT, False)


def _specimen_reference(raw: Mapping[str, Any]) -> tuple[SpecimenKind, str | None]:
    """of_observation's reading of the Observation's own texts, without the early return."""
    specimen = as_dict(raw.get("specimen"))
    ref = as_str(specimen.get("reference"))
    texts = [
        as_str(specimen.get("display")),
        concept_text(raw.get("method")),
        concept_text(raw.get("code")),
        *(as_str(as_dict(n).get("text")) for n in as_list(raw.get("note"))),
    ]
    return kind_from_text(texts), ref


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "code": st.one_of(
                _VALUES,
                st.fixed_dictionaries(
                    {}, optional={"text": st.sampled_from(["ctDNA panel", "tumour", " ", "x"])}
                ),
            ),
            "method": st.one_of(st.none(), st.just({"text": "liquid biopsy"})),
            "note": st.one_of(st.none(), st.just([{"text": "FFPE tissue block"}])),
            "specimen": st.one_of(st.none(), st.just({"display": "plasma"}), st.just({})),
        },
    )
)
def test_the_specimen_kind_of_an_observation_without_references_is_read_as_before(
    raw: dict[str, Any],
) -> None:
    assert of_observation(raw) == _specimen_reference(raw)


def test_a_variant_date_is_the_same_with_the_per_call_memo() -> None:
    memo: dict[str, Any] = {}
    for resource in (
        {"effectiveDateTime": "2024-03-01"},
        {"effectiveDateTime": "2024-03-01T10:00:00Z"},
        {"effectiveDateTime": "2024-03-01"},
        {"effectiveDateTime": "2024"},
        {"effectiveDateTime": "not a date", "issued": "2021-05-06T00:00:00Z"},
        {"effectiveDateTime": "2024-02-30", "effectivePeriod": {"start": "2022-01-02"}},
        {"effectiveDateTime": 20240301, "issued": "2020-01-01"},
        {},
    ):
        assert genomics._date(resource, memo) == effective_date(resource)
