"""FHIR R4 shapes shared by the benchmark bodies (:mod:`bench.workloads`, :mod:`bench.records`):
the GIST patient's Conditions, a genomic variant Observation, an unrelated lab, a daily oral dose
and a searchset Bundle, as real EHRs and labs send them."""

from __future__ import annotations

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


def lab(index: int) -> dict[str, Any]:
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


def conditions() -> list[dict[str, Any]]:
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


def variant(
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


def daily_oral_dose(mg: float) -> list[dict[str, Any]]:
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
