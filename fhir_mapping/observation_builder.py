"""The Observations that make findings: genomic results (variants, regions studied,
therapeutic implications, single-gene tests), disease status, staging and residual disease,
histology, immunostains read by text, and genes named in free text. Mixed into the mapping's
builder (:mod:`fhir_mapping.builder`), which provides the shared lists of facts and issues and
the per-resource checks; :func:`fhir_mapping.mapping.map_prefetch` decides which Observations
reach :meth:`ObservationMapping.observation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir_mapping import (
    conditions,
    disease_status,
    extent,
    genomics,
    ihc,
    implications,
    prefilter,
    procedures,
    regions,
    text_findings,
)
from fhir_mapping.codes import concept_codes, reference_of
from fhir_mapping.dates import effective_date
from fhir_mapping.issues import MappingIssue
from fhir_mapping.parse import check_resource
from fhir_mapping.plain_variants import VariantMemo, map_plain_variant
from fhir_mapping.regions import Regions
from fhir_mapping.staging import map_staging_observation, staging_kind
from rules.extent import ExtentFact
from rules.patient import (
    Biomarker,
    Code,
    Diagnosis,
    DiseaseStatus,
    PartialDate,
    TherapeuticImplication,
)


class ObservationMapping:
    """Observations -> biomarkers, disease statuses, extent facts, diagnoses and residuals."""

    issues: list[MappingIssue]
    biomarkers: list[Biomarker]
    statuses: list[DiseaseStatus]
    diagnoses: list[Diagnosis]
    implications: list[TherapeuticImplication]
    extent_facts: list[ExtentFact]
    residuals: list[procedures.ResidualFinding]
    regions: Regions
    #: Per-call memo of the variant paths (dates read, components: plain_variants).
    genomic_memo: VariantMemo

    def _checked(self, raw: Mapping[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError

    def _other_patient(self, raw: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def observation(
        self,
        raw: Mapping[str, Any],
        consequences: dict[str, set[str]],
        *,
        coded: bool,
        kind: str | None,
    ) -> None:
        """Map one Observation; ``coded``/``kind`` come from the pre-filter pass.

        ``coded`` is :func:`prefilter.has_relevant_code`; ``kind`` is
        :func:`genomics.classify` (only computed when ``coded``). Observations that
        :func:`prefilter.screen` calls unrelated never get here.
        """
        if kind is not None:
            if kind != genomics.KIND_CONSEQUENCE:
                self._genomic(raw, consequences, kind)
            # A consequence is read (subject check, validation, folding) once in map_prefetch's
            # early pass; checking it again here would repeat its issues.
            return
        is_status = coded and kind is None and disease_status.is_disease_status(raw)
        is_histology = coded and kind is None and conditions.is_histology_observation(raw)
        staging = staging_kind(raw) if coded and kind is None else None
        if staging is None and coded and kind is None and procedures.is_residual_observation(raw):
            staging = "residual"
        texts: list[str] = []
        if kind is None and not is_status and not is_histology and staging is None:
            if ihc.marker_of(raw) is not None:
                self._immunostain(raw)
                return
            if not prefilter.may_carry_text(raw):
                return  # unrelated lab without any text: never validated
            texts = text_findings.observation_texts(raw)
            if not texts or not text_findings.mentions_gene(texts):
                return  # unrelated lab: never validated
        if self._other_patient(raw):
            return
        cleaned = self._checked(raw)
        if cleaned is None:
            return
        ref = reference_of(cleaned)
        if is_status:
            status, issues = disease_status.map_disease_status(cleaned)
            self.issues.extend(issues)
            if status is not None:
                self.statuses.append(status)
            return
        if staging == "residual":
            residual, issues = procedures.map_residual_observation(cleaned)
            self.issues.extend(issues)
            if residual is not None:
                self.residuals.append(residual)
            return
        if staging is not None:
            fact, issues = map_staging_observation(cleaned, staging)
            self.issues.extend(issues)
            if fact is not None:
                self.extent_facts.append(fact)
            return
        if is_histology:
            diagnosis, issues = conditions.map_histology_observation(cleaned)
            self.issues.extend(issues)
            if diagnosis is not None:
                self.diagnoses.append(diagnosis)
                self._behaviour(diagnosis)
            return
        code = next(concept_codes(cleaned.get("code")), None) or Code("text", "text")
        self._text_pass(texts, ref, code, effective_date(cleaned), ())

    def _genomic(
        self, raw: Mapping[str, Any], consequences: dict[str, set[str]], kind: str
    ) -> None:
        """A genomic Observation (``kind`` from :func:`genomics.classify`, not a consequence)."""
        if self._other_patient(raw):
            return
        ref = reference_of(raw)
        cleaned, issues = check_resource(raw, ref=ref)  # (_checked, without the call)
        self.issues.extend(issues)
        if cleaned is None:
            return
        if kind == genomics.KIND_REGION:
            region_list, issues = regions.map_region_studied(cleaned)
            self.issues.extend(issues)
            if region_list is not None:
                self.regions.lists.append(region_list)
            return
        if kind == genomics.KIND_IMPLICATION:
            found_implications, issues = implications.map_implication(cleaned)
            self.implications.extend(found_implications)
            self.issues.extend(issues)
            return
        if kind == genomics.KIND_VARIANT:
            found, issues = map_plain_variant(  # the common shape in fewer steps, or else:
                cleaned, consequences, ref, self.genomic_memo.dates, self.genomic_memo
            ) or genomics.map_variant(cleaned, consequences, ref, self.genomic_memo.dates)
        else:
            found, issues = genomics.map_single_test(cleaned)
        if issues:
            self.issues.extend(issues)
        self.biomarkers.extend(found)
        notes = text_findings.note_texts(cleaned) if cleaned.get("note") is not None else None
        if notes:
            code = next(concept_codes(cleaned.get("code")), None) or Code("text", "text")
            coded_genes = [g.symbol for b in found for g in b.genes]
            self._text_pass(notes, ref, code, effective_date(cleaned), coded_genes)

    def _immunostain(self, raw: Mapping[str, Any]) -> None:
        """An immunostain read by text (SDHB; no verified code): see fhir_mapping/ihc.py."""
        if self._other_patient(raw):
            return
        cleaned = self._checked(raw)
        if cleaned is None:
            return
        found, issues = ihc.map_ihc(cleaned)
        self.biomarkers.extend(found)
        self.issues.extend(issues)

    def _behaviour(self, diagnosis: Diagnosis) -> None:
        fact = extent.behaviour_fact(diagnosis)
        if fact is not None:
            self.extent_facts.append(fact)

    def _text_pass(
        self,
        texts: list[str],
        ref: str,
        code: Code,
        date: PartialDate | None,
        skip: list[str] | tuple[str, ...],
    ) -> None:
        found = text_findings.findings(texts, ref, code, date, skip)
        for biomarker in found:
            self.issues.append(
                MappingIssue(
                    "text-derived-finding",
                    ref,
                    f"{biomarker.gene.symbol} {biomarker.kind.value} read from free text only "
                    "(low confidence; not acted on)",
                )
            )
        self.biomarkers.extend(found)
