"""The disease setting: which facts say the disease is localized, resected, advanced or unknown.

:func:`current_setting` combines the extent facts of the patient model (secondary cancer
conditions, TNM stage and M category, the cancer Condition's own wording), the disease-status
events, the resections and the recorded treatment intents into one :class:`Setting` that a card
can show ("metastatic (liver) since 2025-03", "resected 2025-04 (R0), no evidence of disease").

How facts combine (documented so that a card can explain it):

* the most recent dated fact decides; undated facts count as older than any dated one, and on
  the same date the more advanced extent wins (a conflict is resolved towards not withholding
  advanced-disease advice);
* an *active* secondary cancer condition keeps the disease metastatic until a later
  disease-status record says there is no evidence of disease (a resection of the primary does
  not remove metastases; a recorded remission does);
* resected with R0/R1 (or residual not coded) is "no evidence of disease"; R2 is gross residual,
  i.e. locally advanced.

Adjuvant, neoadjuvant and curative-intent courses are not lines of therapy: that rule lives
with the line derivation in :mod:`rules.lines`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rules.extent import Extent, ExtentFact, ExtentSource, Resection, ResidualTumour
from rules.patient import (
    DiseaseStatusValue,
    PartialDate,
    Patient,
    TreatmentIntent,
)

__all__ = [
    "Setting",
    "brief",
    "current_setting",
    "extent_facts",
]

#: On the same date, the more advanced extent wins.
_RANK = {
    Extent.METASTATIC: 5,
    Extent.ADVANCED: 4,
    Extent.LOCALLY_ADVANCED: 3,
    Extent.NO_EVIDENCE_OF_DISEASE: 2,
    Extent.LOCALIZED: 1,
    Extent.UNKNOWN: 0,
}

# Enum members read once at import: on Python 3.11 every ``SomeEnum.MEMBER`` load goes through
# EnumType's __getattr__ hook (~650 instructions), and this runs once per exposure.
_ADJUVANT, _PALLIATIVE = TreatmentIntent.ADJUVANT, TreatmentIntent.PALLIATIVE


@dataclass(frozen=True, slots=True)
class Setting:
    """The current extent of disease with the facts that established it."""

    extent: Extent
    facts: tuple[ExtentFact, ...] = ()
    since: PartialDate | None = None
    sites: tuple[str, ...] = ()
    resection: Resection | None = None

    @property
    def is_advanced(self) -> bool:
        return self.extent.is_advanced

    @property
    def source_refs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.source_ref for f in self.facts))

    def text(self) -> str:
        """One line for cards and the timeline."""
        extent = self.extent
        since = f" since {self.since}" if self.since is not None else ""
        if extent is Extent.METASTATIC:
            sites = f" ({', '.join(self.sites)})" if self.sites else ""
            return f"metastatic{sites}{since}"
        if extent is Extent.NO_EVIDENCE_OF_DISEASE:
            if self.resection is not None:
                when = f" {self.resection.date}" if self.resection.date is not None else ""
                margin = (
                    f" ({self.resection.residual.value})"
                    if self.resection.residual is not None
                    else ""
                )
                return f"resected{when}{margin}, no evidence of disease"
            return f"no evidence of disease{since}"
        if extent is Extent.UNKNOWN:
            return extent.label
        detail = brief(self.facts[-1].text) if self.facts else ""
        if detail and "(" not in detail:
            return f"{extent.label} ({detail}){since}"
        return f"{extent.label}{since}, {detail}" if detail else f"{extent.label}{since}"

    def findings(self) -> list[tuple[str, str | None]]:
        """(text, FHIR reference) lines for a card: the setting, then up to two more facts."""
        if not self.facts:
            return [(f"Setting: {self.text()}", None)]
        first = self.facts[0]
        head = f"Setting: {self.text()}"
        evidence = brief(first.text)
        if evidence and evidence not in head:
            head = f"{head}; recorded as {evidence}"
        out: list[tuple[str, str | None]] = [(head, first.source_ref)]
        out.extend((f"Extent of disease: {brief(f.text)}", f.source_ref) for f in self.facts[1:3])
        return out


_SEMANTIC_TAG = re.compile(
    r"\s*\((qualifier value|finding|disorder|morphologic abnormality|observable entity|"
    r"procedure|situation|body structure)\)",
    re.IGNORECASE,
)


def brief(text: str) -> str:
    """A record's wording without SNOMED CT semantic tags ("... (qualifier value)")."""
    return _SEMANTIC_TAG.sub("", text).strip()


def _resection_fact(resection: Resection) -> ExtentFact:
    if resection.residual is ResidualTumour.R2:
        return ExtentFact(
            Extent.LOCALLY_ADVANCED,
            ExtentSource.RESECTION,
            "gross residual tumour after resection (R2)",
            resection.residual_ref or resection.source_ref,
            resection.date,
        )
    margin = f" ({resection.residual.value})" if resection.residual is not None else ""
    return ExtentFact(
        Extent.NO_EVIDENCE_OF_DISEASE,
        ExtentSource.RESECTION,
        f"{resection.text}{margin}",
        resection.source_ref,
        resection.date,
    )


