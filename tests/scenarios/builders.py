"""Small FHIR R4 and CDS Hooks request builders for the HTTP scenario tests (issue 5).

Only codes verified in ``/work/shared/reference/clinical-coding.md`` are used: ICD-O-3
morphology (§4), HGNC ids (§2), RxNorm ingredient codes (§3; ATC or text where RxNorm is
UNVERIFIED), LOINC variant/single-gene codes (§1), SNOMED stop reasons and disease status (§5).
"""

from __future__ import annotations

import hashlib
from typing import Any

PATIENT_ID = "pat-1"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
HGNC = "http://www.genenames.org/geneId"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
UCUM = "http://unitsofmeasure.org"

#: ICD-O-3 morphology codes (clinical-coding.md §4).
ICDO3_CODES = {
    "gist": ("8936/3", "Gastrointestinal stromal tumor, malignant"),
    "leiomyosarcoma": ("8890/3", "Leiomyosarcoma"),
    "liposarcoma": ("8858/3", "Dedifferentiated liposarcoma"),
    "myxoid-liposarcoma": ("8852/3", "Myxoid liposarcoma"),
    "dfsp": ("8832/3", "Dermatofibrosarcoma protuberans"),
    "imt": ("8825/1", "Inflammatory myofibroblastic tumor"),
    "pecoma": ("8714/3", "Malignant PEComa"),
    "asps": ("9581/3", "Alveolar soft part sarcoma"),
    "sft": ("8815/3", "Solitary fibrous tumor, malignant"),
    "emc": ("9231/3", "Extraskeletal myxoid chondrosarcoma"),
    "angiosarcoma": ("9120/3", "Angiosarcoma"),
    "ccs": ("9044/3", "Clear cell sarcoma"),
    "dsrct": ("8806/3", "Desmoplastic small round cell tumor"),
}

#: HGNC ids (clinical-coding.md §2).
HGNC_IDS = {
    "KIT": "HGNC:6342",
    "PDGFRA": "HGNC:8803",
    "BRAF": "HGNC:1097",  # clinical-coding.md (HGNC table)
    "NTRK1": "HGNC:8031",
    "NTRK2": "HGNC:8032",
    "NTRK3": "HGNC:8033",
    "ALK": "HGNC:427",
    "ETV6": "HGNC:3495",
    "EML4": "HGNC:1316",
}

#: How each drug is coded in a MedicationRequest (clinical-coding.md §3): RxNorm ingredient
#: where verified, else ATC, else text only (anlotinib has neither).
DRUG_CODES: dict[str, tuple[str, str] | None] = {
    "imatinib": (RXNORM, "282388"),
    "sunitinib": (RXNORM, "357977"),
    "regorafenib": (RXNORM, "1312397"),
    "ripretinib": (ATC, "L01EX19"),
    "avapritinib": (ATC, "L01EX18"),
    "pazopanib": (RXNORM, "714438"),
    "trabectedin": (RXNORM, "1716278"),
    "eribulin": (RXNORM, "1045453"),
    "gemcitabine": (RXNORM, "12574"),
    "docetaxel": (RXNORM, "72962"),
    "dacarbazine": (RXNORM, "3098"),
    "doxorubicin": (RXNORM, "3639"),
    "ifosfamide": (RXNORM, "5657"),
    "paclitaxel": (RXNORM, "56946"),
    "sirolimus": (RXNORM, "35302"),
    "crizotinib": (RXNORM, "1148495"),
    "larotrectinib": (ATC, "L01EX12"),
    "entrectinib": (RXNORM, "2197862"),
    "anlotinib": None,
    # CYP3A4 modulators
    "ketoconazole": (RXNORM, "6135"),
    "itraconazole": (RXNORM, "28031"),
    "clarithromycin": (RXNORM, "21212"),
    "rifampin": (RXNORM, "9384"),
    "carbamazepine": (RXNORM, "2002"),
}

SCT_PROGRESSION = "266721009"
SCT_TOXICITY = "407563006"
SCT_WORSENED = "271299001"
SCT_STABLE = "359746009"
LA_PRESENT = "LA9633-4"
LA_ABSENT = "LA9634-2"


