"""Source of the demo patients in ``cds_hooks/demo/`` (issue 7).

Run ``python -m tests.sandbox.build_demo_bundles`` after editing; ``test_demo_bundles`` checks
that the shipped JSON equals what this file builds. All patients are synthetic. Every code is
a verified one from ``clinical-coding.md`` (section in the comment next to it); UNVERIFIED
codes are never used (ripretinib, avapritinib, larotrectinib have no verified RxNorm code, so
no scenario orders them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEMO_DIR = Path(__file__).resolve().parents[2] / "cds_hooks" / "demo"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
HGNC_STU2 = "http://www.genenames.org/geneId"  # GRIG STU2 / mCODE-era senders (§1.1)
HGNC_STU3 = "http://www.genenames.org"  # GRIG STU3 / mCODE STU4 (§1.1)
HGVS = "http://varnomen.hgvs.org"
SO = "http://www.sequenceontology.org"
UCUM = "http://unitsofmeasure.org"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

PRESENT = {"coding": [{"system": LOINC, "code": "LA9633-4", "display": "Present"}]}
ABSENT = {"coding": [{"system": LOINC, "code": "LA9634-2", "display": "Absent"}]}
SOMATIC = {"coding": [{"system": LOINC, "code": "LA6684-0", "display": "Somatic"}]}

# §5 CancerDiseaseStatus values (ConditionStatusTrendVS)
IMPROVED = ("268910001", "Patient's condition improved (finding)")
STABLE = ("359746009", "Patient's condition stable (finding)")
WORSENED = ("271299001", "Patient's condition worsened (finding)")
# §5 TreatmentTerminationReasonVS
PROGRESSION = ("266721009", "No response to treatment")
INTOLERANCE = ("407563006", "Treatment not tolerated")

# §3 RxNorm ingredient codes (verified rows only)
DRUGS = {
    "imatinib": "282388",
    "sunitinib": "357977",
    "doxorubicin": "3639",
    "ifosfamide": "5657",
    "pazopanib": "714438",
}


class Patient:
    """Collects the resources of one synthetic patient."""

    def __init__(self, pid: str, given: str, family: str, gender: str, birth: str) -> None:
        self.pid = pid
        self.subject = {"reference": f"Patient/{pid}"}
        self.resources: list[dict[str, Any]] = [
            {
                "resourceType": "Patient",
                "id": pid,
                "meta": {"tag": [{"system": "urn:sarcoma-cds:demo", "code": "synthetic"}]},
                "identifier": [{"system": "urn:sarcoma-cds:demo-mrn", "value": pid}],
                "name": [{"use": "official", "family": family, "given": [given]}],
                "gender": gender,
                "birthDate": birth,
            }
        ]
        self.counter = 0

    def rid(self, kind: str) -> str:
        self.counter += 1
        return f"{self.pid}-{kind}-{self.counter}"

    def condition(
        self,
        codings: list[dict[str, str]],
        morphology: tuple[str, str] | None,
        onset: str,
        text: str,
    ) -> str:
        rid = self.rid("cond")
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": rid,
            "meta": {"profile": [f"{MCODE}/mcode-primary-cancer-condition"]},
            "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
            "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                            "code": "problem-list-item",
                        }
                    ]
                }
            ],
            "code": {"coding": codings, "text": text},
            "subject": self.subject,
            "onsetDateTime": onset,
            "recordedDate": onset,
        }
        if morphology:
            resource["extension"] = [
                {
                    "url": f"{MCODE}/mcode-histology-morphology-behavior",
                    "valueCodeableConcept": {
                        "coding": [
                            {"system": ICDO3, "code": morphology[0], "display": morphology[1]}
                        ]
                    },
                }
            ]
        self.resources.append(resource)
        return rid

    def _lab(self, rid: str, code: dict[str, Any], when: str) -> dict[str, Any]:
        return {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "category": [
                {"coding": [{"system": OBS_CATEGORY, "code": "laboratory"}]},
                {"coding": [{"system": V2_0074, "code": "GE", "display": "Genetics"}]},
            ],
            "code": code,
            "subject": self.subject,
            "effectiveDateTime": when,
            "issued": f"{when}T12:00:00Z",
        }

    def single_gene_test(self, loinc: str, display: str, value: dict[str, Any], when: str) -> None:
        """§1.6 shape: one LOINC single-gene test, value Present/Absent."""
        resource = self._lab(
            self.rid("lab"),
            {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
            when,
        )
        resource["valueCodeableConcept"] = value
        self.resources.append(resource)

    def variant(
        self,
        genes: list[tuple[str, str]],
        when: str,
        *,
        hgnc_system: str = HGNC_STU3,
        present: bool = True,
        extra: list[dict[str, Any]] | None = None,
    ) -> None:
        """§1.2/§1.3 shape: GRIG/mCODE Variant (69548-6) with gene-studied components."""
        resource = self._lab(
            self.rid("variant"),
            {
                "coding": [
                    {"system": LOINC, "code": "69548-6", "display": "Genetic variant assessment"}
                ]
            },
            when,
        )
        resource["meta"] = {"profile": [f"{MCODE}/mcode-genomic-variant"]}
        resource["method"] = {
            "coding": [{"system": LOINC, "code": "LA26398-0", "display": "Sequencing"}]
        }
        resource["valueCodeableConcept"] = PRESENT if present else ABSENT
        components: list[dict[str, Any]] = [
            {
                "code": {
                    "coding": [{"system": LOINC, "code": "48018-6", "display": "Gene studied [ID]"}]
                },
                "valueCodeableConcept": {
                    "coding": [{"system": hgnc_system, "code": code, "display": symbol}]
                },
            }
            for code, symbol in genes
        ]
        components.append(
            {
                "code": {
                    "coding": [
                        {"system": LOINC, "code": "48002-0", "display": "Genomic source class"}
                    ]
                },
                "valueCodeableConcept": SOMATIC,
            }
        )
        components.extend(extra or [])
        resource["component"] = components
        self.resources.append(resource)

    def disease_status(self, value: tuple[str, str], when: str, focus: str) -> None:
        """§5 mCODE CancerDiseaseStatus (LOINC 97509-4)."""
        self.resources.append(
            {
                "resourceType": "Observation",
                "id": self.rid("status"),
                "meta": {"profile": [f"{MCODE}/mcode-cancer-disease-status"]},
                "status": "final",
                "category": [{"coding": [{"system": OBS_CATEGORY, "code": "exam"}]}],
                "code": {
                    "coding": [
                        {"system": LOINC, "code": "97509-4", "display": "Cancer disease status"}
                    ]
                },
                "subject": self.subject,
                "focus": [{"reference": f"Condition/{focus}"}],
                "effectiveDateTime": when,
                "valueCodeableConcept": {
                    "coding": [{"system": SNOMED, "code": value[0], "display": value[1]}]
                },
            }
        )

    def medication(
        self,
        drug: str,
        *,
        start: str,
        end: str | None,
        status: str,
        reason: tuple[str, str] | None,
        dose_mg: float,
        per_day: int,
        condition: str,
        route: str = "oral",
        per_m2: bool = False,
        cycle: tuple[int, int] | None = None,
    ) -> str:
        """§3/§5 mCODE CancerRelatedMedicationRequest: RxNorm IN code, stop reason.

        Oral drugs are dosed in mg ``per_day`` times a day. IV chemotherapy is dosed in mg/m2
        (``per_m2``) in cycles: ``cycle=(days, length)`` gives it on days 1..days of each
        cycle of ``length`` days (one dose every ``length`` days when ``days`` is 1)."""
        rid = self.rid("med")
        period: dict[str, str] = {"start": start}
        if end:
            period["end"] = end
        unit = "mg/m2" if per_m2 else "mg"
        text = f"{dose_mg:g} mg {'once' if per_day == 1 else f'{per_day}x'} daily"
        repeat: dict[str, Any] = {"frequency": per_day, "period": 1, "periodUnit": "d"}
        if cycle is not None:
            days, length = cycle
            if days == 1:
                text = f"{dose_mg:g} {unit} IV on day 1 of each {length}-day cycle"
                repeat = {"frequency": 1, "period": length, "periodUnit": "d"}
            else:
                text = f"{dose_mg:g} {unit} IV daily on days 1-{days} of each {length}-day cycle"
        resource: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": rid,
            "meta": {"profile": [f"{MCODE}/mcode-cancer-related-medication-request"]},
            "status": status,
            "intent": "order",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/"
                            "medicationrequest-category",
                            "code": "outpatient" if route == "oral" else "inpatient",
                        }
                    ]
                }
            ],
            "medicationCodeableConcept": {
                "coding": [{"system": RXNORM, "code": DRUGS[drug], "display": drug}],
                "text": drug,
            },
            "subject": self.subject,
            "authoredOn": start,
            "reasonReference": [{"reference": f"Condition/{condition}"}],
            "dosageInstruction": [
                {
                    "text": text,
                    "timing": {"repeat": {"boundsPeriod": period, **repeat}},
                    "doseAndRate": [
                        {
                            "doseQuantity": {
                                "value": dose_mg,
                                "unit": unit,
                                "system": UCUM,
                                "code": unit,
                            }
                        }
                    ],
                }
            ],
        }
        if reason:
            resource["statusReason"] = {
                "coding": [{"system": SNOMED, "code": reason[0], "display": reason[1]}]
            }
        self.resources.append(resource)
        return rid

    def bundle(self) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "id": f"demo-{self.pid}",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": f"urn:sarcoma-cds:demo:{r['resourceType']}/{r['id']}",
                    "resource": r,
                    "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
                }
                for r in self.resources
            ],
        }


GIST = [
    {"system": SNOMED, "code": "420120006", "display": "Gastrointestinal stromal tumor"},
    {"system": ICD10CM, "code": "C49.A2", "display": "Gastrointestinal stromal tumor of stomach"},
]
GIST_MORPH = ("8936/3", "Gastrointestinal stromal sarcoma")
KIT = ("HGNC:6342", "KIT")
PDGFRA = ("HGNC:8803", "PDGFRA")


def _gist(pid: str, given: str, onset: str) -> tuple[Patient, str]:
    patient = Patient(pid, given, "Demo", "female" if pid[-1] in "13579" else "male", "1961-04-12")
    cond = patient.condition(GIST, GIST_MORPH, onset, "Gastrointestinal stromal tumour of stomach")
    return patient, cond


def build() -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    index: list[dict[str, Any]] = []
    bundles: dict[str, dict[str, Any]] = {}

    def add(sid: str, patient: Patient, title: str, expectation: str, **extra: Any) -> None:
        entry = {"id": sid, "title": title, "patientId": patient.pid, "expectation": expectation}
        entry.update(extra)
        index.append(entry)
        bundles[sid] = patient.bundle()

    # 1. GIST KIT exon 11, untreated: single-gene LOINC test (§1.6 77171-7).
    p, _ = _gist("demo-gist-exon11", "Gisela", "2025-02-03")
    p.single_gene_test(
        "77171-7", "KIT gene exon 11 targeted mutation analysis", PRESENT, "2025-02-20"
    )
    add(
        "gist-kit-exon11-first-line",
        p,
        "GIST, KIT exon 11 mutation, no treatment yet",
        "First line: imatinib 400 mg/day.",
        expectedRules=["gist-first-line-imatinib"],
        absentRules=["gist-kit-exon9-imatinib-800", "gist-second-line-sunitinib"],
    )

    # 1b. Resected high-risk gastric GIST, KIT exon 11: resection Procedure with R0 (AJCC
    #     residual value, SNOMED CT 1222638005), tumour size (LOINC 21889-1, mCODE TumorSize)
    #     and mitotic count (text-coded): the adjuvant setting, not first-line advanced disease.
    p, cond = _gist("demo-gist-resected", "Rhea", "2025-03-03")
    p.single_gene_test(
        "77171-7", "KIT gene exon 11 targeted mutation analysis", PRESENT, "2025-04-20"
    )
    p.resources.append(
        {
            "resourceType": "Procedure",
            "id": p.rid("proc"),
            "status": "completed",
            "code": {"text": "Partial gastrectomy (en bloc resection of gastric GIST)"},
            "subject": p.subject,
            "performedDateTime": "2025-04-10",
            "reasonReference": [{"reference": f"Condition/{cond}"}],
            "outcome": {
                "coding": [
                    {
                        "system": SNOMED,
                        "code": "1222638005",
                        "display": "American Joint Committee on Cancer R0",
                    }
                ]
            },
        }
    )
    size = p._lab(
        p.rid("lab"),
        {"coding": [{"system": LOINC, "code": "21889-1", "display": "Size Tumor"}]},
        "2025-04-15",
    )
    size["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": "33728-7"}]},
            "valueQuantity": {"value": 7.5, "unit": "cm", "system": UCUM, "code": "cm"},
        }
    ]
    mitoses = p._lab(p.rid("lab"), {"text": "Mitotic count per 5 mm2"}, "2025-04-15")
    mitoses["valueQuantity"] = {"value": 12, "unit": "/5 mm2"}
    p.resources.extend([size, mitoses])
    add(
        "gist-resected-high-risk",
        p,
        "GIST of the stomach, resected (R0), high risk, KIT exon 11",
        "Resected high-risk GIST: adjuvant imatinib 400 mg/day for 3 years, no first-line card.",
        expectedRules=["gist-adjuvant-imatinib"],
        absentRules=["gist-first-line-imatinib", "gist-kit-exon9-imatinib-800"],
    )

    # 2. GIST KIT exon 9: single-gene LOINC test (§1.6 77172-5).
    p, _ = _gist("demo-gist-exon9", "Ksawery", "2025-01-14")
    p.single_gene_test(
        "77172-5", "KIT gene exon 9 targeted mutation analysis", PRESENT, "2025-02-01"
    )
    add(
        "gist-kit-exon9",
        p,
        "GIST, KIT exon 9 mutation, no treatment yet",
        "First line: imatinib at the exon 9 dose, 800 mg/day (400 mg twice daily).",
        expectedRules=["gist-kit-exon9-imatinib-800"],
        absentRules=["gist-pdgfra-d842v-avapritinib"],
    )

    # 3. GIST PDGFRA D842V: GRIG STU2 variant with HGVS (§1.2; strings from §2 METAKB).
    p, _ = _gist("demo-gist-d842v", "Pia", "2024-11-05")
    p.variant(
        [PDGFRA],
        "2024-11-28",
        hgnc_system=HGNC_STU2,
        extra=[
            {
                "code": {"coding": [{"system": LOINC, "code": "48004-6"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": HGVS, "code": "NM_006206.4:c.2525A>T"}]
                },
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "48005-3"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": HGVS, "code": "NP_006197.1:p.Asp842Val"}]
                },
            },
        ],
    )
    add(
        "gist-pdgfra-d842v",
        p,
        "GIST, PDGFRA exon 18 D842V",
        "Imatinib-resistant genotype: avapritinib, not imatinib.",
        expectedRules=["gist-pdgfra-d842v-avapritinib"],
        absentRules=["gist-first-line-imatinib"],
    )

    # 4. GIST progressed on imatinib: stopped order (statusReason 266721009) + status 97509-4.
    p, cond = _gist("demo-gist-progressed", "Ingrid", "2023-02-06")
    p.variant(
        [KIT],
        "2023-02-24",
        extra=[
            {
                "code": {"coding": [{"system": LOINC, "code": "81252-9"}]},
                "valueCodeableConcept": {"text": "KIT exon 11 deletion"},
            }
        ],
    )
    p.medication(
        "imatinib",
        start="2023-03-01",
        end="2024-09-16",
        status="stopped",
        reason=PROGRESSION,
        dose_mg=400,
        per_day=1,
        condition=cond,
    )
    p.disease_status(IMPROVED, "2023-09-04", cond)
    p.disease_status(STABLE, "2024-03-11", cond)
    p.disease_status(WORSENED, "2024-09-10", cond)
    add(
        "gist-progressed-on-imatinib",
        p,
        "GIST, KIT exon 11, progressed on imatinib 400 mg/day",
        "Second line: sunitinib 50 mg/day, 4 weeks on / 2 off (or imatinib escalation).",
        expectedRules=["gist-second-line-sunitinib"],
        absentRules=["gist-first-line-imatinib"],
        timeline={
            "lines": [
                {
                    "number": 1,
                    "agents": ["imatinib"],
                    "start": "2023-03-01",
                    "end": "2024-09-16",
                    "endedBy": "progression",
                }
            ]
        },
    )

    # 5. KIT/PDGFRA wild-type GIST: pertinent negatives (LA9634-2) on GRIG variants, each
    #    stating the regions tested (DNA region name, 47999-8): the complete GIST panel.
    p, _ = _gist("demo-gist-wild-type", "Wanda", "2025-03-10")
    for gene, regions in ((KIT, "KIT exons 9, 11, 13, 17"), (PDGFRA, "PDGFRA exons 12, 14, 18")):
        region = {
            "code": {
                "coding": [{"system": LOINC, "code": "47999-8", "display": "DNA region name"}]
            },
            "valueString": regions,
        }
        p.variant([gene], "2025-03-28", present=False, extra=[region])
    add(
        "gist-wild-type",
        p,
        "GIST, KIT and PDGFRA wild-type",
        "Wild-type GIST: work up SDH, NF1, BRAF and NTRK before choosing therapy.",
        expectedRules=["gist-wild-type-workup"],
        absentRules=["gist-first-line-imatinib"],
    )

    # 6. Leiomyosarcoma after anthracycline: doxorubicin stopped for intolerance (407563006).
    p = Patient("demo-lms", "Lena", "Demo", "female", "1958-09-30")
    cond = p.condition(
        [{"system": ICD10CM, "code": "C48.0", "display": "Malignant neoplasm of retroperitoneum"}],
        ("8890/3", "Leiomyosarcoma, NOS"),
        "2023-05-15",
        "Retroperitoneal leiomyosarcoma",
    )
    p.medication(
        "doxorubicin",
        start="2023-06-05",
        end="2023-10-02",
        status="stopped",
        reason=INTOLERANCE,
        dose_mg=75,
        per_day=1,
        condition=cond,
        route="intravenous",
        per_m2=True,
        cycle=(1, 21),
    )
    p.disease_status(STABLE, "2023-09-25", cond)
    p.disease_status(WORSENED, "2024-04-22", cond)
    add(
        "lms-after-anthracycline",
        p,
        "Leiomyosarcoma, doxorubicin stopped (not tolerated)",
        "Second line: trabectedin, gemcitabine combinations or pazopanib.",
        expectedRules=["lms-second-line"],
        absentRules=["lms-first-line-anthracycline"],
    )

    # 7. Dedifferentiated liposarcoma with MDM2 amplification (single-gene 93808-4).
    p = Patient("demo-ddlps", "Dieter", "Demo", "male", "1955-01-21")
    p.condition(
        [{"system": ICD10CM, "code": "C48.0", "display": "Malignant neoplasm of retroperitoneum"}],
        ("8858/3", "Dedifferentiated liposarcoma"),
        "2025-01-08",
        "Dedifferentiated liposarcoma of the retroperitoneum",
    )
    p.single_gene_test("93808-4", "MDM2 gene amplification", PRESENT, "2025-01-20")
    add(
        "ddlps",
        p,
        "Dedifferentiated liposarcoma, MDM2 amplified, untreated",
        "First line: anthracycline-based chemotherapy.",
        expectedRules=["lps-first-line-anthracycline"],
    )

    # 8. IMT with an ALK fusion: GR3 pattern B (driver gene + "ALK Fusion" text, §1.3),
    #    SO:0001565 gene_fusion; ALK HGNC:427.
    p = Patient("demo-imt-alk", "Ida", "Demo", "female", "1994-06-17")
    p.condition(
        [{"system": SNOMED, "code": "1290860006", "display": "Inflammatory myofibroblastic tumor"}],
        ("8825/1", "Myofibroblastic tumor, NOS"),
        "2025-04-02",
        "Inflammatory myofibroblastic tumour of the mesentery",
    )
    p.variant(
        [("HGNC:427", "ALK")],
        "2025-04-25",
        extra=[
            {
                "code": {"coding": [{"system": LOINC, "code": "81252-9"}]},
                "valueCodeableConcept": {"text": "ALK Fusion"},
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "48019-4"}]},
                "valueCodeableConcept": {
                    "coding": [{"system": SO, "code": "SO:0001565", "display": "gene_fusion"}]
                },
            },
        ],
    )
    add(
        "imt-alk-fusion",
        p,
        "Inflammatory myofibroblastic tumour, ALK fusion",
        "ALK-positive IMT: crizotinib 250 mg twice daily.",
        expectedRules=["imt-alk-crizotinib"],
        absentRules=["imt-alk-testing"],
    )

    # 9. NTRK fusion: mCODE pattern A, two gene-studied components (ETV6 HGNC:3495,
    #    NTRK3 HGNC:8033), change type SO:1000044 chromosomal_translocation.
    p = Patient("demo-ntrk", "Nils", "Demo", "male", "1988-11-02")
    p.condition(
        [
            {"system": SNOMED, "code": "424952003", "display": "Sarcoma of soft tissue"},
            {
                "system": ICD10CM,
                "code": "C49.2",
                "display": "Malignant neoplasm of connective "
                "and soft tissue of lower limb, including hip",
            },
        ],
        None,
        "2025-02-17",
        "Spindle cell sarcoma of the thigh, NTRK-rearranged",
    )
    p.variant(
        [("HGNC:3495", "ETV6"), ("HGNC:8033", "NTRK3")],
        "2025-03-12",
        extra=[
            {
                "code": {"coding": [{"system": LOINC, "code": "48019-4"}]},
                "valueCodeableConcept": {
                    "coding": [
                        {"system": SO, "code": "SO:1000044", "display": "chromosomal_translocation"}
                    ]
                },
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "81291-7"}]},
                "valueCodeableConcept": {"text": "ETV6::NTRK3 fusion"},
            },
        ],
    )
    add(
        "ntrk-fusion",
        p,
        "Sarcoma with an ETV6::NTRK3 fusion",
        "NTRK fusion: a TRK inhibitor (larotrectinib or entrectinib).",
        expectedRules=["ntrk-fusion-trk-inhibitor"],
        absentRules=["ntrk-fusion-testing"],
    )

    # 10. Alveolar soft part sarcoma (ICD-O-3 9581/3, SNOMED 88195001 morphology).
    p = Patient("demo-asps", "Astrid", "Demo", "female", "1999-08-08")
    p.condition(
        [
            {
                "system": ICD10CM,
                "code": "C49.2",
                "display": "Malignant neoplasm of connective "
                "and soft tissue of lower limb, including hip",
            }
        ],
        ("9581/3", "Alveolar soft part sarcoma"),
        "2025-05-06",
        "Alveolar soft part sarcoma of the thigh, metastatic to lung",
    )
    add(
        "asps",
        p,
        "Alveolar soft part sarcoma, untreated",
        "ASPS at a US site: atezolizumab (FDA-approved) leads; "
        "pazopanib is an off-label alternative.",
        expectedRules=["asps-atezolizumab", "asps-pazopanib"],
    )

    # 11. DSRCT with EWSR1-WT1 (single-gene fusion transcript 21804-0), ICD-O-3 8806/3.
    p = Patient("demo-dsrct", "Dario", "Demo", "male", "2001-03-03")
    cond = p.condition(
        [
            {
                "system": ICD10CM,
                "code": "C48.2",
                "display": "Malignant neoplasm of peritoneum, unspecified",
            }
        ],
        ("8806/3", "Desmoplastic small round cell tumor"),
        "2025-06-02",
        "Desmoplastic small round cell tumour of the peritoneum",
    )
    p.single_gene_test(
        "21804-0", "t(11;22)(p13;q12.2)(WT1,EWSR1) fusion transcript", PRESENT, "2025-06-10"
    )
    # Doxorubicin 75 mg/m2 on day 1 and ifosfamide 1800 mg/m2 on days 1-5 of 21-day cycles
    # (not a daily dose: doxorubicin is labelled at 60-75 mg/m2 every 21 days).
    for drug, dose, days in (("doxorubicin", 75, 1), ("ifosfamide", 1800, 5)):
        p.medication(
            drug,
            start="2025-06-23",
            end="2025-11-10",
            status="completed",
            reason=None,
            dose_mg=dose,
            per_day=1,
            condition=cond,
            route="intravenous",
            per_m2=True,
            cycle=(days, 21),
        )
    p.disease_status(STABLE, "2025-11-24", cond)
    add(
        "dsrct",
        p,
        "Desmoplastic small round cell tumour, EWSR1::WT1, after chemotherapy",
        "After chemotherapy: anlotinib maintenance rests on one case report only.",
        expectedRules=["dsrct-anlotinib-case-report"],
    )

    # 12. Sarcoma with no subtype recorded; a draft pazopanib order triggers the order-sign check.
    p = Patient("demo-sarcoma-nos", "Sam", "Demo", "male", "1970-12-12")
    cond = p.condition(
        [
            {"system": SNOMED, "code": "424952003", "display": "Sarcoma of soft tissue"},
            {
                "system": ICD10CM,
                "code": "C49.9",
                "display": "Malignant neoplasm of connective and soft tissue, unspecified",
            },
        ],
        None,
        "2025-07-01",
        "Soft tissue sarcoma",
    )
    draft = p.medication(
        "pazopanib",
        start="2025-08-01",
        end=None,
        status="draft",
        reason=None,
        dose_mg=800,
        per_day=1,
        condition=cond,
    )
    add(
        "sarcoma-no-subtype",
        p,
        "Soft tissue sarcoma, no histologic subtype; pazopanib drafted",
        "At order-sign: record the histologic subtype before choosing systemic therapy.",
        hook="order-sign",
        draftOrder=f"MedicationRequest/{draft}",
        expectedRules=["pitfall-no-histologic-subtype"],
    )
    return index, bundles


def dump(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False) + "\n"


def render() -> dict[str, str]:
    """File name -> content of everything in ``cds_hooks/demo`` built from this module."""
    index, bundles = build()
    files = {
        "index.json": dump(
            {
                "description": "Synthetic demo patients for the sarcoma CDS service "
                "(sarcoma-cds demo load --fhir-server URL). Not real people.",
                "scenarios": index,
            }
        )
    }
    files.update({f"{sid}.json": dump(bundle) for sid, bundle in bundles.items()})
    return files


if __name__ == "__main__":
    for name, content in render().items():
        (DEMO_DIR / name).write_text(content, encoding="utf-8")
        print(f"wrote {DEMO_DIR / name}")