_NED = (Extent.NO_EVIDENCE_OF_DISEASE, "no evidence of disease")
_STATUS_EXTENT = {
    DiseaseStatusValue.NO_EVIDENCE_OF_DISEASE: _NED,
    DiseaseStatusValue.DISTANT_METASTASIS: (Extent.METASTATIC, "distant metastasis present"),
    DiseaseStatusValue.PROGRESSION: (Extent.ADVANCED, "progression documented"),
}  # fmt: skip


def extent_facts(patient: Patient) -> tuple[ExtentFact, ...]:
    """Every fact on record about the extent of disease, from all parts of the model."""
    facts: list[ExtentFact] = list(patient.extent_facts)
    already = {f.source_ref for f in facts}
    for diagnosis in patient.diagnoses:
        if diagnosis.metastatic and diagnosis.is_active and diagnosis.source_ref not in already:
            facts.append(
                ExtentFact(
                    Extent.METASTATIC,
                    ExtentSource.SECONDARY_CONDITION,
                    "metastatic (ICD-O-3 behaviour /6 or secondary cancer profile)",
                    diagnosis.source_ref,
                    diagnosis.onset or diagnosis.recorded,
                    code=diagnosis.code,
                )
            )
    for status in patient.disease_status:
        mapped = _STATUS_EXTENT.get(status.value)
        if mapped is not None:
            facts.append(
                ExtentFact(
                    mapped[0],
                    ExtentSource.DISEASE_STATUS,
                    mapped[1],
                    status.source_ref,
                    status.date,
                    code=status.code,
                )
            )
    facts.extend(_resection_fact(r) for r in patient.resections)
    for exposure in patient.historical_exposures():
        if exposure.intent is _ADJUVANT and exposure.start is not None:
            # An adjuvant course is given after complete resection: no evidence of disease then.
            facts.append(
                ExtentFact(
                    Extent.NO_EVIDENCE_OF_DISEASE,
                    ExtentSource.TREATMENT_INTENT,
                    f"adjuvant {exposure.agent.ingredient or 'therapy'} after resection",
                    exposure.source_ref,
                    exposure.start,
                )
            )
        if exposure.intent is _PALLIATIVE and exposure.start is not None:
            facts.append(
                ExtentFact(
                    Extent.ADVANCED,
                    ExtentSource.TREATMENT_INTENT,
                    f"palliative-intent {exposure.agent.ingredient or 'therapy'}",
                    exposure.source_ref,
                    exposure.start,
                )
            )
    return tuple(facts)


def _key(fact: ExtentFact) -> tuple[int, object, int, int, str]:
    dated = fact.date is not None
    lower = fact.date.lower_bound() if fact.date is not None else None
    precision = {"year": 0, "month": 1, "day": 2}[fact.date.precision] if fact.date else 0
    return (1 if dated else 0, lower or 0, _RANK[fact.extent], precision, fact.source_ref)


def _ordered(facts: Iterable[ExtentFact]) -> list[ExtentFact]:
    dated = sorted((f for f in facts if f.date is not None), key=_key)
    undated = sorted(
        (f for f in facts if f.date is None), key=lambda f: (_RANK[f.extent], f.source_ref)
    )
    return undated + dated


def current_setting(patient: Patient) -> Setting:
    """The current extent of disease (see the module docstring for how facts combine)."""
    facts = [f for f in extent_facts(patient) if f.active]
    if not facts:
        return Setting(Extent.UNKNOWN)
    ordered = _ordered(facts)
    latest = ordered[-1]
    extent = latest.extent
    secondaries = [
        f
        for f in ordered
        if f.source is ExtentSource.SECONDARY_CONDITION and f.extent is Extent.METASTATIC
    ]
    if secondaries and extent is not Extent.METASTATIC:
        newest = secondaries[-1]
        cleared = (
            latest.source is ExtentSource.DISEASE_STATUS
            and latest.extent is Extent.NO_EVIDENCE_OF_DISEASE
            and latest.date is not None
            and (newest.date is None or newest.date < latest.date)
        )
        if not cleared:
            extent = Extent.METASTATIC
    if extent.is_advanced:
        # The run of advanced facts that ends with the current state.
        run: list[ExtentFact] = []
        for fact in reversed(ordered):
            if not fact.extent.is_advanced:
                break
            run.append(fact)
        run.reverse()
        if extent is Extent.METASTATIC:
            run = [f for f in run if f.extent is Extent.METASTATIC] or secondaries
        dates = [f.date for f in run if f.date is not None]
        sites = tuple(dict.fromkeys(f.site for f in run if f.site))
        return Setting(extent, tuple(run), min(dates) if dates else None, sites)
    if extent is Extent.NO_EVIDENCE_OF_DISEASE:
        resection = None
        if latest.source is ExtentSource.RESECTION:
            resection = next(
                (r for r in patient.resections if r.source_ref == latest.source_ref), None
            )
        return Setting(extent, (latest,), latest.date, (), resection)
    return Setting(extent, (latest,), latest.date)
