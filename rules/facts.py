"""Facts of the patient model: diagnoses, biomarkers, exposures, disease status, co-medications.

Every fact carries ``source_ref`` (e.g. ``"MedicationRequest/123"``) and the :class:`Code` that
produced it, so a card can always say *why*. Unknown stays unknown: optional fields are ``None``.
Part of the FHIR-free patient model (:mod:`rules.patient` re-exports these names).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rules.frozen import fast_init
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
    "Biomarker",
    "CoMedication",
    "Diagnosis",
    "DiseaseStatus",
    "TherapeuticImplication",
    "TherapyExposure",
]


# Enum members read once at import: on Python 3.11 every ``SomeEnum.MEMBER`` load goes through
# EnumType's __getattr__ hook (~650 instructions), and these tests run once per fact.
_CLINICAL_UNKNOWN = ClinicalStatus.UNKNOWN
_PRESENT, _GERMLINE, _CODED = ResultValue.PRESENT, GenomicSource.GERMLINE, Confidence.CODED
_ENDED_STATUSES = (TherapyStatus.COMPLETED, TherapyStatus.STOPPED)
_ACTIVE = TherapyStatus.ACTIVE
_CURRENT_STATUSES = (TherapyStatus.ACTIVE, TherapyStatus.ON_HOLD, TherapyStatus.DRAFT)


@fast_init
@dataclass(frozen=True, slots=True)
class Diagnosis:
    histology: Histology
    code: Code
    source_ref: str
    subtype: HistologySubtype | None = None
    site: Code | None = None
    clinical_status: ClinicalStatus = ClinicalStatus.UNKNOWN
    verification_status: VerificationStatus = VerificationStatus.UNKNOWN
    onset: PartialDate | None = None
    recorded: PartialDate | None = None
    stage: Code | None = None
    metastatic: bool | None = None
    confidence: Confidence = Confidence.CODED
    behaviour: str | None = None  # ICD-O-3 behaviour digit when coded ("3", "1", "6", ...)

    @property
    def specificity(self) -> int:
        return self.histology.specificity * 2 + (1 if self.subtype is not None else 0)

    @property
    def is_active(self) -> bool:
        return self.clinical_status.is_active or self.clinical_status is _CLINICAL_UNKNOWN


@fast_init
@dataclass(frozen=True, slots=True)
class Biomarker:
    """One molecular finding.

    For fusions, ``gene`` is the driver gene when known (3' gene or the single gene reported),
    and ``partners`` holds the other genes; use :meth:`involves` to query by any gene.
    """

    gene: Gene
    kind: BiomarkerKind
    result: ResultValue
    source_ref: str
    code: Code
    partners: tuple[Gene, ...] = ()
    any_of: tuple[Gene, ...] = ()  # the test does not say which of these genes (pan-NTRK)
    five_prime: Gene | None = None
    three_prime: Gene | None = None
    exon: int | None = None
    hgvs_c: str | None = None
    hgvs_p: str | None = None
    hgvs_g: str | None = None
    hotspot: str | None = None
    genomic_source: GenomicSource = GenomicSource.UNKNOWN
    date: PartialDate | None = None
    confidence: Confidence = Confidence.CODED
    allele_frequency: Decimal | None = None
    evidence_text: str | None = None
    specimen: SpecimenKind = SpecimenKind.UNKNOWN
    #: Reference to the Specimen, resolved against the prefetch after mapping.
    specimen_ref: str | None = None

    @property
    def genes(self) -> tuple[Gene, ...]:
        return (self.gene, *self.partners, *self.any_of)

    def involves(self, symbol_or_hgnc: str) -> bool:
        key = symbol_or_hgnc.upper()
        return any(g.symbol.upper() == key or (g.hgnc_id or "").upper() == key for g in self.genes)

    @property
    def is_tumour_driver_candidate(self) -> bool:
        """Present, coded and not germline: the only findings therapy rules may act on."""
        return (
            self.result is _PRESENT
            and self.genomic_source is not _GERMLINE
            and self.confidence is _CODED
        )


@fast_init
@dataclass(frozen=True, slots=True)
class TherapeuticImplication:
    """A lab-asserted therapeutic implication (kept as evidence, never acted on alone)."""

    implication: ImplicationValue
    code: Code
    source_ref: str
    medication: Agent | None = None
    medication_code: Code | None = None
    derived_from: tuple[str, ...] = ()
    date: PartialDate | None = None


@fast_init
@dataclass(frozen=True, slots=True)
class TherapyExposure:
    agent: Agent
    status: TherapyStatus
    source_ref: str
    code: Code | None = None
    start: PartialDate | None = None
    end: PartialDate | None = None
    stop_reason: StopReason | None = None
    stop_reason_code: Code | None = None
    dose: Dose | None = None
    intent: TreatmentIntent | None = None
    is_draft: bool = False
    is_selected: bool = False
    order_id: str | None = None
    # The order's note says the drug was not tolerated (its words, shortened): see
    # rules.tolerability.
    intolerance_note: str | None = None

    @property
    def drug_class(self) -> str | None:
        return self.agent.drug_class

    @property
    def has_ended(self) -> bool:
        return self.status in _ENDED_STATUSES or (
            self.end is not None and self.status is not _ACTIVE
        )


@fast_init
@dataclass(frozen=True, slots=True)
class DiseaseStatus:
    value: DiseaseStatusValue
    code: Code
    source_ref: str
    date: PartialDate | None = None
    focus_refs: tuple[str, ...] = ()
    # The record calls the progression limited (focal, oligo-, isolated lesion): see
    # fhir_mapping.disease_status. Treatment through it with local therapy is standard in GIST.
    limited: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class CoMedication:
    """A non-sarcoma drug that matters for interactions: its CYP3A4 role (if any) and its
    labelled interaction classes (``rules.interactions.InteractionClass`` values)."""

    agent: Agent
    role: CypRole | None
    status: TherapyStatus
    source_ref: str
    code: Code | None = None
    start: PartialDate | None = None
    end: PartialDate | None = None
    is_draft: bool = False
    is_selected: bool = False
    order_id: str | None = None
    classes: frozenset[str] = frozenset()

    @property
    def is_current(self) -> bool:
        return self.status in _CURRENT_STATUSES
