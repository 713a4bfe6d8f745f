"""Build ``rules.patient`` objects from the compact patient facts used in the case files.

Case files live in ``tests/rules/cases/<rule-id>.yaml``; each holds cases that must fire and
cases that must stay silent. The patient facts are deliberately terse, e.g.::

    diagnoses: [{histology: gist}]
    biomarkers: [{gene: KIT, exon: 9, date: 2024-01}]
    therapy: [{drug: imatinib, start: 2024-01, end: 2024-09, stop: progression, mg: 400}]
    drafts: [{drug: imatinib, mg: 400, id: mr-1}]
    status: [{value: progression, date: 2025-01}]
    comeds: [{drug: clarithromycin, role: strong-inhibitor}]
    extent: [{extent: metastatic, source: secondary-condition, date: 2025-03, site: liver}]
    resections: [{date: 2025-04, residual: R0}]
    gist_risk: [{risk: high}]  or  [{size_cm: 6, mitoses: 8, site: gastric}]
    pregnancy: [{status: pregnant, kind: observation, date: 2025-12-20}]
    labs: [{kind: bilirubin-total, value: 2.4, uln: 1.2, date: 2026-01-10}]
    renal_conditions: [{text: Chronic kidney disease stage 4, egfr_from: 15, egfr_below: 30}]

``therapy`` entries take ``intent`` (adjuvant, neoadjuvant, palliative, curative) and ``note``
(an order note saying the drug was not tolerated). ``status`` entries take ``limited: true``
(limited, focal progression). Recorded intolerances (AllergyIntolerance)::

    intolerances: [{drug: imatinib, kind: intolerance-record, mg: 800}]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from rules.extent import (
    Extent,
    ExtentFact,
    ExtentSource,
    GistRisk,
    GistRiskAssessment,
    Resection,
    ResidualTumour,
)
from rules.hereditary import HereditaryCondition, HereditarySyndrome
from rules.patient import (
    Agent,
    Biomarker,
    BiomarkerKind,
    ClinicalStatus,
    Code,
    CoMedication,
    Confidence,
    CypRole,
    Diagnosis,
    DiseaseStatus,
    DiseaseStatusValue,
    Dose,
    DrugIntolerance,
    Gene,
    GenomicSource,
    Histology,
    HistologySubtype,
    IntoleranceKind,
    PartialDate,
    Patient,
    ResultValue,
    SpecimenKind,
    StopReason,
    TherapyExposure,
    TherapyStatus,
    TreatmentIntent,
)
from rules.populations import (
    LabKind,
    LabResult,
    PregnancyRecord,
    PregnancyStatus,
    RenalImpairmentRecord,
)

CASES_DIR = Path(__file__).parent / "cases"
DEFAULT_AS_OF = date(2026, 1, 15)
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"

# ingredient -> (rxnorm, atc, antineoplastic). Some carry no code on purpose, so that the
# name fallback of the value sets is exercised too.
DRUGS: dict[str, tuple[str | None, str | None, bool]] = {
    "imatinib": ("282388", None, True),
    "sunitinib": ("357977", None, True),
    "regorafenib": (None, "L01EX05", True),
    "ripretinib": (None, "L01EX19", True),
    "avapritinib": (None, None, True),
    "pazopanib": ("714438", None, True),
    "trabectedin": ("1716278", None, True),
    "eribulin": (None, None, True),
    "gemcitabine": ("12574", None, True),
    "docetaxel": ("72962", None, True),
    "dacarbazine": ("3098", None, True),
    "doxorubicin": ("3639", None, True),
    "liposomal doxorubicin": (None, None, True),
    "ifosfamide": ("5657", None, True),
    "paclitaxel": ("56946", None, True),
    "sirolimus": ("35302", None, True),
    "crizotinib": ("1148495", None, True),
    "larotrectinib": (None, "L01EX12", True),
    "entrectinib": ("2197862", None, True),
    "anlotinib": (None, None, True),
    "dabrafenib": (None, None, True),
    "trametinib": (None, None, True),
    "clarithromycin": ("21212", None, False),
    "ketoconazole": ("6135", None, False),
    "rifampin": ("9384", None, False),
    "carbamazepine": ("2002", None, False),
    "fluconazole": (None, None, False),
}
#: Co-medications matched by name only in drugs.yaml (no verified code).
DRUGS.update(
    {
        name: (None, None, False)
        for name in (
            "diltiazem",
            "efavirenz",
            "bosentan",
            "dexamethasone",
            "omeprazole",
            "famotidine",
            "pantoprazole",
            "ondansetron",
            "methadone",
            "simvastatin",
            "warfarin",
            "tacrolimus",
        )
    }
)
DRUGS.update(
    {
        "atezolizumab": (None, None, True),
        "tazemetostat": (None, "L01XX72", True),
        "everolimus": ("141704", None, True),
    }
)
#: Desmoid and TGCT agents, matched by name only in drugs.yaml (no verified code).
DRUGS.update({name: (None, None, True) for name in ("nirogacestat", "pexidartinib", "vimseltinib")})
HGNC = {"KIT": "HGNC:6342", "PDGFRA": "HGNC:8803", "ALK": "HGNC:427", "NTRK1": "HGNC:8031",
        "NTRK2": "HGNC:8032", "NTRK3": "HGNC:8033", "ETV6": "HGNC:3495"}  # fmt: skip


def _date(value: Any) -> PartialDate | None:
    if value is None:
        return None
    parsed = PartialDate.parse(str(value))
    assert parsed is not None, value
    return parsed


def _agent(name: str) -> Agent:
    rxnorm, atc, antineoplastic = DRUGS[name]
    return Agent(ingredient=name, rxnorm=rxnorm, atc=atc, antineoplastic=antineoplastic)


def _dose(spec: dict[str, Any]) -> Dose | None:
    if "mg" not in spec and "days_on" not in spec:
        return None
    mg = Decimal(str(spec["mg"])) if "mg" in spec else None
    return Dose(
        amount=mg,
        unit="mg" if mg is not None else None,
        administrations_per_day=Decimal(1) if mg is not None else None,
        mg_per_day=mg,
        days_on=spec.get("days_on"),
        cycle_days=spec.get("cycle"),
    )


def build_patient(spec: dict[str, Any]) -> Patient:
    diagnoses = tuple(
        Diagnosis(
            histology=Histology(d["histology"]),
            code=Code(ICDO3, str(d.get("code", "8800/3")), d.get("display")),
            source_ref=d.get("ref", f"Condition/dx-{i}"),
            subtype=HistologySubtype(d["subtype"]) if "subtype" in d else None,
            clinical_status=ClinicalStatus(d.get("status", "active")),
        )
        for i, d in enumerate(spec.get("diagnoses", []), start=1)
    )
    biomarkers = tuple(
        Biomarker(
            gene=Gene(b["gene"], HGNC.get(b["gene"])),
            kind=BiomarkerKind(b.get("kind", "variant")),
            result=ResultValue(b.get("result", "present")),
            source_ref=b.get("ref", f"Observation/bm-{i}"),
            code=Code("http://loinc.org", "69548-6", "Genetic variant assessment"),
            partners=tuple(Gene(p, HGNC.get(p)) for p in b.get("partners", [])),
            exon=b.get("exon"),
            hgvs_c=b.get("hgvs_c"),
            hgvs_p=b.get("hgvs_p"),
            hotspot=b.get("hotspot"),
            genomic_source=GenomicSource(b.get("source", "somatic")),
            date=_date(b.get("date")),
            confidence=Confidence(b.get("confidence", "coded")),
            specimen=SpecimenKind(b.get("specimen", "unknown")),
        )
        for i, b in enumerate(spec.get("biomarkers", []), start=1)
    )
    exposures: list[TherapyExposure] = []
    for i, t in enumerate(spec.get("therapy", []), start=1):
        ended = "end" in t or "stop" in t
        exposures.append(
            TherapyExposure(
                agent=_agent(t["drug"]),
                status=TherapyStatus(t.get("status", "stopped" if ended else "active")),
                source_ref=t.get("ref", f"MedicationRequest/tx-{i}"),
                start=_date(t.get("start")),
                end=_date(t.get("end")),
                stop_reason=StopReason(t["stop"]) if "stop" in t else None,
                dose=_dose(t),
                intent=TreatmentIntent(t["intent"]) if "intent" in t else None,
                intolerance_note=t.get("note"),
            )
        )
    for i, t in enumerate(spec.get("drafts", []), start=1):
        order_id = str(t.get("id", f"draft-{i}"))
        exposures.append(
            TherapyExposure(
                agent=_agent(t["drug"]),
                status=TherapyStatus.DRAFT,
                source_ref=f"MedicationRequest/{order_id}",
                dose=_dose(t),
                is_draft=True,
                is_selected=bool(t.get("selected", True)),
                order_id=order_id,
            )
        )
    statuses = tuple(
        DiseaseStatus(
            value=DiseaseStatusValue(s["value"]),
            code=Code("http://loinc.org", "97509-4"),
            source_ref=s.get("ref", f"Observation/ds-{i}"),
            date=_date(s["date"]),
            limited=bool(s.get("limited", False)),
        )
        for i, s in enumerate(spec.get("status", []), start=1)
    )
    comeds = tuple(
        CoMedication(
            agent=_agent(c["drug"]),
            role=CypRole(c["role"]) if c.get("role") else None,
            classes=frozenset(c.get("classes", ())),
            status=TherapyStatus(c.get("status", "draft" if c.get("draft") else "active")),
            source_ref=c.get("ref", f"MedicationRequest/cm-{i}"),
            is_draft=bool(c.get("draft")),
            is_selected=bool(c.get("selected")),
            order_id=f"cm-{i}" if c.get("draft") else None,
        )
        for i, c in enumerate(spec.get("comeds", []), start=1)
    )
    extent = tuple(
        ExtentFact(
            extent=Extent(e["extent"]),
            source=ExtentSource(e.get("source", "stage")),
            text=e.get("text", e["extent"]),
            source_ref=e.get("ref", f"Observation/ext-{i}"),
            date=_date(e.get("date")),
            site=e.get("site"),
            active=bool(e.get("active", True)),
        )
        for i, e in enumerate(spec.get("extent", []), start=1)
    )
    resections = tuple(
        Resection(
            source_ref=r.get("ref", f"Procedure/rx-{i}"),
            text=r.get("text", "resection of primary tumour"),
            date=_date(r.get("date")),
            residual=ResidualTumour(r["residual"]) if "residual" in r else None,
        )
        for i, r in enumerate(spec.get("resections", []), start=1)
    )
    risks = tuple(
        GistRiskAssessment(
            source_ref=g.get("ref", f"Observation/risk-{i}"),
            risk=GistRisk(g["risk"]) if "risk" in g else None,
            text=g.get("text"),
            date=_date(g.get("date")),
            size_cm=Decimal(str(g["size_cm"])) if "size_cm" in g else None,
            mitoses_per_5mm2=Decimal(str(g["mitoses"])) if "mitoses" in g else None,
            site=g.get("site"),
            rupture=g.get("rupture"),
        )
        for i, g in enumerate(spec.get("gist_risk", []), start=1)
    )
    hereditary = tuple(
        HereditaryCondition(
            syndrome=HereditarySyndrome(h["syndrome"]),
            source_ref=h.get("ref", f"Condition/hc-{i}"),
            text=h.get("text", "Neurofibromatosis type 1"),
        )
        for i, h in enumerate(spec.get("hereditary_conditions", []), start=1)
    )
    intolerances = tuple(
        DrugIntolerance(
            ingredient=x["drug"],
            kind=IntoleranceKind(x.get("kind", "intolerance-record")),
            source_ref=x.get("ref", f"AllergyIntolerance/ai-{i}"),
            mg_per_day=Decimal(str(x["mg"])) if "mg" in x else None,
            detail=x.get("detail"),
        )
        for i, x in enumerate(spec.get("intolerances", []), start=1)
    )
    pregnancy = tuple(
        PregnancyRecord(
            status=PregnancyStatus(p["status"]),
            source_ref=p.get("ref", f"{p.get('kind', 'observation').title()}/preg-{i}"),
            source_kind=p.get("kind", "observation"),
            text=p.get("text", "Pregnancy status: Pregnant"),
            date=_date(p.get("date")),
        )
        for i, p in enumerate(spec.get("pregnancy", []), start=1)
    )
    labs = tuple(
        LabResult(
            kind=LabKind(lab["kind"]),
            value=Decimal(str(lab["value"])),
            unit=lab.get("unit", "mL/min" if lab["kind"] == "creatinine-clearance" else "mg/dL"),
            source_ref=lab.get("ref", f"Observation/lab-{i}"),
            date=_date(lab.get("date")),
            uln=Decimal(str(lab["uln"])) if "uln" in lab else None,
        )
        for i, lab in enumerate(spec.get("labs", []), start=1)
    )
    renal_conditions = tuple(
        RenalImpairmentRecord(
            text=r["text"],
            egfr_from=r["egfr_from"],
            egfr_below=r.get("egfr_below"),
            dialysis=r.get("dialysis", False),
            source_ref=r.get("ref", f"Condition/renal-{i}"),
            date=_date(r.get("date")),
        )
        for i, r in enumerate(spec.get("renal_conditions", []), start=1)
    )
    return Patient(
        patient_id=spec.get("id", "p1"),
        renal_conditions=renal_conditions,
        recorded_intolerances=intolerances,
        birth_date=_date(spec.get("birth_date")),
        pregnancy=pregnancy,
        labs=labs,
        hereditary_conditions=hereditary,
        extent_facts=extent,
        resections=resections,
        gist_risk=risks,
        diagnoses=diagnoses,
        biomarkers=biomarkers,
        exposures=tuple(exposures),
        disease_status=statuses,
        comedications=comeds,
    )


@dataclass(frozen=True)
class Case:
    rule: str
    name: str
    hook: str
    as_of: date
    patient: Patient
    expect: str
    indicator: str | None = None
    summary_contains: tuple[str, ...] = ()
    findings_contain: tuple[str, ...] = ()
    actions: tuple[dict[str, Any], ...] = ()
    contraindicated: tuple[str, ...] = ()
    recommended: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.rule}::{self.name}"


_CASE_KEYS = {"name", "hook", "as_of", "patient", "expect", "indicator", "summary_contains",
              "findings_contain", "actions", "contraindicated", "recommended"}  # fmt: skip


def load_case_file(path: Path) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(data) == {"rule", "cases"}, f"{path.name}: keys are rule and cases"
    assert data["rule"] == path.stem, f"{path.name}: rule id must match the file name"
    cases = []
    for raw in data["cases"]:
        unknown = set(raw) - _CASE_KEYS
        assert not unknown, f"{path.name}: unknown case keys {unknown}"
        assert raw["expect"] in {"fire", "silent"}, f"{path.name}: expect fire or silent"
        cases.append(
            Case(
                rule=data["rule"],
                name=raw["name"],
                hook=raw.get("hook", "patient-view"),
                as_of=raw.get("as_of", DEFAULT_AS_OF),
                patient=build_patient(raw.get("patient") or {}),
                expect=raw["expect"],
                indicator=raw.get("indicator"),
                summary_contains=tuple(raw.get("summary_contains", [])),
                findings_contain=tuple(raw.get("findings_contain", [])),
                actions=tuple(raw.get("actions", [])),
                contraindicated=tuple(raw.get("contraindicated", [])),
                recommended=raw.get("recommended"),
                raw=raw,
            )
        )
    return cases


def load_all_cases() -> list[Case]:
    return [case for path in sorted(CASES_DIR.glob("*.yaml")) for case in load_case_file(path)]
