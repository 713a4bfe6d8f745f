"""Request bodies for the benchmark: a GIST patient as real EHRs would send it.

Workload 1 is a typical order-sign call (~200 prefetched resources: 3 Conditions, 12 genomic
Observations, ~150 unrelated lab Observations, 25 MedicationRequests, a draft imatinib order);
workload 2 is the same patient padded to ~1,000 resources with unrelated labs.

The *realistic* and *heavy* workloads are a GIST patient a year into treatment, as a real
oncology record looks (:func:`realistic_body`, :func:`heavy_body`): one MedicationRequest per
treatment cycle (identical orders except for their id and dates), supportive medications
(antiemetics, steroids, growth factors, analgesics, antibiotics, proton-pump inhibitors),
genomic panels with many pertinent negatives and one positive driver, unrelated labs, and a
drafted sunitinib after progression on imatinib.
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


# --- a real oncology record: cycles, supportive care, panels with negatives ------------------

#: Genes of the panels in genes.yaml (HGNC ids as verified there), KIT excluded: it is the
#: positive driver.
PANEL_GENES = [
    ("HGNC:8803", "PDGFRA"),
    ("HGNC:8031", "NTRK1"),
    ("HGNC:8032", "NTRK2"),
    ("HGNC:8033", "NTRK3"),
    ("HGNC:427", "ALK"),
    ("HGNC:11103", "SMARCB1"),
    ("HGNC:12362", "TSC1"),
    ("HGNC:12363", "TSC2"),
    ("HGNC:7765", "NF1"),
    ("HGNC:10681", "SDHB"),
    ("HGNC:3495", "ETV6"),
    ("HGNC:7989", "NRAS"),
    ("HGNC:1097", "BRAF"),
    ("HGNC:10261", "ROS1"),
    ("HGNC:3942", "MTOR"),
    ("HGNC:6973", "MDM2"),
    ("HGNC:1773", "CDK4"),
    ("HGNC:3236", "EGFR"),
    ("HGNC:11389", "STK11"),
    ("HGNC:76", "ABL1"),
]

#: Supportive and chronic medications as EHRs name them. Text only: no code is invented for
#: them. Most are in no table of the service (the pre-filter must make them nearly free); the
#: ones marked True are co-medications the interaction tables name (CYP3A, QT, acid reducer)
#: and must still be read. The first eight are current (active), the others past: the active
#: clarithromycin (a strong CYP3A4 inhibitor) earns the drafted sunitinib its warning card.
SUPPORTIVE = [
    ("clarithromycin 500 MG Oral Tablet", True),
    ("ondansetron 8 MG Oral Tablet", True),
    ("dexamethasone 4 MG Oral Tablet", True),
    ("omeprazole 20 MG Delayed Release Oral Capsule", True),
    ("granisetron 1 MG Oral Tablet", False),
    ("prochlorperazine 10 MG Oral Tablet", False),
    ("metoclopramide 10 MG Oral Tablet", False),
    ("filgrastim 480 MCG/0.8 ML Prefilled Syringe", False),
    ("pegfilgrastim 6 MG/0.6 ML Prefilled Syringe", False),
    ("acetaminophen 500 MG Oral Tablet", False),
    ("oxycodone hydrochloride 5 MG Oral Tablet", False),
    ("morphine sulfate 15 MG Extended Release Oral Tablet", False),
    ("amoxicillin 875 MG / clavulanate 125 MG Oral Tablet", False),
    ("cephalexin 500 MG Oral Capsule", False),
    ("sulfamethoxazole 800 MG / trimethoprim 160 MG Oral Tablet", False),
    ("prednisone 20 MG Oral Tablet", False),
    ("enoxaparin sodium 40 MG/0.4 ML Prefilled Syringe", False),
    ("loperamide hydrochloride 2 MG Oral Capsule", False),
    ("lorazepam 0.5 MG Oral Tablet", False),
    ("docusate sodium 100 MG Oral Capsule", False),
    ("senna 8.6 MG Oral Tablet", False),
    ("lisinopril 10 MG Oral Tablet", False),
    ("amlodipine 5 MG Oral Tablet", False),
    ("levothyroxine sodium 0.05 MG Oral Tablet", False),
    ("gabapentin 300 MG Oral Capsule", False),
    ("allopurinol 100 MG Oral Tablet", False),
    ("magnesium oxide 400 MG Oral Tablet", False),
    ("potassium chloride 20 MEQ Extended Release Oral Tablet", False),
    ("furosemide 20 MG Oral Tablet", False),
]


def _dose(mg: float) -> list[dict[str, Any]]:
    return [
        {
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "route": {"text": "oral"},
            "doseAndRate": [
                {
                    "doseQuantity": {
                        "value": mg,
                        "unit": "mg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mg",
                    }
                }
            ],
        }
    ]


def _cycle_order(index: int, total: int) -> dict[str, Any]:
    """Imatinib, one order per 28-day cycle: 400 mg daily, then 800 mg after a first
    progression; the last order stopped for progression. Orders of one dose level differ only
    in their id and dates (what an EHR sends for repeated cycles)."""
    month, year = index % 12, 2024 + index // 12
    last = index == total - 1
    order: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": f"imatinib-cycle-{index + 1}",
        "meta": {"lastUpdated": f"{year}-{month + 1:02d}-02T09:00:00Z"},
        "status": "stopped" if last else "completed",
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                        "code": "outpatient",
                    }
                ]
            }
        ],
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "282388", "display": "imatinib"}],
            "text": "imatinib (Gleevec) oral",
        },
        "subject": SUBJECT,
        "authoredOn": f"{year}-{month + 1:02d}-01",
        "requester": {"reference": "Practitioner/oncologist-1"},
        "dosageInstruction": _dose(400 if index < total // 2 else 800),
        "dispenseRequest": {
            "validityPeriod": {"start": f"{year}-{month + 1:02d}-01"},
            "numberOfRepeatsAllowed": 0,
            "quantity": {"value": 28 if index < total // 2 else 56, "unit": "tablet"},
            "expectedSupplyDuration": {
                "value": 28,
                "unit": "days",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            },
        },
    }
    if last:
        order["statusReason"] = {
            "coding": [
                {
                    "system": "http://snomed.info/sct",
                    "code": "266721009",
                    "display": "Absent response to treatment",
                }
            ],
            "text": "progression on imatinib 800 mg",
        }
    return order


def _supportive(index: int) -> dict[str, Any]:
    name, _named = SUPPORTIVE[index % len(SUPPORTIVE)]
    month = index % 12
    return {
        "resourceType": "MedicationRequest",
        "id": f"supportive-{index}",
        "status": "active" if index < 8 else "completed",
        "intent": "order",
        "medicationCodeableConcept": {"text": name},
        "subject": SUBJECT,
        "authoredOn": f"{2024 + index // 200}-{month + 1:02d}-{1 + index % 27:02d}",
        "requester": {"reference": "Practitioner/oncologist-1"},
        "dosageInstruction": [{"text": "as directed"}],
    }


def _kit_exon11_driver(index: int) -> dict[str, Any]:
    return _variant(index, "HGNC:6342", "KIT", "NP_000213.1:p.Trp557_Lys558del", True, "Exon 11")


def _panels(negatives: int) -> list[dict[str, Any]]:
    """One positive KIT exon 11 driver and ``negatives`` pertinent negatives (panels repeated
    at diagnosis and at progression, each a separate Observation)."""
    out = [_kit_exon11_driver(0)]
    for i in range(negatives):
        hgnc, symbol = PANEL_GENES[i % len(PANEL_GENES)]
        out.append(_variant(i + 1, hgnc, symbol, None, False))
    return out


def draft_sunitinib() -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "draft-sunitinib",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "357977", "display": "sunitinib"}]
        },
        "subject": SUBJECT,
        "dosageInstruction": _dose(50),
    }


def _record_body(
    cycles: int, supportive: int, negatives: int, labs: int, hook_instance: str
) -> dict[str, Any]:
    observations = _panels(negatives) + [_lab(i) for i in range(labs)]
    meds = [_cycle_order(i, cycles) for i in range(cycles)]
    meds += [_supportive(i) for i in range(supportive)]
    return {
        "hook": "order-sign",
        "hookInstance": hook_instance,
        "context": {
            "userId": "Practitioner/bench",
            "patientId": PATIENT_ID,
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": draft_sunitinib()}],
            },
        },
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": PATIENT_ID,
                "gender": "female",
                "birthDate": "1961-05-04",
            },
            "conditions": searchset(_conditions()),
            "observations": searchset(observations),
            "medications": searchset(meds),
        },
    }


def realistic_body() -> dict[str, Any]:
    """A GIST patient a year into treatment (~200 resources): 25 imatinib cycle orders,
    35 supportive medications, a panel of 12 pertinent negatives and one KIT exon 11 driver,
    120 unrelated labs, 3 Conditions, a drafted sunitinib."""
    return _record_body(
        cycles=25,
        supportive=35,
        negatives=12,
        labs=120,
        hook_instance="7d1e4b2a-3c5f-4a8e-9b6d-2f1a0c9e8d7b",
    )


def heavy_body() -> dict[str, Any]:
    """The same patient with a heavy record: 300 MedicationRequests (40 antineoplastic cycle
    orders, 260 supportive), 40 genomic Observations (one driver, 39 negatives from repeated
    panels), 150 unrelated labs."""
    return _record_body(
        cycles=40,
        supportive=260,
        negatives=39,
        labs=150,
        hook_instance="9a3c5e7f-1b2d-4e6f-8a0c-3d5e7f9b1a2c",
    )


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
