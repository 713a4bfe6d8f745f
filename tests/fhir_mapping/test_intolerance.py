"""Reading drug intolerance as EHRs record it: AllergyIntolerance, a stop reason in words, an
order note; and limited (focal) progression from a disease-status Observation's text."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fhir_mapping import map_prefetch
from rules.patient import IntoleranceKind, StopReason
from tests.fhir_mapping.builders import CTX, bundle, concept, obs

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"


def allergy(aid: str, code: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": aid,
        "patient": {"reference": "Patient/p1"},
        "code": code,
        **extra,
    }


def imatinib_order(mid: str, mg: int, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": extra.pop("status", "active"),
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": concept(RXNORM, "282388", "imatinib"),
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg"}}],
            }
        ],
        "authoredOn": "2025-01-01",
        **extra,
    }


def test_allergy_intolerance_of_type_intolerance_names_the_drug() -> None:
    record = allergy(
        "ai1",
        concept(RXNORM, "282388", "imatinib"),
        type="intolerance",
        clinicalStatus=concept(CLINICAL, "active"),
        reaction=[{"manifestation": [{"text": "periorbital oedema"}]}],
    )
    result = map_prefetch({"allergies": bundle(record)}, CTX)
    (found,) = result.patient.intolerances()
    assert (found.ingredient, found.kind, found.source_ref) == (
        "imatinib",
        IntoleranceKind.INTOLERANCE_RECORD,
        "AllergyIntolerance/ai1",
    )
    assert found.mg_per_day is None  # no dose stated: any dose counts
    assert "oedema" in found.text


def test_allergy_named_by_brand_text_only_is_read_and_said_so() -> None:
    result = map_prefetch({"allergies": allergy("ai2", {"text": "Gleevec"})}, CTX)
    (found,) = result.patient.intolerances()
    assert found.kind is IntoleranceKind.ALLERGY_RECORD
    assert any(i.kind == "medication-matched-by-name" for i in result.issues)


def test_refuted_resolved_and_non_drug_records_are_not_intolerances() -> None:
    records = bundle(
        allergy(
            "a", concept(RXNORM, "282388"), verificationStatus=concept(VERIFICATION, "refuted")
        ),
        allergy("b", concept(RXNORM, "282388"), clinicalStatus=concept(CLINICAL, "resolved")),
        allergy("c", {"text": "peanuts"}),
    )
    assert map_prefetch({"allergies": records}, CTX).patient.intolerances() == ()


def test_a_stop_reason_given_only_in_words_reads_as_toxicity() -> None:
    order = imatinib_order(
        "m1", 800, status="stopped", statusReason={"text": "Not tolerated: grade 3 oedema"}
    )
    result = map_prefetch({"medications": bundle(order)}, CTX)
    (exposure,) = result.patient.exposures
    assert exposure.stop_reason is StopReason.TOXICITY
    (found,) = result.patient.intolerances()
    assert (found.kind, found.mg_per_day) == (IntoleranceKind.STOPPED_FOR_TOXICITY, Decimal(800))


def test_a_note_denying_toxicity_is_not_an_intolerance() -> None:
    quiet = imatinib_order("m2", 400, note=[{"text": "No toxicity, well tolerated"}])
    noted = imatinib_order("m3", 600, note=[{"text": "Reduced from 800 mg for diarrhoea"}])
    result = map_prefetch({"medications": bundle(quiet, noted)}, CTX)
    found = [(i.source_ref, i.kind) for i in result.patient.intolerances()]
    assert ("MedicationRequest/m3", IntoleranceKind.NOTE) in found
    assert all(ref != "MedicationRequest/m2" for ref, _ in found)


def _status(text: str | None = None, note: str | None = None) -> dict[str, Any]:
    value = concept(SNOMED, "271299001", "Patient's condition worsened")
    if text:
        value["text"] = text
    extra: dict[str, Any] = {"valueCodeableConcept": value, "effectiveDateTime": "2025-06-01"}
    if note:
        extra["note"] = [{"text": note}]
    return obs("ds", "97509-4", **extra)


def test_progression_called_focal_or_oligo_is_limited() -> None:
    for status in (_status(text="Focal progression, single liver lesion"),
                   _status(note="oligoprogression in one peritoneal nodule")):  # fmt: skip
        (found,) = map_prefetch({"observations": status}, CTX).patient.disease_status
        assert found.limited


def test_widespread_or_plain_progression_is_not_limited() -> None:
    for status in (_status(), _status(text="Isolated growth plus multiple new lesions")):
        (found,) = map_prefetch({"observations": status}, CTX).patient.disease_status
        assert not found.limited
