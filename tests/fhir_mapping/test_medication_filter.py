"""The medication pre-filter drops only what the mapping would read as nothing: every drug,
code, name, brand and product of the tables, every unknown cancer drug and every medication the
mapping reports an issue on still reaches the mapping; a supportive medication no table names
does not (and the mapping result is the same with or without the filter)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.workloads import heavy_body, order_sign_body, realistic_body
from fhir_mapping import map_prefetch, medication_filter
from fhir_mapping.medications import identify, looks_antineoplastic
from fhir_mapping.products import product_table
from fhir_mapping.tables import drug_table
from tests.fhir_mapping.builders import CTX, bundle

RXN = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
ROOT = Path(__file__).resolve().parents[2]


def order(oid: str, concept: Any, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": oid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


def _table_concepts() -> Iterator[tuple[str, dict[str, Any]]]:
    """One concept per code, name and brand of the drug and drug-product tables."""
    for drug in drug_table().drugs:
        for code in drug.rxnorm:
            yield drug.agent.ingredient, {"coding": [{"system": RXN, "code": code}]}
        for code in drug.atc:
            yield drug.agent.ingredient, {"coding": [{"system": ATC, "code": code}]}
        for name in drug.names:
            yield drug.agent.ingredient, {"text": f"{name.upper()} 10 MG oral"}
            yield (
                drug.agent.ingredient,
                {"coding": [{"system": "urn:local", "code": "x", "display": name}]},
            )
    products = product_table()
    for code, product in products.by_rxnorm.items():
        yield product.ingredient, {"coding": [{"system": RXN, "code": code}]}
        yield product.ingredient, {"text": product.name}
    for brand, ingredient in products.by_brand.items():
        yield ingredient, {"text": f"{brand.title()} (as prescribed)"}


@pytest.mark.parametrize(("ingredient", "concept"), list(_table_concepts()))
def test_every_code_name_brand_and_product_of_the_tables_is_kept(
    ingredient: str, concept: dict[str, Any]
) -> None:
    identified = identify([concept])
    assert medication_filter.may_matter(order("m", concept))
    # the concept is one the mapping identifies (unless its name is shared by two drugs)
    if identified is not None:
        assert identified.drug.agent.ingredient == ingredient


@pytest.mark.parametrize(
    "text",
    [
        "filgrastim 480 MCG/0.8 ML Prefilled Syringe",
        "acetaminophen 500 MG Oral Tablet",
        "prochlorperazine 10 MG Oral Tablet",
        "supportive medication 3",
    ],
)
def test_supportive_medication_no_table_names_is_dropped(text: str) -> None:
    assert not medication_filter.may_matter(order("s", {"text": text}))
    coded = {"coding": [{"system": RXN, "code": "0", "display": text}], "text": text}
    assert not medication_filter.may_matter(order("s", coded))


def test_unknown_cancer_medication_and_issue_carriers_are_kept() -> None:
    l01 = order("c1", {"coding": [{"system": ATC, "code": "L01"}], "text": "study drug"})
    assert looks_antineoplastic(l01, [l01["medicationCodeableConcept"]])
    profiled = order(
        "c2",
        {"text": "study drug"},
        meta={
            "profile": [
                "http://hl7.org/fhir/us/mcode/StructureDefinition/"
                "mcode-cancer-related-medication-request"
            ]
        },
    )
    by_reference = {
        "resourceType": "MedicationRequest",
        "id": "r",
        "status": "active",
        "medicationReference": {"reference": "Medication/unknown"},
    }
    without_medication = {"resourceType": "MedicationRequest", "id": "n", "status": "active"}
    other_version = order("v", {"text": "paracetamol"}, medication={"concept": {}})
    not_an_object = order("o", ["acetaminophen"])
    for raw in (l01, profiled, by_reference, without_medication, other_version, not_an_object):
        assert medication_filter.may_matter(raw), raw["id"]


def test_a_co_medication_named_only_by_text_or_brand_is_read() -> None:
    result = map_prefetch(
        {
            "meds": bundle(
                order("s1", {"text": "filgrastim 480 MCG injection"}),
                order("q1", {"text": "Ondansetron 8 mg ODT"}),
                order("k1", {"text": "Nizoral 200 mg"}),
            )
        },
        CTX,
    )
    assert {c.agent.ingredient for c in result.patient.comedications} == {
        "ondansetron",
        "ketoconazole",
    }


_words = st.sampled_from(
    sorted(
        {n for d in drug_table().drugs for n in d.names}
        | set(product_table().by_brand)
        | {"tablet", "oral", "mg", "filgrastim", "acetaminophen", "-", "(", ")", "/", "xr"}
    )
)
_codes = st.sampled_from(
    sorted(
        {c for d in drug_table().drugs for c in d.rxnorm | d.atc}
        | set(product_table().by_rxnorm)
        | {"L01", "0", "1000", "A02BC01"}
    )
)
_separators = st.sampled_from([" ", "-", "", "/", ", ", "\t"])


@st.composite
def _concepts(draw: st.DrawFn) -> dict[str, Any]:
    def text() -> str:
        parts = draw(st.lists(st.tuples(_words, _separators), max_size=4))
        raw = "".join(word + sep for word, sep in parts)
        return draw(st.sampled_from([raw, raw.upper(), raw.title()]))

    concept: dict[str, Any] = {}
    if draw(st.booleans()):
        concept["text"] = text()
    codings = []
    for _ in range(draw(st.integers(0, 2))):
        coding: dict[str, Any] = {"system": draw(st.sampled_from([RXN, ATC, "urn:x"]))}
        if draw(st.booleans()):
            coding["code"] = draw(_codes) + draw(st.sampled_from(["", " "]))
        if draw(st.booleans()):
            coding["display"] = text()
        codings.append(coding)
    if codings:
        concept["coding"] = codings
    return concept


@given(_concepts())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_filter_is_a_necessary_condition_of_identification(concept: dict[str, Any]) -> None:
    raw = order("h", concept)
    if identify([concept]) is not None or looks_antineoplastic(raw, [concept]):
        assert medication_filter.may_matter(raw)
        assert medication_filter.may_matter(raw, _SHARED_NAMES)  # the per-call memo's way
    assert medication_filter.may_matter(raw, _SHARED_NAMES) is medication_filter.may_matter(raw)


#: One memo across the examples (texts recur): what a long call's memo holds.
_SHARED_NAMES: dict[str, bool] = {}


def _hook_bodies() -> Iterator[tuple[str, dict[str, Any]]]:
    yield "bench-realistic", realistic_body()
    yield "bench-heavy", heavy_body()
    yield "bench-200", order_sign_body(200)
    for path in sorted((ROOT / "tests" / "fixtures").rglob("*.json")):
        body = json.loads(path.read_text())
        if isinstance(body, dict) and ("prefetch" in body or "context" in body):
            yield path.name, body


@pytest.mark.parametrize(("name", "body"), list(_hook_bodies()))
def test_mapping_is_the_same_with_and_without_the_filter(
    name: str, body: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefetch, context = body.get("prefetch") or {}, body.get("context") or {}
    filtered = map_prefetch(prefetch, context)
    monkeypatch.setattr(medication_filter, "may_matter", lambda raw, names=None: True)
    assert map_prefetch(prefetch, context) == filtered, name


_any_text = st.text(
    alphabet=st.one_of(
        st.sampled_from("abcXYZ019_ -/.,()\t\n\x0b\x1f\u00c9\u00e9\u00df\u0130\u0131"),
        st.characters(min_codepoint=0, max_codepoint=0x2FF),
    ),
    max_size=30,
)


@given(st.lists(st.one_of(_words, _any_text), max_size=4).map(" ".join))
@settings(max_examples=600, deadline=None)
def test_word_test_of_a_text_is_the_regular_expression_s(text: str) -> None:
    """The ASCII fast path splits a text into the same words as ``\\w+`` (lower case)."""
    vocab = medication_filter.vocabulary()
    expected = bool(text.strip()) and not vocab.first_words.isdisjoint(
        re.findall(r"\w+", text.lower())
    )
    assert medication_filter._text_may_name(text, vocab) is expected


_supportive_texts = st.sampled_from(
    [
        "filgrastim 480 MCG/0.8 ML Prefilled Syringe",
        "acetaminophen 500 MG Oral Tablet",
        "ondansetron 8 MG Oral Tablet",
        "clarithromycin 500 MG Oral Tablet",
        "omeprazole 20 MG Delayed Release Oral Capsule",
        "warfarin 5 MG Oral Tablet",
        "Diflucan 150 mg",
        "senna 8.6 MG Oral Tablet",
    ]
)


@st.composite
def _orders(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A record's medication orders: table drugs, co-medications and unrelated ones, cycles of
    one order (same content, other id and dates), stopped orders, lower doses, notes."""
    orders: list[dict[str, Any]] = []
    for index in range(draw(st.integers(1, 6))):
        concept = draw(st.one_of(_concepts(), _supportive_texts.map(lambda text: {"text": text})))
        base = order(
            f"m{index}",
            concept,
            status=draw(
                st.sampled_from(
                    [
                        "active",
                        "completed",
                        "stopped",
                        "on-hold",
                        "draft",
                        "entered-in-error",
                        "bogus",
                    ]
                )
            ),
        )
        if draw(st.booleans()):
            base["dosageInstruction"] = [
                {
                    "doseAndRate": [
                        {
                            "doseQuantity": {
                                "value": draw(st.sampled_from([37.5, 400, 800])),
                                "unit": "mg",
                            }
                        }
                    ]
                }
            ]
        if draw(st.booleans()):
            base["statusReason"] = draw(
                st.sampled_from(
                    [
                        {"text": "not tolerated"},
                        {"coding": [{"system": "http://snomed.info/sct", "code": "266721009"}]},
                    ]
                )
            )
        if draw(st.booleans()):
            base["note"] = [{"text": "dose reduced for grade 3 diarrhoea"}]
        for cycle in range(draw(st.integers(1, 3))):
            copy = json.loads(json.dumps(base))
            copy["id"] = f"m{index}-{cycle}"
            copy["authoredOn"] = f"2024-0{cycle + 1}-01"
            orders.append(copy)
    return orders


@given(_orders())
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_any_mix_of_orders_maps_the_same_with_and_without_the_filter(
    orders: list[dict[str, Any]],
) -> None:
    draft = order("d", {"coding": [{"system": RXN, "code": "357977"}]}, status="draft")
    context = {**CTX, "draftOrders": bundle(draft)}
    prefetch = {"meds": bundle(*orders)}
    filtered = map_prefetch(prefetch, context)
    original = medication_filter.may_matter
    try:
        medication_filter.may_matter = lambda raw, names=None: True  # type: ignore[assignment]
        unfiltered = map_prefetch(prefetch, context)
    finally:
        medication_filter.may_matter = original
    assert filtered == unfiltered
