"""Extent of disease, treatment intent and disease status: one fixture per FHIR shape."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from fhir_mapping import map_prefetch
from rules.extent import Extent, GistRisk
from rules.gist_risk import risk_assessments
from rules.patient import DiseaseStatusValue, PartialDate, TreatmentIntent
from rules.setting import current_setting
from tests.fhir_mapping.builders import CTX, LOINC, bundle, concept, obs

SCT = "http://snomed.info/sct"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
RXN = "http://www.nlm.nih.gov/research/umls/rxnorm"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition"
ACTIVE = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                      "code": "active"}]}  # fmt: skip


def gist(cid: str = "gist", code: str = "8936/3", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": ACTIVE,
        "code": concept(ICDO3, code, "Gastrointestinal stromal tumor"),
        "subject": {"reference": "Patient/p1"},
        "onsetDateTime": "2024-01-10",
        **extra,
    }


def condition(cid: str, code: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": ACTIVE,
        "code": code,
        "subject": {"reference": "Patient/p1"},
        **extra,
    }


def mapped(conditions: list[dict[str, Any]], observations: list[dict[str, Any]] = (),  # type: ignore[assignment]
           medications: list[dict[str, Any]] = ()) -> Any:  # type: ignore[assignment]  # fmt: skip
    return map_prefetch(
        {
            "conditions": bundle(*conditions),
            "observations": bundle(*observations),
            "medications": bundle(*medications),
        },
        CTX,
    )


# --- secondary cancer conditions --------------------------------------------------------------


def test_mcode_secondary_condition_with_snomed_code_and_related_primary() -> None:
    secondary = condition(
        "met-brain",
        concept(SCT, "94225005", "Secondary malignant neoplasm of brain"),
        meta={"profile": [f"{MCODE}/mcode-secondary-cancer-condition"]},
        extension=[
            {
                "url": "http://hl7.org/fhir/StructureDefinition/condition-related",
                "valueReference": {"reference": "Condition/gist"},
            }
        ],
        onsetDateTime="2025-03-02",
    )
    result = mapped([gist(), secondary])
    assert [d.source_ref for d in result.patient.diagnoses] == ["Condition/gist"]  # not a dx
    setting = current_setting(result.patient)
    assert setting.extent is Extent.METASTATIC
    assert setting.text() == "metastatic (brain) since 2025-03-02"
    assert setting.source_refs == ("Condition/met-brain",)


def test_icd10cm_secondary_code_gives_the_site() -> None:
    secondary = condition(
        "met-liver",
        concept(ICD10, "C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct"),
        onsetDateTime="2025-03",
    )
    setting = current_setting(mapped([gist(), secondary]).patient)
    assert setting.text() == "metastatic (liver) since 2025-03"


def test_icdo3_behaviour_6_in_the_histology_extension() -> None:
    secondary = condition(
        "met-6",
        concept(SCT, "128462008", "Secondary malignant neoplastic disease"),
        extension=[
            {
                "url": f"{MCODE}/mcode-histology-morphology-behavior",
                "valueCodeableConcept": concept(ICDO3, "8936/6"),
            }
        ],
        bodySite=[{"text": "Peritoneum"}],
        onsetDateTime="2025-06-01",
    )
    setting = current_setting(mapped([gist(), secondary]).patient)
    assert setting.extent is Extent.METASTATIC
    assert setting.sites == ("peritoneum",)


def test_wording_only_secondary_is_read_but_reported_as_text_derived() -> None:
    secondary = condition("met-text", {"text": "Liver metastases"}, onsetDateTime="2025-02")
    result = mapped([gist(), secondary])
    assert current_setting(result.patient).extent is Extent.METASTATIC
    assert any(
        i.kind == "text-derived-finding" and i.reference == "Condition/met-text"
        for i in result.issues
    )
    hedged = condition("met-q", {"text": "? liver metastases"}, onsetDateTime="2025-02")
    assert current_setting(mapped([gist(), hedged]).patient).extent is Extent.UNKNOWN


def test_resolved_or_refuted_secondary_is_not_current_metastatic_disease() -> None:
    resolved = condition(
        "met-old",
        concept(ICD10, "C78.7"),
        clinicalStatus={"coding": [{"system": ACTIVE["coding"][0]["system"], "code": "resolved"}]},
    )
    assert current_setting(mapped([gist(), resolved]).patient).extent is Extent.UNKNOWN
    refuted = condition(
        "met-no",
        concept(ICD10, "C78.0"),
        verificationStatus={
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "refuted",
                }
            ]
        },
    )
    assert current_setting(mapped([gist(), refuted]).patient).extent is Extent.UNKNOWN


# --- stage ------------------------------------------------------------------------------------


def test_condition_stage_summary() -> None:
    staged = gist(stage=[{"summary": {"text": "Stage IV"}}])
    assert current_setting(mapped([staged]).patient).extent is Extent.ADVANCED
    early = gist(stage=[{"summary": {"text": "Stage IB"}}])
    assert current_setting(mapped([early]).patient).extent is Extent.LOCALIZED


@pytest.mark.parametrize(
    ("code", "system", "value", "extent"),
    [
        ("21907-1", LOINC, concept(SCT, "1229903009", "American Joint Committee on Cancer cM1"),
         Extent.METASTATIC),
        ("21901-4", LOINC, {"text": "pM1a"}, Extent.METASTATIC),
        ("399387003", SCT, concept(SCT, "1229901006", "American Joint Committee on Cancer cM0"),
         Extent.LOCALIZED),
        ("21908-9", LOINC, {"text": "Stage IIIB"}, Extent.LOCALIZED),
        ("399588009", SCT, {"coding": [{"system": "http://cancerstaging.org", "code": "4",
                                        "display": "Stage 4"}]}, Extent.ADVANCED),
    ],
)  # fmt: skip
def test_tnm_observations(code: str, system: str, value: dict[str, Any], extent: Extent) -> None:
    observation = obs(
        "stage-1", code, system, valueCodeableConcept=value, effectiveDateTime="2025-05-05"
    )
    setting = current_setting(mapped([gist()], [observation]).patient)
    assert setting.extent is extent
    assert setting.source_refs == ("Observation/stage-1",)


def test_unreadable_staging_value_is_a_mapping_issue() -> None:
    observation = obs("stage-x", "21907-1", valueCodeableConcept={"text": "see report"})
    result = mapped([gist()], [observation])
    assert current_setting(result.patient).extent is Extent.UNKNOWN
    assert any(i.reference == "Observation/stage-x" for i in result.issues)


# --- disease status -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "value", "extent"),
    [
        ("260415000", DiseaseStatusValue.NO_EVIDENCE_OF_DISEASE, Extent.NO_EVIDENCE_OF_DISEASE),
        ("550991000124107", DiseaseStatusValue.NO_EVIDENCE_OF_DISEASE,
         Extent.NO_EVIDENCE_OF_DISEASE),
        ("103338009", DiseaseStatusValue.NO_EVIDENCE_OF_DISEASE, Extent.NO_EVIDENCE_OF_DISEASE),
        ("551001000124108", DiseaseStatusValue.IMPROVED, Extent.UNKNOWN),
        ("399409002", DiseaseStatusValue.DISTANT_METASTASIS, Extent.METASTATIC),
        ("271299001", DiseaseStatusValue.PROGRESSION, Extent.ADVANCED),
    ],
)  # fmt: skip
def test_cancer_disease_status_values(code: str, value: DiseaseStatusValue, extent: Extent) -> None:
    status = obs(
        "ds-1", "97509-4", valueCodeableConcept=concept(SCT, code), effectiveDateTime="2025-08-01"
    )
    patient = mapped([gist()], [status]).patient
    assert [s.value for s in patient.disease_status] == [value]
    assert current_setting(patient).extent is extent


def test_complete_remission_after_metastasis_clears_it() -> None:
    secondary = condition("met", concept(ICD10, "C78.7"), onsetDateTime="2024-06")
    status = obs(
        "cr", "97509-4", valueCodeableConcept=concept(SCT, "550991000124107"),
        effectiveDateTime="2025-08-01",
    )  # fmt: skip
    setting = current_setting(mapped([gist(), secondary], [status]).patient)
    assert setting.text() == "no evidence of disease since 2025-08-01"


# --- ICD-O-3 behaviour --------------------------------------------------------------------------


def test_gist_behaviour_1_and_0_are_localized_but_imt_8825_1_is_not() -> None:
    for code in ("8936/1", "8936/0"):
        patient = mapped([gist(code=code)]).patient
        assert patient.diagnoses[0].behaviour == code[-1]
        assert current_setting(patient).extent is Extent.LOCALIZED
    imt = condition("imt", concept(ICDO3, "8825/1", "Inflammatory myofibroblastic tumor"))
    assert current_setting(mapped([imt]).patient).extent is Extent.UNKNOWN
    # a later metastasis still wins over an old /1 code
    secondary = condition("met", concept(ICD10, "C78.7"), onsetDateTime="2025-09")
    assert current_setting(mapped([gist(code="8936/1"), secondary]).patient).is_advanced


# --- treatment intent ---------------------------------------------------------------------------


def imatinib(mid: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "completed",
        "intent": "order",
        "medicationCodeableConcept": concept(RXN, "282388", "imatinib"),
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2021-05-01",
        **extra,
    }


@pytest.mark.parametrize(
    ("extra", "intent"),
    [
        ({"extension": [{"url": f"{MCODE}/mcode-procedure-intent",
                         "valueCodeableConcept": concept(SCT, "373846009", "Adjuvant - intent")}]},
         TreatmentIntent.ADJUVANT),
        ({"extension": [{"url": f"{MCODE}/mcode-treatment-intent",
                         "valueCodeableConcept": concept(SCT, "373847000")}]},
         TreatmentIntent.NEOADJUVANT),
        ({"extension": [{"url": f"{MCODE}/mcode-procedure-intent",
                         "valueCodeableConcept": concept(SCT, "363676003")}]},
         TreatmentIntent.PALLIATIVE),
        ({"courseOfTherapyType": {"text": "Adjuvant"}}, TreatmentIntent.ADJUVANT),
        ({"reasonReference": [{"reference": "Condition/gist",
                               "display": "Neoadjuvant therapy of gastric GIST"}]},
         TreatmentIntent.NEOADJUVANT),
        ({"courseOfTherapyType": concept(
            "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy",
            "continuous")}, None),
    ],
)  # fmt: skip
def test_treatment_intent_shapes(extra: dict[str, Any], intent: TreatmentIntent | None) -> None:
    (exposure,) = mapped([gist()], medications=[imatinib("mr-1", **extra)]).patient.exposures
    assert exposure.intent is intent


def test_palliative_intent_makes_the_setting_advanced() -> None:
    palliative = imatinib(
        "mr-p",
        status="active",
        authoredOn="2025-10-01",
        extension=[{"url": f"{MCODE}/mcode-procedure-intent",
                    "valueCodeableConcept": concept(SCT, "363676003")}],
    )  # fmt: skip
    setting = current_setting(mapped([gist()], medications=[palliative]).patient)
    assert setting.extent is Extent.ADVANCED
    assert setting.since == PartialDate(2025, 10, 1)


# --- procedures and residual tumour ------------------------------------------------------------


def text_obs(oid: str, text: str, **extra: Any) -> dict[str, Any]:
    resource = obs(oid, "x", "urn:local", **extra)
    resource["code"] = {"text": text}
    return resource


def procedure(pid: str, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": pid,
        "status": "completed",
        "code": {"text": text},
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": "2025-04-10",
        "reasonReference": [{"reference": "Condition/gist"}],
        **extra,
    }


def with_procedures(*procs: dict[str, Any], observations: list[dict[str, Any]] = ()) -> Any:  # type: ignore[assignment]
    return map_prefetch(
        {
            "conditions": bundle(gist()),
            "observations": bundle(*observations),
            "procedures": bundle(*procs),
        },
        CTX,
    )


def test_resection_with_coded_r0_outcome() -> None:
    proc = procedure(
        "px-1", "Wedge resection of stomach",
        outcome=concept(SCT, "1222638005", "American Joint Committee on Cancer R0"),
    )  # fmt: skip
    patient = with_procedures(proc).patient
    (resection,) = patient.resections
    assert resection.residual is not None and resection.residual.value == "R0"
    assert current_setting(patient).text() == "resected 2025-04-10 (R0), no evidence of disease"


def test_residual_tumour_observation_linked_by_part_of() -> None:
    proc = procedure("px-2", "Segmental small bowel resection")
    residual = obs(
        "res-1", "17964000", SCT,
        valueCodeableConcept=concept(SCT, "1222640000", "American Joint Committee on Cancer R2"),
        partOf=[{"reference": "Procedure/px-2"}],
    )  # fmt: skip
    patient = with_procedures(proc, observations=[residual]).patient
    (resection,) = patient.resections
    assert resection.residual is not None and resection.residual.value == "R2"
    assert resection.residual_ref == "Observation/res-1"
    assert current_setting(patient).extent is Extent.LOCALLY_ADVANCED


def test_biopsy_unrelated_or_unfinished_surgery_is_not_a_resection() -> None:
    biopsy = procedure("px-3", "Endoscopic ultrasound-guided biopsy of gastric mass")
    unrelated = procedure("px-4", "Appendectomy", reasonReference=[])
    planned = procedure("px-5", "Resection of GIST", status="preparation")
    profiled = procedure(
        "px-6", "Surgical procedure",
        reasonReference=[],
        meta={"profile": [f"{MCODE}/mcode-cancer-related-surgical-procedure"]},
    )  # fmt: skip
    patient = with_procedures(biopsy, unrelated, planned, profiled).patient
    assert [r.source_ref for r in patient.resections] == ["Procedure/px-6"]


# --- GIST risk ----------------------------------------------------------------------------------


def test_recorded_gist_risk_category() -> None:
    risk = text_obs("risk-1", "GIST risk of recurrence (modified NIH)",
        valueCodeableConcept={"text": "High risk"},
    )  # fmt: skip
    patient = mapped([gist()], [risk]).patient
    assert [a.risk for a in patient.gist_risk] == [GistRisk.HIGH]


def test_gist_risk_factors_from_size_mitoses_and_site() -> None:
    primary = gist(code="8936/3", bodySite=[{"text": "Gastric body"}])
    size = obs("size-1", "21889-1", valueQuantity={"value": 65, "unit": "mm", "code": "mm"})
    mitoses = text_obs("mit-1", "Mitotic rate (per 5 mm2)",
        valueQuantity={"value": 8},
    )  # fmt: skip
    patient = mapped([primary], [size, mitoses]).patient
    (assessment,) = patient.gist_risk
    assert (assessment.size_cm, assessment.mitoses_per_5mm2, assessment.site) == (
        Decimal("6.5"), Decimal(8), "gastric",
    )  # fmt: skip
    assert assessment.source_ref == "Observation/mit-1"
    derived = risk_assessments(patient)
    assert derived and derived[-1].risk is GistRisk.HIGH


def test_mitotic_count_over_another_area_is_not_converted() -> None:
    mitoses = text_obs("mit-2", "Mitoses per 10 HPF",
        valueQuantity={"value": 3},
    )  # fmt: skip
    result = mapped([gist()], [mitoses])
    assert result.patient.gist_risk == ()
    assert any(i.reference == "Observation/mit-2" for i in result.issues)