def _id(prefix: str, *parts: object) -> str:
    digest = hashlib.sha1("/".join(str(p) for p in parts).encode()).hexdigest()[:8]
    return f"{prefix}-{digest}"


def subject(patient_id: str = PATIENT_ID) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def patient(patient_id: str = PATIENT_ID) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "gender": "female",
        "birthDate": "1965-04-12",
    }


def condition(
    histology: str,
    *,
    id: str | None = None,
    code: tuple[str, str, str] | None = None,
    patient_id: str = PATIENT_ID,
) -> dict[str, Any]:
    """An active, confirmed Condition; ICD-O-3 by histology key, or an explicit code."""
    if code is None:
        icdo, display = ICDO3_CODES[histology]
        code = (ICDO3, icdo, display)
    system, value, display = code
    return {
        "resourceType": "Condition",
        "id": id or _id("cond", histology, value),
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
        "code": {"coding": [{"system": system, "code": value, "display": display}]},
        "subject": subject(patient_id),
        "onsetDateTime": "2023-01-10",
    }


#: Secondary malignant neoplasm codes (ICD-10-CM, mCODE STU4 SecondaryCancerDisorderVS).
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
METASTASIS_CODES = {
    "liver": ("C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct"),
    "lung": ("C78.0", "Secondary malignant neoplasm of lung"),
    "peritoneum": ("C78.6", "Secondary malignant neoplasm of retroperitoneum and peritoneum"),
}


def metastasis(site: str = "liver", *, onset: str = "2024-03-05") -> dict[str, Any]:
    """An active secondary cancer Condition (ICD-10-CM C78.x) at ``site``."""
    code, display = METASTASIS_CODES[site]
    resource = condition("secondary", id=f"met-{site}", code=(ICD10CM, code, display))
    resource["onsetDateTime"] = onset
    return resource


#: AJCC residual tumour values (SNOMED CT; see fhir_mapping/procedures.py).
RESIDUAL = {"R0": "1222638005", "R1": "1222639002", "R2": "1222640000"}


def resection(
    *, date: str = "2025-04-10", residual: str | None = "R0", reason: str = "cond-gist"
) -> dict[str, Any]:
    """A completed resection Procedure for the primary tumour, with its R classification."""
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": f"resection-{date}",
        "status": "completed",
        "code": {"text": "Partial gastrectomy, en bloc resection of gastric GIST"},
        "subject": subject(),
        "performedDateTime": date,
        "reasonReference": [{"reference": f"Condition/{reason}"}],
    }
    if residual is not None:
        resource["outcome"] = {
            "coding": [{"system": SNOMED, "code": RESIDUAL[residual], "display": residual}]
        }
    return resource


def pathology(what: str, value: dict[str, Any], *, date: str = "2025-04-15") -> dict[str, Any]:
    """A pathology Observation: tumour size (LOINC 21889-1) or a text-coded factor."""
    code: dict[str, Any]
    if what == "size":
        code = {"coding": [{"system": LOINC, "code": "21889-1", "display": "Size Tumor"}]}
    else:
        code = {"text": what}
    return {
        "resourceType": "Observation",
        "id": _id("path", what, date),
        "status": "final",
        "code": code,
        "subject": subject(),
        "effectiveDateTime": date,
        **value,
    }


def _gene_component(symbol: str) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": LOINC, "code": "48018-6"}]},
        "valueCodeableConcept": {
            "coding": [{"system": HGNC, "code": HGNC_IDS[symbol], "display": symbol}]
        },
    }


def _observation(
    obs_id: str, code: str, display: str, present: bool, components: list[dict[str, Any]]
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": obs_id,
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
        "subject": subject(),
        "effectiveDateTime": "2023-02-01",
        "valueCodeableConcept": {
            "coding": [{"system": LOINC, "code": LA_PRESENT if present else LA_ABSENT}]
        },
    }
    if components:
        obs["component"] = components
    return obs


