"""Shared vocabulary of the patient model: the closed value sets facts are coded into.

Part of the FHIR-free patient model (:mod:`rules.patient` re-exports these names).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "BiomarkerKind",
    "ClinicalStatus",
    "Confidence",
    "CypRole",
    "DiseaseStatusValue",
    "GenomicSource",
    "Histology",
    "HistologySubtype",
    "ImplicationValue",
    "ResultValue",
    "StopReason",
    "TherapyStatus",
    "TreatmentIntent",
    "VerificationStatus",
]


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
    UNDIFFERENTIATED_PLEOMORPHIC_SARCOMA = "undifferentiated-pleomorphic-sarcoma"
    MYXOFIBROSARCOMA = "myxofibrosarcoma"
    MALIGNANT_PERIPHERAL_NERVE_SHEATH_TUMOR = "malignant-peripheral-nerve-sheath-tumor"
    # Locally aggressive (desmoid) or benign (TGCT) soft-tissue tumours: named histologies of
    # the model, not sarcomas; rules for sarcomas list the histologies they mean.
    DESMOID_TUMOR = "desmoid-tumor"
    TENOSYNOVIAL_GIANT_CELL_TUMOR = "tenosynovial-giant-cell-tumor"
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


class SpecimenKind(StrEnum):
    """What a molecular result was measured on (fhir_mapping/data/specimens.yaml)."""

    TISSUE = "tissue"
    PLASMA = "plasma"  # plasma / cell-free DNA: ctDNA, liquid biopsy
    BLOOD = "blood"  # whole blood, usually the germline sample
    UNKNOWN = "unknown"

    @property
    def wording(self) -> str:
        return {
            SpecimenKind.TISSUE: "tissue",
            SpecimenKind.PLASMA: "plasma (ctDNA)",
            SpecimenKind.BLOOD: "blood",
            SpecimenKind.UNKNOWN: "an unstated specimen",
        }[self]


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
