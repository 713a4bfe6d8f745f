"""The special-population part of the mapping: pregnancy Conditions and Observations, renal
impairment Conditions (:mod:`fhir_mapping.impairment`), and the
organ-function laboratory Observations (:mod:`fhir_mapping.populations`). Mixed into the
mapping's builder (:mod:`fhir_mapping.builder`), which provides the shared lists of facts and
issues and the per-resource checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mapping import impairment, populations
from fhir_mapping.issues import MappingIssue
from rules.populations import LabKind, LabResult, PregnancyRecord, RenalImpairmentRecord


class PopulationMapping:
    """Pregnancy and laboratory resources -> pregnancy records and lab results."""

    issues: list[MappingIssue]
    pregnancy: list[PregnancyRecord]
    labs: list[LabResult]
    renal_conditions: list[RenalImpairmentRecord]

    def _checked(self, raw: Mapping[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError

    def _other_patient(self, raw: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def pregnancy_condition(self, raw: Mapping[str, Any]) -> bool:
        """Map a pregnancy (or not-pregnant) Condition; False if the Condition is not one."""
        if populations.pregnancy_condition_status(raw) is None:
            return False
        if self._other_patient(raw):
            return True
        cleaned = self._checked(raw)
        if cleaned is None:
            return True
        record, issues = populations.map_pregnancy_condition(cleaned)
        self.issues.extend(issues)
        if record is not None:
            self.pregnancy.append(record)
        return True

    def renal_condition(self, raw: Mapping[str, Any]) -> bool:
        """Map a CKD stage 3-5, end-stage renal disease or dialysis Condition; False if the
        Condition states none of them."""
        if impairment.renal_stage(raw) is None:
            return False
        if self._other_patient(raw):
            return True
        cleaned = self._checked(raw)
        if cleaned is None:
            return True
        record = impairment.map_renal_condition(cleaned)
        if record is not None:
            self.renal_conditions.append(record)
        return True

    def population_observation(self, raw: Mapping[str, Any], kind: str) -> None:
        """A pregnancy-status or organ-function laboratory Observation."""
        if self._other_patient(raw):
            return
        cleaned = self._checked(raw)
        if cleaned is None:
            return
        if kind == populations.KIND_PREGNANCY:
            record, issues = populations.map_pregnancy_observation(cleaned)
            self.issues.extend(issues)
            if record is not None:
                self.pregnancy.append(record)
            return
        lab, lab_issues = populations.map_lab(cleaned, LabKind(kind))
        self.issues.extend(lab_issues)
        if lab is not None:
            self.labs.append(lab)
