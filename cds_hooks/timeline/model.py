"""The timeline model: one patient's facts read from FHIR with the services' own prefetch
templates, mapped and evaluated exactly as the patient-view cards are, then laid out as rows
of dated events. No Flask and no HTML here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import requests

from cds_hooks.fhir_client import FhirClient, FhirClientConfig
from cds_hooks.registry import render_template
from cds_hooks.settings import Settings
from fhir_mapping import map_prefetch
from rules import evaluate
from rules.patient import (
    Biomarker,
    DiseaseStatusValue,
    LineOfTherapy,
    PartialDate,
    Patient,
    ResultValue,
    StopReason,
    TherapyExposure,
    TreatmentIntent,
)
from rules.results import Recommendation
from rules.setting import current_setting
from rules.wording import diagnosis_name, fusion

_PERIOPERATIVE = (TreatmentIntent.ADJUVANT, TreatmentIntent.NEOADJUVANT, TreatmentIntent.CURATIVE)


def read_patient_data(
    session: requests.Session, settings: Settings, iss: str, patient_id: str, token: str | None
) -> dict[str, Any]:
    """The prefetch the cards would get, read with the sarcoma services' own templates."""
    from cds_hooks.services.sarcoma import PREFETCH

    client = FhirClient(
        session,
        iss,
        token,
        FhirClientConfig(
            timeout_s=settings.fhir_timeout_s,
            max_pages=settings.fhir_max_pages,
            max_response_bytes=settings.fhir_max_response_bytes,
        ),
    )
    context = {"patientId": patient_id}
    prefetch: dict[str, Any] = {}
    for spec in PREFETCH:
        relative = render_template(spec.template, context)
        if relative is None:
            continue
        prefetch[spec.key] = client.search(relative) if spec.searchset else client.read(relative)
    return prefetch


@dataclass
class Event:
    row: str
    date: PartialDate | None
    label: str
    detail: str
    tone: str = "neutral"


@dataclass
class Timeline:
    patient_id: str
    name: str
    as_of: dt.date
    diagnosis: list[Event] = field(default_factory=list)
    biomarkers: list[Event] = field(default_factory=list)
    statuses: list[Event] = field(default_factory=list)
    lines: list[LineOfTherapy] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    setting: str = "extent of disease not recorded"
    #: "female", "male"... from Patient.gender, and "age 64" at the page's date, when known.
    sex: str = ""
    age: str = ""
    #: Adjuvant / neoadjuvant / curative-intent courses: shown apart from the advanced lines.
    perioperative: list[TherapyExposure] = field(default_factory=list)


STATUS_TONE = {
    DiseaseStatusValue.PROGRESSION: ("progression", "bad"),
    DiseaseStatusValue.STABLE: ("stable", "neutral"),
    DiseaseStatusValue.IMPROVED: ("improved", "good"),
    DiseaseStatusValue.UNDETERMINED: ("undetermined", "neutral"),
    DiseaseStatusValue.NO_EVIDENCE_OF_DISEASE: ("no evidence of disease", "good"),
    DiseaseStatusValue.DISTANT_METASTASIS: ("distant metastasis", "bad"),
}
LINE_TONE = {
    StopReason.PROGRESSION: "bad",
    StopReason.TOXICITY: "warn",
    StopReason.COMPLETED: "neutral",
    StopReason.OTHER: "neutral",
    StopReason.UNKNOWN: "neutral",
}
COLOURS = {
    "bad": "#b03a2e",
    "warn": "#b9770e",
    "good": "#1e8449",
    "neutral": "#5d6d7e",
    "current": "#1f618d",
}


def _patient_name(resource: Any) -> str:
    if not isinstance(resource, dict):
        return ""
    for name in resource.get("name") or []:
        if isinstance(name, dict):
            parts = [*(name.get("given") or []), name.get("family") or ""]
            text = name.get("text") or " ".join(str(p) for p in parts if p)
            if text:
                return str(text)
    return ""


def _sex_and_age(resource: Any, as_of: dt.date) -> tuple[str, str]:
    if not isinstance(resource, dict):
        return "", ""
    gender = resource.get("gender")
    sex = gender if gender in ("female", "male", "other") else ""
    age = ""
    birth = resource.get("birthDate")
    if isinstance(birth, str) and len(birth) >= 4 and birth[:4].isdigit():
        try:
            born = dt.date.fromisoformat(birth) if len(birth) == 10 else None
        except ValueError:
            born = None
        years = as_of.year - int(birth[:4])
        if born is not None and (as_of.month, as_of.day) < (born.month, born.day):
            years -= 1
        if 0 <= years < 130:
            age = f"age {years}" if born is not None else f"about {years} years old"
    return sex, age


def _biomarker_label(marker: Biomarker) -> str:
    ends = [g.symbol for g in (marker.five_prime, marker.three_prime) if g]
    genes = fusion(ends or [g.symbol for g in (marker.gene, *marker.partners)])
    what = marker.hotspot or (f"exon {marker.exon}" if marker.exon else "") or marker.hgvs_p or ""
    kind = marker.kind.value if marker.kind.value not in ("variant",) else ""
    result = {ResultValue.PRESENT: "", ResultValue.ABSENT: " not detected"}.get(
        marker.result, " indeterminate"
    )
    return " ".join(p for p in (genes, what, kind) if p) + result


def line_dose(line: LineOfTherapy) -> str:
    doses = []
    for exposure in line.exposures:
        schedule = exposure.dose.schedule if exposure.dose else None
        if schedule:
            doses.append(f"{exposure.agent.ingredient} {schedule}")
    return "; ".join(dict.fromkeys(doses))


def build_timeline(prefetch: dict[str, Any], patient_id: str, kb: Any, as_of: dt.date) -> Timeline:
    """Map and evaluate exactly as the patient-view service does, then lay out the facts."""
    result = map_prefetch(prefetch, {"patientId": patient_id})
    patient: Patient = result.patient
    recommendations = [
        r for r in evaluate(patient, kb, as_of, "patient-view") if r.kind != "summary"
    ]
    timeline = Timeline(
        patient_id=patient_id,
        name=_patient_name(prefetch.get("patient")),
        as_of=as_of,
        lines=list(patient.lines_of_therapy()),
        recommendations=recommendations,
        setting=current_setting(patient).text(),
        perioperative=[e for e in patient.historical_exposures() if e.intent in _PERIOPERATIVE],
    )
    timeline.sex, timeline.age = _sex_and_age(prefetch.get("patient"), as_of)
    labels = {h.id: h.label for h in kb.meta.histologies}
    for diagnosis in patient.diagnoses:
        label = diagnosis_name(diagnosis.histology.value, diagnosis.subtype, labels)
        timeline.diagnosis.append(
            Event("diagnosis", diagnosis.onset or diagnosis.recorded, label, diagnosis.source_ref)
        )
    for marker in patient.biomarkers:
        tone = "good" if marker.result is ResultValue.PRESENT else "neutral"
        timeline.biomarkers.append(
            Event("biomarker", marker.date, _biomarker_label(marker), marker.source_ref, tone)
        )
    for status in sorted(patient.disease_status, key=lambda s: (s.date is None, s.date)):
        label, tone = STATUS_TONE[status.value]
        timeline.statuses.append(Event("status", status.date, label, status.source_ref, tone))
    return timeline