def variant(
    gene: str,
    *,
    present: bool = True,
    exon: int | None = None,
    protein: str | None = None,
    coding: str | None = None,
    id: str | None = None,
) -> dict[str, Any]:
    """A GRIG/mCODE somatic variant Observation (LOINC 69548-6), p. and/or c. HGVS."""
    components = [
        _gene_component(gene),
        {
            "code": {"coding": [{"system": LOINC, "code": "48002-0"}]},
            "valueCodeableConcept": {
                "coding": [{"system": LOINC, "code": "LA6684-0", "display": "Somatic"}]
            },
        },
    ]
    if exon is not None:
        components.append(
            {
                "code": {"coding": [{"system": LOINC, "code": "47999-8"}]},
                "valueString": f"Exon {exon}",
            }
        )
    if protein is not None:
        components.append(
            {
                "code": {"coding": [{"system": LOINC, "code": "48005-3"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": "http://varnomen.hgvs.org", "code": protein}]
                },
            }
        )
    if coding is not None:
        components.append(
            {
                "code": {"coding": [{"system": LOINC, "code": "48004-6"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": "http://varnomen.hgvs.org", "code": coding}]
                },
            }
        )
    return _observation(
        id or _id("var", gene, present, exon, protein, coding),
        "69548-6",
        "Genetic variant assessment",
        present,
        components,
    )


def negative(*genes: str, id: str | None = None, regions: str | None = None) -> dict[str, Any]:
    """A pertinent negative over one or more genes (69548-6, absent), with the regions tested."""
    components = [_gene_component(g) for g in genes]
    if regions is not None:
        components.append(
            {"code": {"coding": [{"system": LOINC, "code": "47999-8"}]}, "valueString": regions}
        )
    return _observation(
        id or _id("neg", *genes), "69548-6", "Genetic variant assessment", False, components
    )


def fusion(five_prime: str, three_prime: str, *, id: str | None = None) -> dict[str, Any]:
    """A present fusion as a two-gene variant Observation (pattern: several 48018-6 genes)."""
    components = [_gene_component(five_prime), _gene_component(three_prime)]
    return _observation(
        id or _id("fus", five_prime, three_prime),
        "69548-6",
        "Genetic variant assessment",
        True,
        components,
    )


def single_test(loinc: str, display: str, *, present: bool, id: str | None = None) -> dict:
    """A single-gene LOINC test (clinical-coding.md §1.6), e.g. 93813-4 pan-NTRK."""
    return _observation(id or _id("sgt", loinc, present), loinc, display, present, [])


def kit_exon11() -> dict[str, Any]:
    return variant("KIT", exon=11, protein="NP_000213.1:p.Trp557_Lys558del")


def kit_exon9() -> dict[str, Any]:
    return variant("KIT", exon=9, protein="NP_000213.1:p.Ala502_Tyr503dup")


def pdgfra_d842v() -> dict[str, Any]:
    return variant("PDGFRA", exon=18, protein="NP_006197.1:p.Asp842Val")


def medication(
    drug: str,
    *,
    status: str = "active",
    id: str | None = None,
    mg: float | None = None,
    per_day: int = 1,
    text: str | None = None,
    reason: str | None = None,
    authored: str = "2024-01-15",
    patient_id: str = PATIENT_ID,
) -> dict[str, Any]:
    """A MedicationRequest for a drug (coded per :data:`DRUG_CODES`)."""
    coding = DRUG_CODES[drug]
    concept: dict[str, Any] = {"text": drug}
    if coding is not None:
        concept["coding"] = [{"system": coding[0], "code": coding[1], "display": drug}]
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": id or _id("med", drug, status, mg, per_day, authored),
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": subject(patient_id),
        "authoredOn": authored,
    }
    if reason is not None:
        resource["statusReason"] = {"coding": [{"system": SNOMED, "code": reason}]}
    if mg is not None or text is not None:
        dosage: dict[str, Any] = {}
        if text is not None:
            dosage["text"] = text
        if mg is not None:
            dosage["timing"] = {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}}
            dosage["doseAndRate"] = [
                {"doseQuantity": {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}}
            ]
        resource["dosageInstruction"] = [dosage]
    return resource


def progressed(drug: str, *, authored: str = "2023-03-01", **kwargs: Any) -> dict[str, Any]:
    """A stopped MedicationRequest whose statusReason says progression."""
    return medication(drug, status="stopped", reason=SCT_PROGRESSION, authored=authored, **kwargs)


def completed(drug: str, *, authored: str = "2023-03-01", **kwargs: Any) -> dict[str, Any]:
    return medication(drug, status="completed", authored=authored, **kwargs)


def draft(drug: str, *, id: str | None = None, **kwargs: Any) -> dict[str, Any]:
    return medication(
        drug, status="draft", id=id or f"draft-{drug}", authored="2025-06-01", **kwargs
    )


def disease_status(value: str = SCT_WORSENED, *, date: str = "2024-09-01") -> dict[str, Any]:
    """An mCODE CancerDiseaseStatus Observation (LOINC 97509-4)."""
    return {
        "resourceType": "Observation",
        "id": _id("status", value, date),
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "97509-4"}]},
        "subject": subject(),
        "effectiveDateTime": date,
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": value}]},
    }


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
    }
    if resources:
        bundle["entry"] = [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]
    return bundle


