"""The internal patient model: plain, frozen, FHIR-free dataclasses.

Everything the rule engine knows about a patient lives here. ``fhir_mapping`` builds these
objects from FHIR R4 resources; ``rules`` only ever reads them. Every fact carries
``source_ref`` (e.g. ``"MedicationRequest/123"``) and the :class:`Code` that produced it, so a
card can always say *why*.

Dates keep their precision (:class:`PartialDate`): ``"2021"`` is not ``2021-01-01``.
Unknown stays unknown: optional fields are ``None`` rather than a guessed default.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import total_ordering

from rules.extent import ExtentFact, GistRiskAssessment, Resection
from rules.hereditary import HereditaryCondition

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
    "Gene",
    "GenomicSource",
    "Histology",
    "HistologySubtype",
    "ImplicationValue",
    "LineOfTherapy",
    "PartialDate",
    "Patient",
    "ResultValue",
    "StopReason",
    "TherapeuticImplication",
    "TherapyExposure",
    "TherapyStatus",
    "TreatmentIntent",
    "VerificationStatus",
    "derive_lines_of_therapy",
]


# --------------------------------------------------------------------------------------------
# Shared vocabulary
# --------------------------------------------------------------------------------------------


class Histology(StrEnum):
    """Closed histology vocabulary of the service (not a FHIR code system)."""

    GIST = "gist"
    LEIOMYOSARCOMA = "leiomyosarcoma"
    LIPOSARCOMA = "liposarcoma"
    DFSP = "dfsp"
    INFLAMMATORY_MYOFIBROBLASTIC_TUMOR = "inflammatory-myofibroblastic-tumor"
    PECOMA = "pecoma"
    ALVEOLAR_SOFT_PART_SARCOMA = "alveolar-soft-part-sarcoma"
    SOLITARY_FIBROUS_TUMOR = "solitary-fibrous-tumor"
    EXTRASKELETAL_MYXOID_CHONDROSARCOMA = "extraskeletal-myxoid-chondrosarcoma"
    ANGIOSARCOMA = "angiosarcoma"
    SYNOVIAL_SARCOMA = "synovial-sarcoma"
    DESMOPLASTIC_SMALL_ROUND_CELL_TUMOR = "desmoplastic-small-round-cell-tumor"
    CLEAR_CELL_SARCOMA = "clear-cell-sarcoma"
    EPITHELIOID_SARCOMA = "epithelioid-sarcoma"
    SARCOMA_NOS = "sarcoma-nos"
    OTHER = "other"

    @property
    def specificity(self) -> int:
        """0 = other (not a recognised sarcoma), 1 = sarcoma NOS, 2 = a named histology."""
        if self is Histology.OTHER:
            return 0
        if self is Histology.SARCOMA_NOS:
            return 1
        return 2


class HistologySubtype(StrEnum):
    """Subtypes, currently only for liposarcoma."""

    WELL_DIFFERENTIATED = "well-differentiated"
    DEDIFFERENTIATED = "dedifferentiated"
    MYXOID = "myxoid"
    PLEOMORPHIC = "pleomorphic"


class ClinicalStatus(StrEnum):
    ACTIVE = "active"
    RECURRENCE = "recurrence"
    RELAPSE = "relapse"
    INACTIVE = "inactive"
    REMISSION = "remission"
    RESOLVED = "resolved"
    UNKNOWN = "unknown"

    @property
    def is_active(self) -> bool:
        return self in (ClinicalStatus.ACTIVE, ClinicalStatus.RECURRENCE, ClinicalStatus.RELAPSE)


class VerificationStatus(StrEnum):
    UNCONFIRMED = "unconfirmed"
    PROVISIONAL = "provisional"
    DIFFERENTIAL = "differential"
    CONFIRMED = "confirmed"
    UNKNOWN = "unknown"


class BiomarkerKind(StrEnum):
    VARIANT = "variant"
    FUSION = "fusion"
    REARRANGEMENT = "rearrangement"
    AMPLIFICATION = "amplification"
    PROTEIN_EXPRESSION = "protein-expression"


class ResultValue(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"
    INDETERMINATE = "indeterminate"


class GenomicSource(StrEnum):
    SOMATIC = "somatic"
    GERMLINE = "germline"
    UNKNOWN = "unknown"


class Confidence(StrEnum):
    CODED = "coded"
    TEXT_DERIVED = "text-derived"


class TherapyStatus(StrEnum):
    """MedicationRequest.status (R4), minus entered-in-error which is never mapped."""

    ACTIVE = "active"
    ON_HOLD = "on-hold"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    STOPPED = "stopped"
    DRAFT = "draft"
    UNKNOWN = "unknown"


class StopReason(StrEnum):
    PROGRESSION = "progression"
    TOXICITY = "toxicity"
    COMPLETED = "completed"
    OTHER = "other"
    UNKNOWN = "unknown"


class TreatmentIntent(StrEnum):
    CURATIVE = "curative"
    PALLIATIVE = "palliative"
    ADJUVANT = "adjuvant"
    NEOADJUVANT = "neoadjuvant"


class DiseaseStatusValue(StrEnum):
    PROGRESSION = "progression"
    STABLE = "stable"
    IMPROVED = "improved"
    UNDETERMINED = "undetermined"
    NO_EVIDENCE_OF_DISEASE = "no-evidence-of-disease"  # complete remission / not detected
    DISTANT_METASTASIS = "distant-metastasis"


class CypRole(StrEnum):
    """Role of a co-medication on CYP3A4."""

    STRONG_INHIBITOR = "strong-inhibitor"
    MODERATE_INHIBITOR = "moderate-inhibitor"
    STRONG_INDUCER = "strong-inducer"
    MODERATE_INDUCER = "moderate-inducer"


class ImplicationValue(StrEnum):
    """Lab-asserted therapeutic implication (GRIG GeneticTherapeuticImplicationsVS)."""

    RESPONSIVE = "responsive"
    RESISTANT = "resistant"
    PRESUMED_RESPONSIVE = "presumed-responsive"
    PRESUMED_RESISTANT = "presumed-resistant"
    PRESUMED_NON_RESPONSIVE = "presumed-non-responsive"
    OTHER = "other"


# --------------------------------------------------------------------------------------------
# Value types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Code:
    """A coded value: system URI, code and (informational only) display."""

    system: str
    code: str
    display: str | None = None

    def matches(self, system: str, code: str) -> bool:
        return self.system == system and self.code == code


_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@total_ordering
@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date that keeps its precision: year, year-month or full date.

    Ordering compares lower bounds, then precision (``2021`` < ``2021-01`` < ``2021-01-01``).
    """

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.day is not None and self.month is None:
            raise ValueError("a day needs a month")
        # validates ranges (raises ValueError on 2021-02-30 etc.)
        dt.date(self.year, self.month or 1, self.day or 1)

    @classmethod
    def parse(cls, text: str) -> PartialDate | None:
        """Parse a FHIR date/dateTime/instant prefix; ``None`` if it is not one."""
        match = _DATE_RE.match(text.strip())
        if match is None:
            return None
        year, month, day = match.groups()
        try:
            return cls(int(year), int(month) if month else None, int(day) if day else None)
        except ValueError:
            return None

    @classmethod
    def from_date(cls, value: dt.date) -> PartialDate:
        return cls(value.year, value.month, value.day)

    @property
    def precision(self) -> str:
        if self.day is not None:
            return "day"
        if self.month is not None:
            return "month"
        return "year"

    def lower_bound(self) -> dt.date:
        """The earliest calendar day this partial date can mean."""
        return dt.date(self.year, self.month or 1, self.day or 1)

    def upper_bound(self) -> dt.date:
        """The latest calendar day this partial date can mean."""
        if self.day is not None and self.month is not None:
            return dt.date(self.year, self.month, self.day)
        if self.month is not None:
            if self.month == 12:
                return dt.date(self.year, 12, 31)
            return dt.date(self.year, self.month + 1, 1) - dt.timedelta(days=1)
        return dt.date(self.year, 12, 31)

    def isoformat(self) -> str:
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def _key(self) -> tuple[dt.date, int]:
        return (self.lower_bound(), {"year": 0, "month": 1, "day": 2}[self.precision])

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        return self.isoformat()


