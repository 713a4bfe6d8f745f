"""The *realistic* and *heavy* benchmark bodies: a GIST patient a year into treatment, as a real
oncology record looks. One MedicationRequest per treatment cycle (identical orders except for
their id and dates), supportive medications (antiemetics, steroids, growth factors, analgesics,
antibiotics, proton-pump inhibitors), genomic panels with many pertinent negatives and one
positive driver, unrelated labs, and a drafted sunitinib after progression on imatinib."""

from __future__ import annotations

from typing import Any

from bench.fhir_shapes import (
    PATIENT_ID,
    RXNORM,
    SUBJECT,
    conditions,
    daily_oral_dose,
    lab,
    searchset,
    variant,
)

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
        "dosageInstruction": daily_oral_dose(400 if index < total // 2 else 800),
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
    return variant(index, "HGNC:6342", "KIT", "NP_000213.1:p.Trp557_Lys558del", True, "Exon 11")


def _panels(negatives: int) -> list[dict[str, Any]]:
    """One positive KIT exon 11 driver and ``negatives`` pertinent negatives (panels repeated
    at diagnosis and at progression, each a separate Observation)."""
    out = [_kit_exon11_driver(0)]
    for i in range(negatives):
        hgnc, symbol = PANEL_GENES[i % len(PANEL_GENES)]
        out.append(variant(i + 1, hgnc, symbol, None, False))
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
        "dosageInstruction": daily_oral_dose(50),
    }


def _record_body(
    cycles: int, supportive: int, negatives: int, labs: int, hook_instance: str
) -> dict[str, Any]:
    observations = _panels(negatives) + [lab(i) for i in range(labs)]
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
            "conditions": searchset(conditions()),
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
