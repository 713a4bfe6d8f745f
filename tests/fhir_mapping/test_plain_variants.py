"""The plain-variant path (fhir_mapping.plain_variants, taken by ObservationMapping._genomic) maps a
genomic variant Observation exactly as the general path (genomics.map_variant) does: the same
findings, issues, notes read and dates memo, on the bench records' variants and on generated and
mutated variants of every answer, gene, source and component shape (HGNC spellings, displays
naming the gene or another one, unknown genes, extra components, second codings, withdrawn
statuses, consequences read for the variant, odd values anywhere), one at a time and as a
record whose variants share the per-call memo of dates."""

from __future__ import annotations

import copy
import json
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.workloads import heavy_body, realistic_body
from fhir_mapping import genomics, map_prefetch, observation_builder
from fhir_mapping.builder import PatientBuilder
from fhir_mapping.bundles import collect
from fhir_mapping.codes import reference_of
from fhir_mapping.plain_variants import map_plain_variant
from tests.fhir_mapping.test_cheap_reader import DATES, ODD_VALUES, STRINGS, mutated

LOINC = "http://loinc.org"
HGNC = "http://www.genenames.org"
HGNC_STU2 = "http://www.genenames.org/geneId"


def _concept(system: Any, code: Any, display: Any = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return {"coding": [coding]}


def _genes(systems: list[Any], ids: list[tuple[str, str]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda system, code_display, display_kind: _concept(
            system,
            code_display[0],
            {"own": code_display[1], "other": "PDGFRA", "lower": code_display[1].lower()}.get(
                display_kind, display_kind
            ),
        ),
        st.sampled_from(systems),
        st.sampled_from(ids),
        st.sampled_from(["own", "own", "lower", "other", "none", " ", "", 7, None]),
    )


KNOWN = [
    ("HGNC:6342", "KIT"),
    ("HGNC:8803", "PDGFRA"),
    ("HGNC:1097", "BRAF"),
    ("HGNC:8031", "NTRK1"),
]
#: Genes as panels code them (HGNC ids of the table, either HGNC system spelling) ...
GOOD_GENES = _genes([HGNC, HGNC_STU2], KNOWN)
#: ... and in other spellings (the general path reads them; the plain one leaves them).
GENES = GOOD_GENES | _genes(
    [HGNC, HGNC_STU2, HGNC + "/", " " + HGNC, LOINC],
    [
        *KNOWN,
        ("HGNC:99999", "MADEUP"),
        ("6342", "KIT"),
        (" HGNC:6342", "KIT"),
        ("hgnc:6342", "KIT"),
    ],
)
GOOD_ANSWERS = st.sampled_from(
    [
        _concept(LOINC, "LA9634-2"),
        _concept(LOINC, "LA9633-4"),
        _concept(LOINC, "LA9634-2", "Absent"),
    ]
)
ANSWERS = GOOD_ANSWERS | st.sampled_from(
    [
        _concept(LOINC, "LA9634-2"),
        _concept(LOINC, "LA9633-4", "Present"),
        _concept(LOINC, "LA9634-2", "Absent"),
        _concept(LOINC, " LA9634-2"),
        _concept(LOINC, "LA9632-6"),
        _concept("http://snomed.info/sct", "10828004"),
        {"text": "not detected"},
        {"coding": [{"system": LOINC, "code": "LA9634-2"}, {"system": LOINC, "code": "LA9633-4"}]},
    ]
)
GOOD_SOURCES = st.sampled_from(
    [_concept(LOINC, "LA6684-0", "Somatic"), _concept(LOINC, "LA6683-2", "Germline")]
)
SOURCES = GOOD_SOURCES | st.sampled_from(
    [
        _concept(LOINC, "LA6684-0", "Somatic"),
        _concept(LOINC, "LA6683-2", "Germline"),
        _concept(LOINC, "LA18197-8"),
        _concept(LOINC + " ", "LA6684-0"),
        {"text": "somatic"},
    ]
)
OTHER_COMPONENTS = st.sampled_from(
    [
        {"code": _concept(LOINC, "47999-8"), "valueString": "Exon 11"},
        {"code": _concept(LOINC, "48005-3"), "valueCodeableConcept": _concept("x", "p.V600E")},
        {"code": _concept(LOINC, "48019-4"), "valueCodeableConcept": _concept("x", "SO:0001565")},
        {"code": _concept(LOINC, "81258-6"), "valueQuantity": {"value": 0.4}},
        {"code": _concept(LOINC, "12345-6"), "valueString": "unread"},
        {"code": {"coding": [{"system": "x", "code": "y"}, {"system": LOINC, "code": "48018-6"}]}},
    ]
)


@st.composite
def components(draw: st.DrawFn) -> list[Any]:
    out: list[Any] = []
    for _ in range(draw(st.sampled_from([1, 1, 1, 2]))):
        gene = draw(GOOD_GENES if draw(st.integers(0, 3)) else GENES)
        out.append({"code": _concept(LOINC, "48018-6"), "valueCodeableConcept": gene})
    if draw(st.integers(0, 3)):
        source = draw(GOOD_SOURCES if draw(st.integers(0, 3)) else SOURCES)
        out.append({"code": _concept(LOINC, "48002-0"), "valueCodeableConcept": source})
    if not draw(st.integers(0, 5)):
        out.append(draw(OTHER_COMPONENTS))
    return draw(st.permutations(out))


@st.composite
def plain_variants(draw: st.DrawFn) -> dict[str, Any]:
    """Variant assessments as panels send them, for the context's patient (p1) or not."""
    raw: dict[str, Any] = {
        "resourceType": "Observation",
        "id": draw(st.sampled_from(["gen-0", "gen-1", "v.2"])),
        "status": draw(
            st.sampled_from(["final", "final", "final", "amended", "cancelled", "entered-in-error"])
        ),
        "code": _concept(LOINC, "69548-6", "Genetic variant assessment"),
        "subject": draw(st.sampled_from([{"reference": "Patient/p1"}, {"reference": "p1"}])),
        "valueCodeableConcept": draw(GOOD_ANSWERS if draw(st.integers(0, 3)) else ANSWERS),
        "component": draw(components()),
    }
    if draw(st.integers(0, 3)):
        raw["effectiveDateTime"] = draw(st.sampled_from(["2024-03-01", "2024-03", "2024-13"]))
    if not draw(st.integers(0, 4)):
        raw["note"] = [{"text": draw(st.sampled_from(["KIT exon 11 deletion", "no text"]))}]
    if not draw(st.integers(0, 4)):
        raw["specimen"] = draw(st.sampled_from([{"reference": "Specimen/s1"}, {"display": "FNA"}]))
    if not draw(st.integers(0, 5)):
        raw["method"] = draw(st.sampled_from([{"text": "liquid biopsy"}, {}, None]))
    if not draw(st.integers(0, 5)):
        raw["code"] = {**raw["code"], "text": draw(st.sampled_from(["ctDNA panel", None, ""]))}
    return raw


@st.composite
def variants(draw: st.DrawFn) -> dict[str, Any]:
    """A variant with a few elements of another shape, type or value."""
    raw = draw(plain_variants())
    for _ in range(draw(st.integers(1, 3))):
        name = draw(
            st.sampled_from(
                ["status", "valueCodeableConcept", "component", "effectiveDateTime", "valueString"]
            )
        )
        raw[name] = draw(
            {
                "status": st.sampled_from([" final", "", 3]) | ODD_VALUES,
                "valueCodeableConcept": ANSWERS | ODD_VALUES,
                "component": st.lists(OTHER_COMPONENTS | ODD_VALUES, max_size=2) | ODD_VALUES,
                "effectiveDateTime": DATES | ODD_VALUES,
                "valueString": STRINGS,
            }[name]
        )
    return raw


def _state(builder: PatientBuilder) -> dict[str, Any]:
    """The builder's facts, issues and dates memo (the plain path's other memos are its own)."""
    state = {k: v for k, v in vars(builder).items() if k not in ("collected", "genomic_memo")}
    state["genomic_dates"] = builder.genomic_memo.dates
    return state


def _map(
    resources: list[Any], patient_id: str | None, consequences: dict[str, set[str]], *, plain: bool
) -> dict[str, Any]:
    """Each variant as map_prefetch hands it over, through one builder; ``plain=False`` with the
    plain path answering "general" for every variant."""
    builder = PatientBuilder(collect({}, {}), patient_id)
    with mock.patch.object(
        observation_builder,
        "map_plain_variant",
        map_plain_variant if plain else (lambda *args: None),
    ):
        for raw in resources:
            builder._genomic(raw, consequences, genomics.KIND_VARIANT)
    return _state(builder)


PATIENTS = st.sampled_from(["p1", "p2", None])
CONSEQUENCES = st.sampled_from([{}, {"Observation/gen-0": {"SO:0001565"}}])


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_variants(), PATIENTS, CONSEQUENCES)
def test_a_conformant_variant_maps_the_same_on_both_paths(
    raw: dict[str, Any], patient_id: str | None, consequences: dict[str, set[str]]
) -> None:
    plain = _map([raw], patient_id, consequences, plain=True)
    assert plain == _map([raw], patient_id, consequences, plain=False)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variants(), PATIENTS, CONSEQUENCES)