@dataclass(frozen=True, slots=True)
class Gene:
    """A gene: HGNC id (``HGNC:6342``) when coded, and the symbol (``KIT``)."""

    symbol: str
    hgnc_id: str | None = None


@dataclass(frozen=True, slots=True)
class Agent:
    """A normalised drug ingredient.

    ``ingredient`` is the lower-case ingredient name from the drug table (``"imatinib"``),
    or ``None`` when the medication was not recognised.
    """

    ingredient: str | None
    rxnorm: str | None = None
    atc: str | None = None
    drug_class: str | None = None
    antineoplastic: bool = False


@dataclass(frozen=True, slots=True)
class Dose:
    """Dose and schedule as ordered, normalised where the data allow it.

    ``mg_per_day`` is only set when the dose is in mass units (or a tablet count of a coded
    strength) and the frequency is daily or more often. ``days_on``/``cycle_days`` describe
    intermittent schedules (sunitinib 4/2 is 28/42). IV chemotherapy given every few weeks or
    dosed by body surface keeps its dose per cycle (``per_cycle`` in ``per_cycle_unit``, "mg"
    or "mg/m2", every ``cycle_days``) instead of a daily dose. ``plausible`` is False when the
    ordered dose exceeds the drug's labelled maximum: it is shown, never acted on.
    """

    amount: Decimal | None = None
    unit: str | None = None
    administrations_per_day: Decimal | None = None
    mg_per_day: Decimal | None = None
    days_on: int | None = None
    cycle_days: int | None = None
    continuous: bool | None = None  # True only when the order says so (or days_on == cycle)
    per_cycle: Decimal | None = None
    per_cycle_unit: str | None = None
    plausible: bool = True

    @property
    def schedule(self) -> str | None:
        """A short schedule label such as ``"400 mg/day"``, ``"50 mg/day 28/42 days"`` or
        ``"75 mg/m2 every 21 days"``."""
        parts: list[str] = []
        if self.mg_per_day is not None:
            parts.append(f"{_fmt_decimal(self.mg_per_day)} mg/day")
        elif self.per_cycle is not None and self.per_cycle_unit and self.cycle_days:
            total = f"{_fmt_decimal(self.per_cycle)} {self.per_cycle_unit}"
            days = self.days_on
            if days is not None and 1 < days < self.cycle_days and self.amount is not None:
                each = f"{_fmt_decimal(self.amount)} {self.per_cycle_unit}"
                return f"{each} on days 1-{days} of {self.cycle_days} ({total} per cycle)"
            return f"{total} every {self.cycle_days} days"
        elif not self.plausible and self.amount is not None and self.unit:
            times = self.administrations_per_day
            per = f" x{_fmt_decimal(times)}/day" if times is not None else ""
            parts.append(f"{_fmt_decimal(self.amount)} {self.unit}{per} (implausible)")
        if self.days_on is not None and self.cycle_days is not None:
            if self.days_on < self.cycle_days:
                parts.append(f"days 1-{self.days_on} of {self.cycle_days}")
            else:
                parts.append("continuous")
        elif self.continuous:
            parts.append("continuous")
        return " ".join(parts) or None


