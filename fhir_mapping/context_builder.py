"""The resources that qualify the findings rather than make them: DiagnosticReports and
Specimens (test coverage and specimen type), Procedures (resections), AllergyIntolerances
(recorded drug intolerance) and GIST risk-factor Observations. Mixed into the mapping's builder
(:mod:`fhir_mapping.builder`), which provides the shared lists of facts and issues and the
per-resource checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mapping import gist_risk, intolerance, procedures, regions, specimens
from fhir_mapping.codes import reference_of
from fhir_mapping.issues import MappingIssue
from fhir_mapping.regions import Regions
from rules.patient import DrugIntolerance, SpecimenKind


class ContextMapping:
    """Reports, specimens, procedures, allergies and GIST risk factors -> builder facts."""

    issues: list[MappingIssue]
    risk_factors: list[gist_risk.Factor]
    regions: Regions
    report_specimens: list[specimens.ReportSpecimen]
    specimen_kinds: dict[str, SpecimenKind]
    resection_candidates: list[procedures.Candidate]
    intolerances: list[DrugIntolerance]

    def _checked(self, raw: Mapping[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError

    def _other_patient(self, raw: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def gist_risk_factor(self, raw: Mapping[str, Any], what: str) -> None:
        if self._other_patient(raw):
            return
        cleaned = self._checked(raw)
        if cleaned is None:
            return
        factor = gist_risk.map_factor(cleaned, what)
        if factor is None:
            self.issues.append(
                MappingIssue(
                    "unmapped-value",
                    reference_of(cleaned),
                    f"GIST risk factor ({what}) without a value or unit this service reads; "
                    "skipped",
                )
            )
            return
        self.risk_factors.append(factor)

    def report(self, raw: Mapping[str, Any]) -> None:
        """A DiagnosticReport: only its region list and results are read (test coverage)."""
        if self._other_patient(raw):
            return
        cleaned = self._checked(raw)
        if cleaned is None:
            return
        found = regions.map_report(cleaned)
        if found is not None:
            self.regions.reports.append(found)
        specimen = specimens.of_report(cleaned)
        if specimen is not None:
            self.report_specimens.append(specimen)

    def specimen(self, raw: Mapping[str, Any]) -> None:
        """A Specimen: only its type is read (tissue, plasma/ctDNA, blood)."""
        if self._other_patient(raw):
            return
        cleaned = self._checked(raw)
        if cleaned is None:
            return
        self.specimen_kinds[reference_of(cleaned)] = specimens.kind_of_specimen(cleaned)

    def procedure(self, raw: Mapping[str, Any]) -> None:
        if self._other_patient(raw):
            return
        cleaned = self._checked(raw)
        if cleaned is None:
            return
        candidate, issues = procedures.map_procedure(cleaned)
        self.issues.extend(issues)
        if candidate is not None:
            self.resection_candidates.append(candidate)

    def allergy_intolerance(self, raw: Mapping[str, Any]) -> None:
        if self._other_patient(raw):
            return
        cleaned = self._checked(raw)
        if cleaned is None:
            return
        found, issues = intolerance.map_allergy_intolerance(cleaned)
        self.issues.extend(issues)
        if found is not None:
            self.intolerances.append(found)