def test_a_variant_maps_the_same_on_both_paths(
    raw: dict[str, Any], patient_id: str | None, consequences: dict[str, set[str]]
) -> None:
    plain = _map([raw], patient_id, consequences, plain=True)
    assert plain == _map([raw], patient_id, consequences, plain=False)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(plain_variants()), PATIENTS)
def test_a_mutated_variant_maps_the_same_on_both_paths(
    raw: dict[str, Any], patient_id: str | None
) -> None:
    assert _map([raw], patient_id, {}, plain=True) == _map([raw], patient_id, {}, plain=False)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(plain_variants() | variants(), min_size=1, max_size=5), PATIENTS)
def test_a_panel_shares_the_dates_memo_and_maps_the_same(
    record: list[dict[str, Any]], patient_id: str | None
) -> None:
    assert _map(record, patient_id, {}, plain=True) == _map(record, patient_id, {}, plain=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(plain_variants(), min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=8),
    PATIENTS,
)
def test_a_record_repeating_components_maps_the_same(
    panel: list[dict[str, Any]], picks: list[tuple[int, int]], patient_id: str | None
) -> None:
    """A record whose variants repeat the same components and answers as separate (equal)
    JSON values, some of them then changed in one place (a display, a code, a system, an
    element's type): the plain path's per-call memo of component readings answers each
    variant as reading it again would (and so as the general path does)."""
    record: list[dict[str, Any]] = []
    for index, change in picks:
        raw = copy.deepcopy(panel[index % len(panel)])
        raw["id"] = f"gen-{len(record)}"
        parts = raw["component"]
        if change and parts and type(parts[0]) is dict:
            target = parts[-1] if change == 2 else raw
            concept = target.get("valueCodeableConcept")
            if type(concept) is dict and type(concept.get("coding")) is list and concept["coding"]:
                coding = concept["coding"][0]
                slot = ["display", "system", "code"][len(record) % 3]
                coding[slot] = {"display": "PDGFRA", "system": HGNC_STU2, "code": 1}[slot]
        record.append(raw)
    assert _map(record, patient_id, {}, plain=True) == _map(record, patient_id, {}, plain=False)


