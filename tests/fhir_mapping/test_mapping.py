"""Shapes, robustness and derived facts of map_prefetch."""

from __future__ import annotations

import copy
import time
from decimal import Decimal
from typing import Any

import pytest

from fhir_mapping import map_prefetch
from rules.patient import (
    BiomarkerKind,
    Confidence,
    GenomicSource,
    Histology,
    HistologySubtype,
    ResultValue,
    StopReason,
)
from tests.fhir_mapping.builders import CTX, LOINC, bundle, component, concept, obs

HGNC = "http://www.genenames.org"
HGNC_OLD = "http://www.genenames.org/geneId"
SO = "http://www.sequenceontology.org"
SCT = "http://snomed.info/sct"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
RXN = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"


def variant(oid: str, *components: dict[str, Any], value: str = "LA9633-4") -> dict[str, Any]:
    return obs(
        oid,
        "69548-6",
        valueCodeableConcept=concept(LOINC, value),
        component=list(components),
    )


def gene(code: str, system: str = HGNC, display: str | None = None) -> dict[str, Any]:
    return component("48018-6", valueCodeableConcept=concept(system, code, display))


def condition(cid: str, *codes: tuple[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": s, "code": c} for s, c in codes]},
        **extra,
    }


def med(mid: str, med_concept: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": extra.pop("status", "active"),
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": med_concept,
        **extra,
    }


# --- conditions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["8936/3", "8936", "M8936/3", "89363"])
def test_icdo3_spellings_map_to_gist(code: str) -> None:
    result = map_prefetch({"c": condition("c", (ICDO3, code))}, CTX)
    assert result.patient.primary_histology() is Histology.GIST


def test_icd10cm_c49a_is_gist_and_soft_tissue_code_is_sarcoma_nos() -> None:
    result = map_prefetch({"c": bundle(condition("a", (ICD10, "C49.A2")))}, CTX)
    assert result.patient.primary_histology() is Histology.GIST
    result = map_prefetch({"c": condition("b", (ICD10, "C49.11"))}, CTX)
    assert result.patient.primary_histology() is Histology.SARCOMA_NOS


def test_liposarcoma_subtype_and_most_specific_wins() -> None:
    c = condition("c", (ICD10, "C49.4"), (ICDO3, "8858/3"))
    (diagnosis,) = map_prefetch({"c": c}, CTX).patient.diagnoses
    assert diagnosis.histology is Histology.LIPOSARCOMA
    assert diagnosis.subtype is HistologySubtype.DEDIFFERENTIATED


def test_conflicting_coded_histologies_are_reported() -> None:
    c = condition("c", (ICD10, "C49.A2"), (ICDO3, "8890/3"))
    result = map_prefetch({"c": c}, CTX)
    assert result.patient.primary_histology() is Histology.LEIOMYOSARCOMA  # ICD-O-3 first
    assert "conflicting-histology" in [i.kind for i in result.issues]


def test_refuted_and_entered_in_error_are_ignored_inactive_kept() -> None:
    def with_status(cid: str, ver: str | None, clin: str | None) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if ver:
            extra["verificationStatus"] = concept(
                "http://terminology.hl7.org/CodeSystem/condition-ver-status", ver
            )
        if clin:
            extra["clinicalStatus"] = concept(
                "http://terminology.hl7.org/CodeSystem/condition-clinical", clin
            )
        return condition(cid, (SCT, "420120006"), **extra)

    result = map_prefetch(
        {
            "c": bundle(
                with_status("r", "refuted", "active"),
                with_status("e", "entered-in-error", None),
                with_status("i", "confirmed", "resolved"),
            )
        },
        CTX,
    )
    assert [d.source_ref for d in result.patient.diagnoses] == ["Condition/i"]
    assert not result.patient.diagnoses[0].is_active


def test_text_only_histology_is_text_derived_and_hedged_text_is_ignored() -> None:
    plain = {
        "resourceType": "Condition",
        "id": "t",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "Dedifferentiated liposarcoma of retroperitoneum"},
    }
    hedged = {**plain, "id": "h", "code": {"text": "? liposarcoma, rule out lipoma"}}
    result = map_prefetch({"c": bundle(plain, hedged)}, CTX)
    (diagnosis,) = result.patient.diagnoses
    assert diagnosis.confidence is Confidence.TEXT_DERIVED
    assert diagnosis.subtype is HistologySubtype.DEDIFFERENTIATED
    assert "text-derived-finding" in [i.kind for i in result.issues]


