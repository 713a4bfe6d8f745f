"""The mapping's builder: one method per resource type, facts gathered into the patient model.

:func:`fhir_mapping.mapping.map_prefetch` decides which resources reach which method and in what
order; the medication part is mixed in from :mod:`fhir_mapping.orders`, the Observations
(genomic, disease status, staging, histology, immunostains, text) from
:mod:`fhir_mapping.observation_builder`, the special populations from
:mod:`fhir_mapping.population_builder`, and reports, specimens, procedures, allergies and GIST
risk factors from :mod:`fhir_mapping.context_builder`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir_mapping import (
    conditions,
    drafts,
    extent,
    gist_risk,
    hereditary,
    medications,
    procedures,
    regions,
    specimens,
    text_findings,
)
from fhir_mapping.bundles import Collected
from fhir_mapping.codes import as_dict, as_str, reference_of
from fhir_mapping.context_builder import ContextMapping
from fhir_mapping.dates import parse_date
from fhir_mapping.issues import MappingIssue
from fhir_mapping.observation_builder import ObservationMapping
from fhir_mapping.orders import OrderMapping
from fhir_mapping.parse import check_resource
from fhir_mapping.plain_variants import VariantMemo
from fhir_mapping.population_builder import PopulationMapping
from rules.extent import ExtentFact
from rules.hereditary import HereditaryCondition
from rules.patient import (
    Biomarker,
    CoMedication,
    Diagnosis,
    DiseaseStatus,
    DrugIntolerance,
    Histology,
    PartialDate,
    Patient,
    SpecimenKind,
    TherapeuticImplication,
    TherapyExposure,
)
from rules.populations import LabResult, PregnancyRecord, RenalImpairmentRecord


@dataclass(frozen=True, slots=True)
class MappingResult:
    patient: Patient
    issues: tuple[MappingIssue, ...]
    #: Draft orders (order-select / order-sign) that could not be checked, with the reason.
    unchecked: tuple[drafts.UncheckedOrder, ...] = ()


class PatientBuilder(OrderMapping, ObservationMapping, PopulationMapping, ContextMapping):
    """Accumulates the patient model one resource at a time; :meth:`finish` assembles it."""

    def __init__(self, collected: Collected, patient_id: str | None) -> None:
        self.collected = collected
        self.patient_id = patient_id
        #: ``Patient/<patient_id>``, the subject reference of the common resource.
        self.own_subject = None if patient_id is None else f"Patient/{patient_id}"
        self.issues: list[MappingIssue] = list(collected.issues)
        self.diagnoses: list[Diagnosis] = []
        self.biomarkers: list[Biomarker] = []
        self.exposures: list[TherapyExposure] = []
        self.statuses: list[DiseaseStatus] = []
        self.comedications: list[CoMedication] = []
        self.implications: list[TherapeuticImplication] = []
        self.unchecked: list[drafts.UncheckedOrder] = []
        self.identify_memo: dict[bytes, medications.Identified | None] = {}
        self.dose_memo: medications.DoseMemo = {}
        #: Per-call memo of the variant paths (dates read, components: plain_variants).
        self.genomic_memo = VariantMemo()
        self.birth_date: PartialDate | None = None
        self.extent_facts: list[ExtentFact] = []
        self.resection_candidates: list[procedures.Candidate] = []
        self.residuals: list[procedures.ResidualFinding] = []
        self.risk_factors: list[gist_risk.Factor] = []
        self.gist_site_texts: list[str] = []
        self.hereditary: list[HereditaryCondition] = []
        self.regions = regions.Regions()
        self.specimen_kinds: dict[str, SpecimenKind] = {}
        self.report_specimens: list[specimens.ReportSpecimen] = []
        self.intolerances: list[DrugIntolerance] = []
        self.pregnancy: list[PregnancyRecord] = []
        self.labs: list[LabResult] = []
        self.labs_searched = True
        self.renal_conditions: list[RenalImpairmentRecord] = []

    # -- helpers ---------------------------------------------------------------------------

    def _checked(
        self, raw: Mapping[str, Any], *, ref: str | None = None, version_checked: bool = False
    ) -> dict[str, Any] | None:
        cleaned, issues = check_resource(raw, ref=ref, version_checked=version_checked)
        self.issues.extend(issues)
        return cleaned

    def _other_patient(self, raw: Mapping[str, Any]) -> bool:
        """True (and reported) if the resource is about another patient than the context's."""
        if self.patient_id is None:
            return False
        holder = raw.get("subject") or raw.get("patient")
        subject = (holder if type(holder) is dict else as_dict(holder)).get("reference")
        if subject == self.own_subject:
            return False  # the common case: the context's patient, without the split below
        subject = as_str(subject)
        if subject is None:
            return False
        if "/" not in subject:
            return False
        parts = subject.rstrip("/").split("/")
        # "Patient/" or "/" names no patient: read, like a reference without a slash.
        if len(parts) > 1 and parts[-2] == "Patient" and parts[-1] != self.patient_id:
            self.issues.append(
                MappingIssue(
                    "subject-mismatch",
                    reference_of(raw),
                    "resource is about a different patient than the hook context; skipped",
                )
            )
            return True
        return False

    # -- per type --------------------------------------------------------------------------

    def patient(self, raw: Mapping[str, Any]) -> None:
        rid = as_str(raw.get("id"))
        if self.patient_id is not None and rid is not None and rid != self.patient_id:
            self.issues.append(
                MappingIssue(
                    "subject-mismatch",
                    reference_of(raw),
                    "Patient resource differs from the hook context patient; ignored",
                )
            )
            return
        cleaned = self._checked(raw)
        if cleaned is None:
            return
        if self.patient_id is None:
            self.patient_id = rid
            self.own_subject = None if rid is None else f"Patient/{rid}"
        self.birth_date = parse_date(cleaned.get("birthDate"))

    def _hereditary_condition(self, raw: Mapping[str, Any]) -> None:
        if self._other_patient(raw):
            return
        cleaned = self._checked(raw)
        if cleaned is None or conditions.is_refuted(cleaned):
            return
        found = hereditary.syndrome_of(cleaned)
        if found is not None:
            self.hereditary.append(found)

    def condition(self, raw: Mapping[str, Any]) -> None:
        if self.pregnancy_condition(raw) or self.renal_condition(raw):
            return
        if hereditary.syndrome_of(raw) is not None:
            self._hereditary_condition(raw)
            return
        candidate = conditions.is_candidate(raw)
        secondary = not candidate and extent.may_be_secondary(raw)
        if not (candidate or secondary) or self._other_patient(raw):
            return
        cleaned = self._checked(raw)
        if cleaned is None:
            return
        if conditions.is_refuted(cleaned):
            return
        if not candidate:
            # A secondary cancer condition: an extent fact, never a diagnosis.
            fact, fact_issues = extent.secondary_condition(cleaned)
            self.issues.extend(fact_issues)
            if fact is not None:
                self.extent_facts.append(fact)
            return
        diagnosis, issues = conditions.map_condition(cleaned)
        self.issues.extend(issues)
        if diagnosis is None:
            return
        self.diagnoses.append(diagnosis)
        if diagnosis.histology is Histology.GIST and not diagnosis.metastatic:
            self.gist_site_texts.extend(conditions.site_texts(cleaned))
        if diagnosis.metastatic:
            # A secondary cancer condition coded with the sarcoma histology (behaviour /6 or
            # the secondary profile): also an extent fact, with its site.
            fact, _ = extent.secondary_condition(cleaned)
            if fact is not None:
                self.extent_facts.append(fact)
        self.extent_facts.extend(extent.primary_condition_facts(cleaned, diagnosis.source_ref))
        self._behaviour(diagnosis)
        notes = text_findings.note_texts(cleaned)
        if notes:
            self._text_pass(notes, diagnosis.source_ref, diagnosis.code, diagnosis.recorded, ())

    def finish(self) -> MappingResult:
        named = {
            d.histology for d in self.diagnoses if d.histology.specificity == 2 and d.is_active
        }
        if len(named) > 1:
            self.issues.append(
                MappingIssue(
                    "conflicting-histology",
                    "Patient",
                    "active diagnoses name different histologies ("
                    + ", ".join(sorted(h.value for h in named))
                    + "); the most specific coded one is treated as primary",
                )
            )
        resections, tie_issues = procedures.tie(
            self.resection_candidates,
            self.residuals,
            {d.source_ref for d in self.diagnoses},
        )
        self.issues.extend(tie_issues)
        patient = Patient(
            patient_id=self.patient_id,
            diagnoses=tuple(self.diagnoses),
            biomarkers=tuple(
                specimens.apply(
                    regions.apply(self.biomarkers, self.regions),
                    self.specimen_kinds,
                    self.report_specimens,
                )
            ),
            exposures=tuple(self.exposures),
            disease_status=tuple(self.statuses),
            comedications=tuple(self.comedications),
            therapeutic_implications=tuple(self.implications),
            birth_date=self.birth_date,
            extent_facts=tuple(self.extent_facts),
            resections=tuple(resections),
            hereditary_conditions=tuple(self.hereditary),
            recorded_intolerances=tuple(self.intolerances),
            pregnancy=tuple(self.pregnancy),
            labs=tuple(self.labs),
            labs_searched=self.labs_searched,
            renal_conditions=tuple(self.renal_conditions),
            gist_risk=tuple(
                gist_risk.assessments(
                    self.risk_factors, gist_risk.gist_site(self.diagnoses, self.gist_site_texts)
                )
            ),
        )
        return MappingResult(
            patient=patient, issues=tuple(self.issues), unchecked=tuple(self.unchecked)
        )
