"""Request bodies for the benchmark: a GIST patient as real EHRs would send it.

Workload 1 is a typical order-sign call (~200 prefetched resources: 3 Conditions, 12 genomic
Observations, ~150 unrelated lab Observations, 25 MedicationRequests, a draft imatinib order);
workload 2 is the same patient padded to ~1,000 resources with unrelated labs; workload 3 is a
patient-view call whose prefetch the service fetches from a FHIR server.

The *realistic* and *heavy* workloads are a GIST patient a year into treatment, as a real
oncology record looks (built in :mod:`bench.records`, re-exported here): one MedicationRequest per
treatment cycle (identical orders except for their id and dates), supportive medications
(antiemetics, steroids, growth factors, analgesics, antibiotics, proton-pump inhibitors),
genomic panels with many pertinent negatives and one positive driver, unrelated labs, and a
drafted sunitinib after progression on imatinib.
"""

from __future__ import annotations

import json
from typing import Any

from bench.fhir_shapes import PATIENT_ID, RXNORM, SUBJECT, conditions, lab, searchset, variant
from bench.records import draft_sunitinib, heavy_body, realistic_body

__all__ = [
    "PATIENT_ID",
    "count_resources",
    "draft_imatinib",
    "draft_sunitinib",
    "fhir_resources",
    "heavy_body",
    "order_sign_body",
    "patient_view_body",
    "realistic_body",
    "searchset",
]


def _genomics() -> list[dict[str, Any]]:
    # KIT exon 9 duplication: the draft imatinib 400 mg/day order deserves the 800 mg warning.
    out = [variant(0, "HGNC:6342", "KIT", "NP_000213.1:p.Ala502_Tyr503dup", True, "Exon 9")]
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
    out += [variant(i + 1, code, symbol, None, False) for i, (code, symbol) in enumerate(negatives)]
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


def order_sign_body(total_resources: int = 200) -> dict[str, Any]:
    conds, genomics, meds = conditions(), _genomics(), _medications()
    fixed = 1 + len(conds) + len(genomics) + len(meds)
    labs = [lab(i) for i in range(max(0, total_resources - fixed))]
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
            "conditions": searchset(conds),
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
    for name, b in (("realistic", realistic_body()), ("heavy", heavy_body())):
        print(name, count_resources(b), len(json.dumps(b)))