def request(
    hook: str,
    *,
    conditions: list[dict[str, Any]] | None = None,
    genomics: list[dict[str, Any]] | None = None,
    medications: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    procedures: list[dict[str, Any]] | None = None,
    allergies: list[dict[str, Any]] | None = None,
    labs: list[dict[str, Any]] | None = None,
    drafts: list[dict[str, Any]] | None = None,
    selections: list[str] | None = None,
    hook_instance: str = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
    patient_id: str = PATIENT_ID,
) -> dict[str, Any]:
    """A CDS Hooks 2.0 request with all the prefetch keys (empty searches as empty Bundles)."""
    context: dict[str, Any] = {"userId": "Practitioner/onc-1", "patientId": patient_id}
    if hook != "patient-view":
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": d} for d in drafts or []],
        }
        if hook == "order-select":
            context["selections"] = (
                selections
                if selections is not None
                else [f"MedicationRequest/{d['id']}" for d in drafts or []]
            )
    return {
        "hook": hook,
        "hookInstance": hook_instance,
        "context": context,
        "prefetch": {
            "patient": patient(patient_id),
            "conditions": searchset(list(conditions or [])),
            "observations": searchset(list(genomics or []) + list(statuses or [])),
            "medications": searchset(list(medications or [])),
            "procedures": searchset(list(procedures or [])),
            "allergies": searchset(list(allergies or [])),
            "populations": searchset(list(labs or [])),
        },
    }


def patient_view(**kwargs: Any) -> dict[str, Any]:
    return request("patient-view", **kwargs)


def order_sign(drafts: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    return request("order-sign", drafts=drafts, **kwargs)


def order_select(
    drafts: list[dict[str, Any]], selections: list[str] | None = None, **kwargs: Any
) -> dict[str, Any]:
    return request("order-select", drafts=drafts, selections=selections, **kwargs)


SERVICE_FOR_HOOK = {
    "patient-view": "sarcoma-patient-view",
    "order-select": "sarcoma-order-select",
    "order-sign": "sarcoma-order-sign",
}


def lab_result(
    loinc: str, value: float, unit: str, *, high: float | None, days_ago: int = 5, id: str
) -> dict[str, Any]:
    """A final laboratory Observation dated ``days_ago`` days before today (UTC): the service
    reads organ-function results only while they are recent."""
    from datetime import UTC, datetime, timedelta

    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": subject(),
        "effectiveDateTime": (datetime.now(UTC).date() - timedelta(days=days_ago)).isoformat(),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    if high is not None:
        resource["referenceRange"] = [
            {"high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}
        ]
    return resource


def liver_panel(days_ago: int = 5) -> list[dict[str, Any]]:
    """Normal total bilirubin (LOINC 1975-2), ALT (1742-6) and AST (1920-8) with their ULNs."""
    return [
        lab_result("1975-2", 0.7, "mg/dL", high=1.2, days_ago=days_ago, id="bili-1"),
        lab_result("1742-6", 24, "U/L", high=40, days_ago=days_ago, id="alt-1"),
        lab_result("1920-8", 28, "U/L", high=40, days_ago=days_ago, id="ast-1"),
    ]
