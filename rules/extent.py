"""Disease-setting facts of the patient model: extent of disease, resections, GIST risk.

Plain, frozen, FHIR-free dataclasses like the rest of :mod:`rules.patient`. Each fact keeps the
FHIR reference and the date that established it, so a card can say *why* the setting is what
it is ("metastatic (liver) since 2025-03", "resected 2025-04, no evidence of disease").

How the facts are combined into the current setting lives in :mod:`rules.setting`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from rules.frozen import fast_init

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from rules.values import Code, PartialDate

__all__ = [
    "Extent",
    "ExtentFact",
    "ExtentSource",
    "GistRisk",
    "GistRiskAssessment",
    "Resection",
    "ResidualTumour",
]


class Extent(StrEnum):
    """Extent of disease of the primary cancer."""

    LOCALIZED = "localized"
    LOCALLY_ADVANCED = "locally-advanced"  # locally advanced or unresectable, not metastatic
    METASTATIC = "metastatic"
    ADVANCED = "advanced"  # advanced on record, not said whether local or distant
    NO_EVIDENCE_OF_DISEASE = "no-evidence-of-disease"
    UNKNOWN = "unknown"

    @property
    def is_advanced(self) -> bool:
        return self in (Extent.LOCALLY_ADVANCED, Extent.METASTATIC, Extent.ADVANCED)

    @property
    def label(self) -> str:
        return {
            Extent.LOCALIZED: "localized",
            Extent.LOCALLY_ADVANCED: "locally advanced or unresectable",
            Extent.METASTATIC: "metastatic",
            Extent.ADVANCED: "advanced",
            Extent.NO_EVIDENCE_OF_DISEASE: "no evidence of disease",
            Extent.UNKNOWN: "extent of disease not recorded",
        }[self]


class ExtentSource(StrEnum):
    """What kind of record established an extent fact (decides how facts combine)."""

    SECONDARY_CONDITION = "secondary-condition"
    CONDITION = "condition"  # stage summary or wording of the cancer Condition itself
    STAGE = "stage"  # TNM stage group or M category Observation
    DISEASE_STATUS = "disease-status"
    RESECTION = "resection"
    TREATMENT_INTENT = "treatment-intent"


@fast_init
@dataclass(frozen=True, slots=True)
class ExtentFact:
    """One record that says something about the extent of disease.

    ``text`` is what the record says ("Secondary malignant neoplasm of liver", "cM1");
    ``site`` the metastatic site when the record names one ("liver").
    """

    extent: Extent
    source: ExtentSource
    text: str
    source_ref: str
    date: PartialDate | None = None
    site: str | None = None
    code: Code | None = None
    active: bool = True  # False: a resolved/inactive record, history only


class ResidualTumour(StrEnum):
    """Residual tumour after resection (AJCC/UICC R classification)."""

    R0 = "R0"
    R1 = "R1"
    R2 = "R2"


@fast_init
@dataclass(frozen=True, slots=True)
class Resection:
    """A completed cancer-directed surgical resection."""

    source_ref: str
    text: str
    date: PartialDate | None = None
    residual: ResidualTumour | None = None
    residual_ref: str | None = None
    code: Code | None = None


class GistRisk(StrEnum):
    """Risk of recurrence of a resected GIST (modified NIH / AFIP categories)."""

    NONE = "none"
    VERY_LOW = "very-low"
    LOW = "low"
    INTERMEDIATE = "intermediate"
    HIGH = "high"


@fast_init
@dataclass(frozen=True, slots=True)
class GistRiskAssessment:
    """A GIST risk category, as recorded or as derived from the recorded pathology factors.

    ``derived`` is True when the category was computed from size, mitotic count, site and
    rupture (:mod:`rules.setting`); the factors and their references stay on the record.
    """

    source_ref: str
    risk: GistRisk | None = None
    text: str | None = None
    date: PartialDate | None = None
    size_cm: Decimal | None = None
    mitoses_per_5mm2: Decimal | None = None
    site: str | None = None  # gastric, duodenum, jejunum-ileum, small-intestine, rectum, other
    rupture: bool | None = None
    derived: bool = False