def test_behaviour_6_marks_metastatic() -> None:
    (diagnosis,) = map_prefetch({"c": condition("m", (ICDO3, "8936/6"))}, CTX).patient.diagnoses
    assert diagnosis.metastatic is True


# --- genomics -----------------------------------------------------------------------------------


def test_both_hgnc_uris_and_both_so_uris_are_accepted() -> None:
    a = variant("a", gene("HGNC:8033", HGNC_OLD), gene("HGNC:3495"))
    b = variant(
        "b",
        gene("8031", HGNC_OLD),  # number without the HGNC: prefix
        component("48019-4", valueCodeableConcept=concept(SO + "/", "SO:1000044")),
    )
    patient = map_prefetch({"o": bundle(a, b)}, CTX).patient
    assert patient.has_fusion("NTRK3")
    assert patient.has_fusion("ETV6")
    assert patient.has_fusion("NTRK1")
    assert patient.biomarkers[1].gene.hgnc_id == "HGNC:8031"


def test_fusion_by_iscn_text_and_by_molecular_consequence_component() -> None:
    by_text = variant(
        "t",
        gene("HGNC:8033"),
        component("81291-7", valueCodeableConcept={"text": "ETV6::NTRK3"}),
    )
    by_so = variant(
        "s",
        gene("HGNC:427"),
        component(
            "molecular-consequence",
            "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs",
            valueCodeableConcept=concept(SO, "SO:0001565"),
        ),
    )
    kinds = [b.kind for b in map_prefetch({"o": bundle(by_text, by_so)}, CTX).patient.biomarkers]
    assert kinds == [BiomarkerKind.FUSION, BiomarkerKind.FUSION]


def test_germline_variant_is_not_a_driver() -> None:
    germline = variant(
        "g",
        gene("HGNC:7765"),
        component("48002-0", valueCodeableConcept=concept(LOINC, "LA6683-2")),
    )
    patient = map_prefetch({"o": germline}, CTX).patient
    (biomarker,) = patient.biomarkers
    assert biomarker.genomic_source is GenomicSource.GERMLINE
    assert patient.driver_biomarkers("NF1") == ()


def test_pdgfra_d842v_hotspot_and_exon_from_p_hgvs() -> None:
    v = variant(
        "d",
        gene("HGNC:8803"),
        component(
            "48005-3",
            valueCodeableConcept=concept("http://varnomen.hgvs.org", "NP_006197.1:p.Asp842Val"),
        ),
    )
    patient = map_prefetch({"o": v}, CTX).patient
    assert patient.has_hotspot("PDGFRA", "D842V")
    assert patient.biomarkers[0].exon == 18


def test_pan_ntrk_test_matches_any_ntrk_gene() -> None:
    pan = obs("n", "93813-4", valueCodeableConcept=concept(LOINC, "LA9633-4"))
    patient = map_prefetch({"o": pan}, CTX).patient
    assert patient.has_fusion("NTRK3")
    assert patient.biomarkers[0].kind is BiomarkerKind.REARRANGEMENT


def test_single_test_with_value_string_is_text_derived() -> None:
    ss = obs("s", "21825-5", valueString="Not detected")
    result = map_prefetch({"o": ss}, CTX)
    (biomarker,) = result.patient.biomarkers
    assert biomarker.result is ResultValue.ABSENT
    assert biomarker.confidence is Confidence.TEXT_DERIVED
    assert [p.symbol for p in biomarker.partners] == ["SSX1"]


