"""Request bodies for the benchmark: a GIST patient as real EHRs would send it.

Workload 1 is a typical order-sign call (~200 prefetched resources: 3 Conditions, 12 genomic
Observations, ~150 unrelated lab Observations, 25 MedicationRequests, a draft imatinib order);
workload 2 is the same patient padded to ~1,000 resources with unrelated labs.
"""

from __future__ import annotations

import json
from typing import Any

PATIENT_ID = "bench-gist-1"
SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
HGNC = "http://www.genenames.org/geneId"
# Ordinary chemistry and haematology LOINC codes, the kind that fills a real lab feed.
LAB_CODES = [
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.9),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12.8),
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 6.1),
    ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 240),
    (
        "1742-6",
        "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "U/L",
        22,
    ),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 139),
]


def _lab(index: int) -> dict[str, Any]:
    code, display, unit, value = LAB_CODES[index % len(LAB_CODES)]
    return {
        "resourceType": "Observation",
        "id": f"lab-{index}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": SUBJECT,
        "effectiveDateTime": f"2025-{1 + index % 12:02d}-{1 + index % 28:02d}T08:00:00Z",
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def _conditions() -> list[dict[str, Any]]:
    gist = {
        "resourceType": "Condition",
        "id": "cond-gist",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {
            "coding": [
                {
                    "system": "http://snomed.info/sct",
                    "code": "420120006",
                    "display": "Gastrointestinal stromal tumor",
                },
                {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C49.A2"},
            ]
        },
        "subject": SUBJECT,
        "onsetDateTime": "2024-02-10",
        "extension": [
            {
                "url": "http://hl7.org/fhir/us/mcode/StructureDefinition/"
                "mcode-histology-morphology-behavior",
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/icd-o-3",
                            "code": "8936/3",
                        }
                    ]
                },
            }
        ],
    }
    other = [
        {
            "resourceType": "Condition",
            "id": f"cond-{name}",
            "subject": SUBJECT,
            "clinicalStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                        "code": "active",
                    }
                ]
            },
            "code": {"text": text},
        }
        for name, text in (("htn", "Essential hypertension"), ("gerd", "Reflux disease"))
    ]
    return [gist, *other]


def _variant(
    index: int, hgnc: str, symbol: str, protein: str | None, present: bool, exon: str | None = None
) -> dict:
    components: list[dict[str, Any]] = [
        {
            "code": {"coding": [{"system": LOINC, "code": "48018-6"}]},
            "valueCodeableConcept": {"coding": [{"system": HGNC, "code": hgnc, "display": symbol}]},
        },
        {
            "code": {"coding": [{"system": LOINC, "code": "48002-0"}]},
            "valueCodeableConcept": {
                "coding": [{"system": LOINC, "code": "LA6684-0", "display": "Somatic"}]
            },
        },
    ]
    if exon:
        components.append(
            {"code": {"coding": [{"system": LOINC, "code": "47999-8"}]}, "valueString": exon}
        )
    if protein:
        components.append(
            {
                "code": {"coding": [{"system": LOINC, "code": "48005-3"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": "http://varnomen.hgvs.org", "code": protein}]
                },
            }
        )
    return {
        "resourceType": "Observation",
        "id": f"gen-{index}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {"system": LOINC, "code": "69548-6", "display": "Genetic variant assessment"}
            ]
        },
        "subject": SUBJECT,
        "effectiveDateTime": "2024-03-01",
        "valueCodeableConcept": {
            "coding": [{"system": LOINC, "code": "LA9633-4" if present else "LA9634-2"}]
        },
        "component": components,
    }


def _genomics() -> list[dict[str, Any]]:
    # KIT exon 9 duplication: the draft imatinib 400 mg/day order deserves the 800 mg warning.
    out = [_variant(0, "HGNC:6342", "KIT", "NP_000213.1:p.Ala502_Tyr503dup", True, "Exon 9")]
    negatives = [
        ("HGNC:8803", "PDGFRA"),
        ("HGNC:8031", "NTRK1"),
        ("HGNC:8032", "NTRK2"),
        ("HGNC:8033", "NTRK3"),
        ("HGNC:427", "ALK"),
        ("HGNC:7765", "NF1"),
        ("HGNC:10681", "SDHB"),
        ("HGNC:1097", "BRAF"),
        ("HGNC:7989", "NRAS"),
        ("HGNC:10261", "ROS1"),
        ("HGNC:6973", "MDM2"),
    ]
    out += [
        _variant(i + 1, code, symbol, None, False) for i, (code, symbol) in enumerate(negatives)
    ]
    return out


def _medication(index: int, code: str, display: str, status: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"med-{index}",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": code, "display": display}]
        },
        "subject": SUBJECT,
        "authoredOn": f"2024-{1 + index % 12:02d}-15",
    }


def _medications() -> list[dict[str, Any]]:
    # Supportive and chronic medications as free text (no code is invented for them).
    meds = []
    for i in range(25):
        med = _medication(i, "", "", "completed")
        med["medicationCodeableConcept"] = {"text": f"supportive medication {i}"}
        meds.append(med)
    return meds


def draft_imatinib() -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "draft-imatinib",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "282388", "display": "imatinib"}]
        },
        "subject": SUBJECT,
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": 400,
                            "unit": "mg",
                            "system": "http://unitsofmeasure.org",
                            "code": "mg",
                        }
                    }
                ],
            }
        ],
    }


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
    }
    if resources:
        bundle["entry"] = [
            {"fullUrl": f"urn:uuid:{r['resourceType']}-{r['id']}", "resource": r} for r in resources
        ]
    return bundle


def order_sign_body(total_resources: int = 200) -> dict[str, Any]:
    conditions, genomics, meds = _conditions(), _genomics(), _medications()
    fixed = 1 + len(conditions) + len(genomics) + len(meds)
    labs = [_lab(i) for i in range(max(0, total_resources - fixed))]
    return {
        "hook": "order-sign",
        "hookInstance": "5b0c3f3c-6f1e-4f0c-9d55-6f3f8a1d2b7e",
        "context": {
            "userId": "Practitioner/bench",
            "patientId": PATIENT_ID,
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": draft_imatinib()}],
            },
        },
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": PATIENT_ID,
                "gender": "female",
                "birthDate": "1961-05-04",
            },
            "conditions": searchset(conditions),
            # A real EHR may send a broad lab search; the service must filter cheaply.
            "observations": searchset(genomics + labs),
            "medications": searchset(meds),
        },
    }


def patient_view_body(fhir_server: str) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": "1a7a0c5e-8a55-4a43-8d8a-1f2b3c4d5e6f",
        "fhirServer": fhir_server,
        "context": {"userId": "Practitioner/bench", "patientId": PATIENT_ID},
    }


def fhir_resources(total_resources: int = 200) -> list[dict[str, Any]]:
    """The workload-1 patient as resources to load into a FHIR server (workload 3)."""
    body = order_sign_body(total_resources)
    resources = [body["prefetch"]["patient"]]
    for key in ("conditions", "observations", "medications"):
        resources += [e["resource"] for e in body["prefetch"][key].get("entry", [])]
    return resources


def count_resources(body: dict[str, Any]) -> int:
    total = 0
    for value in body.get("prefetch", {}).values():
        if isinstance(value, dict):
            total += len(value.get("entry", [])) if value["resourceType"] == "Bundle" else 1
    return total + len(body["context"].get("draftOrders", {}).get("entry", []))


if __name__ == "__main__":
    for size in (200, 1000):
        b = order_sign_body(size)
        print(size, count_resources(b), len(json.dumps(b)))
