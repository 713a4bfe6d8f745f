"""The internal patient model: plain, frozen, FHIR-free dataclasses.

Everything the rule engine knows about a patient lives in this model. ``fhir_mapping`` builds
these objects from FHIR R4 resources; ``rules`` only ever reads them. Every fact carries
``source_ref`` (e.g. ``"MedicationRequest/123"``) and the :class:`Code` that produced it, so a
card can always say *why*.

Dates keep their precision (:class:`PartialDate`): ``"2021"`` is not ``2021-01-01``.
Unknown stays unknown: optional fields are ``None`` rather than a guessed default.

The model is split along what a reader looks for: :mod:`rules.vocabulary` (coded value sets),
:mod:`rules.values` (codes, partial dates, genes, agents, doses), :mod:`rules.facts` (the
patient facts) and :mod:`rules.lines` (lines of therapy). This module holds the
:class:`Patient` aggregate and re-exports the public names, so ``from rules.patient import X``
keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules.extent import ExtentFact, GistRiskAssessment, Resection
from rules.facts import (
    Biomarker,
    CoMedication,
    Diagnosis,
    DiseaseStatus,
    TherapeuticImplication,
    TherapyExposure,
)
from rules.hereditary import HereditaryCondition
from rules.lines import LineOfTherapy, derive_lines_of_therapy
from rules.populations import LabResult, PregnancyRecord, RenalImpairmentRecord
from rules.tolerability import DrugIntolerance, IntoleranceKind, derive_intolerances
from rules.values import Agent, Code, Dose, Gene, PartialDate
from rules.vocabulary import (
    BiomarkerKind,
    ClinicalStatus,
    Confidence,
    CypRole,
    DiseaseStatusValue,
    GenomicSource,
    Histology,
    HistologySubtype,
    ImplicationValue,
    ResultValue,
    SpecimenKind,
    StopReason,
    TherapyStatus,
    TreatmentIntent,
    VerificationStatus,
)

__all__ = [
    "Agent",
    "Biomarker",
    "BiomarkerKind",
    "ClinicalStatus",
    "CoMedication",
    "Code",
    "Confidence",
    "CypRole",
    "Diagnosis",
    "DiseaseStatus",
    "DiseaseStatusValue",
    "Dose",
    "DrugIntolerance",
    "Gene",
    "GenomicSource",
    "Histology",
    "HistologySubtype",
    "ImplicationValue",
    "IntoleranceKind",
    "LineOfTherapy",
    "PartialDate",
    "Patient",
    "ResultValue",
    "SpecimenKind",
    "StopReason",
    "TherapeuticImplication",
    "TherapyExposure",
    "TherapyStatus",
    "TreatmentIntent",
    "VerificationStatus",
    "derive_lines_of_therapy",
]


@dataclass(frozen=True, slots=True)
class Patient:
    patient_id: str | None
    diagnoses: tuple[Diagnosis, ...] = ()
    biomarkers: tuple[Biomarker, ...] = ()
    exposures: tuple[TherapyExposure, ...] = ()
    disease_status: tuple[DiseaseStatus, ...] = ()
    comedications: tuple[CoMedication, ...] = ()
    therapeutic_implications: tuple[TherapeuticImplication, ...] = ()
    birth_date: PartialDate | None = None
    # Disease setting (rules.extent): extent facts, resections, GIST risk assessments.
    extent_facts: tuple[ExtentFact, ...] = ()
    resections: tuple[Resection, ...] = ()
    gist_risk: tuple[GistRiskAssessment, ...] = ()
    # Hereditary syndromes diagnosed clinically (e.g. neurofibromatosis type 1).
    hereditary_conditions: tuple[HereditaryCondition, ...] = ()
    # Intolerances the record states (AllergyIntolerance, order notes); see intolerances().
    recorded_intolerances: tuple[DrugIntolerance, ...] = ()
    # Special populations (rules.populations): pregnancy records and organ-function labs.
    pregnancy: tuple[PregnancyRecord, ...] = ()
    labs: tuple[LabResult, ...] = ()
    # False when the search for pregnancy status and organ-function results was neither sent
    # nor obtainable: a result missing from ``labs`` may then still exist in the record.
    labs_searched: bool = True
    # Chronic kidney disease stage 3-5, end-stage renal disease or dialysis, as Conditions.
    renal_conditions: tuple[RenalImpairmentRecord, ...] = ()
    #: Biomarkers by the upper-cased symbol and HGNC id of every gene they involve
    #: (:meth:`Biomarker.involves`), built on first use: the rules ask for a gene many
    #: times per call, and a record may hold dozens of pertinent negatives.
    _by_gene: dict[str, tuple[Biomarker, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    #: Exposure selections (historical, draft) computed once: every rule asks.
    _exposures: dict[str, tuple[TherapyExposure, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    #: Lines of therapy and intolerances, derived once: the engine, several predicates and the
    #: timeline ask.
    _derived: dict[str, tuple[Any, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    # -- diagnoses ---------------------------------------------------------------------------

    def primary_diagnosis(self) -> Diagnosis | None:
        """The most specific active diagnosis (coded before text-derived); else any."""
        candidates = [d for d in self.diagnoses if d.is_active] or list(self.diagnoses)
        if not candidates:
            return None
        return max(
            candidates,
            key=lambda d: (d.confidence is Confidence.CODED, d.specificity),
        )

    def primary_histology(self) -> Histology | None:
        diagnosis = self.primary_diagnosis()
        return diagnosis.histology if diagnosis else None

    def has_histology(self, histology: Histology) -> bool:
        return any(d.histology is histology for d in self.diagnoses)

    def is_metastatic(self) -> bool | None:
        flags = [d.metastatic for d in self.diagnoses if d.metastatic is not None]
        if any(flags):
            return True
        return False if flags else None

    # -- biomarkers --------------------------------------------------------------------------

    def biomarkers_for_gene(
        self, gene: str, *, include_text_derived: bool = False
    ) -> tuple[Biomarker, ...]:
        """Findings involving ``gene`` (symbol or HGNC id), including as a fusion partner."""
        found = self._involving(gene)
        if include_text_derived:
            return found
        return tuple(b for b in found if b.confidence is Confidence.CODED)

    def _involving(self, gene: str) -> tuple[Biomarker, ...]:
        """``tuple(b for b in self.biomarkers if b.involves(gene))``, from an index."""
        index = self._by_gene
        if not index and self.biomarkers:
            lists: dict[str, list[Biomarker]] = {}
            for biomarker in self.biomarkers:
                own = biomarker.gene
                if biomarker.partners or biomarker.any_of:
                    keys = set()
                    for g in biomarker.genes:
                        keys.add(g.symbol.upper())
                        keys.add((g.hgnc_id or "").upper())
                else:  # one gene (most findings)
                    keys = {own.symbol.upper(), (own.hgnc_id or "").upper()}
                for key in keys:
                    found = lists.get(key)
                    if found is None:
                        lists[key] = [biomarker]
                    else:
                        found.append(biomarker)
            index.update((key, tuple(found)) for key, found in lists.items())
        return index.get(gene.upper(), ())

    def driver_biomarkers(self, gene: str | None = None) -> tuple[Biomarker, ...]:
        """Present, coded, non-germline findings (optionally for one gene)."""
        found = self.biomarkers if gene is None else self._involving(gene)
        return tuple(b for b in found if b.is_tumour_driver_candidate)

    def has_fusion(self, gene: str) -> bool:
        return any(
            b.kind in (BiomarkerKind.FUSION, BiomarkerKind.REARRANGEMENT)
            for b in self.driver_biomarkers(gene)
        )

    def has_hotspot(self, gene: str, hotspot: str) -> bool:
        return any(b.hotspot == hotspot for b in self.driver_biomarkers(gene))

    def tested_negative(self, gene: str) -> tuple[Biomarker, ...]:
        """Coded pertinent negatives for ``gene``."""
        return tuple(
            b
            for b in self.biomarkers_for_gene(gene)
            if b.result is ResultValue.ABSENT and b.genomic_source is not GenomicSource.GERMLINE
        )

    # -- therapy -----------------------------------------------------------------------------

    def lines_of_therapy(self) -> tuple[LineOfTherapy, ...]:
        found: tuple[LineOfTherapy, ...] | None = self._derived.get("lines")
        if found is None:
            found = self._derived["lines"] = derive_lines_of_therapy(
                self.exposures, self.disease_status
            )
        return found

    def current_line(self) -> LineOfTherapy | None:
        lines = self.lines_of_therapy()
        if lines and lines[-1].is_current:
            return lines[-1]
        return None

    def historical_exposures(self) -> tuple[TherapyExposure, ...]:
        found = self._exposures.get("historical")
        if found is None:
            found = self._exposures["historical"] = tuple(
                e for e in self.exposures if not e.is_draft
            )
        return found

    def draft_exposures(self) -> tuple[TherapyExposure, ...]:
        found = self._exposures.get("draft")
        if found is None:
            found = self._exposures["draft"] = tuple(e for e in self.exposures if e.is_draft)
        return found

    def selected_exposures(self) -> tuple[TherapyExposure, ...]:
        return tuple(e for e in self.exposures if e.is_draft and e.is_selected)

    def prior_agents(self) -> frozenset[str]:
        """Ingredients of recognised antineoplastic, non-draft, non-cancelled exposures."""
        return frozenset(
            e.agent.ingredient
            for e in self.exposures
            if not e.is_draft
            and e.agent.antineoplastic
            and e.agent.ingredient is not None
            and e.status is not TherapyStatus.CANCELLED
        )

    def exposures_to(self, ingredient: str) -> tuple[TherapyExposure, ...]:
        return tuple(e for e in self.exposures if e.agent.ingredient == ingredient)

    def intolerances(self) -> tuple[DrugIntolerance, ...]:
        """Recorded intolerances plus those the therapy history shows (stopped for toxicity,
        documented dose reductions): :mod:`rules.tolerability`."""
        found: tuple[DrugIntolerance, ...] | None = self._derived.get("intolerances")
        if found is None:
            found = self._derived["intolerances"] = self.recorded_intolerances + (
                derive_intolerances(self.exposures)
            )
        return found

    # -- disease status and co-medications ---------------------------------------------------

    def latest_disease_status(self) -> DiseaseStatus | None:
        dated = [s for s in self.disease_status if s.date is not None]
        if not dated:
            return None
        return max(dated, key=lambda s: (s.date, s.source_ref))

    def comedications_with_role(self, *roles: CypRole) -> tuple[CoMedication, ...]:
        return tuple(
            c for c in self.comedications if c.role in roles and (c.is_current or c.is_draft)
        )