def test_free_text_lab_note_yields_flagged_finding_without_copying_text() -> None:
    note = obs(
        "n",
        "11526-1",
        valueString="Pathology: tumour cells show a KIT exon 9 duplication. Patient Jane Doe.",
    )
    hedged = obs("h", "11526-1", valueString="PDGFRA D842V testing requested")
    result = map_prefetch({"o": bundle(note, hedged)}, CTX)
    (biomarker,) = result.patient.biomarkers
    assert biomarker.confidence is Confidence.TEXT_DERIVED
    assert biomarker.exon == 9
    assert biomarker.evidence_text == "KIT variant exon 9 present"
    assert result.patient.driver_biomarkers("KIT") == ()
    assert all("Jane" not in i.problem for i in result.issues)


# --- medications --------------------------------------------------------------------------------


def test_medication_reference_resolved_from_contained_and_unresolved_reported() -> None:
    contained = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "contained": [{"resourceType": "Medication", "id": "x", "code": concept(RXN, "1148495")}],
        "medicationReference": {"reference": "#x"},
    }
    dangling = {
        **contained,
        "id": "m2",
        "contained": [],
        "medicationReference": {"reference": "Medication/zz"},
    }
    dangling.pop("contained")
    result = map_prefetch({"m": bundle(contained, dangling)}, CTX)
    assert [e.agent.ingredient for e in result.patient.exposures] == ["crizotinib"]
    assert [i.kind for i in result.issues] == ["unresolved-medication-reference"]


@pytest.mark.parametrize(
    ("coding", "ingredient"),
    [
        ((RXN, "357977"), "sunitinib"),
        ((RXN, "616275"), "sunitinib"),
        ((ATC, "L01EA01"), "imatinib"),
        ((ATC, "L01XE01"), "imatinib"),
        ((ATC, "L01EX18"), "avapritinib"),
    ],
)
def test_drug_codes(coding: tuple[str, str], ingredient: str) -> None:
    result = map_prefetch({"m": med("m", concept(*coding))}, CTX)
    assert [e.agent.ingredient for e in result.patient.exposures] == [ingredient]


def test_brand_name_fallback_for_unverified_rxnorm() -> None:
    result = map_prefetch({"m": med("m", {"text": "QINLOCK 50 MG tablet"})}, CTX)
    assert result.patient.prior_agents() == frozenset({"ripretinib"})


def test_dose_normalisation_bid_and_grams() -> None:
    dosage = {
        "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": 0.4, "unit": "g", "code": "g"}}],
    }
    result = map_prefetch({"m": med("m", concept(RXN, "282388"), dosageInstruction=[dosage])}, CTX)
    dose = result.patient.exposures[0].dose
    assert dose is not None
    assert dose.mg_per_day == Decimal(800)
    assert dose.administrations_per_day == Decimal(2)