def test_the_common_shapes_take_the_plain_path() -> None:
    """Absent and present, somatic and germline, both HGNC spellings, with or without the
    gene's own display: answered by the plain path (not left to the general one)."""
    for answer in ("LA9634-2", "LA9633-4"):
        for source in ("LA6684-0", "LA6683-2"):
            for system in (HGNC, HGNC_STU2):
                for display in ("KIT", "kit", None):
                    raw = {
                        "resourceType": "Observation",
                        "id": "gen-0",
                        "status": "final",
                        "code": _concept(LOINC, "69548-6"),
                        "valueCodeableConcept": _concept(LOINC, answer),
                        "component": [
                            {
                                "code": _concept(LOINC, "48018-6"),
                                "valueCodeableConcept": _concept(system, "HGNC:6342", display),
                            },
                            {
                                "code": _concept(LOINC, "48002-0"),
                                "valueCodeableConcept": _concept(LOINC, source),
                            },
                        ],
                    }
                    ref = reference_of(raw)
                    assert map_plain_variant(raw, {}, ref, {}) == genomics.map_variant(
                        copy.deepcopy(raw), {}, ref, {}
                    )
                    assert map_plain_variant(raw, {}, ref, {}) is not None


@pytest.mark.parametrize("make", [realistic_body, heavy_body])
def test_the_bench_records_take_the_plain_path_and_map_the_same(make: Any) -> None:
    body = json.loads(json.dumps(make()))
    taken: list[str] = []

    def counting(raw: Any, consequences: Any, ref: str, dates: Any, memo: Any) -> Any:
        answer = map_plain_variant(raw, consequences, ref, dates, memo)
        if answer is not None:
            taken.append(ref)
        return answer

    with mock.patch.object(observation_builder, "map_plain_variant", counting):
        fast = map_prefetch(body["prefetch"], body["context"])
    # Every pertinent negative of the panel takes the plain path.
    assert len(taken) >= (12 if make is realistic_body else 39)
    with mock.patch.object(observation_builder, "map_plain_variant", lambda *args: None):
        assert map_prefetch(body["prefetch"], body["context"]) == fast