def _fmt_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


# --------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------


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
        return self.clinical_status.is_active or self.clinical_status is ClinicalStatus.UNKNOWN


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
            self.result is ResultValue.PRESENT
            and self.genomic_source is not GenomicSource.GERMLINE
            and self.confidence is Confidence.CODED
        )


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

    @property
    def drug_class(self) -> str | None:
        return self.agent.drug_class

    @property
    def has_ended(self) -> bool:
        return self.status in (TherapyStatus.COMPLETED, TherapyStatus.STOPPED) or (
            self.end is not None and self.status is not TherapyStatus.ACTIVE
        )


@dataclass(frozen=True, slots=True)
class DiseaseStatus:
    value: DiseaseStatusValue
    code: Code
    source_ref: str
    date: PartialDate | None = None
    focus_refs: tuple[str, ...] = ()


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
        return self.status in (TherapyStatus.ACTIVE, TherapyStatus.ON_HOLD, TherapyStatus.DRAFT)


# --------------------------------------------------------------------------------------------
# Lines of therapy
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LineOfTherapy:
    """A derived line of therapy in the advanced setting.

    ``ended_by`` is ``None`` while the line is ongoing. ``end_evidence`` lists the references
    that support ``ended_by`` (the stopped order, or a disease-status observation).
    """

    number: int
    agents: tuple[str, ...]
    exposures: tuple[TherapyExposure, ...]
    start: PartialDate | None
    end: PartialDate | None
    ended_by: StopReason | None
    end_evidence: tuple[str, ...] = ()

    @property
    def is_current(self) -> bool:
        return self.ended_by is None

    @property
    def drug_classes(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for exposure in self.exposures:
            if exposure.agent.drug_class:
                seen[exposure.agent.drug_class] = None
        return tuple(seen)

    @property
    def source_refs(self) -> tuple[str, ...]:
        return tuple(e.source_ref for e in self.exposures)


#: Exposures starting within this many days of a line's start join that line (combinations).
COMBINATION_WINDOW_DAYS = 14
#: A progression status up to this many days after a line's end explains an unexplained stop.
PROGRESSION_WINDOW_DAYS = 30

_REASON_PRIORITY = {
    StopReason.PROGRESSION: 0,
    StopReason.TOXICITY: 1,
    StopReason.COMPLETED: 2,
    StopReason.OTHER: 3,
    StopReason.UNKNOWN: 4,
}


#: Recorded intents outside the advanced setting: such courses are never lines of therapy.
_NON_ADVANCED_INTENTS = frozenset(
    {TreatmentIntent.CURATIVE, TreatmentIntent.ADJUVANT, TreatmentIntent.NEOADJUVANT}
)


def _line_eligible(exposure: TherapyExposure) -> bool:
    return (
        not exposure.is_draft
        and exposure.agent.antineoplastic
        and exposure.agent.ingredient is not None
        and exposure.intent not in _NON_ADVANCED_INTENTS
        and exposure.status not in (TherapyStatus.CANCELLED, TherapyStatus.DRAFT)
        and exposure.start is not None
    )


def derive_lines_of_therapy(
    exposures: Iterable[TherapyExposure],
    disease_status: Iterable[DiseaseStatus] = (),
) -> tuple[LineOfTherapy, ...]:
    """Order the advanced-setting, cancer-directed exposures into lines of therapy.

    Rules (documented so that a card can explain them):
    * only recognised antineoplastic agents, not drafts, not cancelled, not curative-,
      adjuvant- or neoadjuvant-intent (lines count advanced-setting exposures only),
      and only exposures with a start date (undated exposures cannot be ordered);
    * an exposure joins the current line if its agent is already in it (dose change, renewal)
      or if it starts within ``COMBINATION_WINDOW_DAYS`` of the line's start (combination);
      otherwise it opens a new line;
    * a line ends when all its exposures have ended, or when a later line starts;
      ``ended_by`` is the most informative stop reason of its last-ending exposures
      (progression > toxicity > completed > other > unknown). An unexplained end followed by a
      progression disease-status event in [line start, end + ``PROGRESSION_WINDOW_DAYS``] is
      attributed to progression.
    """
    eligible = sorted(
        (e for e in exposures if _line_eligible(e)),
        key=lambda e: (e.start.lower_bound() if e.start else dt.date.max, e.source_ref),
    )
    groups: list[list[TherapyExposure]] = []
    for exposure in eligible:
        assert exposure.start is not None
        if groups:
            current = groups[-1]
            line_start = current[0].start
            assert line_start is not None
            current_agents = {e.agent.ingredient for e in current}
            delta = (exposure.start.lower_bound() - line_start.lower_bound()).days
            if exposure.agent.ingredient in current_agents or delta <= COMBINATION_WINDOW_DAYS:
                current.append(exposure)
                continue
        groups.append([exposure])

    progressions = [
        s for s in disease_status if s.value is DiseaseStatusValue.PROGRESSION and s.date
    ]
    lines: list[LineOfTherapy] = []
    for index, group in enumerate(groups):
        is_last = index == len(groups) - 1
        agents = tuple(dict.fromkeys(e.agent.ingredient for e in group if e.agent.ingredient))
        start = group[0].start
        all_ended = all(e.has_ended for e in group)
        # The last exposures of the line (by start) decide why it ended.
        latest_start = max(e.start.lower_bound() for e in group if e.start)
        last_exposures = [e for e in group if e.start and e.start.lower_bound() == latest_start]
        ends = [e.end for e in group if e.end is not None]
        end = max(ends) if ends else None
        ended_by: StopReason | None
        evidence: tuple[str, ...] = ()
        if all_ended or not is_last:
            reasons = sorted(
                ((e.stop_reason or StopReason.UNKNOWN), e.source_ref) for e in last_exposures
            )
            reasons.sort(key=lambda r: _REASON_PRIORITY[r[0]])
            ended_by = reasons[0][0]
            evidence = tuple(ref for reason, ref in reasons if reason is ended_by)
            if ended_by is StopReason.UNKNOWN:
                evidence = ()
            if ended_by in (StopReason.UNKNOWN, StopReason.OTHER) and start is not None:
                window_end = (end or start).upper_bound() + dt.timedelta(
                    days=PROGRESSION_WINDOW_DAYS
                )
                if not is_last:
                    next_start = groups[index + 1][0].start
                    assert next_start is not None
                    window_end = min(window_end, next_start.upper_bound())
                hits = [
                    s
                    for s in progressions
                    if s.date is not None
                    and start.lower_bound() <= s.date.lower_bound() <= window_end
                ]
                if hits and ended_by is StopReason.UNKNOWN:
                    ended_by = StopReason.PROGRESSION
                    evidence = tuple(s.source_ref for s in hits)
        else:
            ended_by = None
        lines.append(
            LineOfTherapy(
                number=index + 1,
                agents=agents,
                exposures=tuple(group),
                start=start,
                end=end if ended_by is not None else None,
                ended_by=ended_by,
                end_evidence=evidence,
            )
        )
    return tuple(lines)


# --------------------------------------------------------------------------------------------
# The aggregate
# --------------------------------------------------------------------------------------------


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
        return tuple(
            b
            for b in self.biomarkers
            if b.involves(gene) and (include_text_derived or b.confidence is Confidence.CODED)
        )

    def driver_biomarkers(self, gene: str | None = None) -> tuple[Biomarker, ...]:
        """Present, coded, non-germline findings (optionally for one gene)."""
        return tuple(
            b
            for b in self.biomarkers
            if b.is_tumour_driver_candidate and (gene is None or b.involves(gene))
        )

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
        return derive_lines_of_therapy(self.exposures, self.disease_status)

    def current_line(self) -> LineOfTherapy | None:
        lines = self.lines_of_therapy()
        if lines and lines[-1].is_current:
            return lines[-1]
        return None

    def historical_exposures(self) -> tuple[TherapyExposure, ...]:
        return tuple(e for e in self.exposures if not e.is_draft)

    def draft_exposures(self) -> tuple[TherapyExposure, ...]:
        return tuple(e for e in self.exposures if e.is_draft)

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