def test_dose_in_tablets_has_no_mg_per_day() -> None:
    dosage = {"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]}
    result = map_prefetch({"m": med("m", concept(RXN, "282388"), dosageInstruction=[dosage])}, CTX)
    dose = result.patient.exposures[0].dose
    assert dose is not None
    assert dose.mg_per_day is None


def test_status_reason_toxicity_and_lines_of_therapy() -> None:
    def stopped(mid: str, rx: str, start: str, end: str, reason: str | None) -> dict[str, Any]:
        extra: dict[str, Any] = {
            "status": "stopped",
            "dosageInstruction": [
                {"timing": {"repeat": {"boundsPeriod": {"start": start, "end": end}}}}
            ],
        }
        if reason:
            extra["statusReason"] = concept(SCT, reason)
        return med(mid, concept(RXN, rx), **extra)

    doxo = stopped("d", "3639", "2020-01-01", "2020-06-01", "407563006")
    ifo = stopped("i", "5657", "2020-01-03", "2020-06-01", "407563006")
    pazo = stopped("p", "714438", "2020-08-01", "2021-02-01", None)
    progression = obs(
        "s",
        "97509-4",
        effectiveDateTime="2021-01-20",
        valueCodeableConcept=concept(SCT, "271299001"),
    )
    patient = map_prefetch({"m": bundle(doxo, ifo, pazo), "o": progression}, CTX).patient
    lines = patient.lines_of_therapy()
    assert [line.agents for line in lines] == [("doxorubicin", "ifosfamide"), ("pazopanib",)]
    assert lines[0].ended_by is StopReason.TOXICITY
    assert lines[1].ended_by is StopReason.PROGRESSION
    assert lines[1].end_evidence == ("Observation/s",)
    assert patient.current_line() is None


def test_interaction_drug_is_a_comedication_not_an_exposure() -> None:
    result = map_prefetch({"m": med("m", concept(RXN, "9384"))}, CTX)
    assert result.patient.exposures == ()
    assert result.patient.comedications[0].agent.ingredient == "rifampin"


# --- robustness ---------------------------------------------------------------------------------


def test_modifier_extension_invalid_and_unknown_elements() -> None:
    modified = med("a", concept(RXN, "282388"))
    modified["modifierExtension"] = [{"url": "http://x.org/neg", "valueBoolean": True}]
    odd_date = med("b", concept(RXN, "282388"))
    odd_date["authoredOn"] = "not-a-date"  # an element no rule needs to know the drug: dropped
    vendor = med("c", concept(RXN, "282388"))
    vendor["x-vendor"] = {"secret": "Jane Doe"}
    bad_status = med("d", concept(RXN, "282388"))
    bad_status["status"] = ["Jane Doe"]  # a needed element: the resource is unreadable
    result = map_prefetch({"m": bundle(modified, odd_date, vendor, bad_status)}, CTX)
    assert [e.source_ref for e in result.patient.exposures] == [
        "MedicationRequest/b",
        "MedicationRequest/c",
    ]
    assert result.patient.exposures[0].start is None
    kinds = {i.reference: i.kind for i in result.issues}
    assert kinds == {
        "MedicationRequest/a": "modifier-extension",
        "MedicationRequest/b": "non-conformant-element",
        "MedicationRequest/c": "unknown-element-dropped",
        "MedicationRequest/d": "invalid-resource",
    }
    problems = {i.reference: i.problem for i in result.issues}
    assert problems["MedicationRequest/b"].startswith("authoredOn: string where")
    assert problems["MedicationRequest/d"].startswith(
        "failed R4 validation: status: list where a string is required"
    )
    assert all("Jane" not in i.problem and "not-a-date" not in i.problem for i in result.issues)


TBD = "http://hl7.org/fhir/uv/genomics-reporting/CodeSystem/tbd-codes-cs"


def consequence(cid: str, target: str, **extra: Any) -> dict[str, Any]:
    """A GRIG STU3 MolecularConsequence with a transcript_fusion functional effect (pattern C)."""
    return obs(
        cid,
        "molecular-consequence",
        TBD,
        derivedFrom=[{"reference": target}],
        component=[
            component("functional-effect", TBD, valueCodeableConcept=concept(SO, "SO:0001886"))
        ],
        **extra,
    )


def test_molecular_consequence_issues_are_reported_once() -> None:
    # Consequences are read in the early pass (pattern C needs them); the main pass must not
    # check them again and repeat their issues.
    vendor = consequence("mc-vendor", "Observation/v1")
    vendor["x-vendor"] = {"secret": "Jane Doe"}
    modified = consequence("mc-modified", "Observation/v2")
    modified["modifierExtension"] = [{"url": "http://x.org/neg", "valueBoolean": True}]
    invalid = consequence("mc-invalid", "Observation/v3", effectiveDateTime="not-a-date")
    other = consequence("mc-other", "Observation/v4", subject={"reference": "Patient/p2"})
    variants = [variant(f"v{n}", gene("HGNC:10261")) for n in (1, 2, 3, 4)]
    result = map_prefetch({"o": bundle(vendor, modified, invalid, other, *variants)}, CTX)
    assert sorted((i.reference, i.kind) for i in result.issues) == [
        ("Observation/mc-invalid", "invalid-resource"),
        ("Observation/mc-modified", "modifier-extension"),
        ("Observation/mc-other", "subject-mismatch"),
        ("Observation/mc-vendor", "unknown-element-dropped"),
    ]
    # Only the cleaned, same-patient consequence is folded into its variant.
    kinds = {b.source_ref: b.kind for b in result.patient.biomarkers}
    assert kinds == {
        "Observation/v1": BiomarkerKind.FUSION,
        "Observation/v2": BiomarkerKind.VARIANT,
        "Observation/v3": BiomarkerKind.VARIANT,
        "Observation/v4": BiomarkerKind.VARIANT,
    }


def test_operation_outcome_none_and_wrong_version() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": []}
    r5 = {
        "resourceType": "MedicationRequest",
        "id": "r5",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medication": {"concept": concept(RXN, "282388")},
    }
    dstu2 = {"resourceType": "MedicationOrder", "id": "old"}
    result = map_prefetch({"a": outcome, "b": None, "c": bundle(r5, dstu2)}, CTX)
    kinds = sorted(i.kind for i in result.issues)
    assert "operation-outcome-in-prefetch" in kinds
    assert kinds == [
        "operation-outcome-in-prefetch",
        "wrong-fhir-version",
        "wrong-fhir-version",
    ]
    assert result.patient.exposures == ()


def test_duplicates_across_keys_are_merged() -> None:
    m = med("m", concept(RXN, "282388"))
    changed = copy.deepcopy(m)
    changed["meta"] = {"lastUpdated": "2024-01-01T00:00:00Z"}
    changed["status"] = "stopped"
    same = map_prefetch({"a": bundle(m), "b": bundle(copy.deepcopy(m))}, CTX)
    assert len(same.patient.exposures) == 1
    assert same.issues == ()
    differ = map_prefetch({"a": bundle(m), "b": bundle(changed)}, CTX)
    assert [e.status.value for e in differ.patient.exposures] == ["stopped"]
    assert [i.kind for i in differ.issues] == ["duplicate-resource"]


def test_resources_of_another_patient_are_skipped() -> None:
    other = med("m", concept(RXN, "282388"), subject={"reference": "Patient/p2"})
    result = map_prefetch({"m": other}, CTX)
    assert result.patient.exposures == ()
    assert [i.kind for i in result.issues] == ["subject-mismatch"]


@pytest.mark.parametrize(
    "reference", ["Patient/", "/", "Patient//", "Patient/p1", "https://ehr.example/fhir/Patient/p1"]
)
def test_a_subject_without_another_patients_id_is_read(reference: str) -> None:
    """A subject reference that names no other patient ("Patient/" with no id, a bare "/")
    is read, as one without a slash is; it once made the whole hook call answer 500."""
    order = med("m", concept(RXN, "282388"), subject={"reference": reference})
    result = map_prefetch({"m": order}, CTX)
    assert [e.agent.ingredient for e in result.patient.exposures] == ["imatinib"]
    assert "subject-mismatch" not in [i.kind for i in result.issues]


def test_draft_orders_and_selections() -> None:
    draft = med("d1", concept(RXN, "714438"), status="draft")
    other = med("d2", concept(RXN, "1312397"), status="draft")
    context = {
        "patientId": "p1",
        "draftOrders": bundle(draft, other),
        "selections": ["MedicationRequest/d1"],
    }
    patient = map_prefetch({}, context).patient
    assert [(e.order_id, e.is_draft, e.is_selected) for e in patient.exposures] == [
        ("d1", True, True),
        ("d2", True, False),
    ]
    assert patient.prior_agents() == frozenset()
    assert patient.selected_exposures()[0].agent.ingredient == "pazopanib"


def test_unrelated_labs_are_not_validated_and_mapping_is_fast() -> None:
    labs = [
        obs(f"lab{i}", "2345-7", valueQuantity={"value": 5.4, "unit": "mmol/L"})
        for i in range(1000)
    ]
    labs[3]["x-vendor"] = 1  # would be reported if it were validated
    started = time.perf_counter()
    result = map_prefetch({"o": bundle(*labs)}, CTX)
    elapsed = time.perf_counter() - started
    assert result.issues == ()
    assert elapsed < 0.5


def test_unknown_cancer_drug_is_reported_not_guessed_and_supportive_drugs_stay_quiet():
    from fhir_mapping import map_prefetch

    def request(rid: str, concept: dict, profile: str | None = None) -> dict:
        resource = {
            "resourceType": "MedicationRequest",
            "id": rid,
            "status": "completed",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": concept,
        }
        if profile:
            resource["meta"] = {"profile": [profile]}
        return resource

    atc_l01 = {
        "coding": [{"system": "http://www.whocc.no/atc", "code": "L01XX99"}],
        "text": "investigational kinase inhibitor",
    }
    mcode = (
        "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-related-medication-request"
    )
    entries = [
        request("unknown-l01", atc_l01),
        request("unknown-mcode", {"text": "study drug 123"}, mcode),
        request("supportive", {"text": "ondansetron 8 mg"}),
    ]
    result = map_prefetch(
        {
            "medications": {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [{"resource": r} for r in entries],
            }
        },
        {"patientId": "p1"},
    )
    flagged = sorted(i.reference for i in result.issues if i.kind == "medication-not-identified")
    assert flagged == ["MedicationRequest/unknown-l01", "MedicationRequest/unknown-mcode"]
    assert result.patient.exposures == ()
    assert all("study drug" not in i.problem for i in result.issues)


def test_has_code_agrees_with_concept_codes_on_odd_codings():
    # has_code repeats concept_codes' validity rule without building Code objects (a hot path);
    # this keeps the two from drifting apart.
    from hypothesis import example, given, settings
    from hypothesis import strategies as st

    from fhir_mapping.codes import HGNC, concept_codes, has_code

    values = [
        "",
        " ",
        "http://loinc.org",
        " http://loinc.org ",
        "69548-6",
        " 69548-6 ",
        "http://www.genenames.org/geneId/",
        "HGNC:6342",
    ]
    text = st.sampled_from(values)
    coding = st.one_of(
        st.none(),
        st.integers(),
        st.fixed_dictionaries(
            {},
            optional={
                "system": st.one_of(text, st.none(), st.integers()),
                "code": st.one_of(text, st.none(), st.integers()),
                "display": text,
            },
        ),
    )
    concept = st.one_of(
        st.none(),
        st.text(max_size=2),
        st.fixed_dictionaries(
            {}, optional={"coding": st.one_of(st.lists(coding, max_size=3), st.text(max_size=2))}
        ),
    )
    asked = st.sampled_from(["http://loinc.org", HGNC, " http://loinc.org ", ""])

    @settings(max_examples=1000, deadline=None)
    @given(concept, asked, st.sampled_from(["69548-6", " 69548-6 ", "HGNC:6342", ""]))
    @example(
        {"coding": [{"system": "http://loinc.org", "code": " 69548-6 "}]},
        "http://loinc.org",
        " 69548-6 ",
    )
    @example(
        {"coding": [{"system": "http://www.genenames.org/geneId/", "code": "HGNC:6342"}]},
        HGNC,
        "HGNC:6342",
    )
    def check(value, system, code):
        expected = any(c.system == system and c.code == code for c in concept_codes(value))
        assert has_code(value, system, code) == expected

    check()


def test_a_malformed_element_no_rule_needs_does_not_drop_the_variant_or_the_diagnosis() -> None:
    """An Observation whose ``method`` is a bare string, and a Condition whose ``note`` is an
    object, are still read: the element is dropped and named, the coded facts are kept."""
    v = variant(
        "d",
        gene("HGNC:8803"),
        component(
            "48005-3",
            valueCodeableConcept=concept("http://varnomen.hgvs.org", "NP_006197.1:p.Asp842Val"),
        ),
    )
    v["method"] = "NGS panel"
    gist = condition("g", (ICDO3, "8936/3"), note={"text": "resected elsewhere"})
    result = map_prefetch({"o": bundle(v), "c": bundle(gist)}, CTX)
    assert result.patient.has_hotspot("PDGFRA", "D842V")
    assert [d.histology for d in result.patient.diagnoses] == ["gist"]
    problems = {(i.reference, i.problem.split(":")[0]) for i in result.issues}
    assert ("Observation/d", "method") in problems
    assert ("Condition/g", "note") in problems
