"""The raw-JSON pre-filter never drops a resource that matters, and unrelated labs are dropped
before validation; the validation-verdict cache changes nothing but the cost."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_mapping import conditions, disease_status, genomics, map_prefetch, prefilter
from fhir_mapping.explain import result_to_dict
from fhir_mapping.parse import VERDICTS, VerdictCache
from fhir_mapping.text_findings import observation_texts
from rules.patient import BiomarkerKind, Confidence, ResultValue
from tests.fhir_mapping.builders import CTX, LOINC, bundle, component, concept, obs

HGNC = "http://www.genenames.org"
RXN = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    VERDICTS.clear()
    yield
    VERDICTS.clear()


def lab(oid: str, code: str = "2160-0", **extra: Any) -> dict[str, Any]:
    """An ordinary creatinine result (no code the mapping reads)."""
    return obs(
        oid,
        code,
        valueQuantity={"value": 0.9, "unit": "mg/dL", "system": "http://unitsofmeasure.org"},
        **extra,
    )


def genomic(oid: str, **extra: Any) -> dict[str, Any]:
    return obs(
        oid,
        "69548-6",
        valueCodeableConcept=concept(LOINC, "LA9633-4"),
        component=[component("48018-6", valueCodeableConcept=concept(HGNC, "HGNC:6342", "KIT"))],
        **extra,
    )


def kinds_by_ref(issues: Any) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for issue in issues:
        out.setdefault(issue.reference, set()).add(issue.kind)
    return out


# --- never drops what matters -----------------------------------------------------------------


def test_genomic_observation_coded_only_by_text_is_read() -> None:
    raw = {
        "resourceType": "Observation",
        "id": "g-text",
        "status": "final",
        "code": {"text": "KIT mutation analysis"},
        "subject": {"reference": "Patient/p1"},
        "valueString": "KIT exon 11 deletion detected",
    }
    assert prefilter.screen(raw) == prefilter.TEXT_ONLY
    result = map_prefetch({"obs": bundle(lab("l1"), raw, lab("l2"))}, CTX)
    (biomarker,) = result.patient.biomarkers
    assert (biomarker.gene.symbol, biomarker.exon) == ("KIT", 11)
    assert biomarker.confidence is Confidence.TEXT_DERIVED
    assert biomarker.source_ref == "Observation/g-text"


def test_genomic_observation_with_local_code_and_symbol_display_is_read() -> None:
    raw = obs(
        "g-local",
        "KITMUT",
        system="urn:oid:1.2.3.4",
        valueCodeableConcept={"text": "PDGFRA D842V mutated"},
    )
    raw["code"]["coding"][0]["display"] = "PDGFRA"
    result = map_prefetch({"obs": bundle(raw)}, CTX)
    (biomarker,) = result.patient.biomarkers
    assert (biomarker.gene.symbol, biomarker.hotspot) == ("PDGFRA", "D842V")


def test_lab_note_mentioning_a_gene_is_read() -> None:
    noted = lab("l-note", note=[{"text": "Incidental: KIT exon 11 mutation on prior NGS."}])
    result = map_prefetch({"obs": bundle(lab("l1"), noted)}, CTX)
    (biomarker,) = result.patient.biomarkers
    assert (biomarker.gene.symbol, biomarker.kind, biomarker.exon, biomarker.result) == (
        "KIT",
        BiomarkerKind.VARIANT,
        11,
        ResultValue.PRESENT,
    )
    assert biomarker.source_ref == "Observation/l-note"


def test_relevant_code_with_odd_whitespace_is_kept() -> None:
    """The classifiers strip codes, so the filter does too; R4 then rejects the padded code."""
    raw = genomic("g1")
    raw["code"]["coding"][0]["code"] = " 69548-6 "
    assert prefilter.screen(raw) == prefilter.CODED
    result = map_prefetch({"obs": bundle(raw)}, CTX)
    assert kinds_by_ref(result.issues) == {"Observation/g1": {"invalid-resource"}}


def test_relevant_code_among_other_codings_is_kept() -> None:
    raw = genomic("g1")
    raw["code"]["coding"].insert(0, {"system": "urn:local", "code": "NGS-PANEL"})
    result = map_prefetch({"obs": bundle(raw)}, CTX)
    assert [b.gene.symbol for b in result.patient.biomarkers] == ["KIT"]


@pytest.mark.parametrize(
    ("med_concept", "rtype"),
    [
        ({"coding": [{"system": RXN, "code": "282388"}]}, "MedicationRequest"),
        ({"text": "Gleevec 400 mg daily"}, "MedicationRequest"),
        ({"coding": [{"system": RXN, "code": "282388"}]}, "MedicationStatement"),
    ],
)
def test_medications_of_any_shape_are_read(med_concept: dict[str, Any], rtype: str) -> None:
    raw: dict[str, Any] = {
        "resourceType": rtype,
        "id": "m1",
        "status": "active",
        "medicationCodeableConcept": med_concept,
        "subject": {"reference": "Patient/p1"},
    }
    if rtype == "MedicationRequest":
        raw["intent"] = "order"
    result = map_prefetch({"meds": bundle(lab("l1"), raw)}, CTX)
    assert [e.agent.ingredient for e in result.patient.exposures] == ["imatinib"]


def test_unrelated_medication_request_is_still_examined() -> None:
    """A MedicationRequest is never dropped by the Observation pre-filter: an unresolvable
    reference is reported even for a drug the rules do not read."""
    raw = {
        "resourceType": "MedicationRequest",
        "id": "m-ref",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "Medication/missing"},
        "subject": {"reference": "Patient/p1"},
    }
    result = map_prefetch({"meds": bundle(raw)}, CTX)
    assert kinds_by_ref(result.issues) == {
        "MedicationRequest/m-ref": {"unresolved-medication-reference"}
    }


# --- unrelated labs are dropped before validation ----------------------------------------------


@pytest.mark.parametrize(
    "defect",
    [
        {"status": 123},  # wrong type: invalid-resource
        {"effectiveDateTime": "not a date"},
        {"bogusElement": "x"},  # unknown element: dropped and reported
        {"modifierExtension": [{"url": "http://example.org/x", "valueBoolean": True}]},
    ],
)
def test_defective_unrelated_lab_is_never_validated(defect: dict[str, Any]) -> None:
    bad_lab = {**lab("l-bad"), **defect}
    bad_genomic = {**genomic("g-bad"), **defect}
    bad_noted_lab = {**lab("l-noted", note=[{"text": "KIT exon 11 mutation"}]), **defect}
    result = map_prefetch({"obs": bundle(bad_lab, bad_genomic, bad_noted_lab)}, CTX)
    found = kinds_by_ref(result.issues)
    assert "Observation/l-bad" not in found  # filtered before validation
    assert found["Observation/g-bad"]  # same defect, validated, reported
    assert found["Observation/l-noted"]  # text that matters: validated too
    assert found["Observation/g-bad"] - {"text-derived-finding"} == (
        found["Observation/l-noted"] - {"text-derived-finding"}
    )


def test_only_relevant_resources_reach_validation() -> None:
    labs = [lab(f"l{i}", code) for i, code in enumerate(["2160-0", "718-7", "777-3"] * 30)]
    coded_lab = lab("l-coded", valueCodeableConcept={"coding": [{"code": "POS"}]})
    texted_lab = lab("l-text", valueString="within normal limits")
    result = map_prefetch(
        {"obs": bundle(*labs, genomic("g1"), coded_lab, texted_lab)},
        CTX,
    )
    assert [b.gene.symbol for b in result.patient.biomarkers] == ["KIT"]
    assert (VERDICTS.hits, VERDICTS.misses) == (0, 1)  # the genomic Observation only


# --- the pre-filter is a superset of the classifiers (property) ---------------------------------

CODE_VALUES = st.sampled_from(
    [
        *sorted(prefilter.relevant_observation_codes()),
        *["2160-0", "718-7", "", " ", "48018-6", "LA9633-4", "HGNC:6342", "therapeutic"],
    ]
)
SYSTEMS = st.sampled_from(
    [
        LOINC,
        " http://loinc.org ",
        "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs",
        "http://snomed.info/sct",
        "urn:local",
        "",
    ]
)
CODINGS = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {},
            optional={
                "system": st.one_of(SYSTEMS, st.integers()),
                "code": st.one_of(CODE_VALUES, CODE_VALUES.map(lambda c: f" {c}\t"), st.none()),
                "display": st.sampled_from(["KIT", "Creatinine"]),
            },
        ),
        st.text(max_size=3),
        st.none(),
    ),
    max_size=3,
)
OPTIONAL_ELEMENTS = st.fixed_dictionaries(
    {},
    optional={
        "valueString": st.sampled_from(["KIT exon 11 mutation", "normal", ""]),
        "valueCodeableConcept": st.one_of(
            st.just({"text": "ALK rearranged"}), st.just({"coding": []})
        ),
        "component": st.just([{"valueString": "NTRK fusion"}]),
        "note": st.just([{"text": "KIT D816V detected"}]),
        "valueQuantity": st.just({"value": 1}),
    },
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    code=st.one_of(
        st.fixed_dictionaries({"coding": CODINGS}, optional={"text": st.just("KIT")}),
        st.none(),
        st.text(max_size=3),
    ),
    extra=OPTIONAL_ELEMENTS,
)
def test_screen_never_drops_what_a_classifier_or_the_text_pass_reads(
    code: Any, extra: dict[str, Any]
) -> None:
    raw = {"resourceType": "Observation", "id": "x", "status": "final", "code": code, **extra}
    screened = prefilter.screen(raw)
    classified = (
        genomics.classify(raw) is not None
        or disease_status.is_disease_status(raw)
        or conditions.is_histology_observation(raw)
    )
    if classified:
        assert screened == prefilter.CODED
    if screened == prefilter.UNRELATED:
        assert not observation_texts(raw)
    assert (screened == prefilter.CODED) == prefilter.has_relevant_code(raw)


# --- the verdict cache -----------------------------------------------------------------------


def _defective_prefetch() -> dict[str, Any]:
    unknown = {**genomic("g-unknown"), "bogusElement": "Jane Roe 1961-05-04"}
    invalid = {**genomic("g-invalid"), "status": 123}
    modifier = {
        **genomic("g-mod"),
        "modifierExtension": [{"url": "http://example.org/x", "valueBoolean": True}],
    }
    noted = lab("l-noted", note=[{"text": "KIT exon 11 mutation, MRN 99887766"}])
    return {"obs": bundle(genomic("g-ok"), unknown, invalid, modifier, noted)}


def test_a_cache_hit_reports_exactly_what_a_miss_reports() -> None:
    prefetch = _defective_prefetch()
    first = result_to_dict(map_prefetch(prefetch, CTX))
    misses = VERDICTS.misses
    assert misses == 5 and VERDICTS.hits == 0
    second = result_to_dict(map_prefetch(copy.deepcopy(prefetch), CTX))
    assert VERDICTS.misses == misses and VERDICTS.hits == 5
    assert first == second
    VERDICTS.clear()
    assert result_to_dict(map_prefetch(prefetch, CTX)) == first


def test_the_cache_keeps_no_patient_data() -> None:
    map_prefetch(_defective_prefetch(), CTX)
    stored = VERDICTS.values()
    assert len(stored) == 5
    text = repr(stored)
    for secret in ("Jane Roe", "1961", "99887766", "KIT", "g-unknown", "p1", "HGNC"):
        assert secret not in text
    assert "bogusElement" in text  # element paths (structure) are what is kept


def test_the_cache_is_type_exact_and_bounded() -> None:
    cache = VerdictCache(maxsize=2)
    as_list = {"resourceType": "Observation", "category": [{"text": "a"}]}
    as_tuple = {"resourceType": "Observation", "category": ({"text": "a"},)}
    # JSON text cannot tell a tuple from a list: one key, and one verdict (that of the JSON
    # form), whichever comes first
    assert cache.key(as_list) == cache.key(as_tuple)
    assert cache.verdict(as_tuple) == VerdictCache().verdict(as_list)
    assert cache.key({"1": "a"}) != cache.key({1: "a"})
    assert cache.key({"a": True}) != cache.key({"a": 1})
    assert cache.key({"a": 1.0}) != cache.key({"a": 1})
    assert cache.key({"a": "1"}) != cache.key({"a": 1})
    assert cache.key({"a": 1, "b": 2}) != cache.key({"b": 2, "a": 1})
    assert cache.key(as_list) == cache.key(copy.deepcopy(as_list))
    cache.clear()
    for i in range(5):
        cache.verdict({"resourceType": "Patient", "id": f"p{i}"})
    assert len(cache.values()) == 2


def test_unpicklable_input_is_checked_without_the_cache() -> None:
    raw = {**genomic("g-odd"), "status": lambda: None}
    result = map_prefetch({"obs": bundle(raw)}, CTX)
    assert "invalid-resource" in kinds_by_ref(result.issues)["Observation/g-odd"]
    assert VERDICTS.values() == []
